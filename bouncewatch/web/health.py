"""Is each mailbox healthy? A pure judgement over worker.Health values, for GET /healthz.

A mailbox is healthy when its last successful cycle is at most 3 expected periods old (the
period: `interval_seconds`; for an IDLE mailbox watching one folder, the IDLE renew time, since
a cycle then runs only when mail arrives or IDLE is renewed), or when it is in lease standby
(another instance holds it, which is this instance working as meant), and its last publish of
the outputs worked. "Processing, but publishing fails" (a full disk, an output the shrink
guard keeps) is told apart from "not processing".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..config import MailboxSettings, Settings
from ..service.worker import Health

PERIODS_ALLOWED = 3


def expected_period(settings: Settings, mailbox: MailboxSettings) -> float:
    """Seconds between two successful cycles of a working mailbox, at most."""
    interval = settings.poll.interval_seconds
    if mailbox.idle and len(mailbox.folder_list) == 1:
        return max(interval, settings.daemon.idle_renew_seconds)
    return interval


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str
    healthy: bool
    detail: str  # one line for a person: why (not) healthy
    health: Health
    processing: bool = True  # False: mail is not being processed; True with healthy False: publishing fails

    def as_json(self) -> dict[str, Any]:
        h = self.health
        return {
            "name": self.name,
            "healthy": self.healthy,
            "state": h.state,
            "processing": self.processing,
            "publishing": not h.publish_error,
            "detail": self.detail,
            "last_success": _when(h.last_success),
            "last_error": h.last_error,
            "consecutive_failures": h.consecutive_failures,
            "last_published": _when(h.last_published),
            "publish_error": h.publish_error,
        }


def judge(mailbox: MailboxSettings, health: Health, settings: Settings, now: datetime) -> Verdict:
    """The verdict on one mailbox at `now` (aware UTC)."""
    name = mailbox.name
    if health.state == "standby":
        return Verdict(name, True, "standby: another instance holds this mailbox's lease", health)
    allowed = PERIODS_ALLOWED * expected_period(settings, mailbox)
    error = f" (last error: {health.last_error})" if health.last_error else ""
    if health.last_success is None:
        if health.state == "starting":
            return Verdict(name, False, "no cycle finished yet", health, processing=False)
        return Verdict(name, False, f"no successful cycle yet{error}", health, processing=False)
    age = (now - health.last_success).total_seconds()
    if age > allowed:
        return Verdict(name, False, f"no successful cycle for {age:.0f} s{error}", health, processing=False)
    if health.publish_error:
        return Verdict(
            name, False, f"processing (last successful cycle {age:.0f} s ago), but publishing fails: "
            f"{health.publish_error}", health,
        )
    return Verdict(name, True, f"last successful cycle {age:.0f} s ago", health)


def judge_all(settings: Settings, healths: Mapping[str, Health], now: datetime) -> list[Verdict]:
    """A verdict per configured mailbox (one not yet reported counts as starting)."""
    return [judge(m, healths.get(m.name) or Health(m.name), settings, now) for m in settings.mailboxes]


def report(verdicts: list[Verdict]) -> tuple[bool, dict[str, Any]]:
    """(all healthy?, the JSON document of /healthz).

    `status`: "ok"; "failing" when a mailbox is not being processed; "publishing_failing" when
    every mailbox is processed but the outputs cannot be published (the reason names the path).
    """
    failing = [v for v in verdicts if not v.healthy]
    status = "ok" if not failing else "failing" if any(not v.processing for v in failing) else "publishing_failing"
    document: dict[str, Any] = {"status": status}
    if failing:
        document["reason"] = "; ".join(f"{v.name}: {v.detail}" for v in failing)
    document["mailboxes"] = [v.as_json() for v in verdicts]
    return not failing, document
