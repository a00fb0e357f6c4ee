"""Two `bouncewatch run` on one PostgreSQL: one works a mailbox at a time; the other takes over."""

from __future__ import annotations

import uuid

import pytest

from bouncewatch.store.leases import FileLeases, leases_for

from .daemonkit import RunningDaemon, database_snapshot, inbox_count, mail_mix, wait_for, write_config
from .spine import USER, drop_postgres_database, fresh_postgres_database


@pytest.fixture
def pg_database(postgres_url):
    name = f"bw_lease_{uuid.uuid4().hex[:12]}"
    yield fresh_postgres_database(postgres_url, name)
    drop_postgres_database(postgres_url, name)


def test_file_lease_is_exclusive_until_released(tmp_path):
    """A flock lease (SQLite) is refused to a second holder until the first lets go."""
    first, second = FileLeases(tmp_path), FileLeases(tmp_path)
    assert first.acquire("bounces") and first.holds("bounces")
    assert not second.acquire("bounces")
    assert second.acquire("other")
    first.release_all()
    assert second.acquire("bounces")


def test_advisory_lease_is_exclusive_until_released(pg_database):
    """A PostgreSQL advisory-lock lease is refused to a second session until the first ends."""
    first, second = leases_for(pg_database), leases_for(pg_database)
    try:
        assert first.acquire("bounces") and first.holds("bounces")
        assert not second.acquire("bounces")
        first.release_all()
        # The server drops the lock when the closed session's backend has ended, a moment later.
        wait_for(lambda: second.acquire("bounces"), timeout=10)
        assert not first.holds("bounces")
    finally:
        first.release_all()
        second.release_all()


def test_standby_takes_over_after_sigkill(dovecot, pg_database, tmp_path):
    """Only the lease holder processes; after it is SIGKILLed the standby takes the lease and processes the new mail."""
    dovecot.deliver(USER, mail_mix(200, seed=3))
    config_path = write_config(tmp_path / "bouncewatch.toml", dovecot, pg_database, batch_size=10)
    daemons = [RunningDaemon(config_path, tmp_path / f"run{i}.log") for i in range(2)]
    try:
        wait_for(lambda: inbox_count(dovecot) == 0, timeout=30, step=0.1)
        holders = [d for d in daemons if any(e.get("event") == "lease_acquired" for e in d.events())]
        assert len(holders) == 1, "exactly one instance may hold the mailbox"
        holder = holders[0]
        standby = next(d for d in daemons if d is not holder)
        assert any(e.get("event") == "lease_held_elsewhere" for e in standby.events())
        assert not any(e.get("event") == "cycle_done" for e in standby.events())

        holder.kill()
        dovecot.deliver(USER, mail_mix(30, seed=4))
        wait_for(lambda: inbox_count(dovecot) == 0, timeout=60, step=0.05)
        assert any(e.get("event") == "lease_acquired" for e in standby.events())
        # The standby's own cycle did the work (logged once its blocklist is published).
        wait_for(lambda: any(e.get("event") == "cycle_done" and e.get("messages") for e in standby.events()), 30)
        assert standby.stop() == 0
    finally:
        for daemon in daemons:
            if daemon.process.poll() is None:
                daemon.kill()
    snapshot = database_snapshot(pg_database)
    assert snapshot["messages"] == snapshot["distinct_fingerprints"] == 230
