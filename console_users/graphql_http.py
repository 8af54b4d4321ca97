"""GraphQL over HTTP as the specification's draft describes it, on top of Strawberry's ASGI view.

Stock Strawberry returns every response as `application/json` and status 200. This mixin adds:

- `application/graphql-response+json` when the client's Accept header prefers it. With it, a
  request error (the document does not parse or validate, or a variable cannot be coerced) gets
  status 400 and a body without `data`, so that a client can tell "not run" from "ran with errors".
- Strict request bodies: UTF-8 only, no lone surrogates, a JSON object whose `operationName` is a
  string or null. A JSON array (a batch of operations) is rejected with BATCHING_NOT_SUPPORTED.
- Every HTTP-level refusal as a JSON body shaped like a GraphQL response,
  `{"errors": [{"message": ..., "extensions": {"code": ...}}]}`, instead of plain text.
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

APPLICATION_JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# Media types that match application/json in an Accept header.
JSON_RANGES = (APPLICATION_JSON, "application/*", "*/*")

# The code of an HTTP-level refusal when the raiser gave none.
STATUS_CODES = {
    400: "BAD_REQUEST",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class HTTPRefusal(HTTPException):
    """An HTTP-level refusal with a machine-readable code for `extensions.code`."""

    def __init__(self, status_code: int, code: str, reason: str) -> None:
        super().__init__(status_code, reason)
        self.code = code


def error_response(status_code: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """Build a GraphQL-shaped error body: one error with a message and `extensions.code`."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status_code, headers=headers)


def preferred_media_type(accept: str | None) -> str:
    """Return application/graphql-response+json when the Accept header ranks it at least as high as JSON.

    A missing header, `*/*` and `application/*` mean application/json, as the specification requires
    of servers during the transition to the new media type.
    """
    graphql_quality = json_quality = 0.0
    for entry in (accept or "").split(","):
        media_range, *parameters = (part.strip() for part in entry.split(";"))
        quality = _quality(parameters)
        if media_range.lower() == GRAPHQL_RESPONSE_JSON:
            graphql_quality = max(graphql_quality, quality)
        elif media_range.lower() in JSON_RANGES:
            json_quality = max(json_quality, quality)
    if graphql_quality > 0 and graphql_quality >= json_quality:
        return GRAPHQL_RESPONSE_JSON
    return APPLICATION_JSON


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def is_request_error(result: ExecutionResult) -> bool:
    """True when the operation never ran: parse, validation and variable errors have no path."""
    return result.data is None and bool(result.errors) and all(error.path is None for error in result.errors)


def request_error_status(response_data: GraphQLHTTPResponse) -> int:
    """Return the status for a response without `data`: 400, or 500 or 429 when an error has that meaning."""
    codes = {
        error.get("extensions", {}).get("code") for error in response_data.get("errors") or [] if isinstance(error, dict)
    }
    if "INTERNAL_SERVER_ERROR" in codes:
        return 500
    if "RATE_LIMITED" in codes:
        return 429
    return 400


def decode_utf8_json(data: str | bytes) -> object:
    """Parse a JSON document that must be UTF-8 and must not contain lone surrogates."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise HTTPRefusal(
                400, "BAD_REQUEST", f"The request is not valid UTF-8 (byte {error.start}); send UTF-8 encoded JSON."
            ) from None
    value = json.loads(data)
    try:
        # Escapes such as "\ud800" decode to lone surrogates, which no database or hash accepts.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise HTTPRefusal(
            400, "BAD_REQUEST", "The request contains a lone UTF-16 surrogate escape; send valid Unicode text."
        ) from None
    return value


def request_data_from(data: object) -> GraphQLRequestData:
    """Check the members of a decoded POST body and return them as Strawberry's request data."""
    if isinstance(data, list):
        raise HTTPRefusal(
            400, "BATCHING_NOT_SUPPORTED", "This server runs one operation per request; send the operations one by one."
        )
    if not isinstance(data, dict):
        raise HTTPRefusal(400, "BAD_REQUEST", "The request body must be a JSON object such as {\"query\": \"{ viewer { email } }\"}.")
    expected = {"query": str, "operationName": str, "variables": dict, "extensions": dict}
    for name, kind in expected.items():
        value = data.get(name)
        if value is not None and not isinstance(value, kind):
            kind_name = "a string" if kind is str else "an object"
            raise HTTPRefusal(400, "BAD_REQUEST", f"The request's {name} must be {kind_name} or null, not {type(value).__name__}.")
    return GraphQLRequestData(
        query=data.get("query"),
        variables=data.get("variables"),
        operation_name=data.get("operationName"),
        extensions=data.get("extensions"),
    )


class GraphQLOverHTTP:
    """Mixin for Strawberry's ASGI `GraphQL` view; list it before the view among the bases."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # type: ignore[misc]
            return
        try:
            response = await self.run(Request(scope, receive))  # type: ignore[attr-defined]
        except HTTPException as error:
            code = getattr(error, "code", None) or STATUS_CODES.get(error.status_code, "BAD_REQUEST")
            response = error_response(error.status_code, code, error.reason)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        return decode_utf8_json(data)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method != "POST":
            return await super().parse_http_body(request)  # type: ignore[misc, no-any-return]
        # The request guard has already checked the content type and the body's size.
        return request_data_from(self.parse_json(await request.get_body()))  # type: ignore[attr-defined]

    async def get_sub_response(self, request: Request) -> Response:
        sub_response: Response = await super().get_sub_response(request)  # type: ignore[misc]
        sub_response.media_type = preferred_media_type(request.headers.get("accept"))
        return sub_response

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        response_data: GraphQLHTTPResponse = await super().process_result(request, result)  # type: ignore[misc]
        if preferred_media_type(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON and is_request_error(result):
            response_data.pop("data", None)
        return response_data

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response: Response = super().create_response(response_data, sub_response)  # type: ignore[misc]
        media_type = sub_response.media_type or APPLICATION_JSON
        if media_type == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
            if isinstance(response_data, dict) and "data" not in response_data:
                response.status_code = request_error_status(response_data)
        return response
