"""Browser safety and request limits at the HTTP level, in front of the GraphQL view.

`GraphQLRequestGuard` wraps the /graphql endpoint and, before any GraphQL work or database query:

- rejects POST bodies that are not `application/json` or `application/graphql-response+json`
  (415), so that an HTML form on another site cannot post to the API;
- rejects bodies over MAX_REQUEST_BODY_BYTES (413);
- rejects a request that carries the session cookie from a page whose origin is not trusted (403):
  the page's `Origin` must be this server's own or one of ALLOWED_ORIGINS, or, without `Origin`,
  `Sec-Fetch-Site` must not say cross-site or same-site. Clients that send neither header are not
  browsers and carry no ambient cookie;
- rejects GET operations that carry the session cookie (403) unless GET_WITH_SESSION_COOKIE is on,
  because browsers send the cookie with cross-site links that anyone can plant.

A request without the session cookie, such as one with `Authorization: Bearer ...`, is not a cookie
session, and the origin checks do not apply to it. `SecurityHeadersMiddleware` adds
X-Content-Type-Options, Referrer-Policy and a Content-Security-Policy to every response.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console_users.graphql_http import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, error_response
from console_users.settings import Settings

logger = logging.getLogger(__name__)

ACCEPTED_BODY_TYPES = (APPLICATION_JSON, GRAPHQL_RESPONSE_JSON)
# Sec-Fetch-Site values a browser sets for requests that a page on another origin started.
FOREIGN_FETCH_SITES = ("cross-site", "same-site")

# Responses other than the GraphiQL page load nothing, so they allow nothing.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
INLINE_BLOCK = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def graphiql_content_security_policy(page: str) -> str:
    """Build the GraphiQL page's policy: its own assets, and its inline script and style by hash."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for tag, content in INLINE_BLOCK.findall(page):
        digest = base64.b64encode(hashlib.sha256(content.encode("utf-8")).digest()).decode()
        hashes[tag].append(f"'sha256-{digest}'")
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' {' '.join(hashes['script'])}".rstrip(),
            f"style-src 'self' {' '.join(hashes['style'])}".rstrip(),
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response; a response's own policy is kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in SECURITY_HEADERS if header[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", API_CONTENT_SECURITY_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def security_middleware(settings: Settings) -> list[Middleware]:
    """Return the app-wide middleware: security headers outside, CORS for the trusted origins inside."""
    return [
        Middleware(SecurityHeadersMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=sorted(settings.trusted_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST"],
            allow_headers=["Accept", "Authorization", "Content-Type"],
            max_age=600,
        ),
    ]


class RequestTooLarge(Exception):
    """The request body grew past the limit while it was read."""


class GraphQLRequestGuard:
    """ASGI wrapper of the GraphQL endpoint that applies the checks in this module's docstring."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self.refuse(scope, headers)
        if refusal is not None:
            status_code, code, message = refusal
            logger.info("Rejected %s /graphql with %d %s", scope["method"], status_code, code)
            await error_response(status_code, code, message)(scope, receive, send)
            return
        if scope["method"] == "POST":
            try:
                receive = await self.buffered_body(receive, headers)
            except RequestTooLarge:
                limit = self.settings.max_request_body_bytes
                await error_response(
                    413, "REQUEST_TOO_LARGE", f"The request body is larger than {limit} bytes; send a shorter request."
                )(scope, receive, send)
                return
            scope = with_json_content_type(scope)
        await self.app(scope, receive, send)

    def refuse(self, scope: Scope, headers: Headers) -> tuple[int, str, str] | None:
        """Return (status, code, message) when the request must not reach the GraphQL view."""
        method = scope["method"]
        if method == "POST" and not is_accepted_body_type(headers.get("content-type")):
            return (
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                f"Content-Type {headers.get('content-type', '(none)')[:100]!r} is not accepted; "
                "send the request as application/json.",
            )
        if not self.has_session_cookie(headers):
            return None
        if method == "GET" and not self.settings.get_with_session_cookie and "query" in parse_qs(
            scope.get("query_string", b"").decode("latin-1")
        ):
            return (
                403,
                "POST_REQUIRED",
                "GET requests with the session cookie cannot run operations; send the operation as a POST request.",
            )
        if not self.is_trusted_origin(scope, headers):
            return (
                403,
                "CROSS_ORIGIN_REQUEST",
                "This request carries the session cookie but comes from a page on an origin that is not allowed. "
                "Call the API from the console, or use an API token.",
            )
        return None

    def has_session_cookie(self, headers: Headers) -> bool:
        return any(
            self.settings.session_cookie_name in cookie_parser(value) for value in headers.getlist("cookie")
        )

    def is_trusted_origin(self, scope: Scope, headers: Headers) -> bool:
        origin = headers.get("origin")
        if origin is not None:
            return origin.lower() == own_origin(scope, headers) or origin.lower() in self.settings.trusted_origins
        return headers.get("sec-fetch-site") not in FOREIGN_FETCH_SITES

    async def buffered_body(self, receive: Receive, headers: Headers) -> Receive:
        """Read the whole body within the limit and return a `receive` that replays it."""
        limit = self.settings.max_request_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge
        chunks: list[bytes] = []
        size = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away; let the view see the disconnect.
                return _replay([message], receive)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RequestTooLarge
            chunks.append(chunk)
            more_body = message.get("more_body", False)
        return _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}], receive)


def _replay(messages: Iterable[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def is_accepted_body_type(content_type: str | None) -> bool:
    """True for a JSON media type with no charset or the UTF-8 one, which JSON requires."""
    media_type, *parameters = (part.strip().lower() for part in (content_type or "").split(";"))
    charsets = [value.strip('"') for name, _, value in (p.partition("=") for p in parameters) if name.strip() == "charset"]
    return media_type in ACCEPTED_BODY_TYPES and all(charset in ("utf-8", "utf8") for charset in charsets)


def own_origin(scope: Scope, headers: Headers) -> str:
    """Return this server's origin as the request addressed it (scheme and Host header)."""
    return f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()


def with_json_content_type(scope: Scope) -> Scope:
    """Present an accepted body to Strawberry as application/json, the one type it parses."""
    headers = [(name, value) for name, value in scope["headers"] if name != b"content-type"]
    headers.append((b"content-type", APPLICATION_JSON.encode()))
    return {**scope, "headers": headers}
