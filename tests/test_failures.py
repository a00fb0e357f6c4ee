"""Clean failures: `poll` tells each mailbox's outcome in one line and goes on; database faults
(an error, a dropped connection, a lock, a full disk, a server that stops answering) never end in
a traceback, name what they concern, and never hold the daemon past SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from click.testing import CliRunner

from bouncewatch.cli import main
from bouncewatch.testing import samples

from .daemonkit import FreezableProxy, RunningDaemon, inbox_count, wait_for, write_config
from .spine import USER, Deployment

OTHER, OTHER_PASSWORD = "other", "other-secret"


def cli(deployment: Deployment, *args: str):
    return CliRunner().invoke(main, [*args, "-c", str(deployment.config_path)])


def two_mailboxes(deployment: Deployment, extra: str = "") -> None:
    """Mailbox `bounces` (user bounces) and mailbox `other` (user other), each with a hard bounce."""
    deployment.dovecot.add_user(OTHER, OTHER_PASSWORD)
    second = deployment.dovecot.mailbox_toml(OTHER, "other", archive="Bounces")
    deployment.write_config(extra_mailbox=second, extra=extra)
    deployment.deliver(samples.dsn("first@example.org"))
    deployment.dovecot.append(OTHER, samples.dsn("second@example.org"))
    assert cli(deployment, "init").exit_code == 0


def run_sql(deployment: Deployment, sql: str) -> None:
    if deployment.database_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(deployment.directory / "state.db")) as connection:
            connection.executescript(sql)
        return
    import psycopg2

    connection = psycopg2.connect(deployment.database_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
    connection.close()


def fail_inserts_for(deployment: Deployment, mailbox: str, *, drop_connection: bool = False) -> None:
    """A trigger that fails (or, on PostgreSQL, kills its own connection) when `mailbox` records a message."""
    if deployment.database_url.startswith("sqlite"):
        run_sql(deployment, f"""
            CREATE TRIGGER fault BEFORE INSERT ON processed_message WHEN NEW.mailbox = '{mailbox}'
            BEGIN SELECT RAISE(ABORT, 'injected fault'); END;""")
        return
    action = "PERFORM pg_terminate_backend(pg_backend_pid());" if drop_connection else "RAISE EXCEPTION 'injected fault';"
    run_sql(deployment, f"""
        CREATE FUNCTION fault() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.mailbox = '{mailbox}' THEN {action} END IF; RETURN NEW; END $$;
        CREATE TRIGGER fault BEFORE INSERT ON processed_message FOR EACH ROW EXECUTE FUNCTION fault();""")


def database_named(deployment: Deployment) -> str:
    url = deployment.database_url
    return url.removeprefix("sqlite:///") if url.startswith("sqlite") else url.split("://", 1)[1]


def said(result) -> list[str]:
    """The lines bouncewatch said on stderr (the rest there are JSON log lines)."""
    return [line for line in result.stderr.splitlines() if line.startswith("bouncewatch:")]


def assert_clean(result, code: int = 1) -> None:
    assert result.exit_code == code, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


def test_one_mailbox_database_error_does_not_stop_the_others(deployment):
    """A database error while recording mailbox `bounces`: one line for it naming the database, the
    summary of `other` (processed), the blocklist line, exit 1, no traceback."""
    two_mailboxes(deployment)
    fail_inserts_for(deployment, "bounces")
    result = cli(deployment, "poll")
    assert_clean(result)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"bounces: failed: database {database_named(deployment)}: ")
    assert "injected fault" in lines[0]
    assert lines[1].startswith("other: 1 messages;") and "blocked: second@example.org" in result.stdout
    assert lines[-1] == f"blocklist: {deployment.blocklist_path} (1 addresses)"
    assert said(result) == [f"bouncewatch: mailbox bounces: {lines[0].removeprefix('bounces: failed: ')}"]
    assert deployment.blocklist() == ["second@example.org"]
    assert inbox_count(deployment.dovecot) == 1  # nothing of `bounces` moved without its record


def test_dropped_postgresql_connection(deployment):
    """PostgreSQL ends the connection in the middle of `bounces`' batch: `other` still runs on a new one."""
    if deployment.database_url.startswith("sqlite"):
        pytest.skip("a connection that drops is PostgreSQL's")
    two_mailboxes(deployment)
    fail_inserts_for(deployment, "bounces", drop_connection=True)
    result = cli(deployment, "poll")
    assert_clean(result)
    first, second = result.stdout.splitlines()[:2]
    assert first.startswith(f"bounces: failed: database {database_named(deployment)}: ")
    assert "terminating connection" in first
    assert second.startswith("other: 1 messages;")
    assert deployment.blocklist() == ["second@example.org"]


