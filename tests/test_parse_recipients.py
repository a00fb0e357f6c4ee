"""Which addresses the parser reports: where each came from, never one of ours, a loose scan only
when backed, addresses cleaned as read, a complaint naming nobody, the address sent to."""

from __future__ import annotations

import re
import pytest

from bouncewatch.parse import parse_message, parse_message_with_verp
from bouncewatch.parse.recipients import clean
from bouncewatch.records import SOURCES, BounceClass, Outcome, OwnAddresses
from bouncewatch.rules.classify import ClassPolicy
from bouncewatch.service.analysis import analyse
from bouncewatch.service.pipeline import own_addresses

OURS = "news@shop.example"


def _text_bounce(error: str, original: str = "", to: str = OURS, subject: str = "Undelivered Mail") -> bytes:
    """A bounce in no standard layout: the error text, then the original quoted inline."""
    copy = f"\r\n------ This is a copy of the original message ------\r\n\r\n{original}" if original else ""
    return (
        f"From: MAILER-DAEMON@mx.example.org\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{error}\r\n{copy}"
    ).encode()


def _report(per_recipient: str, original_headers: str = f"From: {OURS}\r\nTo: a@example.net\r\n") -> bytes:
    """An RFC 3464 report with one recipient group and the original's headers."""
    return (
        f"From: MAILER-DAEMON@mx.example.org\r\nTo: {OURS}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        f"{per_recipient}\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n{original_headers}\r\n--B--\r\n"
    ).encode()


def _sources(raw: bytes, **kwargs) -> list[tuple[str, str]]:
    return [(r.address, r.source) for r in parse_message(raw, **kwargs).records]


# -- where each address came from ---------------------------------------------------------------


def test_every_source_is_named() -> None:
    """A DSN field, X-Failed-Recipients, a VERP return path, a known layout's failure statement,
    and a loose scan backed by the original's recipients or by a failure statement."""
    dsn = _report("Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.1")
    assert _sources(dsn) == [("a@example.net", "dsn")]
    exim_listed = (
        f"From: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\nTo: {OURS}\r\n"
        "Subject: Mail delivery failed\r\nX-Failed-Recipients: b@example.net\r\n\r\n"
        "Delivery to b@example.net failed: 550 5.1.1 no such user\r\n"
    ).encode()
    assert _sources(exim_listed) == [("b@example.net", "x-failed-recipients")]
    exim_block = _text_bounce(
        "This message was created automatically by mail delivery software.\r\n\r\n"
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        "  c@example.net\r\n    550 5.1.1 unknown user\r\n",
        subject="Mail delivery failed: returning message to sender",
    )
    assert _sources(exim_block) == [("c@example.net", "statement")]
    verp = (
        b"From: MAILER-DAEMON@mx.example.org\r\nTo: bounces+d=example.net@sender.example\r\n"
        b"Subject: Undelivered Mail\r\n\r\nDelivery failed permanently.\r\n"
    )
    assert [(r.address, r.source) for r in parse_message_with_verp(verp, None).records] == [("d@example.net", "verp")]
    backed_by_original = _text_bounce("Sorry, your mail was not accepted.\r\n\r\n  e@example.net\r\n",
                                      f"From: {OURS}\r\nTo: e@example.net\r\nSubject: hi\r\n\r\nhello\r\n")
    assert _sources(backed_by_original) == [("e@example.net", "scan+original")]
    statement = _text_bounce("f@example.net: 550 mailbox unavailable\r\n")
    assert _sources(statement) == [("f@example.net", "scan+statement")]
    for raw in (dsn, exim_listed, exim_block, backed_by_original, statement):
        assert all(r.source in SOURCES for r in parse_message(raw).records)


