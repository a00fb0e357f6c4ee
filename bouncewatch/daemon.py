"""The only APScheduler user: one interval job per mailbox, no overlapping runs, clean stop.

Jobs run one at a time on a single worker thread, so two mailboxes never write to an SQLite
file at once. SIGTERM and SIGINT stop the scheduler after the running cycle has finished.
"""

from __future__ import annotations

import signal
import threading
from datetime import datetime, timezone
from types import FrameType

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from . import store
from .config import MailboxSettings, Settings
from .mailbox import MailboxError
from .pipeline import run_cycle

log = structlog.get_logger("bouncewatch.daemon")


def _poll_job(settings: Settings, mailbox: MailboxSettings) -> None:
    try:
        run_cycle(settings, mailbox)
    except MailboxError as exc:
        log.error("cycle_failed", mailbox=mailbox.name, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a failed cycle must not end the daemon
        log.exception("cycle_failed", mailbox=mailbox.name, error=repr(exc)[:500])


def run(settings: Settings) -> int:
    """Poll every mailbox on its interval until SIGTERM or SIGINT; return the exit code."""
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=timezone.utc,
    )
    for mailbox in settings.mailboxes:
        scheduler.add_job(
            _poll_job,
            "interval",
            seconds=settings.poll.interval_seconds,
            args=(settings, mailbox),
            id=f"poll:{mailbox.name}",
            next_run_time=datetime.now(timezone.utc),
        )
    scheduler.start()
    log.info(
        "started",
        mailboxes=[m.name for m in settings.mailboxes],
        interval_seconds=settings.poll.interval_seconds,
    )
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)  # lets the running cycle finish its batch
        store.close_database()
        log.info("stopped")
    return 0
