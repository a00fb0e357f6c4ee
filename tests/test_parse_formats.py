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


# -- families ported from Sisimai's Lhost modules (inline-built messages of each format) -------


def _mail(headers: str, body: str) -> bytes:
    return (headers.strip().replace("\n", "\r\n") + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def test_googlegroups_refusal_with_four_reasons_is_rejected() -> None:
    """A Google Groups refusal listing the four possible causes is reason rejected, for the group."""
    raw = _mail(
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: a@example.org\n"
        "Subject: Delivery Status Notification (Failure)\nX-Failed-Recipients: list@googlegroups.com\n"
        "X-Google-Smtp-Source: abc",
        "Hello a@example.org,\n\nWe're writing to let you know that the group you tried to contact (list) "
        "may not exist.\n\n * You might have spelled the group name wrong.\n * The owner may have deleted "
        "this group.\n * You may need to join the group.\n * The group may not be open to posting.\n\n"
        "Thanks,\n\nGoogle Groups\n\n----- Original message -----\n\nSubject: hi\n",
    )
    (rec,) = parse_message(raw).records
    assert (rec.address, rec.reason, rec.status) == ("list@googlegroups.com", "rejected", "5.0.918")


def test_domino_text_part_names_the_recipient() -> None:
    """Domino's "was not delivered to:" block gives the recipient and the directory wording the reason."""
    raw = _mail(
        "From: Postmaster@example.co.jp\nTo: a@example.org\nSubject: DELIVERY FAILURE: User x not listed\n"
        'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"',
        "--b\nContent-Type: text/plain\n\nYour message\n\n  Subject: hi\n\nwas not delivered to:\n\n"
        "  user@example.co.jp\n\nbecause:\n\n  User user (user@example.co.jp) not listed in Domino Directory\n\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns;mx.example.co.jp\n\n"
        "Final-Recipient: rfc822;user@relay.example.co.jp\nAction: failed\nStatus: 5.0.0\n\n--b--\n",
    )
    (rec,) = parse_message(raw).records
    assert (rec.address, rec.reason, rec.status) == ("user@example.co.jp", "userunknown", "5.0.0")


def test_verizon_vtext_rcpt_to_line_is_the_recipient() -> None:
    """A vtext.com report names the recipient on its RCPT TO line; "no such user here" is userunknown."""
    raw = _mail(
        "From: post_master@vtext.com\nTo: a@example.org\nSubject: Re: hi",
        "Error: Invalid user address\nError message below:\n550 - Requested action not taken: no such user here\n"
        "Message details:\n  Subject: hi\n  MAIL FROM: a@example.org\n  RCPT TO: 5555550100@vtext.com\n",
    )
    (rec,) = parse_message(raw).records
    assert (rec.address, rec.reason) == ("5555550100@vtext.com", "userunknown")


def test_verizon_vzwpix_original_to_is_the_recipient() -> None:
    """A vzwpix.com MMS report names the recipient in the original's To line."""
    raw = _mail(
        "From: MMSC NDR Administrator <sysadmin@m01.vzwpix.com>\nTo: a@example.org\nSubject: Undeliverable Message",
        "Message could not be delivered to mobile.\nError: No valid recipients for this MM\n\nOriginal Message:\n"
        "From: a@example.org\nTo: 5555550100@vzwpix.com\nSubject: hi\n",
    )
    (rec,) = parse_message(raw).records
    assert (rec.address, rec.reason) == ("5555550100@vzwpix.com", "userunknown")


def test_fml_not_member_is_rejected() -> None:
    """An fml "not a member" notice reports the list address with reason rejected."""
    raw = _mail(
        "From: list-admin@example.org\nTo: a@example.org\nSubject: You a@example.org are not member (list ML)\n"
        "Message-ID: <200101010000.FML12345.list@example.org>\nX-MLServer: fml [fml 4.0.3 release]",
        "You are not a member of this mailing list <list@example.org>.\n\nOriginal mail as follows:\n\nSubject: hi\n",
    )
    (rec,) = parse_message(raw).records
    assert (rec.address, rec.reason) == ("list@example.org", "rejected")


def test_amazonses_json_inside_sns_envelope_is_read() -> None:
    """An SES bounce whose JSON sits escaped in an SNS envelope's Message string is read."""
    inner = '{\\"notificationType\\":\\"Bounce\\",\\"bounce\\":{\\"bouncedRecipients\\":[{\\"emailAddress\\":\\"u@example.net\\",\\"action\\":\\"failed\\",\\"status\\":\\"5.1.1\\",\\"diagnosticCode\\":\\"smtp; 550 5.1.1 user unknown\\"}]},\\"mail\\":{\\"source\\":\\"s@example.org\\"}}'
    raw = _mail(
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\nTo: s@example.org\nSubject: AWS Notification Message",
        '{\n  "Type" : "Notification",\n  "Message" : "' + inner + '"\n}\n',
    )
    (rec,) = parse_message(raw).records
    assert (rec.address, rec.status, rec.reason) == ("u@example.net", "5.1.1", "userunknown")


def test_exim_malformed_recipient_is_syntaxerror() -> None:
    """Exim's "incorrectly constructed" block reports the malformed address as a syntax error."""
    raw = _mail(
        "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: s@example.org\n"
        "Subject: Mail failure - malformed recipient address",
        "A message that you sent contained one or more recipient addresses that were\nincorrectly constructed:\n\n"
        "  x@example.com <y@example.net>: malformed address: <y@example.net> may not follow x@example.com\n\n"
        "This address has been ignored.\n\n------ This is a copy of your message, including all the headers. ------\n",
    )
    (rec,) = parse_message(raw).records
    assert (rec.address, rec.reason) == ("y@example.net", "syntaxerror")


def test_exim_retry_timeout_keeps_the_stated_reason() -> None:
    """Exim's "retry timeout exceeded" after a stated cause keeps that cause (not expired), as temporary."""
    raw = _exim(
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        "  user@example.net\r\n    mailbox is full: retry timeout exceeded\r\n"
    )
    (rec,) = parse_message(raw).records
    assert (rec.reason, rec.status) == ("mailboxfull", "4.0.922")


def test_forwarded_bounce_inside_a_report_is_not_read() -> None:
    """A delivery-status part inside the returned message is ignored when the report has its own."""
    raw = _mail(
        'From: MAILER-DAEMON@example.jp\nTo: s@example.jp\nSubject: Returned mail\nMIME-Version: 1.0\n'
        'Content-Type: multipart/report; report-type=delivery-status; boundary="o"',
        "--o\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; example.jp\n\n"
        "Final-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.1.1\n\n"
        '--o\nContent-Type: message/rfc822\n\nFrom: s@example.jp\nTo: a@example.com\nMIME-Version: 1.0\n'
        'Content-Type: multipart/report; report-type=delivery-status; boundary="i"\n\n'
        "--i\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; other.example\n\n"
        "Final-Recipient: rfc822; b@example.org\nAction: failed\nStatus: 5.1.1\n\n--i--\n\n--o--\n",
    )
    assert [r.address for r in parse_message(raw).records] == ["a@example.com"]


def test_office365_mailto_link_gives_the_whole_address() -> None:
    """An address followed by its "<mailto:...>" link is read whole, never cut at a dot."""
    raw = _mail(
        "From: postmaster@example.onmicrosoft.com\nTo: s@example.org\nSubject: Undeliverable: hi",
        "Delivery has failed to these recipients or groups:\n\n"
        "u@example.onmicrosoft.com<mailto:u@example.onmicrosoft.com>\nThe email address you entered couldn't be found.\n",
    )
    assert [r.address for r in parse_message(raw).records] == ["u@example.onmicrosoft.com"]


def test_imail_server_wording_names_the_reason():
    """An IMail Server (X-Mailer <SMTP32 v...>) bounce: its own wording gives the reason."""
    raw = (
        b"From: postmaster@mail.example.net\r\nTo: sender@example.com\r\nSubject: Undeliverable Mail\r\n"
        b"X-Mailer: <SMTP32 v8.22>\r\nContent-Type: text/plain\r\n\r\n"
        b"User mailbox exceeds allowed size: full@example.net\r\n\r\n"
        b"Original message follows.\r\n\r\nFrom: sender@example.com\r\nTo: full@example.net\r\nSubject: hi\r\n\r\nhello\r\n"
    )
    records = parse_message(raw).records
    assert [(r.address, r.reason) for r in records] == [("full@example.net", "mailboxfull")]


def test_family_wording_matches_despite_padding():
    """A Notes report padding its words with extra spaces still reads as user unknown."""
    raw = (
        b"From: POSTMASTER@gw.example.com\r\nTo: sender@example.com\r\nSubject: Undeliverable message\r\n"
        b"Content-Type: text/plain\r\n\r\n"
        b"------- Failure Reasons  --------\r\n\r\nUser  not listed in public Name & Address Book\r\n"
        b"nobody@example.com\r\n\r\n\r\n------- Returned Message --------\r\n"
        b"Received: from mx.example.org by gw.example.com (Lotus SMTP MTA v4.6.1) with SMTP;\r\n"
        b"    Thu, 29 Apr 1999 23:45:00 +0900\r\n"
        b"From: sender@example.com\r\nTo: sender@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
    )
    records = parse_message(raw).records
    assert [(r.address, r.reason) for r in records] == [("nobody@example.com", "userunknown")]


def test_kddi_tells_an_unknown_address_from_its_domain_filter() -> None:
    """au (ezweb.ne.jp) refuses an address that does not exist with "550 <a@b>: User unknown" and
    mail its domain filter refuses with "550 : User unknown": the first is userunknown even with no
    SMTP stage named, the second filtered; a report quoting both is about the address."""
    unknown = Evidence("", "550 <neko@ezweb.ne.jp>: User unknown", domain="ezweb.ne.jp")
    filtered = Evidence("", "550 : User unknown", domain="ezweb.ne.jp")
    both = Evidence("", "<<< 550 <neko@ezweb.ne.jp>: User unknown <<< 550 : User unknown", domain="ezweb.ne.jp")
    assert [reason_for(e) for e in (unknown, filtered, both)] == ["userunknown", "filtered", "userunknown"]
    assert rhost_rules("lsean.ezweb.ne.jp") == "kddi" and rhost_rules("au.com") == "kddi"


def test_exchange_ims_ndr_is_read_by_its_family_wording() -> None:
    """An Exchange 5.5 NDR marked only by its Received line ("with Internet Mail Service") reads
    "The recipient name is not recognized" as an unknown user, as its family says."""
    raw = _mail(
        """From: System Administrator <postmaster@example.net>
To: sender@example.com
Subject: Undeliverable: Offers
Received: by gw.example.net with Internet Mail Service (5.5.2657.72) id <X1>; Thu, 29 Apr 2010 23:00:00 -0400
MIME-Version: 1.0
Content-Type: text/plain""",
        "Your message\n\n  To:      user@example.net\n  Subject: Offers\n\ndid not reach the following recipient(s):\n\n"
        "user@example.net on Thu, 29 Apr 2010 00:00:00 -0000\n"
        "    The recipient name is not recognized\n    MSEXCH:IMS:EXAMPLE:GW 0 (000C05A6) Unknown Recipient\n",
    )
    (rec,) = parse_message(raw).records
    assert (rec.address, rec.reason) == ("user@example.net", "userunknown")


def test_exim_address_and_error_on_one_line() -> None:
    """An Exim derivative's "<a@b>: 550 unknown user" line names the address and its error; the
    header copy after "Included is a copy of the message header:" is not read as the error (a
    version number in a Received line there is no status code)."""
    raw = (
        "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\nTo: sender@example.com\r\n"
        "Subject: Mail delivery failed: returning message to sender\r\n\r\n"
        "This message was created automatically by mail delivery software.\r\n\r\n"
        "A message that you have sent could not be delivered to one or more\r\n"
        "recipients.  This is a permanent error.  The following address failed:\r\n\r\n"
        "  <user@example.net>: 550 unknown user\r\n<user@example.net>\r\n\r\n\r\n"
        "Included is a copy of the message header:\r\n-----------------------------------------\r\n"
        "Received: from unknown by mx.example.org (mta-5.5.0-3) with ESMTP id 1\r\n"
        "From: sender@example.com\r\nTo: user@example.net\r\nSubject: hi\r\n"
    ).encode()
    (rec,) = parse_message(raw).records
    assert rec.address == "user@example.net"
    assert rec.diagnostic.startswith("550 unknown user")
    assert rec.status != "5.5.0"


def test_permanent_reply_wins_over_a_temporary_status_field() -> None:
    """Status: 4.5.0 with Action: failed and the remote's "550 5.5.0": the remote's code is the status."""
    raw = _mail(
        """From: MAILER-DAEMON@mx.example.org
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B\"""",
        "--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; user@example.net\nAction: failed\nStatus: 4.5.0\n"
        "Diagnostic-Code: smtp; 550 5.5.0 Service refused, please try later\n\n--B--\n",
    )
    (rec,) = parse_message(raw).records
    assert rec.status == "5.5.0"


def _ses_receiving(reporting_mta: str, diagnostic: str, status: str) -> bytes:
    return (
        "From: postmaster@mail.example.jp\r\nTo: sender@example.com\r\n"
        "Subject: Delivery Status Notification (Failure)\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThis message could not be delivered.\r\n"
        f"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; {reporting_mta}\r\n\r\n"
        f"Action: failed\r\nFinal-Recipient: rfc822; someone@mail.example.jp\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\nStatus: {status}\r\n--B--\r\n"
    ).encode()


def test_ses_receiving_bounce_templates_are_rules_not_mailbox_lookups() -> None:
    """Amazon SES receiving has no mailboxes: its "Mailbox does not exist" is a receipt rule's
    Bounce action (filtered, soft); the same words from a server that looked up the mailbox
    are a user unknown."""
    ses = "inbound-smtp.us-west-2.amazonaws.com"
    [record] = parse_message(_ses_receiving(ses, "550 5.1.1 Mailbox does not exist", "5.1.1")).records
    assert record.reason == "filtered"
    [record] = parse_message(_ses_receiving(ses, "500 5.6.1 Message content rejected", "5.6.1")).records
    assert record.reason == "contenterror"
    [record] = parse_message(_ses_receiving("mx.example.jp", "550 5.1.1 Mailbox does not exist", "5.1.1")).records
    assert record.reason == "userunknown"


def test_aol_report_lists_screen_names_that_are_addresses_at_aol() -> None:
    """AOL's "Mail Delivery Problem" lists the members who refuse the mail by screen name, one
    per indented line: each is the address at aol.com; the words after it are not names."""
    raw = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@aol.com>\r\nTo: <news@shop.example>\r\n"
        "Subject: Mail Delivery Problem\r\n\r\n"
        "Sorry news@shop.example. Your mail to the following recipients could not be delivered because\r\n"
        "they are not accepting mail from news@shop.example:\r\n\tkewlcat\r\n\tOther.Cat\r\n\r\n"
        "\tIf you have questions, ask\r\n"
    ).encode()
    records = parse_message(raw).records
    assert [(r.address, r.reason, r.source) for r in records] == [
        ("kewlcat@aol.com", "filtered", "statement"), ("other.cat@aol.com", "filtered", "statement")]
    # the same shape from any other sender names no one
    other = raw.replace(b"MAILER-DAEMON@aol.com", b"MAILER-DAEMON@mx.example.org")
    assert not [r for r in parse_message(other).records if r.address.endswith("@aol.com")]
