"""Mail that looks like a bounce and is not one: read receipts, challenge-response requests,
moderation holds, spam-quarantine digests (no records, archived as Ignored) and out-of-office
replies in ten languages (reason ``vacation``, class ignore); and real bounces that quote such
words, which stay bounces.

The messages are written from the standards (RFC 8098, RFC 3834, RFC 3464) and the usual
wording of list managers, challenge-response filters and mail programs, not copied from any
corpus file.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bouncewatch.cli import main
from bouncewatch.parse import parse_message, parse_message_with_verp
from bouncewatch.records import Outcome
from bouncewatch.rules.classify import DEFAULT_POLICY, classify
from bouncewatch.service.analysis import analyse

ORIGINAL = (
    "From: news@shop.example.com\r\nTo: alice@example.net\r\nSubject: Our offers\r\n"
    "Message-ID: <offer-1@shop.example.com>\r\n\r\nHello\r\n"
)


def _mail(subject: str, body: str, sender: str = "alice@example.net", headers: str = "") -> bytes:
    """A plain UTF-8 message to the bounce mailbox's VERP return path."""
    return (
        f"From: {sender}\r\nTo: bounces+alice=example.net@shop.example.com\r\n"
        f"Subject: {subject}\r\n{headers}Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + body
    ).encode("utf-8")


def _assert_notice(raw: bytes, what: str) -> None:
    parsed = parse_message(raw)
    assert parsed.records == ()
    assert parsed.kind == "notice"
    assert f"not a bounce: {what}" in parsed.notes
    # the return path they were sent to counts nothing either
    assert parse_message_with_verp(raw, None).records == ()
    assert analyse(raw, DEFAULT_POLICY).outcome is Outcome.IGNORED


def _mdn(report_type: str = "report; report-type=disposition-notification") -> bytes:
    return (
        "From: Alice <alice@example.net>\r\nTo: news@shop.example.com\r\nSubject: Read: Our offers\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: multipart/{report_type}; boundary=\"b1\"\r\n\r\n"
        "--b1\r\nContent-Type: text/plain\r\n\r\nThe message sent on Monday to alice@example.net was displayed.\r\n"
        "--b1\r\nContent-Type: message/disposition-notification\r\n\r\n"
        "Reporting-UA: mail.example.net; Mail Client\r\nFinal-Recipient: rfc822;alice@example.net\r\n"
        "Original-Message-ID: <offer-1@shop.example.com>\r\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\r\n"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n" + ORIGINAL.split("\r\n\r\n")[0] + "\r\n"
        "--b1--\r\n"
    ).encode()


def test_read_receipt_is_a_notice() -> None:
    """An RFC 8098 disposition notification is no bounce, whether the report type says so or only
    its message/disposition-notification part does; its original's Message-ID is kept."""
    _assert_notice(_mdn(), "read receipt")
    _assert_notice(_mdn("mixed"), "read receipt")
    assert parse_message(_mdn()).original_message_id == "<offer-1@shop.example.com>"


def test_read_receipt_in_words() -> None:
    """A receipt in no standard layout (a "Read:" or "Return Receipt" subject and "was read on")."""
    _assert_notice(_mail("Read: Our offers", "Your message\r\n  To: alice@example.net\r\n  Subject: Our offers\r\n"
                         "was read on 3 December 2026 10:12.\r\n"), "read receipt")
    _assert_notice(_mail("Lesebestätigung: Unsere Angebote", "Ihre Nachricht wurde am 3.12.2026 um 10:12 gelesen.\r\n"),
                   "read receipt")


@pytest.mark.parametrize(
    ("subject", "body", "headers"),
    [
        ("Your email requires verification verify#a1b2c3",
         "The sender of this email, news@shop.example.com, is not on the recipient's list of approved senders.\r\n"
         "To have your message delivered, please confirm that you are a human by following the link below.\r\n", ""),
        ("Re: Our offers",
         "Hello, I protect my mailbox with a challenge-response filter. You are not yet pre-approved.\r\n"
         "Reply to this message to be added to my list of approved senders.\r\n", "Auto-Submitted: auto-replied\r\n"),
        ("Sender not pre-approved", "Your message to alice@example.net is waiting. Please verify you are human.\r\n", ""),
        ("Bitte bestätigen Sie Ihre Nachricht",
         "Um sicherzustellen, dass Sie ein Mensch sind und kein Roboter, klicken Sie bitte auf den Link.\r\n", ""),
        ("Votre message est en attente",
         "Afin de confirmer que vous êtes un humain et pas un robot, cliquez sur le lien ci-dessous.\r\n", ""),
    ],
)
def test_challenge_response_is_a_notice(subject: str, body: str, headers: str) -> None:
    """Challenge-response requests ("confirm you are human", "not pre-approved") count nothing,
    also when marked as an automatic reply: five of them would otherwise block a live address."""
    _assert_notice(_mail(subject, body, headers=headers), "challenge-response")


