"""Mailgun webhooks (`POST /hooks/mailgun`): the signature in the body, then `event-data`.

    {"signature": {"timestamp": "1529006854", "token": "a8ce0edb...", "signature": "d2271d12..."},
     "event-data": {"event": "failed", "severity": "permanent", "id": "...", "recipient": "...",
                    "reason": "bounce", "delivery-status": {"code": 550, "message": "..."},
                    "message": {"headers": {"message-id": "..."}}, "timestamp": 1521233123.5}}

`signature` is the hex HMAC-SHA256 of timestamp + token under the webhook signing key. A token
seen before (service/ingest.py keeps them), or a timestamp more than 15 minutes away from now,
is a replay and refused. Events: `failed` (severity permanent or temporary), `complained`,
`delivered`; the others (opened, clicked, accepted, ...) are not about bounces and are skipped.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from typing import Any

from .events import ProviderReport, RecipientReport, Refused, angle, event_id, load_json, parse_time, text

MAX_AGE = timedelta(minutes=15)
REPLAY_STATUS = 406  # Mailgun does not retry a 406
# Mailgun's `reason` of a permanent failure where it did not try the address (its suppression
# lists), or gave up retrying.
_SUPPRESSED = frozenset({"suppress-bounce", "suppress-complaint", "suppress-unsubscribe"})
_HINTS = {"espblock": "blocked", "blacklisted": "blocked"}


def parse(body: bytes) -> dict[str, Any]:
    document = load_json(body, dict, "a JSON object")
    if not isinstance(document.get("event-data"), dict):
        raise Refused("malformed", "the body has no event-data object")
    return document


def signature(key: bytes, timestamp: str, token: str) -> str:
    """The hex HMAC-SHA256 Mailgun sends for `timestamp` and `token`."""
    return hmac.new(key, f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def verify(document: dict[str, Any], key: bytes, now: datetime | None = None) -> str:
    """Check the signature and its age; return the token (single use: the caller keeps it)."""
    block = document.get("signature")
    if not isinstance(block, dict):
        raise Refused("bad_signature", "signature: missing", 403)
    timestamp, token, given = (text(block.get(name), 200) for name in ("timestamp", "token", "signature"))
    if not (timestamp and token and given):
        raise Refused("bad_signature", "signature: timestamp, token and signature are required", 403)
    if not hmac.compare_digest(signature(key, timestamp, token).encode(), given.lower().encode()):
        raise Refused("bad_signature", "signature: does not match the signing key", 403)
    try:
        signed_at = datetime.fromtimestamp(float(timestamp), timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise Refused("bad_signature", "signature.timestamp: not a Unix time", 403) from None
    if abs((now or datetime.now(timezone.utc)) - signed_at) > MAX_AGE:
        raise Refused("replay", "signature.timestamp: more than 15 minutes old", REPLAY_STATUS)
    return token


def reports(document: dict[str, Any]) -> list[ProviderReport]:
    """The event of a (verified) webhook body; [] for events that are not about delivery."""
    data = document["event-data"]
    event = text(data.get("event"), 32)
    if event == "failed":
        severity = text(data.get("severity"), 16) or "permanent"
        reason = text(data.get("reason"), 64)
        if severity == "temporary":
            outcome = "retrying"
        elif reason in _SUPPRESSED:
            outcome = "suppressed"
        elif reason == "old":
            outcome = "temporary"  # retries ran out: a final temporary failure
        else:
            outcome = "permanent"
    elif event == "complained":
        outcome, reason = "complaint", ""
    elif event == "delivered":
        outcome, reason = "delivered", ""
    else:
        return []
    status = data.get("delivery-status") if isinstance(data.get("delivery-status"), dict) else {}
    code = text(status.get("code"), 8)
    words = " ".join(part for part in (text(status.get("message")), text(status.get("description"))) if part)
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    headers = message.get("headers") if isinstance(message.get("headers"), dict) else {}
    recipient = RecipientReport(
        address=text(data.get("recipient"), 330),
        status=text(status.get("enhanced-code"), 16),
        reply_code=code if len(code) == 3 and code.isdigit() else "",
        diagnostic=words,
        hint=_HINTS.get(reason, ""),
        remote_mta=text(status.get("mx-host"), 255),
        feedback_type="abuse" if outcome == "complaint" else "",
    )
    if not recipient.address:
        raise Refused("malformed", "event-data.recipient: missing")
    return [
        ProviderReport(
            provider="mailgun",
            event_id=event_id(data.get("id"), "event-data.id"),
            kind=event,
            outcome=outcome,  # type: ignore[arg-type]
            recipients=(recipient,),
            at=parse_time(data.get("timestamp")),
            message_id=angle(text(headers.get("message-id"), 998)),
        )
    ]
