"""Command line: turns arguments into calls; the only place that prints for people.

Exit codes everywhere: 0 ok, 1 a runtime failure, 2 a usage or config error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__, config, logs, store
from .blocklist import ShrinkRefused
from .classify import ClassPolicy, classify
from .ledger import block_by_hand, unblock
from .mailbox import MailboxError
from .records import AddressState, CycleSummary

F = TypeVar("F", bound=Callable[..., Any])
EXIT_RUNTIME = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_RUNTIME) -> None:
    click.echo(f"bouncewatch: {message}", err=True)
    sys.exit(code)


def load_settings(path: str | None) -> config.Settings:
    try:
        return config.load(path)
    except config.ConfigError as exc:
        fail(f"config error: {exc}", EXIT_USAGE)
        raise  # unreachable; keeps type checkers content


def config_option(func: F) -> F:
    return click.option(
        "-c",
        "--config",
        "config_file",
        envvar=config.CONFIG_ENV,
        metavar="FILE",
        help=f"Config file (TOML). Default: ${config.CONFIG_ENV}.",
    )(func)


def with_database(func: F) -> F:
    """Load settings, set up logging and open the database around a command."""

    @wraps(func)
    def wrapper(config_file: str | None, **kwargs: Any) -> Any:
        settings = load_settings(config_file)
        logs.configure(settings.log.level, settings.log.format)
        try:
            store.open_database(settings.database_url)
        except Exception as exc:  # noqa: BLE001 - any driver's error, told plainly
            fail(f"cannot open database {_safe_url(settings.database_url)}: {exc}")
        try:
            return func(settings, **kwargs)
        finally:
            store.close_database()

    return wrapper  # type: ignore[return-value]


def _safe_url(url: str) -> str:
    """The database URL without a password in it."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}"
    return url


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bouncewatch")
def main() -> None:
    """Watch a bounce mailbox over IMAP and keep a blocklist of addresses not to mail again."""


# -- poll / run -----------------------------------------------------------------------------


def _print_summary(summary: CycleSummary) -> None:
    classes = ", ".join(f"{k} {v}" for k, v in sorted(summary.records_by_class.items())) or "none"
    folders = ", ".join(f"{k} {v}" for k, v in sorted(summary.outcomes.items())) or "none"
    click.echo(
        f"{summary.mailbox}: {summary.messages} messages; records: {classes}; "
        f"newly blocked: {len(summary.newly_blocked)}"
    )
    click.echo(f"  archived: {folders}")
    if summary.skipped_duplicates:
        click.echo(f"  already processed (moved only): {summary.skipped_duplicates}")
    if summary.quarantined:
        click.echo(f"  unreadable (quarantined in Unrecognized): {summary.quarantined}")
    for address in summary.newly_blocked:
        click.echo(f"  blocked: {address}")


@main.command()
@config_option
@with_database
def poll(settings: config.Settings) -> None:
    """Run one cycle over every mailbox, print what it did, and exit.

    \b
    Example:
      bouncewatch poll -c /etc/bouncewatch.toml
    """
    from .pipeline import publish_blocklist, run_cycle

    if not settings.mailboxes:
        fail("config error: mailboxes: no [[mailboxes]] configured", EXIT_USAGE)
    failures = []
    for mailbox in settings.mailboxes:
        try:
            _print_summary(run_cycle(settings, mailbox))
        except (MailboxError, ShrinkRefused) as exc:
            failures.append(f"mailbox {mailbox.name}: {exc}")
        except OSError as exc:
            failures.append(f"mailbox {mailbox.name}: {exc}")
    try:
        publish_blocklist(settings)
    except ShrinkRefused as exc:
        failures.append(str(exc))
    click.echo(f"blocklist: {settings.blocklist_path} ({store.count_blocked()} addresses)")
    for failure in failures:
        click.echo(f"bouncewatch: {failure}", err=True)
    if failures:
        sys.exit(EXIT_RUNTIME)


@main.command()
@config_option
@with_database
def run(settings: config.Settings) -> None:
    """Run as a daemon: poll every mailbox on its interval until SIGTERM or SIGINT.

    \b
    Example:
      bouncewatch run -c /etc/bouncewatch.toml
    """
    from .daemon import run as run_daemon

    if not settings.mailboxes:
        fail("config error: mailboxes: no [[mailboxes]] configured", EXIT_USAGE)
    sys.exit(run_daemon(settings))


# -- parse ----------------------------------------------------------------------------------