@pytest.mark.parametrize(
    ("subject", "body", "sender"),
    [
        ("Your message to Offers-Talk awaits moderator approval",
         "Your mail to 'Offers-Talk' with the subject\r\n\r\n    Our offers\r\n\r\n"
         "Is being held until the list moderator can review it for approval.\r\n\r\n"
         "The reason it is being held:\r\n\r\n    Post by non-member to a members-only list\r\n",
         "offers-talk-bounces@lists.example.org"),
        ("Your message to offers@lists.example.org awaits moderator approval",
         "Your message entitled\r\n\r\n    Our offers\r\n\r\nwas successfully received by the offers@lists.example.org"
         " mailing list.\r\n\r\nYour message is being held for moderation.\r\n",
         "offers-owner@lists.example.org"),
        ("Message held for review",
         "Your message to team@example.net has been held for review by the group's moderators.\r\n",
         "noreply@groups.example.org"),
        ("Ihre Nachricht an offers@lists.example.org",
         "Ihre Nachricht wartet auf Freigabe durch den Moderator der Liste.\r\n", "offers-owner@lists.example.org"),
        ("Votre message pour la liste offres",
         "Votre message a été soumis aux modérateurs de la liste et reste en attente de modération.\r\n",
         "offres-request@listes.example.fr"),
    ],
)
def test_moderation_hold_is_a_notice(subject: str, body: str, sender: str) -> None:
    """A list manager's "held for moderation" notice (Mailman, a group, in other languages) counts nothing."""
    _assert_notice(_mail(subject, body, sender=sender), "held for moderation")


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Spam Quarantine Summary - 3 messages", "The following messages are held in your quarantine:\r\n"
         "news@shop.example.com  Our offers  Release | Delete\r\n"),
        ("End User Digest: 4 New Messages", "The emails listed below have been placed in your Quarantine.\r\n"
         "From: news@shop.example.com Subject: Our offers\r\n"),
        ("You have messages in quarantine", "Review these messages to release them from quarantine.\r\n"),
        ("Quarantäne-Bericht für alice@example.net", "Folgende Nachrichten wurden zurückgehalten:\r\n"
         "news@shop.example.com  Unsere Angebote\r\n"),
    ],
)
def test_quarantine_digest_is_a_notice(subject: str, body: str) -> None:
    """A spam filter's quarantine digest, which lists our own mail by sender, counts nothing."""
    _assert_notice(_mail(subject, body, sender="quarantine@mx.example.net"), "quarantine digest")


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Our offers", "Out of Office: Our offers", "Automatische Antwort: Unsere Angebote",
        "Abwesenheitsnotiz: Unsere Angebote", "Réponse automatique : Nos offres", "Absence du bureau",
        "Respuesta automática: Nuestras ofertas", "Fuera de la oficina", "Risposta automatica: Le nostre offerte",
        "Fuori sede", "Resposta automática: Nossas ofertas", "Ausência temporária", "Automatisch antwoord: Onze aanbiedingen",
        "Afwezig", "Автоматический ответ: Наши предложения", "Автоответ", "自動応答: 新商品のご案内", "不在通知",
        "自动回复: 我们的优惠", "自動回覆: 我們的優惠", "Alice Martin is out of the office.", "Alice Martin ist außer Haus.",
    ],
)
def test_out_of_office_in_every_language(subject: str) -> None:
    """An out-of-office reply, by its subject alone, in ten languages: reason vacation, class ignore."""
    raw = _mail(subject, "Thank you for your message.\r\n")
    parsed = parse_message(raw)
    assert [(r.address, r.reason) for r in parsed.records] == [("alice@example.net", "vacation")]
    assert classify(parsed.records[0]).bounce_class.value == "ignore"
    assert analyse(raw, DEFAULT_POLICY).outcome is Outcome.IGNORED


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ("Auto-Submitted: auto-replied\r\n", "Danke für Ihre Nachricht.\r\n"),
        ("Precedence: bulk\r\n", "Ich bin bis zum 5. Januar nicht im Büro.\r\n"),
        ("Precedence: junk\r\n", "Je suis actuellement absente et je reviens lundi.\r\n"),
        ("X-Autoreply: yes\r\n", "Danke.\r\n"),
    ],
)
def test_out_of_office_by_header_or_words(headers: str, body: str) -> None:
    """RFC 3834's Auto-Submitted, the mark headers, or bulk mail that says it is an absence."""
    parsed = parse_message(_mail("Re: Unsere Angebote", body, headers=headers))
    assert [(r.address, r.reason) for r in parsed.records] == [("alice@example.net", "vacation")]


