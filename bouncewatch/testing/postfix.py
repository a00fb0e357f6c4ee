"""A throwaway, real Postfix on 127.0.0.1 that writes its own DSNs into a ThrowawayDovecot.

One Postfix instance (Debian's `postfix` package, 3.x) with its own config directory, queue,
data directory, log and ports in one temp dir; its `master` runs in the foreground as a child in
its own process group, so stopping it reaches every daemon. Mail is injected over SMTP on
`port`; every address in `LOCAL_DOMAIN` is a mailbox of the Dovecot, written by Postfix's own
virtual(8) delivery agent into the Dovecot's Maildirs, so the bounces, delay warnings and success
notices Postfix writes land there as Postfix wrote them.

The same instance plays the other side too, with extra smtpd services on ports of their own;
the machine's DNS is never asked:

| domain | what Postfix does with mail for it |
|---|---|
| `bounce.test` | delivers to the Dovecot user of that name (`aliases` fan one out to several); an unknown user bounces (5.1.1); a user in `quota_users` has a full mailbox (an mbox filled up to `quota_bytes`): every message bounces (5.2.2) |
| `remote.test` | relays over SMTP to `mx.remote.test` (DSN and SIZE advertised, `size_limit`), which knows only `remote_users` (550 5.1.1 for others) and answers `remote_rejections` (an access map: address → action) |
| `legacy.test` | relays to `mx.legacy.test`, which advertises neither DSN nor SIZE: too big is refused after DATA, success is "relayed" |
| `blocking.test` | relays to `mx.blocking.test`, which refuses our IP with `blocking_reply` (an access map on the client) |
| `nohost.test` | a domain the name server says does not exist (NXDOMAIN): Postfix fails the host for good (5.4.4) |
| `nullmx.test` | a domain whose only MX is "." (null MX, RFC 7505): it accepts no mail (5.1.0) |
| `loop.test` | relays to the injection port itself: the mail goes round until Postfix refuses it for too many hops (554 5.4.0) |
| `refused.test` | a port nobody listens on: deferred (4.4.1), a delay warning after `delay_warning`, returned after `lifetime` |

Mail accepted by the receiving smtpd services is discarded. Names are answered by a name server
of the rig's own (dnslib, on port 53 of an address of its own in 127.0.0.0/8), which Postfix's
SMTP client reaches through the resolv.conf of its chroot (the queue directory): the machine's
DNS is never asked. Postfix needs root: it runs as
`mail_owner = postfix` with `setgid_group = postdrop`; no system Postfix is touched (its
/etc/postfix and /var/spool/postfix are not used).

What it takes care of:
- the queue directory and its subdirectories get Postfix's own owners and modes (faster than
  `postfix check`, which takes seconds);
- the receiving services have host names of their own, else Postfix sees its own greeting and
  bounces with "mail loops back to myself";
- glibc keeps the nsswitch.conf it read before chroot() (so hosts-only lookups inside the
  chroot are not possible), but it reads the chroot's resolv.conf: hence a name server;
- a user over quota has an mbox filled up to `quota_bytes` (virtual_mailbox_limit caps a
  mailbox file; a Maildir message over it makes virtual(8) panic instead of bouncing);
- the injection service accepts unknown recipients (`smtpd_reject_unlisted_recipient = no`),
  so that their failures come back as DSNs instead of SMTP errors;
- `maillog_file` must sit under `maillog_file_prefixes`, so the prefix is this directory;
- Postfix re-reads a config file changed within the last second until it is older, which made
  master take 2 s to start: the files are dated back a minute;
- the whole process group is signalled, and master dies with the process that started it.
"""

from __future__ import annotations

import grp
import importlib.util
import os
import pwd
import random
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from types import MappingProxyType

from .dovecot import ThrowawayDovecot
from .servers import ServerProcess, free_ports, program

START_TIMEOUT = 15.0
_INSTALL_HINT = "install it: apt-get install postfix (choose 'No configuration')"

