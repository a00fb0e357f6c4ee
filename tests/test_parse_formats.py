"""Tests of the per-family format readers and the remote-host / family reason rules (built from
the formats, inline)."""

from __future__ import annotations

from bouncewatch.parse import parse_message
from bouncewatch.parse.finalize import find_command
from bouncewatch.parse.reasons import Evidence, reason_for, rhost_rules


def _exim(block: str, extra_headers: str = "", subject: str = "Mail delivery failed: returning message to sender") -> bytes:
    return (
        "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\n"
        "To: sender@example.com\r\n"
        f"Subject: {subject}\r\nAuto-Submitted: auto-replied\r\n{extra_headers}\r\n"
        "This message was created automatically by mail delivery software.\r\n\r\n"
        f"{block}\r\n"
        "------ This is a copy of the message, including all the headers. ------\r\n\r\n"
        "From: sender@example.com\r\nTo: someone@example.net\r\nSubject: hi\r\n\r\nhi\r\n"
    ).encode()


def test_exim_block_names_the_failed_address() -> None:
    """Exim's address block, not its X-Failed-Recipients header, says who failed and why."""
    raw = _exim(
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        "  user@example.net\r\n"
        "    SMTP error from remote mail server after RCPT TO:<user@example.net>:\r\n"
        "    host mx.example.net [192.0.2.1]: 550 5.1.1 User unknown\r\n",
        extra_headers="X-Failed-Recipients: other@example.net\r\n",
    )
    (rec,) = parse_message(raw).records
    assert (rec.address, rec.status, rec.reason) == ("user@example.net", "5.1.1", "userunknown")


def test_exim_auto_submitted_bounce_is_not_a_vacation() -> None:
    """An Exim bounce marked Auto-Submitted: auto-replied is read as a bounce, not an auto-reply."""
    raw = _exim(
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients. This is a permanent error. The following address(es)\r\nfailed:\r\n\r\n"
        "user@example.net:\r\n"
        "SMTP error from remote server for TEXT command, host: mx.example.net reason: 550 5.2.0 Mail rejected\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.kind == "exim"
    assert [r.address for r in parsed.records] == ["user@example.net"]


def test_exim_text_split_by_a_heading_stays_with_its_address() -> None:
    """'For the following reason:' and the reason after a blank line belong to the address above."""
    raw = _exim(
        "A message that you sent could not be delivered to one or more of\r\n"
        "its recipients. This is a permanent error.\r\n\r\nThe following address failed:\r\n\r\n"
        "user@example.net\r\n\r\nFor the following reason:\r\n\r\nMail size limit exceeded.\r\n"
    )
    (rec,) = parse_message(raw).records
    assert "size limit" in rec.diagnostic.lower()


def test_exim_sender_refused_at_mail_is_on_hold_status() -> None:
    """A refusal after MAIL FROM without a status code gets Exim's pseudo status X.0.901."""
    raw = _exim(
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        "  user@example.net\r\n"
        "    host mx.example.net [192.0.2.1]\r\n"
        "    SMTP error from remote mail server after MAIL FROM:<sender@example.com> SIZE=100:\r\n"
        "    550 Unroutable sender address\r\n"
    )
    (rec,) = parse_message(raw).records
    assert rec.status == "5.0.901"


def test_exim_malformed_address_reports_the_bracketed_one() -> None:
    """In 'x <y>: malformed address: <y> may not follow x' the failed address is y."""
    raw = _exim(
        "A message that you sent contained one or more recipient addresses that were\r\n"
        "incorrectly constructed:\r\n\r\n"
        "  a@example.com <b@example.net>: malformed address: <b@example.net> may not follow a@example.com\r\n\r\n"
        "This address has been ignored.\r\n"
    )
    assert [r.address for r in parse_message(raw).records] == ["b@example.net"]


def test_command_from_transcript_and_upper_case_words() -> None:
    """The failed command is read from '>>> DATA', 'in reply to RCPT TO', or 'after RCPT'."""
    assert find_command(">>> RCPT To:<a@b>\n<<< 550 no\n>>> DATA\n<<< 550 no\n<<< 503 Need RCPT") == "DATA"
    assert find_command("said: 550 unknown (in reply to RCPT TO command)") == "RCPT"
    assert find_command("SMTP error from remote server after RCPT command: 550") == "RCPT"
    assert find_command("Technical details: SMTP:RCPT host 192.0.2.1: 553") == "RCPT"


def test_rhost_rule_sets_by_host_and_domain() -> None:
    """Remote hosts are matched to a rule set by name suffix; unknown hosts to none."""
    assert rhost_rules("smtpz4.laposte.net") == "franceptt"
    assert rhost_rules("smtp.secureserver.net") == "godaddy"
    assert rhost_rules("mta6.am0.yahoodns.net") == "yahooinc"
    assert rhost_rules("mx.example.org") == ""


def test_rhost_codes_decide_the_reason() -> None:
    """Orange/La Poste and GoDaddy codes decide the reason before the generic phrases."""
    orange = Evidence("5.5.0", "550 5.5.0 the recipient account is blocked. LPN007_426", rhost="smtpz4.laposte.net")
    assert reason_for(orange) == "suspend"
    godaddy = Evidence("5.1.1", "550 5.1.1 <a@b> - 192.0.2.1 has sent to too many recipients this hour. IB607",
                       rhost="smtp.secureserver.net")
    assert reason_for(godaddy) == "speeding"
    yahoo = Evidence("4.7.0", "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to "
                     "unexpected volume or user complaints", rhost="mta5.am0.yahoodns.net")
    assert reason_for(yahoo) == "rejected"


def test_family_wording_names_the_reason() -> None:
    """A McAfee gateway's 'Unknown user' without a status code is an unknown user, not a filter."""
    raw = (
        b"From: <MAILER-DAEMON@gw.example.org>\r\nTo: sender@example.com\r\nSubject: Delivery Status\r\n"
        b"X-NAI-Header: Modified by McAfee Email Gateway\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\n<user@example.net>   (Unknown user user@example.net)\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Original-Recipient: <user@example.net>\r\nAction: failed\r\n"
        b"Diagnostic-Code: smtp; 550 Unknown user user@example.net\r\n\r\n--B--\r\n"
    )
    (rec,) = parse_message(raw).records
    assert rec.reason == "userunknown"
