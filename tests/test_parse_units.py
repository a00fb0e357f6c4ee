"""Focused tests of the parser's modules: status codes, reason table, DSN, ARF, auto-replies."""

from __future__ import annotations

import re

from bouncewatch.parse import parse_message, parse_message_with_verp
from bouncewatch.parse.reasons import Evidence, match_text, reason_for
from bouncewatch.parse.status import find_reply_code, find_status, pseudo_status


def _dsn(per_recipient: str, human: str = "Your message could not be delivered.") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.org\r\nTo: sender@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        f"--B\r\nContent-Type: text/plain\r\n\r\n{human}\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        f"{per_recipient}\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "From: sender@example.com\r\nTo: a@example.net\r\nMessage-ID: <orig-1@example.com>\r\n\r\n"
        "--B--\r\n"
    ).encode()


def test_status_spellings() -> None:
    """Status codes are found in '550 5.1.1', '550-5.1.1', '#5.1.1', '(#5.2.2)' and bare form."""
    assert find_status("550 5.1.1 <a@b> user unknown") == "5.1.1"
    assert find_status("550-5.7.1 blocked") == "5.7.1"
    assert find_status("user over quota (#5.2.2)") == "5.2.2"
    assert find_status("#5.1.1 bad address") == "5.1.1"
    assert find_status("Status: 4.4.7") == "4.4.7"


def test_status_ignores_ip_addresses() -> None:
    """Dotted numbers inside IP addresses or versions are not status codes."""
    assert find_status("connect to 192.0.5.1.1 failed") == ""
    assert find_reply_code("host 192.0.2.250 said: 550 no") == "550"


def test_pseudo_status_from_reason() -> None:
    """A message without a status code gets the conventional pseudo code for its reason."""
    assert pseudo_status("userunknown", temporary=False) == "5.0.911"
    assert pseudo_status("mailboxfull", temporary=True) == "4.0.922"


def test_reason_table_status_and_text() -> None:
    """The one reason table maps status codes and diagnostic wording to reasons."""
    assert reason_for(Evidence(status="5.1.1", diagnostic="550 5.1.1 user unknown")) == "userunknown"
    assert reason_for(Evidence(status="5.0.0", diagnostic="mailbox is full")) == "mailboxfull"
    assert reason_for(Evidence(status="5.7.26", diagnostic="dmarc")) == "authfailure"
    assert reason_for(Evidence(status="2.0.0")) == "delivered"
    # a diagnostic of punctuation alone (a bullet left when the address was taken out) is none
    assert reason_for(Evidence(status="", diagnostic="*")) == "undefined"
    assert reason_for(Evidence(status="", diagnostic="* delivery went wrong somehow")) == "onhold"
    assert match_text("User over quota") == "mailboxfull"


def test_dsn_folded_diagnostic_and_codes() -> None:
    """A folded Diagnostic-Code is unfolded and its reply code and status are read."""
    raw = _dsn(
        "Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <a@example.net>:\r\n    Recipient address rejected:\r\n"
        "    User unknown in local recipient table"
    )
    parsed = parse_message(raw)
    assert parsed.kind == "dsn"
    (rec,) = parsed.records
    assert rec.address == "a@example.net"
    assert (rec.status, rec.reply_code, rec.reason, rec.action) == ("5.1.1", "550", "userunknown", "failed")
    assert "User unknown in local recipient table" in rec.diagnostic
    assert parsed.original_message_id == "<orig-1@example.com>"


def test_dsn_multiple_recipients_and_delay() -> None:
    """Each recipient group becomes one record; a delayed one keeps Action delayed."""
    raw = _dsn(
        "Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\r\n\r\n"
        "Original-Recipient: rfc822; b@example.net\r\nFinal-Recipient: rfc822; b@example.net\r\n"
        "Action: delayed\r\nStatus: 4.4.1\r\nDiagnostic-Code: smtp; connection timed out"
    )
    recs = {r.address: r for r in parse_message(raw).records}
    assert recs["a@example.net"].reason == "mailboxfull"
    assert recs["b@example.net"].action == "delayed"


def test_dsn_utf8_xtext_address() -> None:
    """utf-8 typed and xtext-encoded recipient addresses are decoded."""
    raw = _dsn("Final-Recipient: rfc822; x+2Bfoo@example.net\r\nAction: failed\r\nStatus: 5.1.1")
    assert parse_message(raw).records[0].address == "x+foo@example.net"


