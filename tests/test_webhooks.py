"""Webhooks out against the real daemon, on both databases: a local HTTP receiver that is down
for the first tries, the daemon SIGKILLed in between, and still every event arrives, signed,
with the same id on every attempt."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bouncewatch import store
from bouncewatch.publish.webhooks import RETRY_PERIOD, retry_delay
from bouncewatch.testing import samples

from . import providerkit as kit
from .daemonkit import RunningDaemon, environment, wait_for, write_config
from .spine import USER
from .test_http import _free_port, _status

SECRET = b"whsec-for-tests-0123456789"


def verify(secret: bytes, body: bytes, header: str, tolerance: int = 300) -> bool:
    """The receiver's check, as the README shows it."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret, fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) <= tolerance


class Receiver:
    """An HTTP receiver on 127.0.0.1 that records each POST; the first one it answers with 500
    (after reading it), so that event arrives twice."""

    def __init__(self, port: int) -> None:
        self.received: list[tuple[float, dict[str, str], bytes]] = []
        self.refused_first = False
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((time.time(), dict(self.headers), body))
                status = 200 if receiver.refused_first else 500
                receiver.refused_first = True
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def ids(self) -> set[str]:
        return {json.loads(body)["id"] for _t, _h, body in self.received}


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bouncewatch", *args, "-c", str(config)],
        capture_output=True, text=True, env=environment(), timeout=60,
    )


def _manual(config: Path, address: str, reason: str, actor: str, action: str) -> None:
    from bouncewatch.config import load
    from bouncewatch.service.manual import manual_action

    settings = load(config)
    store.open_database(settings.database_url)
    try:
        manual_action(settings, address, reason, actor, action)
    finally:
        store.close_database()


def _outbox(url: str) -> list[store.WebhookDelivery]:
    store.open_database(url)
    try:
        return list(store.WebhookDelivery.select())
    finally:
        store.close_database()


def test_retry_backoff_starts_at_seconds_and_stays_under_an_hour():
    """The first four retries come within a minute, even at the longest jitter; no wait is
    longer than an hour and a fifth; a delivery is given up only after at least 24 hours."""
    waits = [retry_delay(n, lambda: 1.0) for n in range(1, 80)]
    assert sum(waits[:4]) < 60 and max(waits) < 3600 * 1.2 + 1
    assert RETRY_PERIOD >= timedelta(hours=24)
    assert [round(retry_delay(n, lambda: 0.5)) for n in range(1, 6)] == [2, 4, 8, 16, 32]


@pytest.mark.slow
def test_events_reach_a_receiver_that_was_down_across_a_sigkill(deployment, tmp_path):
    """Blocks (from /v1/events, a DSN in the mailbox, the CLI) and an unblock are owed from the
    outbox while the receiver is down; after SIGKILL and a restart each arrives, validly signed,
    and the one the receiver failed arrives again with the same id and body."""
    (tmp_path / "webhook.secret").write_bytes(SECRET + b"\n")
    (tmp_path / "http.token").write_text("tok\n")
    http_port, hook_port = _free_port(), _free_port()
    extra = f"""
[http]
enabled = true
listen = "127.0.0.1:{http_port}"
token_file = "http.token"
[[webhooks]]
url = "http://127.0.0.1:{hook_port}/hooks/bouncewatch"
events = ["blocked", "unblocked", "sender_alert"]
secret_file = "webhook.secret"
timeout_seconds = 2
"""
    config = write_config(tmp_path / "bouncewatch.toml", deployment.dovecot, deployment.database_url, interval=0.5, extra=extra)
    base = f"http://127.0.0.1:{http_port}"
    daemon = RunningDaemon(config, tmp_path / "run.log")
    receiver = None
    try:
        wait_for(lambda: _status(f"{base}/healthz") is not None, timeout=20)
        events = [{"address": a, "class": "hard", "event_id": a, "reason": "userunknown"} for a in ("a@example.org", "b@example.org")]
        assert kit.post(f"{base}/v1/events", json.dumps(events).encode(), {"Authorization": "Bearer tok"})[0] == 200
        deployment.dovecot.append(USER, samples.dsn("dsn@example.org"))
        wait_for(lambda: len(_outbox(deployment.database_url)) >= 2, timeout=10)
        # the manual actions of `bouncewatch block|unblock` and the console, run here to save the
        # start of two processes (test_webhooks_command_lists_and_retries runs the commands)
        _manual(config, "a@example.org", "customer fixed it", "ops", "unblock")
        _manual(config, "c@example.org", "asked to stop", "alice", "block")
        wait_for(lambda: len(rows := _outbox(deployment.database_url)) == 5 and min(r.attempts for r in rows) >= 1, timeout=30)
        daemon.kill()  # SIGKILL, with every delivery owed and tried at least once
        listing = _cli(config, "webhooks")
        assert listing.returncode == 0 and listing.stdout.strip().endswith("5 pending, 0 failed"), listing.stdout
        assert "Connection refused" in listing.stdout

        receiver = Receiver(hook_port)
        daemon = RunningDaemon(config, tmp_path / "run2.log")
        wait_for(lambda: len(receiver.ids()) == 5 and not _outbox(deployment.database_url), timeout=40)
    finally:
        code = daemon.stop()
        if receiver is not None:
            receiver.close()
    assert code == 0
    assert all(verify(SECRET, body, headers["X-Bouncewatch-Signature"]) for _t, headers, body in receiver.received)
    documents = [json.loads(body) for _t, _h, body in receiver.received]
    assert len(documents) == 6  # five events, the first one twice
    first, again = receiver.received[0][2], [body for _t, _h, body in receiver.received[1:] if json.loads(body)["id"] == documents[0]["id"]]
    assert again == [first]
    seen = {(d["event"], d["address"], d["class"], d["actor"]) for d in documents}
    assert seen == {
        ("blocked", "a@example.org", "hard", None),
        ("blocked", "b@example.org", "hard", None),
        ("blocked", "dsn@example.org", "hard", None),
        ("unblocked", "a@example.org", "hard", "ops"),
        ("blocked", "c@example.org", "manual", "alice"),
    }
    assert set(documents[0]) == {"id", "event", "address", "class", "reason", "status", "at", "actor"}
    delays = [
        received - datetime.fromisoformat(json.loads(body)["at"].replace("Z", "+00:00")).replace(tzinfo=timezone.utc).timestamp()
        for received, _h, body in receiver.received
    ]
    print(f"webhook deliveries after the outage: {len(documents)}, longest delay {max(delays):.1f} s")