def test_json_output_shows_source_and_final_address(tmp_path) -> None:
    """`bouncewatch parse --json` gives each recipient's source and final address."""
    from click.testing import CliRunner

    from bouncewatch.cli import main

    path = tmp_path / "b.eml"
    path.write_bytes(_report("Original-Recipient: rfc822; list@example.net\r\nFinal-Recipient: rfc822; x@example.net\r\n"
                             "Action: failed\r\nStatus: 5.2.2"))
    result = CliRunner().invoke(main, ["parse", "--json", str(path)])
    assert result.exit_code == 0, result.output
    assert '"source": "dsn"' in result.output
    assert '"address": "list@example.net"' in result.output and '"final_address": "x@example.net"' in result.output


def test_parse_command_says_why_nothing_counted(tmp_path) -> None:
    """`bouncewatch parse` prints each recipient's source, and the note of a message that
    counts nothing."""
    from click.testing import CliRunner

    from bouncewatch.cli import main

    dsn = tmp_path / "dsn.eml"
    dsn.write_bytes(_report("Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.1"))
    loose = tmp_path / "loose.eml"
    loose.write_bytes(_text_bounce("Hello,\r\n\r\nplease write to h@example.net for our catalogue.\r\n",
                                   subject="Returned mail"))
    result = CliRunner().invoke(main, ["parse", str(dsn), str(loose)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{dsn}: a@example.net hard userunknown 5.1.1 [dsn]"
    assert lines[1] == f"{loose}: no recipient counted"
    assert lines[2].startswith("  note: ") and "h@example.net" in lines[2]


# -- never an address of our own ------------------------------------------------------------------


def test_our_own_addresses_in_the_text_are_never_reported() -> None:
    """The bounce's own recipient, the original's From, Reply-To and List-* addresses, and the
    reporting host's postmaster stand next to failure words and are still never reported."""
    raw = _text_bounce(
        "Delivery failed for these addresses:\r\n"
        f"{OURS}\r\nreplies@shop.example\r\nlist-owner@lists.shop.example\r\npostmaster@mx.example.org\r\n"
        "g@example.net: 550 5.1.1 user unknown\r\n",
        f"From: {OURS}\r\nReply-To: replies@shop.example\r\nList-Post: <mailto:list-owner@lists.shop.example>\r\n"
        "To: g@example.net\r\nSubject: hi\r\n\r\nhello\r\n",
    )
    assert [r.address for r in parse_message(raw).records] == ["g@example.net"]


def test_configured_addresses_are_never_reported_even_from_a_dsn() -> None:
    """The configured mailbox and anything at the VERP domain are ours, whatever field names them."""
    raw = _report("Final-Recipient: rfc822; bounces@verp.shop.example\r\nAction: failed\r\nStatus: 5.1.1")
    assert [r.address for r in parse_message(raw).records] == ["bounces@verp.shop.example"]
    own = OwnAddresses(addresses=frozenset({"box@shop.example"}), domains=frozenset({"verp.shop.example"}))
    assert parse_message(raw, own=own).records == ()
    raw = _report("Final-Recipient: rfc822; box@shop.example\r\nAction: failed\r\nStatus: 5.1.1")
    assert parse_message(raw, own=own).records == ()


def test_a_report_about_our_own_address_only_is_not_read_further() -> None:
    """A DSN about our own mailbox only gives no record: the looser readers are not asked, and
    an address elsewhere in its text is not taken in its place."""
    own = OwnAddresses(addresses=frozenset({"box@shop.example"}))
    raw = _report("Final-Recipient: rfc822; box@shop.example\r\nAction: failed\r\nStatus: 5.1.1").replace(
        b"Your message could not be delivered.", b"Delivery to p@example.net failed: 550 5.1.1 unknown user"
    )
    parsed = parse_message(raw, own=own)
    assert (parsed.kind, parsed.records) == ("dsn", ())
    assert any("box@shop.example" in note for note in parsed.notes)


def test_a_message_sent_to_its_own_sender_is_reported() -> None:
    """A DSN's recipient field names an envelope recipient: reported even when it is also the
    original's sender (a cron mail to oneself)."""
    raw = _report("Final-Recipient: rfc822; self@example.net\r\nAction: failed\r\nStatus: 5.1.1",
                  "From: self@example.net\r\nTo: self@example.net\r\n")
    assert [r.address for r in parse_message(raw).records] == ["self@example.net"]


def test_the_pipeline_passes_the_configured_addresses(tmp_path) -> None:
    """A cycle's parser knows the mailbox login (when an address) and the VERP return path and
    domain from the config, and drops them."""
    from bouncewatch.config import load
    from bouncewatch.service.pipeline import Cycle

    config = tmp_path / "bouncewatch.toml"
    config.write_text(
        '[verp]\ndomain = "Bounce.Shop.Example"\n\n[[mailboxes]]\nname = "b"\nhost = "imap.example.com"\n'
        'username = "Returns@Shop.Example"\npassword = "x"\n'
    )
    settings = load(config)
    own = own_addresses(settings, settings.mailboxes[0])
    assert own.addresses == {"returns@shop.example", "bounces@bounce.shop.example"}
    assert own.domains == {"bounce.shop.example"}
    parse = Cycle(settings, settings.mailboxes[0]).analyser.parse
    raw = _report("Final-Recipient: rfc822; returns@shop.example\r\nAction: failed\r\nStatus: 5.1.1")
    assert parse(raw).records == ()
    raw = _report("Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.1")
    assert [r.address for r in parse(raw).records] == ["a@example.net"]


# -- a loose scan counts only when backed -------------------------------------------------------


def test_an_unbacked_loose_find_counts_nothing_and_is_left_for_a_person() -> None:
    """An address a loose reader found, with no failure statement next to it and not among the
    original's recipients, gives no record; the message goes to Unrecognized with a note."""
    raw = _text_bounce("Hello,\r\n\r\nplease write to h@example.net for our new catalogue.\r\n",
                       subject="Returned mail")
    parsed = parse_message(raw)
    assert parsed.records == ()
    assert any("h@example.net" in note for note in parsed.notes)
    assert analyse(raw, ClassPolicy()).outcome is Outcome.UNRECOGNIZED


def test_a_contact_address_next_to_failure_words_is_not_a_recipient() -> None:
    """"Please contact helpdesk@... if this error persists" offers an address to write to: the
    failure words on its line say nothing about it."""
    raw = _text_bounce("Your message could not be delivered.\r\n"
                       "Please contact helpdesk@isp.example if this error persists.\r\n")
    parsed = parse_message(raw)
    assert parsed.records == ()
    assert any("helpdesk@isp.example" in note for note in parsed.notes)


def test_the_better_backed_answer_wins_when_readers_disagree() -> None:
    """The generic reader takes every address at the start of a line; flufl.bounce takes the
    failed one only, which the original's recipients back: that answer wins, with the error
    text the generic reader found for it."""
    raw = (
        f"From: MAILER-DAEMON@mx.example.org\r\nTo: {OURS}\r\nSubject: Returned mail\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="M"\r\n\r\n'
        "--M\r\nContent-Type: text/plain\r\n\r\n"
        "Hi. This is the qmail-send program at mx.example.org.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        "relay@mx.example.org: the relay that logged this error.\r\n\r\n"
        "<i@example.net>:\r\nSorry, no mailbox here by that name.\r\n\r\n"
        "--M\r\nContent-Type: message/rfc822\r\n\r\n"
        f"From: {OURS}\r\nTo: i@example.net\r\nSubject: hi\r\n\r\nSee j@example.org for details.\r\n--M--\r\n"
    ).encode()
    parsed = parse_message(raw)
    assert [(r.address, r.source) for r in parsed.records] == [("i@example.net", "scan+original")]
    assert "no mailbox here" in parsed.records[0].diagnostic
    assert any("disagree" in note for note in parsed.notes)


# -- addresses cleaned as read ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("'user@example.uk", "user@example.uk"),
        ("<User@Example.UK>", "user@example.uk"),
        ("mailto:user@example.uk", "user@example.uk"),
        ("<mailto:user@example.uk>,", "user@example.uk"),
        ("(user@example.uk).", "user@example.uk"),
        ('"user@example.uk"', "user@example.uk"),
        ('"neko..nyaan"@example.jp', '"neko..nyaan"@example.jp'),
        ("=?utf-8?B?8J+QiPCfkIg=?=@example.org", "=?utf-8?b?8j+qipcfkig=?=@example.org"),
        ("nyaan%gol.com@relay.example.com", "nyaan%gol.com@relay.example.com"),
        ("a@b.c", "a@b.c"),  # anonymised reports shorten domains to one letter a label
        ("x@192.0.2.1", ""),
        ("=@example.org", ""),
        ("user@localhost", ""),
        ("no address", ""),
    ],
)
def test_clean(text: str, address: str) -> None:
    assert clean(text) == address


