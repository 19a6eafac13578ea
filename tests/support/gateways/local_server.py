"""A fake gateway's real HTTP server: 127.0.0.1 on a free port, served from a daemon thread."""

from __future__ import annotations

import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class LocalGateway:
    """Subclasses answer handle(); requests arrive on real sockets, as from any HTTP client.

    Use as a context manager (or start()/stop()); `url` is the base URL to configure."""

    def __init__(self):
        self.lock = threading.RLock()  # the server is threaded: guard the fake's state
        self._server: ThreadingHTTPServer | None = None

    def handle(
        self, method: str, path: str, query: str, headers, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                try:
                    with gateway.lock:
                        status, headers, payload = gateway.handle(
                            self.command, parts.path, parts.query, self.headers, body
                        )
                except Exception:  # a bug in the fake: show it to whoever called
                    status, headers = 500, {"Content-Type": "text/plain"}
                    payload = traceback.format_exc().encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format, *args):  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
