"""Sender-side alerts: one receiving domain rejecting our mail for reasons that point at us.

Such rejections (blocked IP, spam filter, policy, authentication) are not counted against the
addresses; instead, when one domain gives `threshold` of them within `window`, one alert is
raised and kept up to date while the rejections go on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from . import store

log = structlog.get_logger("bouncewatch.alerts")


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    threshold: int = 20
    window: timedelta = timedelta(hours=1)


def describe(domain: str, rejections: int, reasons: str, window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    span = "hour" if minutes == 60 else f"{minutes} minutes"
    return f"{domain} rejected {rejections} messages for sender-side reasons ({reasons}) in the last {span}"


def update_sender_alerts(domains: Iterable[str], at: datetime, policy: AlertPolicy) -> list[str]:
    """Raise or refresh alerts for the domains that just gave sender-side rejections.

    Runs inside the batch's transaction; returns the texts of the alerts raised now.
    """
    raised = []
    since = at - policy.window
    for domain in sorted(set(domains)):
        by_reason = store.sender_side_rejections(domain, since)
        if sum(by_reason.values()) < policy.threshold:
            continue
        existing = store.open_alert(domain, since)
        alert = store.save_alert(existing, domain, at, by_reason)
        if existing is None:
            text = describe(domain, alert.rejections, alert.reasons, policy.window)
            log.warning("sender_side_alert", domain=domain, rejections=alert.rejections, text=text)
            raised.append(text)
    return raised