def test_a_percent_hack_address_is_read_whole() -> None:
    """user%host@relay (an old source route) is one address, not the part after the percent."""
    raw = _text_bounce("The following address(es) failed:\r\n\r\n  p%q.example.com@relay.example.net\r\n"
                       "    550 5.1.1 unknown user\r\n")
    assert [r.address for r in parse_message(raw).records] == ["p%q.example.com@relay.example.net"]


def test_a_leading_quote_is_not_part_of_the_reported_address() -> None:
    """'user@example.uk in a failure statement is reported as user@example.uk."""
    raw = _text_bounce("Delivery to the following recipient failed permanently:\r\n\r\n    'k@example.uk\r\n")
    assert [r.address for r in parse_message(raw).records] == ["k@example.uk"]


# -- a complaint that names nobody -----------------------------------------------------------------


def test_a_complaint_naming_nobody_records_nothing_and_is_archived_as_a_complaint() -> None:
    """An ARF report with the recipient redacted is recognised, counts against no address, and is
    archived with the complaints (not lost as unreadable)."""
    raw = (
        b"From: feedback@isp.example\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\r\n\r\n'
        b"--F\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report\r\n"
        b"--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\n"
        b"--F\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: news@shop.example\r\nTo: redacted\r\n--F--\r\n"
    )
    parsed = parse_message(raw)
    assert (parsed.kind, parsed.records) == ("arf", ())
    assert parsed.notes
    analysis = analyse(raw, ClassPolicy())
    assert (analysis.outcome, analysis.verdicts) == (Outcome.COMPLAINT, ())
    assert not any(v.bounce_class is BounceClass.COMPLAINT for v in analysis.verdicts)


