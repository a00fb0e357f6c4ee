"""The daemon's workers against a real Dovecot: faults retried with backoff, stop, reload, IDLE."""

from __future__ import annotations

import signal
import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import peewee
import pytest
from structlog.testing import capture_logs

from bouncewatch import config, store
from bouncewatch.config import BlocklistSettings
from bouncewatch.parse import parse_message
from bouncewatch.service.daemon import Daemon
from bouncewatch.service.pipeline import run_cycle
from bouncewatch.service.publisher import Publisher
from bouncewatch.service.worker import MailboxWorker
from bouncewatch.store.leases import FileLeases
from bouncewatch.testing import samples
from bouncewatch.testing.dovecot import ThrowawayDovecot

from .daemonkit import RunningDaemon, inbox_count, wait_for, write_config
from .spine import USER


@pytest.fixture
def fast_dovecot():
    """A Dovecot that refuses logins without the usual 2 s penalty."""
    with ThrowawayDovecot(fast=True) as server:
        yield server


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    store.open_database(url)
    yield url
    store.close_database()


def _settings(tmp_path: Path, dovecot: ThrowawayDovecot, url: str, **kwargs) -> config.Settings:
    return config.load(write_config(tmp_path / "bouncewatch.toml", dovecot, url, **kwargs))


def _worker(tmp_path: Path, settings: config.Settings, **kwargs) -> MailboxWorker:
    kwargs.setdefault("publisher", Publisher())  # this test's own: nothing held over from another
    return MailboxWorker(
        settings, settings.mailboxes[0], FileLeases(tmp_path), threading.Event(), rand=lambda: 0.0, **kwargs
    )


def _publishing_at_once(settings: config.Settings) -> config.Settings:
    """The settings with every publish written at once (min_interval_seconds = 0)."""
    blocklist = settings.blocklist.model_copy(update={"min_interval_seconds": 0})
    return settings.model_copy(update={"blocklist": blocklist})


def _failures(logs: list[dict]) -> list[dict]:
    return [entry for entry in logs if entry["event"] == "cycle_failed"]


def test_login_failure_backs_off_then_recovers(fast_dovecot, database, tmp_path):
    """A refused login: one error logged per attempt, waits doubling, back to normal once the password is right."""
    worker = _worker(tmp_path, _settings(tmp_path, fast_dovecot, database, password="wrong"))
    with capture_logs() as logs:
        first, second = worker.step(), worker.step()
    assert (first, second) == (0.2, 0.4)
    failures = _failures(logs)
    assert len(failures) == 2 and failures[0]["log_level"] == "error"
    assert "login as bounces refused" in failures[0]["error"]
    assert worker.health.state == "failing" and worker.health.consecutive_failures == 2

    good = _settings(tmp_path, fast_dovecot, database)
    worker.update(good, good.mailboxes[0])
    assert worker.step() == good.poll.interval_seconds
    assert worker.health.state == "ok" and worker.health.consecutive_failures == 0


