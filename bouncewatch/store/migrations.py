"""Versioned schema steps for the store: STEPS[n] upgrades a database from version n-1 to n.

Each step only adds (columns, indexes); new tables are created by the store after the steps.
A step runs inside the store's upgrade transaction, so a failed upgrade leaves the old schema.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee
from playhouse.migrate import SchemaMigrator, migrate


def _v2(db: peewee.Database) -> None:
    """Soft-bounce window and success time on addresses; dedup and sender-side data on events."""
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("address", "soft_times", peewee.TextField(default="")),
        migrator.add_column("address", "last_success", peewee.DateTimeField(null=True)),
        migrator.add_column("event", "domain", peewee.CharField(default="", max_length=255)),
        migrator.add_column("event", "original_message_id", peewee.CharField(default="", max_length=998)),
        migrator.add_column("event", "counted", peewee.BooleanField(default=True)),
        migrator.add_column("event", "sender_side", peewee.BooleanField(default=False)),
        migrator.add_index("event", ("original_message_id", "address"), False),
        migrator.add_index("event", ("domain", "sender_side", "at"), False),
    )
    # Fill what v1 knew: the domain of each event and its message's original Message-ID.
    position = "instr(address, '@')" if isinstance(db, peewee.SqliteDatabase) else "strpos(address, '@')"
    db.execute_sql(f"UPDATE event SET domain = substr(address, {position} + 1)")
    db.execute_sql(
        "UPDATE event SET original_message_id = (SELECT p.original_message_id "
        "FROM processed_message p WHERE p.id = event.message_id)"
    )


def domain_sql(db: peewee.Database) -> str:
    """The domain of `address` as SQL, as the v3 index writes it (literals, no parameters, so a
    query written with it matches the index expression): the text after the first "@"."""
    if isinstance(db, peewee.PostgresqlDatabase):
        return "substr(address, strpos(address, '@') + 1)"
    return "substr(address, instr(address, '@') + 1)"


def _v3(db: peewee.Database) -> None:
    """Indexes for the console's blocked list (keyset paging over (blocked, address), the
    reason and domain filters in address order) and its bounces-per-day chart (event.at).
    IF NOT EXISTS: also run on a fresh database (ON_CREATE), where the models made the tables."""
    statements = (
        'CREATE INDEX IF NOT EXISTS address_blocked_address ON address (blocked, address)',
        'CREATE INDEX IF NOT EXISTS address_blocked_reason_address ON address (blocked, last_reason, address)',
        f'CREATE INDEX IF NOT EXISTS address_blocked_domain_address ON address (blocked, ({domain_sql(db)}), address)',
        'CREATE INDEX IF NOT EXISTS event_at ON event ("at")',
    )
    for statement in statements:
        db.execute_sql(statement)


def _v4(db: peewee.Database) -> None:
    """Provider events: the provider and its event id on processed messages. (The webhook
    outbox and the replay guard are new tables, created after the steps.)

    Plain ADD COLUMN with a constant default, on both databases: instant on a table of any
    size. (peewee's SQLite migrator would rebuild the table, and dropping the old copy would
    cascade into every event.)"""
    for statement in (
        "ALTER TABLE processed_message ADD COLUMN provider VARCHAR(64) NOT NULL DEFAULT ''",
        "ALTER TABLE processed_message ADD COLUMN event_id VARCHAR(255) NOT NULL DEFAULT ''",
    ):
        db.execute_sql(statement)


def _v5(db: peewee.Database) -> None:
    """Retention: the addresses each message counted move onto its row (so a repeat is still
    recognised once the events are pruned; the events' (original Message-ID, address) index
    goes), and an index on when a message was processed, to find the rows past retention."""
    # Plain ALTER TABLE, as in step 4 (the migrator's table copy would cascade into the events).
    db.execute_sql("ALTER TABLE processed_message ADD COLUMN counted_addresses TEXT NOT NULL DEFAULT ''")
    db.execute_sql("CREATE INDEX IF NOT EXISTS processed_message_processed_at ON processed_message (processed_at)")
    joined = (
        "string_agg(e.address, chr(10))" if isinstance(db, peewee.PostgresqlDatabase) else "group_concat(e.address, char(10))"
    )
    db.execute_sql(
        f"UPDATE processed_message SET counted_addresses = COALESCE((SELECT {joined} FROM event e "
        "WHERE e.message_id = processed_message.id AND e.counted AND e.bounce_class IN ('hard', 'soft', 'complaint')), '') "
        "WHERE original_message_id != ''"
    )
    db.execute_sql("DROP INDEX IF EXISTS event_original_message_id_address")


def _v6(db: peewee.Database) -> None:
    """Console sessions kept server-side: a new table (console_session), created after the steps."""


STEPS: dict[int, Callable[[peewee.Database], None]] = {2: _v2, 3: _v3, 4: _v4, 5: _v5, 6: _v6}
ON_CREATE: tuple[Callable[[peewee.Database], None], ...] = (_v3,)  # steps whose work create_tables misses
