"""The webhook outbox and the replay guard: rows that make deliveries and signed requests count once.

Outbox rows are written inside the transaction that changes the ledger (so an event is owed
exactly when the change is committed), then sent by publish/webhooks.py. A sender claims a due
row by moving its next attempt forward (a conditional UPDATE, so two senders never post the same
row at once; a sender that dies leaves the row due again when its claim runs out); success
deletes the row, failure reschedules it, and after the retry period it is marked failed and
kept for `bouncewatch webhooks` to show and `webhooks retry` to send again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import peewee

from .models import ReplayGuard, WebhookDelivery, database_proxy


@dataclass(frozen=True, slots=True)
class OwedDelivery:
    """One event for one receiver, to put in the outbox."""

    event_id: str
    url: str
    event: str
    address: str
    body: str


def enqueue(deliveries: Iterable[OwedDelivery], at: datetime) -> int:
    """Put deliveries in the outbox, due now (inside the caller's transaction); how many."""
    rows = [
        {
            "event_id": d.event_id,
            "url": d.url[:2048],
            "event": d.event,
            "address": d.address[:320],
            "body": d.body,
            "created_at": at,
            "next_attempt_at": at,
        }
        for d in deliveries
    ]
    for start in range(0, len(rows), 100):
        WebhookDelivery.insert_many(rows[start : start + 100]).on_conflict_ignore().execute()
    return len(rows)


def due(now: datetime, limit: int = 100) -> list[WebhookDelivery]:
    """Pending deliveries whose next attempt is due, oldest first."""
    return list(
        WebhookDelivery.select()
        .where((WebhookDelivery.state == "pending") & (WebhookDelivery.next_attempt_at <= now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )


def claim(row: WebhookDelivery, until: datetime) -> bool:
    """Take a due row for one attempt (its next attempt moves to `until`); False if another did."""
    taken = (
        WebhookDelivery.update(next_attempt_at=until)
        .where(
            (WebhookDelivery.id == row.id)
            & (WebhookDelivery.state == "pending")
            & (WebhookDelivery.next_attempt_at == row.next_attempt_at)
        )
        .execute()
    )
    return taken == 1


def delivered(row_id: int) -> None:
    WebhookDelivery.delete().where(WebhookDelivery.id == row_id).execute()


def attempt_failed(row_id: int, attempts: int, error: str, next_at: datetime, give_up: bool) -> None:
    WebhookDelivery.update(
        attempts=attempts,
        last_error=error[:1000],
        next_attempt_at=next_at,
        state="failed" if give_up else "pending",
    ).where(WebhookDelivery.id == row_id).execute()


def listing(states: Sequence[str] = ("pending", "failed")) -> list[WebhookDelivery]:
    """Deliveries in `states`, oldest first (for `bouncewatch webhooks`)."""
    return list(
        WebhookDelivery.select()
        .where(WebhookDelivery.state.in_(list(states)))
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
    )


def requeue_all(now: datetime) -> int:
    """Make every pending and failed delivery due now (`bouncewatch webhooks retry`); how many."""
    return (
        WebhookDelivery.update(state="pending", next_attempt_at=now)
        .where(WebhookDelivery.state.in_(["pending", "failed"]))
        .execute()
    )


def count_pending() -> int:
    return WebhookDelivery.select().where(WebhookDelivery.state == "pending").count()


# -- the replay guard -------------------------------------------------------------------------


def first_use(key: str, at: datetime) -> bool:
    """Remember `key` (inside the caller's transaction); False when it was seen before."""
    try:
        with database_proxy.atomic():  # a savepoint: the caller's transaction goes on after a clash
            ReplayGuard.create(key=key[:200], seen_at=at)
    except peewee.IntegrityError:
        return False
    return True


def forget_before(before: datetime) -> int:
    """Drop keys older than `before` (a request that old is refused by its timestamp anyway)."""
    return ReplayGuard.delete().where(ReplayGuard.seen_at < before).execute()