def test_webhooks_command_lists_and_retries(tmp_path):
    """`bouncewatch block` owes a webhook event; `bouncewatch webhooks` lists it while the receiver
    is down; `bouncewatch webhooks retry` sends it once the receiver is up (the daemon is not needed)."""
    port = _free_port()
    (tmp_path / "webhook.secret").write_bytes(SECRET)
    config = tmp_path / "bouncewatch.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/state.db"\n[blocklist]\npath = "{tmp_path}/blocklist.txt"\n'
        f'[[webhooks]]\nurl = "http://127.0.0.1:{port}/hook"\nevents = ["blocked"]\nsecret_file = "webhook.secret"\n'
    )
    assert _cli(config, "block", "x@example.org", "--reason", "asked", "--actor", "bob").returncode == 0
    assert _cli(config, "unblock", "x@example.org", "--reason", "oops").returncode == 0  # not subscribed
    listing = _cli(config, "webhooks", "--json")
    (row,) = [json.loads(line) for line in listing.stdout.splitlines()]
    assert (row["event"], row["address"], row["state"], row["attempts"]) == ("blocked", "x@example.org", "pending", 0)
    receiver = Receiver(port)
    receiver.refused_first = True
    try:
        retried = _cli(config, "webhooks", "retry")
    finally:
        receiver.close()
    assert retried.returncode == 0 and "1 deliveries retried: 1 delivered, 0 still pending" in retried.stdout
    (received,) = receiver.received
    assert json.loads(received[2])["id"] == row["id"] and verify(SECRET, received[2], received[1]["X-Bouncewatch-Signature"])
    assert _cli(config, "webhooks").stdout.strip() == "no webhook deliveries pending or failed"


def test_poll_sends_what_is_due_before_it_exits(dovecot, tmp_path):
    """`bouncewatch poll` (no daemon) blocks an address from a DSN and delivers the `blocked`
    event before it exits; with the receiver down it leaves it pending and says so."""
    port = _free_port()
    (tmp_path / "webhook.secret").write_bytes(SECRET)
    extra = f'[[webhooks]]\nurl = "http://127.0.0.1:{port}/hook"\nsecret_file = "webhook.secret"\ntimeout_seconds = 2\n'
    config = write_config(tmp_path / "bouncewatch.toml", dovecot, f"sqlite:///{tmp_path}/state.db", extra=extra)
    dovecot.append(USER, samples.dsn("first@example.org"))
    down = _cli(config, "poll")
    assert down.returncode == 0 and "webhooks: 0 delivered, 1 pending" in down.stdout, down.stdout
    receiver = Receiver(port)
    receiver.refused_first = True
    try:
        dovecot.append(USER, samples.dsn("second@example.org"))
        up = _cli(config, "poll")
    finally:
        receiver.close()
    # the first event goes too if its backoff (2 s) has run out by now, else it stays pending
    assert re.search(r"webhooks: (1 delivered, 1 pending|2 delivered, 0 pending)", up.stdout), up.stdout
    addresses = [json.loads(body)["address"] for _t, _h, body in receiver.received]
    assert "second@example.org" in addresses and len(addresses) == int(re.search(r"(\d) delivered", up.stdout).group(1))


def test_sender_alert_is_owed_with_its_domain(tmp_path):
    """Sender-side rejections from one domain past the threshold owe one `sender_alert` event,
    naming the domain, to the receivers that asked for it (and not to the others)."""
    from bouncewatch.config import load
    from bouncewatch.providers.generic import reports
    from bouncewatch.service.ingest import ingest

    (tmp_path / "webhook.secret").write_bytes(SECRET)
    config = tmp_path / "bouncewatch.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/state.db"\n[blocklist]\npath = "{tmp_path}/blocklist.txt"\n'
        "[policy]\nsender_alert_threshold = 2\n"
        '[[webhooks]]\nurl = "http://127.0.0.1:9/alerts"\nevents = ["sender_alert"]\nsecret_file = "webhook.secret"\n'
        '[[webhooks]]\nurl = "http://127.0.0.1:9/blocks"\nevents = ["blocked"]\nsecret_file = "webhook.secret"\n'
    )
    settings = load(config)
    events = [
        {"address": f"user{i}@gmail.example", "class": "soft", "event_id": f"e{i}", "status": "5.7.1",
         "reason": "550 5.7.1 Our system has detected that this message is likely unsolicited mail (spam)"}
        for i in range(3)
    ]
    store.open_database(settings.database_url)
    try:
        result = ingest(settings, reports(json.dumps(events).encode()))
        rows = list(store.WebhookDelivery.select())
    finally:
        store.close_database()
    assert result.newly_blocked == [] and len(result.alerts) == 1
    (row,) = rows
    document = json.loads(row.body)
    assert (row.url, document["event"], document["domain"], document["address"]) == (
        "http://127.0.0.1:9/alerts", "sender_alert", "gmail.example", None
    )
    assert document["reason"].startswith("gmail.example rejected 3 messages for sender-side reasons (spamdetected 3)")
