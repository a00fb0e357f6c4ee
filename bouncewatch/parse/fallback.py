"""Last resort: flufl.bounce's scanners, for addresses only (no status, no reason of its own).

Used only when no detector of ours found anything in a message that looks like a bounce.
"""

from __future__ import annotations

import logging
from email.message import Message

from .finalize import Draft
from .formats.generic import looks_like_bounce
from .mailview import MailView, first_address
from .textreport import sender_addresses

# flufl.bounce logs a traceback when one of its scanners trips over a malformed message; the
# parser is pure and logs nothing, so those records are kept out of the application's log.
_FLUFL_LOG = logging.getLogger("flufl.bounce")
_FLUFL_LOG.addHandler(logging.NullHandler())
_FLUFL_LOG.propagate = False


def detect(view: MailView) -> list[Draft] | None:
    """Drafts for the addresses flufl.bounce finds in a bounce-looking message, or None."""
    if not looks_like_bounce(view):
        return None
    permanent, temporary = _scan(view.msg)
    senders = sender_addresses(view)
    drafts: list[Draft] = []
    for found, action in ((permanent, "failed"), (temporary, "delayed")):
        for item in sorted(found):
            text = item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
            address = first_address(text)
            if address and address not in senders and not address.startswith(("mailer-daemon@", "postmaster@")) and all(d.address != address for d in drafts):
                drafts.append(Draft(address=address, action=action, diagnostic=view.body[:500]))
    return drafts or None


def _scan(msg: Message) -> tuple[set, set]:
    try:
        # imported here: the fallback is rare, and flufl.bounce's import costs start-up time
        from flufl.bounce import all_failures
    except ImportError:  # pragma: no cover - flufl.bounce is a dependency
        return set(), set()
    try:
        temporary, permanent = all_failures(msg)  # flufl.bounce's order: temporary first
    except (AttributeError, TypeError, ValueError, LookupError, UnicodeError, IndexError):
        return set(), set()
    return set(permanent), set(temporary)
