"""A tiny real HTTP server on loopback that answers like a documented third-party API, for adapter tests.

Routes are `(method, path regex) -> handler(request) -> Answer`; every request is recorded so a test can check
what the adapter really sent (headers, query, JSON body). Threads are daemons: a handler that sleeps past the
adapter's timeout never holds up the test's teardown.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-case
    body: bytes

    @property
    def storage_url(self) -> str:
        """This stub under another host name (localhost): where a pre-signed storage link would point."""
        return "http://localhost:" + self.headers["host"].rsplit(":", 1)[1]

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes -> as is
    content_type: str = "application/json"
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)  # e.g. Retry-After, rate-limit headers


Handler = Callable[[Seen], Answer]


@dataclass
class StubApi:
    routes: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern), handler))

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"

    def requests(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def answer(self, seen: Seen) -> Answer:
        self.seen.append(seen)
        for method, pattern, handler in self.routes:
            if method == seen.method and pattern.fullmatch(seen.path):
                return handler(seen)
        return Answer(404, {"detail": f"no stub route for {seen.method} {seen.path}"})


def _handler_class(stub: StubApi) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            answer = stub.answer(seen)
            if answer.delay_s:
                time.sleep(answer.delay_s)
            payload = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return _Handler


@contextmanager
def serving(stub: StubApi) -> Iterator[StubApi]:
    """Serve `stub` on 127.0.0.1 (an ephemeral port) for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(stub))
    server.daemon_threads = True
    stub.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
