"""Blocklist outputs: formats that parse back, atomic replacement, the shrink guard, commands, export."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bouncewatch import config, store
from bouncewatch.publish.files import ShrinkRefused, render_text
from bouncewatch.publish.outputs import (
    FIELDS,
    RENDERERS,
    OutputCommandFailed,
    OutputSpec,
    Row,
    configured_outputs,
    publish_outputs,
    stored_rows,
)
from bouncewatch.records import AddressState

T0 = datetime(2025, 1, 31, 12, 0, 0)
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def row(address: str, block_class: str = "hard", reason: str = "hard: userunknown 5.1.1", status: str = "5.1.1") -> Row:
    when = "2025-01-31T12:00:00Z"
    return Row(address, block_class, reason, status, when, when, when, 1)


def rows(n: int, start: int = 0) -> list[Row]:
    return [row(f"user{i:07d}@example.org") for i in range(start, start + n)]


TRICKY = [
    row("a,b@example.org", "complaint", 'complaint: abuse, "spam"\nsecond line', ""),
    row("jörg@exämple.de", "soft-limit", "5 consecutive soft bounces (last soft: mailboxfull 4.2.2)", "4.2.2"),
    row("x@example.org", "manual", "manual: asked to stop\t(by phone)", ""),
]


def publish(path: Path, fmt: str, data: list[Row], **kwargs) -> bool:
    spec_args = {k: kwargs.pop(k) for k in ("mode", "command", "max_shrink") if k in kwargs}
    spec = OutputSpec(path, fmt, **spec_args)
    return publish_outputs([spec], data, **kwargs)[0].changed


# -- formats ----------------------------------------------------------------------------------


def test_text_output_is_todays_format(tmp_path):
    """text: one lowercase address per line, sorted, exactly what render_text gives."""
    data = sorted(TRICKY + rows(3), key=lambda r: r.address)
    publish(tmp_path / "list.txt", "text", data)
    assert (tmp_path / "list.txt").read_bytes() == render_text(r.address for r in data)


def test_csv_output_parses_back_with_the_csv_module(tmp_path):
    """csv: a header row then one row per address, RFC 4180 quoting, UTF-8, CRLF line ends."""
    publish(tmp_path / "list.csv", "csv", TRICKY)
    raw = (tmp_path / "list.csv").read_bytes()
    assert raw.startswith(b"address,class,reason,status,first_bounce,last_bounce,blocked_at,bounces\r\n")
    with (tmp_path / "list.csv").open(encoding="utf-8", newline="") as file:
        parsed = list(csv.DictReader(file))
    assert [tuple(p.values()) for p in parsed] == [
        (r.address, r.block_class, r.reason, r.status, r.first_bounce, r.last_bounce, r.blocked_at, str(r.bounces))
        for r in TRICKY
    ]


def test_json_output_parses_back_with_json(tmp_path):
    """json: one object with generated_at and the addresses array holding every field."""
    publish(tmp_path / "list.json", "json", TRICKY)
    document = json.loads((tmp_path / "list.json").read_text(encoding="utf-8"))
    assert set(document) == {"generated_at", "addresses"}
    assert document["generated_at"].endswith("Z")
    assert [tuple(a) for a in document["addresses"]] == [FIELDS] * 3
    assert [a["address"] for a in document["addresses"]] == [r.address for r in TRICKY]
    assert document["addresses"][0]["reason"] == TRICKY[0].reason
    for empty in ([],):
        publish(tmp_path / "empty.json", "json", empty)
        assert json.loads((tmp_path / "empty.json").read_text())["addresses"] == []


def test_postfix_output_lines(tmp_path):
    """postfix: `ADDRESS REJECT code bouncewatch: reason`, one line each, codes per class, unsafe keys left out."""
    data = [*TRICKY, row('"john doe"@example.org'), row("#x@example.org")]
    publish(tmp_path / "access", "postfix", data)
    lines = (tmp_path / "access").read_text(encoding="utf-8").splitlines()
    assert lines == [
        'a,b@example.org REJECT 5.7.1 bouncewatch: complaint: abuse, "spam" second line',
        "jörg@exämple.de REJECT 5.2.0 bouncewatch: 5 consecutive soft bounces (last soft: mailboxfull 4.2.2)",
        "x@example.org REJECT 5.7.1 bouncewatch: manual: asked to stop (by phone)",
    ]


def postmap_or_skip() -> str:
    found = shutil.which("postmap") or shutil.which("postmap", path="/usr/sbin:/sbin")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI is set, so the postmap test must run: postmap not found (tests/run.sh installs postfix)")
    pytest.skip("postmap (Debian package postfix) is not installed; tests/run.sh installs it")


def test_postfix_output_loads_with_postmap(tmp_path):
    """postmap builds a hash map from the postfix output, and each address looks up to its REJECT line."""
    postmap = postmap_or_skip()
    confdir = tmp_path / "postfix"
    confdir.mkdir()
    (confdir / "main.cf").write_text("")  # postmap reads main.cf; an empty one is enough
    data = [*TRICKY, row("hard@example.org")]
    path = tmp_path / "access"
    publish(path, "postfix", data, command=(postmap, "-c", str(confdir), f"hash:{path}"))
    assert (tmp_path / "access.db").exists()
    dumped = subprocess.run([postmap, "-c", str(confdir), "-s", f"hash:{path}"], capture_output=True, text=True, check=True)
    table = dict(line.split("\t", 1) for line in dumped.stdout.splitlines())
    assert table["hard@example.org"] == "REJECT 5.1.1 bouncewatch: hard: userunknown 5.1.1"
    assert table["x@example.org"] == "REJECT 5.7.1 bouncewatch: manual: asked to stop (by phone)"
    assert len(table) == 4
    looked_up = subprocess.run([postmap, "-c", str(confdir), "-q", "A,B@example.org", f"hash:{path}"],
                               capture_output=True, text=True)
    assert looked_up.stdout.startswith("REJECT 5.7.1")


# -- change detection, mode, atomicity ----------------------------------------------------------


def test_unchanged_output_is_not_rewritten(tmp_path):
    """Same rows: no rewrite (same inode); json's generated_at alone does not count as a change."""
    for fmt in ("text", "csv", "json", "postfix"):
        path = tmp_path / f"list.{fmt}"
        assert publish(path, fmt, rows(5))
        inode, content = os.stat(path).st_ino, path.read_bytes()
        assert not publish(path, fmt, rows(5))
        assert os.stat(path).st_ino == inode and path.read_bytes() == content
        assert publish(path, fmt, rows(6))
        assert os.stat(path).st_ino != inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["list.csv", "list.json", "list.postfix", "list.text"]


