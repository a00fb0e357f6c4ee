"""State is never replaced silently: a lost database is refused by every command, never recreated.

A first start (nothing published, no marker) creates the schema by itself; `bouncewatch init`
does it on purpose. Once state existed (a blocklist holds addresses, or the marker beside it
names a state), a database that is gone, emptied, truncated or swapped stops every command
with one line that says what to restore.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bouncewatch import store
from bouncewatch.cli import main
from bouncewatch.testing import samples

from .daemonkit import RunningDaemon, environment, inbox_count, wait_for, write_config
from .spine import USER, Deployment, fresh_postgres_database

HARD = ("gone1@example.org", "gone2@example.org", "gone3@example.org")
# Every command that reads or writes the state, with arguments.
COMMANDS = [
    ["poll"],
    ["status", "gone1@example.org"],
    ["history", "gone1@example.org"],
    ["list"],
    ["report"],
    ["block", "new@example.org", "--reason", "test"],
    ["unblock", "gone1@example.org", "--reason", "test"],
    ["delivered", "gone1@example.org"],
    ["export", "--format", "text"],
    ["publish"],
    ["publish", "--force"],
    ["init"],
]


def cli(deployment: Deployment, *args: str):
    """`bouncewatch ARGS -c CONFIG` in this process; the result has exit_code, stdout, stderr."""
    return CliRunner().invoke(main, [*args, "-c", str(deployment.config_path)])


def lose_database(deployment: Deployment, request: pytest.FixtureRequest) -> None:
    """What a mistaken cleanup or restore does: the database is gone (SQLite) or empty (PostgreSQL)."""
    if deployment.database_url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{deployment.directory}/state.db{suffix}").unlink(missing_ok=True)
        return
    server, name = request.getfixturevalue("postgres_url"), deployment.database_url.rsplit("/", 1)[1]
    import psycopg2

    connection = psycopg2.connect(server)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    connection.close()
    fresh_postgres_database(server, name)


def named_database(deployment: Deployment) -> str:
    """How a message names the deployment's database: its file, or host:port/name."""
    url = deployment.database_url
    return url.removeprefix("sqlite:///") if url.startswith("sqlite") else url.split("://", 1)[1]


