"""The HTTP endpoint's life in the daemon: Hypercorn (asyncio) serving the gate on a thread.

`HttpService(...)` binds the listening sockets at once (so a port in use is reported before
any mailbox is touched), `start()` serves on a thread with an event loop of its own, `stop()`
ends it (open requests get a moment to finish), `reload()` re-reads the token file and the providers' secrets. Only
imported when `[http] enabled`.

Why Hypercorn: connections cost no thread while their request arrives (waitress held one of its
100 connection slots per slowloris client, and a worker thread per client that stopped
reading), and its idle timer runs from the connection's start until the request line and
headers are complete, however slowly bytes trickle in: that is the header deadline
(`header_timeout_seconds`, also the keep-alive idle time). The gate (web/gate.py) checks Host
and body size before the app, and runs the app on lanes of threads (web/bridge.py) with a
write deadline. The kernel enforces the same deadline under it: TCP_USER_TIMEOUT on the
listening socket (inherited by every connection) aborts a connection whose sent data stays
unacknowledged, or whose receive window stays shut, past `write_timeout_seconds`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket
import threading

import structlog
from hypercorn.asyncio import serve
from hypercorn.config import Config

from ..config import Settings, is_loopback
from ..config.http import read_token
from ..providers.keys import load_keys
from ..service.daemon import EndpointError
from .api import HealthProvider, Sources, count_blocked_now, create_app
from .gate import Gate
from .metrics import Metrics

log = structlog.get_logger("bouncewatch.http")

BACKLOG = 1024
STOP_GRACE_SECONDS = 3.0
MAX_OPEN_FILES = 65536  # the descriptor limit raised to (up to the hard limit): one per connection
MAX_HEADER_BYTES = 16 * 1024  # request line and headers together


class HttpListenError(EndpointError):
    """The endpoint cannot listen: one line for a person (port in use, address not here)."""


def _raise_open_files_limit() -> None:
    """Lift the soft descriptor limit towards the hard one, so many idle connections do not
    make accept() fail for everyone (systemd's default soft limit is 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MAX_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, MAX_OPEN_FILES)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            pass


def bind_sockets(host: str, port: int, write_timeout: float) -> list[socket.socket]:
    """Listening sockets for host:port (a name may give an IPv4 and an IPv6 address)."""
    sockets: list[socket.socket] = []
    seen: set[tuple] = set()
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, proto, _name, address in infos:
            if (family, address[:2]) in seen:
                continue
            seen.add((family, address[:2]))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if hasattr(socket, "TCP_USER_TIMEOUT"):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(write_timeout * 1000))
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class HttpService:
    """The endpoint of one daemon; `metrics` is the workers' observer."""

    def __init__(self, settings: Settings, health: HealthProvider) -> None:
        self._settings = settings
        self._token = read_token(settings)  # ValueError("http.token_file: ...")
        self._keys = load_keys(settings)  # ValueError("providers[i].<key>: ...")
        self.metrics = Metrics(
            [m.name for m in settings.mailboxes],
            blocked_count=count_blocked_now,
            providers=[p.kind for p in settings.providers],
        )
        self.app = create_app(
            Sources(
                health=health,
                settings=lambda: self._settings,
                token=lambda: self._token,
                registry=self.metrics.registry,
                provider_keys=lambda: self._keys,
                metrics=self.metrics,
            )
        )
        self.gate = Gate(self.app, lambda: self._settings, refused=self.metrics.http_refused)
        http = settings.http
        _raise_open_files_limit()
        try:
            self._sockets = bind_sockets(http.host, http.port, http.write_timeout_seconds)
        except OSError as exc:
            self.gate.stop()
            hint = " (is another bouncewatch running?)" if exc.errno == errno.EADDRINUSE else ""
            raise HttpListenError(f"cannot listen on {http.listen}: {exc.strerror or exc}{hint}") from None
        if not is_loopback(http.host) and self._token is None:
            log.warning(
                "http_open_to_network",
                listen=http.listen,
                v1="open to any client" if http.v1_open_to_network else "loopback clients only",
                advice="set [http] token_file: /v1 shows addresses",
            )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def listen(self) -> str:
        return self._settings.http.listen

    def _config(self) -> Config:
        http = self._settings.http
        config = Config()
        # Hypercorn takes the descriptors over (and closes them when it stops).
        config.bind = [f"fd://{sock.detach()}" for sock in self._sockets]
        self._sockets = []
        config.keep_alive_timeout = http.header_timeout_seconds
        config.h11_max_incomplete_size = MAX_HEADER_BYTES
        config.graceful_timeout = STOP_GRACE_SECONDS
        config.accesslog = None
        config.errorlog = logging.getLogger("hypercorn.error")  # warnings and errors, as JSON lines
        config.include_server_header = False
        config.wsgi_max_body_size = http.events_max_body_bytes
        return config

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        log.info("http_listening", listen=self.listen, token=self._token is not None)

    def _serve(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopping = asyncio.Event()
            self._ready.set()
            await serve(self.gate, self._config(), shutdown_trigger=self._stopping.wait, mode="asgi")

        try:
            asyncio.run(main())
        except Exception as exc:  # noqa: BLE001 - the endpoint ends; the daemon's log says why
            log.error("http_server_failed", error=repr(exc)[:300])
        finally:
            self._ready.set()
            self._close_sockets()

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass

    def stop(self) -> None:
        """Stop accepting, let requests in hand finish (a few seconds at most), close."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop has already ended
                pass
        if self._thread is not None:
            self._thread.join(STOP_GRACE_SECONDS + 3)
        else:
            self._close_sockets()
        self.gate.stop()

    def reload(self, settings: Settings) -> None:
        """New settings: the token file is read again; listen and enabled need a restart."""
        if settings.http.listen != self._settings.http.listen or not settings.http.enabled:
            log.warning("reload_http_ignored", reason="changing [http] listen or enabled needs a restart")
            settings = settings.model_copy(update={"http": self._settings.http.model_copy(update={"token_file": settings.http.token_file})})
        try:
            token = read_token(settings)
        except ValueError as exc:
            log.error("reload_http_token_failed", error=str(exc), keeping="the old token")
            token = self._token
        try:
            keys = load_keys(settings, self._keys)
        except ValueError as exc:
            log.error("reload_provider_keys_failed", error=str(exc), keeping="the old keys")
            keys = self._keys
        self._settings, self._token, self._keys = settings, token, keys