def test_file_mode_is_applied(tmp_path):
    """Each output gets its configured mode, on write and when only the mode differs."""
    path = tmp_path / "list.txt"
    publish(path, "text", rows(2), mode=0o640)
    assert os.stat(path).st_mode & 0o777 == 0o640
    publish(path, "text", rows(2), mode=0o604)
    assert os.stat(path).st_mode & 0o777 == 0o604


@pytest.mark.slow
def test_reader_never_sees_a_partial_file(tmp_path):
    """A reader looping in another thread during 60 rewrites always reads one whole version."""
    path = tmp_path / "list.json"
    publish(path, "json", rows(500))
    stop = threading.Event()
    seen: list[int] = []
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            text = path.read_text(encoding="utf-8")
            try:
                seen.append(len(json.loads(text)["addresses"]))
            except ValueError as exc:
                errors.append(f"{exc}: {len(text)} bytes")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(60):
            publish(path, "json", rows(500 + i * 7))
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[:3]
    assert len(seen) > 10 and set(seen) <= {500 + i * 7 for i in range(60)}
    assert [p.name for p in tmp_path.iterdir()] == ["list.json"]


def test_failing_write_leaves_old_file_and_no_temp(tmp_path):
    """A disk-full error in the middle of a write, or a failing database read, keeps the old file."""
    path = tmp_path / "list.csv"
    publish(path, "csv", rows(10))
    before = path.read_bytes()

    def failing_rows():
        yield from rows(5000)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        publish(path, "csv", failing_rows())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["list.csv"]


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from bouncewatch.publish.outputs import OutputSpec, Row, publish_outputs

def rows():
    for i in range(200000):
        if i == 150000:
            os.kill(os.getpid(), signal.SIGKILL)  # dies in the middle of the write
        yield Row(f"user{i:07d}@example.org", "hard", "hard: userunknown", "5.1.1", "", "", "", 1)

