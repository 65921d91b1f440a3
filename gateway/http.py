"""``/metrics`` (Prometheus text) and ``/healthz`` on a tiny asyncio HTTP/1.1 server.

Only what a Prometheus scraper, a load balancer and ``curl`` send: ``GET`` (and
``HEAD``) of two paths, one request per connection (``Connection: close``). No
keep-alive, no chunked bodies, no TLS: bind it to loopback or a management network.
A request line or header block over 8 KiB, or one that is not complete within 5 s, is
dropped, so a slow or hostile client cannot hold the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Final

from gateway.metrics import CONTENT_TYPE, Registry

__all__ = ["HealthCheck", "HttpServer"]

HealthCheck = Callable[[], "str | None"]  # None when healthy, else the reason

_MAX_HEAD: Final = 8192
_READ_TIMEOUT_S: Final = 5.0  # generous for a scraper on a LAN; bounds a slowloris
_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


class HttpServer:
    """Serves the registry and the health checks; ``port=0`` picks a free port."""

    def __init__(
        self,
        registry: Registry,
        checks: Sequence[HealthCheck],
        *,
        host: str = "127.0.0.1",
        port: int = 9464,
        logger: logging.Logger | None = None,
    ) -> None:
        self.registry = registry
        self.checks = list(checks)
        self.host = host
        self.port = port
        self.log = logger or logging.getLogger("gateway.http")
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.log.info("metrics and health on http://%s:%d/", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def serve(self) -> None:
        """Start (if needed) and serve until cancelled."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        finally:
            await self.close()

    def health(self) -> tuple[int, bytes]:
        reasons = [r for check in self.checks if (r := check()) is not None]
        status = 503 if reasons else 200
        body = {"status": "unhealthy" if reasons else "ok", "reasons": reasons}
        return status, json.dumps(body).encode() + b"\n"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
        ):
            writer.close()
            return
        try:
            if len(head) > _MAX_HEAD:
                status, ctype, body = 400, "text/plain", b"request head too large\n"
            else:
                status, ctype, body = self._route(head)
            method = head.split(b" ", 1)[0]
            reply = (
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            writer.write(reply if method == b"HEAD" else reply + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _route(self, head: bytes) -> tuple[int, str, bytes]:
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            return 400, "text/plain", b"bad request line\n"
        method, target = parts[0], parts[1].split(b"?", 1)[0]
        if target not in (b"/metrics", b"/healthz"):
            return 404, "text/plain", b"not found: try /metrics or /healthz\n"
        if method not in (b"GET", b"HEAD"):
            return 405, "text/plain", b"only GET and HEAD\n"
        if target == b"/metrics":
            return 200, CONTENT_TYPE, self.registry.render().encode()
        status, body = self.health()
        return status, "application/json", body
