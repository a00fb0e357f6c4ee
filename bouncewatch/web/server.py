"""The HTTP endpoint's life in the daemon: waitress serving http_api's app on a thread of its own.

`HttpService(...)` binds the listening socket at once (so a port in use is reported before any
mailbox is touched), `start()` serves on a thread, `stop()` ends it (open requests get a
moment to finish), `reload()` re-reads the token file and the providers' secrets. Only
imported when `[http] enabled`.
"""

from __future__ import annotations

import errno
import threading

import structlog
from waitress import create_server, wasyncore

from ..config import Settings, is_loopback
from ..config.http import read_token
from ..providers.keys import load_keys
from ..service.daemon import EndpointError
from .api import HealthProvider, Sources, count_blocked_now, create_app
from .metrics import Metrics

log = structlog.get_logger("bouncewatch.http")

THREADS = 4  # concurrent requests; a blocklist stream holds one for its length
LOOP_SECONDS = 0.2  # how often the serving loop looks at the stop flag
STOP_GRACE_SECONDS = 3.0


class HttpListenError(EndpointError):
    """The endpoint cannot listen: one line for a person (port in use, address not here)."""


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
        http = settings.http
        try:
            self._server = create_server(
                self.app, host=http.host, port=http.port, threads=THREADS, ident="bouncewatch"
            )
        except OSError as exc:
            hint = " (is another bouncewatch running?)" if exc.errno == errno.EADDRINUSE else ""
            raise HttpListenError(f"cannot listen on {http.listen}: {exc.strerror or exc}{hint}") from None
        if not is_loopback(http.host) and self._token is None:
            log.warning(
                "http_open_to_network",
                listen=http.listen,
                advice="set [http] token_file: /v1 shows addresses to anyone who can reach this port",
            )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def listen(self) -> str:
        return self._settings.http.listen

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)
        self._thread.start()
        log.info("http_listening", listen=self.listen, token=self._token is not None)

    def _serve(self) -> None:
        server = self._server
        sockets = getattr(server, "map", None)  # several listening sockets (a name with v4 and v6)
        if sockets is None:
            sockets = server._map  # one listening socket: the server itself
        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=LOOP_SECONDS, map=sockets, count=1)
        finally:
            server.task_dispatcher.shutdown(timeout=STOP_GRACE_SECONDS)
            wasyncore.close_all(sockets)

    def stop(self) -> None:
        """Stop accepting, let requests in hand finish (a few seconds at most), close."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(LOOP_SECONDS + STOP_GRACE_SECONDS + 2)
        else:
            wasyncore.close_all(getattr(self._server, "map", None) or self._server._map)

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
