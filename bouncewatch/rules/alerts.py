"""Sender-side alerts, the rule: one receiving domain rejecting our mail for reasons that point at us.

Such rejections (blocked IP, spam filter, policy, authentication) are not counted against the
addresses; instead, when one domain gives `threshold` of them within `window`, one alert is
raised and kept up to date while the rejections go on (service/alerts.py keeps them in the store).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    threshold: int = 20
    window: timedelta = timedelta(hours=1)


def is_due(by_reason: Mapping[str, int], policy: AlertPolicy) -> bool:
    """True when a domain's sender-side rejections within the window reach the threshold."""
    return sum(by_reason.values()) >= policy.threshold


def describe(domain: str, rejections: int, reasons: str, window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    span = "hour" if minutes == 60 else f"{minutes} minutes"
    return f"{domain} rejected {rejections} messages for sender-side reasons ({reasons}) in the last {span}"