# -- the address sent to ------------------------------------------------------------------------


def test_the_address_sent_to_is_reported_and_the_final_one_kept() -> None:
    """Original-Recipient differing from Final-Recipient (an alias, a forward): the address sent
    to is reported, the final one kept as final_address; one that is ours gives way to the final."""
    (rec,) = parse_message(_report("Original-Recipient: rfc822;alias@example.net\r\n"
                                   "Final-Recipient: rfc822; mailbox@host.example.net\r\nAction: failed\r\nStatus: 5.2.2")).records
    assert (rec.address, rec.final_address, rec.source) == ("alias@example.net", "mailbox@host.example.net", "dsn")
    (rec,) = parse_message(_report("Original-Recipient: rfc822;same@example.net\r\n"
                                   "Final-Recipient: rfc822;same@example.net\r\nAction: failed\r\nStatus: 5.2.2")).records
    assert (rec.address, rec.final_address) == ("same@example.net", "")
    own = OwnAddresses(addresses=frozenset({"box@shop.example"}))
    (rec,) = parse_message(_report("Original-Recipient: rfc822;box@shop.example\r\n"
                                   "Final-Recipient: rfc822; fwd@example.net\r\nAction: failed\r\nStatus: 5.1.1"), own=own).records
    assert (rec.address, rec.final_address) == ("fwd@example.net", "")


def test_a_recipient_group_starting_with_original_recipient_stays_its_own() -> None:
    """A blank line ends a recipient's group: the next group's Original-Recipient is not the
    previous recipient's."""
    raw = _report("Final-Recipient: rfc822; l@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n"
                  "Original-Recipient: rfc822; m@example.net\r\nFinal-Recipient: rfc822; m@example.net\r\n"
                  "Action: failed\r\nStatus: 5.1.1")
    assert [(r.address, r.status) for r in parse_message(raw).records] == [("l@example.net", "5.2.2"), ("m@example.net", "5.1.1")]