def _text_bounce(body: str, subject: str = "Mail delivery failed: returning message to sender") -> bytes:
    return _mail(subject, body, sender="Mail Delivery System <MAILER-DAEMON@mx.example.com>")


@pytest.mark.parametrize(
    "quoted",
    [
        "Your message is being held for moderation.",
        "Please confirm that you are a human: you are not pre-approved.",
        "Spam Quarantine Summary: 3 messages are held in your quarantine.",
        "Automatic reply: I am out of the office.",
    ],
)
@pytest.mark.parametrize(
    "error",
    [
        "  bob@example.net\r\n    SMTP error from remote mail server after RCPT TO:<bob@example.net>:\r\n"
        "    550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown\r\n",
        "  bob@example.net\r\n    Unknown user: no such mailbox here\r\n",  # no SMTP code at all
    ],
)
def test_bounce_quoting_such_words_in_the_original_stays_a_bounce(quoted: str, error: str) -> None:
    """The words of a notice in the returned original, below the copy marker, are not the bounce's."""
    raw = _text_bounce(
        "This message was created automatically by mail delivery software.\r\n\r\n"
        "A message that you sent could not be delivered to one or more of its recipients.\r\n\r\n"
        f"{error}\r\n------ This is a copy of the message, including all the headers. ------\r\n\r\n"
        f"From: news@shop.example.com\r\nTo: bob@example.net\r\nSubject: {quoted}\r\n\r\n{quoted}\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.kind != "notice"
    assert [r.address for r in parsed.records] == ["bob@example.net"]
    assert classify(parsed.records[0]).bounce_class.value != "ignore"


def test_refusal_in_such_words_stays_a_bounce() -> None:
    """A server that refuses with a notice's words ("sender not pre-approved") still refused: the SMTP
    status in the bounce's own text makes it a bounce."""
    raw = _text_bounce(
        "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        "<bob@example.net>: host mx.example.net said: 550 5.7.1 Sender not pre-approved, confirm you are human\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.kind != "notice"
    assert [r.address for r in parsed.records] == ["bob@example.net"]
    assert classify(parsed.records[0]).bounce_class.value == "soft"


def test_dsn_returning_a_read_receipt_stays_a_bounce() -> None:
    """A delivery-status report is a bounce even when what it returns is a notice."""
    raw = (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: news@shop.example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b2\"\r\n\r\n"
        "--b2\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b2\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
        "Final-Recipient: rfc822; bob@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--b2\r\nContent-Type: message/rfc822\r\n\r\n"
    ).encode() + _mdn() + b"\r\n--b2--\r\n"
    parsed = parse_message(raw)
    assert [(r.address, r.reason) for r in parsed.records] == [("bob@example.net", "userunknown")]


def test_bounce_of_an_auto_reply_stays_a_bounce() -> None:
    """An NDR whose subject quotes an auto-reply's ("Undeliverable: Automatic reply: ...") is an NDR."""
    raw = _text_bounce(
        "Delivery has failed to these recipients:\r\n\r\n<bob@example.net>: 550 5.1.1 User unknown\r\n",
        subject="Undeliverable: Automatic reply: Our offers",
    )
    assert [(r.address, r.reason) for r in parse_message(raw).records] == [("bob@example.net", "userunknown")]


def test_mail_that_is_nothing_stays_unrecognized() -> None:
    """A message that is neither a bounce nor a known notice goes to Unrecognized, not Ignored."""
    raw = _mail("Hello", "Just a note.\r\n", sender="carol@example.org")
    assert parse_message(raw).kind == ""
    assert analyse(raw, DEFAULT_POLICY).outcome is Outcome.UNRECOGNIZED


def test_parse_command_names_the_notice(tmp_path) -> None:
    """`bouncewatch parse` says what the notice is and that it is ignored; --json carries it too."""
    path = tmp_path / "mdn.eml"
    path.write_bytes(_mdn())
    result = CliRunner().invoke(main, ["parse", str(path)])
    assert result.exit_code == 0
    assert result.output == f"{path}: not a bounce (read receipt), ignored\n"
    result = CliRunner().invoke(main, ["parse", "--json", str(path)])
    assert json.loads(result.output) == {
        "file": str(path), "kind": "notice", "recipients": [], "notice": "read receipt",
        "notes": ["not a bounce: read receipt"],
    }


def test_notices_land_in_ignored_and_count_nothing(dovecot, tmp_path) -> None:
    """Through a real mailbox: six challenge notices and a read receipt for one address move to
    Bounces/Ignored and leave the address unblocked, with no soft bounce counted."""
    from .spine import Deployment

    deployment = Deployment(dovecot, tmp_path, f"sqlite:///{tmp_path}/state.db")
    challenge = _mail("Your email requires verification", "Please confirm that you are a human.\r\n")
    deployment.deliver(*(challenge.replace(b"Subject: ", f"Message-ID: <c{i}@example.net>\r\nSubject: ".encode())
                         for i in range(6)), _mdn())
    summary = deployment.poll()
    assert summary.newly_blocked == []
    assert deployment.folders() == {"Bounces/Ignored": 7}
    state = deployment.state("alice@example.net")
    assert state is None or (state.soft_count == 0 and not state.blocked)


def test_bounce_of_a_moderation_notice_stays_a_bounce() -> None:
    """A list's "awaits moderator approval" notice that could not be delivered comes back with the
    notice's subject behind a bounce subject: the failure statement makes it a bounce."""
    raw = _mail(
        "Non-Delivery: Your message to shop-talk awaits moderator approval",
        "--- Non-Delivery Report ---\r\nThe email below could not be delivered to the following user:\r\n"
        '"bob@example.net" <bob@example.net>\r\n\r\nOld message:\r\n\r\n'
        "Your mail to 'shop-talk' is being held until the list moderator can review it for approval.\r\n",
        sender="<admin@mx.example.net>",
    )
    parsed = parse_message(raw)
    assert parsed.kind != "notice"
    assert [r.address for r in parsed.records] == ["bob@example.net"]


def test_sieve_reject_is_a_rejection_not_a_read_receipt() -> None:
    """Sieve's `reject` (RFC 5429) answers with a disposition notification saying "deleted": the
    message was refused, and the recipient is reported with the reason given."""
    raw = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\r\nTo: news@shop.example.com\r\n"
        "Subject: Automatically rejected mail\r\nAuto-Submitted: auto-replied (rejected)\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Your message to <bob@example.net> was automatically rejected:\r\nQuota exceeded (mailbox for user is full)\r\n"
        "--b1\r\nContent-Type: message/disposition-notification\r\n\r\n"
        "Reporting-UA: mx.example.net; Dovecot Mail Delivery Agent\r\nFinal-Recipient: rfc822; bob@example.net\r\n"
        "Original-Message-ID: <offer-1@shop.example.com>\r\n"
        "Disposition: automatic-action/MDN-sent-automatically; deleted\r\n"
        "--b1\r\nContent-Type: message/rfc822\r\n\r\n" + ORIGINAL + "\r\n--b1--\r\n"
    ).encode()
    parsed = parse_message(raw)
    assert parsed.kind != "notice"
    assert [r.address for r in parsed.records] == ["bob@example.net"]
    assert classify(parsed.records[0]).bounce_class.value == "soft"
    assert parsed.records[0].reason == "mailboxfull"


def _challenge_dsn(diagnostic: str) -> bytes:
    return (
        "From: noreply@screening.example.org\r\nTo: news@shop.example.com\r\nSubject: Re: Our offers\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message has been waitlisted. Click below to be added to my list.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; screening.example.org\r\n"
        "Action: failed\r\n\r\nFinal-Recipient: rfc822; alice@example.net\r\n"
        f"Diagnostic-Code: {diagnostic}\r\nStatus: 4.7.0\r\n\r\n"
        "--b1\r\nContent-Type: message/rfc822\r\n\r\n" + ORIGINAL + "\r\n--b1--\r\n"
    ).encode()


def test_challenge_in_a_delivery_status_report_is_a_notice() -> None:
    """A challenge service that sends its request as a DSN, its own notice as the diagnostic."""
    _assert_notice(_challenge_dsn("X-Screening-Notice; Sender not pre-approved. Follow the instructions above"),
                   "challenge-response")


def test_a_server_refusing_in_challenge_words_in_a_report_stays_a_bounce() -> None:
    """The same words as an SMTP answer are a server's refusal."""
    parsed = parse_message(_challenge_dsn("smtp; 550 Sender not pre-approved"))
    assert parsed.kind != "notice"
    assert [r.address for r in parsed.records] == ["alice@example.net"]


def test_a_server_answering_with_the_challenge_itself_is_a_notice() -> None:
    """An SMTP answer that asks the sender to confirm (a whitelisting server's challenge) says
    the address is there and waits for the sender: nothing counts."""
    _assert_notice(_challenge_dsn(
        "smtp; 550 Your server requires confirmation. Visit\r\n    http://mx.example.net/Whitelist.aspx?IP=192.0.2.7 to\r\n"
        "    confirm this mail server."), "challenge-response")
