"""Logging in: TLS verified against ca_file, STARTTLS, XOAUTH2 tokens, and secrets kept out of output."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bouncewatch.config import MailboxSettings
from bouncewatch.imap.mailbox import Mailbox, MailboxError
from bouncewatch.imap.oauth import TokenCache
from bouncewatch.testing import samples
from bouncewatch.testing.dovecot import ThrowawayDovecot

from .daemonkit import RunningDaemon, environment, wait_for, write_config
from .spine import PASSWORD, USER


def _mailbox(dovecot: ThrowawayDovecot, **kwargs) -> MailboxSettings:
    values = {"name": "bounces", "host": "localhost", "username": USER, "password": PASSWORD, "timeout_seconds": 5}
    values.update(kwargs)
    return MailboxSettings(**values)


def test_implicit_tls_with_ca_file(dovecot):
    """TLS to the implicit-TLS port works when ca_file names the server's CA."""
    with Mailbox(_mailbox(dovecot, port=dovecot.ssl_port, ca_file=dovecot.ca_file)) as box:
        assert b"IMAP4REV1" in box.capabilities()


def test_implicit_tls_without_ca_file_is_refused(dovecot):
    """Without ca_file a self-signed server is refused, with an error that says what to do."""
    with pytest.raises(MailboxError, match="TLS certificate not trusted.*set ca_file"):
        Mailbox(_mailbox(dovecot, port=dovecot.ssl_port)).connect()


def test_starttls_on_the_plain_port(dovecot):
    """STARTTLS on the plain port upgrades, verifies with ca_file, and logs in."""
    with Mailbox(_mailbox(dovecot, port=dovecot.port, security="starttls", ca_file=dovecot.ca_file)) as box:
        assert box.folders()


def test_tls_verify_off_warns_loudly(dovecot):
    """tls_verify = false still connects, but logs a warning naming the risk."""
    with capture_logs() as logs:
        with Mailbox(_mailbox(dovecot, name="unverified", port=dovecot.ssl_port, tls_verify=False)):
            pass
    assert [e for e in logs if e["event"] == "tls_verification_disabled" and e["log_level"] == "warning"]


def _token_script(tmp_path: Path, tokens: list[str]) -> str:
    """A stand-in for the OAuth provider's CLI: prints the next token of `tokens` on each run."""
    script = tmp_path / "token.py"
    counter = tmp_path / "runs"
    script.write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            counter = Path({str(counter)!r})
            runs = int(counter.read_text()) if counter.exists() else 0
            counter.write_text(str(runs + 1))
            tokens = {tokens!r}
            print(tokens[min(runs, len(tokens) - 1)])
            """
        )
    )
    return f"{sys.executable} {script}"


def test_xoauth2_refetches_a_refused_token(tmp_path, monkeypatch):
    """XOAUTH2: an expired token is refused, the command runs again, the fresh token logs in and is cached.

    Dovecot's xoauth2 mechanism checks the bearer token against its passdb like a password, so
    the test server accepts exactly the token "fresh-token"; only the provider is simulated.
    """
    cache = TokenCache()
    monkeypatch.setattr("bouncewatch.imap.mailbox.tokens", cache)
    with ThrowawayDovecot(users={USER: "fresh-token"}, fast=True) as server:
        settings = _mailbox(
            server, host="127.0.0.1", port=server.port, security="none", password=None,
            oauth2_token_command=_token_script(tmp_path, ["expired-token", "fresh-token"]),
        )
        with Mailbox(settings):
            pass
        assert cache.runs == 2
        with Mailbox(settings):  # cached: no new run
            pass
        assert cache.runs == 2


def test_xoauth2_refused_twice_is_a_clear_error(tmp_path, monkeypatch):
    """A token refused even when fresh gives a login error naming the token, never its value."""
    cache = TokenCache()
    monkeypatch.setattr("bouncewatch.imap.mailbox.tokens", cache)
    with ThrowawayDovecot(fast=True) as server:
        settings = _mailbox(
            server, host="127.0.0.1", port=server.port, security="none", password=None,
            oauth2_token_command=_token_script(tmp_path, ["tok-AAA", "tok-BBB"]),
        )
        with pytest.raises(MailboxError) as error:
            Mailbox(settings).connect()
    assert "check username and access token" in str(error.value)
    assert "tok-" not in str(error.value)


SECRET = "Zq7-vault-Password-93x"


def _bouncewatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bouncewatch", *args], capture_output=True, text=True, env=environment(), timeout=60
    )


@pytest.mark.slow
def test_secrets_never_reach_output(tmp_path):
    """A distinctive password never appears in the output of a failing login, a poll, `check`, `status` or `run` logs."""
    outputs: list[str] = []
    with ThrowawayDovecot(users={USER: SECRET}, fast=True) as server:
        server.deliver(USER, [samples.dsn("hard@example.org")])
        url = f"sqlite:///{tmp_path}/state.db"
        good = write_config(tmp_path / "good.toml", server, url, password=SECRET, level="debug")
        bad = write_config(tmp_path / "bad.toml", server, url, password=SECRET + "-wrong", level="debug")

        failed = _bouncewatch("poll", "-c", str(bad))
        assert failed.returncode == 1 and "refused" in failed.stderr
        polled = _bouncewatch("poll", "-c", str(good))
        assert polled.returncode == 0, polled.stderr
        checked = _bouncewatch("check", "-c", str(good))
        assert checked.returncode == 0, checked.stderr
        bad_check = _bouncewatch("check", "-c", str(bad))
        assert bad_check.returncode == 1
        status = _bouncewatch("status", "hard@example.org", "-c", str(good))
        for result in (failed, polled, checked, bad_check, status):
            outputs += [result.stdout, result.stderr]

        daemon = RunningDaemon(bad, tmp_path / "run.log")
        wait_for(lambda: any(e.get("event") == "cycle_failed" for e in daemon.events()), timeout=15)
        daemon.stop()
        outputs.append(daemon.log_path.read_text())
        outputs.append(server.log_path.read_text())  # not ours, but a leak there would matter too

    assert all(SECRET not in text for text in outputs)
    assert "refused" in outputs[-2]
