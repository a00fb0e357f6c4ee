"""Mailbox leases: at most one `bouncewatch run` works on a mailbox at a time.

PostgreSQL (several hosts share one database): a session-level advisory lock per mailbox,
`pg_try_advisory_lock(key)`, taken on a connection of its own that does nothing else. Chosen
over a lease row with an expiry because the server itself ends the lease when the holder
ends: a process that exits or is SIGKILLed has its socket closed by the kernel, the server
backend sees EOF and drops the lock at once, so a standby takes over at its next try
(`[daemon] lease_retry_seconds`) instead of waiting out an expiry; and no clocks or heartbeats
are compared. A holder whose host vanishes is noticed by TCP keepalives and bounded waits (set
on the lease connection as on the store's, store/connect.py), and the holder itself checks its lease connection between batches and stops
when it is gone. Should two instances ever overlap for a moment anyway, the store's unique
message fingerprints keep a message from being counted twice.

SQLite (one host): an exclusive `flock` on a file next to the database, per mailbox; the kernel
releases it when the process dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from pathlib import Path
from typing import Any, Protocol

import structlog

from .connect import Timeouts, bound_waits, postgres_parameters

log = structlog.get_logger("bouncewatch.lease")


class Leases(Protocol):
    """Leases held by this process, one per mailbox name."""

    def acquire(self, mailbox: str) -> bool:
        """Take the mailbox's lease if free (or already ours); never blocks."""

    def holds(self, mailbox: str) -> bool:
        """True while the lease is still ours (checks the lease connection where there is one)."""

    def release_all(self) -> None:
        """Give every lease back (at shutdown)."""


def lease_key(mailbox: str) -> int:
    """A stable signed 64-bit advisory-lock key for a mailbox name."""
    digest = hashlib.sha256(f"bouncewatch:mailbox:{mailbox}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresLeases:
    """Advisory locks on one dedicated PostgreSQL connection (see the module docstring)."""

    def __init__(self, connect_kwargs: dict[str, Any]) -> None:
        self._connect_kwargs = connect_kwargs
        self._connection: Any = None  # psycopg2 connection, opened on first use
        self._held: set[str] = set()
        self._lock = threading.Lock()  # one connection, several worker threads

    def _cursor(self) -> Any:
        import psycopg2

        if self._connection is None or self._connection.closed:
            self._held.clear()  # a new session holds nothing
            self._connection = psycopg2.connect(**self._connect_kwargs)
            self._connection.autocommit = True
        return self._connection.cursor()

    def _drop_connection(self) -> None:
        import psycopg2

        connection, self._connection = self._connection, None
        self._held.clear()
        if connection is not None:
            try:
                connection.close()
            except psycopg2.Error:
                pass

    def acquire(self, mailbox: str) -> bool:
        import psycopg2

        with self._lock:
            if mailbox in self._held and self._alive():
                return True
            try:
                with self._cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", (lease_key(mailbox),))
                    got = bool(cursor.fetchone()[0])
            except psycopg2.Error:
                self._drop_connection()
                raise
            if got:
                self._held.add(mailbox)
            return got

    def _alive(self) -> bool:
        import psycopg2

        if self._connection is None or self._connection.closed:
            self._held.clear()
            return False
        try:
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return True
        except psycopg2.Error:
            self._drop_connection()  # the session is gone, and every lock with it
            return False

    def holds(self, mailbox: str) -> bool:
        with self._lock:
            return mailbox in self._held and self._alive()

    def release_all(self) -> None:
        with self._lock:
            self._drop_connection()  # ending the session releases every advisory lock


class FileLeases:
    """One flock'ed file per mailbox in `directory` (single host: SQLite)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._files: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, mailbox: str) -> bool:
        with self._lock:
            if mailbox in self._files:
                return True
            path = self._directory / f".bouncewatch-lease-{mailbox}"
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._files[mailbox] = fd
            return True

    def holds(self, mailbox: str) -> bool:
        with self._lock:
            return mailbox in self._files  # the kernel keeps it while the file is open

    def release_all(self) -> None:
        with self._lock:
            for fd in self._files.values():
                os.close(fd)
            self._files.clear()


def leases_for(database_url: str, timeouts: Timeouts = Timeouts()) -> Leases:
    """The lease kind that fits the database: advisory locks on PostgreSQL, file locks otherwise."""
    if database_url.startswith(("postgres", "postgresql")):
        kwargs = postgres_parameters(database_url, timeouts)
        kwargs["dbname"] = kwargs.pop("database")
        kwargs["application_name"] = f"{kwargs['application_name']}-lease"
        bound_waits(kwargs["application_name"], timeouts)  # every wait on the lease connection too
        return PostgresLeases(kwargs)
    path = database_url.split(":///", 1)[1] if ":///" in database_url else ""
    directory = Path(path).resolve().parent if path and path != ":memory:" else Path.cwd()
    return FileLeases(directory)