def test_locked_sqlite(tmp_path, dovecot):
    """Another process holds SQLite's write lock: each mailbox says "database is locked" with the file,
    the blocklist is still published from what is readable, exit 1, no traceback."""
    deployment = Deployment(dovecot, tmp_path, f"sqlite:///{tmp_path}/state.db")
    two_mailboxes(deployment)
    text = deployment.config_path.read_text().replace("[poll]", "connect_timeout_seconds = 0.5\n[poll]", 1)
    deployment.config_path.write_text(text)
    holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = cli(deployment, "poll")
    finally:
        holder.close()
    assert_clean(result)
    lines = result.stdout.splitlines()
    assert len(lines) == 3, (result.stdout, result.stderr)
    for line, name in zip(lines, ("bounces", "other")):
        assert line == f"{name}: failed: database {tmp_path / 'state.db'}: database is locked"
    assert lines[-1].startswith("blocklist: ")


@contextlib.contextmanager
def small_disk(path: Path, size: str = "256k"):
    """A tmpfs of `size` mounted at `path` (root only), filled up by the caller."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> None:
    with contextlib.suppress(OSError), open(directory / "filler", "wb", buffering=0) as filler:
        while True:
            filler.write(b"\0" * 4096)


def test_full_disk_under_the_outputs(tmp_path, dovecot):
    """The outputs' disk is full: the mail is processed and summarised, the blocklist line names the
    path it could not write, exit 1, no traceback; the old blocklist stays whole."""
    with small_disk(tmp_path / "disk") as disk:
        deployment = Deployment(dovecot, tmp_path, f"sqlite:///{tmp_path}/state.db")
        deployment.write_config()
        text = deployment.config_path.read_text().replace(str(deployment.blocklist_path), str(disk / "blocklist.txt"))
        deployment.config_path.write_text(text)
        deployment.deliver(*(samples.dsn(f"hard{i}@example.org") for i in range(3)))
        assert cli(deployment, "poll").exit_code == 0
        before = (disk / "blocklist.txt").read_bytes()
        fill(disk)
        deployment.deliver(samples.dsn(f"{'x' * 60}@example.org"))
        result = cli(deployment, "poll")
        assert_clean(result)
        assert result.stdout.startswith("bounces: 1 messages;"), result.stderr
        assert result.stdout.splitlines()[-1] == (
            f"blocklist: not published: {disk / 'blocklist.txt'}: cannot write: No space left on device"
        )
        assert (disk / "blocklist.txt").read_bytes() == before
        assert inbox_count(dovecot) == 0


def test_full_disk_under_the_database(tmp_path, dovecot):
    """The database's disk is full: the line names the database and says its disk is full; no traceback."""
    with small_disk(tmp_path / "disk", "1m") as disk:
        deployment = Deployment(dovecot, tmp_path, f"sqlite:///{disk}/state.db")
        deployment.write_config()
        assert cli(deployment, "init").exit_code == 0
        fill(disk)
        deployment.deliver(samples.dsn("hard@example.org"))
        result = cli(deployment, "poll")
        assert_clean(result)
        (line,) = said(result)
        assert line.startswith(f"bouncewatch: cannot open database {disk / 'state.db'}: ")
        assert line.endswith("; the disk holding it is full")
        assert inbox_count(dovecot) == 1


def proxied(deployment: Deployment, proxy: FreezableProxy) -> str:
    """The deployment's PostgreSQL URL through `proxy`."""
    parts = urlparse(deployment.database_url)
    return parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()


def test_frozen_postgresql_is_given_up_on_by_name(deployment):
    """A PostgreSQL that stops answering without closing connections: `poll` gives up after the
    configured timeouts with one line naming the server; no hang, no traceback."""
    if deployment.database_url.startswith("sqlite"):
        pytest.skip("a server that stops answering is PostgreSQL's")
    upstream = urlparse(deployment.database_url)
    with FreezableProxy((upstream.hostname, upstream.port)) as proxy:
        deployment.database_url = proxied(deployment, proxy)
        deployment.write_config(extra="")
        text = deployment.config_path.read_text().replace(
            "[poll]", "connect_timeout_seconds = 1\nstatement_timeout_seconds = 1\n[poll]", 1
        )
        deployment.config_path.write_text(text)
        assert cli(deployment, "init").exit_code == 0
        deployment.deliver(samples.dsn("first@example.org"))
        proxy.freeze()
        result = cli(deployment, "poll")
    assert_clean(result)
    assert said(result)[0] == (
        f"bouncewatch: cannot open database {database_named(deployment)}: 127.0.0.1:{proxy.port}: "
        "no answer to connect for 1 s; the server or the network to it is stuck"
    )


