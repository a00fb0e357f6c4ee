"""The daemon left alone: SIGKILLed at random moments, or its Dovecot gone for a while."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from bouncewatch import config, store
from bouncewatch.service.pipeline import run_cycle
from bouncewatch.testing.dovecot import ThrowawayDovecot

from .daemonkit import (
    RunningDaemon,
    database_snapshot,
    inbox_count,
    mail_mix,
    wait_for,
    write_config,
)
from .spine import USER

KILLS = 20
MESSAGES = 1200  # the 20 kills come within about the first 700


def _archive_counts(dovecot: ThrowawayDovecot) -> dict[str, int]:
    return {k: v for k, v in dovecot.folder_counts(USER).items() if v}


def _clone_mail(source: ThrowawayDovecot, target: ThrowawayDovecot) -> None:
    """Give `target` the very same mail, UIDs and UIDVALIDITY as `source` (copy the Maildir)."""
    inbox_count(source)  # makes Dovecot assign UIDs (dovecot-uidlist) before the copy
    destination = target.root / "mail" / USER
    shutil.copytree(source.root / "mail" / USER, destination)
    owner = (target.root / "mail").stat()
    for directory, _dirs, files in os.walk(destination):
        os.chown(directory, owner.st_uid, owner.st_gid)
        for name in files:
            os.chown(os.path.join(directory, name), owner.st_uid, owner.st_gid)


def _processed(database: Path) -> int:
    """Messages the daemon has committed so far (read beside it; WAL lets readers in)."""
    if not database.exists():
        return 0
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return connection.execute("SELECT count(*) FROM processed_message").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    finally:
        connection.close()


def _clean_run(config_path) -> None:
    settings = config.load(config_path)
    store.open_database(settings.database_url)
    try:
        while run_cycle(settings, settings.mailboxes[0]).messages:
            pass
    finally:
        store.close_database()


@pytest.mark.slow
def test_sigkill_at_random_moments_changes_nothing(tmp_path):
    """20 SIGKILLs of `bouncewatch run` mid-work end in exactly the state of an undisturbed run."""
    rng = random.Random(20241129)
    with ThrowawayDovecot(fast=True) as killed_server, ThrowawayDovecot(fast=True) as clean_server:
        killed_server.deliver(USER, mail_mix(MESSAGES, seed=7))
        clean_server.stop()
        _clone_mail(killed_server, clean_server)
        clean_server.start()

        (tmp_path / "killed").mkdir()
        killed_config = write_config(
            tmp_path / "killed" / "bouncewatch.toml",
            killed_server,
            f"sqlite:///{tmp_path}/killed/state.db",
            batch_size=10,
        )
        killed_db = tmp_path / "killed" / "state.db"
        kills_with_mail_left = 0
        for attempt in range(KILLS):
            # Each kill comes at a point of progress, not of time, so a faster or slower daemon
            # meets the same number of kills with work left: a random number of messages past
            # what is committed (never the last), then a random moment within the batch in hand:
            # mid-fetch, mid-transaction, between commit and move, mid-move.
            target = min(_processed(killed_db) + rng.randint(1, 60), MESSAGES - 1)
            daemon = RunningDaemon(killed_config, tmp_path / "killed" / f"run{attempt}.log")
            wait_for(lambda: _processed(killed_db) >= target, timeout=60, step=0.01)
            time.sleep(rng.uniform(0.0, 0.02))
            daemon.kill()
            kills_with_mail_left += inbox_count(killed_server) > 0
        final = RunningDaemon(killed_config, tmp_path / "killed" / "final.log")
        wait_for(lambda: inbox_count(killed_server) == 0, timeout=60, step=0.2)
        time.sleep(0.5)  # let a last cycle finish owed moves, then stop politely
        assert final.stop() == 0

        (tmp_path / "clean").mkdir()
        clean_config = write_config(
            tmp_path / "clean" / "bouncewatch.toml",
            clean_server,
            f"sqlite:///{tmp_path}/clean/state.db",
            batch_size=200,
        )
        _clean_run(clean_config)

        killed = database_snapshot(f"sqlite:///{tmp_path}/killed/state.db")
        clean = database_snapshot(f"sqlite:///{tmp_path}/clean/state.db")
        killed_folders = _archive_counts(killed_server)
        clean_folders = _archive_counts(clean_server)

    print(f"kills: {KILLS} ({kills_with_mail_left} with mail still in INBOX); messages: {MESSAGES}")
    assert killed["messages"] == killed["distinct_fingerprints"] == MESSAGES  # none twice
    assert killed["pending_moves"] == 0
    assert killed["events"] == clean["events"]
    assert killed["blocked"] == clean["blocked"]
    differing = {
        a for a in clean["addresses"] if killed["addresses"].get(a) != clean["addresses"][a]
    } | (set(killed["addresses"]) - set(clean["addresses"]))
    assert not differing, f"{len(differing)} address states differ, e.g. {sorted(differing)[:3]}"
    assert "INBOX" not in killed_folders and "INBOX" not in clean_folders
    assert killed_folders == clean_folders
    assert sum(killed_folders.values()) == MESSAGES
    assert (tmp_path / "killed" / "blocklist.txt").read_text() == (tmp_path / "clean" / "blocklist.txt").read_text()


@pytest.mark.slow
def test_dovecot_down_for_seconds_mid_run(tmp_path):
    """Dovecot stopped for ~4 s mid-run (several retries at the capped backoff): the daemon
    retries on its own and every count comes out right."""
    first, second = mail_mix(600, seed=11), mail_mix(100, seed=12)
    with ThrowawayDovecot(fast=True) as server:
        server.deliver(USER, first)
        config_path = write_config(tmp_path / "bouncewatch.toml", server, f"sqlite:///{tmp_path}/state.db", batch_size=5)
        daemon = RunningDaemon(config_path, tmp_path / "run.log")
        wait_for(lambda: inbox_count(server) < len(first) - 50, timeout=30)
        server.stop()  # mid-run: the cycle in hand loses its connection
        server.deliver(USER, second)  # mail keeps arriving while IMAP is down
        time.sleep(4)
        assert daemon.process.poll() is None, "the daemon must not exit"
        server.start()
        wait_for(lambda: inbox_count(server) == 0, timeout=60, step=0.2)
        time.sleep(0.5)
        assert daemon.stop() == 0
        folders = _archive_counts(server)

    events = daemon.events()
    failures = [e for e in events if e.get("event") == "cycle_failed"]
    assert failures, "the outage must have been noticed"
    assert all("raw" not in e for e in events), [e for e in events if "raw" in e][:5]
    assert all(e["error_type"] in {"MailboxError", "IMAPClientAbortError", "ConnectionResetError", "BrokenPipeError", "EOFError", "TimeoutError"} or "abort" in e["error_type"].lower() for e in failures), failures[:3]
    # Retried on its own, with the backoff capped at backoff_max_seconds (1 s in this config).
    assert all(0 < e["retry_in_seconds"] <= 1.0 for e in failures), failures[:3]
    assert [e["failures"] for e in failures][:3] == [1, 2, 3]
    assert any(e.get("event") == "mailbox_recovered" for e in events)
    snapshot = database_snapshot(f"sqlite:///{tmp_path}/state.db")
    total = len(first) + len(second)
    assert snapshot["messages"] == snapshot["distinct_fingerprints"] == total
    assert "INBOX" not in folders and sum(folders.values()) == total
