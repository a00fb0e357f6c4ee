"""Sender-side alerts, kept: raise or refresh a domain's alert in the store (rules/alerts.py decides)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import structlog

from .. import store
from ..rules.alerts import AlertPolicy, describe, is_due

log = structlog.get_logger("bouncewatch.alerts")


def update_sender_alerts(domains: Iterable[str], at: datetime, policy: AlertPolicy) -> list[tuple[str, str]]:
    """Raise or refresh alerts for the domains that just gave sender-side rejections.

    Runs inside the batch's transaction; returns (domain, text) of each alert raised now.
    """
    raised = []
    since = at - policy.window
    for domain in sorted(set(domains)):
        by_reason = store.sender_side_rejections(domain, since)
        if not is_due(by_reason, policy):
            continue
        existing = store.open_alert(domain, since)
        alert = store.save_alert(existing, domain, at, by_reason)
        if existing is None:
            text = describe(domain, alert.rejections, alert.reasons, policy.window)
            log.warning("sender_side_alert", domain=domain, rejections=alert.rejections, text=text)
            raised.append((domain, text))
    return raised
