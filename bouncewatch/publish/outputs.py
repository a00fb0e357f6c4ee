"""Publish the blocklist as every configured output: text, CSV, JSON, Postfix access map.

From the database, outputs are written from the blocklist index (store/blocklist_index.py):
each blocked address's line in every format is rendered once, when the address changes
(`refresh_index`, from the change marks the database's triggers leave), and publishing streams
those lines in address order, joined inside the database, one pass for every output: a
publish costs the size of the blocklist, whatever the history. Rows handed in (tests, other
sources) are rendered the same way, line by line. Either way the output goes into one temp
file per output in bounded memory. Each temp file is hashed while written; the old file is
hashed by reading it in pieces (unless this process wrote or read it last and it has not
changed since: then its digest and count are remembered); only a changed output replaces its file
(atomically, see blocklist.AtomicFile), with its file mode, and then runs its command. An
output that would lose more than `max_shrink` of its addresses (or all of them) is refused
unless forced, and the old file stays, so an empty or failed database read never empties it.

Formats (the fields of a row: address, class, reason, status, first_bounce, last_bounce,
blocked_at, bounces; times in UTC as 2025-01-31T12:00:00Z; class is why the address is
blocked: hard | complaint | soft-limit | manual):

- text: one lowercase address per line, sorted, nothing else (the [blocklist] path contract);
- csv: a header row, then one row per address, RFC 4180 quoting, UTF-8, CRLF line ends;
- json: {"generated_at": ..., "addresses": [{...}, ...]}, one address object per line;
  generated_at is left out of the change check, so it says when the content last changed;
- postfix: a Postfix access(5) map, `ADDRESS REJECT X.Y.Z bouncewatch: REASON` per line,
  for `check_recipient_access hash:FILE` after `postmap FILE` (the output's command).
  The enhanced status code says why: 5.1.1 hard (bad mailbox), 5.2.0 soft-limit (mailbox
  kept failing), 5.7.1 complaint and manual (refused by policy); the reply code is Postfix's
  access_map_reject_code (554 by default). The reason is cut to printable ASCII on one line
  (an SMTP reply); an address that cannot be a map key (whitespace in a quoted local part,
  a leading "#") is left out and logged.

An address with a character that is not printable (a tab, a line separator, a bidirectional
override: what 0.1.0 let through in a quoted local part) is left out of every output and
logged: one line of a file is one address, whatever reads it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import BinaryIO, Protocol

import structlog

from .. import store
from ..config import Settings
from ..config.outputs import resolve
from ..rules.addresses import printable
from ..rules.ledger import block_class
from ..store import blocklist_index
from .files import AtomicFile, ShrinkRefused

log = structlog.get_logger("bouncewatch.outputs")

FORMATS = ("text", "csv", "json", "postfix")
FIELDS = ("address", "class", "reason", "status", "first_bounce", "last_bounce", "blocked_at", "bounces")
BATCH = 1000
COMMAND_TIMEOUT_SECONDS = 300
POSTFIX_CODES = {"hard": "5.1.1", "soft-limit": "5.2.0", "complaint": "5.7.1", "manual": "5.7.1"}
POSTFIX_DEFAULT_CODE = "5.7.1"
_READ_BLOCK = 1 << 20


class OutputCommandFailed(OSError):
    """An output's command failed after its file was written; it is run again next time."""


# -- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One blocked address as the outputs show it."""

    address: str
    block_class: str
    reason: str
    status: str
    first_bounce: str  # ISO time with Z, or ""
    last_bounce: str
    blocked_at: str
    bounces: int


def _when(value: object) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, str) and len(value) >= 19 and value[10] == " ":
        return value[:10] + "T" + value[11:19] + "Z"  # SQLite's stored UTC text, read raw
    return str(value) if value else ""


