"""Schemathesis hooks for tests/test_fuzzing.py: what counts as a failure of this API.

Schemathesis's own `not_a_server_error` check for GraphQL fails on every top-level error, but this
API returns refusals (UNAUTHENTICATED, FORBIDDEN, INVALID_INPUT, RATE_LIMITED...) as coded
top-level errors on purpose. A failure here is a 5xx status or an INTERNAL_SERVER_ERROR code.
"""

from __future__ import annotations

import schemathesis
from schemathesis import Case, CheckContext, Response


@schemathesis.check
def no_internal_server_error(ctx: CheckContext, response: Response, case: Case) -> None:
    if response.status_code >= 500:
        raise AssertionError(f"The server answered with status {response.status_code}")
    if "INTERNAL_SERVER_ERROR" in response.text:
        raise AssertionError("The response has an error with the INTERNAL_SERVER_ERROR code")
