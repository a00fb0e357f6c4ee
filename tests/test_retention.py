"""Retention: pruning old history keeps the ledger, the audit trail, the cursors and the outputs."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from bouncewatch import config, store
from bouncewatch.cli.addresses import database_facts
from bouncewatch.publish.outputs import configured_outputs, publish_outputs
from bouncewatch.records import BounceRecord
from bouncewatch.service.manual import manual_action
from bouncewatch.service.pipeline import publish_blocklist
from bouncewatch.service.retention import prune_step, retention_policy
from bouncewatch.store import retention
from bouncewatch.store.blocklist_index import BlocklistChange
from bouncewatch.testing import samples

from .spine import Deployment

HARD = "gone@example.org"
SOFT = "flaky@example.net"
MANUAL = "asked@example.com"
RELEASED = "back@example.com"  # blocked and unblocked by hand
ORIGINAL = "<campaign-7.gone@sender.example>"
OUTPUTS = """
[[outputs]]
path = "list.csv"
format = "csv"
[[outputs]]
path = "list.json"
format = "json"
[[outputs]]
path = "access"
format = "postfix"
"""
OUTPUT_FILES = ("blocklist.txt", "list.csv", "list.json", "access")
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def output_bytes(deployment: Deployment) -> dict[str, bytes]:
    return {name: (deployment.directory / name).read_bytes() for name in OUTPUT_FILES}


def bouncewatch(deployment: Deployment, *args: str, faketime: str = "") -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bouncewatch", *args, "-c", str(deployment.config_path)]
    if faketime:
        command = ["faketime", faketime, *command]
    return subprocess.run(command, capture_output=True, text=True, env=ENV)


def seen_once(deployment: Deployment) -> bytes:
    """Poll a hard bounce (with a known original Message-ID) and two soft ones, block one
    address by hand; returns the hard bounce's bytes."""
    deployment.write_config(extra=OUTPUTS)
    hard = samples.dsn(HARD, original_message_id=ORIGINAL)
    deployment.deliver(hard, samples.soft_dsn(SOFT), samples.soft_dsn(SOFT))
    deployment.poll()
    settings = deployment.settings()
    store.open_database(settings.database_url)
    try:
        manual_action(settings, MANUAL, "asked to stop", "support", "block")
        manual_action(settings, RELEASED, "typo in the import", "support", "block")
        manual_action(settings, RELEASED, "fixed", "review", "unblock")
    finally:
        store.close_database()
    return hard


def rerender_outputs(settings: config.Settings) -> list[bool]:
    """Render every blocked address's lines again from the address table (as after a schema
    upgrade) and publish; whether each output changed."""
    blocked = store.Address.select(store.Address.address).where(store.Address.blocked)
    BlocklistChange.insert_from(blocked, [BlocklistChange.address]).execute()
    return [result.changed for result in publish_outputs(configured_outputs(settings))]


def snapshot(url: str) -> dict[str, object]:
    """What a prune could touch: rows kept per table, every address state, the audit, the last prune."""
    store.open_database(url)
    try:
        return {
            "events": store.Event.select().count(),
            "messages": store.ProcessedMessage.select().count(),
            "states": {a: store.get_state(a) for a in (HARD, SOFT, MANUAL, RELEASED)},
            "audit": [(a.address, a.action, a.reason) for a in store.Audit.select().order_by(store.Audit.id)],
            "last_prune": retention.last_prune(),
        }
    finally:
        store.close_database()


