"""Commands about publishing: export, publish, verp encode / verify."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from .. import config, store
from ..publish import outputs, verp_sign
from ..publish.files import AtomicFile, ShrinkRefused
from . import EXIT_RUNTIME, EXIT_USAGE, config_option, fail, load_settings, with_database

PROGRESS_EVERY_SECONDS = 0.2


def _progress(total: int) -> Callable[[int], None] | None:
    """A progress line on stderr when it is a terminal; None (no progress) otherwise."""
    if not sys.stderr.isatty():
        return None
    last = [0.0]

    def show(done: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_SECONDS and done < total:
            return
        last[0] = now
        share = f" ({done * 100 // total}%)" if total else ""
        click.echo(f"\rexported {done:,}/{total:,}{share}", err=True, nl=False)

    return show


@click.command()
@click.option(
    "--format", "format_", type=click.Choice(outputs.FORMATS), required=True, help="Output format."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE (atomically) instead of standard output.")
@click.option("--mode", default="0644", show_default=True, help="File mode of -o FILE (octal).")
@config_option
@with_database
def export(settings: config.Settings, format_: str, output: Path | None, mode: str) -> None:
    """Export the blocked addresses once, streamed: text, csv, json or postfix.

    Progress goes to stderr when it is a terminal. Unlike the configured outputs, an export
    is written whatever it holds (no shrink guard).

    \b
    Examples:
      bouncewatch export --format csv -o /tmp/blocked.csv -c /etc/bouncewatch.toml
      bouncewatch export --format json | jq '.addresses | length'
    """
    try:
        file_mode = int(mode, 8)
    except ValueError:
        fail(f"--mode: {mode!r} is not an octal file mode such as 0644", EXIT_USAGE)
    started = time.monotonic()
    progress = _progress(store.count_blocked() if sys.stderr.isatty() else 0)
    outputs.refresh_index()
    try:
        if output is None:
            sink = sys.stdout.buffer
            rendering = outputs.Rendering(format_, sink, outputs.now_text())
            outputs.render_index([rendering], progress)
            sink.flush()
        else:
            with AtomicFile(output, file_mode) as temp:
                rendering = outputs.Rendering(format_, temp, outputs.now_text())
                outputs.render_index([rendering], progress)
                temp.commit()
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): not an error worth a trace
        sys.exit(0)
    except OSError as exc:
        fail(f"export failed: {exc}")
    if progress is not None:
        click.echo("", err=True)
    where = f" to {output}" if output else ""
    click.echo(
        f"exported {rendering.count} addresses as {format_}{where} in {time.monotonic() - started:.1f}s",
        err=True,
    )


@click.command()
@click.option("--force", is_flag=True, help="Write even an output that would shrink past its max_shrink.")
@config_option
@with_database
def publish(settings: config.Settings, force: bool) -> None:
    """Rewrite every configured output ([blocklist] path and [[outputs]]) from the database now.

    An output that would lose more than its max_shrink of addresses is refused (exit 1) unless
    --force is given.

    \b
    Examples:
      bouncewatch publish -c /etc/bouncewatch.toml
      bouncewatch publish --force -c /etc/bouncewatch.toml
    """
    try:
        results = outputs.publish_outputs(outputs.configured_outputs(settings), force=force)
    except (ShrinkRefused, OSError) as exc:
        fail(str(exc), EXIT_RUNTIME)
    for result in results:
        state = "written" if result.changed else "unchanged"
        click.echo(f"{result.spec.path} ({result.spec.format}): {state}, {result.count} addresses")


@click.group()
def verp() -> None:
    """Signed VERP return paths (see [verp] in the README)."""


def _signer(config_file: str | None) -> verp_sign.Signer:
    settings = load_settings(config_file)
    try:
        signer = verp_sign.signer_from_settings(settings)
    except OSError as exc:
        fail(f"cannot read a VERP key: {exc}")
    if signer is None:
        fail("config error: verp.key_file: not set; signed return paths need a key", EXIT_USAGE)
    return signer  # type: ignore[return-value]


@verp.command("encode")
@click.argument("address")
@config_option
def verp_encode(config_file: str | None, address: str) -> None:
    """Print the signed return path for mail to ADDRESS.

    \b
    Example:
      bouncewatch verp encode alice@example.org -c /etc/bouncewatch.toml
      bounces+alice=example.org+attzkq3m2x7bfa@bounces.example.com
    """
    signer = _signer(config_file)
    try:
        path = signer.encode(address)
    except verp_sign.VerpError as exc:
        fail(str(exc), EXIT_USAGE)
    local = path.rpartition("@")[0]
    if len(local.encode()) > verp_sign.MAX_LOCAL_PART:
        click.echo(
            f"bouncewatch: warning: the local part has {len(local.encode())} octets, over the "
            f"{verp_sign.MAX_LOCAL_PART} of RFC 5321; some servers may refuse it",
            err=True,
        )
    click.echo(path)


@verp.command("verify")
@click.argument("return_path")
@config_option
def verp_verify(config_file: str | None, return_path: str) -> None:
    """Check a return path: print the recipient it names, exit 1 when it does not verify.

    \b
    Example:
      bouncewatch verp verify bounces+alice=example.org+attzkq3m2x7bfa@bounces.example.com
    """
    check = _signer(config_file).verify(return_path)
    if not check.ok:
        fail(f"{return_path}: {check.reason}", EXIT_RUNTIME)
    click.echo(f"{check.address}: valid")