def test_dsn_as_text_plain() -> None:
    """Delivery-status fields sent as text/plain are still read as a DSN."""
    raw = (
        b"From: postmaster@example.org\r\nSubject: failure notice\r\nContent-Type: text/plain\r\n\r\n"
        b"Final-Recipient: rfc822; c@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.kind == "dsn" and parsed.records[0].address == "c@example.net"


def test_dsn_nested_in_rfc822() -> None:
    """A bounce forwarded inside message/rfc822 is still found."""
    inner = _dsn("Final-Recipient: rfc822; d@example.net\r\nAction: failed\r\nStatus: 5.1.1").decode()
    raw = (
        "From: someone@example.com\r\nSubject: Fwd: bounce\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="OUT"\r\n\r\n--OUT\r\nContent-Type: text/plain\r\n\r\nsee below\r\n'
        f"--OUT\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--OUT--\r\n"
    ).encode()
    assert [r.address for r in parse_message(raw).records] == ["d@example.net"]


def test_x_failed_recipients() -> None:
    """Exim's X-Failed-Recipients names the recipients; the body gives the error."""
    raw = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\nTo: sender@example.com\r\n"
        b"Subject: Mail delivery failed: returning message to sender\r\nX-Failed-Recipients: e@example.net\r\n\r\n"
        b"This message was created automatically by mail delivery software.\r\n\r\n"
        b"  e@example.net\r\n    SMTP error from remote mail server after RCPT TO:<e@example.net>:\r\n"
        b"    host mx.example.net [192.0.2.1]: 550 5.1.1 User unknown\r\n\r\n"
        b"------ This is a copy of the message, including all the headers. ------\r\n"
    )
    (rec,) = parse_message(raw).records
    assert (rec.address, rec.status, rec.reason) == ("e@example.net", "5.1.1", "userunknown")


def test_arf_complaint() -> None:
    """An RFC 5965 report gives reason feedback, its feedback type and the original recipient."""
    raw = (
        b"From: feedback@isp.example\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\r\n\r\n'
        b"--F\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report\r\n"
        b"--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: x/1\r\n"
        b"Version: 1\r\nOriginal-Rcpt-To: <f@example.net>\r\n"
        b"--F\r\nContent-Type: message/rfc822\r\n\r\nFrom: s@example.com\r\nTo: f@example.net\r\n\r\nhi\r\n--F--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.kind == "arf"
    (rec,) = parsed.records
    assert (rec.address, rec.reason, rec.feedback_type) == ("f@example.net", "feedback", "abuse")


def test_autoreply() -> None:
    """An RFC 3834 auto-reply gives its sender with reason vacation."""
    raw = (
        b"From: Neko <g@example.net>\r\nTo: s@example.com\r\nSubject: Out of office\r\n"
        b"Auto-Submitted: auto-replied\r\n\r\nI am out of the office until Monday.\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.kind == "autoreply"
    assert [(r.address, r.reason) for r in parsed.records] == [("g@example.net", "vacation")]


def test_non_bounce() -> None:
    """An ordinary email yields no records."""
    raw = b"From: a@example.com\r\nTo: b@example.net\r\nSubject: lunch?\r\n\r\nNoon at the usual place.\r\n"
    assert parse_message(raw).records == ()


def test_verp_supplies_recipient() -> None:
    """A bounce addressed to a VERP return path names the decoded recipient."""
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\r\nTo: bounces+h=example.net@sender.example\r\n"
        b"Subject: Undelivered Mail\r\n\r\nDelivery failed permanently.\r\n"
    )
    parsed = parse_message_with_verp(raw, re.compile(r"bounces\+(?P<local>[^=]+)=(?P<domain>[^@]+)@"))
    assert [r.address for r in parsed.records] == ["h@example.net"]


def test_truncates_huge_message() -> None:
    """Messages above the size cap are cut, noted, and still parsed."""
    raw = b"From: a@example.com\r\nSubject: big\r\n\r\n" + b"x" * (11 * 1024 * 1024)
    parsed = parse_message(raw)
    assert any(n.startswith("truncated at") for n in parsed.notes)


def test_an_undefined_dsn_status_takes_the_code_the_text_gives_for_its_one_recipient() -> None:
    """Sendmail's "Status: 5.0.0" with "Diagnostic-Code: X-Unix; 255" and the transcript's
    "554 5.3.0 unknown mailer error 255": the specific code of the same class is the status.
    A code of the other class in the text does not replace it."""

    def report(transcript: str) -> bytes:
        return (
            "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.jp>\r\nTo: news@shop.example\r\n"
            "Subject: Returned mail: see transcript for details\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
            "--B\r\n\r\n   ----- The following addresses had permanent fatal errors -----\r\n"
            '"|/home/kijitora/mail/catch.pl"\r\n    (reason: 255)\r\n    (expanded from: <kijitora@example.jp>)\r\n\r\n'
            f"   ----- Transcript of session follows -----\r\n{transcript}\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.jp\r\n\r\n"
            "Final-Recipient: RFC822; kijitora@example.jp\r\nAction: failed\r\nStatus: 5.0.0\r\n"
            "Diagnostic-Code: X-Unix; 255\r\n--B--\r\n"
        ).encode()

    [record] = parse_message(report("554 5.3.0 unknown mailer error 255")).records
    assert (record.address, record.status) == ("kijitora@example.jp", "5.3.0")
    [record] = parse_message(report("421 4.3.0 try again later")).records
    assert record.status == "5.0.0"
