"""The Starlette application: /graphql (with GraphiQL), /healthz and the GraphiQL assets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from tortoise import Tortoise
from tortoise.contrib.starlette import RegisterTortoise

from console_users.context import Context
from console_users.database import tortoise_config
from console_users.graphql_http import GraphQLOverHTTP
from console_users.http_security import GraphQLRequestGuard, graphiql_content_security_policy, security_middleware
from console_users.log_redaction import install_log_redaction
from console_users.settings import Settings
from mailer.delivery import run_delivery_loop
from resolvers.api_tokens import authenticate_token
from resolvers.sessions import authenticate
from schema import schema_for
from schema.limits import SchemaOptions

logger = logging.getLogger(__name__)

STATIC_DIRECTORY = Path(__file__).parent / "static"
CDN_PREFIX = "https://unpkg.com/"
LOCAL_ASSET_PREFIX = "/static/graphiql/"


class GraphQLApp(GraphQLOverHTTP, GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            schema_for(SchemaOptions.from_settings(settings)),
            graphql_ide="graphiql" if settings.graphiql else None,
            allowed_origins=sorted(settings.trusted_origins),
        )
        self.settings = settings

    async def get_context(self, request: Request | WebSocket, response: Response | None) -> Context:
        # A request with an Authorization header is an integration: its cookies are ignored.
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, _, credentials = authorization.partition(" ")
            actor = await authenticate_token(credentials.strip()) if scheme.lower() == "bearer" else None
            return Context(request=request, response=response, settings=self.settings, actor=actor, session_token=None)
        token = request.cookies.get(self.settings.session_cookie_name)
        actor = await authenticate(self.settings, token)
        return Context(request=request, response=response, settings=self.settings, actor=actor, session_token=token)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # The page's assets are served from this server, with their integrity hashes unchanged.
        page = self.graphql_ide_html.replace(CDN_PREFIX, LOCAL_ASSET_PREFIX)
        return HTMLResponse(page, headers={"Content-Security-Policy": graphiql_content_security_policy(page)})


async def healthz(request: Request) -> JSONResponse:
    try:
        await Tortoise.get_connection("default").execute_query("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        logger.warning("Health check failed: %s", error)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, *, manage_database: bool = True, deliver_mail: bool = True) -> Starlette:
    """Build the ASGI app.

    Tests pass `manage_database=False` because their fixtures own the Tortoise context, and
    `deliver_mail=False` to run delivery rounds themselves.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if manage_database:
                # The global fallback makes the ORM visible to request tasks (uvicorn runs
                # the lifespan in a task of its own).
                await stack.enter_async_context(
                    RegisterTortoise(app, config=tortoise_config(settings), generate_schemas=False, _enable_global_fallback=True)
                )
            if deliver_mail:
                stop = asyncio.Event()
                task = asyncio.create_task(run_delivery_loop(settings, stop))
                stack.push_async_callback(_stop_task, stop, task)
            yield

    install_log_redaction()
    graphql_app = GraphQLApp(settings)
    return Starlette(
        routes=[
            Route("/graphql", GraphQLRequestGuard(graphql_app, settings), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_app),
            Route("/healthz", healthz, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC_DIRECTORY), name="static"),
        ],
        middleware=security_middleware(settings),
        lifespan=lifespan,
    )


async def _stop_task(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    stop.set()
    await task