LOCAL_DOMAIN = "bounce.test"
REMOTE_DOMAIN = "remote.test"
LEGACY_DOMAIN = "legacy.test"
BLOCKING_DOMAIN = "blocking.test"
NOHOST_DOMAIN = "nohost.test"
NULLMX_DOMAIN = "nullmx.test"
LOOP_DOMAIN = "loop.test"
REFUSED_DOMAIN = "refused.test"

# Postfix's queue layout: name → (owner is mail_owner, group, mode).
_QUEUE_DIRS = {
    "active": (True, None, 0o700), "bounce": (True, None, 0o700), "corrupt": (True, None, 0o700),
    "defer": (True, None, 0o700), "deferred": (True, None, 0o700), "flush": (True, None, 0o700),
    "hold": (True, None, 0o700), "incoming": (True, None, 0o700), "private": (True, None, 0o700),
    "saved": (True, None, 0o700), "trace": (True, None, 0o700), "maildrop": (True, "postdrop", 0o730),
    "public": (True, "postdrop", 0o710), "pid": (False, None, 0o755),
}


def postfix_available() -> str:
    """Why a ThrowawayPostfix cannot run here, or ``""`` when it can."""
    if os.geteuid() != 0:
        return "Postfix runs as root (mail_owner=postfix, setgid postdrop); run the tests as root"
    if not (shutil.which("postconf") or shutil.which("postconf", path="/usr/sbin:/sbin")):
        return f"postfix is not installed; {_INSTALL_HINT}"
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError:
        return f"no 'postfix' user or 'postdrop' group; {_INSTALL_HINT}"
    if importlib.util.find_spec("dnslib") is None:
        return "the rig's name server needs dnslib: pip install -e '.[test]'"
    return ""