def test_sendmail_reply_lines_name_each_recipient() -> None:
    """Sendmail's transcript lines "554 <a@b>... Host unknown" name a recipient each, with its
    own error (never the next line's)."""
    raw = _text_bounce(
        "   ----- Transcript of session follows -----\r\n"
        "550 example.or.jp (smtp)... 550 Host unknown\r\n"
        "554 <n@example.or.jp>... 550 Host unknown (Authoritative answer from name server)\r\n"
        "421 example.edu (smtp)... Deferred: Connection reset by peer\r\n"
        "554 <o@example.edu>... 550 5.1.1 User unknown\r\n",
        subject="Returned mail: see transcript for details",
    )
    found = {r.address: r.reason for r in parse_message(raw).records}
    assert found == {"n@example.or.jp": "hostunknown", "o@example.edu": "userunknown"}


def test_no_placeholder_address_exists() -> None:
    """No stand-in address is left in the parser to reach the ledger."""
    import bouncewatch.parse.arf as arf

    assert not hasattr(arf, "UNDISCLOSED")
    assert not re.search(r"\.invalid\b", open(arf.__file__, encoding="utf-8").read())


def test_a_text_bounce_of_a_message_sent_to_oneself_names_its_recipient() -> None:
    """Postfix's text notice, the original attached, of a message whose sender was also its
    recipient: the address is the recipient, not only the sender."""
    raw = (
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\nTo: box@example.net\r\n"
        'Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        "--B\r\nContent-Description: Notification\r\nContent-Type: text/plain\r\n\r\n"
        "This is the Postfix program at host mx.example.org.\r\n\r\n"
        "I'm sorry to have to inform you that the message returned\r\nbelow could not be delivered to one or more destinations.\r\n\r\n"
        "<self@example.net>: Name service error for domain example.net: Host not found\r\n"
        "--B\r\nContent-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: self@example.net\r\nTo: self@example.net\r\nSubject: note to self\r\n\r\nhi\r\n--B--\r\n"
    ).encode()
    assert [r.address for r in parse_message(raw).records] == ["self@example.net"]


def test_blank_lines_between_address_and_error_still_back_it() -> None:
    """qmail-like notices set the address apart from its error with blank lines."""
    raw = _text_bounce(
        "Hi. This is the deliver program at mx.example.org.\r\n\r\n\r\n\r\nbob@example.net\r\n\r\n\r\n"
        "No such user\r\n",
        subject="failure notice",
    )
    assert [r.address for r in parse_message(raw).records] == ["bob@example.net"]


def test_a_sender_named_after_from_and_a_shortened_address_are_not_recipients() -> None:
    """ "not accepting mail from list@..." names the sender; "david...@" is an address shortened
    for display, not one that exists."""
    raw = _text_bounce(
        "Your mail to the following recipients could not be delivered because\r\n"
        "they are not accepting mail from list@lists.example.org:\r\n\tscreenname\r\n",
        subject="Mail Delivery Problem",
    )
    assert parse_message(raw).records == ()
    assert clean("david...@example.com") == "" and clean(".david@example.com") == ""


def test_flufl_bounce_temporary_finds_stay_temporary() -> None:
    """flufl.bounce answers (temporary, permanent): a warning it recognises is a delay, never a
    failure."""
    from bouncewatch.parse import fallback
    from bouncewatch.parse.fastmime import parse_bytes_typed
    from bouncewatch.parse.mailview import build_view

    raw = (
        "From: MAILER-DAEMON@mx.example.org\r\nTo: news@shop.example\r\nSubject: Delivery delayed\r\n\r\n"
        "Your message with Subject: Our offers\r\n\r\n  bob@example.net\r\n\r\n"
        "could not be delivered yet. Delivery attempts will continue to be made for 4 days.\r\n"
    ).encode()
    drafts = fallback.detect(build_view(*parse_bytes_typed(raw)))
    assert [(d.address, d.action) for d in drafts or []] == [("bob@example.net", "delayed")]


