"""Shared set-up for the end-to-end tests: a config pointing at a throwaway Dovecot, and runners."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from bouncewatch import config, store
from bouncewatch.records import CycleSummary
from bouncewatch.service.pipeline import run_cycle
from bouncewatch.testing.dovecot import ThrowawayDovecot

USER = "bounces"
PASSWORD = "secret"


@dataclass
class Deployment:
    """One bouncewatch installation (config file, database, blocklist) watching one Dovecot."""

    dovecot: ThrowawayDovecot
    directory: Path
    database_url: str
    user: str = USER  # the Dovecot user whose INBOX is watched

    @property
    def config_path(self) -> Path:
        return self.directory / "bouncewatch.toml"

    @property
    def blocklist_path(self) -> Path:
        return self.directory / "blocklist.txt"

    def write_config(self, extra_mailbox: str = "", extra: str = "", folder: str = "INBOX", policy: str = "") -> Path:
        """Write the config file; `policy` is one line more for its [policy] table."""
        text = textwrap.dedent(f"""
            [database]
            url = "{self.database_url}"
            [poll]
            interval_seconds = 1
            batch_size = 3
            [policy]
            soft_limit = 5
            {policy}
            [blocklist]
            path = "{self.blocklist_path}"
        """)
        mailbox = self.dovecot.mailbox_toml(self.user, folder=folder, archive="Bounces")
        # Mailbox tables after the plain tables; `extra` last, so it may open tables of its own.
        self.config_path.write_text(text + mailbox + textwrap.dedent(extra_mailbox) + "\n" + textwrap.dedent(extra) + "\n")
        return self.config_path

    def settings(self) -> config.Settings:
        if not self.config_path.exists():
            self.write_config()
        return config.load(self.config_path)

    def poll(self, **kwargs) -> CycleSummary:
        """One in-process cycle over the only mailbox, with its own database connection."""
        settings = self.settings()
        store.open_database(settings.database_url)
        try:
            return run_cycle(settings, settings.mailboxes[0], **kwargs)
        finally:
            store.close_database()

    def state(self, address: str):
        store.open_database(self.settings().database_url)
        try:
            return store.get_state(address)
        finally:
            store.close_database()

    def blocklist(self) -> list[str]:
        return self.blocklist_path.read_text().split() if self.blocklist_path.exists() else []

    def deliver(self, *messages: bytes) -> None:
        """Append over IMAP, one at a time, so UIDs follow the order given."""
        for message in messages:
            self.dovecot.append(self.user, message)

    def folders(self) -> dict[str, int]:
        return {k: v for k, v in self.dovecot.folder_counts(self.user).items() if v}


def v1_sqlite_database(directory: Path) -> str:
    """An SQLite file made by schema version 1 (tests/data), with a few rows; returns its URL."""
    import sqlite3

    path = directory / "old.db"
    connection = sqlite3.connect(path)
    connection.executescript((Path(__file__).parent / "data" / "schema_v1.sqlite.sql").read_text())
    connection.close()
    return f"sqlite:///{path}"


def fresh_postgres_database(server_url: str, name: str) -> str:
    """Create an empty database on the server of `server_url`; return its URL."""
    import psycopg2

    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(server_url: str, name: str) -> None:
    import psycopg2

    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()
