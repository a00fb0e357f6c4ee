"""End-to-end throughput of `bouncewatch poll` beside the raw IMAP + parse baseline.

For each N and database it seeds a throwaway Dovecot with N realistic bounces (a mix of the
corpus's formats and generated DSNs, multi-recipient reports, repeats to the same addresses so
that counting and blocking happen), then prints in one run:

- baseline: imapclient UID SEARCH + FETCH BODY.PEEK[] + UID MOVE of the same N messages in
  batches, plus `email.message_from_bytes` of each; no bouncewatch;
- bouncewatch: one `bouncewatch poll` subprocess over them: wall time, messages/s, the ratio
  to the baseline, its peak RSS, and the database size afterwards.

    python benchmarks/pipeline.py                      # N = 10,000 and 100,000, SQLite and PostgreSQL
    python benchmarks/pipeline.py --n 200 --db sqlite  # the smoke run the test suite does

With `--state ADDRESSES EVENTS` (e.g. 1000000 10000000) each N runs on an empty database and on
one holding years of state (seeded as rows, or copied from `--state-cache DIR`), and prints the
rate with state against the rate without; then (statekit.py):

- the publish time of `--publish-rows` (1,000,000) blocked addresses per output format: the
  first publish, and a publish after one more address was blocked;
- the database after `--days` (730) days at `--per-day` (50,000) bounces, one message and one
  event each, over `--pool` (1,000,000) addresses, written as rows: with the default retention
  (pruned daily, as the daemon does) and without; and the time a prune of the oldest year of
  events and message records takes. `--scale S` simulates 1/S of the rate and scales up.

PostgreSQL runs use a fresh database on BOUNCEWATCH_BENCH_PG (default
postgresql://postgres@127.0.0.1:5432/test), dropped afterwards.
"""

from __future__ import annotations

import argparse
import email
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import statekit  # noqa: E402  (benchmarks/statekit.py)

from bouncewatch.testing import samples  # noqa: E402
from bouncewatch.testing.dovecot import ThrowawayDovecot  # noqa: E402

