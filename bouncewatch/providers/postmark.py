"""Postmark webhooks (`POST /hooks/postmark`): HTTP basic auth, one JSON object per request.

Postmark signs nothing; the webhook URL carries a user name and password
(`https://USER:PASSWORD@host/hooks/postmark`), checked in constant time. Record types read:
Bounce (its `Type` gives the class), SpamComplaint and Delivery; the others (Open, Click,
SubscriptionChange) are skipped. A bounce or complaint counts once by its `ID`, a delivery by
its message and recipient.
"""

from __future__ import annotations

import hmac
from typing import Any

from .events import ProviderReport, RecipientReport, Refused, event_id, load_json, parse_time, text

# Bounce Type → (outcome, reason hint). Types not listed are not about the address (an
# unsubscribe, a challenge, an error of Postmark's own) and are recorded as ignored.
BOUNCE_TYPES: dict[str, tuple[str, str]] = {
    "HardBounce": ("permanent", ""),
    "BadEmailAddress": ("permanent", "userunknown"),
    "SoftBounce": ("temporary", ""),
    "DnsError": ("temporary", "networkerror"),
    "Blocked": ("temporary", "blocked"),
    "SpamNotification": ("temporary", "spamdetected"),
    "VirusNotification": ("temporary", "virusdetected"),
    "DMARCPolicy": ("temporary", "authfailure"),
    "Transient": ("retrying", ""),
    "ManuallyDeactivated": ("suppressed", ""),
    "SpamComplaint": ("complaint", ""),
}


def check_auth(username: str | None, password: str | None, expected_user: str, expected_password: bytes) -> None:
    """Refused("unauthorized", 401) unless the basic-auth credentials match (constant time)."""
    user_ok = hmac.compare_digest((username or "").encode(), expected_user.encode())
    password_ok = hmac.compare_digest((password or "").encode(), expected_password)
    if username is None or not (user_ok and password_ok):
        raise Refused("unauthorized", "basic auth: wrong or missing user name or password", 401)


def reports(body: bytes) -> list[ProviderReport]:
    document = load_json(body, dict, "a JSON object")
    record_type = text(document.get("RecordType"), 32)
    if record_type == "Delivery":
        return [_delivery(document)]
    if record_type in ("Bounce", "SpamComplaint"):
        return [_bounce(document, record_type)]
    return []


def _delivery(document: dict[str, Any]) -> ProviderReport:
    address = text(document.get("Recipient"), 330)
    message = text(document.get("MessageID"), 200)
    if not address or not message:
        raise Refused("malformed", "Recipient and MessageID are required")
    return ProviderReport(
        provider="postmark",
        event_id=event_id(f"delivery:{message}:{address}", "MessageID"),
        kind="Delivery",
        outcome="delivered",
        recipients=(RecipientReport(address=address, diagnostic=text(document.get("Details"))),),
        at=parse_time(document.get("DeliveredAt")),
        message_id=f"postmark:{message}",
    )


def _bounce(document: dict[str, Any], record_type: str) -> ProviderReport:
    address = text(document.get("Email"), 330)
    if not address:
        raise Refused("malformed", "Email: missing")
    bounce_type = text(document.get("Type"), 64) or record_type
    outcome, hint = BOUNCE_TYPES.get(bounce_type, ("ignored", ""))
    words = " ".join(part for part in (text(document.get("Details")), text(document.get("Description"))) if part)
    message = text(document.get("MessageID"), 200)
    return ProviderReport(
        provider="postmark",
        event_id=event_id(document.get("ID"), "ID"),
        kind=bounce_type,
        outcome=outcome,  # type: ignore[arg-type]
        recipients=(
            RecipientReport(
                address=address,
                diagnostic=words,
                hint=hint,
                feedback_type="abuse" if outcome == "complaint" else "",
            ),
        ),
        at=parse_time(document.get("BouncedAt")),
        message_id=f"postmark:{message}" if message else "",
    )
