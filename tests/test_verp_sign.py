"""Signed VERP: the algorithm, and forged vs signed bounces end to end against a real Dovecot."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from bouncewatch.publish.verp_sign import Signer, encode_address, return_paths
from bouncewatch.testing import samples

from .spine import Deployment

KEY = b"k" * 32
OLD_KEY = b"o" * 32
DAY = date(2025, 1, 31)
CUSTOMER = "alice@example.org"


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


def signer(*keys: bytes, max_age_days: int = 30) -> Signer:
    return Signer(keys or (KEY,), "bounces.example.com", "bounces", max_age_days)


def test_encode_then_verify_names_the_recipient():
    """A return path signed today verifies and names its recipient, even with + and = in the local part."""
    path = signer().encode("Alice+News=X@Example.org", DAY)
    assert path.startswith("bounces+alice+news=x=example.org+") and path.endswith("@bounces.example.com")
    check = signer().verify(path, DAY)
    assert check.ok and check.address == "alice+news=x@example.org"
    assert signer().verify(path.upper(), DAY).ok  # mail systems may change case


def test_tampered_wrong_key_and_foreign_paths_fail():
    """Another recipient, a wrong key, a cut signature or another domain do not verify."""
    path = signer().encode(CUSTOMER, DAY)
    assert "bad signature" in signer().verify(path.replace("alice", "bob"), DAY).reason
    assert "bad signature" in signer(b"x" * 32).verify(path, DAY).reason
    assert not signer().verify(path.replace("@", "x@", 1)[:-3] + "com", DAY).ok
    assert not signer().verify(path.replace("bounces.example.com", "evil.example"), DAY).ok


def test_signatures_expire():
    """A signature older than max_age_days, or from the future, is refused."""
    path = signer(max_age_days=30).encode(CUSTOMER, DAY)
    assert signer().verify(path, DAY + timedelta(days=30)).ok
    assert "expired" in signer().verify(path, DAY + timedelta(days=31)).reason
    assert "future" in signer().verify(path, DAY - timedelta(days=2)).reason


def test_key_rotation():
    """Paths signed with the old key verify while it is in old_key_files; new ones use the new key."""
    old_path = signer(OLD_KEY).encode(CUSTOMER, DAY)
    rotated = signer(KEY, OLD_KEY)
    assert rotated.verify(old_path, DAY).ok
    assert signer(KEY).verify(rotated.encode(CUSTOMER, DAY), DAY).ok
    assert not signer(KEY).verify(old_path, DAY).ok  # old key dropped


def test_return_paths_are_found_in_headers_and_the_returned_original():
    """Delivered-To / To and the Return-Path in a DSN's returned headers are candidates."""
    raw = b"Delivered-To: bounces+a=b.org+x@d.example\r\n" + samples.dsn(CUSTOMER)
    found = return_paths(raw)
    assert found[0] == "bounces+a=b.org+x@d.example" and samples.SENDER in found
    assert encode_address(CUSTOMER) == "alice=example.org"


# -- end to end ---------------------------------------------------------------------------------


@pytest.fixture
def deployment(deployment):
    """The shared deployment (SQLite and PostgreSQL), with VERP keys beside its config."""
    (deployment.directory / "verp.key").write_bytes(KEY)
    (deployment.directory / "old.key").write_bytes(OLD_KEY)
    return deployment


def verp_config(deployment: Deployment, key: str = "verp.key", old: str = "") -> None:
    old_line = f'old_key_files = ["{old}"]\n' if old else ""
    deployment.write_config(extra=(
        f'[verp]\nkey_file = "{key}"\n{old_line}domain = "bounces.example.com"\n'
        "max_age_days = 30\nrequire_signature = true\n"
    ))


def sent_to(return_path: str, message: bytes) -> bytes:
    """The bounce as the MTA delivered it to `return_path` (a Delivered-To header on top)."""
    return f"Delivered-To: {return_path}\r\n".encode() + message


def test_forged_bounce_is_unverified_and_signed_one_counts(deployment):
    """With require_signature a forged DSN goes to Bounces/Unverified and counts nothing; a signed one blocks."""
    verp_config(deployment)
    today = utc_today()
    deployment.deliver(
        samples.dsn(CUSTOMER),  # forged: sent to the plain sender address
        sent_to(f"bounces+{encode_address(CUSTOMER)}+aaaaaaaaaaaaaa@bounces.example.com", samples.dsn(CUSTOMER)),
        sent_to(signer(KEY).encode("hard@example.org", today), samples.dsn("hard@example.org")),
    )
    summary = deployment.poll()
    assert summary.outcomes == {"Unverified": 2, "Hard": 1}
    assert summary.newly_blocked == ["hard@example.org"]
    assert deployment.state(CUSTOMER) is None
    assert deployment.blocklist() == ["hard@example.org"]
    assert deployment.folders() == {"Bounces/Unverified": 2, "Bounces/Hard": 1}


def test_expired_and_wrong_key_signatures_are_refused(deployment):
    """A signature past max_age_days or made with an unknown key is unverified; the report counts nothing."""
    verp_config(deployment)
    expired = signer(KEY).encode(CUSTOMER, utc_today() - timedelta(days=31))
    foreign = signer(b"z" * 32).encode("bob@example.org", utc_today())
    deployment.deliver(sent_to(expired, samples.dsn(CUSTOMER)), sent_to(foreign, samples.dsn("bob@example.org")))
    summary = deployment.poll()
    assert summary.outcomes == {"Unverified": 2} and summary.newly_blocked == []
    assert deployment.state(CUSTOMER) is None and deployment.state("bob@example.org") is None


def test_key_rotation_end_to_end(deployment):
    """After rotation, bounces to paths signed with the old key still count; once it is dropped they do not."""
    verp_config(deployment, key="verp.key", old="old.key")
    old_signed = signer(OLD_KEY).encode(CUSTOMER, utc_today())
    deployment.deliver(sent_to(old_signed, samples.dsn(CUSTOMER)))
    assert deployment.poll().newly_blocked == [CUSTOMER]
    verp_config(deployment, key="verp.key")
    deployment.deliver(sent_to(signer(OLD_KEY).encode("bob@example.org", utc_today()), samples.dsn("bob@example.org")))
    assert deployment.poll().outcomes == {"Unverified": 1}


def test_signed_path_vouches_only_for_its_recipient(deployment):
    """A DSN sent to Bob's signed path that names Alice is read as about Bob, never Alice."""
    verp_config(deployment)
    deployment.deliver(sent_to(signer(KEY).encode("bob@example.org", utc_today()), samples.dsn(CUSTOMER)))
    summary = deployment.poll()
    assert summary.newly_blocked == ["bob@example.org"]
    assert deployment.state(CUSTOMER) is None


def test_verp_encode_command(deployment):
    """`verp encode ADDRESS` prints a return path that `verp verify` accepts."""
    verp_config(deployment)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = lambda *args: subprocess.run([sys.executable, "-m", "bouncewatch", "verp", *args, "-c",
                                        str(deployment.config_path)], env=env, capture_output=True, text=True)
    encoded = run("encode", CUSTOMER)
    assert encoded.returncode == 0, encoded.stderr
    path = encoded.stdout.strip()
    assert path == signer(KEY).encode(CUSTOMER, utc_today())
    assert run("verify", path).stdout.strip() == f"{CUSTOMER}: valid"
    assert run("verify", path.replace("alice", "eve")).returncode == 1