def to_row(values: tuple) -> Row:
    """A tuple of store.BLOCKED_ROW_FIELDS → Row."""
    address, manual, reason, last_class, status, first, last, blocked_at, bounces = values
    reason = reason or ""
    return Row(
        address=address.lower(),
        block_class=block_class(bool(manual), reason, last_class or ""),
        reason=reason,
        status=status or "",
        first_bounce=_when(first),
        last_bounce=_when(last),
        blocked_at=_when(blocked_at),
        bounces=int(bounces or 0),
    )


def publishable(rows: Iterable[tuple]) -> Iterator[Row]:
    """Rows of store.BLOCKED_ROW_FIELDS tuples → Row, leaving out (and logging) an address that
    is not printable."""
    for values in rows:
        if printable(values[0]):
            yield to_row(values)
        else:
            log.warning("output_address_skipped", address=values[0].encode("unicode_escape").decode("ascii")[:340],
                        reason="not printable (a control or invisible character)")


def stored_rows() -> Iterator[Row]:
    """Every blocked address from the open database, sorted, streamed."""
    return publishable(store.blocked_rows())


def _fields(row: Row) -> list[object]:
    return [row.address, row.block_class, row.reason, row.status, row.first_bounce,
            row.last_bounce, row.blocked_at, row.bounces]


# -- renderers --------------------------------------------------------------------------------


class Renderer(Protocol):
    format: str
    def header(self, generated_at: str) -> bytes: ...
    def line(self, row: Row) -> str: ...  # one entry, "" when the format leaves the address out
    def rows(self, rows: list[Row]) -> tuple[bytes, int]: ...  # bytes and entries written
    def block(self, text: str | bytes, entries: int) -> bytes: ...  # entries rendered and joined before
    def footer(self) -> bytes: ...
    def volatile(self, line: bytes) -> bool: ...  # a line left out of the change check
    def count(self, path: Path) -> int: ...  # entries in an existing file of this format


def _count_lines(path: Path, keep: Callable[[bytes], bool]) -> int:
    with path.open("rb") as file:
        return sum(1 for line in file if keep(line))


class _LineRenderer:
    """Entries one per line (or lines), joined by `separator`; what every format shares."""

    format = ""
    separator = ""  # between two entries (JSON's comma)

    def __init__(self) -> None:
        self.entries = 0
        self.skipped: list[str] = []  # addresses the format left out

    def header(self, generated_at: str) -> bytes:
        return b""

    def line(self, row: Row) -> str:
        raise NotImplementedError

    def rows(self, rows: list[Row]) -> tuple[bytes, int]:
        lines = []
        for row in rows:
            line = self.line(row)
            if line:
                lines.append(line)
            else:
                self.skipped.append(row.address)
        return self.block(self.separator.join(lines), len(lines)), len(lines)

    def block(self, text: str | bytes, entries: int) -> bytes:
        if not entries:
            return b""
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        if self.entries and self.separator:
            data = self.separator.encode() + data
        self.entries += entries
        return data

    def footer(self) -> bytes:
        return b""

    def volatile(self, line: bytes) -> bool:
        return False


class TextRenderer(_LineRenderer):
    format = "text"

    def line(self, row: Row) -> str:
        return f"{row.address}\n"

    def count(self, path: Path) -> int:
        return _count_lines(path, lambda line: bool(line.strip()))


class CsvRenderer(_LineRenderer):
    format = "csv"

    def __init__(self) -> None:
        super().__init__()
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)  # excel dialect: RFC 4180 quoting, \r\n

    def _take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text

    def header(self, generated_at: str) -> bytes:
        self.writer.writerow(FIELDS)
        return self._take().encode("utf-8")

    def line(self, row: Row) -> str:
        self.writer.writerow(_fields(row))
        return self._take()

    def count(self, path: Path) -> int:
        with path.open(encoding="utf-8", errors="replace", newline="") as file:
            return max(sum(1 for _ in csv.reader(file)) - 1, 0)