def test_daemon_names_a_frozen_database_and_goes_on(deployment, tmp_path):
    """`run` on a PostgreSQL that freezes mid-run: each attempt gives up by itself, logged with the
    server's address; once it answers again the mail is processed; SIGTERM exits 0."""
    if deployment.database_url.startswith("sqlite"):
        pytest.skip("a server that stops answering is PostgreSQL's")
    upstream = urlparse(deployment.database_url)
    with FreezableProxy((upstream.hostname, upstream.port)) as proxy:
        url = proxied(deployment, proxy)
        config = write_config(tmp_path / "bouncewatch.toml", deployment.dovecot, url)
        config.write_text(config.read_text().replace(
            "[poll]", "connect_timeout_seconds = 1\nstatement_timeout_seconds = 1\n[poll]", 1))
        deployment.deliver(samples.dsn("first@example.org"))
        daemon = RunningDaemon(config, tmp_path / "run.log")
        try:
            wait_for(lambda: inbox_count(deployment.dovecot) == 0, timeout=30)
            proxy.freeze()
            deployment.deliver(samples.dsn("second@example.org"))
            stalls = lambda: [e for e in daemon.events() if e.get("event") == "cycle_failed"]  # noqa: E731
            wait_for(lambda: len(stalls()) >= 2, timeout=30)
            assert all(f"127.0.0.1:{proxy.port}: no answer" in e["error"] for e in stalls()), [(e["error"], e["error_type"]) for e in stalls()]
            assert inbox_count(deployment.dovecot) == 1
            proxy.thaw()
            wait_for(lambda: inbox_count(deployment.dovecot) == 0, timeout=30)
        finally:
            code = daemon.stop(timeout=30)
    assert code == 0


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_sigterm_is_honoured_while_the_database_hangs(database, dovecot, tmp_path, request):
    """SIGTERM while a batch waits on a database that does not answer (an SQLite lock held by
    another process; a frozen PostgreSQL) with long timeouts: the process ends anyway after
    stop_timeout_seconds, saying so."""
    from .spine import drop_postgres_database, fresh_postgres_database

    proxy = name = None
    if database == "sqlite":
        url = f"sqlite:///{tmp_path}/state.db"
    else:
        server = request.getfixturevalue("postgres_url")
        name = f"bw_hang_{tmp_path.name[-12:].replace('-', '_')}{int(time.time() * 1000) % 100000}"
        upstream = urlparse(fresh_postgres_database(server, name))
        proxy = FreezableProxy((upstream.hostname, upstream.port))
        url = upstream._replace(netloc=f"{upstream.username}@127.0.0.1:{proxy.port}").geturl()
    config = write_config(tmp_path / "bouncewatch.toml", dovecot, url, extra="")
    config.write_text(config.read_text().replace(
        "[poll]", "connect_timeout_seconds = 120\nstatement_timeout_seconds = 120\n[poll]", 1).replace(
        "[daemon]", "[daemon]\nstop_timeout_seconds = 1", 1))
    dovecot.deliver(USER, [samples.dsn("first@example.org")])
    daemon = RunningDaemon(config, tmp_path / "run.log")
    holder = None
    try:
        wait_for(lambda: inbox_count(dovecot) == 0, timeout=30)
        if proxy is not None:
            proxy.freeze()
        else:
            holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
        dovecot.deliver(USER, [samples.dsn("second@example.org")])
        time.sleep(1.5)  # the next attempt is now waiting on the database
        assert daemon.process.poll() is None
        daemon.send(signal.SIGTERM)
        code = daemon.process.wait(timeout=30)  # the promise: honoured within 30 s
    finally:
        if daemon.process.poll() is None:
            daemon.kill()
        if holder is not None:
            holder.close()
        if proxy is not None:
            proxy.close()
            drop_postgres_database(server, name)
    forced = [e for e in daemon.events() if e.get("event") == "stop_forced"]
    assert code == 1 and forced and forced[0]["busy"] == ["bounces"]
    assert inbox_count(dovecot) == 1  # the waiting batch was not half-done