def test_an_alias_expanded_by_sendmail_is_reported_as_the_address_sent_to() -> None:
    """Sendmail's "(expanded from: <alias>)" under the failed address: the alias is the address
    on the sender's list; the address it was expanded to is kept as the final one."""
    raw = _text_bounce(
        "The original message was received at Sat, 14 Oct 2000 06:14:45 +0200\r\n\r\n"
        "   ----- The following addresses had permanent fatal errors -----\r\n"
        "bob@mail.example.net\r\n    (reason: 550 5.1.1 <bob@mail.example.net>... User unknown)\r\n"
        "    (expanded from: <robert@example.net>)\r\n\r\n"
        "   ----- Transcript of session follows -----\r\n550 5.1.1 <bob@mail.example.net>... User unknown\r\n",
        subject="Returned mail: see transcript for details",
    )
    [record] = parse_message(raw).records
    assert (record.address, record.final_address) == ("robert@example.net", "bob@mail.example.net")
    assert record.reason == "userunknown"


def test_an_address_given_as_an_example_in_help_text_is_not_backed() -> None:
    """Help text that names an address as an example ("e.g., if a@b fails, try c@d") does not
    say that address failed."""
    raw = _text_bounce(
        " --------Message not delivered to the following:\r\n\r\n userx    No matches to nameserver query\r\n\r\n"
        " --------Error Detail:\r\n\r\n The usual causes are typographical errors. Try sending to the most\r\n"
        " explicit form of the name, e.g., if\r\n mike.fox@example.edu fails, try michael.j.fox@example.edu.\r\n",
        subject="Returned mail - nameserver error report",
    )
    assert not parse_message(raw).records
    # the same address stated as failed, with no example around it, is backed
    stated = _text_bounce("Delivery failed for the following address:\r\n\r\n mike.fox@example.edu\r\n",
                          subject="Returned mail - nameserver error report")
    assert [r.address for r in parse_message(stated).records] == ["mike.fox@example.edu"]


def _with_envelope_header(raw: bytes, header: str) -> bytes:
    return header.encode() + b"\r\n" + raw


def test_an_x_original_to_the_delivery_trail_does_not_confirm_is_not_ours() -> None:
    """A mailer that writes the failed recipient into X-Original-To of its bounce (DragonFly
    Mail Agent does) does not make that address ours; one the trail confirms is."""
    error = ("There was an error delivering your mail to <gone@example.org>.\r\n\r\n"
             "mx.example.org [192.0.2.25] did not like our RCPT TO:\r\n"
             "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown\r\n")
    copied = _with_envelope_header(_text_bounce(error, subject="Mail delivery failed"), "X-Original-To: <gone@example.org>")
    assert [(r.address, r.reason) for r in parse_message(copied).records] == [("gone@example.org", "userunknown")]
    trail = "Received: from mx.example.org by mail.shop.example with ESMTP id 1\r\n\tfor <gone@example.org>; Wed, 12 Jun 2024 08:46:42 +0900"
    delivered = _with_envelope_header(copied, trail)
    assert not parse_message(delivered).records


def test_a_one_line_bounce_from_the_null_sender_is_read() -> None:
    """No subject, no daemon name, one line of text: "From: <>" (the null sender, which only
    automatic mail uses) makes it a bounce to read, and the statement backs its address."""
    raw = (
        f"From: <>\r\nTo: {OURS}\r\nAuto-Submitted: auto-replied\r\nDate: Tue, 29 Dec 2009 12:12:54 +0000\r\n\r\n"
        "You sent mail to gone@example.net. That's not a valid user here.\r\n"
    ).encode()
    assert [r.address for r in parse_message(raw).records] == ["gone@example.net"]
    # the same words from a person (an auto-reply) name nobody as failed
    person = raw.replace(b"From: <>", b"From: Jane <jane@example.org>")
    assert "gone@example.net" not in [r.address for r in parse_message(person).records]