def test_prune_removes_old_events_and_keeps_state_audit_cursors_and_outputs(deployment):
    """200 days on, a prune removes the events; states, reasons, soft times, audit, cursors stay and no output changes."""
    seen_once(deployment)
    before = output_bytes(deployment)
    settings = deployment.settings()
    store.open_database(settings.database_url)
    try:
        states = {a: store.get_state(a) for a in (HARD, SOFT, MANUAL, RELEASED)}
        audit = {a: [(e.action, e.actor, e.reason) for e in store.audit_entries(a)] for a in (MANUAL, RELEASED)}
        cursor = store.get_cursor("bounces", "INBOX")
        later = store.utcnow() + timedelta(days=200)
        facts = database_facts()
        assert facts["oldest_event"] and facts["oldest_event_age_days"] == 0 and facts["database_bytes"] > 0
        policy = retention_policy(settings)
        assert retention.count_prunable(policy, later) == {"events": 3, "messages": 0, "alerts": 0, "webhooks": 0}
        assert store.Event.select().count() == 3  # counting changed nothing
        result = retention.prune(policy, later, batch=2)
        assert result.done and result.removed == {"events": 3, "messages": 0, "alerts": 0, "webhooks": 0}
        assert store.Event.select().count() == 0 and store.ProcessedMessage.select().count() == 3
        assert store.history(HARD) == [] and store.history(SOFT) == []
        assert {a: store.get_state(a) for a in states} == states
        assert states[HARD].blocked and states[HARD].blocked_reason.startswith("hard: ")
        assert states[SOFT].soft_count == 2 and len(states[SOFT].soft_times) == 2
        assert states[MANUAL].blocked and states[MANUAL].manual and states[MANUAL].blocked_reason == "manual: asked to stop"
        assert not states[RELEASED].blocked
        assert {a: [(e.action, e.actor, e.reason) for e in store.audit_entries(a)] for a in audit} == audit == {
            MANUAL: [("block", "support", "asked to stop")],
            RELEASED: [("block", "support", "typo in the import"), ("unblock", "review", "fixed")],
        }
        assert store.get_cursor("bounces", "INBOX") == cursor
        assert retention.last_prune() == later
        assert database_facts()["oldest_event"] == ""
        assert publish_blocklist(settings) is False  # nothing to write
        # every output rendered again from what the prune left: the same bytes
        assert rerender_outputs(settings) == [False] * len(OUTPUT_FILES)
    finally:
        store.close_database()
    assert output_bytes(deployment) == before
    assert sorted(deployment.blocklist()) == sorted([HARD, MANUAL])


def test_message_seen_again_within_messages_days_does_not_count_twice(deployment):
    """After the events are pruned, the same message again, and a second report on its original, count nothing."""
    hard = seen_once(deployment)
    settings = deployment.settings()
    store.open_database(settings.database_url)
    try:
        retention.prune(retention_policy(settings), store.utcnow() + timedelta(days=200))
        bounces = store.get_state(HARD).bounces
    finally:
        store.close_database()
    deployment.deliver(hard, samples.dsn(HARD, original_message_id=ORIGINAL, reporting_mta="mx2.example.net"))
    summary = deployment.poll()
    assert summary.skipped_duplicates == 1
    store.open_database(settings.database_url)
    try:
        assert store.get_state(HARD).bounces == bounces
        assert [e.counted for e in store.history(HARD)] == [False]  # the second report: recorded, not counted
    finally:
        store.close_database()


def test_past_messages_days_a_message_is_new_again(deployment):
    """The trade-off of messages_days: once a message's record is pruned, the same message counts again."""
    hard = seen_once(deployment)
    settings = deployment.settings()
    store.open_database(settings.database_url)
    try:
        result = retention.prune(retention_policy(settings), store.utcnow() + timedelta(days=401))
        assert result.removed["messages"] == 3
        bounces = store.get_state(HARD).bounces
    finally:
        store.close_database()
    deployment.deliver(hard)
    assert deployment.poll().skipped_duplicates == 0
    assert deployment.state(HARD).bounces == bounces + 1


