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


def _v3_database(url: str) -> None:
    """Make the database at `url` a version 3 one holding one message and its event: the
    current schema less what steps 4 and 5 add."""
    store.open_database(url)
    db = store.database_proxy.obj
    try:
        db.execute_sql("DROP TABLE webhook_delivery")
        db.execute_sql("DROP TABLE replay_guard")
        db.execute_sql("ALTER TABLE processed_message DROP COLUMN provider")
        db.execute_sql("ALTER TABLE processed_message DROP COLUMN event_id")
        db.execute_sql("DROP INDEX processed_message_processed_at")
        db.execute_sql("ALTER TABLE processed_message DROP COLUMN counted_addresses")
        db.execute_sql("CREATE INDEX event_original_message_id_address ON event (original_message_id, address)")
        store.Meta.update(value="3").where(store.Meta.key == "schema_version").execute()
        db.execute_sql(
            "INSERT INTO processed_message (fingerprint, mailbox, folder, uidvalidity, uid, outcome, kind, "
            "original_message_id, processed_at) VALUES ('f1', 'bounces', 'INBOX', 1, 7, 'Hard', 'dsn', '<o@x>', "
            "'2026-01-01 00:00:00')"
        )
        db.execute_sql(
            "INSERT INTO event (message_id, address, at, bounce_class, status, reply_code, reason, action, "
            "diagnostic, remote_mta, feedback_type, domain, original_message_id, counted, sender_side) "
            "SELECT id, 'v3@example.org', '2026-01-01 00:00:00', 'hard', '5.1.1', '550', 'userunknown', 'failed', "
            "'', '', '', 'example.org', '<o@x>', true, false FROM processed_message"
        )
    finally:
        store.close_database()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_v3_database_upgrades_in_place(engine, tmp_path, request):
    """A version 3 database (before provider events and webhooks) upgrades on open: its messages
    and events stay, mail rows read as from no provider, and the outbox and replay guard work."""
    if engine == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path}/v3.db", None
    else:
        server = request.getfixturevalue("postgres_url")
        name = f"bw_migrate_{uuid.uuid4().hex[:12]}"
        url, cleanup = fresh_postgres_database(server, name), (server, name)
    try:
        _v3_database(url)
        store.open_database(url)
        try:
            assert store.schema_version() == store.SCHEMA_VERSION >= 5
            (event,) = store.history("v3@example.org")
            assert store.counted_before([("<o@x>", "v3@example.org")]) == {("<o@x>", "v3@example.org")}  # step 5
            assert (event.bounce_class, event.message.uid, event.message.provider, event.message.event_id) == ("hard", 7, "", "")
            from bouncewatch.store import outbox

            at = store.utcnow()
            with store.database_proxy.atomic():
                assert outbox.first_use("k", at) and not outbox.first_use("k", at)
                outbox.enqueue([outbox.OwedDelivery("id1", "http://127.0.0.1/x", "blocked", "v3@example.org", "{}")], at)
            assert [row.event_id for row in outbox.due(at)] == ["id1"]
        finally:
            store.close_database()
    finally:
        if cleanup:
            drop_postgres_database(*cleanup)


def test_hot_path_indexes_cover_only_the_rows_they_serve(tmp_path):
    """Step 8: the blocked-address and sender-side indexes are partial, and the queries that need them use them."""
    from datetime import datetime

    store.open_database(f"sqlite:///{tmp_path}/state.db")
    db = store.database_proxy.obj
    try:
        sql = dict(db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall())
        assert "WHERE blocked = 1" in sql["address_blocked_address"] and "address_blocked" not in sql
        assert sql["event_sender_side_domain_at"].endswith("WHERE sender_side")
        assert "event_domain_sender_side_at" not in sql
        query = store.Event.select(store.Event.reason).where(
            (store.Event.domain == "x.org") & store.Event.sender_side & (store.Event.at >= datetime(2026, 1, 1)))
        plan = " ".join(str(row) for row in db.execute_sql("EXPLAIN QUERY PLAN " + query.sql()[0], query.sql()[1]))
        assert "event_sender_side_domain_at" in plan
        count = store.Address.select().where(store.Address.blocked == True).sql()  # noqa: E712
        plan = " ".join(str(row) for row in db.execute_sql("EXPLAIN QUERY PLAN " + count[0], count[1]))
        assert "USING INDEX address_blocked_" in plan  # one of the partial ones: the blocked rows only
    finally:
        store.close_database()