def test_server_that_never_answers_times_out(database, tmp_path):
    """A server that accepts but never greets: the attempt times out, is logged once, and is retried."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]

        def mailbox_toml(self, user: str, name: str = "bounces", **keys) -> str:
            return (
                f'[[mailboxes]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
                f'username = "{user}"\npassword = "secret"\ntimeout_seconds = {keys["timeout_seconds"]}\n'
            )

        fake = type("SilentServer", (), {"port": port, "mailbox_toml": mailbox_toml})()
        worker = _worker(tmp_path, _settings(tmp_path, fake, database, timeout=0.5))
        with capture_logs() as logs:
            delay = worker.step()
    assert delay == 0.2
    (failure,) = _failures(logs)
    assert "timed out" in failure["error"]


def test_connection_dropped_mid_batch(fast_dovecot, database, tmp_path):
    """Dovecot dies in the middle of a batch: the attempt fails cleanly; the next one counts each message once."""
    fast_dovecot.deliver(USER, [samples.soft_dsn("a@example.org") for _ in range(4)])
    settings = _settings(tmp_path, fast_dovecot, database, batch_size=2)
    calls = []

    def crashing_parse(raw: bytes):
        calls.append(1)
        if len(calls) == 3:
            fast_dovecot.kill()  # during the second batch
        return parse_message(raw)

    worker = _worker(tmp_path, settings, parse=crashing_parse)
    with capture_logs() as logs:
        assert worker.step() == 0.2
    assert len(_failures(logs)) == 1
    fast_dovecot.start()
    assert worker.step() == settings.poll.interval_seconds
    assert store.get_state("a@example.org").soft_count == 4
    assert inbox_count(fast_dovecot) == 0


def test_unwritable_blocklist_is_retried(fast_dovecot, database, tmp_path):
    """The blocklist cannot be written (its directory is a file): the mail is still processed, health
    and metrics say "processing, but publishing fails" naming the path; written once possible."""
    from bouncewatch.web.health import judge_all, report
    from bouncewatch.web.metrics import Metrics

    fast_dovecot.deliver(USER, [samples.dsn("hard@example.org")])
    settings = _publishing_at_once(_settings(tmp_path, fast_dovecot, database))
    (tmp_path / "not-a-dir").write_text("")
    unwritable = tmp_path / "not-a-dir" / "b.txt"
    broken = settings.model_copy(update={"blocklist": BlocklistSettings(path=unwritable, min_interval_seconds=0)})
    metrics = Metrics(["bounces"])
    worker = _worker(tmp_path, broken, observer=metrics)
    with capture_logs() as logs:
        assert worker.step() == settings.poll.interval_seconds  # processing worked: no backoff
    assert not _failures(logs)
    (failed,) = [e for e in logs if e["event"] == "publish_failed"]
    assert failed["error"].startswith(f"{unwritable}: cannot write: ")
    assert inbox_count(fast_dovecot) == 0 and store.get_state("hard@example.org").blocked
    health = worker.health
    assert health.state == "ok" and health.publish_error == failed["error"] and health.last_published is None
    healthy, document = report(judge_all(broken, {"bounces": health}, datetime.now(timezone.utc)))
    assert not healthy and document["status"] == "publishing_failing"
    assert f"bounces: processing (last successful cycle 0 s ago), but publishing fails: {unwritable}" in document["reason"]
    assert metrics.registry.get_sample_value("bouncewatch_publish_failures_total", {"mailbox": "bounces"}) == 1
    worker.update(settings, settings.mailboxes[0])
    worker.step()
    assert (tmp_path / "blocklist.txt").read_text() == "hard@example.org\n"
    assert worker.health.publish_error == "" and worker.health.last_published is not None
    assert report(judge_all(settings, {"bounces": worker.health}, datetime.now(timezone.utc)))[0]


def test_shrink_refusal_shows_in_health_and_metrics(fast_dovecot, database, tmp_path):
    """A blocklist whose addresses would all disappear is kept; the refusal is logged, in the health,
    and in the metrics (refused 1, vanishing addresses counted) until it is resolved."""
    from bouncewatch.web.metrics import Metrics

    settings = _publishing_at_once(_settings(tmp_path, fast_dovecot, database))
    blocklist = tmp_path / "blocklist.txt"
    blocklist.write_text("".join(f"old{i}@example.org\n" for i in range(4)))
    fast_dovecot.deliver(USER, [samples.dsn(f"new{i}@example.org") for i in range(4)])
    metrics = Metrics(["bounces"])
    worker = _worker(tmp_path, settings, observer=metrics)
    with capture_logs() as logs:
        worker.step()
    assert [e["vanished"] for e in logs if e["event"] == "output_shrink_refused"] == [4]
    assert "refusing to replace 4 of the 4 addresses" in worker.health.publish_error
    assert blocklist.read_text().startswith("old0@example.org")
    labels = {"path": str(blocklist)}
    assert metrics.registry.get_sample_value("bouncewatch_output_shrink_refused", labels) == 1
    assert metrics.registry.get_sample_value("bouncewatch_output_vanishing_addresses", labels) == 4
    assert metrics.registry.get_sample_value("bouncewatch_output_addresses", labels) == 4


def test_unreachable_database_is_retried(fast_dovecot, tmp_path):
    """A database that cannot be reached fails the attempt with one logged error, never an exit."""
    fast_dovecot.deliver(USER, [samples.dsn("hard@example.org")])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = _settings(tmp_path, fast_dovecot, f"postgresql://postgres@127.0.0.1:{closed_port}/none")
    store.database_proxy.initialize(peewee.PostgresqlDatabase("none", host="127.0.0.1", port=closed_port, user="postgres"))
    try:
        worker = _worker(tmp_path, settings)
        with capture_logs() as logs:
            assert worker.step() == 0.2
    finally:
        store.database_proxy.initialize(None)
    (failure,) = _failures(logs)
    assert failure["error_type"] == "OperationalError"
    assert inbox_count(fast_dovecot) == 1  # nothing moved without a database


def test_other_mailboxes_go_on(fast_dovecot, database, tmp_path):
    """One mailbox failing over and over does not hold up another in the same daemon."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    path = write_config(tmp_path / "bouncewatch.toml", fast_dovecot, database)
    path.write_text(
        path.read_text()
        + f'\n[[mailboxes]]\nname = "broken"\nhost = "127.0.0.1"\nport = {closed_port}\n'
        f'security = "none"\nusername = "x"\npassword = "y"\n'
    )
    settings = config.load(path)
    fast_dovecot.deliver(USER, [samples.dsn("hard@example.org")])
    daemon = Daemon(settings, path, FileLeases(tmp_path))
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        wait_for(lambda: inbox_count(fast_dovecot) == 0, timeout=10)
        wait_for(lambda: daemon._health.get("broken") and daemon._health["broken"].consecutive_failures >= 2, 10)
        assert daemon._health["bounces"].state == "ok"
        jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
        assert sorted(jobs) == ["mailbox:bounces", "mailbox:broken"]  # one APScheduler job each
        assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())
    finally:
        daemon.request_stop()
        thread.join(10)
    assert not thread.is_alive()


