"""One mailbox's life in the daemon: lease, cycle (or IDLE session), backoff, health.

Each configured mailbox gets a MailboxWorker; the daemon's scheduler runs its `step()` as the
mailbox's job, so a mailbox that hangs or fails never holds up another. A step takes the
mailbox's lease (else the mailbox waits as a standby), runs a cycle (or, with `idle = true`,
keeps the connection and waits in IMAP IDLE), gives the daily prune a few seconds when it is
due (service/retention.py), and returns how long to wait before the next step:
`interval_seconds` after a success, a capped, jittered exponential backoff after a failure.
Any failure ends that step only: it is logged once, as one structured `cycle_failed` event.
Nothing a mailbox, the database or the disk does makes the worker, or the daemon, exit.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog

from .. import store
from ..config import MailboxSettings, Settings
from ..imap.mailbox import IMAP_FAULTS, Mailbox, MailboxError
from ..imap.oauth import TokenError
from ..parse import parse_message
from ..publish.files import ShrinkRefused
from ..records import CycleSummary
from ..store.leases import Leases
from .backoff import Backoff
from .observers import CycleObserver
from .pipeline import Parser, process_folders, run_cycle
from .publisher import PUBLISHER, Publisher
from .retention import prune_step

log = structlog.get_logger("bouncewatch.worker")

# Faults we expect from a world of networks, servers and disks: logged as one line, no trace.
EXPECTED_FAULTS: tuple[type[BaseException], ...] = (
    *IMAP_FAULTS,
    OSError,  # sockets, timeouts, TLS, a full or read-only disk for the blocklist
    *store.DATABASE_FAULTS,  # database locked, unreachable, restarted; the lease connection
    ShrinkRefused,
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(slots=True)
class Health:
    """What a worker last did, for logs and the health file."""

    mailbox: str
    state: str = "starting"  # starting | ok | failing | standby | stopped
    consecutive_failures: int = 0
    last_success: datetime | None = None
    last_error: str = ""
    next_attempt: datetime | None = None
    messages: int = 0  # processed by this process since it started

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_success", "next_attempt"):
            data[key] = data[key].isoformat(timespec="seconds") if data[key] else None
        return data


class _Guard:
    """The stop flag a cycle checks between batches: daemon stopping, worker retired, lease lost."""

    def __init__(self, worker: MailboxWorker) -> None:
        self._worker = worker

    def is_set(self) -> bool:
        worker = self._worker
        if worker.stopping:
            return True
        if not worker.leases.holds(worker.mailbox.name):
            log.warning("lease_lost", mailbox=worker.mailbox.name)
            return True
        return False


class MailboxWorker:
    """Runs one mailbox until the daemon stops or the mailbox is removed from the config."""

    def __init__(
        self,
        settings: Settings,
        mailbox: MailboxSettings,
        leases: Leases,
        stop: threading.Event,
        *,
        parse: Parser = parse_message,
        rand: Callable[[], float] = random.random,
        on_health: Callable[[Health], None] | None = None,
        observer: CycleObserver | None = None,
        publisher: Publisher = PUBLISHER,
    ) -> None:
        self.settings = settings
        self.mailbox = mailbox
        self.leases = leases
        self.health = Health(mailbox.name)
        self._stop = stop
        self._retired = threading.Event()
        self._wake = threading.Event()
        self._parse = parse
        self._rand = rand
        self._on_health = on_health
        self._observer = observer  # metrics (service/observers.py); None: nobody listens
        self._publisher = publisher  # coalesces the outputs' writes across cycles and mailboxes
        self._had_lease = False
        self.idle = threading.Event()  # set while no step runs
        self.idle.set()

    # -- control (from the daemon's thread) -----------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stop.is_set() or self._retired.is_set()

    def update(self, settings: Settings, mailbox: MailboxSettings) -> None:
        """New settings (SIGHUP): used from the next attempt on, which starts now if idle."""
        self.settings, self.mailbox = settings, mailbox
        self._wake.set()

    def retire(self) -> None:
        """Finish the current batch and end (the mailbox left the config, or the daemon stops)."""
        self._retired.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no step runs (the batch in hand is finished); True if so."""
        return self.idle.wait(timeout)

    # -- one step (on a scheduler thread) -------------------------------------------------------

    def step(self) -> float:
        """One attempt at the mailbox; returns the seconds to wait before the next."""
        self.idle.clear()
        self._wake.clear()
        try:
            if self.stopping:
                self.health.state = "stopped"
                self._report()
                return 0.0
            return self._attempt()
        finally:
            self.idle.set()

    def _attempt(self) -> float:
        settings, mailbox = self.settings, self.mailbox
        try:
            if not self.leases.acquire(mailbox.name):
                return self._standby(settings)
            if not self._had_lease:
                self._had_lease = True
                log.info("lease_acquired", mailbox=mailbox.name)
            if mailbox.idle:
                return self._idle_session(settings, mailbox)
            started = time.monotonic()
            guard = _Guard(self)
            summary = run_cycle(settings, mailbox, self._parse, guard, publish=self._publisher.request)
            self._succeeded(summary.messages)
            self._observe(summary, started)
            prune_step(settings, guard)  # between this mailbox's cycles, a few seconds at most
            return settings.poll.interval_seconds
        except Exception as exc:  # noqa: BLE001 - every failure is retried, never fatal
            return self._failed(settings, exc)
        finally:
            self._close_database()

    def _idle_session(self, settings: Settings, mailbox: MailboxSettings) -> float:
        """Keep one connection: cycle, IDLE until mail arrives (or the renew time), repeat.

        IDLE watches the first folder; further folders are looked at each time IDLE returns,
        which is at least every `interval_seconds`. Without IDLE on the server, one cycle runs
        and polling takes over. Returns the wait before the next step: none when the session
        ended on purpose (stop, reload), the poll interval when the server has no IDLE.
        """
        guard = _Guard(self)
        folders = mailbox.folder_list
        wait = settings.daemon.idle_renew_seconds
        if len(folders) > 1:
            wait = min(wait, settings.poll.interval_seconds)
        with Mailbox(mailbox) as connection:
            while True:
                started = time.monotonic()
                summary = process_folders(settings, mailbox, connection, self._parse, guard)
                self._publisher.request(settings)
                self._succeeded(summary.messages)
                self._observe(summary, started)
                prune_step(settings, guard)
                if not connection.can_idle():
                    log.warning("idle_unsupported", mailbox=mailbox.name, fallback="polling")
                    return settings.poll.interval_seconds
                if guard.is_set() or self._wake.is_set():
                    return 0.0
                connection.idle_wait(folders[0], wait, lambda: self.stopping or self._wake.is_set())
                if self.stopping or self._wake.is_set():
                    return 0.0

    # -- outcomes -------------------------------------------------------------------------------

    def _standby(self, settings: Settings) -> float:
        if self._had_lease:
            log.warning("lease_lost", mailbox=self.mailbox.name)
            self._had_lease = False
        if self.health.state != "standby":
            log.info("lease_held_elsewhere", mailbox=self.mailbox.name, retry_seconds=settings.daemon.lease_retry_seconds)
        self.health.state = "standby"
        self.health.next_attempt = _now() + timedelta(seconds=settings.daemon.lease_retry_seconds)
        self._report()
        return settings.daemon.lease_retry_seconds

    def _succeeded(self, messages: int) -> None:
        if self.health.consecutive_failures:
            log.info("mailbox_recovered", mailbox=self.mailbox.name, after_failures=self.health.consecutive_failures)
        health = self.health
        health.state, health.consecutive_failures, health.last_error = "ok", 0, ""
        health.last_success = _now()
        health.messages += messages
        health.next_attempt = None
        self._report()

    def _failed(self, settings: Settings, exc: Exception) -> float:
        health = self.health
        health.consecutive_failures += 1
        backoff = Backoff(
            initial=min(settings.daemon.backoff_initial_seconds, settings.daemon.backoff_max_seconds),
            maximum=settings.daemon.backoff_max_seconds,
        )
        delay = backoff.delay(health.consecutive_failures, self._rand)
        expected = isinstance(exc, EXPECTED_FAULTS)
        message = str(exc) if isinstance(exc, (MailboxError, TokenError)) else repr(exc)[:500]
        health.state, health.last_error = "failing", message
        health.next_attempt = _now() + timedelta(seconds=delay)
        log.error(
            "cycle_failed",
            mailbox=self.mailbox.name,
            error=message,
            error_type=type(exc).__name__,
            failures=health.consecutive_failures,
            retry_in_seconds=round(delay, 2),
            exc_info=None if expected else exc,  # a bug gets its traceback; a fault does not
        )
        self._report()
        if self._observer is not None:
            self._observer.cycle_failed(self.mailbox.name, type(exc).__name__)
        return delay

    def _observe(self, summary: CycleSummary, started: float) -> None:
        if self._observer is not None:
            self._observer.cycle_done(self.mailbox.name, summary, time.monotonic() - started)

    def _report(self) -> None:
        if self._on_health is not None:
            self._on_health(self.health)

    @staticmethod
    def _close_database() -> None:
        """Drop this thread's database connection, so the next attempt starts with a fresh one."""
        db = store.database_proxy.obj
        if db is None:
            return
        try:
            db.close()
        except EXPECTED_FAULTS:
            pass  # a broken connection is what we are getting rid of
