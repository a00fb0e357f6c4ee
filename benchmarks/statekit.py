"""Years of state for the benchmarks, written as rows (never as mail): fast seeding, the
publish of a million blocked addresses, and two years of bounces with and without retention.

Used by `pipeline.py --state`; each function takes a database URL (SQLite or PostgreSQL) whose
schema bouncewatch has made, and works on it through bouncewatch's own store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import peewee

from bouncewatch import store
from bouncewatch.records import AddressState

BASE = datetime(2025, 1, 1)
REASONS = ("hard: userunknown 5.1.1", "complaint: abuse", "5 consecutive soft bounces (last soft: mailboxfull 4.2.2)")


def _fields(model: type[peewee.Model]) -> list[peewee.Field]:
    return [f for f in model._meta.sorted_fields if not isinstance(f, peewee.AutoField)]


@contextmanager
def bulk_load(tables: tuple[str, ...]) -> Iterator[None]:
    """Load rows into `tables` fast: their secondary indexes and triggers are dropped before and
    made again after (a sorted build instead of millions of random inserts); SQLite also skips
    fsyncs meanwhile. Only for a benchmark's throwaway database."""
    db = store.database_proxy.obj
    postgres = isinstance(db, peewee.PostgresqlDatabase)
    names = ", ".join(f"'{t}'" for t in tables)
    if postgres:
        indexes = db.execute_sql(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ({names}) "
            "AND indexname NOT LIKE '%%_pkey'"
        ).fetchall()
        for name, _sql in indexes:
            db.execute_sql(f'DROP INDEX "{name}"')
        for table in tables:
            db.execute_sql(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        try:
            yield
        finally:
            for _name, sql in indexes:
                db.execute_sql(sql)
            for table in tables:
                db.execute_sql(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
                db.execute_sql(f'ANALYZE "{table}"')
        return
    kept = db.execute_sql(
        f"SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
        f"AND tbl_name IN ({names}) AND sql IS NOT NULL"
    ).fetchall()
    for kind, name, _sql in kept:
        db.execute_sql(f'DROP {kind.upper()} "{name}"')
    db.execute_sql("PRAGMA synchronous = OFF")
    try:
        yield
    finally:
        for _kind, _name, sql in kept:
            db.execute_sql(sql)
        db.execute_sql("PRAGMA synchronous = FULL")
        db.execute_sql("ANALYZE")


def mark_blocked_for_index() -> None:
    """After rows were loaded with the triggers off: mark every blocked address, as the schema
    step does on an upgrade, so the next refresh renders them into the blocklist index."""
    db = store.database_proxy.obj
    if db.table_exists("blocklist_change"):
        db.execute_sql("INSERT INTO blocklist_change (address) SELECT address FROM address WHERE blocked")


class Sql:
    """The few expressions the generated rows need, in the open database's dialect."""

    def __init__(self) -> None:
        self.postgres = isinstance(store.database_proxy.obj, peewee.PostgresqlDatabase)

    def series(self, first: int, last: int) -> str:
        """A FROM clause giving i = first..last."""
        if self.postgres:
            return f"generate_series({first}, {last}) AS s(i)"
        return f"(WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM s WHERE i < {last}) SELECT i FROM s)"

    def mod(self, a: str, b: int) -> str:
        return f"mod({a}, {b})" if self.postgres else f"(({a}) % {b})"

    def time(self, seconds: str, base: datetime = BASE) -> str:
        if self.postgres:
            return f"(timestamp '{base:%Y-%m-%d %H:%M:%S}' + ({seconds}) * interval '1 second')"
        return f"datetime('{base:%Y-%m-%d %H:%M:%S}', '+' || ({seconds}) || ' seconds')"

    def flag(self, condition: str) -> str:
        return f"({condition})" if self.postgres else f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    def true(self) -> str:
        return "true" if self.postgres else "1"

    def false(self) -> str:
        return "false" if self.postgres else "0"

    def random_hex(self) -> str:
        """64 random hex digits: a fingerprint (random, as real ones are, for the index's sake)."""
        if self.postgres:
            return "(md5(random()::text) || md5(random()::text))"
        return "lower(hex(randomblob(32)))"


def _columns(model: type[peewee.Model], values: dict[str, str]) -> tuple[str, str]:
    """(column list, expression list) for an INSERT ... SELECT: the expression given by name,
    else the field's default as a literal (so the same seeder fits older and newer schemas)."""
    names, expressions = [], []
    for field in _fields(model):
        names.append(f'"{field.column_name}"')
        if field.name in values:
            expressions.append(values[field.name])
            continue
        default = field.default() if callable(field.default) else field.default
        if default is None:
            expressions.append("NULL")
        elif isinstance(default, bool):
            expressions.append(Sql().true() if default else Sql().false())
        elif isinstance(default, (int, float)):
            expressions.append(str(default))
        else:
            expressions.append("'" + str(default).replace("'", "''") + "'")
    return ", ".join(names), ", ".join(expressions)


def insert_generated(model: type[peewee.Model], values: dict[str, str], count: int, chunk: int = 1_000_000) -> None:
    """INSERT ... SELECT `count` rows made by SQL expressions of i (0..count-1), in chunks."""
    sql = Sql()
    columns, expressions = _columns(model, values)
    for first in range(0, count, chunk):
        last = min(first + chunk, count) - 1
        with store.database_proxy.atomic():
            store.database_proxy.obj.execute_sql(
                f'INSERT INTO "{model._meta.table_name}" ({columns}) SELECT {expressions} FROM {sql.series(first, last)}'
            )


def seed_state(url: str, addresses: int, events: int) -> float:
    """Fill a fresh database with `addresses` address states (a tenth blocked) and `events`
    bounce events, one processed message per 10 events, as years of use would; the blocklist
    index is built too. The rows are made inside the database (INSERT ... SELECT over a
    series), so ten million take minutes, not an hour. Returns the seconds it took."""
    start = time.perf_counter()
    store.open_database(url)
    try:
        sql = Sql()
        with bulk_load(("address", "processed_message", "event")):
            insert_generated(store.Address, address_values(sql, "seed", blocked_every=10), addresses)
            insert_generated(store.ProcessedMessage, {
                "fingerprint": sql.random_hex(), "mailbox": "'seed'", "folder": "'INBOX'", "uidvalidity": "1",
                "uid": "i + 1", "outcome": "'Soft'", "kind": "'dsn'",
                "original_message_id": "'<seed-' || i || '@sender.example>'", "processed_at": sql.time("i"),
            }, max(1, events // 10))
            address = f"'seed' || {sql.mod('i', addresses)} || '@seed' || {sql.mod(sql.mod('i', addresses), 5000)} || '.example'"
            insert_generated(store.Event, {
                "message": "i / 10 + 1", "address": address, "at": sql.time("i"), "bounce_class": "'soft'",
                "status": "'5.2.2'", "reply_code": "'552'", "reason": "'mailboxfull'", "action": "'failed'",
                "diagnostic": "'552 5.2.2 mailbox full'", "remote_mta": "'mx.seed.example'",
                "domain": f"'seed' || {sql.mod(sql.mod('i', addresses), 5000)} || '.example'",
                "original_message_id": "'<seed-' || (i / 10) || '@sender.example>'",
                "counted": sql.true(), "sender_side": sql.false(),
            }, events)
        mark_blocked_for_index()
        _refresh_index()
    finally:
        store.close_database()
    return time.perf_counter() - start


def address_values(sql: Sql, prefix: str, blocked_every: int) -> dict[str, str]:
    """Address rows by i: `prefix`i@`prefix`(i mod 5000).example, one in `blocked_every` blocked."""
    blocked = f"{sql.mod('i', blocked_every)} = 0"
    return {
        "address": f"'{prefix}' || i || '@{prefix}' || {sql.mod('i', 5000)} || '.example'",
        "blocked": sql.flag(blocked),
        "blocked_reason": f"(CASE WHEN {blocked} THEN (CASE {sql.mod('i', 3)} WHEN 0 THEN '{REASONS[0]}' "
                          f"WHEN 1 THEN '{REASONS[1]}' ELSE '{REASONS[2]}' END) ELSE '' END)",
        "blocked_at": f"(CASE WHEN {blocked} THEN {sql.time('0')} END)",
        "soft_count": sql.mod("i", 4), "last_class": "'soft'", "last_reason": "'mailboxfull'",
        "last_status": "'5.2.2'", "first_bounce": sql.time("0"), "last_bounce": sql.time("i"),
        "bounces": f"1 + {sql.mod('i', 7)}", "manual": sql.false(),
    }


def _refresh_index() -> int:
    try:
        from bouncewatch.publish.outputs import refresh_index
    except ImportError:  # a bouncewatch from before the blocklist index
        return 0
    return refresh_index()


# -- publishing a million blocked addresses ---------------------------------------------------


def publish_times(url: str, directory: Path, rows: int, formats: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """Seed `rows` blocked addresses, then per format: seconds of the first publish (no file
    yet) and of a publish after one more address was blocked (the daemon's case)."""
    from bouncewatch.publish import outputs

    store.open_database(url)
    try:
        with bulk_load(("address",)):
            insert_generated(store.Address, address_values(Sql(), "pub", blocked_every=1), rows)
        mark_blocked_for_index()
        _refresh_index()
        times = {}
        for number, fmt in enumerate(formats):
            spec = outputs.OutputSpec(directory / f"published.{fmt}", fmt)
            started = time.perf_counter()
            outputs.publish_outputs([spec])
            first = time.perf_counter() - started
            with store.database_proxy.atomic():
                store.save_states([AddressState(
                    address=f"new{number}@pub.example", blocked=True, blocked_reason="hard: userunknown 5.1.1",
                    blocked_at=BASE, last_class="hard")])
            started = time.perf_counter()
            outputs.publish_outputs([spec])
            times[fmt] = (first, time.perf_counter() - started)
            spec.path.unlink()
        return times
    finally:
        store.close_database()


# -- two years of bounces ----------------------------------------------------------------------


def _simulate_day(sql: Sql, day: int, per_day: int, pool: int) -> None:
    """One day's `per_day` bounces as the pipeline records them: a message row and an event
    each (three in ten hard), and the address states they leave; made inside the database."""
    db = store.database_proxy.obj
    before = db.execute_sql("SELECT COALESCE(MAX(id), 0) FROM processed_message").fetchone()[0]
    seq = f"({day * per_day} + i)"
    number = sql.mod(f"{seq} * 2654435761", pool)  # which address of the pool, spread
    address = f"'user' || {number} || '@example' || {sql.mod(number, 997)} || '.com'"
    hard = f"{sql.mod(seq, 10)} < 3"
    insert_generated(store.ProcessedMessage, {
        "fingerprint": sql.random_hex(), "mailbox": "'bounces'", "folder": "'INBOX'", "uidvalidity": "1",
        "uid": f"{seq} + 1", "outcome": f"(CASE WHEN {hard} THEN 'Hard' ELSE 'Soft' END)", "kind": "'dsn'",
        "original_message_id": f"'<' || {seq} || '.campaign@sender.example>'",
        "processed_at": sql.time(f"{day * 86400} + i * 86400 / {per_day}"), "counted_addresses": address,
    }, per_day)
    hard_row = "m.outcome = 'Hard'"
    event_columns, event_values = _columns(store.Event, {
        "message": "m.id", "address": "m.counted_addresses", "at": "m.processed_at",
        "bounce_class": f"(CASE WHEN {hard_row} THEN 'hard' ELSE 'soft' END)",
        "status": f"(CASE WHEN {hard_row} THEN '5.1.1' ELSE '4.2.2' END)",
        "reply_code": f"(CASE WHEN {hard_row} THEN '550' ELSE '452' END)",
        "reason": f"(CASE WHEN {hard_row} THEN 'userunknown' ELSE 'mailboxfull' END)", "action": "'failed'",
        "diagnostic": "'smtp; 550 5.1.1 <' || m.counted_addresses || '>: Recipient address rejected: User unknown'",
        "remote_mta": "'mx1.example.com'",
        "domain": "'example' || " + sql.mod(sql.mod("(m.uid - 1) * 2654435761", pool), 997) + " || '.com'",
        "original_message_id": "m.original_message_id", "counted": sql.true(), "sender_side": sql.false(),
    })
    with store.database_proxy.atomic():
        db.execute_sql(f'INSERT INTO event ({event_columns}) SELECT {event_values} FROM processed_message m '
                       f"WHERE m.id > {before}")
        state_columns, state_values = _columns(store.Address, {
            "address": "d.address", "blocked": sql.flag("d.hard = 1"),
            "blocked_reason": "(CASE WHEN d.hard = 1 THEN 'hard: userunknown 5.1.1' ELSE '' END)",
            "blocked_at": "(CASE WHEN d.hard = 1 THEN d.at END)", "soft_count": "(1 - d.hard)",
            "last_class": "(CASE WHEN d.hard = 1 THEN 'hard' ELSE 'soft' END)",
            "last_reason": "(CASE WHEN d.hard = 1 THEN 'userunknown' ELSE 'mailboxfull' END)",
            "last_status": "(CASE WHEN d.hard = 1 THEN '5.1.1' ELSE '4.2.2' END)",
            "first_bounce": "d.at", "last_bounce": "d.at", "bounces": "1",
        })
        db.execute_sql(
            f"INSERT INTO address ({state_columns}) SELECT {state_values} FROM (SELECT counted_addresses AS address, "
            f"MAX(CASE WHEN outcome = 'Hard' THEN 1 ELSE 0 END) AS hard, MAX(processed_at) AS at "
            f"FROM processed_message WHERE id > {before} GROUP BY counted_addresses) d "
            "WHERE true "  # SQLite: an upsert's SELECT with a FROM needs a WHERE, or ON reads as a join
            "ON CONFLICT (address) DO UPDATE SET bounces = address.bounces + 1, last_bounce = excluded.last_bounce, "
            "last_class = excluded.last_class, last_reason = excluded.last_reason, last_status = excluded.last_status, "
            "blocked = (CASE WHEN address.blocked THEN address.blocked ELSE excluded.blocked END), "
            "blocked_reason = (CASE WHEN address.blocked THEN address.blocked_reason ELSE excluded.blocked_reason END), "
            "blocked_at = (CASE WHEN address.blocked THEN address.blocked_at ELSE excluded.blocked_at END)"
        )


def simulate_days(
    url: str, days: int, per_day: int, pool: int, prune: Callable[[datetime], object] | None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """`days` days of `per_day` bounces (a message and an event each) over a pool of `pool`
    addresses, recorded as the pipeline would, the blocklist index refreshed after each day as
    the daemon's publish does; with `prune`, it runs after every day, as the daemon's daily
    prune. Returns the database's size in bytes at the end."""
    from bouncewatch.store import retention

    store.open_database(url)
    try:
        sql = Sql()
        for day in range(days):
            _simulate_day(sql, day, per_day, pool)
            _refresh_index()
            if prune is not None:
                prune(BASE + timedelta(days=day + 1))
            if progress is not None:
                progress(day + 1)
        retention.checkpoint()
        return retention.database_size().total_bytes
    finally:
        store.close_database()


def prune_a_year(url: str, days: int) -> tuple[int, int, float]:
    """On a database holding `days` days, prune the oldest 365 days' events and message records;
    (events removed, message records removed, seconds)."""
    from bouncewatch.store import retention

    keep = days - 365
    store.open_database(url)
    try:
        now = BASE + timedelta(days=days)
        policy = retention.RetentionPolicy(events_days=keep, messages_days=keep)
        started = time.perf_counter()
        result = retention.prune(  # as `bouncewatch prune` does
            policy, now, batch=retention.LARGE_BATCH_ROWS, cache_kib=retention.LARGE_CACHE_KIB
        )
        return result.removed["events"], result.removed["messages"], time.perf_counter() - started
    finally:
        store.close_database()
