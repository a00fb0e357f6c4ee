"""`bouncewatch run`: the only APScheduler user: a job per mailbox, signals, reload, health file.

Each mailbox has its own MailboxWorker (worker.py): its own lease, backoff and health, so a
failing mailbox never holds up another. Its step runs as an APScheduler interval job of its
own (max_instances=1: never two runs of one mailbox at once; coalesce: a late run is not
repeated), on a thread pool with a thread per mailbox. After each step the job's next run
time is set to what the step asked for: the poll interval after a success, the backoff after
a failure, the lease retry time for a standby, at once after an IDLE session ended. Signals:

- SIGTERM / SIGINT: every worker finishes the batch in hand, then the process exits 0;
- SIGHUP: the config file is read and validated again; on success workers pick up the new
  settings (mailboxes added or removed start or stop); on error the old config stays and one
  line is logged. `[database]` cannot change without a restart.

With `[[webhooks]]`, a sender thread (webhook_sender.py) posts the outbox's due deliveries,
apart from the mailbox jobs, so a dead receiver never slows polling; it stops after the
endpoint on SIGTERM.

With `[http] enabled`, the endpoint (made by the `endpoint_factory` the caller hands in: the
CLI's is web/server.py's HttpService, so this room never imports the web room) binds its port
before any mailbox is touched (a port in use: exit 1), serves on its own thread once the
workers are started, gets its health through `health_snapshot()` and feeds its metrics as the
workers' observer, and is closed first on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import FrameType
from typing import Protocol

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from .. import config, logs, store
from ..config import Settings
from ..publish.files import ShrinkRefused, write_atomically
from ..store.leases import Leases, leases_for
from .observers import CycleObserver
from .publisher import PUBLISHER
from .sdnotify import notify, watchdog_interval
from .webhook_sender import WebhookSender
from .worker import Health, MailboxWorker

log = structlog.get_logger("bouncewatch.daemon")

# Threads for mailbox jobs: one each, however many a reload adds (IDLE holds its thread).
MAX_MAILBOX_THREADS = 64


class EndpointError(Exception):
    """The endpoint cannot be set up (its port is in use, an unreadable token); the daemon exits 1."""


class Endpoint(Protocol):
    """What runs beside the workers when `[http]` is enabled."""

    metrics: CycleObserver  # told about every cycle

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def reload(self, settings: Settings) -> None: ...


HealthSnapshot = Callable[[], dict[str, Health]]
EndpointFactory = Callable[[Settings, HealthSnapshot], Endpoint]  # raises EndpointError or ValueError


def _job_id(name: str) -> str:
    return f"mailbox:{name}"


class Daemon:
    """The workers of one process and what signals do to them."""

    def __init__(
        self,
        settings: Settings,
        config_path: Path | None = None,
        leases: Leases | None = None,
        endpoint_factory: EndpointFactory | None = None,
    ) -> None:
        self.settings = settings
        self.endpoint_factory = endpoint_factory
        self.config_path = config_path
        self.leases = leases or leases_for(settings.database_url)
        self.stop = threading.Event()
        self._reload = threading.Event()
        self._attention = threading.Event()  # set by signal handlers; the main loop acts on it
        self._workers: dict[str, MailboxWorker] = {}
        self._health: dict[str, Health] = {}
        self._health_lock = threading.Lock()
        self._http: Endpoint | None = None  # [http] enabled: the endpoint
        self._webhooks: WebhookSender | None = None  # [[webhooks]]: the sender thread
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=MAX_MAILBOX_THREADS)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=timezone.utc,
        )

    # -- signals (handlers only set flags; the main loop does the work) -------------------------

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        self.request_stop()

    def _on_reload(self, _signum: int, _frame: FrameType | None) -> None:
        self.request_reload()

    def request_stop(self) -> None:
        self.stop.set()
        self._attention.set()

    def request_reload(self) -> None:
        self._reload.set()
        self._attention.set()

    # -- life -----------------------------------------------------------------------------------

    def run(self) -> int:
        """Start a worker per mailbox; serve signals until stopped; return the exit code."""
        if not self._bind_http():
            return 1
        self.scheduler.start()
        for mailbox in self.settings.mailboxes:
            self._start_worker(mailbox)
        if self._http is not None:
            self._http.start()
        self._start_webhooks()
        log.info(
            "started",
            pid=os.getpid(),
            mailboxes=[m.name for m in self.settings.mailboxes],
            interval_seconds=self.settings.poll.interval_seconds,
        )
        notify("READY=1")
        ping_every = watchdog_interval()  # systemd's WatchdogSec: prove the main loop lives
        try:
            while True:
                self._attention.wait(ping_every)
                if ping_every is not None:
                    notify("WATCHDOG=1")
                self._attention.clear()
                if self.stop.is_set():
                    break
                if self._reload.is_set():
                    self._reload.clear()
                    notify("RELOADING=1")
                    try:
                        self.reload()
                    except Exception as exc:  # noqa: BLE001 - a reload never ends the daemon
                        log.error("reload_failed", error=repr(exc)[:500], keeping="the running config", exc_info=exc)
                    notify("READY=1")
        finally:
            notify("STOPPING=1")
            if self._http is not None:
                self._http.stop()
            if self._webhooks is not None:
                self._webhooks.stop()
            for worker in self._workers.values():
                worker.wake()
            self.scheduler.shutdown(wait=True)  # each running step finishes the batch in hand
            self._publish_last_change()
            self.leases.release_all()
            store.close_database()
            log.info("stopped")
        return 0

    def _start_webhooks(self) -> None:
        """With [[webhooks]], the sender thread (once; a reload that adds webhooks starts it)."""
        if self.settings.webhooks and self._webhooks is None:
            self._webhooks = WebhookSender(self.settings)
            self._webhooks.start()

    def _publish_last_change(self) -> None:
        """Write what the coalescing publisher still owes, before the process ends."""
        try:
            PUBLISHER.flush(self.settings)
        except (ShrinkRefused, OSError, *store.DATABASE_FAULTS) as exc:
            log.error("publish_failed", error=str(exc)[:500], error_type=type(exc).__name__)
        finally:
            store.close_database()

    def _start_worker(self, mailbox: config.MailboxSettings) -> None:
        observer = self._http.metrics if self._http is not None else None
        worker = MailboxWorker(
            self.settings, mailbox, self.leases, self.stop, on_health=self._record_health, observer=observer
        )
        self._workers[mailbox.name] = worker
        self.scheduler.add_job(
            self._step,
            "interval",
            seconds=self.settings.poll.interval_seconds,
            args=(worker,),
            id=_job_id(mailbox.name),
            name=f"poll {mailbox.name}",
            next_run_time=datetime.now(timezone.utc),
        )

    def _step(self, worker: MailboxWorker) -> None:
        """The job of one mailbox: one step, then its next run when the step asks for it."""
        delay = worker.step()
        if worker.stopping:
            return
        self._reschedule(worker, delay)

    def _reschedule(self, worker: MailboxWorker, delay: float) -> None:
        try:
            self.scheduler.modify_job(
                _job_id(worker.mailbox.name), next_run_time=datetime.now(timezone.utc) + timedelta(seconds=delay)
            )
        except JobLookupError:
            pass  # the mailbox left the config meanwhile

    def reload(self) -> bool:
        """Read the config again; apply it if valid, else keep the old one. True if applied."""
        try:
            if self.config_path is None:
                raise config.ConfigError("the config file is not known (started without -c?)")
            new = config.load(self.config_path)
            if not new.mailboxes:
                raise config.ConfigError("mailboxes: no [[mailboxes]] configured")
        except config.ConfigError as exc:
            log.error("reload_failed", error=str(exc), keeping="the running config")
            return False
        if new.database_url != self.settings.database_url:
            log.warning("reload_database_ignored", reason="changing [database] needs a restart")
            new = new.model_copy(update={"database": self.settings.database, "config_dir": self.settings.config_dir})
        logs.configure(new.log.level, new.log.format)
        old_names, new_names = set(self._workers), {m.name for m in new.mailboxes}
        for name in sorted(old_names - new_names):
            worker = self._workers.pop(name)
            worker.retire()
            try:
                self.scheduler.remove_job(_job_id(name))
            except JobLookupError:
                pass
            worker.wait_idle()  # its batch in hand is finished
            with self._health_lock:
                self._health.pop(name, None)
        for mailbox in new.mailboxes:
            if mailbox.name in self._workers:
                worker = self._workers[mailbox.name]
                worker.update(new, mailbox)
                if worker.idle.is_set():  # waiting for its next run: make that now
                    self._reschedule(worker, 0.0)
        self.settings = new
        if self._http is not None:
            self._http.reload(new)
        elif new.http.enabled:
            log.warning("reload_http_ignored", reason="turning [http] on needs a restart")
        if self._webhooks is not None:
            self._webhooks.update(new)
        else:
            self._start_webhooks()
        for mailbox in new.mailboxes:
            if mailbox.name not in self._workers:
                self._start_worker(mailbox)
        log.info(
            "config_reloaded",
            mailboxes=sorted(new_names),
            added=sorted(new_names - old_names),
            removed=sorted(old_names - new_names),
        )
        return True

    # -- HTTP endpoint ----------------------------------------------------------------------------

    def _bind_http(self) -> bool:
        """With [http] enabled, listen now (before any mailbox is touched); False if it cannot."""
        if not self.settings.http.enabled:
            return True
        if self.endpoint_factory is None:
            log.error("http_failed", error="[http] is enabled, but this process was started without an endpoint")
            return False
        try:
            self._http = self.endpoint_factory(self.settings, self.health_snapshot)
        except (EndpointError, ValueError) as exc:
            log.error("http_failed", error=str(exc))
            return False
        return True

    def health_snapshot(self) -> dict[str, Health]:
        """A copy of each mailbox's latest health (for GET /healthz, from the HTTP threads)."""
        with self._health_lock:
            return {name: replace(health) for name, health in self._health.items()}

    # -- health ---------------------------------------------------------------------------------

    def _record_health(self, health: Health) -> None:
        """Keep each mailbox's latest health; rewrite the health file if one is configured."""
        path = self.settings.health_path
        with self._health_lock:
            self._health[health.mailbox] = health
            if path is None:
                return
            document = {
                "pid": os.getpid(),
                "mailboxes": {name: h.as_json() for name, h in sorted(self._health.items())},
            }
            try:
                write_atomically(path, (json.dumps(document, indent=2) + "\n").encode())
            except OSError as exc:
                log.warning("health_file_unwritable", path=str(path), error=str(exc))


def run(settings: Settings, config_path: Path | None = None, endpoint_factory: EndpointFactory | None = None) -> int:
    """Run every mailbox until SIGTERM or SIGINT (SIGHUP reloads `config_path`); the exit code."""
    daemon = Daemon(settings, config_path, endpoint_factory=endpoint_factory)
    daemon.install_signal_handlers()
    return daemon.run()
