"""Publishing from the blocklist index: the same bytes as rendering rows, only when the blocked
set changed, at most once per min_interval_seconds, the last change before the daemon stops."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from bouncewatch import config, store
from bouncewatch.publish.outputs import FORMATS, OutputSpec, publish_outputs, refresh_index, stored_rows
from bouncewatch.records import AddressState
from bouncewatch.service.publisher import Publisher
from bouncewatch.store import blocklist_index
from bouncewatch.testing import samples

from .daemonkit import RunningDaemon, wait_for, write_config
from .spine import drop_postgres_database, fresh_postgres_database

T0 = datetime(2025, 1, 31, 12, 0, 0)


def blocked(address: str, reason: str = "hard: userunknown 5.1.1", **fields) -> AddressState:
    values = {"blocked": True, "blocked_reason": reason, "blocked_at": T0, "last_class": "hard",
              "last_status": "5.1.1", "first_bounce": T0, "last_bounce": T0, "bounces": 1, **fields}
    return AddressState(address=address, **values)


TRICKY = [
    blocked("a,b@example.org", 'complaint: abuse, "spam"\nsecond line', last_class="complaint", last_status=""),
    blocked("jörg@exämple.de", "5 consecutive soft bounces (last soft: mailboxfull 4.2.2)", last_class="soft"),
    blocked("x@example.org", "manual: asked to stop\t(by phone)", manual=True, blocked_at=None),
    blocked('"john doe"@example.org'),  # not a Postfix map key: left out of that format
    blocked("#x@example.org"),
    blocked('"tab\there"@example.org'), blocked('"a\u202eb"@example.org'),  # not printable: in no output
    blocked("ab@x.org"), blocked("a.b@x.org"), blocked("a_b@x.org"), blocked("ä@x.org"),
    *[blocked(f"user{i:04d}@example.org", bounces=i) for i in range(2500)],  # more than one chunk
]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """An open, empty SQLite or PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/state.db"
    else:
        server = request.getfixturevalue("postgres_url")
        name = f"bw_test_{uuid.uuid4().hex[:12]}"
        url = fresh_postgres_database(server, name)
    store.open_database(url)
    yield url
    store.close_database()
    if request.param == "postgresql":
        drop_postgres_database(server, name)


def without_generated_at(data: bytes) -> bytes:
    return b"".join(line for line in data.splitlines(keepends=True) if not line.startswith(b'"generated_at":'))


def assert_index_matches_rows(directory: Path) -> None:
    """Every format published from the index is byte for byte what rendering the rows gives."""
    from_index = [OutputSpec(directory / f"index.{fmt}", fmt) for fmt in FORMATS]
    from_rows = [OutputSpec(directory / f"rows.{fmt}", fmt) for fmt in FORMATS]
    publish_outputs(from_index, force=True)
    publish_outputs(from_rows, stored_rows(), force=True)
    for fmt in FORMATS:
        index, rows = (directory / f"index.{fmt}").read_bytes(), (directory / f"rows.{fmt}").read_bytes()
        assert without_generated_at(index) == without_generated_at(rows), fmt


def test_index_renders_the_same_bytes_as_rows(database, tmp_path):
    """Quotes, commas, newlines, non-ASCII, unsafe Postfix keys, several chunks: the index gives the rows' bytes."""
    with store.database_proxy.atomic():
        store.save_states(TRICKY)
        store.save_states([AddressState(address="free@x.org", soft_count=2)])
    assert_index_matches_rows(tmp_path)
    text = (tmp_path / "index.text").read_text(encoding="utf-8").split("\n")[:-1]
    assert text == sorted(s.address.lower() for s in TRICKY if s.address.isprintable()) and "free@x.org" not in text
    postfix = (tmp_path / "index.postfix").read_text(encoding="utf-8")
    assert '"john doe"' not in postfix and "#x@" not in postfix
    assert all("tab\there" not in line and "\u202e" not in line for line in text)


def test_index_follows_every_kind_of_change(database, tmp_path):
    """Block, unblock, a new reason, an operator's SQL and a deleted row all reach the index."""
    with store.database_proxy.atomic():
        store.save_states([blocked(f"u{i}@x.org") for i in range(6)])
    refresh_index()
    with store.database_proxy.atomic():
        store.save_states([replace(blocked("u0@x.org"), blocked=False, blocked_reason=""),
                           blocked("u1@x.org", "manual: by hand", manual=True), blocked("new@x.org")])
    store.Address.update(blocked=False).where(store.Address.address == "u2@x.org").execute()  # SQL, no save_states
    store.Address.update(bounces=9).where(store.Address.address == "u3@x.org").execute()
    store.Address.delete().where(store.Address.address == "u4@x.org").execute()
    assert_index_matches_rows(tmp_path)
    assert (tmp_path / "index.text").read_text().split() == ["new@x.org", "u1@x.org", "u3@x.org", "u5@x.org"]
    assert blocklist_index.pending_changes() == 0


