"""The original bounce message of one event, read over IMAP on demand, bounded, read-only.

A console user names an event id only: the mailbox, folders and UIDs come from the event's
processed_message row and the config, never from the request.

Where the message is: processed messages are moved into `<archive><sep><Outcome>`, where the
server gives them a NEW UID, and the bounce's own Message-ID is not stored. So:

1. if the row's UID is still in its source folder under the same UIDVALIDITY (a move still
   owed), that message is checked first;
2. else the archive folder is opened read-only (EXAMINE, nothing is flagged) and candidates
   are narrowed with UID SEARCH: BODY "<original Message-ID>" when the bounce named the mail
   it returns (its headers are in the bounce's body) and that value is a Message-ID
   (`<left@right>`, printable ASCII), else BODY "<recipient address>"; the search text always
   travels as an IMAP string (Mailbox.search_body), never bare; the newest MAX_CANDIDATES are
   tried, newest first;
3. a candidate is the message when the sha256 of its bytes equals the stored fingerprint; the
   pipeline hashed the first `max_message_bytes` of it (the whole message when smaller), so
   the same prefix is hashed here, one candidate at a time (bounded memory).

The page shows at most DISPLAY_BYTES of the match, decoded as text (never rendered as HTML).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ... import store
from ...config import Settings
from ...imap.mailbox import Mailbox, MailboxError

DISPLAY_BYTES = 256 * 1024
MAX_CANDIDATES = 50
MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}@[!-;=?-~]{1,250}>")  # printable ASCII, no <, > or space


def search_text(message: store.ProcessedMessage, address: str) -> str:
    """What to look for in the archive: the returned mail's Message-ID when it is one, else the
    recipient address (a Message-ID like `{5}` is never sent to the server)."""
    candidate = message.original_message_id or ""
    return candidate if MESSAGE_ID.fullmatch(candidate) else address


@dataclass(frozen=True)
class FoundMessage:
    folder: str
    uid: int
    size: int
    text: str  # the first DISPLAY_BYTES, decoded leniently
    truncated: bool


class NotFound(Exception):
    """The message cannot be shown; says why, for a person."""


def _prefix_matches(box: Mailbox, uid: int, fingerprint: str, limit: int) -> tuple[bool, int, bytes]:
    client = box.client
    sizes = client.fetch([uid], ["RFC822.SIZE"])
    if uid not in sizes:
        return False, 0, b""
    size = int(sizes[uid][b"RFC822.SIZE"])
    part = f"BODY.PEEK[]<0.{limit}>" if size > limit else "BODY.PEEK[]"
    response = client.fetch([uid], [part]).get(uid, {})
    raw = response.get(b"BODY[]<0>") if size > limit else response.get(b"BODY[]")
    if raw is None:
        return False, size, b""
    return hashlib.sha256(raw).hexdigest() == fingerprint, size, raw[:DISPLAY_BYTES]


def _found(folder: str, uid: int, size: int, head: bytes) -> FoundMessage:
    return FoundMessage(
        folder=folder, uid=uid, size=size, text=head.decode("utf-8", errors="replace"), truncated=size > len(head)
    )


def find_message(settings: Settings, message: store.ProcessedMessage, address: str) -> FoundMessage:
    """The bounce behind a processed_message row, fetched from the mailbox it came from."""
    mailbox = next((m for m in settings.mailboxes if m.name == message.mailbox), None)
    if mailbox is None:
        raise NotFound(f"mailbox {message.mailbox!r} is no longer configured")
    limit = settings.poll.max_message_bytes
    try:
        with Mailbox(mailbox) as box:
            client = box.client
            if client.folder_exists(message.folder):
                opened = client.select_folder(message.folder, readonly=True)
                if int(opened[b"UIDVALIDITY"]) == message.uidvalidity:
                    match, size, head = _prefix_matches(box, message.uid, message.fingerprint, limit)
                    if match:
                        return _found(message.folder, message.uid, size, head)
            folder = box.archive_folder(message.outcome)
            if not client.folder_exists(folder):
                raise NotFound(f"the archive folder {folder} does not exist")
            client.select_folder(folder, readonly=True)
            uids = sorted(box.search_body(search_text(message, address)), reverse=True)[:MAX_CANDIDATES]
            for uid in uids:
                match, size, head = _prefix_matches(box, uid, message.fingerprint, limit)
                if match:
                    return _found(folder, uid, size, head)
            raise NotFound(
                f"no message in {folder} matches this event's fingerprint "
                f"({len(uids)} candidates checked); it may have been moved or deleted"
            )
    except MailboxError as exc:
        raise NotFound(str(exc)) from None
    except (OSError, Exception) as exc:  # imapclient errors, a server gone mid-way
        if isinstance(exc, NotFound):
            raise
        raise NotFound(f"mailbox {mailbox.name}: {type(exc).__name__}: {exc}") from None