publish_outputs([OutputSpec(Path(sys.argv[1]), sys.argv[2])], rows())
"""


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_killed_writer_leaves_old_file_and_no_temp(tmp_path, fmt):
    """A writer process killed mid-write leaves the old file intact and no temp file behind."""
    path = tmp_path / "list"
    publish(path, fmt, rows(10))
    before = path.read_bytes()
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path), fmt], env=ENV, capture_output=True)
    assert done.returncode == -9, done.stderr.decode()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["list"]


# -- shrink guard, commands ---------------------------------------------------------------------


def test_shrink_guard_refuses_logs_and_yields_to_force(tmp_path):
    """Losing more than max_shrink of the addresses is refused and logged, file unchanged; force writes."""
    path = tmp_path / "list.txt"
    publish(path, "text", rows(10))
    before = path.read_bytes()
    with capture_logs() as logs, pytest.raises(ShrinkRefused, match="from 10 to 4 addresses"):
        publish(path, "text", rows(4), max_shrink=0.5)
    assert path.read_bytes() == before
    assert [e["event"] for e in logs] == ["output_shrink_refused"]
    assert logs[0]["old"] == 10 and logs[0]["new"] == 4
    assert publish(path, "text", rows(5), max_shrink=0.5)  # 50% fewer: allowed
    assert publish(path, "text", rows(1), max_shrink=0.5, force=True)
    assert path.read_bytes() == render_text(r.address for r in rows(1))


def test_empty_read_never_empties_an_output(tmp_path):
    """An empty row set over a non-empty file is refused even with max_shrink = 1; force empties it."""
    for fmt in ("text", "csv", "json", "postfix"):
        path = tmp_path / f"list.{fmt}"
        publish(path, fmt, rows(3))
        before = path.read_bytes()
        with pytest.raises(ShrinkRefused, match="refusing to empty"):
            publish(path, fmt, [], max_shrink=1.0)
        assert path.read_bytes() == before
        assert publish(path, fmt, [], force=True)


@pytest.mark.parametrize("fmt", ["text", "csv", "json", "postfix"])
def test_shrink_guard_counts_addresses_that_would_disappear(tmp_path, fmt):
    """As many addresses as before, but others: refused when more than max_shrink of the published
    ones would disappear (logged with the count), allowed below it, written with force."""
    path = tmp_path / f"list.{fmt}"
    publish(path, fmt, rows(10))
    before = path.read_bytes()
    with capture_logs() as logs, pytest.raises(ShrinkRefused, match="refusing to replace 10 of the 10 addresses") as refused:
        publish(path, fmt, rows(12, start=100), max_shrink=0.5)
    assert path.read_bytes() == before
    (event,) = [e for e in logs if e["event"] == "output_shrink_refused"]
    assert (event["old"], event["new"], event["vanished"]) == (10, 12, 10)
    (result,) = refused.value.results
    assert (result.refused is not None, result.vanished, result.published) == (True, 10, 10)
    assert publish(path, fmt, rows(5) + rows(7, start=100), max_shrink=0.5)  # 5 of 10 go: allowed
    assert not publish(path, fmt, rows(5) + rows(7, start=100), max_shrink=0.5)  # unchanged
    assert publish(path, fmt, rows(12, start=200), max_shrink=0.5, force=True)


@pytest.mark.parametrize("fmt", ["text", "csv", "json", "postfix"])
def test_addresses_read_back_from_every_format(tmp_path, fmt):
    """The guard reads each format's addresses back exactly, quoting, escapes and line breaks included."""
    data = sorted([*TRICKY, row('"a\\"b"@example.org'), *rows(3)], key=lambda r: r.address.encode())
    path = tmp_path / f"list.{fmt}"
    publish(path, fmt, data)
    renderer = RENDERERS[fmt]()
    with path.open("rb") as file:
        found = list(renderer.addresses(file))
    assert found == [r.address.encode() for r in data]


def test_shrink_guard_on_a_file_in_another_order(tmp_path):
    """A blocklist written by hand in any order is compared as a set, not as a sorted list."""
    path = tmp_path / "list.txt"
    path.write_text("".join(f"{r.address}\n" for r in reversed(rows(10))))
    assert publish(path, "text", rows(10), max_shrink=0.1)  # the same addresses, sorted now
    path.write_text("".join(f"{r.address}\n" for r in reversed(rows(10))))
    with pytest.raises(ShrinkRefused, match="refusing to replace 2 of the 10"):
        publish(path, "text", rows(8) + rows(2, start=50), max_shrink=0.1)


def test_other_outputs_still_publish_when_one_is_refused(tmp_path):
    """One output's refusal does not stop the others, and the error names the refused one."""
    strict, loose = tmp_path / "strict.txt", tmp_path / "loose.txt"
    publish_outputs([OutputSpec(strict), OutputSpec(loose)], rows(10))
    with pytest.raises(ShrinkRefused, match="strict.txt"):
        publish_outputs([OutputSpec(strict, max_shrink=0.1), OutputSpec(loose, max_shrink=1.0)], rows(5))
    assert len(strict.read_text().split()) == 10 and len(loose.read_text().split()) == 5


COPY = "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])"


def test_command_runs_after_the_write(tmp_path):
    """The command runs (argv, no shell) after the new file is in place, and not when nothing changed."""
    path, copy = tmp_path / "list.txt", tmp_path / "copy.txt"
    command = (sys.executable, "-c", COPY, str(path), str(copy))
    publish(path, "text", rows(3), command=command)
    assert copy.read_bytes() == path.read_bytes()
    copy.unlink()
    publish(path, "text", rows(3), command=command)
    assert not copy.exists()
    publish(path, "text", rows(4), command=command)
    assert copy.read_bytes() == render_text(r.address for r in rows(4))


def test_failed_command_runs_again_next_time(tmp_path):
    """A failing command raises, and runs again on the next publish even if the content is the same."""
    path, copy = tmp_path / "list.txt", tmp_path / "copy.txt"
    with pytest.raises(OutputCommandFailed, match="exit 3"):
        publish(path, "text", rows(3), command=(sys.executable, "-c", "raise SystemExit(3)"))
    assert path.exists()
    publish(path, "text", rows(3), command=(sys.executable, "-c", COPY, str(path), str(copy)))
    assert copy.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.txt", "list.txt"]


# -- configuration ------------------------------------------------------------------------------


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bouncewatch.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/state.db"\n{text}')
    return path


def test_config_outputs_and_the_blocklist_path(tmp_path):
    """[blocklist] path stays a text output beside the [[outputs]] tables; mode takes an octal string."""
    settings = config.load(write_config(tmp_path, (
        '[blocklist]\npath = "legacy.txt"\n'
        '[[outputs]]\npath = "out/list.csv"\nformat = "csv"\nmode = "0640"\n'
        '[[outputs]]\npath = "/etc/postfix/bouncewatch"\nformat = "postfix"\n'
        'command = ["postmap", "/etc/postfix/bouncewatch"]\nmax_shrink = 0.2\n'
    )))
    specs = configured_outputs(settings)
    assert [(s.path, s.format, s.mode) for s in specs] == [
        (tmp_path / "legacy.txt", "text", 0o644),
        (tmp_path / "out/list.csv", "csv", 0o640),
        (Path("/etc/postfix/bouncewatch"), "postfix", 0o644),
    ]
    assert specs[2].command == ("postmap", "/etc/postfix/bouncewatch") and specs[2].max_shrink == 0.2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[outputs]]\npath = "a"\nformat = "xml"\n', "outputs[0].format"),
        ('[[outputs]]\npath = "a"\nmode = "rw"\n', "outputs[0].mode"),
        ('[[outputs]]\npath = "a"\nmax_shrink = 2\n', "outputs[0].max_shrink"),
        ('[[outputs]]\npath = "a"\ncommand = []\n', "outputs[0].command"),
        ('[[outputs]]\npath = "a"\n[[outputs]]\npath = "a"\nformat = "csv"\n', "outputs[1].path"),
    ],
)
def test_config_errors_name_the_key(tmp_path, text, message):
    """A bad [[outputs]] table stops the load with one line naming the key."""
    with pytest.raises(config.ConfigError, match=re.escape(f"{message}:")):
        config.load(write_config(tmp_path, text))


# -- the database: streaming query and export ---------------------------------------------------


ORDER_TRAP = ["ab@x.org", "a.b@x.org", "a_b@x.org", "a-b@x.org", "Z@x.org".lower(), "a+b@x.org", "ä@x.org"]


def seed(url: str, addresses: list[str]) -> None:
    store.open_database(url)
    try:
        with store.database_proxy.atomic():
            store.save_states(
                AddressState(address=a, blocked=True, blocked_reason="hard: userunknown 5.1.1", blocked_at=T0,
                             last_class="hard", last_status="5.1.1", first_bounce=T0, last_bounce=T0, bounces=2)
                for a in addresses
            )
            store.save_states([AddressState(address="free@x.org", soft_count=2)])
    finally:
        store.close_database()


def test_streamed_rows_are_blocked_only_and_byte_sorted(database_url):
    """blocked_rows streams only blocked addresses, in the byte order Python's sorted() gives, on both databases."""
    seed(database_url, ORDER_TRAP)
    store.open_database(database_url)
    try:
        got = list(stored_rows())
    finally:
        store.close_database()
    assert [r.address for r in got] == sorted(ORDER_TRAP)
    assert got[0] == Row(sorted(ORDER_TRAP)[0], "hard", "hard: userunknown 5.1.1", "5.1.1",
                         "2025-01-31T12:00:00Z", "2025-01-31T12:00:00Z", "2025-01-31T12:00:00Z", 2)


def test_export_command(database_url, tmp_path):
    """`export --format csv -o FILE` writes the file; without -o the format goes to stdout."""
    seed(database_url, ORDER_TRAP)
    config_path = tmp_path / "bouncewatch.toml"
    config_path.write_text(f'[database]\nurl = "{database_url}"\n')
    out = tmp_path / "export.csv"
    done = subprocess.run([sys.executable, "-m", "bouncewatch", "export", "--format", "csv", "-o", str(out),
                           "-c", str(config_path)], env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"exported {len(ORDER_TRAP)} addresses as csv to {out}" in done.stderr
    with out.open(encoding="utf-8", newline="") as file:
        assert [r["address"] for r in csv.DictReader(file)] == sorted(ORDER_TRAP)
    done = subprocess.run([sys.executable, "-m", "bouncewatch", "export", "--format", "text", "-c", str(config_path)],
                          env=ENV, capture_output=True)
    assert done.returncode == 0 and done.stdout == render_text(ORDER_TRAP)
    done = subprocess.run([sys.executable, "-m", "bouncewatch", "export", "--format", "json", "-c", str(config_path)],
                          env=ENV, capture_output=True)
    assert len(json.load(io.BytesIO(done.stdout))["addresses"]) == len(ORDER_TRAP)


def test_publish_command_and_force(tmp_path):
    """`publish` writes every output; a big shrink exits 1 until --force."""
    url = f"sqlite:///{tmp_path}/state.db"
    seed(url, [f"u{i}@x.org" for i in range(10)])
    config_path = write_config(tmp_path, '[[outputs]]\npath = "list.json"\nformat = "json"\n')
    run = lambda *args: subprocess.run([sys.executable, "-m", "bouncewatch", "publish", *args, "-c", str(config_path)],
                                       env=ENV, capture_output=True, text=True)
    done = run()
    assert done.returncode == 0, done.stderr
    assert "list.json (json): written, 10 addresses" in done.stdout
    assert len((tmp_path / "blocklist.txt").read_text().split()) == 10
    store.open_database(url)
    try:
        store.Address.update(blocked=False).where(store.Address.address != "u1@x.org").execute()
    finally:
        store.close_database()
    done = run()
    assert done.returncode == 1 and "refusing to shrink a blocklist from 10 to 1" in done.stderr
    assert len(json.loads((tmp_path / "list.json").read_text())["addresses"]) == 10
    assert run("--force").returncode == 0
    assert (tmp_path / "blocklist.txt").read_text() == "u1@x.org\n"


def test_unprintable_address_never_reaches_an_output(database_url, tmp_path):
    """An address with a tab or a line separator in it (stored by 0.1.0) is left out of the blocklist and every output, and logged."""
    hostile = ['"a\tb"@x.org', "c\u2028d@x.org", '"e\x1bf"@x.org']
    seed(database_url, ["good@x.org", *hostile])
    store.open_database(database_url)
    try:
        with capture_logs() as logs:
            got = [r.address for r in stored_rows()]
    finally:
        store.close_database()
    assert got == ["good@x.org"]
    assert sum(1 for e in logs if e["event"] == "output_address_skipped") == len(hostile)
    assert all("\t" not in e["address"] for e in logs)
