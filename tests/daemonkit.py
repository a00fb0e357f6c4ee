"""Helpers for the daemon tests: configs, `bouncewatch run` subprocesses, waiting, mail mixes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bouncewatch import store
from bouncewatch.testing import samples
from bouncewatch.testing.dovecot import ThrowawayDovecot
from bouncewatch.testing.proxy import FreezableProxy as FreezableProxy  # re-exported for the tests

from .spine import PASSWORD, USER


def write_config(
    path: Path,
    dovecot: ThrowawayDovecot,
    database_url: str,
    *,
    interval: float = 0.2,
    batch_size: int = 10,
    mailbox_extra: str = "",
    extra: str = "",
    password: str = PASSWORD,
    name: str = "bounces",
    level: str = "info",
    timeout: float = 5,
    min_interval: float = 0.5,
) -> Path:
    """A config for one mailbox on `dovecot`, JSON logs, fast backoff and publishing; returns its path."""
    mailbox = dovecot.mailbox_toml(USER, name, password=password, timeout_seconds=timeout)
    text = textwrap.dedent(f"""
        [database]
        url = "{database_url}"
        [poll]
        interval_seconds = {interval}
        batch_size = {batch_size}
        [daemon]
        backoff_initial_seconds = 0.2
        backoff_max_seconds = 1.0
        lease_retry_seconds = 0.5
        [blocklist]
        path = "{path.parent / 'blocklist.txt'}"
        min_interval_seconds = {min_interval}
        [log]
        level = "{level}"
        format = "json"
    """)
    # The mailbox table (and its extra keys) after the plain tables; `extra` last, so it may
    # open tables of its own.
    path.write_text(text + mailbox + mailbox_extra + "\n" + extra + "\n")
    return path


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


class RunningDaemon:
    """`bouncewatch run -c CONFIG` as a child process; its stderr (JSON logs) goes to a file."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bouncewatch", "run", "-c", str(config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            env=environment(),
        )

    def send(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._log.close()

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._log.close()
        return code

    def events(self) -> list[dict[str, Any]]:
        return read_events(self.log_path)


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every JSON log line of a file (non-JSON lines come back as {"raw": line})."""
    events = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            events.append({"raw": line})
    return events


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    """Poll `predicate` until true; return seconds waited; AssertionError after `timeout`."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)
    return time.monotonic() - start


def inbox_count(dovecot: ThrowawayDovecot, folder: str = "INBOX") -> int:
    with dovecot.client(USER) as imap:
        return int(imap.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])


def mail_mix(count: int, seed: int, addresses: int = 150) -> list[bytes]:
    """`count` realistic messages over a few addresses, in a seeded random order."""
    rng = random.Random(seed)
    people = [f"user{i}@example{i % 7}.org" for i in range(addresses)]
    makers = [
        (45, samples.soft_dsn),
        (10, samples.dsn),
        (10, samples.success_dsn),
        (10, samples.delay_dsn),
        (5, samples.arf_complaint),
        (10, samples.autoreply),
    ]
    weights = [w for w, _ in makers] + [10]
    messages = []
    for _ in range(count):
        index = rng.choices(range(len(weights)), weights)[0]
        if index == len(makers):
            messages.append(samples.not_a_bounce())
        else:
            messages.append(makers[index][1](rng.choice(people)))
    return messages


def _timeless(row: dict[str, Any]) -> dict[str, Any]:
    """An address row without wall-clock times (two runs differ there); lists of times → their length."""
    kept: dict[str, Any] = {}
    for key, value in row.items():
        if hasattr(value, "isoformat"):
            continue
        if key.endswith("_times"):
            kept[key] = len([t for t in (value or "").split(",") if t])
        elif not key.endswith(("_at", "_success", "_bounce")):
            kept[key] = value
    return kept


def database_snapshot(database_url: str) -> dict[str, Any]:
    """Address states (timestamps left out), message and event counts, owed moves."""
    store.open_database(database_url)
    try:
        addresses = {row["address"]: _timeless(row) for row in store.Address.select().dicts()}
        return {
            "addresses": addresses,
            "blocked": list(store.blocked_addresses()),
            "messages": store.ProcessedMessage.select().count(),
            "distinct_fingerprints": store.ProcessedMessage.select(store.ProcessedMessage.fingerprint)
            .distinct()
            .count(),
            "events": store.Event.select().count(),
            "pending_moves": store.PendingMove.select().count(),
        }
    finally:
        store.close_database()

