"""What every request passes before the app sees it: the ASGI app the server runs.

In this order, each answered without a thread and without reading more than it must:

1. Host: the name the client asked for must be listen's host, a loopback name or address,
   any IP address literal, or one of `[http] allowed_hosts` ("*": any); else 421. A page on
   an attacker's domain that resolves to this address (DNS rebinding) sends its own name, so
   it never reaches the console or /v1. An IP literal is no such name: it is allowed, so a
   Prometheus scraper can use the address.
2. Body size: a Content-Length above the route's limit is refused with 413 at once, the body
   never read; a chunked body is counted as it comes and refused the same way past the limit.
   The limit is `max_body_bytes` (64 KiB), or `events_max_body_bytes` for the provider routes
   (`/hooks/...`, `/v1/events`), whose batches are bigger.
3. Body time: the whole body must arrive within `body_timeout_seconds`, else 408.
4. The app: /healthz and /metrics run on a lane of their own (bridge.Lane), everything else
   on the main lane, so a flood of sign-ins or streams never starves the health check. When
   as many requests already wait for a lane as it takes, the next gets 503 at once.

The server itself (web/server.py) drops a connection whose request line and headers take
longer than `header_timeout_seconds`, however slowly they trickle in.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from ..config import Settings
from ..config.http import LOOPBACK_NAMES, HttpSettings
from .bridge import Lane, LaneFull, Send, WsgiApp, serve_wsgi

log = structlog.get_logger("bouncewatch.http")

Receive = Callable[[], Awaitable[dict[str, Any]]]
OPS_PATHS = frozenset({"/healthz", "/metrics"})
OPS_THREADS = 2
OPS_WAITING = 16
APP_THREADS = 8
APP_WAITING = 32
EVENT_PREFIXES = ("/hooks/",)
EVENT_PATHS = frozenset({"/v1/events"})


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def host_name(value: str) -> str:
    """The name part of a Host header: lowercased, without port or trailing dot."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    return value.rpartition(":")[0].rstrip(".") if ":" in value else value.rstrip(".")


def host_allowed(value: str | None, http: HttpSettings) -> bool:
    """True when a request for Host `value` may be answered (see the module's docstring)."""
    if value is None:
        return False
    name = host_name(value)
    if not name:
        return False
    if "*" in http.allowed_hosts or name in http.allowed_hosts or name in LOOPBACK_NAMES:
        return True
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True  # an address literal: no DNS name an attacker could rebind
    except ValueError:
        pass
    return name == http.host.lower().rstrip(".")


def body_limit(path: str, http: HttpSettings) -> int:
    if path in EVENT_PATHS or path.startswith(EVENT_PREFIXES):
        return http.events_max_body_bytes
    return http.max_body_bytes


def _header(scope: dict[str, Any], name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key.lower() == name]


async def read_body(receive: Receive, limit: int, seconds: float) -> bytes:
    """The whole request body, at most `limit` bytes, within `seconds` (Refused otherwise)."""
    parts: list[bytes] = []
    size = 0

    async def collect() -> None:
        nonlocal size
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Refused(400, "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"the request body is larger than {limit} bytes")
            parts.append(chunk)
            if not message.get("more_body", False):
                return

    try:
        await asyncio.wait_for(collect(), seconds)
    except asyncio.TimeoutError:
        raise Refused(408, f"the request body did not arrive within {seconds:g} s") from None
    return b"".join(parts)


async def answer(send: Send, status: int, message: str, close: bool = False, retry_after: int | None = None) -> None:
    body = (message + "\n").encode("utf-8")
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
    ]
    if close:
        headers.append((b"connection", b"close"))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class Gate:
    """The ASGI app of the endpoint: checks, then the WSGI app on a lane."""

    def __init__(self, app: WsgiApp, settings: Callable[[], Settings], refused: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.settings = settings
        self.refused = refused or (lambda reason: None)  # counts refusals (a metric)
        self.ops = Lane("http-ops", OPS_THREADS, OPS_WAITING)
        self.main = Lane("http", APP_THREADS, APP_WAITING)

    def stop(self) -> None:
        self.ops.stop()
        self.main.stop()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        http = self.settings().http
        hosts = _header(scope, b"host") or _header(scope, b":authority")
        if len(hosts) != 1 or not host_allowed(hosts[0].decode("latin-1"), http):
            self.refused("host")
            await answer(send, 421, "Misdirected request: this server does not answer to that host name "
                                    "(add it to [http] allowed_hosts if it is yours).", close=True)
            return
        limit = body_limit(scope["path"], http)
        lengths = _header(scope, b"content-length")
        try:
            length = int(lengths[0]) if lengths else None
        except ValueError:
            length = None
        if length is not None and length > limit:
            self.refused("body_size")
            await answer(send, 413, f"The request body is larger than {limit} bytes.", close=True)
            return
        try:
            body = await read_body(receive, limit, http.body_timeout_seconds)
        except Refused as refusal:
            self.refused("body_size" if refusal.status == 413 else "body_time")
            await answer(send, refusal.status, str(refusal).capitalize() + ".", close=True)
            return
        lane = self.ops if scope["path"] in OPS_PATHS else self.main
        try:
            served = await serve_wsgi(self.app, scope, body, send, lane, http.write_timeout_seconds)
        except LaneFull:
            self.refused("busy")
            await answer(send, 503, "Busy: too many requests at once; try again in a moment.", retry_after=1)
            return
        if not served:
            self.refused("write_time")
            log.info("http_client_dropped", path=scope["path"], reason="stopped reading the response",
                     write_timeout_seconds=http.write_timeout_seconds)
