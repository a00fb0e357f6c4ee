"""Amazon SES notifications (through SNS, `POST /hooks/ses`): the `Message` of a verified Notification.

`notificationType` (or `eventType`, with SES event publishing) is Bounce, Complaint, Delivery or
DeliveryDelay; everything else (Send, Reject, Open, Click, ...) is skipped. A Bounce is
permanent or transient by `bounceType`, and its `bounceSubType` gives the reason where the
recipient's diagnostic does not: NoEmail is an unknown user, MailboxFull a full mailbox, ...;
Suppressed and OnAccountSuppressionList mean SES did not try (its suppression lists). One
notification may name several recipients; it counts once by the SNS MessageId.
"""

from __future__ import annotations

import json
from typing import Any

from .events import ProviderReport, RecipientReport, Refused, angle, parse_time, text

# bounceSubType → reason hint (our vocabulary)
_SUBTYPE_HINTS = {
    "NoEmail": "userunknown",
    "MailboxFull": "mailboxfull",
    "MessageTooLarge": "mesgtoobig",
    "ContentRejected": "contenterror",
    "AttachmentRejected": "contenterror",
}
_SUPPRESSED = frozenset({"Suppressed", "OnAccountSuppressionList"})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def reports(sns_message: dict[str, Any]) -> list[ProviderReport]:
    """The report of a verified SNS Notification carrying an SES notification."""
    try:
        content = json.loads(text(sns_message.get("Message"), 1_000_000))
    except json.JSONDecodeError as exc:
        raise Refused("malformed", f"Message: not an SES notification (not JSON: {exc})") from None
    if not isinstance(content, dict):
        raise Refused("malformed", "Message: not an SES notification")
    kind = text(content.get("notificationType") or content.get("eventType"), 32)
    mail = _dict(content.get("mail"))
    common = _dict(mail.get("commonHeaders"))
    message_id = angle(text(common.get("messageId"), 998)) or (
        f"ses:{text(mail.get('messageId'), 200)}" if mail.get("messageId") else ""
    )
    if kind == "Bounce":
        section = _dict(content.get("bounce"))
        bounce_type, subtype = text(section.get("bounceType"), 32), text(section.get("bounceSubType"), 64)
        if subtype in _SUPPRESSED:
            outcome = "suppressed"
        elif bounce_type == "Permanent":
            outcome = "permanent"
        else:
            outcome = "temporary"  # Transient, Undetermined: SES has stopped trying
        remote = text(section.get("reportingMTA"), 255).removeprefix("dns;").strip()
        recipients = tuple(
            RecipientReport(
                address=text(r.get("emailAddress"), 330),
                status=text(r.get("status"), 16),
                diagnostic=_diagnostic(text(r.get("diagnosticCode"))),
                hint=_SUBTYPE_HINTS.get(subtype, ""),
                remote_mta=remote,
            )
            for r in map(_dict, _list(section.get("bouncedRecipients")))
        )
    elif kind == "Complaint":
        section = _dict(content.get("complaint"))
        outcome = "suppressed" if text(section.get("complaintSubType"), 64) in _SUPPRESSED else "complaint"
        feedback = text(section.get("complaintFeedbackType"), 64) or "abuse"
        recipients = tuple(
            RecipientReport(address=text(r.get("emailAddress"), 330), feedback_type=feedback)
            for r in map(_dict, _list(section.get("complainedRecipients")))
        )
    elif kind == "Delivery":
        section = _dict(content.get("delivery"))
        outcome = "delivered"
        response = text(section.get("smtpResponse"))
        recipients = tuple(
            RecipientReport(address=text(address, 330), diagnostic=response)
            for address in _list(section.get("recipients"))
        )
    elif kind == "DeliveryDelay":
        section = _dict(content.get("deliveryDelay"))
        outcome = "retrying"
        recipients = tuple(
            RecipientReport(
                address=text(r.get("emailAddress"), 330),
                status=text(r.get("status"), 16),
                diagnostic=_diagnostic(text(r.get("diagnosticCode"))),
            )
            for r in map(_dict, _list(section.get("delayedRecipients")))
        )
    else:
        return []
    recipients = tuple(r for r in recipients if r.address)
    if not recipients:
        raise Refused("malformed", f"Message: a {kind} notification without recipients")
    return [
        ProviderReport(
            provider="ses",
            event_id=text(sns_message.get("MessageId"), 255),
            kind=kind,
            outcome=outcome,  # type: ignore[arg-type]
            recipients=recipients,
            at=parse_time(section.get("timestamp")) or parse_time(sns_message.get("Timestamp")),
            message_id=message_id,
        )
    ]


def _diagnostic(code: str) -> str:
    """A Diagnostic-Code without its type: "smtp; 550 5.1.1 ..." → "550 5.1.1 ..."."""
    kind, sep, rest = code.partition(";")
    return rest.strip() if sep and kind.strip().lower() in ("smtp", "x-unix", "x-postfix") else code
