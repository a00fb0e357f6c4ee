"""The only imapclient user: connect (TLS verified by default), log in, find new UIDs, fetch, move.

Messages are never deleted: a move is UID MOVE where the server has it, else UID COPY, then
\\Deleted and UID EXPUNGE of exactly those UIDs (UIDPLUS), never a plain EXPUNGE.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Sequence

import imapclient
import structlog
from imapclient.exceptions import IMAPClientError, LoginError

from ..config import MailboxSettings
from ..records import FetchedMessage, Outcome
from .oauth import TokenError, tokens

log = structlog.get_logger("bouncewatch.mailbox")
_warned_unverified: set[str] = set()


class MailboxError(Exception):
    """The mailbox could not be reached or did not do what we asked; says what to check."""


# What the layers above catch from a mailbox: ours, the token command's, and the IMAP library's.
IMAP_FAULTS: tuple[type[BaseException], ...] = (MailboxError, TokenError, IMAPClientError)


def server_text(exc: Exception) -> str:
    """What the server said, as text: imaplib hands its replies over as bytes."""
    said = exc.args[0] if exc.args else exc
    return said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)


def imap_quoted(text: str) -> bytes:
    """An ASCII text as an IMAP quoted string (RFC 3501): backslash and quote escaped; CR, LF
    and NUL, which no quoted string can hold, are refused with ValueError."""
    if not text.isascii() or any(char in text for char in "\r\n\x00"):
        raise ValueError("an IMAP quoted string holds ASCII without CR, LF or NUL")
    return b'"' + text.replace("\\", "\\\\").replace('"', '\\"').encode("ascii") + b'"'


def tls_context(settings: MailboxSettings) -> ssl.SSLContext:
    """TLS 1.2 or later, certificate and host name checked unless `tls_verify = false`."""
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not settings.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        if settings.security != "none" and settings.name not in _warned_unverified:
            _warned_unverified.add(settings.name)  # loud, but once per mailbox, not per cycle
            log.warning(
                "tls_verification_disabled",
                mailbox=settings.name,
                host=settings.host,
                risk="anyone on the path can read the password and the mail",
            )
    return context


class Mailbox:
    """One logged-in IMAP session on one configured mailbox."""

    def __init__(self, settings: MailboxSettings) -> None:
        self.settings = settings
        self._client: imapclient.IMAPClient | None = None
        self._separator = "/"
        self._archive_ready = False
        self.uidnext = 1  # of the selected folder, as SELECT said

    # -- connection ---------------------------------------------------------------------

    def __enter__(self) -> Mailbox:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(self) -> None:
        s = self.settings
        where = f"{s.host}:{s.effective_port}"
        try:
            context = tls_context(s)
            client = imapclient.IMAPClient(
                s.host,
                port=s.effective_port,
                ssl=s.security == "tls",
                ssl_context=context,
                timeout=s.timeout_seconds,
            )
            if s.security == "starttls":
                client.starttls(context)
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(
                f"{where}: TLS certificate not trusted ({exc.verify_message}); "
                "set ca_file to the server's CA, or fix the server's certificate"
            ) from None
        except ssl.SSLError as exc:
            raise MailboxError(f"{where}: TLS failed ({exc.reason}); check port and security") from None
        except (OSError, socket.timeout) as exc:
            raise MailboxError(f"{where}: cannot connect ({exc}); check host, port and firewall") from None
        except IMAPClientError as exc:
            raise MailboxError(f"{where}: {exc}") from None
        try:
            self._authenticate(client)
        except (IMAPClientError, OSError, TokenError) as exc:
            try:
                client.shutdown()
            except OSError:
                pass
            if isinstance(exc, TokenError):
                raise MailboxError(f"{where}: {exc}") from None
            if isinstance(exc, OSError):
                raise MailboxError(f"{where}: connection lost while logging in ({exc})") from None
            what = "access token" if s.uses_oauth2 else "password"
            raise MailboxError(
                f"{where}: login as {s.username} refused ({server_text(exc)}); check username and {what}"
            ) from None
        self._client = client
        self._separator = self._find_separator()

    def _authenticate(self, client: imapclient.IMAPClient) -> None:
        """LOGIN with the password, or XOAUTH2 with a token: a refused token is fetched afresh once."""
        s = self.settings
        if s.oauth2_token_command is None:
            client.login(s.username, s.secret())
            return
        try:
            client.oauth2_login(s.username, tokens.get(s.name, s.oauth2_token_command))
        except LoginError:
            tokens.invalidate(s.name)  # expired or revoked: ask the command for a new one
            client.oauth2_login(s.username, tokens.get(s.name, s.oauth2_token_command))

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (IMAPClientError, OSError):
            pass

    @property
    def client(self) -> imapclient.IMAPClient:
        if self._client is None:
            raise MailboxError(f"mailbox {self.settings.name}: not connected")
        return self._client

    def capabilities(self) -> tuple[bytes, ...]:
        return tuple(self.client.capabilities())

    def folders(self) -> list[str]:
        """Every folder name the server lists."""
        return [str(name) for _flags, _delimiter, name in self.client.list_folders()]

    def missing_archive_folders(self) -> list[str]:
        """The archive folders a first cycle would create (nothing is created)."""
        wanted = [self.settings.archive, *(self.archive_folder(o) for o in Outcome)]
        return [folder for folder in wanted if not self.client.folder_exists(folder)]

    def _find_separator(self) -> str:
        try:
            personal = self.client.namespace().personal
            if personal and personal[0][1]:
                return personal[0][1]
        except IMAPClientError:
            pass
        for _flags, delimiter, _name in self.client.list_folders(directory="", pattern="%"):
            if delimiter:
                return delimiter.decode() if isinstance(delimiter, bytes) else delimiter
        return "/"

    # -- folders ------------------------------------------------------------------------

    def archive_folder(self, outcome: Outcome | str) -> str:
        value = outcome.value if isinstance(outcome, Outcome) else outcome
        return f"{self.settings.archive}{self._separator}{value}"

    def ensure_archive_folders(self) -> list[str]:
        """Create the archive folders that do not exist yet; return the ones created."""
        if self._archive_ready:
            return []
        created = []
        for folder in [self.settings.archive, *(self.archive_folder(o) for o in Outcome)]:
            if not self.client.folder_exists(folder):
                self.client.create_folder(folder)
                created.append(folder)
        self._archive_ready = True
        return created

    def select(self, folder: str) -> int:
        """Open a folder read-write; return its UIDVALIDITY (and keep its UIDNEXT)."""
        response = self.client.select_folder(folder)
        # Without UIDNEXT (RFC 3501 requires it), look as far as UIDs can go.
        self.uidnext = int(response.get(b"UIDNEXT", 2**32))
        return int(response[b"UIDVALIDITY"])

    # -- messages -----------------------------------------------------------------------

    def uids_between(self, low: int, high: int) -> list[int]:
        """UIDs from low to high (both included) in the selected folder, ascending."""
        return sorted(uid for uid in self.client.search(["UID", f"{low}:{high}"]) if low <= uid <= high)

    def search_body(self, text: str) -> list[int]:
        """UIDs of the messages in the selected folder whose text contains `text`.

        The text always travels as an IMAP string: imapclient sends a list item bare when it
        holds no space, quote or backslash, so `{5}` would go out as a literal marker and the
        server would wait for 5 bytes. ASCII goes as a quoted string built here; anything else
        as a UTF-8 literal, which imapclient sends for 8-bit text.
        """
        if not text.isascii():
            return list(self.client.search(["BODY", text], charset="UTF-8"))
        return list(self.client.search(b"BODY " + imap_quoted(text)))

    def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        """RFC822.SIZE of each message (cheap: no bodies travel); missing UIDs are left out."""
        if not uids:
            return {}
        response = self.client.fetch(list(uids), ["RFC822.SIZE"])
        return {uid: int(data[b"RFC822.SIZE"]) for uid, data in response.items() if b"RFC822.SIZE" in data}

    def fetch(
        self, uids: Sequence[int], max_bytes: int | None = None, sizes: dict[int, int] | None = None
    ) -> list[FetchedMessage]:
        """Messages without setting \\Seen, in UID order; bounded by `max_bytes` each.

        A message larger than `max_bytes` is fetched as its first `max_bytes` bytes only
        (headers and the start of the body, where every bounce format puts its report), so
        memory stays bounded whatever arrives. `FetchedMessage.size` keeps the real size.
        """
        if not uids:
            return []
        if sizes is None:
            sizes = self.sizes(uids) if max_bytes is not None else {}
        large = sorted(uid for uid in uids if max_bytes is not None and sizes.get(uid, 0) > max_bytes)
        small = sorted(set(uids) - set(large))
        messages: list[FetchedMessage] = []
        if small:
            response = self.client.fetch(small, ["BODY.PEEK[]", "RFC822.SIZE"])
            for uid, data in response.items():
                raw = data.get(b"BODY[]")
                if raw is None:
                    continue  # expunged by someone else between SEARCH and FETCH
                messages.append(FetchedMessage(uid=uid, raw=raw, size=int(data.get(b"RFC822.SIZE", len(raw)))))
        for uid in large:  # one at a time: at most one prefix of max_bytes in flight
            response = self.client.fetch([uid], [f"BODY.PEEK[]<0.{max_bytes}>"])
            raw = response.get(uid, {}).get(b"BODY[]<0>")
            if raw is not None:
                log.warning("message_truncated", mailbox=self.settings.name, uid=uid, size=sizes[uid], kept=len(raw))
                messages.append(FetchedMessage(uid=uid, raw=raw, size=sizes[uid]))
        return sorted(messages, key=lambda m: m.uid)

    # -- IDLE ---------------------------------------------------------------------------

    def can_idle(self) -> bool:
        return self.client.has_capability("IDLE")

    def idle_wait(self, folder: str, seconds: float, interrupted: Callable[[], bool]) -> bool:
        """IDLE on `folder` up to `seconds`; True when new mail arrived, False on timeout.

        Returns early (False) once `interrupted()` is true; checked about every second.
        """
        self.client.select_folder(folder)
        deadline = time.monotonic() + seconds
        self.client.idle()
        arrived = False
        try:
            while not arrived and not interrupted():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                responses = self.client.idle_check(timeout=min(1.0, left))
                arrived = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
        finally:
            self.client.idle_done()
        return arrived

    def move(self, uids: Sequence[int], folder: str) -> None:
        """Move messages out of the selected folder, never deleting one."""
        if not uids:
            return
        uids = sorted(uids)
        if self.client.has_capability("MOVE"):
            self.client.move(uids, folder)
            return
        if not self.client.has_capability("UIDPLUS"):
            raise MailboxError(
                f"mailbox {self.settings.name}: server has neither MOVE nor UIDPLUS; "
                "cannot move messages without risking others"
            )
        self.client.copy(uids, folder)
        self.client.add_flags(uids, [imapclient.DELETED])
        self.client.uid_expunge(uids)
