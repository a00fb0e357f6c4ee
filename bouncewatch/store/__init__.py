"""The store: the only room that imports peewee (and the database drivers).

This module holds the reads and the batch writes the other rooms call as `store.<name>`; the
tables and the schema are in `models.py` (re-exported here), connecting with bounded waits in
`connect.py`, the schema steps in `migrations.py`, the per-mailbox leases in `leases.py`, and the read models of the CLI, the
API and the console in `address_views.py` and `console_queries.py`.

One batch of messages is written in one transaction: the messages (keyed by a fingerprint of
their bytes, so a message counts once however often it is seen), their events, the new address
states, the folder cursor, and the moves still owed. Moves happen after the commit; a crash
before they finish leaves the owed moves in the table for the next cycle to finish.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import peewee

from ..records import AddressState, BounceRecord
from .connect import Timeouts as Timeouts, sqlite_path as sqlite_path, where as where
from .models import (  # re-exported: the other rooms use them as store.<name>
    DATABASE_FAULTS as DATABASE_FAULTS,
    MODELS as MODELS,
    SCHEMA_LOCK_KEY as SCHEMA_LOCK_KEY,
    SCHEMA_VERSION as SCHEMA_VERSION,
    Address as Address,
    Audit as Audit,
    ConsoleSession as ConsoleSession,
    DatabaseError as DatabaseError,
    DatabaseProxy as DatabaseProxy,
    Event as Event,
    FolderCursor as FolderCursor,
    Meta as Meta,
    PendingMove as PendingMove,
    ProcessedMessage as ProcessedMessage,
    ReplayGuard as ReplayGuard,
    SenderAlert as SenderAlert,
    StateMissing as StateMissing,
    WebhookDelivery as WebhookDelivery,
    close_database as close_database,
    create_schema as create_schema,
    database_proxy as database_proxy,
    fault_text as fault_text,
    open_database as open_database,
    schema_version as schema_version,
    set_state_id as set_state_id,
    state_id as state_id,
    upgrade_schema as upgrade_schema,
    utcnow as utcnow,
    where_open as where_open,
    write_transaction as write_transaction,
)

_STATE_FIELDS = (
    "blocked",
    "blocked_reason",
    "blocked_at",
    "soft_count",
    "last_class",
    "last_reason",
    "last_status",
    "first_bounce",
    "last_bounce",
    "bounces",
    "manual",
    "last_success",
)
_BATCH_ROWS = 200  # rows per multi-row INSERT; keeps under SQLite's variable limit


def _chunks(items: Sequence, size: int = _BATCH_ROWS) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _to_state(row: Address) -> AddressState:
    times = tuple(datetime.fromisoformat(t) for t in row.soft_times.split(",") if t)
    return AddressState(
        address=row.address,
        soft_times=times,
        **{name: getattr(row, name) for name in _STATE_FIELDS},
    )


def _to_row(state: AddressState) -> dict:
    return {
        "address": state.address,
        "soft_times": ",".join(t.isoformat() for t in state.soft_times),
        **{name: getattr(state, name) for name in _STATE_FIELDS},
    }


def load_states(addresses: Iterable[str]) -> dict[str, AddressState]:
    """The stored state of each address that has one."""
    wanted = sorted(set(addresses))
    states: dict[str, AddressState] = {}
    for chunk in _chunks(wanted, 500):
        for row in Address.select().where(Address.address.in_(list(chunk))):
            states[row.address] = _to_state(row)
    return states


def bulk_insert(
    model: type[peewee.Model],
    fields: Sequence[peewee.Field],
    rows: Sequence[Sequence[object]],
    *,
    on_conflict: str = "",
) -> None:
    """Insert many rows with one prepared statement (the hot path of a batch).

    peewee builds SQL per row of an insert_many, which costs more than the database does;
    here the statement is built once and the driver's own batch call runs it: executemany
    on SQLite, execute_values on PostgreSQL. Values go through each field's db_value, as
    peewee would convert them. `on_conflict` is appended as written (same syntax on both).
    """
    if not rows:
        return
    db = database_proxy.obj
    table = model._meta.table_name
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    converters = [field.db_value for field in fields]
    values = [tuple(convert(value) for convert, value in zip(converters, row)) for row in rows]
    cursor = db.cursor()
    if isinstance(db, peewee.PostgresqlDatabase):
        from psycopg2.extras import execute_values

        execute_values(cursor, f'INSERT INTO "{table}" ({columns}) VALUES %s {on_conflict}', values, page_size=1000)
    else:
        marks = ", ".join("?" for _ in fields)
        cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks}) {on_conflict}', values)


def get_state(address: str) -> AddressState | None:
    row = Address.get_or_none(Address.address == address)
    return _to_state(row) if row else None


def save_states(states: Iterable[AddressState]) -> None:
    """Upsert address states (insert new, overwrite known)."""
    names = ("address", *_STATE_FIELDS, "soft_times")
    fields = [getattr(Address, name) for name in names]
    rows = [tuple(row[name] for name in names) for row in map(_to_row, states)]
    updates = ", ".join(f'"{name}" = excluded."{name}"' for name in names[1:])
    bulk_insert(Address, fields, rows, on_conflict=f'ON CONFLICT ("address") DO UPDATE SET {updates}')


def known_fingerprints(fingerprints: Iterable[str]) -> dict[str, str]:
    """fingerprint → recorded outcome, for the fingerprints already processed."""
    wanted = sorted(set(fingerprints))
    found: dict[str, str] = {}
    for chunk in _chunks(wanted, 500):
        query = ProcessedMessage.select(
            ProcessedMessage.fingerprint, ProcessedMessage.outcome
        ).where(ProcessedMessage.fingerprint.in_(list(chunk)))
        found.update((row.fingerprint, row.outcome) for row in query)
    return found


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One record of a message, as it will be stored."""

    address: str  # normalised, or as sent when it is not a valid address
    record: BounceRecord
    bounce_class: str
    counted: bool
    sender_side: bool


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message (or a sending service's report) to record for the first time, with what it said."""

    fingerprint: str
    uid: int
    outcome: str
    kind: str
    original_message_id: str
    events: tuple[NewEvent, ...]
    provider: str = ""  # a sending service's report: the provider, e.g. "ses" or "api:crm"
    event_id: str = ""  # ...and its own id for the report
    at: datetime | None = None  # when the report says it happened (None: when recorded)


_EVENT_FIELDS = (
    Event.message,
    Event.address,
    Event.at,
    Event.bounce_class,
    Event.status,
    Event.reply_code,
    Event.reason,
    Event.action,
    Event.diagnostic,
    Event.remote_mta,
    Event.feedback_type,
    Event.domain,
    Event.original_message_id,
    Event.counted,
    Event.sender_side,
)
_MESSAGE_FIELDS = (
    ProcessedMessage.fingerprint,
    ProcessedMessage.mailbox,
    ProcessedMessage.folder,
    ProcessedMessage.uidvalidity,
    ProcessedMessage.uid,
    ProcessedMessage.outcome,
    ProcessedMessage.kind,
    ProcessedMessage.original_message_id,
    ProcessedMessage.processed_at,
    ProcessedMessage.provider,
    ProcessedMessage.event_id,
    ProcessedMessage.counted_addresses,
)


def record_messages(messages: Sequence[NewMessage], mailbox: str, folder: str, uidvalidity: int, at: datetime) -> None:
    """Insert processed messages and their events in bulk (inside the caller's transaction).

    A sending service's reports come with mailbox and folder "" and uidvalidity 0; their events
    are dated by the report (`NewMessage.at`), the row by `at`, when it was recorded.
    """
    message_rows = [
        (
            m.fingerprint, mailbox, folder, uidvalidity, m.uid, m.outcome, m.kind, m.original_message_id[:998], at,
            m.provider[:64], m.event_id[:255], counted_addresses(m) if m.original_message_id else "",
        )
        for m in messages
    ]
    bulk_insert(ProcessedMessage, _MESSAGE_FIELDS, message_rows)
    ids: dict[str, int] = {}
    for chunk in _chunks([m.fingerprint for m in messages], 500):
        query = ProcessedMessage.select(ProcessedMessage.id, ProcessedMessage.fingerprint).where(
            ProcessedMessage.fingerprint.in_(list(chunk))
        )
        ids.update((fingerprint, row_id) for row_id, fingerprint in query.tuples())
    event_rows = [
        (
            ids[m.fingerprint],
            e.address[:320],
            m.at or at,
            e.bounce_class,
            e.record.status[:16],
            e.record.reply_code[:8],
            e.record.reason[:64],
            e.record.action[:16],
            e.record.diagnostic,
            e.record.remote_mta[:255],
            e.record.feedback_type[:64],
            e.address.rpartition("@")[2][:255],
            m.original_message_id[:998],
            e.counted,
            e.sender_side,
        )
        for m in messages
        for e in m.events
    ]
    bulk_insert(Event, _EVENT_FIELDS, event_rows)


def counted_addresses(message: NewMessage) -> str:
    """The addresses a message counted, as its row keeps them (see ProcessedMessage)."""
    return "\n".join(sorted({
        e.address[:320] for e in message.events if e.counted and e.bounce_class in COUNTING_CLASSES
    }))


def get_cursor(mailbox: str, folder: str) -> tuple[int, int] | None:
    """(uidvalidity, last processed UID) of a folder, or None before its first cycle."""
    row = FolderCursor.get_or_none(
        (FolderCursor.mailbox == mailbox) & (FolderCursor.folder == folder)
    )
    return (row.uidvalidity, row.last_uid) if row else None


def set_cursor(mailbox: str, folder: str, uidvalidity: int, last_uid: int) -> None:
    FolderCursor.insert(
        mailbox=mailbox, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid
    ).on_conflict(
        conflict_target=[FolderCursor.mailbox, FolderCursor.folder],
        update={FolderCursor.uidvalidity: uidvalidity, FolderCursor.last_uid: last_uid},
    ).execute()


def add_pending_moves(mailbox: str, folder: str, uidvalidity: int, moves: Iterable[tuple[int, str]]) -> None:
    fields = (PendingMove.mailbox, PendingMove.folder, PendingMove.uidvalidity, PendingMove.uid, PendingMove.outcome)
    rows = [(mailbox, folder, uidvalidity, uid, outcome) for uid, outcome in moves]
    bulk_insert(PendingMove, fields, rows, on_conflict="ON CONFLICT DO NOTHING")


def pending_moves(mailbox: str, folder: str) -> list[tuple[int, int, str]]:
    """(uidvalidity, uid, outcome) of the moves owed in a folder."""
    query = PendingMove.select().where(
        (PendingMove.mailbox == mailbox) & (PendingMove.folder == folder)
    ).order_by(PendingMove.uid)
    return [(row.uidvalidity, row.uid, row.outcome) for row in query]


def clear_pending_moves(mailbox: str, folder: str, uidvalidity: int, uids: Sequence[int]) -> None:
    for chunk in _chunks(list(uids), 500):
        PendingMove.delete().where(
            (PendingMove.mailbox == mailbox)
            & (PendingMove.folder == folder)
            & (PendingMove.uidvalidity == uidvalidity)
            & (PendingMove.uid.in_(list(chunk)))
        ).execute()


def drop_stale_pending_moves(mailbox: str, folder: str, uidvalidity: int) -> int:
    """Forget moves owed under an older UIDVALIDITY; those messages come back as re-seen ones."""
    return (
        PendingMove.delete()
        .where(
            (PendingMove.mailbox == mailbox)
            & (PendingMove.folder == folder)
            & (PendingMove.uidvalidity != uidvalidity)
        )
        .execute()
    )


def blocked_addresses() -> Iterator[str]:
    """Every blocked address, sorted, streamed."""
    query = (
        Address.select(Address.address)
        .where(Address.blocked == True)  # noqa: E712 (peewee expression)
        .order_by(Address.address)
        .tuples()
    )
    for (address,) in query.iterator():
        yield address


def count_blocked() -> int:
    return Address.select().where(Address.blocked == True).count()  # noqa: E712


BLOCKED_ROW_FIELDS = (
    "address", "manual", "blocked_reason", "last_class", "last_status",
    "first_bounce", "last_bounce", "blocked_at", "bounces",
)


def blocked_rows(page: int = 2000) -> Iterator[tuple]:
    """Every blocked address as a tuple of BLOCKED_ROW_FIELDS, in byte order of the address,
    streamed in bounded memory: SQLite's cursor through `.iterator()`, PostgreSQL's through a
    server-side cursor in a read transaction (psycopg2 would otherwise fetch every row at once).
    """
    columns = [getattr(Address, name) for name in BLOCKED_ROW_FIELDS]
    blocked = Address.blocked == True  # noqa: E712 (peewee expression)
    db = database_proxy.obj
    if not isinstance(db, peewee.PostgresqlDatabase):
        # Raw rows: peewee's per-value conversion cost more than the query. Times come as
        # SQLite's stored UTC text, which publish/outputs.py reads as such.
        sql, params = Address.select(*columns).where(blocked).order_by(Address.address).sql()
        yield from db.execute_sql(sql, params)
        return
    # COLLATE "C": byte order, the order Python's sorted() and SQLite give.
    query = Address.select(*columns).where(blocked).order_by(Address.address.collate('"C"'))
    sql, params = query.sql()
    with db.atomic():
        cursor = db.connection().cursor(name=f"bw_blocked_{uuid.uuid4().hex}", withhold=True)
        cursor.itersize = page
        try:
            cursor.execute(sql, params)
            yield from cursor
        finally:
            cursor.close()


def recent_events(address: str, limit: int = 10) -> list[Event]:
    return list(
        Event.select(Event, ProcessedMessage)
        .join(ProcessedMessage)
        .where(Event.address == address)
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(limit)
    )


def audit_entries(address: str) -> list[Audit]:
    return list(Audit.select().where(Audit.address == address).order_by(Audit.at, Audit.id))


def write_audit(address: str, action: str, reason: str, actor: str | None, at: datetime) -> None:
    Audit.create(at=at, address=address, action=action, actor=actor or default_actor(), reason=reason)


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# -- ledger queries (v2) ----------------------------------------------------------------------

COUNTING_CLASSES = ("hard", "soft", "complaint")


def counted_before(pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Of (original Message-ID, address) pairs, those an earlier report already counted.

    Read from the message rows, which outlive their events (see [retention]).
    """
    wanted = {pair for pair in pairs if pair[0]}
    by_stored_id: dict[str, list[str]] = {}
    for omid, _address in wanted:
        by_stored_id.setdefault(omid[:998], []).append(omid)
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(sorted(by_stored_id), 500):
        query = (
            ProcessedMessage.select(ProcessedMessage.original_message_id, ProcessedMessage.counted_addresses)
            .where(ProcessedMessage.original_message_id.in_(list(chunk)) & (ProcessedMessage.counted_addresses != ""))
            .tuples()
        )
        for stored_id, addresses in query:
            for address in addresses.split("\n"):
                for omid in by_stored_id[stored_id]:
                    if (omid, address) in wanted:
                        found.add((omid, address))
    return found


def sender_side_rejections(domain: str, since: datetime) -> dict[str, int]:
    """reason → how many sender-side rejections `domain` gave since `since`."""
    query = (
        Event.select(Event.reason, peewee.fn.COUNT(Event.id))
        .where((Event.domain == domain) & Event.sender_side & (Event.at >= since))
        .group_by(Event.reason)
        .tuples()
    )
    return dict(query)


def open_alert(domain: str, since: datetime) -> SenderAlert | None:
    """The alert raised for `domain` that is still running (last seen since `since`)."""
    return (
        SenderAlert.select()
        .where((SenderAlert.domain == domain) & (SenderAlert.last_at >= since))
        .order_by(SenderAlert.raised_at.desc())
        .first()
    )


def save_alert(alert: SenderAlert | None, domain: str, at: datetime, by_reason: dict[str, int]) -> SenderAlert:
    reasons = ", ".join(f"{reason or 'unknown'} {n}" for reason, n in sorted(by_reason.items(), key=lambda kv: -kv[1]))
    total = sum(by_reason.values())
    if alert is None:
        return SenderAlert.create(domain=domain, raised_at=at, last_at=at, rejections=total, reasons=reasons)
    alert.last_at, alert.rejections, alert.reasons = at, total, reasons
    alert.save()
    return alert


def alerts_since(since: datetime) -> list[SenderAlert]:
    return list(SenderAlert.select().where(SenderAlert.last_at >= since).order_by(SenderAlert.raised_at))


def record_deliveries(addresses: Sequence[str], at: datetime) -> int:
    """Reset the soft streak of every known address in `addresses`; return how many were known."""
    known = 0
    for chunk in _chunks(list(addresses), 500):
        known += (
            Address.update(soft_count=0, soft_times="", last_success=at)
            .where(Address.address.in_(list(chunk)))
            .execute()
        )
    return known


def history(address: str) -> list[Event]:
    """Every bounce event of an address, oldest first, with its message."""
    return list(
        Event.select(Event, ProcessedMessage)
        .join(ProcessedMessage)
        .where(Event.address == address)
        .order_by(Event.at, Event.id)
    )


def iter_addresses(blocked: bool | None = None, soft: bool = False) -> Iterator[AddressState]:
    """Address states, sorted, streamed: all, only blocked/unblocked, or only those with soft bounces."""
    query = Address.select().order_by(Address.address)
    if blocked is not None:
        query = query.where(Address.blocked == blocked)
    if soft:
        query = query.where(Address.soft_count > 0)
    for row in query.iterator():
        yield _to_state(row)


def class_reason_counts(since: datetime) -> list[tuple[str, str, int]]:
    """(class, reason, count) of events since `since`, most frequent first."""
    count = peewee.fn.COUNT(Event.id)
    return list(
        Event.select(Event.bounce_class, Event.reason, count)
        .where(Event.at >= since)
        .group_by(Event.bounce_class, Event.reason)
        .order_by(count.desc())
        .tuples()
    )


def top_domains(since: datetime, limit: int = 10) -> list[tuple[str, int]]:
    count = peewee.fn.COUNT(Event.id)
    return list(
        Event.select(Event.domain, count)
        .where((Event.at >= since) & (Event.bounce_class != "ignore"))
        .group_by(Event.domain)
        .order_by(count.desc(), Event.domain)
        .limit(limit)
        .tuples()
    )
