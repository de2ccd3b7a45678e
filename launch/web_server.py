"""A small static file server for the project's web folder: the widget and its demo page.

    python -m launch.web_server --port 8000 --rasa-url http://127.0.0.1:5005

Serves web/widget/ (what a health plan's site embeds) and web/demo/ (a page
that embeds it like a member portal would). In the demo page, `{{RASA_URL}}`
becomes the Rasa server's address, so the demo talks to the assistant that
`make run` (or a test) started. Every response carries a strict Content
Security Policy: the page may load nothing from anywhere but this server and
the Rasa server, which shows the widget needs no CDN and no inline script.
"""

import argparse
import html
import posixpath
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
SERVED_FOLDERS = ("/widget/", "/demo/")
RASA_URL_PLACEHOLDER = "{{RASA_URL}}"


def content_security_policy(rasa_url: str) -> str:
    """Only this server and the Rasa server (HTTP and WebSocket)."""
    parts = urlsplit(rasa_url)
    websocket = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            f"connect-src 'self' {parts.scheme}://{parts.netloc} {websocket}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


class WebFolderHandler(SimpleHTTPRequestHandler):
    """Serves the widget and demo folders only; fills the Rasa URL into demo pages."""

    def __init__(self, *args: Any, rasa_url: str, **kwargs: Any) -> None:
        self.rasa_url = rasa_url
        super().__init__(*args, directory=str(WEB_DIR), **kwargs)

    def do_GET(self) -> None:
        raw_path = urlsplit(self.path).path
        # Decoded and normalised first: "/widget/%2e%2e/x" must not reach web/x.
        path = posixpath.normpath(unquote(raw_path))
        if path == "/" or (path == "/demo" and not raw_path.endswith("/")):
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", "/demo/")
            self.end_headers()
            return
        if path == "/demo":
            self.send_demo_page("/demo/index.html")
            return
        if not path.startswith(SERVED_FOLDERS) or "/." in path or Path(self.translate_path(path)).is_dir():
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        if path.startswith("/demo/") and path.endswith(".html"):
            self.send_demo_page(path)
            return
        self.path = path
        super().do_GET()

    def do_HEAD(self) -> None:
        # The stock HEAD would serve any file of web/, node_modules included.
        self.send_error(HTTPStatus.METHOD_NOT_ALLOWED)

    def send_demo_page(self, path: str) -> None:
        file = Path(self.translate_path(path))
        if not file.is_file():
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        page = file.read_text(encoding="utf-8").replace(
            RASA_URL_PLACEHOLDER, html.escape(self.rasa_url, quote=True)
        )
        body = page.encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def list_directory(self, path: Any) -> None:
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", content_security_policy(self.rasa_url))
        self.send_header("X-Content-Type-Options", "nosniff")
        # The demo's files change while developing; never serve a stale widget.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        # Request lines only repeat file names; errors still reach the log (log_error).
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--rasa-url", default="http://127.0.0.1:5005", help="the Rasa server the demo page's widget talks to"
    )
    args = parser.parse_args()
    handler = partial(WebFolderHandler, rasa_url=args.rasa_url.rstrip("/"))
    with ThreadingHTTPServer((args.host, args.port), handler) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
