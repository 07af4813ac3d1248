"""A tiny real HTTP server that answers with recorded media-server bodies and remembers each request:
the SRS adapter talks HTTP to it exactly as it would to SRS."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class ReplayServer:
    routes: dict = field(default_factory=dict)  # (method, path) -> (status, body bytes) or "hang"
    requests: list = field(default_factory=list)  # (method, path, query dict)

    def __post_init__(self):
        replay = self
        self._hang = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                parts = urlsplit(self.path)
                replay.requests.append((self.command, parts.path, parse_qs(parts.query)))
                answer = replay.routes.get((self.command, parts.path))
                if answer == "hang":
                    replay._hang.wait(10)
                    return
                status, body = answer or (404, b"not found")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self._hang.set()
        self.httpd.shutdown()
        self.httpd.server_close()
