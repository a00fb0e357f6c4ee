"""A real Postfix writes its own DSNs into the throwaway Dovecot; bouncewatch reads what it wrote.

One Postfix instance per module (bouncewatch/testing/postfix.py) is the sending MTA and, on
ports of its own, the receiving servers. Every kind of failure below is produced by Postfix
itself: nothing here is a hand-made copy of a bounce. Each notice goes to two mailboxes (a
Postfix alias), one polled into SQLite and one into PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path

import pytest

from bouncewatch.parse import parse_message
from bouncewatch.records import BounceRecord
from bouncewatch.rules.classify import classify, is_sender_side
from bouncewatch.testing import ThrowawayDovecot, ThrowawayPostfix
from bouncewatch.testing.postfix import postfix_available

from .spine import Deployment, drop_postgres_database, fresh_postgres_database

SENDER = "bounces@bounce.test"
EXPIRY_SENDER = "expiry@bounce.test"
DATABASES = ("sqlite", "postgresql")
BIG = 30_000  # over the receiving servers' size_limit (20,000)
SOFT_IN_A_ROW = 5  # quota failures for one address: the fifth blocks it

# address → (what Postfix is made to do, action, reason, class) of the record on its notice
KINDS = {
    "nobody@bounce.test": ("unknown local user (X-Postfix 5.1.1)", "failed", "userunknown", "hard"),
    "unknown@remote.test": ("unknown user at the remote server (smtp 550 5.1.1)", "failed", "userunknown", "hard"),
    "someone@nohost.test": ("domain does not exist (X-Postfix 5.4.4)", "failed", "hostunknown", "hard"),
    "someone@nullmx.test": ("null MX (X-Postfix 5.1.0)", "failed", "notaccept", "hard"),
    "full@bounce.test": ("mailbox over quota (x-unix 5.2.2)", "failed", "mailboxfull", "soft"),
    "big@remote.test": ("too big for the server's SIZE (X-Postfix 5.3.4)", "failed", "mesgtoobig", "soft"),
    "big@legacy.test": ("too big, refused after DATA (smtp 552 5.3.4)", "failed", "mesgtoobig", "soft"),
    "someone@blocking.test": ("our IP on a blocklist (smtp 554 5.7.1)", "failed", "blocked", "soft"),
    "policy@remote.test": ("refused by a policy access map (smtp 554 5.7.1)", "failed", "securityerror", "soft"),
    "someone@loop.test": ("mail loop, too many hops (smtp 554 5.4.0)", "failed", "networkerror", "soft"),
    "nobody2@bounce.test": ("one notice, two recipients: local unknown", "failed", "userunknown", "hard"),
    "unknown2@remote.test": ("one notice, two recipients: remote unknown", "failed", "userunknown", "hard"),
    "alice@bounce.test": ("success notice, delivered (NOTIFY=SUCCESS)", "delivered", "delivered", "ignore"),
    "ok@legacy.test": ("success notice, relayed to a non-DSN server", "relayed", "delivered", "ignore"),
    "ok@remote.test": ("success notice from the receiving side", "delivered", "delivered", "ignore"),
}
# The refused connection, on notices of their own: first the warning, then the expiry.
EXPIRY_ADDRESS = "someone@refused.test"
EXPIRY_NOTICES = (("delayed", "expired", "ignore"), ("failed", "expired", "soft"))
# [policy] overrides polled over the expiry notices: each variant has mailboxes of its own.
EXPIRY_POLICIES = {"default": "", "hard": 'overrides = { expired = "hard" }'}

def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so the Postfix tests must run: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class Rig:
    """The running servers and the notices Postfix wrote, read from the mailboxes."""

    dovecot: ThrowawayDovecot
    postfix: ThrowawayPostfix
    notices: list[bytes]

    def records(self) -> dict[str, list[BounceRecord]]:
        found: dict[str, list[BounceRecord]] = {}
        for raw in self.notices:
            for record in parse_message(raw).records:
                found.setdefault(record.address, []).append(record)
        return found


def _send_everything(postfix: ThrowawayPostfix) -> int:
    """Inject one message per kind (the expiry first: it takes longest); return how many notices
    reach the sender's mailbox."""
    postfix.send(EXPIRY_SENDER, [EXPIRY_ADDRESS])
    for address in ("nobody@bounce.test", "unknown@remote.test", "someone@nohost.test", "someone@nullmx.test",
                    "someone@blocking.test", "policy@remote.test", "someone@loop.test"):
        postfix.send(SENDER, [address])
    postfix.send(SENDER, ["big@remote.test"], size=BIG)
    postfix.send(SENDER, ["big@legacy.test"], size=BIG)
    for _ in range(SOFT_IN_A_ROW):
        postfix.send(SENDER, ["full@bounce.test"], size=1000)
    for address in ("alice@bounce.test", "ok@legacy.test", "ok@remote.test"):
        postfix.send(SENDER, [address], notify="SUCCESS")
    postfix.send(SENDER, ["nobody2@bounce.test", "unknown2@remote.test"])
    return 9 + SOFT_IN_A_ROW + 3 + 1


