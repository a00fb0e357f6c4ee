"""`bouncewatch webhooks`: the deliveries still owed to webhook receivers; `webhooks retry` sends them."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from .. import config, store
from ..store import outbox
from . import EXIT_RUNTIME, config_option, with_database


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") + "Z" if value else ""


def _row(row: store.WebhookDelivery) -> dict:
    return {
        "id": row.event_id,
        "event": row.event,
        "address": row.address,
        "url": row.url,
        "state": row.state,
        "attempts": row.attempts,
        "created_at": _when(row.created_at),
        "next_attempt_at": _when(row.next_attempt_at) if row.state == "pending" else "",
        "last_error": row.last_error,
    }


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per delivery, one per line.")
@config_option
@click.pass_context
def webhooks(ctx: click.Context, config_file: str | None, as_json: bool) -> None:
    """List the webhook deliveries still pending or given up (failed).

    A delivery is retried with backoff (2 s, 4 s, 8 s, ... at most an hour apart) for three
    days, then marked failed; `bouncewatch webhooks retry` sends every pending and failed one
    again now.

    \b
    Examples:
      bouncewatch webhooks -c /etc/bouncewatch.toml
      bouncewatch webhooks retry -c /etc/bouncewatch.toml
    """
    if ctx.invoked_subcommand is None:
        _list(config_file=config_file, as_json=as_json)


@with_database
def _list(settings: config.Settings, as_json: bool) -> None:
    rows = outbox.listing()
    if as_json:
        for row in rows:
            click.echo(json.dumps(_row(row), ensure_ascii=False))
        return
    if not rows:
        click.echo("no webhook deliveries pending or failed")
        return
    for row in map(_row, rows):
        when = f"next {row['next_attempt_at']}" if row["state"] == "pending" else "gave up"
        click.echo(
            f"{row['state']:<8} {row['event']:<12} {row['address'] or '-'}  {row['url']}  "
            f"{row['attempts']} attempts, {when}; created {row['created_at']}; id {row['id']}"
        )
        if row["last_error"]:
            click.echo(f"         last error: {row['last_error'][:200]}")
    pending = sum(1 for row in rows if row.state == "pending")
    click.echo(f"{pending} pending, {len(rows) - pending} failed")


@webhooks.command()
@config_option
@with_database
def retry(settings: config.Settings) -> None:
    """Send every pending and failed webhook delivery again now (one attempt each).

    Exit 1 when some could not be delivered (they stay pending, with backoff).

    \b
    Example:
      bouncewatch webhooks retry -c /etc/bouncewatch.toml
    """
    from ..publish.webhooks import deliver_due

    requeued = outbox.requeue_all(store.utcnow())
    stats = deliver_due(settings)
    left = outbox.count_pending()
    click.echo(f"{requeued} deliveries retried: {stats.delivered} delivered, {left} still pending")
    if left:
        sys.exit(EXIT_RUNTIME)
