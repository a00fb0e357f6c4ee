"""A sending service's report, and the verdicts it gives: the same classes as a parsed bounce.

Each service says in its own words whether a failure is final and permanent; the record gets
its status code, reply code and reason from the same reason table as a bounce from the mailbox
(parse/finalize.py), and its class from the service's word with the rules of rules/classify.py:

- `permanent` (SES Permanent, Mailgun failed/permanent, SendGrid bounce, Postmark HardBounce):
  hard, except where a bounce read from the mailbox would not be: a rejection that points at the
  sender (blocked, spam, policy, authentication) is soft and, by default, not counted; a 4.x.x
  status is soft, and so is an expired delivery (the service gave up);
- `temporary` (a final temporary failure: SES Transient, SendGrid blocked, Postmark SoftBounce):
  soft;
- `retrying` (the service will try again: Mailgun failed/temporary, SendGrid deferred, Postmark
  Transient): soft, counted once per message and recipient however often the service retries
  (the service's message id keys it), apart from the final outcome of that message;
- `suppressed` (the service did not try: the address is on its own suppression list): recorded,
  counts nothing (an address unblocked here after a review must not be blocked again by the
  service's old list);
- `ignored` (an auto-reply and the like): recorded, counts nothing;
- `complaint`: a complaint; `delivered`: a success, which resets the consecutive soft count;
- `hard` / `soft` (POST /v1/events): the class the caller gives.

The policy's `overrides` (reason → class) apply as for a bounce from the mailbox.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from ..parse.finalize import Draft, finalize, unfold
from ..records import BounceClass, BounceRecord, Verdict
from ..rules.classify import IGNORE_REASONS, ClassPolicy, is_sender_side

ReportOutcome = Literal[
    "permanent", "temporary", "retrying", "suppressed", "ignored", "complaint", "delivered", "hard", "soft"
]
FAILURES = frozenset({"permanent", "temporary", "retrying", "hard", "soft"})
RETRY_SUFFIX = " (retry)"  # keys a retrying report's message apart from its final outcome
MAX_EVENT_ID = 255


class Refused(Exception):
    """A request that is not recorded: its cause (a metrics label), an HTTP status, one line why."""

    def __init__(self, cause: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.cause = cause
        self.status = status


@dataclass(frozen=True, slots=True)
class RecipientReport:
    """What a report says about one recipient."""

    address: str
    status: str = ""  # RFC 3463, when the service gives one
    reply_code: str = ""
    diagnostic: str = ""  # the remote server's words, as the service passes them on
    hint: str = ""  # a reason in our vocabulary the service's own category gives, if any
    remote_mta: str = ""
    feedback_type: str = ""  # complaints


@dataclass(frozen=True, slots=True)
class ProviderReport:
    """One event of a sending service (SES may report several recipients in one)."""

    provider: str  # "ses", "sendgrid", "mailgun", "postmark", "api" or "api:<source>"
    event_id: str  # the service's id for the event: the report counts once by it
    kind: str  # the service's own name for the event: "Bounce", "failed", "dropped", ...
    outcome: ReportOutcome
    recipients: tuple[RecipientReport, ...]
    at: datetime | None = None  # naive UTC, when the service says it happened
    message_id: str = ""  # the original message (its Message-ID, else the service's id for it)

    @property
    def dedupe_message_id(self) -> str:
        """The key under which a failure counts once per message and recipient (see module doc)."""
        if not self.message_id or self.outcome not in FAILURES:
            return ""
        return self.message_id + RETRY_SUFFIX if self.outcome == "retrying" else self.message_id


def verdict(report: ProviderReport, recipient: RecipientReport, policy: ClassPolicy) -> Verdict:
    """The class one recipient of a report gets (see the module docstring)."""
    outcome = report.outcome
    if outcome == "delivered":
        record = BounceRecord(
            address=recipient.address,
            status=recipient.status if recipient.status.startswith("2.") else "2.0.0",
            reply_code=recipient.reply_code,
            reason="delivered",
            action="delivered",
            diagnostic=unfold(recipient.diagnostic)[:2000],
            remote_mta=recipient.remote_mta,
        )
        return Verdict(record, BounceClass.IGNORE)
    if outcome == "complaint":
        record = BounceRecord(
            address=recipient.address,
            reason="feedback",
            diagnostic=unfold(recipient.diagnostic)[:2000],
            feedback_type=recipient.feedback_type or "abuse",
        )
        return Verdict(record, policy.overrides.get("feedback", BounceClass.COMPLAINT))
    record = finalize(
        Draft(
            address=recipient.address,
            status=recipient.status,
            reply_code=recipient.reply_code,
            diagnostic=recipient.diagnostic,
            action="failed",
            remote_mta=recipient.remote_mta,
            hint=recipient.hint,
        )
    )
    if outcome in ("suppressed", "ignored"):
        return Verdict(record, BounceClass.IGNORE)
    if outcome in ("hard", "soft"):
        return Verdict(record, BounceClass(outcome))
    overridden = policy.overrides.get(record.reason) if record.reason else None
    if overridden is not None:
        return Verdict(record, overridden)
    if record.reason in IGNORE_REASONS:
        return Verdict(record, BounceClass.IGNORE)
    if outcome == "permanent" and not is_sender_side(record) and not record.status.startswith("4"):
        return Verdict(record, BounceClass.HARD)
    return Verdict(record, BounceClass.SOFT)


def verdicts(report: ProviderReport, policy: ClassPolicy) -> tuple[Verdict, ...]:
    return tuple(verdict(report, recipient, policy) for recipient in report.recipients)


def load_json(body: bytes, shape: type, what: str) -> Any:
    """The JSON document of a request body, which must be a `shape` (dict or list); else Refused."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused("malformed", f"the body is not JSON: {exc}") from None
    if not isinstance(document, shape):
        raise Refused("malformed", f"the body must be {what}")
    return document


def utc(value: datetime) -> datetime:
    """A datetime as naive UTC (how the store keeps times)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def parse_time(text: object) -> datetime | None:
    """An ISO 8601 time (Z allowed) or Unix seconds as naive UTC; None when absent or unreadable."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        try:
            return datetime.fromtimestamp(float(text), timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def text(value: object, limit: int = 2000) -> str:
    """A JSON value as a string for a record field ("" for null, objects, lists)."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)[:limit]
    return ""


def event_id(value: object, what: str) -> str:
    """A provider's event id: a non-empty string (or number) of at most 255 characters."""
    found = text(value, MAX_EVENT_ID + 1).strip()
    if not found:
        raise Refused("malformed", f"{what}: missing")
    if len(found) > MAX_EVENT_ID:
        raise Refused("malformed", f"{what}: longer than {MAX_EVENT_ID} characters")
    return found


def angle(message_id: str) -> str:
    """A Message-ID as the parser stores it: in angle brackets."""
    value = message_id.strip()
    if not value:
        return ""
    return value if value.startswith("<") else f"<{value.strip('<>')}>"
