"""The faults a running service expects from networks, servers and disks, told in one line.

Each is logged or printed as one line that names what it concerns (the mailbox's server, the
database, a path), never with a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from .. import store
from ..imap.mailbox import IMAP_FAULTS, MailboxError
from ..imap.oauth import TokenError
from ..publish.files import ShrinkRefused

EXPECTED_FAULTS: tuple[type[BaseException], ...] = (
    *IMAP_FAULTS,
    OSError,  # sockets, timeouts, TLS, a full or read-only disk for the blocklist
    *store.DATABASE_FAULTS,  # database locked, unreachable, restarted; the lease connection
    store.StateMissing,  # the database was deleted or replaced under us (service/state.py)
    ShrinkRefused,
)


def describe_fault(exc: BaseException) -> str:
    """One line for a person that names what it concerns: the mailbox's server, the database, a path."""
    if isinstance(exc, (MailboxError, TokenError, store.StateMissing, ShrinkRefused, OSError)):
        text = str(exc)
    elif isinstance(exc, store.DATABASE_FAULTS):
        text = store.fault_text(exc)
    else:
        text = repr(exc)
    return " ".join(text.split())[:500] or type(exc).__name__
