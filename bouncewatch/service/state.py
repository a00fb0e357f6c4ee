"""Is the state there? Open it, refuse to replace lost state, and leave a marker beside the outputs.

The database (the ledger: who is blocked and why, cursors, the audit trail) is created only where
nothing can be lost: at a first start, or by `bouncewatch init`. When it is gone, emptied or
replaced but something shows it existed, every command and the daemon refuse to run, with one
line that says what to restore. What shows it existed:

- the marker: a small file beside the `[blocklist]` path (`.blocklist.txt.bouncewatch-state`),
  written whenever the state is opened, naming the state's id and database;
- a published output that holds addresses (the state they came from must be somewhere).

A running daemon checks before each attempt that the state it opened is still there and still
the same (`StateWatch`), so a database deleted under it stops the work, and the blocklist stays
as it was, until the database is restored (the daemon then goes on by itself).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import structlog

from .. import store
from ..config import Settings
from ..publish.files import write_atomically
from ..publish.outputs import RENDERERS, configured_outputs

log = structlog.get_logger("bouncewatch.state")


def timeouts(settings: Settings) -> store.Timeouts:
    database = settings.database
    return store.Timeouts(database.connect_timeout_seconds, database.statement_timeout_seconds)


def marker_path(settings: Settings) -> Path:
    path = settings.blocklist_path
    return path.with_name(f".{path.name}.bouncewatch-state")


@dataclass(frozen=True, slots=True)
class Marker:
    state: str  # the state id ("" when the file cannot be read: it still shows state existed)
    database: str


def read_marker(settings: Settings) -> Marker | None:
    try:
        data = json.loads(marker_path(settings).read_text(encoding="utf-8"))
        return Marker(str(data["state"]), str(data.get("database", "")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return Marker("", "")


def write_marker(settings: Settings, state: str) -> None:
    """Record `state` beside the outputs (when it changed); a directory we cannot write is no error."""
    database = store.where(settings.database_url)
    if read_marker(settings) == Marker(state, database):
        return
    document = {"state": state, "database": database, "written": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        write_atomically(marker_path(settings), (json.dumps(document) + "\n").encode(), 0o644)
    except OSError as exc:
        log.debug("state_marker_unwritable", path=str(marker_path(settings)), error=str(exc))


def evidence(settings: Settings) -> str | None:
    """What shows that state existed (for a person), or None when nothing does."""
    for spec in configured_outputs(settings):
        try:
            count = RENDERERS[spec.format]().count(spec.path)
        except OSError:
            continue
        if count:
            return f"{spec.path} holds {count} addresses published from it"
    marker = read_marker(settings)
    if marker is not None:
        named = f"state {marker.state[:8]}" if marker.state else "a state"
        return f"{marker_path(settings)} records {named}" + (f" in {marker.database}" if marker.database else "")
    return None


def _advice(config_file: str | os.PathLike[str] | None) -> str:
    where = f" -c {config_file}" if config_file else ""
    return f"restore the database from a backup, or start afresh on purpose with `bouncewatch init --fresh{where}`"


@dataclass(frozen=True, slots=True)
class OpenedState:
    state: str  # the state id
    created: bool  # the schema was made now
    earlier: str | None  # what showed that state existed before (init --fresh over it)


class _WouldCreate(Exception):
    """A probe found a first start: the schema would be created."""


def open_state(
    settings: Settings,
    *,
    config_file: str | os.PathLike[str] | None = None,
    fresh: bool = False,
    probe: bool = False,
) -> OpenedState | None:
    """Open the configured database; create its schema only where nothing is lost (see module doc).

    Raises StateMissing (one line: what is wrong, what shows state existed, what to do) when the
    state is gone, emptied or replaced, unless `fresh` (bouncewatch init --fresh) takes the
    configured database as the state from now on. With `probe`, nothing is created or written:
    None means a first start would create the schema.
    """
    found: list[str | None] = []

    def refuse_if_lost(what: str) -> None:
        earlier = evidence(settings)
        found.append(earlier)
        if earlier is not None and not fresh:
            raise store.StateMissing(f"state missing: {what}, but {earlier}; {_advice(config_file)}")
        if probe:
            raise _WouldCreate

    try:
        store.open_database(settings.database_url, timeouts=timeouts(settings), on_missing=refuse_if_lost)
        state = store.state_id()
        marker = read_marker(settings)
        if state is None:  # a database from before state ids: it takes the marker's, if any
            state = marker.state if marker is not None and marker.state else uuid.uuid4().hex
            if not probe:
                store.set_state_id(state)
        elif marker is not None and marker.state != state and not fresh:
            raise store.StateMissing(
                f"state replaced: {store.where(settings.database_url)} holds state {state[:8]}, but the "
                f"outputs beside {marker_path(settings)} were published from state {marker.state[:8] or '?'}"
                f"{' in ' + marker.database if marker.database else ''}; point [database] url back at that "
                f"database or {_advice(config_file)}"
            )
    except _WouldCreate:
        store.close_database()
        return None
    except BaseException:
        store.close_database()
        raise
    if probe:
        store.close_database()
        return OpenedState(state, created=False, earlier=None)
    write_marker(settings, state)
    earlier = found[0] if found else None
    if earlier is None and marker is not None and marker.state != state:  # init --fresh over another state
        earlier = f"{marker_path(settings)} named state {marker.state[:8] or '?'}"
    return OpenedState(state, created=bool(found), earlier=earlier)


def set_aside_stale_files(settings: Settings) -> list[Path]:
    """Rename an SQLite write-ahead log (and its index) left beside a missing or empty database,
    so a new database is not mixed with the old one's writes; return the new names."""
    path = store.sqlite_path(settings.database_url) if settings.database_url.startswith("sqlite") else None
    if path is None or (path.exists() and path.stat().st_size):
        return []
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    moved = []
    for suffix in ("-wal", "-shm"):
        stale = path.with_name(path.name + suffix)
        if stale.exists():
            target = stale.with_name(f"{stale.name}.stale-{stamp}")
            stale.rename(target)
            moved.append(target)
    return moved


class StateWatch:
    """Checks, before each attempt of the daemon, that the state it opened is still there."""

    def __init__(self, settings: Settings, state: str) -> None:
        self.settings = settings
        self.state = state

    def check(self) -> None:
        """Raise StateMissing when the database was deleted, emptied or replaced since start."""
        url = self.settings.database_url
        what = None
        path = store.sqlite_path(url) if url.startswith("sqlite") else None
        if path is not None:
            try:
                if not path.stat().st_size:
                    what = f"{path} was emptied (0 bytes) while bouncewatch ran"
            except FileNotFoundError:
                what = f"{path} was deleted while bouncewatch ran"
        if what is None and not store.database_proxy.table_exists(store.Meta._meta.table_name):
            what = f"{store.where(url)} lost its tables while bouncewatch ran"
        if what is None and store.state_id() != self.state:
            what = f"{store.where(url)} was replaced by another state while bouncewatch ran"
        if what is not None:
            raise store.StateMissing(
                f"state missing: {what}; nothing is processed or published until it is back: "
                "restore the database from a backup (this daemon then goes on), or start afresh on "
                "purpose with `bouncewatch init --fresh` and restart"
            )
