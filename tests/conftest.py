"""Shared fixtures: a real throwaway Dovecot per test (or per session) and a PostgreSQL URL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from bouncewatch.testing import ThrowawayDovecot

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def dovecot() -> Iterator[ThrowawayDovecot]:
    """A fresh Dovecot with user `bounces`/`secret`, its own dir and ports (starts in ~25 ms)."""
    with ThrowawayDovecot() as server:
        yield server


@pytest.fixture(scope="session")
def dovecot_session() -> Iterator[ThrowawayDovecot]:
    """One Dovecot shared by the whole session: only for tests that leave its mail alone."""
    with ThrowawayDovecot() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a reachable PostgreSQL (env BOUNCEWATCH_TEST_PG); skipped if none, failed under CI."""
    url = os.environ.get("BOUNCEWATCH_TEST_PG", DEFAULT_PG_URL)
    try:
        import psycopg2

        psycopg2.connect(url, connect_timeout=3).close()
    except Exception as error:  # ImportError or any connection failure: report it either way
        reason = f"PostgreSQL not reachable at {url} (set BOUNCEWATCH_TEST_PG): {error}".strip()
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so PostgreSQL tests must run: {reason}", pytrace=False)
        pytest.skip(reason)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(request, dovecot, tmp_path):
    """A bouncewatch config + database (SQLite file, or a fresh PostgreSQL database) on a fresh Dovecot."""
    from .spine import Deployment, drop_postgres_database, fresh_postgres_database

    if request.param == "sqlite":
        yield Deployment(dovecot, tmp_path, f"sqlite:///{tmp_path}/state.db")
        return
    server_url = request.getfixturevalue("postgres_url")
    name = f"bw_test_{uuid.uuid4().hex[:12]}"
    yield Deployment(dovecot, tmp_path, fresh_postgres_database(server_url, name))
    drop_postgres_database(server_url, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty SQLite file or a fresh PostgreSQL database."""
    from .spine import drop_postgres_database, fresh_postgres_database

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/state.db"
        return
    server = request.getfixturevalue("postgres_url")
    name = f"bw_test_{uuid.uuid4().hex[:12]}"
    yield fresh_postgres_database(server, name)
    drop_postgres_database(server, name)


@pytest.fixture
def postgres_database(postgres_url):
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    from .spine import drop_postgres_database, fresh_postgres_database

    name = f"bw_test_{uuid.uuid4().hex[:12]}"
    yield fresh_postgres_database(postgres_url, name)
    drop_postgres_database(postgres_url, name)
