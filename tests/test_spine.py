"""End to end against a real Dovecot: the rules, the archive folders, exactly-once on crash."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bouncewatch.testing import samples

from .spine import Deployment

ALICE = "alice@example.org"


@pytest.fixture
def sqlite_deployment(dovecot, tmp_path):
    return Deployment(dovecot, tmp_path, f"sqlite:///{tmp_path}/state.db")


def test_five_consecutive_soft_bounces_block(deployment):
    """5 soft bounces for one address block it, and it appears in the blocklist file."""
    deployment.deliver(*(samples.soft_dsn(ALICE) for _ in range(5)))
    summary = deployment.poll()
    assert summary.messages == 5
    assert summary.records_by_class == {"soft": 5}
    assert summary.newly_blocked == [ALICE]
    assert deployment.state(ALICE).blocked
    assert deployment.blocklist() == [ALICE]


def test_four_soft_bounces_do_not_block(deployment):
    """4 soft bounces leave the address out of the blocklist, count 4."""
    deployment.deliver(*(samples.soft_dsn(ALICE) for _ in range(4)))
    deployment.poll()
    state = deployment.state(ALICE)
    assert not state.blocked and state.soft_count == 4
    assert deployment.blocklist() == []


def test_success_between_soft_bounces_resets(deployment):
    """4 soft + a success notice + 4 soft do not block (over several polls too)."""
    deployment.deliver(*(samples.soft_dsn(ALICE) for _ in range(4)), samples.success_dsn(ALICE))
    deployment.poll()
    deployment.deliver(*(samples.soft_dsn(ALICE) for _ in range(4)))
    deployment.poll()
    state = deployment.state(ALICE)
    assert not state.blocked and state.soft_count == 4 and state.bounces == 8


def test_soft_count_spans_polls(sqlite_deployment):
    """Consecutive soft bounces spread over separate polls still block at the fifth."""
    for _ in range(5):
        sqlite_deployment.deliver(samples.soft_dsn(ALICE))
        sqlite_deployment.poll()
    assert sqlite_deployment.state(ALICE).blocked


def test_hard_complaint_and_delay(deployment):
    """A hard bounce and a complaint block at once; a delay warning counts nothing."""
    deployment.deliver(
        samples.dsn("hard@example.org"),
        samples.arf_complaint("angry@example.org"),
        samples.delay_dsn("slow@example.org"),
    )
    summary = deployment.poll()
    assert sorted(summary.newly_blocked) == ["angry@example.org", "hard@example.org"]
    assert deployment.blocklist() == ["angry@example.org", "hard@example.org"]
    assert deployment.state("slow@example.org") is None or deployment.state("slow@example.org").soft_count == 0


def test_messages_land_in_their_archive_folders(deployment):
    """Each processed message sits in the folder named for its outcome; the inbox is emptied."""
    deployment.deliver(
        samples.dsn("hard@example.org"),
        samples.soft_dsn("full@example.org"),
        samples.soft_dsn("full2@example.org"),
        samples.arf_complaint("angry@example.org"),
        samples.delay_dsn("slow@example.org"),
        samples.autoreply("away@example.org"),
        samples.not_a_bounce(),
    )
    deployment.poll()
    assert deployment.folders() == {
        "Bounces/Hard": 1,
        "Bounces/Soft": 2,
        "Bounces/Complaint": 1,
        "Bounces/Ignored": 2,
        "Bounces/Unrecognized": 1,
    }
    second = deployment.poll()
    assert second.messages == 0


def test_quarantine_keeps_the_batch_going(sqlite_deployment):
    """A message that breaks the parser goes to Unrecognized; the others are processed."""
    from bouncewatch.parse import parse_message

    def fragile(raw: bytes):
        if b"poison@example.org" in raw:
            raise ValueError("detector bug")
        return parse_message(raw)

    sqlite_deployment.deliver(samples.dsn("poison@example.org"), samples.dsn("hard@example.org"))
    summary = sqlite_deployment.poll(parse=fragile)
    assert summary.quarantined == 1
    assert summary.newly_blocked == ["hard@example.org"]
    assert sqlite_deployment.folders() == {"Bounces/Hard": 1, "Bounces/Unrecognized": 1}


def test_same_message_in_a_new_folder_is_not_counted_again(sqlite_deployment):
    """A message seen again (copied back, or after UIDVALIDITY changes) is moved, not recounted."""
    soft = [samples.soft_dsn(ALICE) for _ in range(3)]
    sqlite_deployment.deliver(*soft)
    sqlite_deployment.poll()
    sqlite_deployment.deliver(*soft)  # the very same bytes arrive again
    summary = sqlite_deployment.poll()
    assert summary.skipped_duplicates == 3
    assert sqlite_deployment.state(ALICE).soft_count == 3
    assert sqlite_deployment.folders() == {"Bounces/Soft": 6}


CRASH_AFTER_COMMIT = """
import os, sys
from bouncewatch import config, store
from bouncewatch.imap.mailbox import Mailbox
from bouncewatch.service.pipeline import run_cycle

def die(self, uids, folder):
    os._exit(137)  # the process dies after the batch was committed, before any move

Mailbox.move = die
settings = config.load(sys.argv[1])
store.open_database(settings.database_url)
run_cycle(settings, settings.mailboxes[0])
"""


def test_crash_between_commit_and_move_changes_no_count(deployment, tmp_path):
    """Killing the process after the commit, before the move, then polling again counts nothing twice."""
    deployment.deliver(*(samples.soft_dsn(ALICE) for _ in range(4)), samples.dsn("hard@example.org"))
    config_path = deployment.write_config()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_COMMIT, str(config_path)], env=env, capture_output=True
    )
    assert crashed.returncode == 137, crashed.stderr.decode()
    assert deployment.folders() == {"INBOX": 5}  # nothing moved yet
    committed = deployment.state(ALICE)
    assert committed is not None and committed.soft_count == 4  # both batches committed; moves come after, grouped

    deployment.poll()
    state = deployment.state(ALICE)
    assert state.soft_count == 4 and not state.blocked
    assert deployment.state("hard@example.org").blocked
    assert deployment.folders() == {"Bounces/Soft": 4, "Bounces/Hard": 1}


def test_poll_command_prints_summary_and_blocklist(sqlite_deployment):
    """`bouncewatch poll -c FILE` runs one cycle, prints the summary, exits 0."""
    sqlite_deployment.deliver(samples.dsn("hard@example.org"), samples.soft_dsn(ALICE))
    config_path = sqlite_deployment.write_config()
    result = subprocess.run(
        [sys.executable, "-m", "bouncewatch", "poll", "-c", str(config_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 0, result.stderr
    assert "bounces: 2 messages; records: hard 1, soft 1; newly blocked: 1" in result.stdout
    assert "blocked: hard@example.org" in result.stdout
    assert sqlite_deployment.blocklist() == ["hard@example.org"]


def test_poll_command_exit_1_names_the_mailbox(sqlite_deployment):
    """An unreachable mailbox makes `poll` exit 1 with a line naming it and why."""
    config_path = sqlite_deployment.write_config()
    sqlite_deployment.dovecot.stop()
    result = subprocess.run(
        [sys.executable, "-m", "bouncewatch", "poll", "-c", str(config_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 1
    assert "mailbox bounces:" in result.stderr and "cannot connect" in result.stderr