def _daemon_directory() -> Path:
    postconf = program("postconf", _INSTALL_HINT)
    with tempfile.TemporaryDirectory() as empty:  # defaults only: /etc/postfix/main.cf may not exist
        out = subprocess.run([postconf, "-d", "-h", "-c", empty, "daemon_directory"],
                             capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _texthash(entries: Mapping[str, str] | Iterable[str]) -> str:
    if isinstance(entries, Mapping):
        return "".join(f"{key} {value}\n" for key, value in entries.items())
    return "".join(f"{key} x\n" for key in entries)


class ThrowawayPostfix(ServerProcess):
    """One Postfix master process, its directory and its ports; a context manager."""

    stop_grace = 2.0

    def __init__(
        self,
        dovecot: ThrowawayDovecot,
        *,
        root: Path | None = None,
        aliases: Mapping[str, Sequence[str]] = MappingProxyType({}),
        quota_users: Sequence[str] = (),
        quota_bytes: int = 20_000,
        remote_users: Sequence[str] = (),
        remote_rejections: Mapping[str, str] = MappingProxyType({}),
        size_limit: int = 20_000,
        blocking_reply: str = "REJECT",
        delay_warning: int = 2,
        lifetime: int = 5,
    ) -> None:
        problem = postfix_available()
        if problem:
            raise RuntimeError(problem)
        self.dovecot = dovecot
        self._master = _daemon_directory() / "master"
        self._owns_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="postfix-")) if root is None else Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # postfix's unprivileged daemons enter it
        self.config_dir = self.root / "conf"
        self.queue_dir = self.root / "queue"
        self.log_path = self.root / "maillog"
        (self.port, self.remote_port, self.legacy_port, self.blocking_port,
         self.refused_port) = free_ports(5)  # refused_port: nobody ever listens there
        self._token = uuid.uuid4().hex[:12]
        self._names = _NameServer({NULLMX_DOMAIN: "."})
        self._proc = None
        self.aliases = {k: tuple(v) for k, v in aliases.items()}
        self.quota_users = tuple(quota_users)
        self.quota_bytes = quota_bytes
        self.remote_users = tuple(remote_users)
        self.remote_rejections = dict(remote_rejections)
        self.size_limit = size_limit
        self.blocking_reply = blocking_reply
        self.delay_warning = delay_warning
        self.lifetime = lifetime
        try:
            self._make_directories()
            self._write_maps()
            self._write_config()
            # Postfix re-reads a file changed within the last second until it is older (a guard
            # against reading half-written files): date them back, and master starts at once.
            past = time.time() - 60
            for path in self.config_dir.iterdir():
                os.utime(path, (past, past))
        except BaseException:
            if self._owns_root:
                shutil.rmtree(self.root, ignore_errors=True)
            raise

    # -- process ------------------------------------------------------------------------------

    def start(self) -> ThrowawayPostfix:
        """Start master in the foreground; return once the injection port greets with our token."""
        if self.running:
            return self
        self._names.start()
        # The chrooted SMTP client asks the rig's name server, never the machine's.
        (self.queue_dir / "etc" / "resolv.conf").write_text(
            f"nameserver {self._names.address}\noptions timeout:2 attempts:2\n"
        )
        output = self.root / "master.out"
        self._spawn([str(self._master), "-c", str(self.config_dir), "-d"], output)
        if self._wait_until(self._greets, START_TIMEOUT):
            return self
        self.stop()
        raise RuntimeError(
            f"postfix did not come up on {self.host}:{self.port} within {START_TIMEOUT:.0f} s;"
            f" {output}:\n{output.read_text(errors='replace')[-2000:]}"
            f"\nend of {self.log_path}:\n{self.log_tail()}"
        )

    def _greets(self) -> bool:
        """True once *our* master greets: the token tells it apart from whoever held the port."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                greeting = sock.recv(512)
                sock.sendall(b"QUIT\r\n")
        except OSError:
            return False
        return greeting.startswith(b"220 ") and self._token.encode() in greeting

    def stop(self) -> None:
        """SIGTERM to the whole process group (SIGKILL after `stop_grace`); the name server too."""
        self._signal_group(signal.SIGTERM)
        self._names.stop()

    # -- mail ---------------------------------------------------------------------------------

    def send(
        self,
        sender: str,
        recipients: Sequence[str],
        *,
        subject: str = "Hello",
        size: int = 0,
        notify: str = "",
    ) -> str:
        """Inject one message over SMTP; return Postfix's queue id.

        `size` pads the body to about that many bytes; `notify` is the DSN NOTIFY value
        (``SUCCESS``, ``SUCCESS,FAILURE``, ...) given for every recipient.
        """
        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or LOCAL_DOMAIN)
        body = "A test message.\n"
        if size > len(body):
            line = "x" * 75 + "\n"
            body += line * ((size - len(body)) // len(line) + 1)
        message.set_content(body)
        rcpt_options = [f"NOTIFY={notify}"] if notify else []
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.ehlo("client.test")
            code, reply = smtp.mail(sender)
            if code != 250:
                raise RuntimeError(f"MAIL FROM refused: {code} {reply!r}")
            for rcpt in recipients:
                code, reply = smtp.rcpt(rcpt, rcpt_options)
                if code not in (250, 251):
                    raise RuntimeError(f"RCPT TO:<{rcpt}> refused: {code} {reply!r}")
            code, reply = smtp.data(message.as_bytes())
        if code != 250:
            raise RuntimeError(f"DATA refused: {code} {reply!r}")
        return reply.decode(errors="replace").rsplit(" ", 1)[-1]

    def wait_for_mail(self, user: str, count: int, timeout: float = 30.0) -> list[bytes]:
        """The messages Postfix delivered into `user`'s Dovecot INBOX, once there are `count`.

        Read from the Maildir (new/ and cur/), oldest first; RuntimeError quoting the mail log
        when fewer arrive within `timeout` seconds.
        """
        maildir = self.dovecot.maildir(user)
        deadline = time.monotonic() + timeout
        while True:
            files = [p for sub in ("new", "cur") if (maildir / sub).is_dir() for p in (maildir / sub).iterdir()]
            if len(files) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if len(files) < count:
            raise RuntimeError(
                f"{len(files)} of {count} messages reached {user}'s mailbox within {timeout:.0f} s;"
                f" end of {self.log_path}:\n{self.log_tail()}"
            )
        files.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
        return [p.read_bytes() for p in files]

    # -- files --------------------------------------------------------------------------------

    def _make_directories(self) -> None:
        postfix = pwd.getpwnam("postfix")
        postdrop_gid = grp.getgrnam("postdrop").gr_gid
        self.config_dir.mkdir(exist_ok=True)
        self.queue_dir.mkdir(exist_ok=True)
        self.queue_dir.chmod(0o755)
        for name, (owned, group, mode) in _QUEUE_DIRS.items():
            path = self.queue_dir / name
            path.mkdir(exist_ok=True)
            path.chmod(mode)
            os.chown(path, postfix.pw_uid if owned else 0, postdrop_gid if group else 0)
        data = self.root / "data"
        data.mkdir(exist_ok=True)
        data.chmod(0o700)
        os.chown(data, postfix.pw_uid, postfix.pw_gid)
        etc = self.queue_dir / "etc"  # the SMTP client's chroot: resolv.conf is written at start
        etc.mkdir(exist_ok=True)
        (etc / "services").write_text("smtp 25/tcp mail\n")
        uid, gid = self.dovecot.mail_ids
        quota = self.root / "quota"
        quota.mkdir(exist_ok=True)
        os.chown(quota, uid, gid)
        for user in self.quota_users:  # full up to a few hundred bytes below the limit
            mbox = quota / user
            mbox.write_text("From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n\n"
                            + ("x" * 99 + "\n") * ((self.quota_bytes - 400) // 100) + "\n")
            os.chown(mbox, uid, gid)

    def _write_maps(self) -> None:
        conf = self.config_dir
        users = set(self.dovecot.users)
        for alias, targets in self.aliases.items():
            users.discard(alias)
            users.update(targets)
        mailboxes = {f"{user}@{LOCAL_DOMAIN}": f"{self.dovecot.maildir(user)}/" for user in sorted(users)}
        mailboxes |= {f"{user}@{LOCAL_DOMAIN}": str(self.root / "quota" / user) for user in self.quota_users}
        (conf / "mailboxes").write_text(_texthash(mailboxes))
        (conf / "aliases").write_text(_texthash({
            f"{alias}@{LOCAL_DOMAIN}": ", ".join(f"{t}@{LOCAL_DOMAIN}" for t in targets)
            for alias, targets in self.aliases.items()
        }))
        transport = {
            **{f"{user}@{LOCAL_DOMAIN}": "virtual-quota:" for user in self.quota_users},
            REMOTE_DOMAIN: f"smtp:[{self.host}]:{self.remote_port}",
            LEGACY_DOMAIN: f"smtp:[{self.host}]:{self.legacy_port}",
            BLOCKING_DOMAIN: f"smtp:[{self.host}]:{self.blocking_port}",
            REFUSED_DOMAIN: f"smtp:[{self.host}]:{self.refused_port}",
            NOHOST_DOMAIN: "smtp:",
            NULLMX_DOMAIN: "smtp:",
            LOOP_DOMAIN: f"smtp:[{self.host}]:{self.port}",
        }
        (conf / "transport").write_text(_texthash(transport))
        (conf / "relay-recipients").write_text(
            _texthash([f"{user}@{REMOTE_DOMAIN}" for user in self.remote_users] + [f"@{LEGACY_DOMAIN}"])
        )
        (conf / "remote-access").write_text(_texthash(self.remote_rejections))
        (conf / "blocking-clients").write_text(_texthash({self.host: self.blocking_reply}))

    def _write_config(self) -> None:
        conf, d = self.config_dir, self.root
        dovecot = self.dovecot
        uid, gid = dovecot.mail_ids
        (conf / "main.cf").write_text(
            f"""\
