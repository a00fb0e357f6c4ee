"""Pins the behaviour of ThrowawayDovecot against the real server."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

import pytest
from imapclient.exceptions import LoginError

from bouncewatch.testing import ThrowawayDovecot
from bouncewatch.testing.samples import dsn, not_a_bounce


def test_plain_login_and_capabilities(dovecot: ThrowawayDovecot) -> None:
    """A plain-port login works and the server offers IDLE, MOVE and UIDPLUS."""
    with dovecot.client("bounces") as imap:
        capabilities = set(imap.capabilities())
    assert {b"IDLE", b"MOVE", b"UIDPLUS"} <= capabilities


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tls_login_verifies_certificate(dovecot: ThrowawayDovecot, host: str) -> None:
    """Implicit TLS verifies against ca_file by IP and by name, and the login succeeds."""
    from imapclient import IMAPClient

    context = ssl.create_default_context(cafile=str(dovecot.ca_file))
    with IMAPClient(host, port=dovecot.ssl_port, ssl=True, ssl_context=context, timeout=5) as imap:
        imap.login("bounces", "secret")
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0


def test_client_tls_helper(dovecot: ThrowawayDovecot) -> None:
    """client(tls=True) returns a logged-in client over implicit TLS."""
    with dovecot.client("bounces", tls=True) as imap:
        assert imap.ssl
        assert imap.list_folders()


def test_tls_rejects_untrusted_certificate(dovecot: ThrowawayDovecot) -> None:
    """Without ca_file trusted the self-signed certificate is refused."""
    from imapclient import IMAPClient

    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(dovecot.host, port=dovecot.ssl_port, ssl=True, timeout=5)


def test_starttls_on_plain_port(dovecot: ThrowawayDovecot) -> None:
    """The plain port offers STARTTLS, verified against ca_file."""
    from imapclient import IMAPClient

    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=5) as imap:
        imap.starttls(ssl.create_default_context(cafile=str(dovecot.ca_file)))
        imap.login("bounces", "secret")


def test_wrong_password_is_refused() -> None:
    """A wrong password raises LoginError; fast=True runs Dovecot without its failure delay."""
    from imapclient import IMAPClient

    with ThrowawayDovecot(fast=True) as server:
        with IMAPClient(server.host, port=server.port, ssl=False, timeout=5) as imap:
            with pytest.raises(LoginError):
                imap.login("bounces", "wrong")
        running = subprocess.run(
            ["doveconf", "-c", str(server.root / "dovecot.conf"), "-h", "auth_failure_delay"],
            capture_output=True, text=True, check=True,
        )
    assert running.stdout.strip() in {"0", "0 secs"}


def test_deliver_then_folder_counts(dovecot: ThrowawayDovecot) -> None:
    """Messages written into INBOX and a new nested folder are all counted over IMAP."""
    assert dovecot.deliver("bounces", (dsn(f"u{i}@example.org") for i in range(50))) == 50
    assert dovecot.deliver("bounces", [not_a_bounce()] * 3, folder="Archive/Hard") == 3
    assert dovecot.folder_counts("bounces") == {"INBOX": 50, "Archive/Hard": 3}
    assert (dovecot.maildir("bounces", "Archive/Hard") / "new").is_dir()


def test_delivered_message_is_fetched_intact(dovecot: ThrowawayDovecot) -> None:
    """A delivered message comes back byte for byte through FETCH BODY.PEEK[]."""
    message = dsn("gone@example.org")
    dovecot.deliver("bounces", [message])
    with dovecot.client("bounces") as imap:
        imap.select_folder("INBOX", readonly=True)
        (uid,) = imap.search()
        assert imap.fetch([uid], [b"BODY.PEEK[]"])[uid][b"BODY[]"] == message


def test_delivered_files_belong_to_mail_user(dovecot: ThrowawayDovecot) -> None:
    """Seeded files and IMAP-created folders belong to the uid Dovecot runs mail as."""
    dovecot.deliver("bounces", [not_a_bounce()], folder="Archive/Soft")
    folder = dovecot.maildir("bounces", "Archive/Soft")
    expected = os.stat(dovecot.maildir("bounces")).st_uid
    assert expected == (os.stat(dovecot.root / "mail").st_uid)
    assert {path.stat().st_uid for path in [folder, *(folder / "new").iterdir()]} == {expected}


def test_append_returns_uid(dovecot: ThrowawayDovecot) -> None:
    """append() stores over IMAP and returns consecutive UIDs, creating the folder if needed."""
    assert dovecot.append("bounces", not_a_bounce()) == 1
    assert dovecot.append("bounces", not_a_bounce()) == 2
    assert dovecot.append("bounces", not_a_bounce(), folder="Quarantine") == 1
    assert dovecot.folder_counts("bounces") == {"INBOX": 2, "Quarantine": 1}


def test_kill_and_restart_keep_mail_and_ports(dovecot: ThrowawayDovecot) -> None:
    """After a SIGKILL crash, restart() comes back on the same ports with the mail intact."""
    dovecot.deliver("bounces", [not_a_bounce()] * 5)
    dovecot.append("bounces", not_a_bounce(), folder="Archive/Hard")
    port, ssl_port = dovecot.port, dovecot.ssl_port
    connected = dovecot.client("bounces")
    connected.select_folder("INBOX")

    dovecot.kill()
    assert not dovecot.running
    with pytest.raises(Exception):  # the open connection sees an abort/EOF
        connected.noop()
    dovecot.restart()

    assert (dovecot.port, dovecot.ssl_port) == (port, ssl_port)
    assert dovecot.folder_counts("bounces") == {"INBOX": 5, "Archive/Hard": 1}


def test_stop_then_start_again(dovecot: ThrowawayDovecot) -> None:
    """stop() ends the server (connections refused) and start() brings it back."""
    dovecot.stop()
    with pytest.raises(OSError):
        dovecot.client("bounces")
    dovecot.start()
    assert dovecot.folder_counts("bounces") == {"INBOX": 0}


def test_add_user_at_runtime(dovecot: ThrowawayDovecot) -> None:
    """A user added while running can log in at once, even right after another login."""
    dovecot.folder_counts("bounces")  # an auth lookup in this second (Dovecot caches per second)
    dovecot.add_user("alice", "wonderland")
    with dovecot.client("alice") as imap:
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0
    dovecot.add_user("alice", "looking-glass")  # a changed password takes effect too
    with dovecot.client("alice"):
        pass


def test_users_are_isolated() -> None:
    """Users given to the constructor each get their own mailbox."""
    with ThrowawayDovecot(users={"a": "1", "b": "2"}, fast=True) as server:
        server.deliver("a", [not_a_bounce()] * 2)
        assert server.folder_counts("a") == {"INBOX": 2}
        assert server.folder_counts("b") == {"INBOX": 0}


def test_given_root_is_kept() -> None:
    """A root passed in is created if missing, made enterable, and not removed on exit."""
    parent = Path(tempfile.mkdtemp())
    try:
        parent.chmod(0o755)
        root = parent / "server"
        with ThrowawayDovecot(root=root) as server:
            server.deliver("bounces", [not_a_bounce()])
        assert (root / "mail" / "bounces" / "new").is_dir()
        assert root.stat().st_mode & 0o777 == 0o755
    finally:
        shutil.rmtree(parent)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the mail to another uid")
def test_unreachable_root_is_refused_as_root(tmp_path: Path) -> None:
    """As root, a root under a 0700 dir (pytest's tmp_path) is refused with a clear error."""
    with pytest.raises(RuntimeError, match="not enterable"):
        ThrowawayDovecot(root=tmp_path / "server")


def test_temp_root_removed_on_exit() -> None:
    """A temporary root made by the harness is removed by __exit__."""
    with ThrowawayDovecot() as server:
        root = server.root
        assert root.is_dir()
    assert not root.exists()


def test_start_failure_reports_log(dovecot: ThrowawayDovecot) -> None:
    """If its port is taken after a first start, start() fails, quoting Dovecot's log, and is not running."""
    second = ThrowawayDovecot()
    try:
        second.start()
        second.stop()
        second.port = dovecot.port  # another server now holds the promised port
        with pytest.raises(RuntimeError, match="Address already in use"):
            second.start()  # must not mistake the other server's greeting for its own
        assert not second.running
    finally:
        second.__exit__(None, None, None)


def test_first_start_picks_new_ports_when_taken(dovecot: ThrowawayDovecot) -> None:
    """A port grabbed by someone else between choosing and the first start is replaced."""
    server = ThrowawayDovecot()
    server.port = dovecot.port
    with server:
        assert server.port != dovecot.port
        assert server.folder_counts("bounces") == {"INBOX": 0}