def _analyse_file(path: str) -> dict[str, Any]:
    from .parse import parse_message

    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        return {"file": path, "recipients": [], "error": exc.strerror or str(exc)}
    parsed = parse_message(raw)
    policy = ClassPolicy()
    recipients = []
    for record in parsed.records:
        verdict = classify(record, policy)
        recipients.append(
            {
                "address": record.address,
                "status": record.status,
                "reply_code": record.reply_code,
                "reason": record.reason,
                "class": verdict.bounce_class.value,
                "action": record.action,
                "diagnostic": record.diagnostic,
            }
        )
    return {"file": path, "recipients": recipients}


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
@click.argument("files", nargs=-1, required=True)
def parse(as_json: bool, files: Sequence[str]) -> None:
    """Analyse email files (bounces) without any server; '-' reads standard input.

    \b
    Examples:
      bouncewatch parse bounce.eml
      bouncewatch parse --json *.eml | jq .
    """
    unreadable = False
    for path in files:
        result = _analyse_file(path)
        unreadable |= "error" in result
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
            continue
        if "error" in result:
            click.echo(f"{path}: cannot read: {result['error']}")
            continue
        if not result["recipients"]:
            click.echo(f"{path}: not a bounce")
        for r in result["recipients"]:
            codes = " ".join(c for c in (r["status"], r["reply_code"]) if c)
            click.echo(f"{path}: {r['address']} {r['class']} {r['reason'] or '-'} {codes}".rstrip())
    sys.exit(EXIT_RUNTIME if unreadable else 0)


# -- addresses ------------------------------------------------------------------------------


def _state_dict(state: AddressState) -> dict[str, Any]:
    def when(value: Any) -> str:
        return value.isoformat(timespec="seconds") + "Z" if value else ""

    return {
        "address": state.address,
        "blocked": state.blocked,
        "blocked_reason": state.blocked_reason,
        "blocked_at": when(state.blocked_at),
        "soft_count": state.soft_count,
        "bounces": state.bounces,
        "last_class": state.last_class,
        "last_reason": state.last_reason,
        "last_status": state.last_status,
        "first_bounce": when(state.first_bounce),
        "last_bounce": when(state.last_bounce),
        "manual": state.manual,
    }


@main.command()
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
    address = address.strip().lower()
    state = store.get_state(address) or AddressState(address=address)
    events = store.recent_events(address)
    audit = store.audit_entries(address)
    data = _state_dict(state)
    data["last_bounces"] = [
        {
            "at": e.at.isoformat(timespec="seconds") + "Z",
            "class": e.bounce_class,
            "status": e.status,
            "reason": e.reason,
            "diagnostic": e.diagnostic,
            "mailbox": e.message.mailbox,
            "archive": e.message.outcome,
        }
        for e in events
    ]
    data["audit"] = [
        {"at": a.at.isoformat(timespec="seconds") + "Z", "action": a.action, "actor": a.actor, "reason": a.reason}
        for a in audit
    ]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    verdict = f"BLOCKED ({state.blocked_reason})" if state.blocked else "not blocked"
    click.echo(f"{address}: {verdict}")
    click.echo(f"  consecutive soft bounces: {state.soft_count} of {settings.policy.soft_limit}")
    click.echo(f"  bounces recorded: {state.bounces}")
    for e in data["last_bounces"]:
        click.echo(f"  {e['at']} {e['class']} {e['reason'] or '-'} {e['status']} [{e['mailbox']} → {e['archive']}]")
    for a in data["audit"]:
        click.echo(f"  {a['at']} {a['action']} by {a['actor']}: {a['reason']}")


def _manual_action(settings: config.Settings, address: str, reason: str, actor: str | None, action: str) -> None:
    from .pipeline import publish_blocklist

    address = address.strip().lower()
    if "@" not in address:
        fail(f"{address!r} is not an email address", EXIT_USAGE)
    at = store.utcnow()
    with store.database_proxy.atomic():
        state = store.get_state(address) or AddressState(address=address)
        new_state = block_by_hand(state, reason, at) if action == "block" else unblock(state)
        store.save_states([new_state])
        store.write_audit(address, action, reason, actor, at)
    try:
        publish_blocklist(settings, force=True)
    except OSError as exc:
        fail(f"{action} recorded, but the blocklist could not be written: {exc}")
    click.echo(f"{address}: {'blocked' if new_state.blocked else 'unblocked'} ({reason})")


@main.command()
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


@main.command("unblock")
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