def has_schema(deployment: Deployment) -> bool:
    if deployment.database_url.startswith("sqlite"):
        path = deployment.directory / "state.db"
        if not path.exists():
            return False
        with sqlite3.connect(path) as connection:
            return bool(connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
    import psycopg2

    with psycopg2.connect(deployment.database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        found = cursor.fetchone()[0]
    connection.close()
    return bool(found)


def refusal(result) -> str:
    """The one line a refused command printed (asserting it is one line and exit 1)."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_first_start_and_init_need_nothing(deployment):
    """Nothing published yet: `poll` creates the schema by itself; `init` on it says it is ready."""
    deployment.write_config()
    deployment.deliver(samples.dsn(HARD[0]))
    result = cli(deployment, "poll")
    assert result.exit_code == 0, result.output
    assert deployment.blocklist() == [HARD[0]]
    ready = cli(deployment, "init")
    assert ready.exit_code == 0 and "is ready (schema version" in ready.stdout


def test_lost_database_is_refused_by_every_command(deployment, request):
    """The database lost after addresses were published: every command refuses with one line that
    names the database, what shows it existed and what to do; nothing is recreated or rewritten."""
    deployment.write_config()
    deployment.deliver(*(samples.dsn(address) for address in HARD))
    assert cli(deployment, "poll").exit_code == 0
    published = deployment.blocklist_path.read_bytes()
    lose_database(deployment, request)
    deployment.deliver(samples.dsn("new@example.org"))
    for command in COMMANDS:
        line = refusal(cli(deployment, *command))
        assert line.startswith("bouncewatch: state missing: "), (command, line)
        assert named_database(deployment) in line
        assert "restore the database from a backup" in line and "bouncewatch init --fresh" in line
    assert not has_schema(deployment), "no command may create an empty schema over lost state"
    assert deployment.blocklist_path.read_bytes() == published
    assert deployment.folders() == {"INBOX": 1, "Bounces/Hard": 3}


def test_marker_alone_shows_state_existed(deployment, request):
    """With no address blocked yet, the marker beside the blocklist is what shows state existed."""
    deployment.write_config()
    deployment.deliver(samples.soft_dsn("soft@example.org"))
    assert cli(deployment, "poll").exit_code == 0
    assert deployment.blocklist() == []
    lose_database(deployment, request)
    line = refusal(cli(deployment, "status", "soft@example.org"))
    assert ".blocklist.txt.bouncewatch-state records state " in line


def test_fresh_start_on_purpose_then_the_guard_then_force(deployment, request):
    """`init --fresh` makes a new state; publishing its different addresses over the old list is
    refused by the shrink guard (all published addresses would go) until `publish --force`."""
    deployment.write_config()
    deployment.deliver(*(samples.dsn(address) for address in HARD))
    assert cli(deployment, "poll").exit_code == 0
    lose_database(deployment, request)
    fresh = cli(deployment, "init", "--fresh")
    assert fresh.exit_code == 0, fresh.output
    assert "state: created in" in fresh.stdout and "publish --force" in fresh.stdout
    new = [f"new{i}@example.org" for i in range(5)]
    deployment.deliver(*(samples.dsn(address) for address in new))
    polled = cli(deployment, "poll")
    assert polled.exit_code == 1
    assert "refusing to replace 3 of the 3 addresses" in polled.stderr
    assert deployment.blocklist() == list(HARD)
    assert cli(deployment, "publish", "--force").exit_code == 0
    assert deployment.blocklist() == new


def test_swapped_database_is_refused(deployment, tmp_path):
    """A database holding another state than the one the outputs came from is refused by name."""
    deployment.write_config()
    deployment.deliver(samples.dsn(HARD[0]))
    assert cli(deployment, "poll").exit_code == 0
    store.open_database(deployment.database_url)
    store.set_state_id("0123456789abcdef")  # as another installation's database would say
    store.close_database()
    line = refusal(cli(deployment, "list"))
    assert line.startswith("bouncewatch: state replaced: ") and "state 01234567" in line


def test_truncated_sqlite_file_is_reported_as_truncated(tmp_path, dovecot):
    """A database file truncated to 0 bytes beside its write-ahead log is told as such, not as
    "database is locked"; an empty file beside a published blocklist is refused too."""
    deployment = Deployment(dovecot, tmp_path, f"sqlite:///{tmp_path}/state.db")
    deployment.write_config()
    deployment.deliver(samples.dsn(HARD[0]))
    assert cli(deployment, "poll").exit_code == 0
    database = tmp_path / "state.db"
    holder = sqlite3.connect(database)  # a reader keeps the log from being folded in at close
    holder.execute("SELECT count(*) FROM address").fetchone()
    cli(deployment, "block", "x@example.org", "--reason", "a write into the log")
    database.write_bytes(b"")
    line = refusal(cli(deployment, "status", HARD[0]))
    assert "truncated to 0 bytes" in line and "locked" not in line
    holder.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(b"")
    line = refusal(cli(deployment, "status", HARD[0]))
    assert f"{database} is an empty file (0 bytes)" in line


def test_run_refuses_to_start_without_its_state(tmp_path, dovecot):
    """`bouncewatch run` over lost state exits 1 with the one line, before touching the mailbox."""
    deployment = Deployment(dovecot, tmp_path, f"sqlite:///{tmp_path}/state.db")
    deployment.write_config()
    deployment.deliver(samples.dsn(HARD[0]))
    assert cli(deployment, "poll").exit_code == 0
    (tmp_path / "state.db").unlink()
    deployment.deliver(samples.dsn(HARD[1]))
    done = subprocess.run(
        [sys.executable, "-m", "bouncewatch", "run", "-c", str(deployment.config_path)],
        capture_output=True, text=True, env=environment(), timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("bouncewatch: state missing: ") and done.stderr.count("\n") == 1
    assert dovecot.folder_counts(USER)["INBOX"] == 1
    assert not (tmp_path / "state.db").exists()


def test_database_deleted_under_a_running_daemon(deployment, request):
    """The database deleted while `run` works: new bounces are left alone, the blocklist stays as
    it was, the log says what is missing; a restored SQLite backup lets the daemon go on by itself."""
    config = write_config(deployment.config_path, deployment.dovecot, deployment.database_url)
    deployment.deliver(*(samples.dsn(address) for address in HARD))
    daemon = RunningDaemon(config, deployment.directory / "run.log")
    try:
        wait_for(lambda: deployment.blocklist() == list(HARD), timeout=30)
        published = deployment.blocklist_path.read_bytes()
        backup = deployment.directory / "backup.db"
        if deployment.database_url.startswith("sqlite"):
            with sqlite3.connect(deployment.directory / "state.db") as source, sqlite3.connect(backup) as copy:
                source.backup(copy)
        lose_database(deployment, request)
        deployment.deliver(samples.dsn("new@example.org"))
        missing = lambda: [e for e in daemon.events() if "state missing" in e.get("error", "")]  # noqa: E731
        wait_for(lambda: len(missing()) >= 2, timeout=30)
        assert missing()[0]["event"] == "cycle_failed" and "while bouncewatch ran" in missing()[0]["error"]
        assert deployment.blocklist_path.read_bytes() == published
        assert inbox_count(deployment.dovecot) == 1
        assert not has_schema(deployment)
        assert refusal(cli(deployment, "status", "new@example.org")).startswith("bouncewatch: state missing: ")
        if deployment.database_url.startswith("sqlite"):
            shutil.copyfile(backup, deployment.directory / "state.db")  # the restore
            wait_for(lambda: inbox_count(deployment.dovecot) == 0, timeout=30)
            wait_for(lambda: "new@example.org" in deployment.blocklist(), timeout=30)
    finally:
        assert daemon.stop() == 0
