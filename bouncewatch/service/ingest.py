"""Record sending services' reports: once per event id, in one transaction with the ledger.

Each verified report (providers/) becomes a processed-message row keyed by a hash of (provider,
event id), so a report sent twice counts once, and its recipients become events and verdicts
exactly as a parsed bounce's do (service/pipeline.py's `plan_events`, rules/ledger.py): the
same duplicate rule by original message and recipient, the same sender-side alerts. A replay
key (Mailgun's token) is remembered in the same transaction, so a replayed request is refused
even after a restart. The blocklist outputs are published when an address was newly blocked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from .. import store
from ..config import Settings
from ..providers.events import ProviderReport, Refused, verdicts
from ..publish import webhooks
from ..records import AddressState, Outcome, ParsedMessage, Verdict
from ..rules.addresses import domain_of, normalise
from ..rules.alerts import AlertPolicy
from ..rules.classify import ClassPolicy
from ..rules.ledger import apply_verdict
from ..store import outbox
from .alerts import update_sender_alerts
from .analysis import Analysis, outcome_of
from .pipeline import ledger_policy, plan_events
from .publisher import PUBLISHER

log = structlog.get_logger("bouncewatch.ingest")

REPLAY_KEYS_KEPT = timedelta(hours=1)  # longer than any signed request is accepted


@dataclass(slots=True)
class IngestResult:
    """What one request's reports did."""

    recorded: int = 0
    duplicates: int = 0
    newly_blocked: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)


def report_fingerprint(report: ProviderReport) -> str:
    """The dedupe key of a report: the same event id from the same provider is the same report."""
    return hashlib.sha256(f"{report.provider}\n{report.event_id}".encode()).hexdigest()


def ingest(
    settings: Settings,
    reports: Sequence[ProviderReport],
    *,
    replay_key: str | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Record `reports` (already verified); Refused("replay") when `replay_key` was used before."""
    now = now or store.utcnow()
    result = IngestResult()
    class_policy = ClassPolicy(overrides=dict(settings.policy.overrides))
    policy = ledger_policy(settings)
    alert_policy = AlertPolicy(
        threshold=settings.policy.sender_alert_threshold,
        window=timedelta(minutes=settings.policy.sender_alert_window_minutes),
    )
    # Reports in the order they happened (a batch is not sorted), each dated no later than now.
    dated = sorted(((min(r.at or now, now), r) for r in reports), key=lambda item: item[0])
    with store.write_transaction():
        if replay_key is not None:
            outbox.forget_before(now - REPLAY_KEYS_KEPT)
            if not outbox.first_use(replay_key, now):
                raise Refused("replay", "this request was seen before", 406)
        known = set(store.known_fingerprints(report_fingerprint(r) for _at, r in dated))
        fresh: list[tuple[datetime, ProviderReport, str, Analysis]] = []
        for at, report in dated:
            print_ = report_fingerprint(report)
            if print_ in known:
                result.duplicates += 1
                continue
            known.add(print_)
            found = verdicts(report, class_policy)
            parsed = ParsedMessage(
                records=tuple(v.record for v in found), kind=report.kind, original_message_id=report.dedupe_message_id
            )
            fresh.append((at, report, print_, Analysis(parsed, found, outcome_of(found) if found else Outcome.IGNORED)))
        pairs = {
            (analysis.parsed.original_message_id, normalise(v.record.address) or "")
            for *_rest, analysis in fresh
            for v in analysis.verdicts
        }
        counted_pairs = store.counted_before(pairs)
        messages: list[store.NewMessage] = []
        to_apply: list[tuple[datetime, str, Verdict]] = []
        for at, report, print_, analysis in fresh:
            events, applied = plan_events(analysis, counted_pairs, policy)
            to_apply.extend((at, address, verdict) for address, verdict in applied)
            messages.append(
                store.NewMessage(
                    fingerprint=print_,
                    uid=0,
                    outcome=analysis.outcome.value,
                    kind=report.kind[:32],
                    original_message_id=analysis.parsed.original_message_id,
                    events=events,
                    provider=report.provider,
                    event_id=report.event_id,
                    at=at,
                )
            )
        states = store.load_states(address for _at, address, _verdict in to_apply)
        before = {address: state.blocked for address, state in states.items()}
        for at, address, verdict in to_apply:
            state = states.get(address) or AddressState(address=address)
            states[address] = apply_verdict(state, verdict, at, policy)
        store.record_messages(messages, "", "", 0, now)
        store.save_states(states.values())
        sender_side = [domain_of(e.address) for m in messages for e in m.events if e.sender_side]
        raised = update_sender_alerts(sender_side, now, alert_policy)
        result.alerts = [text for _domain, text in raised]
        result.recorded = len(messages)
        result.newly_blocked = [
            address for address, state in states.items() if state.blocked and not before.get(address, False)
        ]
        if settings.webhooks:
            webhooks.enqueue(settings, webhooks.ledger_changes(before, states.values(), raised, now), now)
    for report in (r for _at, r, _p, _a in fresh):
        log.info("provider_event_recorded", provider=report.provider, event_id=report.event_id, kind=report.kind)
    for address in result.newly_blocked:
        log.info("address_blocked", address=address, why=states[address].blocked_reason, source="provider")
    if result.newly_blocked:
        try:  # coalesced with the mailboxes' publishes: at most one per [blocklist] min_interval_seconds
            PUBLISHER.request(settings)
        except Exception as exc:  # noqa: BLE001 - the events are recorded; the next publish catches up
            log.error("publish_failed", error=str(exc)[:500])
    return result