@pytest.fixture(scope="module")
def rig():
    """Dovecot + Postfix for the module, every kind injected, the immediate notices arrived."""
    problem = postfix_available()
    if problem:
        _skip_or_fail(problem)
    aliases = {
        "bounces": [f"bounces-{db}" for db in DATABASES],
        "expiry": [f"expiry-{db}-{variant}" for db in DATABASES for variant in EXPIRY_POLICIES],
    }
    users = {user: "secret" for targets in aliases.values() for user in targets}
    with ThrowawayDovecot(users={**users, "alice": "secret"}) as dovecot:
        with ThrowawayPostfix(
            dovecot,
            aliases=aliases,
            quota_users=["full"],
            remote_users=["ok", "big"],
            remote_rejections={"policy@remote.test": "REJECT 5.7.1 Rejected by policy"},
            blocking_reply="554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org",
        ) as postfix:
            expected = _send_everything(postfix)
            notices = postfix.wait_for_mail("bounces-sqlite", expected)
            postfix.wait_for_mail("bounces-postgresql", expected)
            yield Rig(dovecot, postfix, notices)


@pytest.fixture(scope="module")
def expiry_notices(rig) -> list[bytes]:
    """The delay warning and the expiry Postfix wrote for the refused connection, oldest first."""
    notices = rig.postfix.wait_for_mail(f"expiry-sqlite-{next(iter(EXPIRY_POLICIES))}", 2, timeout=60)
    for db in DATABASES:
        for variant in EXPIRY_POLICIES:
            rig.postfix.wait_for_mail(f"expiry-{db}-{variant}", 2, timeout=10)
    return notices


