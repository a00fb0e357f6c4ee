"""The daemon's webhook sender: a thread of its own, so a slow or dead receiver never slows polling.

Every POLL_SECONDS it sends the outbox's due deliveries (publish/webhooks.py: one attempt each,
failures rescheduled with backoff). It reads the outbox from the database, so deliveries owed by
other processes (`bouncewatch block` from a shell, another instance) go out too; several senders
never post one row at once (each claims a row before sending it). Database and network faults
are logged and the loop goes on; on SIGTERM the attempt in hand finishes (at most a receiver's
`timeout_seconds`) and the thread ends.
"""

from __future__ import annotations

import threading

import structlog

from .. import store
from ..config import Settings
from ..publish.webhooks import deliver_due

log = structlog.get_logger("bouncewatch.webhooks")

POLL_SECONDS = 1.0


class WebhookSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("webhook_sender_started", receivers=[hook.url for hook in self.settings.webhooks])

    def update(self, settings: Settings) -> None:
        """New settings (SIGHUP): used from the next round on."""
        self.settings = settings

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with store.database_proxy.connection_context():
                    deliver_due(self.settings, stop=self._stop.is_set)
            except Exception as exc:  # noqa: BLE001 - a database or receiver fault must not end the thread
                log.error("webhook_sender_failed", error=repr(exc)[:500])
            self._stop.wait(POLL_SECONDS)