def test_prune_command_under_faketime(deployment):
    """`faketime "+200 days" bouncewatch prune`: --dry-run changes nothing; then history loses the old
    bounces, status still says blocked with its reason, the blocklist file is unchanged."""
    if shutil.which("faketime") is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set, so the faketime test must run: faketime not found (tests/run.sh installs it)")
        pytest.skip("faketime (Debian package faketime) is not installed; tests/run.sh installs it")
    seen_once(deployment)
    blocklist = deployment.blocklist_path.read_bytes()
    outputs = output_bytes(deployment)
    history = bouncewatch(deployment, "history", HARD)
    assert history.returncode == 0 and "userunknown" in history.stdout, history.stdout
    before = snapshot(deployment.database_url)
    for later in ("+200 days", "+401 days"):  # events only; events and message records
        dry = bouncewatch(deployment, "prune", "--dry-run", faketime=later)
        assert dry.returncode == 0, dry.stderr
        assert "bounce events older than 180 days" in dry.stdout and "): 3 would be removed" in dry.stdout
        assert snapshot(deployment.database_url) == before and output_bytes(deployment) == outputs
    assert "message records older than 400 days" in dry.stdout and dry.stdout.count("): 3 would be removed") == 2
    done = bouncewatch(deployment, "prune", faketime="+200 days")
    assert done.returncode == 0, done.stderr
    assert "): 3 removed" in done.stdout and "database: " in done.stdout
    history = bouncewatch(deployment, "history", HARD)
    assert history.returncode == 0 and "userunknown" not in history.stdout
    status = bouncewatch(deployment, "status", HARD)
    assert status.stdout.startswith(f"{HARD}: BLOCKED (hard: userunknown 5.1.1)"), status.stdout
    assert deployment.blocklist_path.read_bytes() == blocklist and output_bytes(deployment) == outputs


# -- the daemon's daily prune -------------------------------------------------------------------


def old_rows(url: str, days_ago: list[int], now: datetime) -> None:
    """One message with one hard event per entry of `days_ago`, recorded that many days before `now`."""
    store.open_database(url)
    try:
        with store.database_proxy.atomic():
            for i, days in enumerate(days_ago):
                address = f"a{i}@example.org"
                event = store.NewEvent(address, BounceRecord(address=address), "hard", True, False)
                message = store.NewMessage(f"{i:064x}", i + 1, "Hard", "dsn", f"<m{i}@x>", (event,))
                store.record_messages([message], "bounces", "INBOX", 1, now - timedelta(days=days))
    finally:
        store.close_database()


class Clock:
    """A monotonic clock that moves `step` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_daemon_prune_is_daily_bounded_and_resumes(tmp_path):
    """A step prunes only when a day has passed, stops at its time budget, and the next step finishes the job."""
    url = f"sqlite:///{tmp_path}/state.db"
    (tmp_path / "bw.toml").write_text(f'[database]\nurl = "{url}"\n[retention]\nevents_days = 10\nmessages_days = 20\n')
    settings = config.load(tmp_path / "bw.toml")
    now = datetime(2026, 6, 1, 12, 0)
    old_rows(url, [30] * 5 + [15] * 5 + [1] * 2, now)
    store.open_database(url)
    try:
        # the budget runs out after one batch of two rows: the prune is left unfinished
        first = prune_step(settings, now=now, clock=Clock(1.0), budget_seconds=1.5, batch_rows=2)
        assert first is not None and not first.done and first.removed["events"] == 2
        assert retention.last_prune() is None
        rest = prune_step(settings, now=now, clock=Clock(0.0), batch_rows=2)
        assert rest is not None and rest.done and rest.removed == {"events": 8, "messages": 5, "alerts": 0, "webhooks": 0}
        assert store.Event.select().count() == 2 and store.ProcessedMessage.select().count() == 7
        assert prune_step(settings, now=now + timedelta(hours=23)) is None  # not due again yet
        assert prune_step(settings, now=now + timedelta(days=1)) is not None

        class Stopped:
            def is_set(self) -> bool:
                return True

        old_rows_count = store.Event.select().count()
        stopped = prune_step(settings, Stopped(), now=now + timedelta(days=30))
        assert stopped is not None and not stopped.done and store.Event.select().count() == old_rows_count
    finally:
        store.close_database()


# -- settings and the file ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("events_days = 200\nmessages_days = 100", "retention.messages_days"),
        ("events_days = 0\nmessages_days = 100", "retention.messages_days"),
        ("events_days = -1", "retention.events_days"),
        ("keep = 3", "retention.keep"),
    ],
)
def test_retention_config_errors_name_the_key(tmp_path, section, key):
    """A message record may not go before its events, days are not negative: one line naming the key."""
    path = tmp_path / "bw.toml"
    path.write_text(f"[retention]\n{section}\n")
    with pytest.raises(config.ConfigError, match=f"{key}:"):
        config.load(path)


def test_sqlite_files_vacuum_incrementally(tmp_path):
    """A new SQLite file has incremental auto_vacuum; vacuum() switches an older file to it and keeps its rows."""
    store.open_database(f"sqlite:///{tmp_path}/new.db")
    try:
        assert retention.database_size().auto_vacuum == "incremental"
    finally:
        store.close_database()
    old = tmp_path / "old.db"
    connection = sqlite3.connect(old)
    connection.execute("CREATE TABLE t (x)")  # tables before the pragma: auto_vacuum stays off
    connection.close()
    store.open_database(f"sqlite:///{old}")
    try:
        assert retention.database_size().auto_vacuum == "none"
        retention.vacuum()
        assert retention.database_size().auto_vacuum == "incremental"
    finally:
        store.close_database()


def test_freed_pages_are_released_down_to_the_reserve(tmp_path):
    """After a prune, free pages beyond the reserve go back to the file system and the file shrinks."""
    url = f"sqlite:///{tmp_path}/state.db"
    now = datetime(2026, 6, 1)
    old_rows(url, [300] * 400, now)
    store.open_database(url)
    try:
        retention.prune(retention.RetentionPolicy(events_days=10, messages_days=20), now)
        retention.checkpoint()
        before = (tmp_path / "state.db").stat().st_size
        assert retention.database_size().free_bytes > 0
        assert retention.release_free_pages(keep_fraction=0.0) > 0
        retention.checkpoint()
        assert retention.database_size().free_bytes == 0
        assert (tmp_path / "state.db").stat().st_size < before
    finally:
        store.close_database()


def test_prune_skips_while_another_instance_prunes(postgres_database):
    """With PostgreSQL, a prune finding another instance's prune lock stops without deleting."""
    import psycopg2

    now = datetime(2026, 6, 1)
    old_rows(postgres_database, [300] * 3, now)
    other = psycopg2.connect(postgres_database)
    other.autocommit = True
    holder = other.cursor()
    holder.execute("SELECT pg_advisory_lock(%s)", (retention.PRUNE_LOCK_KEY,))
    store.open_database(postgres_database)
    try:
        result = retention.prune(retention.RetentionPolicy(), now)
        assert not result.done and result.total == 0 and store.Event.select().count() == 3
        holder.execute("SELECT pg_advisory_unlock(%s)", (retention.PRUNE_LOCK_KEY,))
        other.close()
        assert retention.prune(retention.RetentionPolicy(), now).removed["events"] == 3
    finally:
        store.close_database()


