"""`bouncewatch prune`: remove the history past `[retention]` now, or count what would go."""

from __future__ import annotations

import sys
import time

import click

from .. import config, store
from ..store import retention
from . import config_option, with_database

KIND_NAMES = {
    "events": ("bounce events", "events_days"),
    "messages": ("message records", "messages_days"),
    "alerts": ("sender-side alerts", "events_days"),
    "webhooks": ("webhook deliveries given up on", "events_days"),
}


def when(value: object) -> str:
    return value.isoformat(timespec="seconds") + "Z" if value else ""  # type: ignore[attr-defined]


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def describe_size(size: retention.DatabaseSize) -> str:
    if size.kind == "postgresql":
        return f"{megabytes(size.total_bytes)} (PostgreSQL)"
    return f"{megabytes(size.total_bytes)} (SQLite; {megabytes(size.free_bytes)} free inside the file for reuse)"


@click.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be removed; change nothing.")
@click.option(
    "--vacuum", is_flag=True,
    help="Afterwards rewrite the database compactly (SQLite: VACUUM, which also turns on incremental "
    "auto_vacuum for an older file; it needs free disk space of the file's size: stop the daemon first).",
)
@config_option
@with_database
def prune(settings: config.Settings, dry_run: bool, vacuum: bool) -> None:
    """Remove bounce events and message records past their retention ([retention]).

    Address states (blocked or not, why, since when, the soft count), manual actions, the
    audit trail and the folder cursors are kept; the blocklist does not change. The daemon
    does the same by itself once a day, in small batches.

    \b
    Examples:
      bouncewatch prune --dry-run -c /etc/bouncewatch.toml
      bouncewatch prune -c /etc/bouncewatch.toml
    """
    from ..service.retention import retention_policy

    policy = retention_policy(settings)
    now = store.utcnow()
    horizons = policy.horizons(now)
    started = time.monotonic()
    if dry_run:
        counts = retention.count_prunable(policy, now)
    else:
        show = sys.stderr.isatty()

        def progress(kind: str, done: int) -> None:
            if show:
                click.echo(f"\r  {KIND_NAMES[kind][0]}: {done:,} removed", nl=False, err=True)

        result = retention.prune(
            policy, now, batch=retention.LARGE_BATCH_ROWS, cache_kib=retention.LARGE_CACHE_KIB, progress=progress
        )
        if show and result.total:
            click.echo("", err=True)
        counts = result.removed
        released = retention.release_free_pages(keep_fraction=0.0, max_pages=1 << 40)
    verb = "would be removed" if dry_run else "removed"
    for kind, horizon in horizons.items():
        name, key = KIND_NAMES[kind]
        if horizon is None:
            click.echo(f"{name}: kept forever ({key} = 0)")
            continue
        days = getattr(settings.retention, key)
        click.echo(f"{name} older than {days} days (before {when(horizon)}): {counts[kind]:,} {verb}")
    if not dry_run:
        click.echo(f"took {time.monotonic() - started:.1f}s")
        if vacuum:
            click.echo("vacuuming the database...")
            retention.vacuum()
        elif released:
            click.echo(f"gave {released:,} free pages back to the file system")
        retention.checkpoint()
    click.echo(f"database: {describe_size(retention.database_size())}")
