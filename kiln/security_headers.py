"""Security headers on every answer, and a timeout on every request."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages load scripts, styles and data from this origin only; charts draw on canvas.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
DOCS_PATHS = ("/docs", "/redoc")  # Swagger UI needs inline scripts and its CDN-less assets


class SecurityHeaders:
    """ASGI middleware: adds the headers above, a CSP on pages, and a request timeout."""

    def __init__(self, app: ASGIApp, *, timeout_s: float = 60.0, hsts: bool = False) -> None:
        self.app, self.timeout_s, self.hsts = app, timeout_s, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI request with the headers added."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        streaming = path.startswith("/live/")
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in names]
                if not path.startswith(DOCS_PATHS) and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        if streaming:  # live streams stay open by design
            await self.app(scope, receive, send_with_headers)
            return
        try:
            await asyncio.wait_for(self.app(scope, receive, send_with_headers), self.timeout_s)
        except TimeoutError:
            if started:  # a half-sent answer can only be cut short
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 504,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send(
                {
                    "type": "http.response.body",
                    "body": b'{"error":"Unavailable","message":"the request took too long",'
                    b'"where":"server"}',
                }
            )
