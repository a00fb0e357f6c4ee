"""The daemon's daily prune: history past `[retention]` goes, in small batches, between cycles.

A worker calls `prune_step` after each of its cycles. When the last complete prune (kept in the
database, so restarts and other instances see it) is a day old, the step removes the oldest
rows batch by batch for at most STEP_SECONDS, then lets the worker go on; an unfinished prune
goes on after the next cycle. So a prune never runs during a cycle of the same mailbox, never
holds the database for more than one small batch, and costs a mailbox at most a few seconds a
cycle while a large backlog (the first prune of a database with years of history) drains. One
worker of a process prunes at a time, and with PostgreSQL one instance at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from .. import store
from ..config import Settings
from ..store import retention
from .pipeline import StopFlag

log = structlog.get_logger("bouncewatch.retention")

PRUNE_EVERY = timedelta(days=1)
STEP_SECONDS = 5.0
_pruning = threading.Lock()  # one worker of this process at a time


def retention_policy(settings: Settings) -> retention.RetentionPolicy:
    return retention.RetentionPolicy(
        events_days=settings.retention.events_days, messages_days=settings.retention.messages_days
    )


def prune_due(settings: Settings, now: datetime) -> bool:
    policy = retention_policy(settings)
    if not (policy.events_days or policy.messages_days):
        return False
    last = retention.last_prune()
    return last is None or now - last >= PRUNE_EVERY or last > now  # a clock set back: prune


def prune_step(
    settings: Settings,
    stop: StopFlag | None = None,
    *,
    now: datetime | None = None,
    clock: Callable[[], float] = time.monotonic,
    budget_seconds: float = STEP_SECONDS,
    batch_rows: int = retention.BATCH_ROWS,
) -> retention.PruneResult | None:
    """Prune for at most `budget_seconds` if a prune is due; None when none ran."""
    if not _pruning.acquire(blocking=False):
        return None
    try:
        now = now or store.utcnow()
        if not prune_due(settings, now):
            return None
        started = clock()
        deadline = started + budget_seconds

        def keep_going() -> bool:
            return clock() < deadline and not (stop is not None and stop.is_set())

        try:
            result = retention.prune(retention_policy(settings), now, batch=batch_rows, keep_going=keep_going)
            released = retention.release_free_pages() if result.done else 0
        except store.DATABASE_FAULTS as exc:  # the next cycle tells whether the database is ill
            log.warning("prune_failed", error=repr(exc)[:300])
            return None
        if result.total or not result.done:
            log.info(
                "pruned", done=result.done, seconds=round(clock() - started, 2), pages_released=released,
                **{f"{kind}_removed": n for kind, n in result.removed.items()},
            )
        return result
    finally:
        _pruning.release()