def test_database_size_on_postgresql(postgres_database):
    """report's database size comes from PostgreSQL itself."""
    store.open_database(postgres_database)
    try:
        size = retention.database_size()
    finally:
        store.close_database()
    assert size.kind == "postgresql" and size.total_bytes > 0


def test_message_past_retention_takes_its_remaining_events(tmp_path):
    """Rows inside both horizons stay; a message row older than messages_days takes its remaining events."""
    url = f"sqlite:///{tmp_path}/state.db"
    now = datetime(2026, 6, 1)
    old_rows(url, [5, 50], now)
    store.open_database(url)
    try:
        # an event newer than its message (a sending service's report dated later) goes with the message
        store.Event.update(at=now - timedelta(days=1)).where(store.Event.address == "a1@example.org").execute()
        result = retention.prune(retention.RetentionPolicy(events_days=10, messages_days=20), now)
        assert result.removed == {"events": 0, "messages": 1, "alerts": 0, "webhooks": 0}
        assert [e.address for e in store.Event.select()] == ["a0@example.org"]
    finally:
        store.close_database()


def test_retention_zero_keeps_everything(tmp_path):
    """events_days = messages_days = 0: nothing is ever pruned and the daemon never starts a prune."""
    url = f"sqlite:///{tmp_path}/state.db"
    (tmp_path / "bw.toml").write_text(f'[database]\nurl = "{url}"\n[retention]\nevents_days = 0\nmessages_days = 0\n')
    settings = config.load(tmp_path / "bw.toml")
    now = datetime(2026, 6, 1)
    old_rows(url, [3000], now)
    store.open_database(url)
    try:
        assert prune_step(settings, now=now) is None
        assert retention.prune(retention_policy(settings), now).total == 0
        assert store.Event.select().count() == 1
    finally:
        store.close_database()

