"""The tables (peewee models), the connection and the schema: create it, or upgrade it in place.

Tables: addresses (the ledger state of each address), processed messages (a fingerprint per
message, so none counts twice; also one row per event a sending service reported, keyed by the
service's event id), bounce events, folder cursors, moves still owed, sender-side alerts, the
audit trail of manual actions, console sign-in sessions, the webhook outbox, and the replay
guard of signed provider requests; `meta` holds the schema version.
"""

from __future__ import annotations

from datetime import datetime, timezone

import peewee
from playhouse.db_url import connect

SCHEMA_VERSION = 7
database_proxy = peewee.DatabaseProxy()
DatabaseError = peewee.PeeweeException  # what the layers above catch: locked, unreachable, restarted
DatabaseProxy = peewee.DatabaseProxy
DATABASE_FAULTS: tuple[type[BaseException], ...] = (peewee.PeeweeException,)
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
    blocked = peewee.BooleanField(default=False, index=True)
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

    class Meta:
        indexes = ((("domain", "sender_side", "at"), False),)


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
def open_database(url: str) -> peewee.Database:
    """Connect to the URL's database, create or upgrade the schema, bind the models."""
    if url.startswith("sqlite"):
        db = connect(
            url,
            pragmas={
                # Takes effect only on a file without tables (a new one) or at the next VACUUM:
                # pages freed by pruning can then be handed back to the file system in steps.
                "auto_vacuum": "incremental",
                "journal_mode": "wal",
                "synchronous": "full",
                "foreign_keys": 1,
                "busy_timeout": 10000,
            },
        )
    else:
        db = connect(url)
    database_proxy.initialize(db)
    db.connect(reuse_if_open=True)
    with db.atomic():
        if isinstance(db, peewee.PostgresqlDatabase):
            # Several instances may start at once (HA): one creates or upgrades, the others
            # wait here, then see the schema done. Released at commit.
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        upgrade_schema(db)
    return db


def upgrade_schema(db: peewee.Database) -> None:
    """Create the schema on an empty database, or upgrade an older one in place."""
    from .migrations import STEPS  # the versioned steps live beside the models

    if not db.table_exists(Meta._meta.table_name):
        db.create_tables(MODELS)
        from .migrations import ON_CREATE  # indexes the models cannot declare

        for step in ON_CREATE:
            step(db)
        Meta.create(key="schema_version", value=str(SCHEMA_VERSION))
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
