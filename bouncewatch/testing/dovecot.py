"""A throwaway, real Dovecot 2.3 IMAP server on 127.0.0.1, for tests, the demo and benchmarks.

Each instance lives in one directory (config, self-signed certificate, passwd file, Maildirs,
log) and listens on two free ports: plain/STARTTLS and implicit TLS. It starts in about 25 ms.

    with ThrowawayDovecot() as server:
        server.deliver("bounces", [raw_bytes])
        with server.client("bounces") as imap:
            imap.select_folder("INBOX")

Needs Debian's `dovecot-imapd` (Dovecot 2.3; Debian 13's 2.4 has another config syntax) and
`openssl`. Works as root (mail belongs to the `dovecot` user) and as an ordinary user (everything
runs as that user).

What it takes care of, learnt the hard way:
- as root, Dovecot's unprivileged processes must be able to enter the directory (mode 0755,
  Maildirs owned by the mail user), and a userdb uid below first_valid_uid fails every
  command after LOGIN with "Internal error";
- not as root, every service needs `chroot =`, or logins stall for 5 s;
- the whole process group is signalled (killing only the master leaves sessions alive), and
  the server dies with the process that started it (PR_SET_PDEATHSIG): see servers.py;
- imapclient speaks implicit TLS by default: the plain port needs ssl=False.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from itertools import count
from pathlib import Path
from types import MappingProxyType

from ..imap import IMAPClient, encode_folder_name
from .servers import ServerProcess, free_ports, program

START_TIMEOUT = 10.0
_INSTALL_HINT = "install it: apt-get install dovecot-imapd"
_sequence = count()


def _check_enterable(root: Path) -> None:
    """As root, Dovecot's unprivileged processes must traverse every parent of root ."""
    for parent in root.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            raise RuntimeError(
                f"{parent} is not enterable by other users (mode {mode & 0o777:o}),"
                f" so Dovecot's processes cannot reach {root}; pick a root elsewhere"
                " (pytest's tmp_path is 0700), or leave root=None for a temp dir"
            )


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


