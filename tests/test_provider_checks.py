"""The providers' checks and readings as pure functions: signatures, certificate hosts, classes."""

from __future__ import annotations

import json
import re
import time

import pytest

from bouncewatch.providers import generic, mailgun, sendgrid, ses, sns
from bouncewatch.providers.events import ProviderReport, RecipientReport, Refused, verdicts
from bouncewatch.records import BounceClass
from bouncewatch.rules.classify import ClassPolicy

from . import providerkit as kit

# SendGrid's published test vector for its signed Event Webhook (sendgrid-python's unit tests):
# a real signature made by SendGrid's own code, so our check agrees with theirs byte for byte.
SENDGRID_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SENDGRID_SIGNATURE = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
SENDGRID_TIMESTAMP = "1600112502"
SENDGRID_PAYLOAD = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    + "\r\n"
).encode()


def test_sendgrid_published_vector_verifies_and_a_change_does_not():
    """SendGrid's own signed sample verifies; another body, timestamp or key is refused."""
    key = sendgrid.load_public_key(SENDGRID_PUBLIC_KEY.encode())
    sendgrid.verify(key, SENDGRID_PAYLOAD, SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP)
    (report,) = sendgrid.reports(SENDGRID_PAYLOAD)
    assert (report.outcome, report.event_id, report.message_id) == (
        "suppressed", "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA", "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>"
    )
    for body, stamp, public in (
        (SENDGRID_PAYLOAD.replace(b"dropped", b"bounce!"), SENDGRID_TIMESTAMP, key),
        (SENDGRID_PAYLOAD, "1600112503", key),
        (SENDGRID_PAYLOAD, SENDGRID_TIMESTAMP, sendgrid.load_public_key(kit.SendGridSigner().public_key_text.encode())),
    ):
        with pytest.raises(Refused) as caught:
            sendgrid.verify(public, body, SENDGRID_SIGNATURE, stamp)
        assert caught.value.cause == "bad_signature"
    with pytest.raises(ValueError, match="not a public key"):
        sendgrid.load_public_key(b"not base64 at all!")


def test_mailgun_signature_and_age():
    """Mailgun's HMAC of timestamp + token verifies with the key only, and only within 15 minutes."""
    key = b"key-secret"
    document = mailgun.parse(kit.mailgun_event(key, "failed", "a@example.org", token="t" * 50))
    assert mailgun.verify(document, key) == "t" * 50
    with pytest.raises(Refused, match="does not match") as caught:
        mailgun.verify(document, b"key-other")
    assert caught.value.status == 403
    stale = mailgun.parse(kit.mailgun_event(key, "failed", "a@example.org", timestamp=time.time() - 15 * 60 - 5))
    with pytest.raises(Refused) as caught:
        mailgun.verify(stale, key)
    assert (caught.value.cause, caught.value.status) == ("replay", 406)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", True),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem", True),
        ("http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", False),
        ("https://sns.eu-west-1.amazonaws.com.evil.example/x.pem", False),
        ("https://evil.example/sns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://sns.eu-west-1.amazonaws.com:8443/x.pem", False),
        ("https://user@sns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://127.0.0.1:8443/x.pem", False),
    ],
)
def test_sns_certificates_come_from_aws_hosts_only(url, allowed):
    """A signing certificate URL must be https on sns.<region>.amazonaws.com, no port, no user."""
    assert sns.allowed_url(url, ()) is allowed


def test_sns_string_to_sign_and_both_versions(tmp_path):
    """SNS's canonical string leaves out an absent Subject; SignatureVersion 1 and 2 verify."""
    host = kit.CertificateHost(tmp_path)
    try:
        fetcher = sns.Fetcher([host.host], host.ca_file)
        for version in ("1", "2"):
            message = host.sign(kit.sns_notification(kit.ses_bounce(["a@example.org"])), version)
            sns.verify(message, fetcher)
            with pytest.raises(Refused):
                sns.verify({**message, "SignatureVersion": "2" if version == "1" else "1"}, fetcher)
        assert fetcher.fetches == 1  # cached by URL
        canonical = sns.string_to_sign({"Type": "Notification", "Message": "m", "MessageId": "i", "Timestamp": "t", "TopicArn": "a"})
        assert canonical == b"Message\nm\nMessageId\ni\nTimestamp\nt\nTopicArn\na\nType\nNotification\n"
        with pytest.raises(Refused, match="not an https URL on an SNS host"):
            sns.verify(message, sns.Fetcher([], host.ca_file))
    finally:
        host.close()


def _classes(outcome: str, status: str = "", diagnostic: str = "", hint: str = "", policy: ClassPolicy = ClassPolicy()) -> BounceClass:
    report = ProviderReport("x", "1", "k", outcome, (RecipientReport("a@example.org", status, "", diagnostic, hint),))  # type: ignore[arg-type]
    return verdicts(report, policy)[0].bounce_class


def test_service_words_give_the_classes_a_bounce_gets():
    """Permanent is hard and temporary soft, except as for a bounce from the mailbox: sender-side
    rejections, 4.x.x codes and expired deliveries (the service gave up) are soft, suppressions count nothing."""
    assert _classes("permanent", "5.1.1", "550 5.1.1 user unknown") is BounceClass.HARD
    assert _classes("permanent", "5.7.1", "550 5.7.1 blocked using Spamhaus; client host rejected") is BounceClass.SOFT
    assert _classes("permanent", "4.2.2", "452 4.2.2 mailbox full") is BounceClass.SOFT
    assert _classes("temporary", "", "", "mailboxfull") is BounceClass.SOFT
    assert _classes("temporary", "", "", "expired") is BounceClass.SOFT
    assert _classes("suppressed", "5.1.1") is BounceClass.IGNORE
    assert _classes("complaint") is BounceClass.COMPLAINT
    assert _classes("delivered") is BounceClass.IGNORE
    assert _classes("permanent", "5.1.1", "", "", ClassPolicy(overrides={"userunknown": BounceClass.SOFT})) is BounceClass.SOFT


def test_ses_subtypes_and_several_recipients():
    """An SES bounce names each recipient; NoEmail reads as an unknown user, Suppressed counts nothing."""
    message = kit.sns_notification(kit.ses_bounce(["a@example.org", "b@example.org"], subtype="NoEmail", status="", diagnostic=""))
    (report,) = ses.reports(message)
    assert [r.address for r in report.recipients] == ["a@example.org", "b@example.org"]
    assert [v.record.reason for v in verdicts(report, ClassPolicy())] == ["userunknown", "userunknown"]
    suppressed = ses.reports(kit.sns_notification(kit.ses_bounce(["a@example.org"], subtype="OnAccountSuppressionList")))
    assert suppressed[0].outcome == "suppressed"
    assert ses.reports(kit.sns_notification({"eventType": "Open", "mail": {}})) == []


def test_generic_events_are_checked_whole():
    """POST /v1/events: one bad event refuses the batch, naming it and its key."""
    good = {"address": "A@Example.org", "class": "hard", "event_id": "1"}
    (report,) = generic.reports(json.dumps([good]).encode())
    assert (report.provider, report.recipients[0].address) == ("api", "a@example.org")
    for bad, message in (
        ({**good, "event_id": ""}, "events[1].event_id: missing"),
        ({**good, "source": "a b"}, "events[1].source:"),
        ({**good, "at": "yesterday"}, "events[1].at: not an ISO 8601 time"),
    ):
        with pytest.raises(Refused, match=re.escape(message)):
            generic.reports(json.dumps([good, bad]).encode())
    with pytest.raises(Refused, match="JSON list"):
        generic.reports(b'{"address": "a@example.org"}')
