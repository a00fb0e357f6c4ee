"""The sample messages parse with Python's email package and say what they claim."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import datetime, timezone
from email.message import Message

import pytest
from flufl.bounce import scan_message

from bouncewatch.testing import samples

RCPT = "jane.doe@example.org"
ALL: dict[str, Callable[[], bytes]] = {
    "dsn": lambda: samples.dsn(RCPT),
    "soft_dsn": lambda: samples.soft_dsn(RCPT),
    "delay_dsn": lambda: samples.delay_dsn(RCPT),
    "success_dsn": lambda: samples.success_dsn(RCPT),
    "arf_complaint": lambda: samples.arf_complaint(RCPT),
    "autoreply": lambda: samples.autoreply(RCPT),
    "not_a_bounce": samples.not_a_bounce,
}


def parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=email.policy.default)


def status_fields(raw: bytes) -> tuple[Message, Message]:
    """The per-message and per-recipient field groups of a DSN's message/delivery-status part."""
    report = parse(raw)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    text, status, headers = report.get_payload()
    assert text.get_content_type() == "text/plain"
    assert status.get_content_type() == "message/delivery-status"
    assert headers.get_content_type() == "text/rfc822-headers"
    per_message, per_recipient = status.get_payload()
    return per_message, per_recipient


@pytest.mark.parametrize("name", ALL)
def test_parses_without_defects(name: str) -> None:
    """Every sample parses with no defects anywhere, has CRLF line ends and a Message-ID."""
    raw = ALL[name]()
    message = parse(raw)
    assert all(not part.defects for part in message.walk())
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert message["Message-ID"].startswith("<") and message["Date"]


@pytest.mark.parametrize("name", ALL)
def test_message_ids_are_unique(name: str) -> None:
    """Two calls never share a Message-ID (nor a MIME boundary)."""
    first, second = parse(ALL[name]()), parse(ALL[name]())
    assert first["Message-ID"] != second["Message-ID"]
    assert first.get_boundary() is None or first.get_boundary() != second.get_boundary()


def test_hard_dsn_fields() -> None:
    """dsn() reports the recipient as failed with 5.1.1 and the diagnostic naming it."""
    per_message, per_recipient = status_fields(samples.dsn(RCPT))
    assert per_message["Reporting-MTA"] == "dns; mx.example.net"
    assert per_recipient["Final-Recipient"] == f"rfc822; {RCPT}"
    assert per_recipient["Action"] == "failed"
    assert per_recipient["Status"] == "5.1.1"
    assert per_recipient["Diagnostic-Code"] == (
        f"smtp; 550 5.1.1 <{RCPT}>: Recipient address rejected: User unknown"
    )


def test_dsn_carries_original_headers() -> None:
    """The text/rfc822-headers part holds the original's Message-ID, To and Subject."""
    raw = samples.dsn(RCPT, original_message_id="<orig-42@example.com>")
    headers = parse(raw).get_payload()[2]
    original = email.message_from_string(headers.get_content(), policy=email.policy.default)
    assert original["Message-ID"] == "<orig-42@example.com>"
    assert original["To"].addresses[0].addr_spec == RCPT
    assert original["Subject"] == samples.ORIGINAL_SUBJECT


def test_dsn_options() -> None:
    """status, action, diagnostic=None, reporting_mta and date are honoured."""
    when = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
    raw = samples.dsn(
        RCPT, status="5.7.1", diagnostic=None, reporting_mta="relay.example.com", date=when
    )
    per_message, per_recipient = status_fields(raw)
    assert per_recipient["Status"] == "5.7.1"
    assert per_recipient["Diagnostic-Code"] is None
    assert per_message["Reporting-MTA"] == "dns; relay.example.com"
    assert parse(raw)["Date"].datetime == when


@pytest.mark.parametrize(
    ("make", "action", "status", "diagnostic"),
    [
        (samples.soft_dsn, "failed", "5.2.2", "smtp; 552 5.2.2"),
        (samples.delay_dsn, "delayed", "4.4.1", "X-Postfix; connect to mx1."),
        (samples.success_dsn, "delivered", "2.0.0", "smtp; 250 2.0.0"),
    ],
)
def test_variant_dsns(make: Callable[[str], bytes], action: str, status: str, diagnostic: str) -> None:
    """soft, delay and success DSNs carry their Action, Status and a matching diagnostic."""
    _, per_recipient = status_fields(make(RCPT))
    assert (per_recipient["Action"], per_recipient["Status"]) == (action, status)
    assert per_recipient["Diagnostic-Code"].startswith(diagnostic)


def test_dsn_recipient_found_by_flufl_bounce() -> None:
    """flufl.bounce (the daemon's fallback) finds the recipient of a hard DSN."""
    message = email.message_from_bytes(samples.dsn(RCPT))
    assert scan_message(message) == {RCPT.encode()}


def test_arf_complaint() -> None:
    """The ARF report has feedback-type abuse and encloses the original sent To: the recipient."""
    report = parse(samples.arf_complaint(RCPT))
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "feedback-report"
    text, feedback, original = report.get_payload()
    assert feedback.get_content_type() == "message/feedback-report"
    (fields,) = feedback.get_payload()  # Python reads the field block as a header-only message
    assert fields["Feedback-Type"] == "abuse"
    assert fields["Original-Rcpt-To"] == f"<{RCPT}>"
    assert original.get_content_type() == "message/rfc822"
    assert original.get_payload()[0]["To"].addresses[0].addr_spec == RCPT


def test_autoreply() -> None:
    """The auto-reply comes from the recipient, is marked auto-replied and mentions vacation."""
    message = parse(samples.autoreply(RCPT))
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["From"].addresses[0].addr_spec == RCPT
    assert "vacation" in message["Subject"].lower()
    assert message.get_content_type() == "text/plain"


def test_not_a_bounce() -> None:
    """The ordinary email has no report, no Auto-Submitted and no null sender."""
    message = parse(samples.not_a_bounce())
    assert message.get_content_type() == "text/plain"
    assert message["Auto-Submitted"] is None
    assert message["Return-Path"] is None
    assert scan_message(email.message_from_bytes(samples.not_a_bounce())) == set()
