"""The [http] endpoint of `bouncewatch run`: a real daemon, a real Dovecot, real HTTP over loopback."""

from __future__ import annotations

import json
import signal
import socket
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bouncewatch import config
from bouncewatch.config.http import split_listen
from bouncewatch.service.worker import Health
from bouncewatch.testing import samples
from bouncewatch.testing.dovecot import ThrowawayDovecot
from bouncewatch.web.health import judge_all, report

from .daemonkit import RunningDaemon, inbox_count, wait_for, write_config
from .spine import USER

TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def fast_dovecot():
    """A Dovecot that refuses logins without the usual 2 s penalty."""
    with ThrowawayDovecot(fast=True) as server:
        yield server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _config(tmp_path: Path, dovecot: ThrowawayDovecot, port: int, http_extra: str = "", name: str = "bouncewatch.toml") -> Path:
    http = f'[http]\nenabled = true\nlisten = "127.0.0.1:{port}"\n{http_extra}'
    return write_config(tmp_path / name, dovecot, f"sqlite:///{tmp_path}/state.db", extra=http)


def _get(url: str, token: str | None = None) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _status(url: str) -> int | None:
    try:
        return _get(url)[0]
    except OSError:
        return None  # not listening yet


def _metrics(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, _headers, body = _get(f"{base}/metrics")
    assert status == 200
    samples_ = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples_[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples_


def test_healthz_follows_the_mailbox(fast_dovecot, tmp_path):
    """/healthz: 200 after a successful cycle, 503 naming the mailbox and its error once Dovecot is gone for 3 intervals, 200 again after."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    daemon = RunningDaemon(_config(tmp_path, fast_dovecot, port), tmp_path / "run.log")
    try:
        wait_for(lambda: _status(f"{base}/healthz") == 200, timeout=15)
        _code, headers, body = _get(f"{base}/healthz")
        document = json.loads(body)
        assert document["status"] == "ok" and document["mailboxes"][0]["name"] == "bounces"
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"

        fast_dovecot.stop()
        wait_for(lambda: _status(f"{base}/healthz") == 503, timeout=10)
        document = json.loads(_get(f"{base}/healthz")[2])
        assert document["status"] == "failing"
        assert document["reason"].startswith("bounces: no successful cycle for ")
        assert "(last error: " in document["reason"] and "cannot connect" in document["reason"]
        errors = {k: v for k, v in _metrics(base).items() if k[0] == "bouncewatch_cycle_errors_total"}
        assert errors and all(dict(labels)["mailbox"] == "bounces" for _n, labels in errors)

        fast_dovecot.start()
        wait_for(lambda: _status(f"{base}/healthz") == 200, timeout=10)
    finally:
        code = daemon.stop()
    assert code == 0
    events = daemon.events()
    assert events[-1]["event"] == "stopped"
    assert [e["listen"] for e in events if e.get("event") == "http_listening"] == [f"127.0.0.1:{port}"]
    assert _status(f"{base}/healthz") is None, "the port is closed after SIGTERM"


def test_metrics_count_what_was_processed(fast_dovecot, tmp_path):
    """/metrics parses as Prometheus text, and its counters match the messages and records processed."""
    fast_dovecot.deliver(
        USER,
        [samples.dsn(f"hard{i}@example.org") for i in range(3)]
        + [samples.soft_dsn("soft@example.org"), samples.soft_dsn("soft2@example.org")]
        + [samples.arf_complaint("angry@example.org"), samples.not_a_bounce()],
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    daemon = RunningDaemon(_config(tmp_path, fast_dovecot, port), tmp_path / "run.log")
    try:
        wait_for(lambda: inbox_count(fast_dovecot) == 0 and _status(f"{base}/healthz") == 200, timeout=15)
        metrics = _metrics(base)
    finally:
        assert daemon.stop() == 0

    def value(name: str, **labels: str) -> float:
        return metrics[(name, tuple(sorted({"mailbox": "bounces", **labels}.items())))]

    processed = {
        outcome: value("bouncewatch_messages_processed_total", outcome=outcome)
        for outcome in ("hard", "soft", "complaint", "ignored", "unrecognized", "unverified", "duplicate")
    }
    assert processed == {"hard": 3, "soft": 2, "complaint": 1, "ignored": 0, "unrecognized": 1, "unverified": 0, "duplicate": 0}
    assert value("bouncewatch_records_total", **{"class": "hard"}) == 3
    assert value("bouncewatch_records_total", **{"class": "soft"}) == 2
    assert value("bouncewatch_records_total", **{"class": "complaint"}) == 1
    assert metrics[("bouncewatch_addresses_blocked", ())] == 4  # 3 hard + 1 complaint
    assert value("bouncewatch_addresses_newly_blocked_total") == 4
    assert value("bouncewatch_sender_side_alerts_total") == 0
    assert value("bouncewatch_cycle_duration_seconds_count") >= 1
    assert value("bouncewatch_last_success_timestamp_seconds") > 1.7e9
    assert not [k for k in metrics if k[0] == "bouncewatch_cycle_errors_total"]


def test_v1_addresses_and_blocklist(fast_dovecot, tmp_path):
    """/v1/addresses: blocked (with its last bounces), unknown (404), invalid (400); /v1/blocklist equals the blocklist file."""
    fast_dovecot.deliver(USER, [samples.dsn("Blocked@Example.org"), samples.dsn("other@example.org")])
    port = _free_port()
    base = f"http://127.0.0.1:{port}/v1"
    daemon = RunningDaemon(_config(tmp_path, fast_dovecot, port), tmp_path / "run.log")
    blocklist_file = tmp_path / "blocklist.txt"
    try:
        wait_for(lambda: blocklist_file.exists() and len(blocklist_file.read_text().split()) == 2, timeout=15)

        status, headers, body = _get(f"{base}/addresses/BLOCKED@example.ORG")
        assert status == 200 and headers["Cache-Control"] == "no-store"
        state = json.loads(body)
        assert state["address"] == "blocked@example.org" and state["blocked"] is True
        assert [b["class"] for b in state["last_bounces"]] == ["hard"]
        assert state["last_bounces"][0]["mailbox"] == "bounces"

        status, _headers, body = _get(f"{base}/addresses/nobody@example.org")
        assert status == 404 and json.loads(body)["address"] == "nobody@example.org"
        status, _headers, body = _get(f"{base}/addresses/not-an-address")
        assert status == 400 and "not an email address" in json.loads(body)["error"]

        status, headers, body = _get(f"{base}/blocklist")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert body == blocklist_file.read_bytes() == b"blocked@example.org\nother@example.org\n"
        status, headers, body = _get(f"{base}/blocklist?format=json")
        assert [a["address"] for a in json.loads(body)["addresses"]] == ["blocked@example.org", "other@example.org"]
        status, headers, body = _get(f"{base}/blocklist?format=csv")
        assert headers["Content-Type"].startswith("text/csv") and body.count(b"\r\n") == 3
        assert _get(f"{base}/blocklist?format=xml")[0] == 400
    finally:
        assert daemon.stop() == 0


def test_token_protects_v1_only(fast_dovecot, tmp_path):
    """With token_file, /v1 answers 401 (with WWW-Authenticate) without or with a wrong token, 200 with it, the new one after SIGHUP; /healthz and /metrics stay open."""
    (tmp_path / "http.token").write_text(TOKEN + "\n")
    fast_dovecot.deliver(USER, [samples.dsn("x@example.org")])
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    daemon = RunningDaemon(_config(tmp_path, fast_dovecot, port, 'token_file = "http.token"\n'), tmp_path / "run.log")
    try:
        wait_for(lambda: _status(f"{base}/healthz") == 200, timeout=15)
        status, headers, body = _get(f"{base}/v1/blocklist")
        assert status == 401 and headers["WWW-Authenticate"] == 'Bearer realm="bouncewatch"'
        assert b"x@example.org" not in body
        status, headers, _body = _get(f"{base}/v1/addresses/x@example.org", token="wrong")
        assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]
        assert _get(f"{base}/v1/blocklist", token=TOKEN)[2] == b"x@example.org\n"
        assert _get(f"{base}/v1/addresses/x@example.org", token=TOKEN)[0] == 200
        assert _get(f"{base}/metrics")[0] == 200

        (tmp_path / "http.token").write_text("rotated-token")
        daemon.send(signal.SIGHUP)  # the token file is read again on reload
        wait_for(lambda: any(e.get("event") == "config_reloaded" for e in daemon.events()), timeout=10)
        assert _get(f"{base}/v1/blocklist", token=TOKEN)[0] == 401
        assert _get(f"{base}/v1/blocklist", token="rotated-token")[0] == 200
    finally:
        assert daemon.stop() == 0


def test_port_in_use_fails_at_start(fast_dovecot, tmp_path):
    """A second `bouncewatch run` on a port already in use exits 1 at start with one clear line, touching no mailbox."""
    port = _free_port()
    first = RunningDaemon(_config(tmp_path, fast_dovecot, port), tmp_path / "first.log")
    try:
        wait_for(lambda: _status(f"http://127.0.0.1:{port}/healthz") == 200, timeout=15)
        second = RunningDaemon(_config(tmp_path, fast_dovecot, port, name="second.toml"), tmp_path / "second.log")
        assert second.process.wait(15) == 1
        events = second.events()
    finally:
        assert first.stop() == 0
    assert [e["event"] for e in events] == ["http_failed"]
    assert events[0]["error"] == f"cannot listen on 127.0.0.1:{port}: Address already in use (is another bouncewatch running?)"


def test_standby_instance_is_healthy(fast_dovecot, tmp_path):
    """A second instance on the same database, in lease standby, answers 200 and says it is standby."""
    first_port, second_port = _free_port(), _free_port()
    first = RunningDaemon(_config(tmp_path, fast_dovecot, first_port), tmp_path / "first.log")
    second = None
    try:
        wait_for(lambda: _status(f"http://127.0.0.1:{first_port}/healthz") == 200, timeout=15)
        second = RunningDaemon(_config(tmp_path, fast_dovecot, second_port, name="second.toml"), tmp_path / "second.log")
        wait_for(lambda: _status(f"http://127.0.0.1:{second_port}/healthz") == 200, timeout=15)
        (mailbox,) = json.loads(_get(f"http://127.0.0.1:{second_port}/healthz")[2])["mailboxes"]
        assert mailbox["state"] == "standby" and mailbox["detail"].startswith("standby: another instance")
    finally:
        if second is not None:
            assert second.stop() == 0
        assert first.stop() == 0


def test_http_config_is_checked(fast_dovecot, tmp_path):
    """[http] listen must be host:port (IPv6 in brackets) and token_file readable, else one config line."""
    assert split_listen("[::1]:9117") == ("::1", 9117)
    assert split_listen("0.0.0.0:9117") == ("0.0.0.0", 9117)
    path = _config(tmp_path, fast_dovecot, 9117)
    good = path.read_text()
    for listen, words in [("9117", "host:port"), ("::1:9117", "brackets"), ("127.0.0.1:0", "port"), ("[::1]", "port")]:
        path.write_text(good.replace('"127.0.0.1:9117"', f'"{listen}"'))
        with pytest.raises(config.ConfigError, match=words) as caught:
            config.load(path)
        assert "http.listen: " in str(caught.value)
    path = _config(tmp_path, fast_dovecot, 9117, 'token_file = "missing.token"\n')
    with pytest.raises(config.ConfigError, match=r"http\.token_file: cannot read .*missing\.token"):
        config.load(path)
    settings = config.load(write_config(tmp_path / "off.toml", fast_dovecot, "sqlite:///x.db"))
    assert settings.http.enabled is False and settings.http.listen == "127.0.0.1:9117"


def test_healthz_rules_without_a_daemon(fast_dovecot, tmp_path):
    """The judgement alone: a mailbox with no cycle yet fails, standby passes, an old success fails after 3 intervals."""
    from datetime import datetime, timedelta, timezone

    settings = config.load(_config(tmp_path, fast_dovecot, 9117))  # interval 0.2 s
    now = datetime.now(timezone.utc)
    assert report(judge_all(settings, {}, now))[1]["reason"] == "bounces: no cycle finished yet"
    assert report(judge_all(settings, {"bounces": Health("bounces", state="standby")}, now))[0]
    recent = Health("bounces", state="failing", last_success=now - timedelta(seconds=0.5), last_error="boom")
    assert report(judge_all(settings, {"bounces": recent}, now))[0]
    old = Health("bounces", state="failing", last_success=now - timedelta(seconds=31), last_error="boom")
    assert report(judge_all(settings, {"bounces": old}, now))[1]["reason"] == "bounces: no successful cycle for 31 s (last error: boom)"


def test_blocklist_streams_from_postgresql(fast_dovecot, tmp_path, request):
    """On PostgreSQL, /v1/blocklist streams 2,500 addresses (several batches) equal to the file, on per-request connections that do not pile up."""
    import uuid

    import psycopg2

    from bouncewatch import store
    from bouncewatch.records import AddressState

    from .spine import drop_postgres_database, fresh_postgres_database

    server = request.getfixturevalue("postgres_url")
    name = f"bw_http_{uuid.uuid4().hex[:12]}"
    url = fresh_postgres_database(server, name)
    try:
        store.open_database(url)
        try:
            at = store.utcnow()
            store.save_states(
                AddressState(address=f"user{i:05d}@example.org", blocked=True, blocked_reason="manual: test", blocked_at=at, manual=True)
                for i in range(2500)
            )
        finally:
            store.close_database()
        fast_dovecot.deliver(USER, [samples.dsn("zz-hard@example.org")])
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        http = f'[http]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
        path = write_config(tmp_path / "bouncewatch.toml", fast_dovecot, url, extra=http)
        daemon = RunningDaemon(path, tmp_path / "run.log")
        blocklist_file = tmp_path / "blocklist.txt"
        try:
            wait_for(lambda: blocklist_file.exists() and b"zz-hard@" in blocklist_file.read_bytes(), timeout=20)
            for _ in range(8):
                status, _headers, body = _get(f"{base}/v1/blocklist")
                assert status == 200
            assert body == blocklist_file.read_bytes() and body.count(b"\n") == 2501
            assert len(json.loads(_get(f"{base}/v1/blocklist?format=json")[2])["addresses"]) == 2501
            assert json.loads(_get(f"{base}/v1/addresses/zz-hard@example.org")[2])["blocked"] is True
            assert _metrics(base)[("bouncewatch_addresses_blocked", ())] == 2501
            with psycopg2.connect(server) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,))
                (connections,) = cursor.fetchone()
            connection.close()
            print(f"connections to the database: {connections}")
            assert connections <= 4, "HTTP requests leave no connection open (main thread, lease, a worker may hold one)"
        finally:
            assert daemon.stop() == 0
    finally:
        drop_postgres_database(server, name)
