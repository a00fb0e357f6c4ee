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



_FORMATS = ("text", "csv", "json", "postfix")  # store/blocklist_index.FORMATS, as of this step
_SQLITE_BLOCKLIST_INDEX = (
    *(f"CREATE TABLE IF NOT EXISTS blocklist_{f} (address TEXT NOT NULL PRIMARY KEY, line TEXT NOT NULL) "
      "WITHOUT ROWID" for f in _FORMATS),
    "CREATE TABLE IF NOT EXISTS blocklist_change (id INTEGER NOT NULL PRIMARY KEY, address TEXT NOT NULL)",
    # An upsert's DO UPDATE fires the update trigger, its insert the insert trigger.
    "CREATE TRIGGER IF NOT EXISTS address_blocklist_insert AFTER INSERT ON address WHEN new.blocked BEGIN "
    "INSERT INTO blocklist_change (address) VALUES (new.address); "
    "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'blocklist_generation'; END",
    "CREATE TRIGGER IF NOT EXISTS address_blocklist_update AFTER UPDATE ON address WHEN old.blocked OR new.blocked "
    "BEGIN INSERT INTO blocklist_change (address) VALUES (new.address); "
    "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'blocklist_generation' "
    "AND old.blocked IS NOT new.blocked; END",
    "CREATE TRIGGER IF NOT EXISTS address_blocklist_delete AFTER DELETE ON address WHEN old.blocked BEGIN "
    "INSERT INTO blocklist_change (address) VALUES (old.address); "
    "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'blocklist_generation'; END",
)
_POSTGRES_BLOCKLIST_INDEX = (
    *(f'CREATE TABLE IF NOT EXISTS blocklist_{f} (address VARCHAR(320) COLLATE "C" NOT NULL PRIMARY KEY, '
      "line TEXT NOT NULL)" for f in _FORMATS),
    "CREATE TABLE IF NOT EXISTS blocklist_change (id BIGSERIAL PRIMARY KEY, address VARCHAR(320) NOT NULL)",
    "CREATE OR REPLACE FUNCTION bw_blocklist_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'DELETE' THEN "
    "INSERT INTO blocklist_change (address) VALUES (OLD.address); "
    "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'blocklist_generation'; "
    "RETURN OLD; END IF; "
    "INSERT INTO blocklist_change (address) VALUES (NEW.address); "
    "IF TG_OP = 'INSERT' OR OLD.blocked IS DISTINCT FROM NEW.blocked THEN "
    "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'blocklist_generation'; END IF; "
    "RETURN NEW; END $$",
    "DROP TRIGGER IF EXISTS address_blocklist_insert ON address",
    "DROP TRIGGER IF EXISTS address_blocklist_update ON address",
    "DROP TRIGGER IF EXISTS address_blocklist_delete ON address",
    "CREATE TRIGGER address_blocklist_insert AFTER INSERT ON address FOR EACH ROW WHEN (NEW.blocked) "
    "EXECUTE FUNCTION bw_blocklist_changed()",
    "CREATE TRIGGER address_blocklist_update AFTER UPDATE ON address FOR EACH ROW "
    "WHEN (OLD.blocked OR NEW.blocked) EXECUTE FUNCTION bw_blocklist_changed()",
    "CREATE TRIGGER address_blocklist_delete AFTER DELETE ON address FOR EACH ROW WHEN (OLD.blocked) "
    "EXECUTE FUNCTION bw_blocklist_changed()",
)


def _v7(db: peewee.Database) -> None:
    """The blocklist index (store/blocklist_index.py): a table of rendered lines per output
    format, the change marks and generation the triggers on `address` keep. Every address blocked now
    is marked, so the first publish renders them all once."""
    postgres = isinstance(db, peewee.PostgresqlDatabase)
    for statement in _POSTGRES_BLOCKLIST_INDEX if postgres else _SQLITE_BLOCKLIST_INDEX:
        db.execute_sql(statement)
    db.execute_sql(
        "INSERT INTO meta (key, value) VALUES ('blocklist_generation', '0') ON CONFLICT (key) DO NOTHING"
    )
    db.execute_sql("INSERT INTO blocklist_change (address) SELECT address FROM address WHERE blocked")


def _v8(db: peewee.Database) -> None:
    """A cycle's cost on years of state: indexes that only the rows they serve pay for. The
    console's three indexes on `address` (step 3) and the count of blocked addresses cover the
    blocked rows only (a partial index: the other 90% of addresses, and every new one that is
    not blocked, no longer update them); the sender-side alerts' index covers the sender-side
    events only. Same names for the console's, so its queries and plans stay."""
    blocked = "blocked" if isinstance(db, peewee.PostgresqlDatabase) else "blocked = 1"  # as the queries say it
    for name in ("address_blocked", "address_blocked_address", "address_blocked_reason_address",
                 "address_blocked_domain_address", "event_domain_sender_side_at"):
        db.execute_sql(f"DROP INDEX IF EXISTS {name}")
    for statement in (
        f"CREATE INDEX IF NOT EXISTS address_blocked_address ON address (address) WHERE {blocked}",
        f"CREATE INDEX IF NOT EXISTS address_blocked_reason_address ON address (last_reason, address) WHERE {blocked}",
        f"CREATE INDEX IF NOT EXISTS address_blocked_domain_address ON address (({domain_sql(db)}), address) WHERE {blocked}",
        "CREATE INDEX IF NOT EXISTS event_sender_side_domain_at ON event (domain, at) WHERE sender_side",
    ):
        db.execute_sql(statement)


STEPS: dict[int, Callable[[peewee.Database], None]] = {2: _v2, 3: _v3, 4: _v4, 5: _v5, 6: _v6, 7: _v7, 8: _v8}
ON_CREATE: tuple[Callable[[peewee.Database], None], ...] = (_v3, _v7, _v8)  # steps whose work create_tables misses
