"""GraphiQL in a real headless Chromium, on a machine without internet access.

The page's assets are vendored under `console_users/static/graphiql/`, and the server rewrites
the page to load them from `/static/graphiql/`. The browser is driven through the Chrome
DevTools protocol, and its resolver fails every host name so that a CDN reference would fail
to load rather than reach the network.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support import SmtpServer
from tests.test_server_process import (
    POLL_SECONDS,
    WAIT_SECONDS,
    ServerProcess,
    running_server,
    server_environment,
    stop_process,
)

CHROMIUM = Path("/usr/bin/chromium")
LOCAL_ASSET_PREFIX = "/static/graphiql/"

# CI sets REQUIRE_BROWSER=1, so a missing browser fails there instead of skipping silently.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("REQUIRE_BROWSER") != "1",
    reason="needs Debian's Chromium at /usr/bin/chromium: apt-get install chromium",
)

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    # Every host but 127.0.0.1 fails to resolve, as on a machine without internet access.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,900",
    # Chromium picks a free port and writes it to DevToolsActivePort in the profile folder.
    "--remote-debugging-port=0",
]

GRAPHIQL_RENDERED = "document.querySelector('.graphiql-container .graphiql-query-editor .CodeMirror') !== null"
OPEN_DOCS = "document.querySelector('button[aria-label=\"Show Documentation Explorer\"]').click()"
# The documentation explorer lists the root types once GraphiQL has fetched the schema by introspection.
DOCS_TEXT = "(document.querySelector('.graphiql-doc-explorer') || {innerText: ''}).innerText"
RESPONSE_TEXT = """
(() => {
  const editor = document.querySelector('.graphiql-response .CodeMirror');
  return editor ? editor.CodeMirror.getValue() : '';
})()"""
FETCH_VIEWER = """
fetch('/graphql', {
  method: 'POST',
  headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
  body: JSON.stringify({query: '{ viewer { email } }'}),
}).then(response => response.json().then(body => ({status: response.status, body})))"""


class AssetReferences(HTMLParser):
    """HTML parser that collects the URL and integrity hash of each <script src> and <link href>."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            url = attributes.get("src")
        elif tag == "link":
            url = attributes.get("href")
        else:
            return
        # The favicon is an inline data: URL and loads nothing.
        if url and not url.startswith("data:"):
            self.assets.append((url, attributes.get("integrity")))


def asset_references(page: str) -> list[tuple[str, str | None]]:
    parser = AssetReferences()
    parser.feed(page)
    return parser.assets


