"""Command line: turns arguments into calls; the only place that prints for people.

Exit codes everywhere: 0 ok, 1 a runtime failure, 2 a usage or config error.

Commands load their modules when they run (and command groups of other modules load when
named), so `bouncewatch parse` starts without pydantic, peewee or imapclient.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import CONFIG_ENV, __version__

if TYPE_CHECKING:
    from .. import config
    from ..records import CycleSummary

F = TypeVar("F", bound=Callable[..., Any])
EXIT_RUNTIME = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_RUNTIME) -> None:
    click.echo(f"bouncewatch: {message}", err=True)
    sys.exit(code)


def load_settings(path: str | None) -> config.Settings:
    from .. import config

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
        envvar=CONFIG_ENV,
        metavar="FILE",
        help=f"Config file (TOML). Default: ${CONFIG_ENV}.",
    )(func)


def with_database(func: F) -> F:
    """Load settings, set up logging and open the database around a command."""

    @wraps(func)
    def wrapper(config_file: str | None, **kwargs: Any) -> Any:
        from .. import logs, store

        settings = load_settings(config_file)
        logs.configure(settings.log.level, settings.log.format)
        open_state(settings, config_file)
        try:
            return func(settings, **kwargs)
        finally:
            store.close_database()

    return wrapper  # type: ignore[return-value]


def open_state(settings: config.Settings, config_file: str | None, *, fresh: bool = False, probe: bool = False) -> Any:
    """Open the state (service/state.py) or fail with its one line: gone, replaced, unreachable."""
    from .. import store
    from ..service.state import open_state as open_it

    try:
        return open_it(settings, config_file=config_path_text(config_file), fresh=fresh, probe=probe)
    except store.StateMissing as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - any driver's error, told plainly
        fail(f"cannot open {store.fault_text(exc, settings.database_url)}")


def config_path_text(config_file: str | None) -> str | None:
    from .. import config

    try:
        return str(config.config_path(config_file).resolve())
    except config.ConfigError:
        return None


class LazyGroup(click.Group):
    """A group whose commands from other modules are imported only when named (click's recipe)."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands  # name → "module:attribute"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            module_name, _, attribute = self.lazy_commands[cmd_name].partition(":")
            module = importlib.import_module(module_name, __package__)
            return getattr(module, attribute)
        return super().get_command(ctx, cmd_name)


# Commands that live in other modules: name → "module:function".
LAZY_COMMANDS = {
    "status": ".addresses:status",
    "history": ".addresses:history",
    "list": ".addresses:list_command",
    "block": ".addresses:block",
    "unblock": ".addresses:unblock_command",
    "delivered": ".addresses:delivered",
    "report": ".addresses:report",
    "prune": ".retention:prune",
    "export": ".outputs:export",
    "publish": ".outputs:publish",
    "verp": ".outputs:verp",
    "console": ".console:console",
    "webhooks": ".webhooks:webhooks",
}


@click.group(
    cls=LazyGroup,
    lazy_commands=LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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

    Each mailbox's outcome is told on its own: its summary, or one line saying why it failed
    (the others still run). Then the outputs are published. Exit 0 when everything worked,
    1 when a mailbox or the publishing failed (named on stderr).

    \b
    Example:
      bouncewatch poll -c /etc/bouncewatch.toml
    """
    from .. import store
    from ..service.faults import EXPECTED_FAULTS, describe_fault
    from ..service.pipeline import process_mailbox
    from ..service.publisher import PUBLISHER

    if not settings.mailboxes:
        fail("config error: mailboxes: no [[mailboxes]] configured", EXIT_USAGE)
    failures = []
    for mailbox in settings.mailboxes:
        try:
            _print_summary(process_mailbox(settings, mailbox))
        except EXPECTED_FAULTS as exc:  # IMAP, database, disk: this mailbox only; the others go on
            reason = describe_fault(exc)
            click.echo(f"{mailbox.name}: failed: {reason}")
            failures.append(f"mailbox {mailbox.name}: {reason}")
            _drop_connection()  # a broken database connection must not fail the next mailbox too
    try:  # the outputs are written once, after every mailbox
        PUBLISHER.publish_if_changed(settings)
        count = next((r.published for r in PUBLISHER.last_results if r.spec.path == settings.blocklist_path), None)
        click.echo(f"blocklist: {settings.blocklist_path} ({store.count_blocked() if count is None else count} addresses)")
    except EXPECTED_FAULTS as exc:
        reason = describe_fault(exc)
        click.echo(f"blocklist: not published: {reason}")
        failures.append(f"publishing: {reason}")
    if settings.webhooks:
        try:
            _send_webhooks(settings)
        except EXPECTED_FAULTS as exc:  # they stay in the outbox for the next try
            failures.append(f"webhooks: {describe_fault(exc)}")
    for failure in failures:
        click.echo(f"bouncewatch: {failure}", err=True)
    if failures:
        sys.exit(EXIT_RUNTIME)


def _drop_connection() -> None:
    from .. import store

    try:
        store.close_database()
    except Exception:  # noqa: BLE001 - a broken connection is what we are getting rid of
        pass
POLL_WEBHOOK_BUDGET_SECONDS = 10


def _send_webhooks(settings: config.Settings) -> None:
    """`poll` sends the webhook deliveries due now, for at most POLL_WEBHOOK_BUDGET_SECONDS; what
    is left stays in the outbox for the daemon, the next poll or `bouncewatch webhooks retry`."""
    from ..publish.webhooks import deliver_due
    from ..store import outbox

    stats = deliver_due(settings, budget_seconds=POLL_WEBHOOK_BUDGET_SECONDS)
    left = outbox.count_pending()
    if stats.delivered or left:
        click.echo(f"webhooks: {stats.delivered} delivered, {left} pending (sent again later with backoff)")


@main.command()
@config_option
@with_database
def run(settings: config.Settings) -> None:
    """Run as a daemon: poll every mailbox on its interval until SIGTERM or SIGINT.

    \b
    Example:
      bouncewatch run -c /etc/bouncewatch.toml
    """
    from .. import config
    from ..service.daemon import run as run_daemon

    def endpoint_factory(settings: config.Settings, health: Any) -> Any:
        # Flask, Hypercorn, prometheus_client: imported only when [http] is enabled.
        from ..web.server import HttpService

        return HttpService(settings, health)

    if not settings.mailboxes:
        fail("config error: mailboxes: no [[mailboxes]] configured", EXIT_USAGE)
    config_file = click.get_current_context().params.get("config_file")
    _check_endpoint(settings, config.config_path(config_file))  # a provider key that cannot load: exit 2
    sys.exit(run_daemon(settings, config.config_path(config_file), endpoint_factory))  # the path: for SIGHUP


@main.command()
@click.option("--config-only", is_flag=True, help="Only validate the config; connect to nothing.")
@config_option
def check(config_file: str | None, config_only: bool) -> None:
    """Check the config and each mailbox: capabilities, folders, what a first run would create.

    Exit 0 when all is well, 1 when a mailbox cannot be used (the reason is printed),
    2 when the config is invalid.

    \b
    Examples:
      bouncewatch check --config-only -c /etc/bouncewatch.toml
      bouncewatch check -c /etc/bouncewatch.toml
    """
    from .. import config, logs, store
    from ..imap.mailbox import Mailbox, MailboxError

    settings = load_settings(config_file)
    if not settings.mailboxes:
        fail("config error: mailboxes: no [[mailboxes]] configured", EXIT_USAGE)
    _check_endpoint(settings, config.config_path(config_file))
    click.echo(f"config: {config.config_path(config_file)}: valid, {len(settings.mailboxes)} mailbox(es)")
    _describe_endpoint(settings)
    if config_only:
        return
    logs.configure(settings.log.level, settings.log.format)
    opened = open_state(settings, config_file, probe=True)  # a lost state: its line, exit 1
    where = store.where(settings.database_url)
    click.echo(f"state: {where}: " + (f"state {opened.state[:8]}" if opened else "created at the first run"))
    problems: list[str] = []
    for mailbox in settings.mailboxes:
        click.echo(
            f"mailbox {mailbox.name}: {mailbox.username} at {mailbox.host}:{mailbox.effective_port} "
            f"({mailbox.security}{', XOAUTH2' if mailbox.uses_oauth2 else ''})"
        )
        try:
            with Mailbox(mailbox) as box:
                capabilities = sorted(c.decode(errors="replace") for c in box.capabilities())
                click.echo(f"  capabilities: {' '.join(capabilities)}")
                click.echo(f"  folders: {', '.join(box.folders()) or '(none)'}")
                for folder in mailbox.folder_list:
                    if not box.client.folder_exists(folder):
                        problems.append(f"mailbox {mailbox.name}: watched folder {folder!r} does not exist")
                missing = box.missing_archive_folders()
                click.echo(f"  would create: {', '.join(missing) or 'nothing (archive folders exist)'}")
                if "MOVE" not in capabilities and "UIDPLUS" not in capabilities:
                    problems.append(f"mailbox {mailbox.name}: server has neither MOVE nor UIDPLUS")
                if mailbox.idle and "IDLE" not in capabilities:
                    click.echo("  note: idle = true, but the server has no IDLE; it will be polled")
        except MailboxError as exc:
            problems.append(f"mailbox {mailbox.name}: {exc}")
    for problem in problems:
        click.echo(f"bouncewatch: {problem}", err=True)
    if problems:
        sys.exit(EXIT_RUNTIME)
    click.echo("all mailboxes ok")


@main.command()
@click.option(
    "--fresh",
    is_flag=True,
    help="Start afresh on purpose: take the configured database as the state from now on, "
    "although outputs or a marker show that another state existed.",
)
@config_option
def init(config_file: str | None, fresh: bool) -> None:
    """Create the database's schema, or start afresh on purpose after losing the state.

    A first start creates the schema by itself; `init` does it ahead of time. When the state
    is gone but outputs show it existed, every command refuses to run: restore the database
    from a backup, or run `init --fresh` to start with an empty state (the outputs keep their
    addresses until `bouncewatch publish --force`).

    \b
    Examples:
      bouncewatch init -c /etc/bouncewatch.toml
      bouncewatch init --fresh -c /etc/bouncewatch.toml
    """
    from .. import logs, store
    from ..service.state import set_aside_stale_files

    settings = load_settings(config_file)
    logs.configure(settings.log.level, settings.log.format)
    if fresh:
        for moved in set_aside_stale_files(settings):
            click.echo(f"moved aside: {moved} (left from the lost database)")
    opened = open_state(settings, config_file, fresh=fresh)
    try:
        where = store.where(settings.database_url)
        if opened.created:
            click.echo(f"state: created in {where} (state {opened.state[:8]})")
        else:
            click.echo(f"state: {where} is ready (schema version {store.schema_version()}, state {opened.state[:8]})")
        if opened.earlier:
            click.echo(
                f"started afresh on purpose: {opened.earlier}; the outputs keep those addresses until "
                "`bouncewatch publish --force` replaces them with this state's"
            )
    finally:
        store.close_database()
def _check_endpoint(settings: config.Settings, path: Path) -> None:
    """The providers' keys must load (a SendGrid key must be an ECDSA key, ...): exit 2 if not."""
    if not settings.providers:
        return
    from ..providers.keys import load_keys

    try:
        load_keys(settings)
    except ValueError as exc:
        fail(f"config error: {path}: {exc}", EXIT_USAGE)


def _describe_endpoint(settings: config.Settings) -> None:
    """What the HTTP endpoint will serve, the providers it takes events from, the webhooks."""
    http = settings.http
    if http.enabled:
        parts = ["/healthz", "/metrics", "/v1"] + (["the console"] if http.console else [])
        click.echo(f"http: {http.listen}: {', '.join(parts)}")
    for item in settings.providers:
        click.echo(f"provider {item.kind}: POST /hooks/{item.kind}")
    if http.enabled:
        click.echo("events: POST /v1/events " + ("(bearer token)" if http.token_file else "refused until [http] token_file is set"))
    for hook in settings.webhooks:
        click.echo(f"webhook {hook.url}: {', '.join(hook.events)}")
        if hook.plaintext_off_loopback:
            click.echo(f"  note: {hook.url} is plain http off loopback; addresses cross the network unencrypted")


# -- parse ----------------------------------------------------------------------------------


def _analyse_file(path: str) -> dict[str, Any]:
    from ..parse import parse_message
    from ..rules.classify import DEFAULT_POLICY, classify

    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as fh:  # not Path.read_bytes: its path object costs per file
                raw = fh.read()
    except OSError as exc:
        return {"file": path, "recipients": [], "error": exc.strerror or str(exc)}
    parsed = parse_message(raw)
    recipients = []
    for record in parsed.records:
        verdict = classify(record, DEFAULT_POLICY)
        recipients.append(
            {
                "address": record.address,
                "status": record.status,
                "reply_code": record.reply_code,
                "reason": record.reason,
                "class": verdict.bounce_class.value,
                "action": record.action,
                "diagnostic": record.diagnostic,
                "source": record.source,
                "final_address": record.final_address,
            }
        )
    result: dict[str, Any] = {"file": path, "kind": parsed.kind, "recipients": recipients}
    if parsed.kind == "notice":  # looks like a bounce, is none: archived as Ignored
        result["notice"] = next((n.partition(": ")[2] for n in parsed.notes if n.startswith("not a bounce: ")), "")
    if parsed.notes:
        result["notes"] = list(parsed.notes)
    return result


# Below this many files a second process costs more than it saves.
_PARALLEL_FROM = 200


def _analysed(files: Sequence[str], jobs: int) -> Iterator[dict[str, Any]]:
    """Each file's analysis, in the order given; ``jobs`` processes share a long list."""
    if jobs <= 1 or len(files) < _PARALLEL_FROM or "-" in files:
        for path in files:
            yield _analyse_file(path)
        return
    import multiprocessing

    from .. import parse as _warm  # noqa: F401 - imported once here, inherited by the workers

    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap(_analyse_file, files, chunksize=32)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, show_default="0: one per CPU",
              help="Processes to parse with (a long list of files is shared out; output keeps its order).")
@click.argument("files", nargs=-1, required=True)
def parse(as_json: bool, jobs: int, files: Sequence[str]) -> None:
    """Analyse email files (bounces) without any server; '-' reads standard input.

    \b
    Examples:
      bouncewatch parse bounce.eml
      bouncewatch parse --json *.eml | jq .
    """
    jobs = jobs or len(os.sched_getaffinity(0))
    unreadable = False
    # click.echo's stream, written without echo's flush per line (thousands of files: one
    # write system call each); flushed once at the end
    out = click.get_text_stream("stdout")
    write = out.write
    encode = json.JSONEncoder(ensure_ascii=False).encode  # = json.dumps(..., ensure_ascii=False), built once
    for result in _analysed(files, jobs):
        path = result["file"]
        unreadable |= "error" in result
        if as_json:
            write(encode(result) + "\n")
            continue
        if "error" in result:
            click.echo(f"{path}: cannot read: {result['error']}")
            continue
        if result.get("notice"):
            click.echo(f"{path}: not a bounce ({result['notice']}), ignored")
        elif not result["recipients"]:
            said = f"{result['kind']}, no recipient counted" if result["kind"] else "no recipient counted"
            click.echo(f"{path}: " + (said if result["kind"] or result.get("notes") else "not a bounce"))
        for r in result["recipients"]:
            codes = " ".join(c for c in (r["status"], r["reply_code"]) if c)
            click.echo(f"{path}: {r['address']} {r['class']} {r['reason'] or '-'} {codes} [{r['source']}]".rstrip())
        if not result["recipients"] and not result.get("notice"):
            for note in result.get("notes", ()):
                click.echo(f"  note: {note}")
    out.flush()
    sys.exit(EXIT_RUNTIME if unreadable else 0)
