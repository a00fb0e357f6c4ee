"""The blocklist index: each blocked address with its output lines already rendered, in address
order, so publishing a million addresses streams text the database already holds.

- `blocklist_text`, `blocklist_csv`, `blocklist_json`, `blocklist_postfix`: per format, one row
  per blocked address with its line in that format (publish/outputs.py renders them; no row
  where the format leaves the address out). A table per format, so a publish reads the bytes of
  its own format only; each clustered by address (SQLite: WITHOUT ROWID; PostgreSQL: the
  primary key in "C" collation: byte order, like Python's sort).
- `blocklist_change`: addresses whose lines may be stale, written by triggers on `address`
  (schema step 7) for every insert, update or delete of a row that is or was blocked, whoever
  writes it: the pipeline, a manual action, an operator's SQL. `refresh` re-renders those.
- `meta.blocklist_generation`: bumped by the same triggers when an address joins or leaves the
  blocked set, so a publisher knows without reading the set whether it changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import peewee

from . import BLOCKED_ROW_FIELDS
from .models import Meta, _Model, database_proxy

FORMATS = ("text", "csv", "json", "postfix")  # a table of rendered lines each
GENERATION_KEY = "blocklist_generation"
# PostgreSQL: a refresh rendering at least this many lines (the upgrade, a first import, a mass
# block) analyzes the tables of lines at once. Without statistics the planner reads and sorts
# a whole table for each chunk a publish streams (a first publish of 1,000,000 lines took 18 s)
# until autovacuum's next analyze.
ANALYZE_AFTER_LINES = 10_000


def table(format: str) -> str:
    if format not in FORMATS:
        raise ValueError(f"unknown blocklist format {format!r}")
    return f"blocklist_{format}"


class BlocklistChange(_Model):
    """Created by schema step 7, with the tables of lines and the triggers."""

    address = peewee.CharField(max_length=320)


def generation() -> int:
    """A number that changes whenever an address is blocked or unblocked."""
    row = Meta.get_or_none(Meta.key == GENERATION_KEY)
    try:
        return int(row.value) if row else 0
    except ValueError:
        return 0


def pending_changes() -> int:
    return BlocklistChange.select().count()


Render = Callable[[tuple], Sequence[str]]  # a row of BLOCKED_ROW_FIELDS → its line per FORMATS entry


def refresh(render: Render, batch: int = 5000, on_render: Callable[[int], None] | None = None) -> int:
    """Bring the lines of changed addresses up to date; return how many were rendered.

    Each batch is one transaction: read some change marks, read those addresses' rows, write or
    drop their lines, delete exactly the marks read (a mark written meanwhile stays for the next
    refresh, so no change is ever lost, even with several instances refreshing at once).
    """
    db = database_proxy.obj
    mark = "%s" if isinstance(db, peewee.PostgresqlDatabase) else "?"
    columns = ", ".join(f'"{name}"' for name in BLOCKED_ROW_FIELDS)
    done = 0
    while True:  # raw rows: peewee's per-value conversion would cost more than the rendering
        with db.atomic():
            marks = db.execute_sql(f"SELECT id, address FROM blocklist_change ORDER BY id LIMIT {int(batch)}").fetchall()
            if not marks:
                break
            wanted = sorted({address for _id, address in marks})
            rows = []
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows += db.execute_sql(
                    f"SELECT {columns} FROM address WHERE blocked AND address IN ({', '.join([mark] * len(chunk))})", chunk
                ).fetchall()
            lines = {values[0]: render(values) for values in rows}
            for position, format in enumerate(FORMATS):
                _write_lines(db, table(format), wanted, {a: ls[position] for a, ls in lines.items() if ls[position]})
            ids = [mark_id for mark_id, _address in marks]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                db.execute_sql(f"DELETE FROM blocklist_change WHERE id IN ({', '.join([mark] * len(chunk))})", chunk)
        done += len(lines)
        if on_render is not None:
            on_render(done)
    if done >= ANALYZE_AFTER_LINES and isinstance(db, peewee.PostgresqlDatabase):
        db.execute_sql("ANALYZE " + ", ".join(table(format) for format in FORMATS))
    return done


def _write_lines(db: peewee.Database, name: str, addresses: list[str], lines: dict[str, str]) -> None:
    """Make `name` hold exactly `lines` for `addresses`: drop them all, insert those with a line."""
    mark = "%s" if isinstance(db, peewee.PostgresqlDatabase) else "?"
    for start in range(0, len(addresses), 500):
        chunk = addresses[start : start + 500]
        db.execute_sql(f"DELETE FROM {name} WHERE address IN ({', '.join([mark] * len(chunk))})", chunk)
    rows = list(lines.items())
    for start in range(0, len(rows), 200):
        chunk = rows[start : start + 200]
        values = ", ".join([f"({mark}, {mark})"] * len(chunk))
        db.execute_sql(f"INSERT INTO {name} (address, line) VALUES {values}", [v for row in chunk for v in row])


def blocks(format: str, separator: str, size: int = 20_000) -> Iterator[tuple[int, str | bytes]]:
    """The lines of one format in address order, `size` at a time: (how many, the lines joined
    with `separator`). The joining happens inside the database, so a chunk costs one row here,
    not thousands (SQLite hands the UTF-8 bytes over as they are stored)."""
    db = database_proxy.obj
    name = table(format)
    if isinstance(db, peewee.PostgresqlDatabase):
        joined, mark = "string_agg(line, %s ORDER BY address)", "%s"
    else:  # the subquery's ORDER BY (with LIMIT, so never flattened) gives group_concat its order
        joined, mark = "CAST(group_concat(line, ?) AS BLOB)", "?"
    sql = (
        f"SELECT MAX(address), COUNT(*), {joined} FROM "
        f"(SELECT address, line FROM {name} WHERE address > {mark} ORDER BY address LIMIT {int(size)}) chunk"
    )
    after = ""
    while True:
        last, count, text = db.execute_sql(sql, (separator, after)).fetchone()
        if not count:
            return
        yield count, text
        if count < size:
            return
        after = last


def count(format: str = "text") -> int:
    return database_proxy.obj.execute_sql(f"SELECT COUNT(*) FROM {table(format)}").fetchone()[0]
