"""A database made by schema version 1 opens and upgrades in place, keeping its data."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bouncewatch import store

from .spine import drop_postgres_database, fresh_postgres_database, v1_sqlite_database

DATA = Path(__file__).parent / "data"


def check_upgraded() -> None:
    assert store.schema_version() == store.SCHEMA_VERSION
    state = store.get_state("old@example.org")
    assert (state.soft_count, state.bounces, state.soft_times, state.last_success) == (3, 3, (), None)
    event = store.history("old@example.org")[0]
    assert (event.domain, event.original_message_id, event.counted) == ("example.org", "<orig-1@example.com>", True)
    # v4: the counted pair lives on the message row too, so it outlives the pruned events
    assert store.counted_before([("<orig-1@example.com>", "old@example.org")]) == {("<orig-1@example.com>", "old@example.org")}
    # v2 columns are usable after the upgrade
    store.save_states([state.__class__(**{**{f: getattr(state, f) for f in state.__slots__}, "soft_count": 4})])
    assert store.get_state("old@example.org").soft_count == 4
    assert store.alerts_since(state.first_bounce) == []


def test_sqlite_v1_database_upgrades(tmp_path):
    """An SQLite file with the v1 schema and rows is upgraded to the current version on open."""
    url = v1_sqlite_database(tmp_path)
    store.open_database(url)
    try:
        check_upgraded()
    finally:
        store.close_database()
    store.open_database(url)  # a second open finds nothing to do
    try:
        assert store.schema_version() == store.SCHEMA_VERSION
    finally:
        store.close_database()


def test_postgresql_v1_database_upgrades(postgres_url):
    """A PostgreSQL database with the v1 schema and rows is upgraded to the current version on open."""
    import psycopg2

    name = f"bw_migrate_{uuid.uuid4().hex[:12]}"
    url = fresh_postgres_database(postgres_url, name)
    try:
        connection = psycopg2.connect(url)
        with connection, connection.cursor() as cursor:
            cursor.execute((DATA / "schema_v1.postgresql.sql").read_text())
        connection.close()
        store.open_database(url)
        try:
            check_upgraded()
        finally:
            store.close_database()
    finally:
        drop_postgres_database(postgres_url, name)


def test_newer_database_is_refused(tmp_path):
    """A database written by a newer bouncewatch is not touched; the error says to upgrade."""
    url = f"sqlite:///{tmp_path}/new.db"
    store.open_database(url)
    store.Meta.update(value=str(store.SCHEMA_VERSION + 1)).where(store.Meta.key == "schema_version").execute()
    store.close_database()
    with pytest.raises(RuntimeError, match="upgrade bouncewatch"):
        store.open_database(url)
    store.close_database()
