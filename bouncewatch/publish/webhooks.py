"""Webhooks out: `blocked`, `unblocked` and `sender_alert` events, signed, from a durable outbox.

    POST <url>
    Content-Type: application/json
    X-Bouncewatch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

    {"id": "...", "event": "blocked", "address": "alice@example.org", "class": "hard",
     "reason": "hard: userunknown 5.1.1", "status": "5.1.1", "at": "2026-01-31T12:00:00Z",
     "actor": null}

The ledger change and its outbox rows (one per subscribed `[[webhooks]]` receiver) are written
in one transaction (`enqueue`, called by the pipeline, service/ingest.py and service/manual.py),
so an event is owed exactly when the change is committed, across restarts, crashes and SIGKILL.
`deliver_due` sends what is due: one POST per row, the same body (and `id`) on every attempt,
signed afresh with the time of the attempt; a 2xx answer deletes the row; anything else
(a refused connection, a timeout, a non-2xx status) retries after 2, 4, 8, ... seconds, at most
an hour apart, for RETRY_PERIOD (3 days), after which the row is marked failed for
`bouncewatch webhooks` to show and `bouncewatch webhooks retry` to send again. No redirect is
followed. `sender_alert` events name the receiving domain in `domain` (and `address` is null).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from .. import store
from ..config import Settings
from ..config.providers import read_secret
from ..rules.ledger import block_class
from ..store import outbox

log = structlog.get_logger("bouncewatch.webhooks")

SIGNATURE_HEADER = "X-Bouncewatch-Signature"
FIRST_RETRY_SECONDS = 2.0
MAX_RETRY_SECONDS = 3600.0
RETRY_PERIOD = timedelta(days=3)
CLAIM_GRACE_SECONDS = 30  # a claimed row is due again this long after its timeout if its sender died


@dataclass(frozen=True, slots=True)
class Change:
    """One event to tell the receivers about."""

    event: str  # blocked | unblocked | sender_alert
    at: datetime  # naive UTC
    address: str | None = None
    bounce_class: str | None = None  # hard | soft-limit | complaint | manual
    reason: str = ""
    status: str = ""
    actor: str | None = None  # who, for a manual action
    domain: str | None = None  # sender_alert: the receiving domain


def ledger_changes(
    before: dict[str, bool], states: Iterable[Any], alerts: Iterable[tuple[str, str]], at: datetime
) -> list[Change]:
    """The `blocked` events of addresses newly blocked among `states` (AddressStates; `before`:
    address → blocked before) and the `sender_alert` events of alerts raised now."""
    changes = [
        Change(
            event="blocked",
            at=state.blocked_at or at,
            address=state.address,
            bounce_class=block_class(state.manual, state.blocked_reason, state.last_class),
            reason=state.blocked_reason,
            status=state.last_status,
        )
        for state in states
        if state.blocked and not before.get(state.address, False)
    ]
    changes += [Change(event="sender_alert", at=at, reason=text, domain=domain) for domain, text in alerts]
    return changes


def _when(value: datetime) -> str:
    return value.replace(microsecond=0).isoformat() + "Z"


def body_of(change: Change, event_id: str) -> str:
    document: dict[str, Any] = {
        "id": event_id,
        "event": change.event,
        "address": change.address,
        "class": change.bounce_class,
        "reason": change.reason,
        "status": change.status,
        "at": _when(change.at),
        "actor": change.actor,
    }
    if change.domain is not None:
        document["domain"] = change.domain
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def enqueue(settings: Settings, changes: Iterable[Change], at: datetime) -> int:
    """Owe each change to every receiver that subscribed to its event (inside the caller's
    transaction); how many rows were written."""
    owed = []
    for change in changes:
        event_id = uuid.uuid4().hex
        body = body_of(change, event_id)
        for hook in settings.webhooks:
            if change.event in hook.events:
                owed.append(outbox.OwedDelivery(event_id, hook.url, change.event, change.address or change.domain or "", body))
    return outbox.enqueue(owed, at) if owed else 0


def signature(secret: bytes, body: bytes, timestamp: int) -> str:
    """The X-Bouncewatch-Signature value: t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def retry_delay(attempts: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next attempt after `attempts` failed ones: 2, 4, 8, ... ±20%, at most an hour."""
    base = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
    return base * (0.8 + 0.4 * rand())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect())


def post(url: str, body: bytes, header: str, timeout: float) -> None:
    """POST one delivery; raise OSError (any failure, with a line for a person) unless 2xx."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: header, "User-Agent": "bouncewatch"},
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(4096)
    except urllib.error.HTTPError as error:
        raise OSError(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise OSError(str(error.reason)) from None


@dataclass(slots=True)
class DeliveryStats:
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    longest_delay_seconds: float = 0.0  # from the event's creation to its delivery


def deliver_due(
    settings: Settings,
    *,
    budget_seconds: float | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> DeliveryStats:
    """Send every due delivery once (until `budget_seconds` is spent or `stop()`); the caller
    owns the database connection. Rows that fail are rescheduled, so the loop ends."""
    started = time.monotonic()
    stats = DeliveryStats()
    hooks = {hook.url: (index, hook) for index, hook in enumerate(settings.webhooks)}
    secrets: dict[str, bytes] = {}
    while not stop():
        rows = outbox.due(store.utcnow(), limit=50)
        if not rows:
            break
        for row in rows:
            if stop() or (budget_seconds is not None and time.monotonic() - started > budget_seconds):
                return stats
            _attempt(settings, row, hooks, secrets, stats)
    return stats


def _attempt(settings: Settings, row: store.WebhookDelivery, hooks: dict, secrets: dict[str, bytes], stats: DeliveryStats) -> None:
    now = store.utcnow()
    found = hooks.get(row.url)
    timeout = found[1].timeout_seconds if found else 10.0
    if not outbox.claim(row, now + timedelta(seconds=timeout + CLAIM_GRACE_SECONDS)):
        return  # another sender has it
    try:
        if found is None:
            raise OSError("no [[webhooks]] table has this url any more")
        index, hook = found
        if hook.url not in secrets:
            try:
                secrets[hook.url] = read_secret(settings, f"webhooks[{index}].secret_file", hook.secret_file)
            except ValueError as exc:
                raise OSError(str(exc)) from None
        body = row.body.encode()
        post(hook.url, body, signature(secrets[hook.url], body, int(time.time())), hook.timeout_seconds)
    except OSError as exc:
        attempts = row.attempts + 1
        give_up = store.utcnow() - row.created_at >= RETRY_PERIOD
        next_at = store.utcnow() + timedelta(seconds=retry_delay(attempts))
        outbox.attempt_failed(row.id, attempts, str(exc), next_at, give_up)
        stats.failed_attempts += 1
        stats.given_up += give_up
        log.warning(
            "webhook_failed" if give_up else "webhook_retry",
            url=row.url,
            id=row.event_id,
            webhook_event=row.event,
            attempts=attempts,
            error=str(exc)[:300],
            retry_at=None if give_up else next_at.isoformat(timespec="seconds") + "Z",
        )
        return
    outbox.delivered(row.id)
    delay = (store.utcnow() - row.created_at).total_seconds()
    stats.delivered += 1
    stats.longest_delay_seconds = max(stats.longest_delay_seconds, delay)
    log.info("webhook_delivered", url=row.url, id=row.event_id, webhook_event=row.event, attempts=row.attempts + 1, delay_seconds=round(delay, 1))