class JsonRenderer(_LineRenderer):
    format = "json"
    separator = ",\n"
    _GENERATED = b'"generated_at":'
    _ENTRY = b'{"address":'

    def header(self, generated_at: str) -> bytes:
        return f'{{\n"generated_at": {json.dumps(generated_at)},\n"addresses": [\n'.encode()

    def line(self, row: Row) -> str:
        item = dict(zip(FIELDS, _fields(row)))
        for key in ("first_bounce", "last_bounce", "blocked_at"):
            item[key] = item[key] or None
        return json.dumps(item, ensure_ascii=False)

    def footer(self) -> bytes:
        return b"\n]\n}\n" if self.entries else b"]\n}\n"

    def volatile(self, line: bytes) -> bool:
        return line.startswith(self._GENERATED)

    def count(self, path: Path) -> int:
        return _count_lines(path, lambda line: line.startswith(self._ENTRY))


_UNSAFE_KEY = re.compile(r"[\s\x00-\x1f\x7f]")
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]+")


def postfix_text(text: str, limit: int = 200) -> str:
    """Printable ASCII on one line, whitespace collapsed, at most `limit` characters."""
    return " ".join(_NOT_PRINTABLE.sub(" ", text).split())[:limit].rstrip()


class PostfixRenderer(_LineRenderer):
    format = "postfix"

    def line(self, row: Row) -> str:
        if _UNSAFE_KEY.search(row.address) or row.address.startswith("#"):
            return ""
        code = POSTFIX_CODES.get(row.block_class, POSTFIX_DEFAULT_CODE)
        why = postfix_text(row.reason) or row.block_class
        return f"{row.address} REJECT {code} bouncewatch: {why}\n"

    def count(self, path: Path) -> int:
        return _count_lines(path, lambda line: bool(line.strip()) and line[:1] not in b"# \t")


RENDERERS: dict[str, Callable[[], Renderer]] = {
    "text": TextRenderer,
    "csv": CsvRenderer,
    "json": JsonRenderer,
    "postfix": PostfixRenderer,
}


class Sink(Protocol):
    def write(self, data: bytes) -> object: ...


class Rendering:
    """One output being written: its renderer, where the bytes go, their digest and count."""

    def __init__(self, format: str, sink: Sink | BinaryIO, generated_at: str) -> None:
        self.renderer = RENDERERS[format]()
        self.sink = sink
        self.digest = hashlib.sha256()
        self.count = 0
        self._emit(self.renderer.header(generated_at), check_volatile=True)

    def _emit(self, data: bytes, check_volatile: bool = False) -> None:
        if not data:
            return
        self.sink.write(data)
        if check_volatile:
            for line in data.splitlines(keepends=True):
                if not self.renderer.volatile(line):
                    self.digest.update(line)
        else:
            self.digest.update(data)

    def add(self, rows: list[Row]) -> None:
        data, written = self.renderer.rows(rows)
        self.count += written
        self._emit(data)

    def add_block(self, text: str | bytes, entries: int) -> None:
        """Entries rendered beforehand (the blocklist index), joined with the format's separator."""
        self.count += entries
        self._emit(self.renderer.block(text, entries))

    def finish(self) -> None:
        self._emit(self.renderer.footer(), check_volatile=True)


def now_text() -> str:
    return _when(datetime.now(timezone.utc))


