"""An address's state as plain dicts: shared by `bouncewatch status --json` and GET /v1/addresses.

Reads the open database (the caller owns the connection); prints nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .. import store
from ..records import AddressState
from ..rules.addresses import domain_of


def when(value: datetime | None) -> str:
    """A naive UTC time as ISO text with Z, or "" for none."""
    return value.isoformat(timespec="seconds") + "Z" if value else ""


def state_dict(state: AddressState) -> dict[str, Any]:
    return {
        "address": state.address,
        "blocked": state.blocked,
        "blocked_reason": state.blocked_reason,
        "blocked_at": when(state.blocked_at),
        "soft_count": state.soft_count,
        "bounces": state.bounces,
        "last_class": state.last_class,
        "last_reason": state.last_reason,
        "last_status": state.last_status,
        "first_bounce": when(state.first_bounce),
        "last_bounce": when(state.last_bounce),
        "last_success": when(state.last_success),
        "manual": state.manual,
    }


def event_dict(event: store.Event) -> dict[str, Any]:
    message = event.message
    return {
        "at": when(event.at),
        "class": event.bounce_class,
        "status": event.status,
        "reply_code": event.reply_code,
        "reason": event.reason,
        "action": event.action,
        "counted": event.counted,
        "diagnostic": event.diagnostic,
        "mailbox": message.mailbox,  # "" for a sending service's event
        "archive": message.outcome,
        "source": "provider" if message.provider else "mailbox",
        "provider": message.provider,  # "ses", "mailgun", "api:crm", ...; "" for mail
        "event_id": message.event_id,  # the provider's id of the event
    }


def audit_dict(entry: store.Audit) -> dict[str, Any]:
    return {"at": when(entry.at), "action": entry.action, "actor": entry.actor, "reason": entry.reason}


def address_document(address: str, alert_window_minutes: float) -> tuple[dict[str, Any], bool]:
    """(the document of `bouncewatch status --json`, whether anything is recorded for the address).

    `address` must already be normalised. An address never seen gets the default state.
    """
    stored = store.get_state(address)
    state = stored or AddressState(address=address)
    data = state_dict(state)
    data["last_bounces"] = [event_dict(e) for e in store.recent_events(address)]
    data["audit"] = [audit_dict(a) for a in store.audit_entries(address)]
    since = store.utcnow() - timedelta(minutes=alert_window_minutes)
    alert = store.open_alert(domain_of(address), since)
    data["domain_alert"] = (
        f"{alert.domain}: {alert.rejections} sender-side rejections ({alert.reasons})" if alert else ""
    )
    known = stored is not None or bool(data["last_bounces"]) or bool(data["audit"])
    return data, known
