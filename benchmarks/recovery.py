"""How fast `bouncewatch run` recovers: the timings the tests assert as behaviour, printed here.

Against real daemons, a throwaway Dovecot and PostgreSQL, it prints:

- takeover: two `run` on one PostgreSQL, the lease holder SIGKILLed: seconds until the standby
  has processed mail delivered after the kill (`[daemon] lease_retry_seconds` 0.5);
- outage: Dovecot stopped for `--outage` seconds mid-run: seconds from its restart until the
  daemon processes again (`backoff_max_seconds` 1);
- frozen database: PostgreSQL frozen behind a proxy (connections open, nothing answered):
  seconds until the attempt is given up on and logged by name (connect and statement timeouts
  1 s each), and seconds from SIGTERM to exit while a batch waits on it
  (`stop_timeout_seconds` 2; connect and statement timeouts 120 s, so the deadline decides).

    python benchmarks/recovery.py
    python benchmarks/recovery.py --outage 3

PostgreSQL: BOUNCEWATCH_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/test); each
measure makes its own database and drops it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bouncewatch.testing import samples  # noqa: E402
from bouncewatch.testing.dovecot import ThrowawayDovecot  # noqa: E402
from bouncewatch.testing.proxy import FreezableProxy  # noqa: E402

PG_URL = os.environ.get("BOUNCEWATCH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
USER = "bounces"


def wait(predicate: Callable[[], bool], timeout: float = 120, step: float = 0.02) -> float:
    """Seconds until `predicate` holds (RuntimeError after `timeout`)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"not done within {timeout} s")
        time.sleep(step)
    return time.monotonic() - started


@contextmanager
def database() -> Iterator[str]:
    import psycopg2

    name = f"bw_recovery_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


class Daemon:
    """`bouncewatch run -c CONFIG`, its JSON log in a file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        self._file = open(log, "ab")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bouncewatch", "run", "-c", str(config)],
            stdin=subprocess.DEVNULL, stdout=self._file, stderr=self._file, env=env,
        )

    def events(self, name: str) -> list[dict]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == name:
                found.append(event)
        return found

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._file.close()


def config(directory: Path, dovecot: ThrowawayDovecot, url: str, database: str = "", daemon: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "bouncewatch.toml"
    path.write_text(textwrap.dedent(f"""
        [database]
        url = "{url}"
        {database}
        [poll]
        interval_seconds = 0.2
        batch_size = 10
        [daemon]
        backoff_initial_seconds = 0.2
        backoff_max_seconds = 1.0
        lease_retry_seconds = 0.5
        {daemon}
        [blocklist]
        path = "{directory / 'blocklist.txt'}"
        min_interval_seconds = 0
        [log]
        format = "json"
    """) + dovecot.mailbox_toml(USER, timeout_seconds=5))
    return path


def inbox(dovecot: ThrowawayDovecot) -> int:
    return dovecot.folder_counts(USER).get("INBOX", 0)


def mail(dovecot: ThrowawayDovecot, n: int, tag: str) -> None:
    dovecot.deliver(USER, [samples.dsn(f"{tag}{i}@example.org") for i in range(n)])


def takeover(work: Path) -> float:
    with ThrowawayDovecot(fast=True) as dovecot, database() as url:
        path = config(work / "takeover", dovecot, url)
        mail(dovecot, 20, "first")
        daemons = [Daemon(path, work / "takeover" / f"run{i}.log") for i in range(2)]
        try:
            wait(lambda: inbox(dovecot) == 0)
            holder = next(d for d in daemons if d.events("lease_acquired"))
            holder.end()
            killed = time.monotonic()
            mail(dovecot, 20, "second")
            wait(lambda: inbox(dovecot) == 0)
            return time.monotonic() - killed
        finally:
            for daemon in daemons:
                daemon.end()


def outage(work: Path, seconds: float) -> float:
    with ThrowawayDovecot(fast=True) as dovecot:
        path = config(work / "outage", dovecot, f"sqlite:///{work / 'outage' / 'state.db'}")
        mail(dovecot, 5, "first")
        daemon = Daemon(path, work / "outage" / "run.log")
        try:
            wait(lambda: inbox(dovecot) == 0)
            dovecot.stop()
            time.sleep(seconds)
            dovecot.start()
            mail(dovecot, 5, "second")
            back = time.monotonic()
            wait(lambda: inbox(dovecot) == 0)
            return time.monotonic() - back
        finally:
            daemon.end()


def frozen(work: Path) -> tuple[float, float]:
    with ThrowawayDovecot(fast=True) as dovecot, database() as url:
        upstream = urlparse(url)
        results = []
        for name, timeouts, stop in (
            ("detect", "connect_timeout_seconds = 1\nstatement_timeout_seconds = 1", ""),
            ("sigterm", "connect_timeout_seconds = 120\nstatement_timeout_seconds = 120", "stop_timeout_seconds = 2"),
        ):
            with FreezableProxy((upstream.hostname, upstream.port)) as proxy:
                proxied = upstream._replace(netloc=f"{upstream.username}@127.0.0.1:{proxy.port}").geturl()
                path = config(work / name, dovecot, proxied, timeouts, stop)
                mail(dovecot, 3, f"{name}-first")
                daemon = Daemon(path, work / name / "run.log")
                try:
                    wait(lambda: inbox(dovecot) == 0)
                    proxy.freeze()
                    frozen_at = time.monotonic()
                    mail(dovecot, 3, f"{name}-second")
                    if name == "detect":
                        wait(lambda: bool(daemon.events("cycle_failed")))
                        results.append(time.monotonic() - frozen_at)
                    else:
                        time.sleep(1.5)  # the next attempt waits on the database now
                        daemon.process.send_signal(signal.SIGTERM)
                        sent = time.monotonic()
                        daemon.process.wait(60)
                        results.append(time.monotonic() - sent)
                finally:
                    daemon.end()
                    proxy.close()
        return results[0], results[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outage", type=float, default=10.0, help="seconds Dovecot stays down (default 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bw-recovery-") as temp:
        work = Path(temp)
        print(f"takeover: standby processed new mail {takeover(work):.2f} s after the holder's SIGKILL "
              "(lease_retry_seconds 0.5)", flush=True)
        print(f"outage: processing again {outage(work, args.outage):.2f} s after Dovecot came back from "
              f"{args.outage:g} s down (backoff_max_seconds 1)", flush=True)
        detected, stopped = frozen(work)
        print(f"frozen database: attempt given up on and logged {detected:.2f} s after the freeze "
              "(connect and statement timeouts 1 s)", flush=True)
        print(f"frozen database: SIGTERM to exit {stopped:.2f} s while a batch waited on it "
              "(stop_timeout_seconds 2)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