def render(
    renderings: list[Rendering],
    rows: Iterable[Row],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Feed the rows to every rendering in batches; return how many rows were read."""
    iterator = iter(rows)
    total = 0
    while batch := list(islice(iterator, BATCH)):
        for rendering in renderings:
            rendering.add(batch)
        total += len(batch)
        if progress is not None:
            progress(total)
    for rendering in renderings:
        rendering.finish()
    return total


def render_index(renderings: list[Rendering], progress: Callable[[int], None] | None = None) -> int:
    """Feed every rendering from the blocklist index (lines rendered when their addresses
    changed), each from its format's table in address order; return how many entries the
    last one got (every address, for text)."""
    total = 0
    for rendering in renderings:
        total = 0
        renderer = rendering.renderer
        for entries, text in blocklist_index.blocks(renderer.format, getattr(renderer, "separator", "")):
            rendering.add_block(text, entries)
            total += entries
            if progress is not None:
                progress(total)
        rendering.finish()
    return total


def entry_lines(values: tuple) -> list[str]:
    """A blocked row (store.BLOCKED_ROW_FIELDS) as its line in each format of the blocklist
    index (store/blocklist_index.FORMATS); "" where a format leaves the address out (every
    format, for an address that is not printable: see `publishable`)."""
    rows = list(publishable([values]))
    if not rows:
        return [""] * len(blocklist_index.FORMATS)
    row = rows[0]
    renderers = getattr(_line_renderers, "by_format", None)
    if renderers is None:  # one set per thread: the CSV renderer keeps a buffer
        renderers = _line_renderers.by_format = {name: make() for name, make in RENDERERS.items()}
    lines = [renderers[format].line(row) for format in blocklist_index.FORMATS]
    if not lines[blocklist_index.FORMATS.index("postfix")]:
        log.warning("postfix_key_skipped", address=row.address, why="cannot be a Postfix map key")
    return lines


_line_renderers = threading.local()


def refresh_index(progress: Callable[[int], None] | None = None) -> int:
    """Render the lines of every address blocked, unblocked or changed since the last refresh
    (all of them once, after the upgrade that made the index); return how many."""
    return blocklist_index.refresh(entry_lines, on_render=progress)


# What this process last wrote or read of each output: (dev, inode, size, mtime, format) →
# digest and entries, so an unchanged file is not read again to be compared or counted.
_KNOWN: dict[Path, tuple[tuple, str, int]] = {}


def _stat_key(path: Path, renderer: Renderer) -> tuple:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, renderer.format)


def scan(path: Path, renderer: Renderer) -> tuple[str, int] | None:
    """(digest without volatile lines, entries) of an existing file, or None if there is none."""
    try:
        key = _stat_key(path, renderer)
    except FileNotFoundError:
        return None
    known = _KNOWN.get(path)
    if known is not None and known[0] == key:
        return known[1], known[2]
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            if isinstance(renderer, JsonRenderer):
                for line in file:
                    if not renderer.volatile(line):
                        digest.update(line)
            else:
                while block := file.read(_READ_BLOCK):
                    digest.update(block)
        found = digest.hexdigest(), renderer.count(path)
    except FileNotFoundError:
        return None
    _KNOWN[path] = (key, *found)
    return found


# -- publishing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputSpec:
    """One file to publish."""

    path: Path
    format: str = "text"
    mode: int = 0o644
    command: tuple[str, ...] = ()
    max_shrink: float = 0.5


def configured_outputs(settings: Settings) -> list[OutputSpec]:
    """[blocklist] path as a text output (unless an [[outputs]] table names the same file),
    then every [[outputs]] table."""
    outputs = [
        OutputSpec(resolve(settings, o.path), o.format, o.mode, tuple(o.command or ()), o.max_shrink)
        for o in settings.outputs
    ]
    if all(o.path != settings.blocklist_path for o in outputs):
        outputs.insert(0, OutputSpec(settings.blocklist_path, "text"))
    return outputs


def shrink_refusal(spec: OutputSpec, old: int, new: int) -> str | None:
    """Why writing `new` entries over `old` is refused, or None when it is allowed."""
    if old and not new:
        return (
            f"{spec.path}: refusing to empty a blocklist of {old} addresses "
            "(the database has none blocked); check the database, or force the write (--force)"
        )
    if old and new < old and (old - new) / old > spec.max_shrink:
        return (
            f"{spec.path}: refusing to shrink a blocklist from {old} to {new} addresses "
            f"({(old - new) / old:.0%} fewer, max_shrink {spec.max_shrink:g}); check the database, "
            "or force the write (--force)"
        )
    return None


def _marker(path: Path) -> Path:
    return path.with_name(f".{path.name}.command-failed")


def is_pending(spec: OutputSpec) -> bool:
    """The output's file is missing, or its command failed last time (it runs again)."""
    return not spec.path.exists() or (bool(spec.command) and _marker(spec.path).exists())


def run_command(spec: OutputSpec) -> str | None:
    """Run the output's command (argv, no shell); return why it failed, or None."""
    marker = _marker(spec.path)
    try:
        done = subprocess.run(
            list(spec.command), stdin=subprocess.DEVNULL, capture_output=True,
            timeout=COMMAND_TIMEOUT_SECONDS, check=False,
        )
        problem = None if done.returncode == 0 else (
            f"exit {done.returncode}: {done.stderr.decode(errors='replace').strip()[:300]}"
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = str(exc)
    if problem is None:
        marker.unlink(missing_ok=True)
        log.info("output_command_done", path=str(spec.path), command=list(spec.command))
        return None
    marker.touch()  # the next publish runs the command again even if nothing changed
    log.error("output_command_failed", path=str(spec.path), command=list(spec.command), error=problem)
    return f"{spec.path}: command {' '.join(spec.command)} failed ({problem}); it runs again next time"


@dataclass
class Published:
    spec: OutputSpec
    changed: bool = False
    count: int = 0
    refused: str | None = None
    command_error: str | None = None


def publish_outputs(
    specs: list[OutputSpec], rows: Iterable[Row] | None = None, *, force: bool = False
) -> list[Published]:
    """Render the rows (None: the blocklist index of the open database, brought up to date
    first) into every output, then replace each that changed (see module doc).

    Raises ShrinkRefused (after publishing the other outputs) when an output was refused,
    OutputCommandFailed when a command failed.
    """
    if rows is None:
        refresh_index()
    generated_at = now_text()
    temps = [AtomicFile(spec.path, spec.mode) for spec in specs]
    try:
        renderings = [Rendering(spec.format, temp, generated_at) for spec, temp in zip(specs, temps)]
        if rows is None:
            render_index(renderings)
        else:
            render(renderings, rows)
        results = [
            _settle(spec, temp, rendering, force) for spec, temp, rendering in zip(specs, temps, renderings)
        ]
    finally:
        for temp in temps:
            temp.discard()  # a no-op for committed files
    refused = [r.refused for r in results if r.refused]
    failed = [r.command_error for r in results if r.command_error]
    if refused:
        raise ShrinkRefused("; ".join(refused + failed))
    if failed:
        raise OutputCommandFailed("; ".join(failed))
    return results


def _settle(spec: OutputSpec, temp: AtomicFile, rendering: Rendering, force: bool) -> Published:
    result = Published(spec, count=rendering.count)
    renderer = rendering.renderer
    if renderer.skipped:  # rendered from rows; from the index, the refresh has logged them
        log.warning("postfix_keys_skipped", path=str(spec.path), count=len(renderer.skipped),
                    first=renderer.skipped[0])
    old = scan(spec.path, renderer)
    if old is not None and old[0] == rendering.digest.hexdigest():
        temp.discard()
        if (os.stat(spec.path).st_mode & 0o7777) != spec.mode:
            os.chmod(spec.path, spec.mode)
        if spec.command and _marker(spec.path).exists():
            result.command_error = run_command(spec)
        return result
    why = shrink_refusal(spec, old[1] if old else 0, rendering.count)
    if why and not force:
        temp.discard()
        log.warning("output_shrink_refused", path=str(spec.path), old=old[1] if old else 0,
                    new=rendering.count, max_shrink=spec.max_shrink, reason=why)
        result.refused = why
        return result
    temp.commit()
    _KNOWN[spec.path] = (_stat_key(spec.path, renderer), rendering.digest.hexdigest(), rendering.count)
    result.changed = True
    log.info("output_written", path=str(spec.path), format=spec.format, addresses=rendering.count,
             forced=bool(why))
    if spec.command:
        result.command_error = run_command(spec)
    return result


def publish_all(settings: Settings, *, force: bool = False) -> bool:
    """Publish every configured output from the open database; True when any file changed."""
    results = publish_outputs(configured_outputs(settings), force=force)
    return any(r.changed for r in results)