class ThrowawayDovecot(ServerProcess):
    """One Dovecot master process, its directory and its ports; a context manager."""

    def __init__(
        self,
        root: Path | None = None,
        users: Mapping[str, str] = MappingProxyType({"bounces": "secret"}),
        fast: bool = False,
    ) -> None:
        self._dovecot = program("dovecot", _INSTALL_HINT)
        self._openssl = program("openssl", "install it: apt-get install openssl")
        self._owns_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-")) if root is None else Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # as root, the dovecot user must be able to enter it
        if os.geteuid() == 0:
            _check_enterable(self.root)
        self.fast = fast
        self.port, self.ssl_port = free_ports()
        self.ca_file = self.root / "cert.pem"
        self.log_path = self.root / "dovecot.log"
        self._passwd = self.root / "passwd"
        self._users: dict[str, str] = {}
        self._proc = None
        self._started_once = False
        self._token = uuid.uuid4().hex[:12]

        if os.geteuid() == 0:  # mail belongs to an unprivileged uid >= first_valid_uid
            try:
                account = pwd.getpwnam("dovecot")
            except KeyError:
                raise RuntimeError(f"no 'dovecot' system user; {_INSTALL_HINT}") from None
            self._uid, self._gid = account.pw_uid, account.pw_gid
            self._internal_user, self._login_user = "dovecot", "dovenull"
            self._internal_group = grp.getgrgid(account.pw_gid).gr_name
        else:  # everything runs as us (and every service needs chroot =)
            self._uid, self._gid = os.getuid(), os.getgid()
            self._internal_user = self._login_user = pwd.getpwuid(self._uid).pw_name
            self._internal_group = grp.getgrgid(self._gid).gr_name

        for sub in ("mail", "home"):
            (self.root / sub).mkdir(exist_ok=True)
            self._chown(self.root / sub)
        for sub in ("run", "state"):
            (self.root / sub).mkdir(exist_ok=True)
        for name, password in users.items():
            self._users[name] = password
        try:
            self._write_passwd()
            if not self.ca_file.exists():
                self._make_certificate()
        except BaseException:
            if self._owns_root:
                shutil.rmtree(self.root, ignore_errors=True)
            raise

    @property
    def users(self) -> tuple[str, ...]:
        """The user names; each has its Maildir under root/mail."""
        return tuple(self._users)

    @property
    def mail_ids(self) -> tuple[int, int]:
        """The uid and gid that own the mail (the `dovecot` user's as root, else our own)."""
        return self._uid, self._gid

    # -- process ------------------------------------------------------------------------------

    def start(self) -> ThrowawayDovecot:
        """Start; return once it greets with `* OK` (else RuntimeError quoting the log)."""
        if self.running:
            return self
        for attempt in range(3):
            try:
                self._start_once()
                self._started_once = True
                return self
            except RuntimeError as error:
                # Another process may have taken a port between free_ports() and now: pick
                # new ones, unless restart() promised the same ports.
                if self._started_once or attempt == 2 or "in use" not in str(error):
                    raise
                self.port, self.ssl_port = free_ports()
        return self

    def _start_once(self) -> None:
        self._write_config()
        # early errors (bad config) go to stderr, hence into the log too
        self._spawn([self._dovecot, "-F", "-c", str(self.root / "dovecot.conf")], self.log_path)
        if self._wait_until(self._greets, START_TIMEOUT):
            return
        self.kill()
        raise RuntimeError(
            f"dovecot did not come up on {self.host}:{self.port} within {START_TIMEOUT:.0f} s; "
            f"end of {self.log_path}:\n{self.log_tail()}"
        )

    def _greets(self) -> bool:
        """True once *our* server greets: the token tells it apart from whoever held the port."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                greeting = b""
                while not greeting.endswith(b"\n") and len(greeting) < 4096:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    greeting += chunk
        except OSError:
            return False
        return greeting.startswith(b"* OK") and self._token.encode() in greeting

    def stop(self) -> None:
        """SIGTERM to the whole process group (killing only the master leaves sessions alive), then wait for the master.

        Every process gets SIGTERM at once, yet the master sometimes waits for its children in
        1 s or 6 s steps (SERVICE_DIE_TIMEOUT); after `stop_grace` the group gets SIGKILL.
        """
        self._signal_group(signal.SIGTERM)

    def restart(self) -> None:
        """Stop if running, then start again on the same directory and ports."""
        self.stop()
        self.start()

    # -- users and mail -----------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Add (or change) a user while running; takes up to 1 s (pass many users to __init__).

        Dovecot's passwd-file stats the file at most once per second (`last_sync_time ==
        ioloop_time` in db-passwd-file.c), so a login in the same second as an earlier lookup
        would still see the old file. Wait until the clock is past the file's mtime second.
        """
        self._users[name] = password
        mtime = self._write_passwd()
        while self.running and time.time() < mtime + 1:
            time.sleep(max(0.0, mtime + 1 - time.time()) + 0.001)

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """The Maildir of `folder` (Maildir++ layout: `Archive/Hard` is `.Archive.Hard`)."""
        base = self.root / "mail" / user
        if folder.upper() == "INBOX":
            return base
        return base / ("." + encode_folder_name(folder).replace("/", "."))

    def deliver(self, user: str, messages: Iterable[bytes], folder: str = "INBOX") -> int:
        """Write messages straight into the Maildir (tmp/, then rename into new/); return how many.

        About 40 times faster than APPEND; Dovecot indexes them at the next SELECT.
        """
        target = self.maildir(user, folder)
        if not (target / "new").is_dir():
            self._ensure_folder(user, folder)  # over IMAP, so the dirs belong to the mail user
        tmp, new = target / "tmp", target / "new"
        chown = os.geteuid() == 0
        stem = f"{time.time_ns()}.P{os.getpid()}Q{next(_sequence)}"
        delivered = 0
        for message in messages:
            name = f"{stem}N{delivered}.{socket.gethostname()}"
            fd = os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, message)
                if chown:
                    os.fchown(fd, self._uid, self._gid)
            finally:
                os.close(fd)
            os.rename(tmp / name, new / name)
            delivered += 1
        return delivered

    def append(self, user: str, message: bytes, folder: str = "INBOX") -> int:
        """APPEND one message over IMAP (creating the folder if missing); return its UID."""
        with self.client(user) as imap:
            if folder.upper() != "INBOX" and not imap.folder_exists(folder):
                imap.create_folder(folder)
            response = imap.append(folder, message)
        match = re.search(rb"APPENDUID \d+ (\d+)", response)
        if not match:
            raise RuntimeError(f"no APPENDUID in the APPEND response: {response!r}")
        return int(match.group(1))

    def client(self, user: str, *, tls: bool = False) -> IMAPClient:
        """A logged-in IMAPClient: plain port without TLS, or implicit TLS trusting ca_file."""
        if tls:
            context = ssl.create_default_context(cafile=str(self.ca_file))
            imap = IMAPClient(
                self.host, port=self.ssl_port, ssl=True, ssl_context=context, timeout=10
            )
        else:
            imap = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)  # plain port: imapclient defaults to implicit TLS
        try:
            imap.login(user, self._users[user])
        except BaseException:
            imap.shutdown()
            raise
        return imap

    def mailbox_toml(self, user: str, name: str = "bounces", *, ca_file: str | None = None, **extra: object) -> str:
        """A bouncewatch `[[mailboxes]]` table for `user` on this server: plain IMAP on loopback,
        or implicit TLS trusting `ca_file` when given; `extra` adds keys (strings are quoted)."""
        keys: dict[str, object] = {"name": name, "host": self.host}
        if ca_file is None:
            keys |= {"port": self.port, "security": "none"}
        else:
            keys |= {"port": self.ssl_port, "security": "tls", "ca_file": ca_file}
        keys |= {"username": user, "password": self._users[user], **extra}
        return "[[mailboxes]]\n" + "".join(f"{key} = {_toml(value)}\n" for key, value in keys.items())

    def folder_counts(self, user: str) -> dict[str, int]:
        """Every selectable folder of `user` mapped to its message count, over IMAP.

        Maildir++ parents that exist only as hierarchy (`Archive` of `Archive/Hard`) are
        \\Noselect and left out.
        """
        counts: dict[str, int] = {}
        with self.client(user) as imap:
            for flags, _delimiter, name in imap.list_folders():
                if b"\\Noselect" in flags or b"\\NonExistent" in flags:
                    continue
                counts[name] = int(imap.folder_status(name, [b"MESSAGES"])[b"MESSAGES"])
        return counts

    # -- files --------------------------------------------------------------------------------

    def _ensure_folder(self, user: str, folder: str) -> None:
        with self.client(user) as imap:
            if folder.upper() == "INBOX":
                imap.select_folder("INBOX", readonly=True)  # creates the user's Maildir
            elif not imap.folder_exists(folder):
                imap.create_folder(folder)

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            os.chown(path, self._uid, self._gid)

    def _write_passwd(self) -> int:
        """Write the passwd file atomically; return its mtime in whole seconds.

        Dovecot compares mtime (seconds) and size, so the mtime must differ from the last one.
        """
        lines = "".join(f"{user}:{{PLAIN}}{pw}::::::\n" for user, pw in self._users.items())
        mtime = int(time.time())
        try:
            old = self._passwd.stat()
            if old.st_size == len(lines.encode()) and int(old.st_mtime) >= mtime:
                mtime = int(old.st_mtime) + 1  # same size: only a new mtime tells them apart
        except FileNotFoundError:
            pass
        tmp = self._passwd.with_suffix(".tmp")
        tmp.write_text(lines)
        tmp.chmod(0o644)
        os.utime(tmp, (mtime, mtime))
        tmp.replace(self._passwd)
        return mtime

    def _make_certificate(self) -> None:
        key = self.root / "key.pem"
        result = subprocess.run(
            [
                self._openssl, "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", str(key), "-out", str(self.ca_file),
            ],
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"openssl failed: {result.stderr.decode(errors='replace')}")

    def _write_config(self) -> None:
        d = self.root
        fast = "mail_fsync = never\nauth_failure_delay = 0\n" if self.fast else ""
        (d / "dovecot.conf").write_text(
            f"""\
base_dir = {d}/run
state_dir = {d}/state
instance_name = dovecot-test-{self.port}
login_greeting = Dovecot test server {self._token} ready.
log_path = {self.log_path}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.ca_file}
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
# xoauth2: Dovecot checks the bearer token against the passdb as if it were the password,
# so in tests a user's password doubles as its OAuth2 access token (no provider needed).
auth_mechanisms = plain login xoauth2
default_login_user = {self._login_user}
default_internal_user = {self._internal_user}
default_internal_group = {self._internal_group}
first_valid_uid = 1
mail_location = maildir:{d}/mail/%u
{fast}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self._passwd}
}}
userdb {{
  driver = static
  args = uid={self._uid} gid={self._gid} home={d}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service anvil {{
  chroot =
}}
service ipc {{
  chroot =
}}
service imap-urlauth-login {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ssl_port}
    ssl = yes
  }}
}}
"""
        )