compatibility_level = 3.6
queue_directory = {self.queue_dir}
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = {d}
maillog_file = {self.log_path}
inet_interfaces = {self.host}
inet_protocols = ipv4
myhostname = mx.{LOCAL_DOMAIN}
mydomain = {LOCAL_DOMAIN}
myorigin = $myhostname
mydestination =
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP {self._token}
alias_maps =
alias_database =
notify_classes =
biff = no
smtputf8_enable = no
# Names: the rig's name server, through the resolv.conf of the SMTP client's chroot.
smtp_dns_support_level = enabled
smtp_connect_timeout = 5s
virtual_mailbox_domains = {LOCAL_DOMAIN}
virtual_mailbox_base = /
virtual_mailbox_maps = texthash:{conf}/mailboxes
virtual_alias_maps = texthash:{conf}/aliases
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = 1
relay_domains = {REMOTE_DOMAIN} {LEGACY_DOMAIN}
relay_recipient_maps = texthash:{conf}/relay-recipients
transport_maps = texthash:{conf}/transport
# Retry and give up within seconds (Postfix's floor is one second for each).
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 1s
delay_warning_time = {self.delay_warning}s
maximal_queue_lifetime = {self.lifetime}s
bounce_queue_lifetime = {self.lifetime}s
"""
        )
        receiving = f"-o message_size_limit={self.size_limit} -o content_filter=discard:"
        (conf / "master.cf").write_text(
            f"""\
{self.host}:{self.port} inet n - n - - smtpd -o smtpd_reject_unlisted_recipient=no
{self.host}:{self.remote_port} inet n - n - - smtpd -o myhostname=mx.{REMOTE_DOMAIN} {receiving}
  -o smtpd_recipient_restrictions=check_recipient_access,texthash:{conf}/remote-access
{self.host}:{self.legacy_port} inet n - n - - smtpd -o myhostname=mx.{LEGACY_DOMAIN} {receiving}
  -o smtpd_discard_ehlo_keywords=size,dsn
{self.host}:{self.blocking_port} inet n - n - - smtpd -o myhostname=mx.{BLOCKING_DOMAIN} {receiving}
  -o smtpd_client_restrictions=check_client_access,texthash:{conf}/blocking-clients
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
virtual-quota unix -    n       n       -       -       virtual
  -o virtual_mailbox_limit={self.quota_bytes} -o message_size_limit={self.quota_bytes}
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""
        )


class _NameServer:
    """A name server for the rig: `null_mx` domains have the MX "." (RFC 7505); every other
    name does not exist (NXDOMAIN). Listens on UDP port 53 of a free address in 127.0.0.0/8."""

    def __init__(self, null_mx: Mapping[str, str]) -> None:
        self.null_mx = {name.rstrip(".").lower() for name in null_mx}
        self.address = ""
        self._server = None

    def start(self) -> None:
        from dnslib.server import DNSLogger, DNSServer

        for _ in range(20):
            address = f"127.{random.randint(100, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"
            try:
                server = DNSServer(self, address=address, port=53, logger=DNSLogger(logf=lambda _line: None))
            except OSError:
                continue
            self.address = address
            break
        else:
            raise RuntimeError("no free address in 127.0.0.0/8 for the rig's name server on port 53")
        server.start_thread()
        self._server = server

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            server.server.server_close()

    def resolve(self, request, handler):  # dnslib's resolver interface
        from dnslib import MX, QTYPE, RCODE, RR

        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if name in self.null_mx:
            if request.q.qtype == QTYPE.MX:
                reply.add_answer(RR(request.q.qname, QTYPE.MX, rdata=MX(".", 0), ttl=60))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply
