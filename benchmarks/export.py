"""Time `bouncewatch export` over a million blocked addresses: wall time and peak RSS per format.

    python benchmarks/export.py [--rows 1000000] [--dir DIR] [--formats csv,text,json,postfix]

Seeds an SQLite database with ROWS blocked addresses (one multi-row executemany in a single
transaction, a few seconds), then runs `python -m bouncewatch export --format F -o FILE` as a
child process per format and reports its wall time and peak resident set size (the child's
own ru_maxrss from wait4), so memory that grows with the row count would show.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bouncewatch import store  # noqa: E402


def seed(db_path: Path, rows: int) -> float:
    started = time.perf_counter()
    store.open_database(f"sqlite:///{db_path}")  # the schema, exactly as bouncewatch makes it
    store.close_database()
    connection = sqlite3.connect(db_path)
    connection.execute("PRAGMA synchronous = OFF")
    when = "2025-01-31 12:00:00"
    reasons = ("hard: userunknown 5.1.1", "complaint: abuse", "5 consecutive soft bounces (last soft: mailboxfull 4.2.2)")
    with connection:
        connection.executemany(
            "INSERT INTO address (address, blocked, blocked_reason, blocked_at, soft_count, last_class, "
            "last_reason, last_status, first_bounce, last_bounce, bounces, manual, soft_times) "
            "VALUES (?, 1, ?, ?, 0, 'hard', 'userunknown', '5.1.1', ?, ?, 1, 0, '')",
            ((f"user{i:07d}@example{i % 97}.org", reasons[i % 3], when, when, when) for i in range(rows)),
        )
    connection.close()
    return time.perf_counter() - started


def run_export(config: Path, fmt: str, out: Path) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in MiB, exit code) of one export child."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "bouncewatch", "export", "--format", fmt, "-o", str(out), "-c", str(config)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        sys.stderr.write(child.stderr.read().decode(errors="replace"))
    return wall, usage.ru_maxrss // 1024, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--formats", default="csv,text,json,postfix")
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="bw-export-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    db_path = directory / "state.db"
    db_path.unlink(missing_ok=True)
    config = directory / "bouncewatch.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db_path}"\n[log]\nlevel = "warning"\n')
    print(f"seeding {args.rows:,} blocked addresses: {seed(db_path, args.rows):.1f} s", flush=True)
    baseline_wall, baseline_rss, _ = run_export(config, "text", directory / "warmup.txt")
    print(f"{'format':8} {'wall s':>8} {'peak RSS MiB':>13} {'file MiB':>9}")
    for fmt in args.formats.split(","):
        out = directory / f"export.{fmt}"
        wall, rss, code = run_export(config, fmt, out)
        size = out.stat().st_size / 2**20 if out.exists() else 0
        print(f"{fmt:8} {wall:8.2f} {rss:13d} {size:9.1f}" + ("" if code == 0 else f"  (exit {code})"), flush=True)
    print(f"(files in {directory})")


if __name__ == "__main__":
    main()