def subresource_integrity(content: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


class DevToolsSession:
    """A minimal Chrome DevTools protocol client attached to one page."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.last_id = 0
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self.reader = asyncio.create_task(self._read_messages())

    async def _read_messages(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.connection:
                message = json.loads(raw)
                future = self.pending.pop(message["id"], None) if "id" in message else None
                if future is not None and not future.done():
                    future.set_result(message)
                elif "method" in message:
                    self.events.append(message)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[self.last_id] = future
        await self.connection.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, WAIT_SECONDS)
        assert "error" not in reply, f"{method} failed: {reply['error']}"
        return reply["result"]  # type: ignore[no-any-return]

    async def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page, awaiting a promise, and return its JSON value."""
        result = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    async def wait_for(self, expression: str) -> Any:
        """Poll a JavaScript expression until it is truthy, and return its value (None on timeout)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while loop.time() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(POLL_SECONDS)
        return None

    def events_named(self, method: str) -> list[dict[str, Any]]:
        return [event["params"] for event in self.events if event["method"] == method]

    async def close(self) -> None:
        await self.connection.close()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


async def read_devtools_port(profile: Path, browser: asyncio.subprocess.Process) -> int:
    port_file = profile / "DevToolsActivePort"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while loop.time() < deadline:
        assert browser.returncode is None, f"Chromium exited with status {browser.returncode}"
        lines = port_file.read_text(encoding="utf-8").splitlines() if port_file.exists() else []
        if lines and lines[0].isdigit():
            return int(lines[0])
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"Chromium wrote no {port_file} within {WAIT_SECONDS} s")


async def page_websocket_url(devtools_port: int) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{devtools_port}", timeout=5.0, trust_env=False) as http:
        while loop.time() < deadline:
            targets = (await http.get("/json/list")).json()
            pages = [target for target in targets if target["type"] == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
            await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"Chromium opened no page within {WAIT_SECONDS} s")


@contextlib.asynccontextmanager
async def headless_page(folder: Path) -> AsyncIterator[DevToolsSession]:
    """Start headless Chromium with a new profile in `folder` and attach to its blank page."""
    profile = folder / "chromium-profile"
    profile.mkdir()
    with (folder / "chromium.log").open("wb") as log_file:
        browser = await asyncio.create_subprocess_exec(
            str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=asyncio.subprocess.STDOUT,
        )
    try:
        devtools_port = await read_devtools_port(profile, browser)
        url = await page_websocket_url(devtools_port)
        async with connect(url, max_size=None, proxy=None, open_timeout=WAIT_SECONDS) as connection:
            session = DevToolsSession(connection)
            try:
                yield session
            finally:
                await session.close()
    finally:
        await stop_process(browser)


@contextlib.asynccontextmanager
async def graphiql_server(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, folder: Path
) -> AsyncIterator[ServerProcess]:
    """Start `serve` as `make run` does: GraphiQL on, and introspection on for its documentation."""
    environment = server_environment(await fresh_database_url(), smtp_server.port, GRAPHIQL="true", INTROSPECTION="true")
    async with running_server(environment, folder) as server:
        yield server


async def open_graphiql(page: DevToolsSession, url: str) -> None:
    """Record the page's network traffic and errors, then navigate to `url`."""
    await page.send("Network.enable")
    await page.send("Runtime.enable")
    await page.send("Log.enable")
    await page.send("Page.enable")
    navigation = await page.send("Page.navigate", url=url)
    assert "errorText" not in navigation, navigation


async def test_graphiql_page_references_only_local_assets(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    async with graphiql_server(fresh_database_url, smtp_server, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10.0, trust_env=False) as http:
            page = await http.get("/graphql", headers={"Accept": "text/html"})
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assets = asset_references(page.text)

            assert len(assets) == 7
            assert "unpkg.com" not in page.text
            for url, integrity in assets:
                assert url.startswith(LOCAL_ASSET_PREFIX), url
                assert integrity is not None, url
                asset = await http.get(url)
                assert asset.status_code == 200, url
                # The browser rejects an asset whose hash differs from the page's integrity attribute.
                assert subresource_integrity(asset.content) == integrity, url


async def test_graphiql_renders_offline_in_chromium(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    async with graphiql_server(fresh_database_url, smtp_server, tmp_path) as server:
        async with headless_page(tmp_path) as page:
            await open_graphiql(page, f"{server.base_url}/graphql")

            rendered = await page.wait_for(GRAPHIQL_RENDERED)
            await page.evaluate(OPEN_DOCS)
            docs = await page.wait_for(f"{DOCS_TEXT}.includes('mutation: Mutation') && {DOCS_TEXT}")
            screenshot = await page.send("Page.captureScreenshot", format="png")
            (tmp_path / "graphiql.png").write_bytes(base64.b64decode(screenshot["data"]))

    assert rendered is True
    assert docs is not None
    assert "query: Query" in docs
    requests = [event["request"] for event in page.events_named("Network.requestWillBeSent")]
    assert [request for request in requests if request["method"] == "POST" and request["url"].endswith("/graphql")] != []
    requested = [request["url"] for request in requests]
    remote = [url for url in requested if urlsplit(url).scheme in ("http", "https", "ws", "wss")]
    assert remote != []
    assert [url for url in remote if urlsplit(url).hostname != "127.0.0.1"] == []
    assert [url for url in remote if urlsplit(url).path.startswith(LOCAL_ASSET_PREFIX)] != []
    assert page.events_named("Network.loadingFailed") == []
    assert page.events_named("Runtime.exceptionThrown") == []
    # The page ran under its Content-Security-Policy: a violation would be logged as an error below.
    documents = [event["response"] for event in page.events_named("Network.responseReceived") if event["type"] == "Document"]
    assert len(documents) == 1
    assert "script-src 'self' 'sha256-" in {name.lower(): value for name, value in documents[0]["headers"].items()}[
        "content-security-policy"
    ]
    errors = [entry["entry"] for entry in page.events_named("Log.entryAdded") if entry["entry"]["level"] == "error"]
    assert errors == []
    assert (tmp_path / "graphiql.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


async def test_graphiql_runs_query_from_page(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    query = "{ viewer { email } }"

    async with graphiql_server(fresh_database_url, smtp_server, tmp_path) as server:
        async with headless_page(tmp_path) as page:
            # The page puts the `q` parameter of its URL in the query editor.
            await open_graphiql(page, f"{server.base_url}/graphql?q={quote(query)}")
            assert await page.wait_for(GRAPHIQL_RENDERED) is True

            editor_text = await page.evaluate(
                "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()"
            )
            await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
            response_text = await page.wait_for(RESPONSE_TEXT)
            fetched = await page.evaluate(FETCH_VIEWER)

    assert editor_text == query
    assert response_text is not None
    assert json.loads(response_text) == {"data": {"viewer": None}}
    assert fetched == {"status": 200, "body": {"data": {"viewer": None}}}
