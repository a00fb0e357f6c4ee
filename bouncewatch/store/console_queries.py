"""The console's reads: the blocked list (keyset paging with filters), the address timeline,
bounces per day by class. Read-only; the caller owns the connection.

Paging is by key, never by OFFSET: `WHERE blocked AND address > :after ORDER BY address
LIMIT n`, which the (blocked, address) index of schema step 3 answers in the same time on the
first page and on the millionth row. The reason and domain filters have indexes of their own
that keep that order; the class and date filters are checked on the rows walked in address
order (cheap for common values, a longer walk for a rare one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import peewee

from .. import store
from ..rules.ledger import block_class
from .migrations import domain_sql  # the expression of the domain index (step 3)

PAGE_SIZE = 50
CLASSES = ("hard", "soft-limit", "complaint", "manual")
CHART_CLASSES = ("hard", "soft", "complaint", "ignore")


@dataclass(frozen=True)
class BlockedFilter:
    block_class: str = ""
    reason: str = ""
    domain: str = ""
    since: date | None = None
    until: date | None = None

    def params(self) -> dict[str, str]:
        values = {
            "class": self.block_class,
            "reason": self.reason,
            "domain": self.domain,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in values.items() if value}


def _class_condition(name: str) -> peewee.Expression:
    reason = store.Address.blocked_reason
    manual = (store.Address.manual == True) | reason.startswith("manual")  # noqa: E712
    if name == "manual":
        return manual
    if name == "complaint":
        return ~manual & reason.startswith("complaint")
    if name == "hard":
        return ~manual & reason.startswith("hard")
    return ~manual & reason.contains("consecutive soft")


def blocked_page(filters: BlockedFilter, after: str = "", size: int = PAGE_SIZE) -> tuple[list[dict[str, Any]], str]:
    """One page of blocked addresses after `after`; (rows, the key of the next page or "")."""
    A = store.Address
    db = store.database_proxy.obj
    query = A.select(
        A.address, A.manual, A.blocked_reason, A.last_class, A.last_reason, A.last_status,
        A.blocked_at, A.bounces, A.soft_count,
    ).where(A.blocked == True)  # noqa: E712
    if after:
        query = query.where(A.address > after)
    if filters.block_class in CLASSES:
        query = query.where(_class_condition(filters.block_class))
    if filters.reason:
        query = query.where(A.last_reason == filters.reason)
    if filters.domain:
        query = query.where(peewee.SQL(f"{domain_sql(db)} = {db.param}", [filters.domain.lower()]))
    if filters.since:
        query = query.where(A.blocked_at >= datetime.combine(filters.since, datetime.min.time()))
    if filters.until:
        query = query.where(A.blocked_at < datetime.combine(filters.until + timedelta(days=1), datetime.min.time()))
    rows = list(query.order_by(A.address).limit(size + 1).dicts())
    next_key = rows[size - 1]["address"] if len(rows) > size else ""
    page = rows[:size]
    for row in page:
        row["class"] = block_class(bool(row["manual"]), row["blocked_reason"] or "", row["last_class"] or "")
    return page, next_key


def timeline(address: str) -> list[dict[str, Any]]:
    """Every bounce event and manual action of an address, oldest first."""
    entries: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for event in store.history(address):
        entries.append((event.at, 0, event.id, {"type": "bounce", "event": event, "message": event.message}))
    for entry in store.audit_entries(address):
        entries.append((entry.at, 1, entry.id, {"type": "manual", "audit": entry}))
    entries.sort(key=lambda item: item[:3])
    return [{"at": at, **data} for at, _kind, _id, data in entries]


def event_with_message(event_id: int) -> store.Event | None:
    return (
        store.Event.select(store.Event, store.ProcessedMessage)
        .join(store.ProcessedMessage)
        .where(store.Event.id == event_id)
        .first()
    )


def bounces_per_day(days: int, today: date) -> tuple[list[date], dict[str, list[int]]]:
    """(the days, class → a count per day) of bounce events in the last `days` days (UTC)."""
    start = today - timedelta(days=days - 1)
    day = peewee.fn.date(store.Event.at)
    query = (
        store.Event.select(day.alias("day"), store.Event.bounce_class, peewee.fn.COUNT(store.Event.id))
        .where(store.Event.at >= datetime.combine(start, datetime.min.time()))
        .group_by(day, store.Event.bounce_class)
        .tuples()
    )
    series = [start + timedelta(days=i) for i in range(days)]
    index = {d.isoformat(): i for i, d in enumerate(series)}
    counts = {name: [0] * days for name in CHART_CLASSES}
    for value, bounce_class, count in query:
        key = str(value)[:10]
        if key in index and bounce_class in counts:
            counts[bounce_class][index[key]] += count
    return series, counts
