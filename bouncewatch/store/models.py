"""The tables (peewee models), the connection and the schema: create it, or upgrade it in place.

Tables: addresses (the ledger state of each address), processed messages (a fingerprint per
message, so none counts twice; also one row per event a sending service reported, keyed by the
service's event id), bounce events, folder cursors, moves still owed, sender-side alerts, the
audit trail of manual actions, console sign-in sessions, the webhook outbox, and the replay
guard of signed provider requests; `meta` holds the schema version.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import peewee

from .connect import Timeouts, is_sqlite, postgres_database, sqlite_database, sqlite_file, sqlite_path, where

SCHEMA_VERSION = 8
database_proxy = peewee.DatabaseProxy()
DatabaseError = peewee.PeeweeException  # what the layers above catch: locked, unreachable, restarted
DatabaseProxy = peewee.DatabaseProxy
# sqlite3's own: bulk_insert runs the driver's cursor directly (no peewee wrapper around it).
DATABASE_FAULTS: tuple[type[BaseException], ...] = (peewee.PeeweeException, sqlite3.Error)
try:
    import psycopg2

    DATABASE_FAULTS += (psycopg2.Error,)  # from the lease connection, which is psycopg2's own
except ImportError:  # SQLite-only installs
    pass
SCHEMA_LOCK_KEY = 0x62775F736368656D  # "bw_schem": the advisory lock around schema changes


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class _Model(peewee.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class Meta(_Model):
    key = peewee.CharField(primary_key=True, max_length=64)
    value = peewee.TextField()


class Address(_Model):
    address = peewee.CharField(primary_key=True, max_length=320)
    blocked = peewee.BooleanField(default=False)  # indexes: partial, on the blocked rows (steps 3, 8)
    blocked_reason = peewee.TextField(default="")
    blocked_at = peewee.DateTimeField(null=True)
    soft_count = peewee.IntegerField(default=0)
    last_class = peewee.CharField(default="", max_length=16)
    last_reason = peewee.CharField(default="", max_length=64)
    last_status = peewee.CharField(default="", max_length=16)
    first_bounce = peewee.DateTimeField(null=True)
    last_bounce = peewee.DateTimeField(null=True)
    bounces = peewee.IntegerField(default=0)
    manual = peewee.BooleanField(default=False)
    soft_times = peewee.TextField(default="")  # ISO times of the counted soft streak, comma-joined
    last_success = peewee.DateTimeField(null=True)


class ProcessedMessage(_Model):
    fingerprint = peewee.CharField(unique=True, max_length=64)
    mailbox = peewee.CharField(max_length=128)
    folder = peewee.CharField(max_length=512)
    uidvalidity = peewee.BigIntegerField()
    uid = peewee.BigIntegerField()
    outcome = peewee.CharField(max_length=16)
    kind = peewee.CharField(default="", max_length=32)
    original_message_id = peewee.CharField(default="", max_length=998, index=True)
    processed_at = peewee.DateTimeField(index=True)  # v5: the index finds the rows past retention
    # v4: a report from a sending service rather than a mailbox: the provider ("ses", "mailgun",
    # "api:crm", ...) and its own event id (the fingerprint is a hash of both); "" for mail.
    provider = peewee.CharField(default="", max_length=64)
    event_id = peewee.CharField(default="", max_length=255)
    # v5: the addresses this message counted, newline-joined (an address in the ledger's
    # spelling never holds a newline): a later report about the same original message and
    # recipient is then a repeat for as long as this row is kept, after its events are gone.
    counted_addresses = peewee.TextField(default="")


class Event(_Model):
    message = peewee.ForeignKeyField(ProcessedMessage, backref="events", on_delete="CASCADE")
    address = peewee.CharField(max_length=320, index=True)
    at = peewee.DateTimeField()
    bounce_class = peewee.CharField(max_length=16)
    status = peewee.CharField(default="", max_length=16)
    reply_code = peewee.CharField(default="", max_length=8)
    reason = peewee.CharField(default="", max_length=64)
    action = peewee.CharField(default="", max_length=16)
    diagnostic = peewee.TextField(default="")
    remote_mta = peewee.CharField(default="", max_length=255)
    feedback_type = peewee.CharField(default="", max_length=64)
    # v2
    domain = peewee.CharField(default="", max_length=255)
    original_message_id = peewee.CharField(default="", max_length=998)
    counted = peewee.BooleanField(default=True)  # False: a repeat, sender-side, or invalid address
    sender_side = peewee.BooleanField(default=False)
    # step 8: an index on (domain, at) of the sender-side events only (the alerts' window)


class FolderCursor(_Model):
    mailbox = peewee.CharField(max_length=128)
    folder = peewee.CharField(max_length=512)
    uidvalidity = peewee.BigIntegerField()
    last_uid = peewee.BigIntegerField(default=0)

    class Meta:
        indexes = ((("mailbox", "folder"), True),)


class PendingMove(_Model):
    mailbox = peewee.CharField(max_length=128)
    folder = peewee.CharField(max_length=512)
    uidvalidity = peewee.BigIntegerField()
    uid = peewee.BigIntegerField()
    outcome = peewee.CharField(max_length=16)

    class Meta:
        indexes = ((("mailbox", "folder", "uidvalidity", "uid"), True),)


class SenderAlert(_Model):
    """A receiving domain rejecting us for sender-side reasons past the threshold in a window."""

    domain = peewee.CharField(max_length=255, index=True)
    raised_at = peewee.DateTimeField()
    last_at = peewee.DateTimeField()
    rejections = peewee.IntegerField()
    reasons = peewee.TextField(default="")  # e.g. "policyviolation 31, blocked 9"


class Audit(_Model):
    at = peewee.DateTimeField()
    address = peewee.CharField(max_length=320, index=True)
    action = peewee.CharField(max_length=16)  # block | unblock
    actor = peewee.CharField(max_length=128)
    reason = peewee.TextField()


class WebhookDelivery(_Model):
    """One event owed to one webhook receiver (the outbox), written with the ledger change."""

    event_id = peewee.CharField(max_length=64)  # the payload's "id": the same on every attempt
    url = peewee.CharField(max_length=2048)
    event = peewee.CharField(max_length=16)  # blocked | unblocked | sender_alert
    address = peewee.CharField(default="", max_length=320)
    body = peewee.TextField()  # the exact JSON sent on every attempt
    created_at = peewee.DateTimeField()
    next_attempt_at = peewee.DateTimeField()
    attempts = peewee.IntegerField(default=0)
    state = peewee.CharField(default="pending", max_length=16)  # pending | failed (gave up)
    last_error = peewee.TextField(default="")

    class Meta:
        indexes = (
            (("event_id", "url"), True),
            (("state", "next_attempt_at"), False),
        )


class ReplayGuard(_Model):
    """Single-use values of signed requests (Mailgun's token), kept while a replay could pass."""

    key = peewee.CharField(primary_key=True, max_length=200)
    seen_at = peewee.DateTimeField(index=True)


class ConsoleSession(_Model):
    """A console sign-in (store/console_sessions.py): the sha256 of the cookie's token, never the token."""

    token_hash = peewee.CharField(primary_key=True, max_length=64)
    user = peewee.CharField(max_length=64, index=True)
    credential = peewee.CharField(max_length=64)  # fingerprint of the user's password hash at sign-in
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField(index=True)


MODELS: tuple[type[_Model], ...] = (
    Meta,
    Address,
    ProcessedMessage,
    Event,
    FolderCursor,
    PendingMove,
    SenderAlert,
    Audit,
    WebhookDelivery,
    ReplayGuard,
    ConsoleSession,
)
class StateMissing(Exception):
    """The database holds no state where state is expected: gone, emptied, truncated, replaced.

    Raised instead of creating a schema that would silently replace what was lost; the message
    is one line that says what to restore.
    """


# Called with what is wrong ("/var/lib/bouncewatch/state.db does not exist") when the database
# has no schema; it raises StateMissing to refuse, or returns to let the schema be created.
OnMissing = Callable[[str], None]


def open_database(url: str, *, timeouts: Timeouts = Timeouts(), on_missing: OnMissing | None = None) -> peewee.Database:
    """Connect to the URL's database, bind the models, upgrade an older schema in place.

    A database without a schema gets one only when `on_missing` (given what is wrong) returns;
    without `on_missing` it always does (a first start). An SQLite file truncated to 0 bytes
    beside its write-ahead log is never taken for an empty database.
    """
    missing = _sqlite_missing(url) if is_sqlite(url) else None
    if missing is not None and on_missing is not None:
        on_missing(missing)
    if is_sqlite(url):
        db: peewee.Database = sqlite_database(url, timeouts, may_create=missing is not None)
    else:
        db = postgres_database(url, timeouts)
    database_proxy.initialize(db)
    db.connect(reuse_if_open=True)
    with db.atomic():
        if isinstance(db, peewee.PostgresqlDatabase):
            # Several instances may start at once (HA): one creates or upgrades, the others
            # wait here, then see the schema done. Released at commit.
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        if not db.table_exists(Meta._meta.table_name):
            if missing is None and on_missing is not None:
                on_missing(f"{where(url)} has no bouncewatch tables")
            create_schema(db)
        else:
            upgrade_schema(db)
    if missing is not None:  # made now: from here on, opened like any existing file (never created)
        db.close()
        db = sqlite_database(url, timeouts, may_create=False)
        database_proxy.initialize(db)
        db.connect()
    return db


def where_open() -> str:
    """The open database, for a person: its file, or user@host:port/name (never a password)."""
    db = database_proxy.obj
    if db is None:
        return "(no database open)"
    if isinstance(db, peewee.SqliteDatabase):
        return str(sqlite_file(db) or ":memory:")
    params = getattr(db, "connect_params", {})
    user = f"{params['user']}@" if params.get("user") else ""
    return f"{user}{params.get('host', 'localhost')}:{params.get('port', 5432)}/{db.database}"


def fault_text(exc: BaseException, url: str | None = None) -> str:
    """A database error as one line naming the database (`url`'s, else the open one's), with a
    hint when an SQLite file's disk is full (SQLite may only say "disk I/O error")."""
    cause = exc
    # A failed rollback after a lost connection hides the loss: tell the loss.
    while "connection already closed" in str(cause) and cause.__context__ is not None:
        cause = cause.__context__
    name = where(url) if url else where_open()
    text = " ".join(str(cause).split()) or type(cause).__name__
    if not name.startswith(("(", "file:")) and "@" not in name and ":" not in name.split("/", 1)[0]:
        try:
            if os.statvfs(Path(name).parent).f_bavail == 0:
                text += "; the disk holding it is full"
        except OSError:
            pass
    return f"database {name}: {text}"


def _sqlite_missing(url: str) -> str | None:
    """What is wrong with an SQLite file that holds no database (None: it has content)."""
    path = sqlite_path(url)
    if path is None:
        return None
    wal = path.with_name(path.name + "-wal")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        left = f" (its write-ahead log {wal.name} is still there)" if wal.exists() else ""
        return f"{path} does not exist{left}"
    if size:
        return None
    if wal.exists() and wal.stat().st_size:
        # SQLite would report "database is locked" (or replay the log into an empty file).
        raise StateMissing(
            f"the database {path} was truncated to 0 bytes ({wal.name} beside it still holds "
            "writes); restore it from a backup"
        )
    return f"{path} is an empty file (0 bytes)"


def create_schema(db: peewee.Database) -> None:
    """Create every table and index on an empty database, with a new state id.

    The one place a schema is made: `open_database` calls it only where nothing is lost (a
    first start, `bouncewatch init`), after setting what must precede the first table.
    """
    from .migrations import ON_CREATE  # indexes the models cannot declare

    db.create_tables(MODELS)
    for step in ON_CREATE:
        step(db)
    Meta.create(key="schema_version", value=str(SCHEMA_VERSION))
    Meta.create(key=STATE_ID_KEY, value=uuid.uuid4().hex)


STATE_ID_KEY = "state_id"  # names this state, so a marker beside the outputs can recognise it


def state_id() -> str | None:
    """The id of the state in the open database (None: made before state ids, or no schema)."""
    row = Meta.get_or_none(Meta.key == STATE_ID_KEY)
    return row.value if row else None


def set_state_id(value: str) -> None:
    Meta.insert(key=STATE_ID_KEY, value=value).on_conflict(
        conflict_target=[Meta.key], update={Meta.value: value}
    ).execute()


def upgrade_schema(db: peewee.Database) -> None:
    """Create the schema on an empty database, or upgrade an older one in place."""
    from .migrations import STEPS  # the versioned steps live beside the models

    if not db.table_exists(Meta._meta.table_name):
        create_schema(db)
        return
    row = Meta.get_or_none(Meta.key == "schema_version")
    version = int(row.value) if row else 1
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"the database has schema version {version}, newer than this bouncewatch "
            f"({SCHEMA_VERSION}); upgrade bouncewatch"
        )
    if version == SCHEMA_VERSION:
        return
    for target in range(version + 1, SCHEMA_VERSION + 1):
        STEPS[target](db)
    db.create_tables(MODELS, safe=True)  # tables added since, with their indexes
    Meta.insert(key="schema_version", value=str(SCHEMA_VERSION)).on_conflict(
        conflict_target=[Meta.key], update={Meta.value: str(SCHEMA_VERSION)}
    ).execute()


def write_transaction():
    """A transaction that reads, then writes: on SQLite it takes the write lock at BEGIN
    (IMMEDIATE), so it waits for another writer (busy_timeout) instead of failing with
    "database is locked" when that writer commits between its read and its first write."""
    db = database_proxy.obj
    if isinstance(db, peewee.SqliteDatabase):
        return db.atomic("IMMEDIATE")
    return database_proxy.atomic()


def schema_version() -> int:
    row = Meta.get_or_none(Meta.key == "schema_version")
    return int(row.value) if row else 0


def close_database() -> None:
    db = database_proxy.obj
    if db is not None and not db.is_closed():
        db.close()
