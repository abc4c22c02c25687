"""``http.fetch`` through the worker bridge: real requests to a real local server, and
upstream's refusals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.errors import InvalidInput
from core.outbound_http import ALLOW_PRIVATE_SETTING
from tests.fixtures.bridge import bridge_for
from tests.fixtures.orchestration import World


class _Echo(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        received = self.rfile.read(length).decode()
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.end_headers()
            return
        body = f"{self.command} {self.path} host={self.headers['Host']} body={received}"
        self.send_response(201, "Made")
        self.send_header("X-Twice", "a")
        self.send_header("X-Twice", "b")
        self.send_header("X-Seen-Encoding", self.headers.get("Accept-Encoding", "none"))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def test_a_request_and_its_answer(
    world: World, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_SETTING, "1")
    bridge = await bridge_for(world)
    answer = await bridge.call(
        "http.fetch",
        url=f"{server}/things?x=1",
        init={"method": "post", "headers": {"X-Token": "t"}, "body": "hello"},
    )
    port = server.rsplit(":", 1)[1]
    assert answer["status"] == 201
    assert answer["statusText"] == "Made"
    assert answer["body"] == f"POST /things?x=1 host=localhost:{port} body=hello"
    assert answer["headers"]["x-twice"] == "a, b"
    assert answer["headers"]["x-seen-encoding"] == "none"

    moved = await bridge.call("http.fetch", url=f"{server}/moved")
    assert (moved["status"], moved["headers"]["location"]) == (302, "/elsewhere")


async def test_private_addresses_are_refused_by_default(world: World, server: str) -> None:
    bridge = await bridge_for(world)
    with pytest.raises(
        InvalidInput, match="^All resolved IPs for localhost are in private/reserved ranges$"
    ):
        await bridge.call("http.fetch", url=f"{server}/")
    with pytest.raises(
        InvalidInput, match="^All resolved IPs for 10.1.2.3 are in private/reserved ranges$"
    ):
        await bridge.call("http.fetch", url="http://10.1.2.3/")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "Invalid URL: not a url"),
        ("http://", "Invalid URL: http://"),
        (
            "ftp://example.com/file",
            'Disallowed protocol "ftp:" — only http: and https: are permitted',
        ),
        ("file:///etc/passwd", 'Disallowed protocol "file:" — only http: and https: are permitted'),
    ],
)
async def test_what_upstream_refuses(world: World, url: str, message: str) -> None:
    bridge = await bridge_for(world)
    with pytest.raises(InvalidInput, match=f"^{message}$"):
        await bridge.call("http.fetch", url=url)


async def test_fetch_needs_the_outbound_capability(world: World) -> None:
    bridge = await bridge_for(world, ("issues.read",))
    with pytest.raises(Exception, match='missing required capability "http.outbound"'):
        await bridge.call("http.fetch", url="http://example.com/")
