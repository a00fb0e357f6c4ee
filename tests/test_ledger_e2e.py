"""The ledger against a real Dovecot, on SQLite and on PostgreSQL: exactly once, resets, alerts, manual control."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bouncewatch import store
from bouncewatch.testing import samples

from .spine import USER, Deployment

ALICE = "alice@example.org"
POLICY_REJECTION = "smtp; 550 5.7.1 Message rejected due to local policy"


def bouncewatch(deployment: Deployment, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bouncewatch", *args, "-c", str(deployment.config_path)],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def test_same_bounces_in_two_folders_count_once(deployment):
    """The same 5 soft bounces delivered twice, in two watched folders, count 5 not 10."""
    soft = [samples.soft_dsn(ALICE) for _ in range(5)]
    for message in soft:
        deployment.dovecot.append(USER, message)
        deployment.dovecot.append(USER, message, folder="Returns")
    deployment.write_config(
        extra_mailbox='[[mailboxes]]\nname = "returns"\nhost = "127.0.0.1"\n'
        f'port = {deployment.dovecot.port}\nsecurity = "none"\nusername = "{USER}"\n'
        'password = "secret"\nfolder = "Returns"\narchive = "Bounces"\n'
    )
    settings = deployment.settings()
    from bouncewatch.service.pipeline import run_cycle

    store.open_database(settings.database_url)
    try:
        first = run_cycle(settings, settings.mailboxes[0])
        second = run_cycle(settings, settings.mailboxes[1])
        state = store.get_state(ALICE)
    finally:
        store.close_database()
    assert (first.messages, second.messages) == (5, 5)
    assert second.skipped_duplicates == 5
    assert state.bounces == 5 and state.blocked
    assert deployment.folders() == {"Bounces/Soft": 10}


def test_delay_then_failure_for_one_message_counts_once(deployment):
    """A delay warning then the final failure, and a duplicate DSN, for one original message count 1."""
    original = "<campaign-42.alice@sender.example>"
    deployment.deliver(
        samples.delay_dsn(ALICE, original_message_id=original),
        samples.soft_dsn(ALICE, original_message_id=original),
        samples.soft_dsn(ALICE, original_message_id=original, reporting_mta="mx2.example.net"),
    )
    deployment.poll()
    state = deployment.state(ALICE)
    assert state.soft_count == 1 and state.bounces == 1
    history = bouncewatch(deployment, "history", ALICE, "--json")
    entries = [json.loads(line) for line in history.stdout.splitlines()]
    assert [(e["class"], e["counted"]) for e in entries] == [("ignore", False), ("soft", True), ("soft", False)]


def test_policy_rejections_block_nobody_and_raise_one_alert(deployment):
    """40 policy rejections for 40 gmail.com addresses block nobody and raise exactly one alert."""
    deployment.dovecot.deliver(
        USER,
        [samples.dsn(f"user{i}@gmail.com", status="5.7.1", diagnostic=POLICY_REJECTION) for i in range(40)],
    )
    deployment.write_config()
    summary = deployment.poll()
    assert summary.records_by_class == {"soft": 40}
    assert summary.newly_blocked == []
    assert len(summary.alerts) == 1 and summary.alerts[0].startswith("gmail.com rejected")
    report = json.loads(bouncewatch(deployment, "report", "--json").stdout)
    assert [(a["domain"], a["rejections"]) for a in report["sender_side_alerts"]] == [("gmail.com", 40)]
    status = bouncewatch(deployment, "status", "user1@gmail.com")
    assert "not blocked" in status.stdout and "sender-side alert" in status.stdout


def test_sender_side_counts_when_policy_says_so(deployment):
    """With count_sender_side on, five policy rejections of one address block it."""
    deployment.write_config()
    text = deployment.config_path.read_text().replace("soft_limit = 5", "soft_limit = 5\ncount_sender_side = true")
    deployment.config_path.write_text(text)
    deployment.deliver(*(samples.dsn(ALICE, status="5.7.1", diagnostic=POLICY_REJECTION) for _ in range(5)))
    deployment.poll()
    assert deployment.state(ALICE).blocked


def test_unblock_then_four_soft_then_fifth_blocks(deployment):
    """unblock → 4 soft → still unblocked; the 5th blocks again; the audit trail has the unblock."""
    deployment.deliver(samples.dsn(ALICE))
    deployment.poll()
    assert deployment.blocklist() == [ALICE]
    result = bouncewatch(deployment, "unblock", ALICE, "--reason", "customer fixed the mailbox", "--actor", "support")
    assert result.returncode == 0, result.stderr
    assert deployment.blocklist() == []
    deployment.deliver(*(samples.soft_dsn(ALICE) for _ in range(4)))
    deployment.poll()
    assert not deployment.state(ALICE).blocked
    deployment.deliver(samples.soft_dsn(ALICE))
    deployment.poll()
    assert deployment.state(ALICE).blocked
    history = bouncewatch(deployment, "history", ALICE).stdout
    assert "unblock   by support: customer fixed the mailbox" in history


def test_manual_block_stays_whatever_arrives(deployment):
    """An address blocked by hand stays blocked after a success notice, and is in the blocklist."""
    deployment.write_config()
    assert bouncewatch(deployment, "block", ALICE, "--reason", "asked to stop").returncode == 0
    deployment.deliver(samples.success_dsn(ALICE))
    deployment.poll()
    state = deployment.state(ALICE)
    assert state.blocked and state.manual
    assert deployment.blocklist() == [ALICE]


def test_delivered_resets_soft_counts_in_bulk(deployment):
    """`delivered --from-file -` with 20,000 addresses resets the soft count of the known ones."""
    deployment.deliver(*(samples.soft_dsn(ALICE) for _ in range(4)), samples.soft_dsn("bob@example.org"))
    deployment.poll()
    addresses = [f"user{i}@example.com" for i in range(20000)] + ["ALICE@Example.org", "not an address"]
    result = bouncewatch(deployment, "delivered", "--from-file", "-", stdin="\n".join(addresses))
    assert result.returncode == 0, result.stderr
    assert "recorded 20001 deliveries; soft count reset for 1 known addresses" in result.stdout
    assert "skipped 1 lines" in result.stderr
    assert deployment.state(ALICE).soft_count == 0
    assert deployment.state("bob@example.org").soft_count == 1


def test_list_and_status_commands(deployment):
    """`list --blocked`, `list --soft --json` and `status --json` show what the ledger holds."""
    deployment.deliver(samples.dsn("hard@example.org"), samples.soft_dsn(ALICE))
    deployment.poll()
    assert bouncewatch(deployment, "list", "--blocked").stdout.split("\t")[0] == "hard@example.org"
    soft = [json.loads(line) for line in bouncewatch(deployment, "list", "--soft", "--json").stdout.splitlines()]
    assert [(s["address"], s["soft_count"]) for s in soft] == [(ALICE, 1)]
    status = json.loads(bouncewatch(deployment, "status", "HARD@example.ORG", "--json").stdout)
    assert status["blocked"] and status["blocked_reason"].startswith("hard: userunknown")
    assert status["last_bounces"][0]["archive"] == "Hard"