@pytest.fixture(params=DATABASES)
def database(request, tmp_path):
    """(name, URL) of an empty SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield request.param, f"sqlite:///{tmp_path}/state.db"
        return
    server_url = request.getfixturevalue("postgres_url")
    name = f"bw_test_{uuid.uuid4().hex[:12]}"
    yield request.param, fresh_postgres_database(server_url, name)
    drop_postgres_database(server_url, name)


def _deployment(rig: Rig, user: str, database: tuple[str, str], directory: Path, policy: str = "") -> Deployment:
    deployment = Deployment(rig.dovecot, directory, database[1], user=user)
    deployment.write_config(policy=policy)
    return deployment


@pytest.mark.parametrize("address", list(KINDS))
def test_each_kind_postfix_writes_gets_the_class_and_reason_of_the_rules(rig, address):
    """The record for each kind of notice Postfix wrote has the action, reason and class of the rules."""
    _what, action, reason, bounce_class = KINDS[address]
    records = rig.records().get(address)
    assert records, f"no record for {address} in what Postfix wrote"
    got = {(r.action, r.reason, classify(r).bounce_class.value) for r in records}
    assert got == {(action, reason, bounce_class)}, records


def test_postfix_notices_name_only_the_recipients_that_failed_or_succeeded(rig):
    """Every record of every notice is one of the injected recipients; the quota one bounced five times."""
    records = rig.records()
    assert set(records) == set(KINDS)
    assert len(records["full@bounce.test"]) == SOFT_IN_A_ROW
    assert all(r.status == "5.2.2" for r in records["full@bounce.test"])


def test_postfix_notices_through_bouncewatch_block_the_right_addresses(rig, database, tmp_path):
    """Polled from the real Dovecot: hard kinds blocked at once, the quota address at its fifth soft
    bounce, other soft kinds counted once (sender-side ones recorded, not counted), successes
    recorded as successes; nothing else on the blocklist."""
    deployment = _deployment(rig, f"bounces-{database[0]}", database, tmp_path)
    summary = deployment.poll()
    assert summary.messages == len(rig.notices)
    hard = {a for a, kind in KINDS.items() if kind[3] == "hard"}
    assert sorted(deployment.blocklist()) == sorted(hard | {"full@bounce.test"})
    for address, (_what, _action, reason, bounce_class) in KINDS.items():
        state = deployment.state(address)
        if bounce_class == "ignore":
            assert (state.blocked, state.bounces, state.last_success is not None) == (False, 0, True), state
        elif bounce_class == "hard":
            assert (state.blocked, state.last_class, state.last_reason) == (True, "hard", reason), state
        elif address == "full@bounce.test":
            assert (state.blocked, state.soft_count, state.last_reason) == (True, SOFT_IN_A_ROW, reason), state
        else:
            counted = 0 if is_sender_side(BounceRecord(address, reason=reason)) else 1
            assert (state.blocked, state.soft_count, state.last_class, state.last_reason) == (
                False, counted, "soft", reason), state
    assert deployment.folders() == {"Bounces/Hard": 5, "Bounces/Soft": 5 + SOFT_IN_A_ROW, "Bounces/Ignored": 3}


@pytest.mark.slow
def test_refused_connection_gives_a_delay_warning_then_an_expiry(expiry_notices):
    """Postfix's delay warning for a refused connection is ignored; its expiry is a soft bounce."""
    got = []
    for raw in expiry_notices:
        (record,) = parse_message(raw).records
        assert record.address == EXPIRY_ADDRESS and record.status == "4.4.1"
        got.append((record.action, record.reason, classify(record).bounce_class.value))
    assert tuple(got) == EXPIRY_NOTICES
    subjects = [message_from_bytes(raw)["Subject"] for raw in expiry_notices]
    assert subjects == ["Delayed Mail (still being retried)", "Undelivered Mail Returned to Sender"]


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(EXPIRY_POLICIES))
def test_expiry_through_bouncewatch_and_an_override_on_expired(rig, expiry_notices, database, tmp_path, variant):
    """The expiry Postfix wrote counts one soft bounce and the warning nothing; an override on
    `expired` reaches the expiry (hard: blocked at once) and leaves the warning alone."""
    deployment = _deployment(rig, f"expiry-{database[0]}-{variant}", database, tmp_path, EXPIRY_POLICIES[variant])
    summary = deployment.poll()
    assert summary.messages == len(expiry_notices)
    state = deployment.state(EXPIRY_ADDRESS)
    blocked = variant == "hard"
    assert (state.blocked, state.soft_count, state.last_reason) == (blocked, 0 if blocked else 1, "expired"), state
    assert deployment.blocklist() == ([EXPIRY_ADDRESS] if blocked else [])
    assert deployment.folders() == {"Bounces/Ignored": 1, "Bounces/Hard" if blocked else "Bounces/Soft": 1}


def test_postfix_rig_leaves_nothing_behind(dovecot):
    """Stopping the rig ends every process of its group, frees its ports and removes its directory."""
    if postfix_available():
        _skip_or_fail(postfix_available())
    with ThrowawayPostfix(dovecot) as postfix:
        group = postfix._proc.pid
        root, port = postfix.root, postfix.port
        assert _group_members(group)  # master and the daemons it started
    deadline = time.monotonic() + 5  # SIGKILLed daemons take a moment to become zombies
    while _group_members(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _group_members(group) == []
    assert not root.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def _group_members(pgid: int) -> list[int]:
    """Live processes of a process group (zombies waiting for init to reap them do not count)."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            members.append(int(entry.name))
    return members