def test_stop_flag_finishes_the_batch_in_hand(dovecot, database, tmp_path):
    """A stop requested during a batch lets that batch finish (counted and moved) and starts no other."""
    dovecot.deliver(USER, [samples.soft_dsn(f"u{i}@example.org") for i in range(7)])
    settings = _settings(tmp_path, dovecot, database, batch_size=3)
    stop = threading.Event()

    def parse_then_stop(raw: bytes):
        stop.set()
        return parse_message(raw)

    summary = run_cycle(settings, settings.mailboxes[0], parse_then_stop, stop)
    assert summary.messages == 3
    assert inbox_count(dovecot) == 4
    assert inbox_count(dovecot, "Bounces/Soft") == 3


def test_several_folders(dovecot, database, tmp_path):
    """`folders = [...]` watches each listed folder."""
    dovecot.deliver(USER, [samples.dsn("one@example.org")])
    dovecot.deliver(USER, [samples.dsn("two@example.org")], folder="Other")
    settings = _settings(tmp_path, dovecot, database, mailbox_extra='folders = ["INBOX", "Other"]')
    summary = run_cycle(settings, settings.mailboxes[0])
    assert summary.messages == 2
    assert inbox_count(dovecot) == 0 and inbox_count(dovecot, "Other") == 0
    assert inbox_count(dovecot, "Bounces/Hard") == 2


def test_large_messages_are_parsed_from_a_prefix(dovecot, database, tmp_path):
    """Messages over max_message_bytes reach the parser as a bounded prefix; a bounce there still counts."""
    padding = b"\r\n" + b"x" * 76 * 2000  # ~150 KB after the end of the DSN (an epilogue)
    dovecot.deliver(USER, [samples.dsn("big@example.org") + padding, samples.not_a_bounce() + padding])
    settings = _settings(tmp_path, dovecot, database, extra="")
    settings = settings.model_copy(update={"poll": settings.poll.model_copy(update={"max_message_bytes": 8192})})
    seen: list[int] = []

    def measuring_parse(raw: bytes):
        seen.append(len(raw))
        return parse_message(raw)

    run_cycle(settings, settings.mailboxes[0], measuring_parse)
    assert seen and max(seen) <= 8192
    assert store.get_state("big@example.org").blocked
    assert inbox_count(dovecot, "Bounces/Hard") == 1
    assert inbox_count(dovecot, "Bounces/Unrecognized") == 1


