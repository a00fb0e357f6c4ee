"""Value types shared by every stage: what a bounce says, what we decided, what an address is.

Everything here is immutable and free of I/O, so the functional core (parse, classify, ledger)
can pass these around and tests can build them by hand.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class BounceClass(str, enum.Enum):
    """What a record means for the address it names."""

    HARD = "hard"
    SOFT = "soft"
    IGNORE = "ignore"
    COMPLAINT = "complaint"


class Outcome(str, enum.Enum):
    """What became of a whole message; names the archive subfolder it is moved to."""

    HARD = "Hard"
    SOFT = "Soft"
    COMPLAINT = "Complaint"
    IGNORED = "Ignored"
    UNRECOGNIZED = "Unrecognized"
    UNVERIFIED = "Unverified"  # [verp] require_signature: no valid signed return path


# The reason vocabulary (Sisimai's, lowercased): every reason a record can carry, and so every
# key `[policy] overrides` may name (a key outside it would silently do nothing).
REASONS = frozenset({
    "authfailure", "badreputation", "blocked", "contenterror", "delayed", "delivered", "exceedlimit",
    "expired", "failedstarttls", "feedback", "filtered", "hasmoved", "hostunknown", "mailboxfull",
    "mailererror", "mesgtoobig", "networkerror", "norelaying", "notaccept", "notcompliantrfc", "onhold",
    "policyviolation", "rejected", "requireptr", "securityerror", "spamdetected", "speeding", "suppressed",
    "suspend", "syntaxerror", "systemerror", "systemfull", "toomanyconn", "undefined", "userunknown",
    "vacation", "virusdetected",
})

# Actions of RFC 3464 that report something other than a failure.
SUCCESS_ACTIONS = frozenset({"delivered", "relayed", "expanded"})


@dataclass(frozen=True, slots=True)
class BounceRecord:
    """One recipient as one message reports on it. Unknown fields are empty strings."""

    address: str
    status: str = ""  # RFC 3463 enhanced status code, e.g. "5.1.1"
    reply_code: str = ""  # SMTP reply code, e.g. "550"
    reason: str = ""  # Sisimai's reason vocabulary, e.g. "userunknown"
    action: str = ""  # RFC 3464 Action: failed, delayed, delivered, relayed, expanded
    diagnostic: str = ""  # the remote server's words, unfolded
    remote_mta: str = ""
    feedback_type: str = ""  # ARF (RFC 5965) Feedback-Type, for complaints
    source: str = ""  # where the address was read: one of SOURCES
    final_address: str = ""  # the DSN's Final-Recipient, where the address sent to (above) differs

    @property
    def is_success(self) -> bool:
        return self.action in SUCCESS_ACTIONS


# Where a record's address was read (BounceRecord.source): a DSN field; a field of another
# machine-readable report (ARF, Amazon SES); X-Failed-Recipients; a VERP return path; a failure
# statement of a known layout; the returned original's recipient headers; the sender of an
# auto-reply or unsubscribe request; a loose scan backed by the original's recipients or by a
# failure statement next to it (an unbacked scan is never reported).
SOURCES = frozenset({
    "dsn", "report", "x-failed-recipients", "verp", "statement", "original", "sender",
    "scan+original", "scan+statement",
})


@dataclass(frozen=True, slots=True)
class OwnAddresses:
    """Addresses of our own side, from the configuration: the parser never reports them."""

    addresses: frozenset[str] = frozenset()  # e.g. the mailbox, the return path (lowercased)
    domains: frozenset[str] = frozenset()  # e.g. the VERP domain: every address in it is ours


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """Everything the parser read from one message."""

    records: tuple[BounceRecord, ...] = ()
    kind: str = ""  # "dsn", "arf", "autoreply", "notice" (looks like a bounce, is none), a detector's name, or ""
    original_message_id: str = ""  # Message-ID of the returned original, where present
    notes: tuple[str, ...] = ()  # e.g. "truncated at 10485760 bytes"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A record with the class the policy gave it."""

    record: BounceRecord
    bounce_class: BounceClass


@dataclass(frozen=True, slots=True)
class AddressState:
    """The ledger's view of one address."""

    address: str
    blocked: bool = False
    blocked_reason: str = ""  # e.g. "hard: userunknown 5.1.1", "5 consecutive soft bounces"
    blocked_at: datetime | None = None
    soft_count: int = 0  # consecutive soft bounces since the last success or unblock
    soft_times: tuple[datetime, ...] = ()  # when those soft bounces came, newest last
    last_class: str = ""
    last_reason: str = ""
    last_status: str = ""
    first_bounce: datetime | None = None
    last_bounce: datetime | None = None
    bounces: int = 0  # every failure ever recorded, hard or soft
    manual: bool = False  # blocked by hand: stays blocked whatever arrives
    last_success: datetime | None = None


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """One message as the mailbox handed it over."""

    uid: int
    raw: bytes
    size: int = 0


@dataclass(slots=True)
class CycleSummary:
    """What one poll cycle over one mailbox did; printed by `bouncewatch poll`."""

    mailbox: str
    messages: int = 0
    records_by_class: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    newly_blocked: list[str] = field(default_factory=list)
    quarantined: int = 0
    skipped_duplicates: int = 0
    alerts: list[str] = field(default_factory=list)
