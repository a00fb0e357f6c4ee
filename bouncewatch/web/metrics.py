"""Prometheus metrics of one daemon: a CycleObserver (service/observers.py) feeding its own registry.

Only loaded when `[http]` is on. Each Metrics has its own CollectorRegistry (never the global
one), so tests can make as many as they like. Counters count what this process did since it
started; `bouncewatch_addresses_blocked` is read from the database at scrape time (one indexed
COUNT), so manual blocks and other instances show up too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..publish.outputs import Published
from ..records import BounceClass, CycleSummary, Outcome

log = structlog.get_logger("bouncewatch.metrics")

DUPLICATE = "duplicate"  # the outcome label of a message already processed (seen again)
CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, float("inf"))


class _BlockedAddresses(Collector):
    """`bouncewatch_addresses_blocked`, counted in the database when scraped."""

    def __init__(self, count: Callable[[], int]) -> None:
        self._count = count

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily("bouncewatch_addresses_blocked", "Addresses blocked now (from the database)")]

    def collect(self) -> Iterator[Metric]:
        try:
            value = self._count()
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail for a busy database
            log.warning("metrics_blocked_count_failed", error=repr(exc)[:300])
            return
        yield GaugeMetricFamily(
            "bouncewatch_addresses_blocked", "Addresses blocked now (from the database)", value=value
        )


class Metrics:
    """The daemon's metrics; pass it to the workers as their observer."""

    def __init__(
        self,
        mailboxes: Iterable[str] = (),
        blocked_count: Callable[[], int] | None = None,
        providers: Iterable[str] = (),
    ) -> None:
        self.registry = registry = CollectorRegistry()
        self.messages = Counter(
            "bouncewatch_messages_processed",
            "Messages processed, by mailbox and outcome (the archive folder, lowercased; duplicate: seen before)",
            ["mailbox", "outcome"],
            registry=registry,
        )
        self.records = Counter(
            "bouncewatch_records", "Bounce records read, by mailbox and class", ["mailbox", "class"], registry=registry
        )
        self.quarantined = Counter(
            "bouncewatch_messages_quarantined",
            "Messages that could not be parsed (moved to Unrecognized)",
            ["mailbox"],
            registry=registry,
        )
        self.newly_blocked = Counter(
            "bouncewatch_addresses_newly_blocked", "Addresses this process blocked", ["mailbox"], registry=registry
        )
        self.alerts = Counter(
            "bouncewatch_sender_side_alerts",
            "Sender-side alerts raised (a domain rejecting our mail for reasons that point at us)",
            ["mailbox"],
            registry=registry,
        )
        self.cycle_seconds = Histogram(
            "bouncewatch_cycle_duration_seconds",
            "Duration of successful cycles (connect, fetch, process, move, publish)",
            ["mailbox"],
            buckets=CYCLE_BUCKETS,
            registry=registry,
        )
        self.last_success = Gauge(
            "bouncewatch_last_success_timestamp_seconds",
            "Unix time of the mailbox's last successful cycle",
            ["mailbox"],
            registry=registry,
        )
        self.errors = Counter(
            "bouncewatch_cycle_errors",
            "Failed attempts (IMAP, database, disk), by mailbox and exception class",
            ["mailbox", "error_type"],
            registry=registry,
        )
        self.publish_failures = Counter(
            "bouncewatch_publish_failures",
            "Publishes after a cycle that failed (an output refused by its shrink guard, or not written)",
            ["mailbox"],
            registry=registry,
        )
        self.last_published = Gauge(
            "bouncewatch_last_publish_timestamp_seconds",
            "Unix time of the last publish in which every output was written or unchanged",
            registry=registry,
        )
        self.output_addresses = Gauge(
            "bouncewatch_output_addresses", "Addresses in each published output file now", ["path"], registry=registry
        )
        self.shrink_refused = Gauge(
            "bouncewatch_output_shrink_refused",
            "1 while the output's last publish was refused by its shrink guard (max_shrink), else 0",
            ["path"],
            registry=registry,
        )
        self.vanishing = Gauge(
            "bouncewatch_output_vanishing_addresses",
            "Published addresses the refused write would have dropped (0 when not refused)",
            ["path"],
            registry=registry,
        )
        self.refused = Counter(
            "bouncewatch_http_refused",
            "HTTP requests refused before the app: host (not an allowed Host), body_size (413), "
            "body_time (408), write_time (a client that stopped reading was dropped), busy (503: "
            "too many requests waiting)",
            ["reason"],
            registry=registry,
        )
        for reason in ("host", "body_size", "body_time", "write_time", "busy"):
            self.refused.labels(reason)
        self.provider_events = Counter(
            "bouncewatch_provider_events",
            "Events from sending services and POST /v1/events, by provider and outcome (recorded, duplicate)",
            ["provider", "outcome"],
            registry=registry,
        )
        self.provider_refusals = Counter(
            "bouncewatch_provider_requests_refused",
            "Requests on /hooks/<provider> and /v1/events refused, by provider and cause "
            "(bad_signature, replay, unknown_topic, malformed, unauthorized, too_large, certificate_unavailable)",
            ["provider", "cause"],
            registry=registry,
        )
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        if blocked_count is not None:
            registry.register(_BlockedAddresses(blocked_count))
        for name in mailboxes:
            self._declare(name)
        for provider in (*providers, "api"):
            for outcome in ("recorded", "duplicate"):
                self.provider_events.labels(provider, outcome)

    def _declare(self, mailbox: str) -> None:
        """Create a mailbox's series at zero, so rates work from the first scrape."""
        for outcome in (*(o.value.lower() for o in Outcome), DUPLICATE):
            self.messages.labels(mailbox, outcome)
        for bounce_class in BounceClass:
            self.records.labels(mailbox, bounce_class.value)
        for counter in (self.quarantined, self.newly_blocked, self.alerts):
            counter.labels(mailbox)
        self.cycle_seconds.labels(mailbox)
        self.publish_failures.labels(mailbox)

    def http_refused(self, reason: str) -> None:
        self.refused.labels(reason).inc()

    # -- CycleObserver --------------------------------------------------------------------------

    def cycle_done(self, mailbox: str, summary: CycleSummary, seconds: float) -> None:
        for outcome, count in summary.outcomes.items():
            self.messages.labels(mailbox, outcome.lower()).inc(count)
        if summary.skipped_duplicates:
            self.messages.labels(mailbox, DUPLICATE).inc(summary.skipped_duplicates)
        for bounce_class, count in summary.records_by_class.items():
            self.records.labels(mailbox, bounce_class).inc(count)
        self.quarantined.labels(mailbox).inc(summary.quarantined)
        self.newly_blocked.labels(mailbox).inc(len(summary.newly_blocked))
        self.alerts.labels(mailbox).inc(len(summary.alerts))
        self.cycle_seconds.labels(mailbox).observe(seconds)
        self.last_success.labels(mailbox).set(time.time())

    def cycle_failed(self, mailbox: str, error_type: str) -> None:
        self.errors.labels(mailbox, error_type).inc()

    def outputs_published(self, mailbox: str, results: Sequence[Published], error: str) -> None:
        for result in results:
            path = str(result.spec.path)
            self.output_addresses.labels(path).set(result.published)
            self.shrink_refused.labels(path).set(1 if result.refused else 0)
            self.vanishing.labels(path).set(result.vanished if result.refused else 0)
        if error:
            self.publish_failures.labels(mailbox).inc()
        else:
            self.last_published.set(time.time())

    # -- provider events (web/hooks.py) ---------------------------------------------------------

    def provider_accepted(self, provider: str, recorded: int, duplicates: int) -> None:
        self.provider_events.labels(provider, "recorded").inc(recorded)
        self.provider_events.labels(provider, "duplicate").inc(duplicates)

    def provider_refused(self, provider: str, cause: str) -> None:
        self.provider_refusals.labels(provider, cause).inc()