def test_a_large_refresh_gives_postgresql_statistics_of_the_lines(postgres_database, monkeypatch):
    """After a refresh of many lines the planner knows the tables' size (else a publish sorts the whole table per chunk)."""
    monkeypatch.setattr(blocklist_index, "ANALYZE_AFTER_LINES", 30)
    store.open_database(postgres_database)
    try:
        def planned_rows() -> list[float]:
            names = [blocklist_index.table(fmt) for fmt in blocklist_index.FORMATS]
            return [store.database_proxy.obj.execute_sql(
                "SELECT reltuples FROM pg_class WHERE relname = %s", (name,)).fetchone()[0] for name in names]

        with store.database_proxy.atomic():
            store.save_states([blocked(f"few{i}@x.org") for i in range(20)])
        assert refresh_index() == 20 and planned_rows() == [-1] * 4  # never analyzed: a small refresh leaves it
        with store.database_proxy.atomic():
            store.save_states([blocked(f"many{i}@x.org") for i in range(40)])
        assert refresh_index() == 40 and planned_rows() == [60] * 4
    finally:
        store.close_database()


def test_generation_moves_only_when_the_blocked_set_changes(database):
    """Blocking and unblocking move the generation; a soft bounce or another bounce on a blocked address do not."""
    start = blocklist_index.generation()
    with store.database_proxy.atomic():
        store.save_states([AddressState(address="soft@x.org", soft_count=1)])
    assert blocklist_index.generation() == start
    with store.database_proxy.atomic():
        store.save_states([blocked("b@x.org")])
    assert blocklist_index.generation() == start + 1
    with store.database_proxy.atomic():
        store.save_states([blocked("b@x.org", bounces=2)])
    assert blocklist_index.generation() == start + 1
    with store.database_proxy.atomic():
        store.save_states([AddressState(address="b@x.org")])
    assert blocklist_index.generation() == start + 2


