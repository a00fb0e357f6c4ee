"""The only imapclient user: connect (TLS verified by default), log in, find new UIDs, fetch, move.

Messages are never deleted: a move is UID MOVE where the server has it, else UID COPY, then
\\Deleted and UID EXPUNGE of exactly those UIDs (UIDPLUS), never a plain EXPUNGE.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence

import imapclient
from imapclient.exceptions import IMAPClientError

from .config import MailboxSettings
from .records import FetchedMessage, Outcome


class MailboxError(Exception):
    """The mailbox could not be reached or did not do what we asked; says what to check."""


def tls_context(settings: MailboxSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not settings.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Mailbox:
    """One logged-in IMAP session on one configured mailbox."""

    def __init__(self, settings: MailboxSettings) -> None:
        self.settings = settings
        self._client: imapclient.IMAPClient | None = None
        self._separator = "/"
        self._archive_ready = False

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
            client.login(s.username, s.secret())
        except IMAPClientError as exc:
            try:
                client.shutdown()
            except OSError:
                pass
            raise MailboxError(
                f"{where}: login as {s.username} refused ({exc}); check username and password"
            ) from None
        self._client = client
        self._separator = self._find_separator()

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
        """Open a folder read-write; return its UIDVALIDITY."""
        response = self.client.select_folder(folder)
        return int(response[b"UIDVALIDITY"])

    # -- messages -----------------------------------------------------------------------

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above last_uid in the selected folder, ascending."""
        found = self.client.search(["UID", f"{last_uid + 1}:*"])
        # "n:*" always matches the highest UID, even one below n.
        return sorted(uid for uid in found if uid > last_uid)

    def fetch(self, uids: Sequence[int]) -> list[FetchedMessage]:
        """Whole messages without setting \\Seen, in UID order."""
        if not uids:
            return []
        response = self.client.fetch(list(uids), ["BODY.PEEK[]", "RFC822.SIZE"])
        messages = []
        for uid in sorted(response):
            data = response[uid]
            raw = data.get(b"BODY[]")
            if raw is None:
                continue  # expunged by someone else between SEARCH and FETCH
            messages.append(FetchedMessage(uid=uid, raw=raw, size=int(data.get(b"RFC822.SIZE", len(raw)))))
        return messages

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
