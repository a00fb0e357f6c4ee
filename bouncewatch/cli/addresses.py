"""Commands about addresses: status, history, list, block, unblock, delivered, report."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, TextIO

import click

from .. import config, store
from ..rules.addresses import normalise
from ..store import retention as store_retention
from ..store.address_views import (
    address_document,
    audit_dict as _audit_dict,
    event_dict as _event_dict,
    state_dict as _state_dict,
)
from . import EXIT_USAGE, config_option, fail, with_database
from .retention import describe_size


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") + "Z" if value else ""


def _source(event: dict[str, Any]) -> str:
    """Where an event came from: "bounces → Hard" (mailbox → archive folder) or "provider ses (event ID)"."""
    if event["source"] == "provider":
        return f"provider {event['provider']} (event {event['event_id']})"
    return f"{event['mailbox']} → {event['archive']}"


def _address_argument(address: str) -> str:
    canonical = normalise(address)
    if canonical is None:
        fail(f"{address!r} is not an email address", EXIT_USAGE)
    return canonical  # type: ignore[return-value]


@click.command()
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="Print the state as one JSON object.")
@config_option
@with_database
def status(settings: config.Settings, address: str, as_json: bool) -> None:
    """Show an address's state: blocked or not, why, soft count, last bounces.

    \b
    Example:
      bouncewatch status alice@example.com -c bouncewatch.toml
    """
    address = _address_argument(address)
    data, _known = address_document(address, settings.policy.sender_alert_window_minutes)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    verdict = f"BLOCKED ({data['blocked_reason']})" if data["blocked"] else "not blocked"
    click.echo(f"{address}: {verdict}")
    click.echo(f"  consecutive soft bounces: {data['soft_count']} of {settings.policy.soft_limit}")
    click.echo(f"  bounces recorded: {data['bounces']}")
    if data["last_success"]:
        click.echo(f"  last delivery reported: {data['last_success']}")
    for e in data["last_bounces"]:
        counted = "" if e["counted"] else " (not counted)"
        what = f"{e['class']} {e['action']}" if e["action"] not in ("", "failed", e["reason"]) else e["class"]
        click.echo(f"  {e['at']} {what} {e['reason'] or '-'} {e['status']}{counted} [{_source(e)}]")
    for a in data["audit"]:
        click.echo(f"  {a['at']} {a['action']} by {a['actor']}: {a['reason']}")
    if data["domain_alert"]:
        click.echo(f"  sender-side alert for the domain: {data['domain_alert']}")


@click.command()
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry, one per line.")
@config_option
@with_database
def history(settings: config.Settings, address: str, as_json: bool) -> None:
    """Every bounce event and manual action of an address, oldest first.

    \b
    Example:
      bouncewatch history alice@example.com -c bouncewatch.toml
    """
    address = _address_argument(address)
    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    for event in store.history(address):
        entries.append((event.at, event.id, {"type": "bounce", **_event_dict(event)}))
    for entry in store.audit_entries(address):
        entries.append((entry.at, entry.id, {"type": "manual", **_audit_dict(entry)}))
    entries.sort(key=lambda item: (item[0], item[2]["type"], item[1]))
    if not entries:
        click.echo(f"{address}: nothing recorded")
    for _at, _id, entry in entries:
        if as_json:
            click.echo(json.dumps(entry, ensure_ascii=False))
        elif entry["type"] == "bounce":
            counted = "" if entry["counted"] else " (not counted)"
            codes = " ".join(c for c in (entry["status"], entry["reply_code"]) if c)
            click.echo(
                f"{entry['at']}  {entry['class']:<9} {entry['reason'] or '-':<16} {codes:<10}"
                f"{counted} {_source(entry)}: {entry['diagnostic'][:200]}"
            )
        else:
            click.echo(f"{entry['at']}  {entry['action']:<9} by {entry['actor']}: {entry['reason']}")


@click.command("list")
@click.option("--blocked", "which", flag_value="blocked", help="Only blocked addresses.")
@click.option("--soft", "which", flag_value="soft", help="Only addresses with soft bounces counting.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per address, one per line.")
@config_option
@with_database
def list_command(settings: config.Settings, which: str | None, as_json: bool) -> None:
    """List known addresses with their state (streamed, sorted).

    \b
    Examples:
      bouncewatch list --blocked -c bouncewatch.toml
      bouncewatch list --soft --json -c bouncewatch.toml | jq .
    """
    states = store.iter_addresses(blocked=True if which == "blocked" else None, soft=which == "soft")
    for state in states:
        if as_json:
            click.echo(json.dumps(_state_dict(state), ensure_ascii=False))
        else:
            if state.blocked:
                flag = "blocked"
            elif state.soft_count:
                flag = f"soft {state.soft_count}/{settings.policy.soft_limit}"
            else:
                flag = "ok"
            click.echo(f"{state.address}\t{flag}\t{state.blocked_reason or state.last_reason}")


def _manual_action(settings: config.Settings, address: str, reason: str, actor: str | None, action: str) -> None:
    from ..service.manual import PublishFailed, manual_action

    address = _address_argument(address)
    try:
        new_state = manual_action(settings, address, reason, actor, action)
    except PublishFailed as exc:
        fail(str(exc))
        return
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
        return
    click.echo(f"{address}: {'blocked' if new_state.blocked else 'unblocked'} ({reason})")


@click.command()
@click.argument("address")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@click.option("--actor", help="Who (default: the OS user).")
@config_option
@with_database
def block(settings: config.Settings, address: str, reason: str, actor: str | None) -> None:
    """Block an address by hand; it stays blocked whatever arrives.

    \b
    Example:
      bouncewatch block bob@example.com --reason "asked to stop" -c bouncewatch.toml
    """
    _manual_action(settings, address, reason, actor, "block")


@click.command("unblock")
@click.argument("address")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@click.option("--actor", help="Who (default: the OS user).")
@config_option
@with_database
def unblock_command(settings: config.Settings, address: str, reason: str, actor: str | None) -> None:
    """Unblock an address after review; its soft count starts again at zero.

    \b
    Example:
      bouncewatch unblock alice@example.com --reason "mailbox fixed" -c bouncewatch.toml
    """
    _manual_action(settings, address, reason, actor, "unblock")


def _lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


DELIVERY_CHUNK = 5000


@click.command()
@click.argument("addresses", nargs=-1)
@click.option("--from-file", "from_file", type=click.File("r", encoding="utf-8"), help="One address per line; '-' reads standard input.")
@config_option
@with_database
def delivered(settings: config.Settings, addresses: tuple[str, ...], from_file: TextIO | None) -> None:
    """Record successful deliveries: each address's consecutive soft count starts again.

    \b
    Examples:
      bouncewatch delivered alice@example.com bob@example.org -c bouncewatch.toml
      my-crm export-delivered | bouncewatch delivered --from-file - -c bouncewatch.toml
    """
    if not addresses and from_file is None:
        fail("give addresses, or --from-file FILE ('-' for standard input)", EXIT_USAGE)
    at = store.utcnow()
    total = known = invalid = 0
    source: Iterator[str] = iter(addresses) if from_file is None else _lines(from_file)
    show_progress = from_file is not None and sys.stderr.isatty()
    chunk: list[str] = []

    def flush() -> None:
        nonlocal known
        with store.database_proxy.atomic():
            known += store.record_deliveries(chunk, at)
        chunk.clear()
        if show_progress:
            click.echo(f"\r  {total} addresses read", nl=False, err=True)

    for raw in source:
        canonical = normalise(raw)
        if canonical is None:
            invalid += 1
            continue
        total += 1
        chunk.append(canonical)
        if len(chunk) >= DELIVERY_CHUNK:
            flush()
    flush()
    if show_progress:
        click.echo("", err=True)
    click.echo(f"recorded {total} deliveries; soft count reset for {known} known addresses")
    if invalid:
        click.echo(f"skipped {invalid} lines that are not email addresses", err=True)


_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")


def parse_since(value: str) -> datetime:
    """'7d', '12h', '30m', '2w', or an ISO date/time (UTC) → a UTC datetime."""
    match = _DURATION.match(value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        span = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}[unit]
        return store.utcnow() - amount * span
    try:
        parsed = datetime.fromisoformat(value.strip().removesuffix("Z"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: use e.g. 7d, 12h, 30m or 2026-01-31") from None
    return parsed.replace(tzinfo=None)


@click.command()
@click.option("--since", default="7d", show_default=True, help="Period: 7d, 12h, 2w, or an ISO date.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@config_option
@with_database
def report(settings: config.Settings, since: str, as_json: bool) -> None:
    """Counts by class and reason, top receiving domains and sender-side alerts for a period.

    \b
    Example:
      bouncewatch report --since 24h -c bouncewatch.toml
    """
    start = parse_since(since)
    by_reason = store.class_reason_counts(start)
    domains = store.top_domains(start)
    alerts = store.alerts_since(start)
    data = {
        "since": _when(start),
        "by_class_reason": [{"class": c, "reason": r, "count": n} for c, r, n in by_reason],
        "top_domains": [{"domain": d, "count": n} for d, n in domains],
        "sender_side_alerts": [
            {"domain": a.domain, "raised_at": _when(a.raised_at), "last_at": _when(a.last_at), "rejections": a.rejections, "reasons": a.reasons}
            for a in alerts
        ],
        "blocked_addresses": store.count_blocked(),
        **database_facts(),
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(f"since {data['since']}: {sum(n for _c, _r, n in by_reason)} records; {data['blocked_addresses']} addresses blocked in all")
    click.echo("by class and reason:")
    for c, r, n in by_reason:
        click.echo(f"  {c:<9} {r or '-':<18} {n}")
    click.echo("top receiving domains (failures):")
    for d, n in domains:
        click.echo(f"  {d:<30} {n}")
    click.echo("sender-side alerts:" if alerts else "sender-side alerts: none")
    for a in alerts:
        click.echo(f"  {_when(a.raised_at)} {a.domain}: {a.rejections} rejections ({a.reasons}), last {_when(a.last_at)}")
    oldest = data["oldest_event"]
    age = f", {data['oldest_event_age_days']} days ago" if oldest else ""
    click.echo(f"database: {describe_size(store_retention.database_size())}; oldest event {oldest or 'none'}{age}")


def database_facts() -> dict[str, Any]:
    """How big the database is and how old its oldest event is (for `report`)."""
    size = store_retention.database_size()
    oldest = store_retention.oldest_event()
    return {
        "database_bytes": size.total_bytes,
        "database_free_bytes": size.free_bytes,
        "oldest_event": _when(oldest),
        "oldest_event_age_days": (store.utcnow() - oldest).days if oldest else None,
    }