# -- when to publish ------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTimers:
    """Timers that fire only when the test says so."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, object]] = []

    def __call__(self, delay: float, function):
        timer = _Timer(self, delay, function)
        self.pending.append((delay, timer))
        return timer

    def fire(self) -> None:
        pending, self.pending = self.pending, []
        for _delay, timer in pending:
            timer.function()


class _Timer:
    def __init__(self, owner: FakeTimers, delay: float, function) -> None:
        self.owner, self.delay, self.function = owner, delay, function

    def cancel(self) -> None:
        self.owner.pending = [(d, t) for d, t in self.owner.pending if t is not self]


def settings_for(tmp_path: Path, url: str, interval: float = 10) -> config.Settings:
    path = tmp_path / "bw.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n[blocklist]\npath = "list.txt"\nmin_interval_seconds = {interval}\n'
        '[[outputs]]\npath = "list.json"\nformat = "json"\n'
    )
    return config.load(path)


def block(*addresses: str) -> None:
    with store.database_proxy.atomic():
        store.save_states([blocked(a) for a in addresses])


def test_outputs_are_written_only_when_the_blocked_set_changed(database, tmp_path):
    """Nothing is rendered while the blocked set stands still, even when blocked rows change; a change publishes."""
    settings = settings_for(tmp_path, database)
    publisher = Publisher()
    block("a@x.org")
    assert publisher.publish_if_changed(settings) is True
    inode = (tmp_path / "list.json").stat().st_ino
    with store.database_proxy.atomic():
        store.save_states([blocked("a@x.org", bounces=5), AddressState(address="soft@x.org", soft_count=1)])
    assert not publisher.due(settings)
    assert publisher.publish_if_changed(settings) is False
    assert (tmp_path / "list.json").stat().st_ino == inode
    block("b@x.org")
    assert publisher.publish_if_changed(settings) is True
    assert (tmp_path / "list.txt").read_text() == "a@x.org\nb@x.org\n"
    assert '"bounces": 5' in (tmp_path / "list.json").read_text()  # the content caught up with the change
    (tmp_path / "list.txt").unlink()
    assert publisher.due(settings)  # a missing output is published again
    assert publisher.publish_if_changed(settings) is True


def test_requests_are_coalesced_within_min_interval(database, tmp_path):
    """One publish per min_interval_seconds: changes in between wait for a timer, which writes them all at once."""
    settings = settings_for(tmp_path, database, interval=10)
    clock, timers = FakeClock(), FakeTimers()
    publisher = Publisher(clock=clock, timer=timers)
    block("a@x.org")
    assert publisher.request(settings) is True
    clock.now += 3
    block("b@x.org")
    assert publisher.request(settings) is False
    assert [delay for delay, _timer in timers.pending] == [7]
    clock.now += 2
    block("c@x.org")
    assert publisher.request(settings) is False and len(timers.pending) == 1  # one timer for both
    assert (tmp_path / "list.txt").read_text() == "a@x.org\n"
    timers.fire()
    assert (tmp_path / "list.txt").read_text() == "a@x.org\nb@x.org\nc@x.org\n"
    clock.now += 1
    block("d@x.org")
    assert publisher.request(settings) is False
    assert publisher.flush(settings) is True and timers.pending == []  # the daemon stopping
    assert (tmp_path / "list.txt").read_text().split()[-1] == "d@x.org"
    assert publisher.flush(settings) is False


def test_daemon_publishes_the_last_change_before_it_stops(dovecot, tmp_path):
    """With a long min_interval, a block made after the first publish reaches the blocklist at SIGTERM."""
    url = f"sqlite:///{tmp_path}/state.db"
    path = write_config(tmp_path / "bouncewatch.toml", dovecot, url, min_interval=3600)
    blocklist = tmp_path / "blocklist.txt"
    dovecot.append("bounces", samples.dsn("first@example.org"))
    daemon = RunningDaemon(path, tmp_path / "daemon.log")

    def blocks() -> int:
        return sum(1 for e in daemon.events() if e.get("event") == "address_blocked")

    try:
        wait_for(lambda: blocklist.exists() and blocklist.read_text() == "first@example.org\n", 30)
        dovecot.append("bounces", samples.dsn("second@example.org"))
        wait_for(lambda: blocks() == 2, 30)
        assert blocklist.read_text() == "first@example.org\n"  # held back by min_interval
        assert daemon.stop() == 0
    finally:
        if daemon.process.poll() is None:
            daemon.kill()
    assert blocklist.read_text() == "first@example.org\nsecond@example.org\n"


def test_upgrade_indexes_the_addresses_already_blocked(tmp_path):
    """An older database's blocked addresses are rendered into the index by the first publish after the upgrade."""
    import sqlite3

    from .spine import v1_sqlite_database

    url = v1_sqlite_database(tmp_path)
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    with connection:
        connection.execute(
            "INSERT INTO address VALUES ('kept@example.org', 1, 'hard: userunknown 5.1.1', '2026-01-01 10:00:00', "
            "0, 'hard', 'userunknown', '5.1.1', '2026-01-01 10:00:00', '2026-01-01 10:00:00', 1, 0)"
        )
    connection.close()
    store.open_database(url)
    try:
        assert blocklist_index.pending_changes() == 1
        publish_outputs([OutputSpec(tmp_path / "list.txt")])
        assert (tmp_path / "list.txt").read_text() == "kept@example.org\n"
        assert_index_matches_rows(tmp_path)
    finally:
        store.close_database()


def test_poll_publishes_once_after_every_mailbox(dovecot, tmp_path):
    """`bouncewatch poll` over two mailboxes writes each output once, at the end, with both blocks."""
    import json
    import subprocess
    import sys

    from .daemonkit import environment

    url = f"sqlite:///{tmp_path}/state.db"
    second = dovecot.mailbox_toml("bounces", "other", folder="Other")
    path = write_config(tmp_path / "bouncewatch.toml", dovecot, url, extra=second)
    dovecot.append("bounces", samples.dsn("first@example.org"))
    dovecot.append("bounces", samples.dsn("second@example.org"), folder="Other")
    done = subprocess.run([sys.executable, "-m", "bouncewatch", "poll", "-c", str(path)],
                          capture_output=True, text=True, env=environment())
    assert done.returncode == 0, done.stderr
    written = [json.loads(line) for line in done.stderr.splitlines() if '"output_written"' in line]
    assert [(w["path"], w["addresses"]) for w in written] == [(str(tmp_path / "blocklist.txt"), 2)]
    assert (tmp_path / "blocklist.txt").read_text() == "first@example.org\nsecond@example.org\n"