CORPUS = ROOT / "tests" / "corpus" / "sisimai"
PG_URL = os.environ.get("BOUNCEWATCH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
USER, BASELINE_USER, PASSWORD = "bounces", "baseline", "secret"


def corpus_messages() -> list[bytes]:
    return [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]


def generated(rng: random.Random, pool: list[str]) -> bytes:
    address = rng.choice(pool)
    kind = rng.random()
    if kind < 0.45:
        return samples.soft_dsn(address)
    if kind < 0.75:
        return samples.dsn(address)
    if kind < 0.85:
        return samples.delay_dsn(address)
    if kind < 0.9:
        return samples.success_dsn(address)
    if kind < 0.95:
        return samples.dsn(address, status="5.7.1", diagnostic="smtp; 550 5.7.1 Message rejected due to local policy")
    return samples.arf_complaint(address)


def build_messages(n: int, seed: int = 7) -> list[bytes]:
    """N distinct messages: a third from the corpus (made unique by a header), the rest generated."""
    rng = random.Random(seed)
    corpus = corpus_messages()
    pool = [f"user{i}@example{i % 97}.com" for i in range(max(10, n // 8))]
    messages = []
    for i in range(n):
        if i % 3 == 0:
            messages.append(b"X-Bench-Seq: %d\r\n" % i + rng.choice(corpus))
        else:
            messages.append(generated(rng, pool))
    return messages


@dataclass
class Result:
    seconds: float
    peak_rss_mb: float = 0.0
    tree_rss_mb: float = 0.0  # the main process and its parsing processes together
    db_mb: float = 0.0
    cpu_s: float = 0.0  # user + system time of bouncewatch and its parsing processes


def run_baseline(dovecot: ThrowawayDovecot, n: int, batch: int) -> Result:
    """FETCH + MOVE + email parsing of every message, the floor bouncewatch is measured against."""
    start = time.perf_counter()
    imap = dovecot.client(BASELINE_USER)
    if not imap.folder_exists("Done"):
        imap.create_folder("Done")
    imap.select_folder("INBOX")
    uids = sorted(imap.search(["ALL"]))
    for i in range(0, len(uids), batch):
        chunk = uids[i : i + batch]
        for data in imap.fetch(chunk, ["BODY.PEEK[]"]).values():
            email.message_from_bytes(data[b"BODY[]"])
        imap.move(chunk, "Done")
    imap.logout()
    elapsed = time.perf_counter() - start
    assert len(uids) == n, f"baseline saw {len(uids)} of {n} messages"
    return Result(elapsed)


def write_config(directory: Path, dovecot: ThrowawayDovecot, database_url: str, batch: int) -> Path:
    path = directory / "bouncewatch.toml"
    path.write_text(
        f'[database]\nurl = "{database_url}"\n'
        + dovecot.mailbox_toml(USER, "bench")
        + f'[poll]\nbatch_size = {batch}\n[log]\nlevel = "warning"\n'
    )
    return path


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    """A process's RSS, or 0 while it is still a fork of this process (before its exec)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            if cmdline.read() == _OWN_CMDLINE:
                return 0
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except (FileNotFoundError, ProcessLookupError):
        return b""


with open("/proc/self/cmdline", "rb") as _own:
    _OWN_CMDLINE = _own.read()


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            for task in os.listdir(f"/proc/{parent}/task"):
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(k) for k in children.read().split()]
                found += kids
                todo += kids
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def run_bouncewatch(config: Path) -> Result:
    """One real `bouncewatch poll`, its RSS sampled from /proc every 0.1 s.

    The peak of the main process and the peak of the whole tree (with its parsing processes)
    come from sampling, not from getrusage: on Linux a child's ru_maxrss starts from the RSS
    of the process that forked it, here the benchmark holding N seeded messages.
    """
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen(
        [sys.executable, "-m", "bouncewatch", "poll", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    peak_main = peak_tree = 0
    outputs: list[bytes] = []
    reader = threading.Thread(target=lambda: outputs.extend(child.communicate()))
    reader.start()
    while reader.is_alive():
        main_kb = _rss_kb(child.pid)
        peak_main = max(peak_main, main_kb)
        parsers = [p for p in _descendants(child.pid) if b"multiprocessing" in _cmdline(p)]
        peak_tree = max(peak_tree, main_kb + sum(_rss_kb(p) for p in parsers))
        time.sleep(0.1)
    reader.join()
    elapsed = time.perf_counter() - start
    out, err = outputs
    if child.returncode != 0:
        raise RuntimeError(f"bouncewatch poll failed ({child.returncode}): {err.decode()[-2000:]}")
    summary = [line for line in out.decode().splitlines() if not line.startswith("  blocked:")]
    print(textwrap.indent("\n".join(summary), "    | "))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Result(elapsed, peak_rss_mb=peak_main / 1024, tree_rss_mb=peak_tree / 1024, cpu_s=cpu)


def database_size_mb(url: str, directory: Path) -> float:
    if url.startswith("sqlite"):
        return sum(p.stat().st_size for p in directory.glob("state.db*")) / 1e6
    import psycopg2

    name = url.rsplit("/", 1)[1]
    with psycopg2.connect(PG_URL) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(%s)", (name,))
        return cursor.fetchone()[0] / 1e6


def fresh_pg_database() -> tuple[str, str]:
    name = f"bw_bench_{uuid.uuid4().hex[:10]}"
    create_pg_database(name)
    return name, PG_URL.rsplit("/", 1)[0] + f"/{name}"


def create_pg_database(name: str, template: str = "") -> None:
    import psycopg2

    connection = psycopg2.connect(PG_URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    connection.close()


def pg_database_exists(name: str) -> bool:
    import psycopg2

    with psycopg2.connect(PG_URL) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return cursor.fetchone() is not None


def drop_pg_database(name: str) -> None:
    import psycopg2

    connection = psycopg2.connect(PG_URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def state_database(db: str, url: str, pg_name: str, state: tuple[int, int], cache: Path | None) -> None:
    """Fill the fresh database at `url` with years of state (see fill_state), then put it on
    disk: else the first fsync of the timed poll would write gigabytes of copied pages back."""
    fill_state(db, url, pg_name, state, cache)
    started = time.perf_counter()
    if db == "sqlite":
        for path in Path(url.removeprefix("sqlite:///")).parent.glob("state.db*"):
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
    else:
        import psycopg2

        connection = psycopg2.connect(PG_URL)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
        connection.close()
    print(f"   wrote the state to disk in {time.perf_counter() - started:.1f} s", flush=True)


def fill_state(db: str, url: str, pg_name: str, state: tuple[int, int], cache: Path | None) -> None:
    """Seed years of state into the fresh database at `url`, or copy it from `cache` (an
    SQLite file there, a template database on PostgreSQL) when an earlier run left one."""
    from bouncewatch import store

    addresses, events = state
    key = f"state_{addresses}_{events}_v{store.SCHEMA_VERSION}"
    if cache is not None and db == "sqlite":
        template = cache / f"{key}.db"
        target = Path(url.removeprefix("sqlite:///"))
        if template.exists():
            shutil.copyfile(template, target)
            print(f"   copied the state from {template}", flush=True)
            return
    if cache is not None and db == "postgresql" and pg_database_exists(f"bw_{key}"):
        drop_pg_database(pg_name)
        create_pg_database(pg_name, template=f"bw_{key}")
        print(f"   copied the state from the template database bw_{key}", flush=True)
        return
    took = statekit.seed_state(url, addresses, events)
    print(f"   seeded {addresses:,} addresses and {events:,} events in {took:.0f} s", flush=True)
    if cache is not None and db == "sqlite":
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, cache / f"{key}.db")
    elif cache is not None:
        create_pg_database(f"bw_{key}", template=pg_name)


def bench(
    n: int, db: str, batch: int, state: tuple[int, int] = (0, 0), cache: Path | None = None
) -> dict[str, float]:
    messages = build_messages(n)
    with ThrowawayDovecot(users={USER: PASSWORD, BASELINE_USER: PASSWORD}, fast=True) as dovecot:
        t0 = time.perf_counter()
        dovecot.deliver(USER, messages)
        dovecot.deliver(BASELINE_USER, messages)
        seeded = time.perf_counter() - t0
        del messages
        baseline = run_baseline(dovecot, n, batch)
        with tempfile.TemporaryDirectory(prefix="bw-bench-") as tmp:
            directory = Path(tmp)
            pg_name = ""
            if db == "sqlite":
                url = f"sqlite:///{directory}/state.db"
            else:
                pg_name, url = fresh_pg_database()
            try:
                if state[0]:
                    state_database(db, url, pg_name, state, cache)
                config = write_config(directory, dovecot, url, batch)
                result = run_bouncewatch(config)
                result.db_mb = database_size_mb(url, directory)
                left = dovecot.folder_counts(USER).get("INBOX", 0)
            finally:
                if pg_name:
                    drop_pg_database(pg_name)
    return {
        "n": n,
        "seed_s": seeded,
        "baseline_s": baseline.seconds,
        "baseline_rate": n / baseline.seconds,
        "bw_s": result.seconds,
        "bw_rate": n / result.seconds,
        "ratio": baseline.seconds / result.seconds,
        "rss_mb": result.peak_rss_mb,
        "tree_rss_mb": result.tree_rss_mb,
        "db_mb": result.db_mb,
        "cpu_s": result.cpu_s,
        "left_in_inbox": left,
    }


def report_row(row: dict[str, float]) -> None:
    print(
        f"   baseline {row['baseline_s']:.1f} s ({row['baseline_rate']:,.0f} msgs/s); "
        f"bouncewatch {row['bw_s']:.1f} s ({row['bw_rate']:,.0f} msgs/s); "
        f"ratio {row['ratio']:.2f}; CPU {row['cpu_s']:.1f} s; peak RSS {row['rss_mb']:.0f} MB (with parsing processes {row['tree_rss_mb']:.0f} MB); "
        f"database {row['db_mb']:.1f} MB; left in INBOX {row['left_in_inbox']}",
        flush=True,
    )


def fresh_url(db: str, directory: Path, name: str) -> tuple[str, str]:
    """(URL, PostgreSQL database name or "") of a fresh database made with bouncewatch's schema."""
    from bouncewatch import store

    pg_name, url = fresh_pg_database() if db == "postgresql" else ("", f"sqlite:///{directory}/{name}.db")
    store.open_database(url)
    store.close_database()
    return url, pg_name


def bench_publish(db: str, rows: int) -> None:
    """Publish times of `rows` blocked addresses per format (statekit.publish_times)."""
    from bouncewatch.publish.outputs import FORMATS

    with tempfile.TemporaryDirectory(prefix="bw-bench-publish-") as tmp:
        url, pg_name = fresh_url(db, Path(tmp), "publish")
        try:
            times = statekit.publish_times(url, Path(tmp), rows, FORMATS)
        finally:
            if pg_name:
                drop_pg_database(pg_name)
    print(f"   publish of {rows:,} blocked addresses, seconds per format (first publish / after one more block):")
    for fmt, (first, changed) in times.items():
        print(f"     {fmt:<8} {first:6.2f} / {changed:6.2f}", flush=True)


def bench_years(db: str, days: int, per_day: int, pool: int, scale: int) -> None:
    """The database after `days` days at `per_day` bounces, with the default retention (pruned
    daily, as the daemon does) and without; then the time a prune takes for a year of events."""
    from bouncewatch import store
    from bouncewatch.store import retention

    simulated = per_day // scale
    policy = retention.RetentionPolicy()
    print(f"   {days} days at {per_day:,} bounces a day over {pool:,} addresses"
          + (f", simulated at 1/{scale} ({simulated:,} a day) and scaled up" if scale > 1 else ""), flush=True)
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="bw-bench-years-") as tmp:
        for label, prune in (("with retention", True), ("without retention", False)):
            url, pg_name = fresh_url(db, Path(tmp), label.replace(" ", "-"))
            try:
                started = time.perf_counter()

                def daily(now: object) -> None:
                    retention.prune(policy, now)  # type: ignore[arg-type]
                    if pg_name:  # a day of autovacuum (the server may have it off): freed rows reusable
                        store.database_proxy.obj.execute_sql("VACUUM event, processed_message")

                def progress(day: int) -> None:
                    if day % 73 == 0:
                        print(f"     {label}: day {day}, {time.perf_counter() - started:.0f} s", flush=True)

                size = statekit.simulate_days(url, days, simulated, pool // scale, daily if prune else None, progress)
                sizes[label] = size * scale
                print(f"     {label}: {size * scale / 1e6:,.0f} MB"
                      + (f" ({size / 1e6:,.0f} MB simulated)" if scale > 1 else ""), flush=True)
                if not prune:
                    year = statekit.prune_a_year(url, days)
                    print(f"     a prune of one year of events ({year[0] * scale:,} events, {year[1] * scale:,} "
                          f"message records): {year[2] * scale:.1f} s"
                          + (f" ({year[2]:.1f} s simulated)" if scale > 1 else ""), flush=True)
            finally:
                if pg_name:
                    drop_pg_database(pg_name)
    print(f"   {days} days: {sizes['with retention'] / 1e6:,.0f} MB with the default retention, "
          f"{sizes['without retention'] / 1e6:,.0f} MB without", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--state", type=int, nargs=2, metavar=("ADDRESSES", "EVENTS"), default=(0, 0),
        help="first fill the database with this many addresses and events (e.g. 1000000 10000000); "
        "each N also runs on an empty database, and the publish and two-year figures follow",
    )
    parser.add_argument("--state-cache", type=Path, help="keep the seeded state here (SQLite) or as a "
                        "template database (PostgreSQL) and copy it for the next runs")
    parser.add_argument("--publish-rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--per-day", type=int, default=50_000)
    parser.add_argument("--pool", type=int, default=1_000_000, help="distinct addresses the simulated bounces go to")
    parser.add_argument("--scale", type=int, default=1, help="simulate the days at 1/SCALE of the rate, sizes scaled up")
    parser.add_argument("--repeat", type=int, default=1, help="with --state: run the empty/state pair this many "
                        "times, alternating, and compare the medians (the machine's load moves single runs)")
    parser.add_argument("--only", choices=["pipeline", "publish", "years"], nargs="+",
                        default=["pipeline", "publish", "years"], help="with --state: which figures")
    args = parser.parse_args(argv)
    from bouncewatch import logs

    logs.configure("warning", "console")  # the in-process parts (seeding, publishing) say nothing
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    state = tuple(args.state)
    rows = []
    for db in dbs:
        for n in args.n if (not state[0] or "pipeline" in args.only) else ():
            runs = [(0, 0), state] * args.repeat if state[0] else [state]
            pairs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
            for seeded in runs:
                label = f", {seeded[0]:,} addresses and {seeded[1]:,} events" if seeded[0] else (", empty" if state[0] else "")
                print(f"== {db}, N = {n:,}{label}", flush=True)
                row = bench(n, db, args.batch_size, seeded, args.state_cache)
                row["db"], row["state"] = db, bool(seeded[0])
                rows.append(row)
                pairs[bool(seeded[0])].append(row)
                report_row(row)
            if state[0]:
                def median(key: str, with_state: bool) -> float:
                    return statistics.median(r[key] for r in pairs[with_state])

                print(f"   with state / empty: {median('bw_rate', True) / median('bw_rate', False):.2f} of the rate "
                      f"({median('bw_rate', True):,.0f} / {median('bw_rate', False):,.0f} msgs/s; ratios to the "
                      f"baseline {median('ratio', True):.2f} / {median('ratio', False):.2f}; CPU "
                      f"{median('cpu_s', True):.1f} / {median('cpu_s', False):.1f} s"
                      + (f"; medians of {args.repeat}" if args.repeat > 1 else "") + ")", flush=True)
        if state[0] and "publish" in args.only:
            print(f"== {db}, publish", flush=True)
            bench_publish(db, args.publish_rows)
        if state[0] and "years" in args.only:
            print(f"== {db}, two years", flush=True)
            bench_years(db, args.days, args.per_day, args.pool, args.scale)
    if rows:
        print()
        print(f"{'db':<11}{'N':>9}{'state':>7}{'baseline s':>12}{'bouncewatch s':>15}{'msgs/s':>9}{'ratio':>7}"
              f"{'peak RSS MB':>13}{'+parsers MB':>11}{'db MB':>8}")
    for r in rows:
        print(
            f"{r['db']:<11}{r['n']:>9,}{'yes' if r['state'] else 'no':>7}{r['baseline_s']:>12.1f}{r['bw_s']:>15.1f}"
            f"{r['bw_rate']:>9,.0f}{r['ratio']:>7.2f}{r['rss_mb']:>13.0f}{r['tree_rss_mb']:>11.0f}{r['db_mb']:>8.1f}"
        )
    failed = [r for r in rows if r["left_in_inbox"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
