"""SendGrid's Event Webhook (`POST /hooks/sendgrid`): a signed JSON list of events.

The signed webhook puts a base64 ECDSA (P-256, SHA-256) signature of timestamp + raw body in
`X-Twilio-Email-Event-Webhook-Signature`, the timestamp in `X-Twilio-Email-Event-Webhook-Timestamp`;
it is checked with the verification key SendGrid shows (base64 DER, or PEM). Each event counts
once by its `sg_event_id`. Events read: bounce (`type` bounce: permanent; `type` blocked, or an
event named blocked: a final temporary failure), dropped (SendGrid did not send: its suppression
lists), deferred (SendGrid retries), spamreport, delivered; the others (processed, open, click,
unsubscribe, ...) are skipped.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .events import ProviderReport, RecipientReport, Refused, angle, event_id, load_json, parse_time, text

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def load_public_key(data: bytes) -> ec.EllipticCurvePublicKey:
    """The verification key from its file: base64 DER (as SendGrid shows it) or PEM; ValueError."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(base64.b64decode(b"".join(data.split()), validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        raise ValueError("not a public key; copy the Verification Key SendGrid shows (base64), or a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an elliptic-curve (ECDSA) public key")
    return key


def verify(key: ec.EllipticCurvePublicKey, body: bytes, signature: str | None, timestamp: str | None) -> None:
    """Refused("bad_signature") unless `signature` signs timestamp + body under `key`."""
    if not signature or not timestamp:
        raise Refused("bad_signature", f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required", 403)
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        raise Refused("bad_signature", "the signature does not match the verification key", 403) from None


def _outcome(event: dict) -> str | None:
    name = text(event.get("event"), 32)
    if name == "bounce":
        return "temporary" if text(event.get("type"), 16) == "blocked" else "permanent"
    return {
        "blocked": "temporary",
        "dropped": "suppressed",
        "deferred": "retrying",
        "spamreport": "complaint",
        "delivered": "delivered",
    }.get(name)


def reports(body: bytes) -> list[ProviderReport]:
    """The bounce-related events of a (verified) request body."""
    document = load_json(body, list, "a JSON list of events")
    found = []
    for index, event in enumerate(document):
        if not isinstance(event, dict):
            raise Refused("malformed", f"[{index}]: an event must be an object")
        outcome = _outcome(event)
        if outcome is None:
            continue
        address = text(event.get("email"), 330)
        if not address:
            raise Refused("malformed", f"[{index}].email: missing")
        reason = text(event.get("reason")) or text(event.get("response"))
        smtp_id = text(event.get("smtp-id"), 998)
        message = angle(smtp_id) if smtp_id else ("sendgrid:" + text(event.get("sg_message_id"), 200)).rstrip(":")
        found.append(
            ProviderReport(
                provider="sendgrid",
                event_id=event_id(event.get("sg_event_id"), f"[{index}].sg_event_id"),
                kind=text(event.get("event"), 32),
                outcome=outcome,  # type: ignore[arg-type]
                recipients=(
                    RecipientReport(
                        address=address,
                        status=text(event.get("status"), 16),
                        diagnostic=reason,
                        feedback_type="abuse" if outcome == "complaint" else "",
                    ),
                ),
                at=parse_time(event.get("timestamp")),
                message_id="" if message == "sendgrid" else message,
            )
        )
    return found