def test_idle_processes_new_mail_within_seconds(dovecot, database, tmp_path):
    """With idle = true, a message appended while the worker waits is processed within a few seconds."""
    settings = _settings(tmp_path, dovecot, database, interval=300, mailbox_extra="idle = true")
    stop = threading.Event()
    worker = MailboxWorker(settings, settings.mailboxes[0], FileLeases(tmp_path), stop)
    thread = threading.Thread(target=worker.step)  # one step: the IDLE session, until stopped
    thread.start()
    try:
        wait_for(lambda: worker.health.state == "ok", timeout=10)
        time.sleep(0.3)  # in IDLE now
        dovecot.append(USER, samples.dsn("late@example.org"))
        appended = time.monotonic()
        wait_for(lambda: inbox_count(dovecot, "Bounces/Hard") == 1, timeout=5, step=0.02)
        print(f"IDLE: processed {time.monotonic() - appended:.2f} s after APPEND")
    finally:
        stop.set()
        worker.wake()
        thread.join(5)
    assert not thread.is_alive()


def test_sigterm_and_sighup(dovecot, tmp_path):
    """SIGHUP with a broken config (a bad value, bytes that are not UTF-8, `mailboxes = 5`) keeps the
    running one (one error line each, the daemon runs on); a good one is applied; SIGTERM exits 0."""
    url = f"sqlite:///{tmp_path}/state.db"
    path = write_config(tmp_path / "bouncewatch.toml", dovecot, url)
    daemon = RunningDaemon(path, tmp_path / "run.log")
    try:
        wait_for(lambda: any(e.get("event") == "started" for e in daemon.events()), timeout=10)
        good = path.read_text()
        broken = [
            (good.replace("batch_size = 10", "batch_size = -1").encode(), "batch_size"),
            (good.encode().replace(b"[poll]", b"[poll]\n# caf\xe9"), "not UTF-8"),
            (b"mailboxes = 5\n" + good.encode().split(b"[[mailboxes]]")[0], "mailboxes: must be an array"),
        ]
        for number, (content, named) in enumerate(broken, 1):
            path.write_bytes(content)
            daemon.send(signal.SIGHUP)
            wait_for(lambda n=number: len([e for e in daemon.events() if e.get("event") == "reload_failed"]) == n, 10)
            failed = [e for e in daemon.events() if e.get("event") == "reload_failed"][-1]
            assert named in failed["error"] and "\n" not in failed["error"]
            assert daemon.process.poll() is None, "a bad config on SIGHUP must not end the daemon"
            dovecot.deliver(USER, [samples.dsn(f"still{number}@example.org")])
            wait_for(lambda: inbox_count(dovecot) == 0, timeout=10)  # the old config runs on
        assert all("raw" not in e for e in daemon.events()), "no traceback, only JSON log lines"

        write_config(path, dovecot, url, mailbox_extra='folders = ["INBOX", "Other"]')
        daemon.send(signal.SIGHUP)
        wait_for(lambda: any(e.get("event") == "config_reloaded" for e in daemon.events()), timeout=10)
        dovecot.deliver(USER, [samples.dsn("other@example.org")], folder="Other")
        wait_for(lambda: inbox_count(dovecot, "Other") == 0, timeout=10)
    finally:
        code = daemon.stop()
    assert code == 0
    assert daemon.events()[-1]["event"] == "stopped"


def test_systemd_notify_ready_and_stopping(dovecot, tmp_path):
    """Under systemd (NOTIFY_SOCKET set) `run` reports READY=1 once started and STOPPING=1 on SIGTERM."""
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(tmp_path / "notify.sock"))
    receiver.settimeout(15)
    path = write_config(tmp_path / "bouncewatch.toml", dovecot, f"sqlite:///{tmp_path}/state.db")
    import os

    os.environ["NOTIFY_SOCKET"] = str(tmp_path / "notify.sock")
    try:
        daemon = RunningDaemon(path, tmp_path / "run.log")
    finally:
        del os.environ["NOTIFY_SOCKET"]
    try:
        assert receiver.recv(100) == b"READY=1"
    finally:
        assert daemon.stop() == 0
    assert receiver.recv(100) == b"STOPPING=1"
    receiver.close()
