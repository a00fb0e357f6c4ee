"""Events from sending services against the real daemon (`bouncewatch run`), on both databases.

The samples are built from each service's documented format and signed as the service signs
(tests/providerkit.py). One thing cannot run here and is replaced: AWS's SNS certificate host.
The SES provider's `certificate_hosts` and `ca_file` settings point the daemon at a local HTTPS
server (CertificateHost) that serves a locally made signing certificate and takes the
SubscribeURL confirmation; everything else (fetching over verified TLS, caching, the
signature check) runs as it would against AWS.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bouncewatch import store

from . import providerkit as kit
from .daemonkit import RunningDaemon, database_snapshot, wait_for, write_config
from .test_http import _free_port, _get, _status

MAILGUN_KEY = b"key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
TOKEN = "api-token-for-tests"


@dataclass
class Endpoint:
    base: str
    database_url: str
    sendgrid: kit.SendGridSigner
    sns: kit.CertificateHost
    daemon: RunningDaemon

    def state(self, address: str):
        store.open_database(self.database_url)
        try:
            return store.get_state(address)
        finally:
            store.close_database()

    def blocked(self, address: str) -> bool:
        state = self.state(address)
        return bool(state and state.blocked)

    def snapshot(self) -> dict:
        return database_snapshot(self.database_url)

    def mailgun(self, body: bytes) -> tuple[int, dict]:
        return kit.post(f"{self.base}/hooks/mailgun", body)

    def sendgrid_post(self, events: list[dict], tamper: bool = False) -> tuple[int, dict]:
        body = json.dumps(events).encode() + b"\r\n"
        headers = self.sendgrid.headers(body)
        if tamper:
            body = body.replace(b"bounce", b"delivered")
        return kit.post(f"{self.base}/hooks/sendgrid", body, headers)

    def postmark(self, body: bytes, password: str = "pm-password") -> tuple[int, dict]:
        return kit.post(f"{self.base}/hooks/postmark", body, kit.basic("postmark", password))

    def ses(self, message: dict) -> tuple[int, dict]:
        return kit.post(f"{self.base}/hooks/ses", json.dumps(message).encode(), {"x-amz-sns-message-type": message["Type"]})

    def events(self, items: list[dict], token: str | None = TOKEN) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return kit.post(f"{self.base}/v1/events", json.dumps(items).encode(), headers)

    def counted(self, name: str, label: str) -> dict[tuple[str, str], float]:
        """A provider counter of /metrics: (provider, label value) → count."""
        body = _get(f"{self.base}/metrics")[2].decode()
        found = {}
        for family in text_string_to_metric_families(body):
            for sample in family.samples:
                if sample.name == name and sample.value:
                    found[(sample.labels.get("provider", ""), sample.labels[label])] = sample.value
        return found

    def refused(self) -> dict[tuple[str, str], float]:
        return self.counted("bouncewatch_provider_requests_refused_total", "cause")

    def print_counts(self) -> None:
        accepted = self.counted("bouncewatch_provider_events_total", "outcome")
        print(f"\nevents accepted: {sorted(accepted.items())}\nrequests refused: {sorted(self.refused().items())}")


@pytest.fixture
def endpoint(deployment, tmp_path):
    """A daemon with every provider configured, over a throwaway Dovecot and the deployment's database."""
    signer = kit.SendGridSigner()
    sns = kit.CertificateHost(tmp_path)
    (tmp_path / "mailgun.key").write_bytes(MAILGUN_KEY + b"\n")
    (tmp_path / "sendgrid.pub").write_text(signer.public_key_text + "\n")
    (tmp_path / "postmark.password").write_text("pm-password\n")
    (tmp_path / "http.token").write_text(TOKEN + "\n")
    port = _free_port()
    extra = f"""
[http]
enabled = true
listen = "127.0.0.1:{port}"
token_file = "http.token"
console = true
events_max_body_bytes = 65536
[[providers]]
kind = "mailgun"
signing_key_file = "mailgun.key"
[[providers]]
kind = "sendgrid"
public_key_file = "sendgrid.pub"
[[providers]]
kind = "postmark"
username = "postmark"
password_file = "postmark.password"
[[providers]]
kind = "ses"
topic_arns = ["{kit.TOPIC}"]
certificate_hosts = ["{sns.host}"]
ca_file = "{sns.ca_file}"
"""
    config = write_config(tmp_path / "bouncewatch.toml", deployment.dovecot, deployment.database_url, interval=5, extra=extra)
    daemon = RunningDaemon(config, tmp_path / "run.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _status(f"{base}/healthz") is not None, timeout=20)
        yield Endpoint(base, deployment.database_url, signer, sns, daemon)
    finally:
        code = daemon.stop()
        sns.close()
    assert code == 0


def test_signed_events_block_and_reset_as_bounces_do(endpoint):
    """Signed samples of each service and of POST /v1/events block hard-bounced and complaining
    addresses, count soft ones, and a delivery resets the soft count; a repeat counts once."""
    e = endpoint
    # Mailgun: a permanent failure blocks; the same event id again is a duplicate
    hard = kit.mailgun_event(MAILGUN_KEY, "failed", "mg-hard@example.org", message="5.1.1 The email account does not exist", event_id="mg-1")
    assert e.mailgun(hard) == (200, {"recorded": 1, "duplicates": 0, "newly_blocked": 1})
    again = kit.mailgun_event(MAILGUN_KEY, "failed", "mg-hard@example.org", event_id="mg-1")  # fresh token, same event
    assert e.mailgun(again)[1]["duplicates"] == 1
    assert e.state("mg-hard@example.org").bounces == 1 and e.blocked("mg-hard@example.org")
    # Mailgun: retries of one message count as one soft bounce; a delivery resets the count
    message_id = "20260131.retry@mg.example.com"
    for _ in range(3):
        retry = kit.mailgun_event(MAILGUN_KEY, "failed", "mg-soft@example.org", severity="temporary", code=452, message="4.2.2 Mailbox full", message_id=message_id)
        assert e.mailgun(retry)[0] == 200
    other = kit.mailgun_event(MAILGUN_KEY, "failed", "mg-soft@example.org", severity="temporary", code=452, message="4.2.2 Mailbox full")
    assert e.mailgun(other)[0] == 200
    state = e.state("mg-soft@example.org")
    assert (state.soft_count, state.last_reason, state.blocked) == (2, "mailboxfull", False)
    assert e.mailgun(kit.mailgun_event(MAILGUN_KEY, "delivered", "mg-soft@example.org"))[0] == 200
    assert e.state("mg-soft@example.org").soft_count == 0
    assert e.mailgun(kit.mailgun_event(MAILGUN_KEY, "complained", "mg-angry@example.org"))[0] == 200
    assert e.state("mg-angry@example.org").blocked_reason == "complaint: abuse"

    # SendGrid: a batch with a bounce, a spam report, three deferrals of one message, a block
    deferred_id = "<retry-1@ismtpd0001p1lon1.sendgrid.net>"
    batch = [
        kit.sendgrid_event("bounce", "sg-hard@example.org"),
        kit.sendgrid_event("spamreport", "sg-angry@example.org"),
        *[kit.sendgrid_event("deferred", "sg-soft@example.org", **{"smtp-id": deferred_id}) for _ in range(3)],
        kit.sendgrid_event("bounce", "sg-blocked@example.org", type="blocked", status="5.7.1", reason="550 5.7.1 Service unavailable; client host blocked using Spamhaus"),
        kit.sendgrid_event("dropped", "sg-dropped@example.org", reason="Bounced Address"),
        kit.sendgrid_event("open", "sg-hard@example.org"),
    ]
    assert e.sendgrid_post(batch) == (200, {"recorded": 7, "duplicates": 0, "newly_blocked": 2})
    assert e.sendgrid_post(batch[:2])[1] == {"recorded": 0, "duplicates": 2, "newly_blocked": 0}
    assert e.blocked("sg-hard@example.org") and e.blocked("sg-angry@example.org")
    assert e.state("sg-soft@example.org").soft_count == 1
    blocked_ip = e.state("sg-blocked@example.org")
    assert (blocked_ip.blocked, blocked_ip.soft_count, blocked_ip.last_reason) == (False, 0, "blocked")  # sender-side
    dropped = e.state("sg-dropped@example.org")  # suppressed by SendGrid: recorded, counts nothing
    assert (dropped.blocked, dropped.bounces) == (False, 0)

    # Postmark: a hard bounce blocks, a soft bounce counts, a delivery resets
    assert e.postmark(kit.postmark_bounce("pm-hard@example.org"))[1]["newly_blocked"] == 1
    soft = kit.postmark_bounce("pm-soft@example.org", "SoftBounce", details="smtp;452 4.2.2 mailbox full")
    assert e.postmark(soft)[0] == 200 and e.state("pm-soft@example.org").soft_count == 1
    assert e.postmark(kit.postmark_delivery("pm-soft@example.org"))[0] == 200
    assert e.state("pm-soft@example.org").soft_count == 0
    assert e.postmark(kit.postmark_bounce("pm-angry@example.org", "SpamComplaint"))[0] == 200
    assert e.blocked("pm-angry@example.org")

    # SES through SNS: the subscription is confirmed after its signature checks; a Permanent
    # bounce (SignatureVersion 1) blocks both its recipients; a complaint (version 2) blocks;
    # a Transient bounce counts; a delivery resets; the certificate is fetched once
    status, answer = e.ses(e.sns.sign(kit.sns_subscription(e.sns)))
    assert (status, answer) == (200, {"confirmed": kit.TOPIC})
    assert len(e.sns.confirmed) == 1 and "Action=ConfirmSubscription" in e.sns.confirmed[0]
    bounce = e.sns.sign(kit.sns_notification(kit.ses_bounce(["ses-hard@example.org", "ses-hard2@example.org"])), "1")
    assert e.ses(bounce) == (200, {"recorded": 1, "duplicates": 0, "newly_blocked": 2})
    assert e.ses(bounce)[1]["duplicates"] == 1  # SNS delivers a message again: counted once
    assert e.ses(e.sns.sign(kit.sns_notification(kit.ses_complaint(["ses-angry@example.org"])), "2"))[0] == 200
    assert e.state("ses-angry@example.org").blocked_reason == "complaint: abuse"
    transient = kit.ses_bounce(["ses-soft@example.org"], "Transient", "MailboxFull", "4.2.2", "smtp; 452 4.2.2 mailbox full")
    assert e.ses(e.sns.sign(kit.sns_notification(transient), "2"))[0] == 200
    assert (e.state("ses-soft@example.org").soft_count, e.state("ses-soft@example.org").last_reason) == (1, "mailboxfull")
    assert e.ses(e.sns.sign(kit.sns_notification(kit.ses_delivery(["ses-soft@example.org"]))))[0] == 200
    assert e.state("ses-soft@example.org").soft_count == 0
    assert e.sns.certificate_requests == 1

    # POST /v1/events: five soft bounces in a row block, as five soft DSNs would; repeats count once
    soft_events = [{"address": "api-soft@example.org", "class": "soft", "event_id": f"crm-{i}", "source": "crm", "reason": "mailboxfull"} for i in range(5)]
    assert e.events(soft_events[:4] + soft_events[:1]) == (200, {"recorded": 4, "duplicates": 1, "newly_blocked": 0})
    assert e.state("api-soft@example.org").soft_count == 4
    assert e.events(soft_events) == (200, {"recorded": 1, "duplicates": 4, "newly_blocked": 1})
    assert e.blocked("api-soft@example.org")
    delivered = [{"address": "pm-hard@example.org", "class": "delivered", "event_id": "crm-d1", "at": "2026-01-31T12:00:00Z"}]
    assert e.events(delivered)[0] == 200 and e.blocked("pm-hard@example.org")  # a delivery never unblocks

    # where each event came from: the CLI's history names the provider
    lines = _cli_history(e, "mg-hard@example.org")
    assert "provider mailgun (event mg-1)" in lines
    page = _get(f"{e.base}/address?a=mg-hard@example.org")[2].decode()
    assert "provider mailgun (event mg-1)" in page and "Show the bounce" not in page
    e.print_counts()


def _cli_history(e: Endpoint, address: str) -> str:
    import subprocess
    import sys

    from .daemonkit import environment

    config = Path(e.daemon.log_path).parent / "bouncewatch.toml"
    result = subprocess.run(
        [sys.executable, "-m", "bouncewatch", "history", address, "-c", str(config)],
        capture_output=True, text=True, env=environment(), timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_forged_replayed_and_garbled_events_change_nothing(endpoint):
    """Bad signatures, replays, unknown topics, wrong credentials and garbled bodies get a 4xx,
    are counted in /metrics by provider and cause, and leave the database as it was."""
    e = endpoint
    accepted = kit.mailgun_event(MAILGUN_KEY, "failed", "victim0@example.org")
    assert e.mailgun(accepted)[0] == 200
    before = e.snapshot()
    forged_key = kit.mailgun_event(b"not-the-key", "failed", "victim@example.org")
    old = kit.mailgun_event(MAILGUN_KEY, "failed", "victim@example.org", timestamp=time.time() - 16 * 60)
    wrong_topic = e.sns.sign(kit.sns_notification(kit.ses_bounce(["victim@example.org"]), topic="arn:aws:sns:eu-west-1:999999999999:other"))
    tampered_ses = e.sns.sign(kit.sns_notification(kit.ses_bounce(["someone@example.org"])))
    tampered_ses["Message"] = tampered_ses["Message"].replace("someone@", "victim@")
    foreign_cert = {**e.sns.sign(kit.sns_notification(kit.ses_bounce(["victim@example.org"]))), "SigningCertURL": "https://sns.evil.example.com/cert.pem"}
    attempts = [
        (e.mailgun(forged_key), 403),
        (e.mailgun(accepted), 406),  # the same request again: its token was used
        (e.mailgun(old), 406),
        (e.mailgun(b'{"signature": {"timestamp": "1", '), 400),
        (e.sendgrid_post([kit.sendgrid_event("bounce", "victim@example.org")], tamper=True), 403),
        (kit.post(f"{e.base}/hooks/sendgrid", json.dumps([kit.sendgrid_event("bounce", "victim@example.org")]).encode()), 403),
        (e.postmark(kit.postmark_bounce("victim@example.org"), password="guess"), 401),
        (e.ses(wrong_topic), 403),
        (e.ses(tampered_ses), 403),
        (e.ses(foreign_cert), 403),
        (e.ses({"Type": "Notification"}), 400),
        (e.events([{"address": "victim@example.org", "class": "hard", "event_id": "x"}], token="wrong"), 401),
        (e.events([{"address": "victim@example.org", "class": "hard", "event_id": "x"}, {"address": "nope", "class": "hard", "event_id": "y"}]), 400),
        (e.events([{"address": "victim@example.org", "class": "bounced", "event_id": "x"}]), 400),
        (e.events([{"address": f"victim{i}@example.org", "class": "hard", "event_id": f"big-{i}"} for i in range(1500)]), 413),
    ]
    assert [(status, expected) for (status, _answer), expected in attempts] == [(expected, expected) for _r, expected in attempts]
    assert attempts[12][0][1]["error"] == "events[1].address: 'nope' is not an email address"
    assert e.snapshot() == before
    refused = e.refused()
    assert refused[("mailgun", "bad_signature")] == 1 and refused[("mailgun", "replay")] == 2
    assert refused[("mailgun", "malformed")] == 1 and refused[("sendgrid", "bad_signature")] == 2
    assert refused[("postmark", "unauthorized")] == 1 and refused[("ses", "unknown_topic")] == 1
    assert refused[("ses", "bad_signature")] == 2 and refused[("ses", "malformed")] == 1
    assert refused[("api", "unauthorized")] == 1 and refused[("api", "malformed")] == 2
    # Too large: refused by the gate (413) before it is read, counted before any route.
    assert e.counted("bouncewatch_http_refused_total", "reason").get(("", "body_size")) == 1
    overview = _get(f"{e.base}/")[2].decode()
    assert '<strong id="blocked-count">1</strong> address blocked' in overview
    e.print_counts()
    logged = [ev for ev in e.daemon.events() if ev.get("event") == "provider_request_refused"]
    assert len(logged) == len(attempts) - 1
    assert MAILGUN_KEY.decode() not in e.daemon.log_path.read_text()
