"""Connecting to the database: bounded waits, and an SQLite file never created by accident.

PostgreSQL: every connection (the store's and the lease connection) gets TCP keepalives, a
TCP user timeout, a server-side `statement_timeout`, and, because a server that stops
answering without closing its connections (a frozen host, a hung proxy, a stopped backend)
still has its kernel acknowledge every packet, a client-side limit on every wait: psycopg2
runs in its "green" mode with a wait callback that gives up after `connect_seconds` while
connecting and `statement_seconds + connect_seconds` for a statement, closing the connection
and raising OperationalError naming the server. No wait on the database is ever unbounded.

SQLite: an existing file is opened read-write without the right to create it (`mode=rw`), so
a database deleted under a running process is an error, not a new empty file; the file is only
made by `open_database` when creating the schema is allowed. Lock waits are bounded by
`busy_timeout` (`connect_seconds`).
"""

from __future__ import annotations

import select
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import peewee
from playhouse.db_url import parse


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long to wait for the database ([database] connect/statement_timeout_seconds)."""

    connect_seconds: float = 10.0
    statement_seconds: float = 60.0


# What the wait callback enforces, by application_name: bouncewatch's own connections (the
# store's, the lease's) are bounded; any other psycopg2 connection in the process waits as usual.
_limits: dict[str, Timeouts] = {}
_names: dict[str, str | None] = {}  # dsn → application_name (parsed once)
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for an in-memory database)."""
    name = parse(url)["database"]
    return None if name == ":memory:" else Path(name)


def where(url: str) -> str:
    """The database a URL names, for a person and without a password: a path or user@host:port/db."""
    if is_sqlite(url):
        path = sqlite_path(url)
        return str(path) if path is not None else ":memory:"
    params = parse(url)
    user = f"{params['user']}@" if params.get("user") else ""
    return f"{user}{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params['database']}"


def sqlite_file(db: peewee.Database) -> Path | None:
    """The file of an open SQLite database (its name may be a `file:...?mode=rw` URI)."""
    name = str(db.database)
    if name.startswith("file:"):
        name = unquote(name.removeprefix("file:").split("?", 1)[0])
    return None if name in ("", ":memory:") else Path(name)


def sqlite_database(url: str, timeouts: Timeouts, *, may_create: bool) -> peewee.SqliteDatabase:
    """An SQLite database for the URL; opened with mode=rw (never created) unless `may_create`."""
    params = parse(url)
    name = params.pop("database")
    pragmas = {
        # A new file only: before its first page is written (journal_mode=wal writes it), or it
        # would take a VACUUM. Pages freed by pruning can then be handed back to the file system
        # in steps. Not on an existing file, where setting it needs the write lock even to read.
        **({"auto_vacuum": "incremental"} if may_create else {}),
        "journal_mode": "wal",
        "synchronous": "full",
        "foreign_keys": 1,
        "busy_timeout": int(timeouts.connect_seconds * 1000),
    }
    if name != ":memory:" and not may_create:
        params["uri"] = True
        name = f"file:{quote(str(Path(name).absolute()))}?mode=rw"
    return peewee.SqliteDatabase(name, pragmas=pragmas, **params)


def postgres_parameters(url: str, timeouts: Timeouts) -> dict[str, Any]:
    """psycopg2.connect() keyword arguments for the URL, with the timeouts and keepalives."""
    params = parse(url)
    params.setdefault("application_name", "bouncewatch")
    options = f"-c statement_timeout={int(timeouts.statement_seconds * 1000)}"
    params["options"] = f"{params['options']} {options}" if params.get("options") else options
    return {
        **KEEPALIVE,
        "connect_timeout": max(2, round(timeouts.connect_seconds)),
        # Sent data unacknowledged this long: the peer is gone (ms).
        "tcp_user_timeout": int((timeouts.connect_seconds + timeouts.statement_seconds) * 1000),
        **params,
    }


def postgres_database(url: str, timeouts: Timeouts) -> peewee.PostgresqlDatabase:
    params = postgres_parameters(url, timeouts)
    bound_waits(params["application_name"], timeouts)
    return peewee.PostgresqlDatabase(params.pop("database"), **params)


def bound_waits(application_name: str, timeouts: Timeouts) -> None:
    """Bound every wait of psycopg2 connections named `application_name` (see the module docstring)."""
    import psycopg2.extensions

    _limits[application_name] = timeouts
    if psycopg2.extensions.get_wait_callback() is not _bounded_wait:
        psycopg2.extensions.set_wait_callback(_bounded_wait)


def _limits_of(connection: Any) -> Timeouts | None:
    dsn = connection.dsn
    if dsn not in _names:
        from psycopg2.extensions import parse_dsn

        _names[dsn] = parse_dsn(dsn).get("application_name")
    name = _names[dsn]
    return _limits.get(name) if name else None


def _bounded_wait(connection: Any) -> None:
    """psycopg2's wait callback: poll the connection until done, or give up at the deadline."""
    import psycopg2
    import psycopg2.extensions as ext

    limits = _limits_of(connection)
    connecting = connection.status not in (ext.STATUS_READY, ext.STATUS_BEGIN, ext.STATUS_PREPARED)
    if limits is None:
        limit = float("inf")
    else:
        limit = limits.connect_seconds if connecting else limits.statement_seconds + limits.connect_seconds
    deadline = time.monotonic() + limit
    while True:
        state = connection.poll()
        if state == ext.POLL_OK:
            return
        left = deadline - time.monotonic()
        if left > 0:
            wait = None if left == float("inf") else left
            if state == ext.POLL_READ:
                ready = select.select([connection.fileno()], [], [], wait)[0]
            elif state == ext.POLL_WRITE:
                ready = select.select([], [connection.fileno()], [], wait)[1]
            else:
                raise psycopg2.OperationalError(f"bad poll state {state!r}")
            if ready:
                continue
        doing = "to connect" if connecting else "to a statement"
        # Raising here makes psycopg2 close the connection; the next use opens a new one.
        raise psycopg2.OperationalError(
            f"{_server(connection)}: no answer {doing} for {limit:g} s; the server or the network to it is stuck"
        )


def _server(connection: Any) -> str:
    try:
        params = connection.get_dsn_parameters()
    except Exception:  # noqa: BLE001 - a half-made connection may not say
        return "the database server"
    return f"{params.get('host', 'localhost')}:{params.get('port', '5432')}"
