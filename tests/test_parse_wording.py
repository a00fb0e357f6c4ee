"""Reasons from wording: the phrase table in ten languages (folding, gaps, what must not match), the
SMTP stage read from words, status codes quoted in the text, and the error paragraph of a text bounce.

The examples are written from the standards (RFC 3463, RFC 5321) and the generic replies mail
servers give in each language, not copied from any corpus file.
"""

from __future__ import annotations

import pytest

from bouncewatch.parse import parse_message
from bouncewatch.parse.finalize import find_command, join_reply_lines
from bouncewatch.parse.reasons import Evidence, fold, match_text, matches, reason_for
from bouncewatch.parse.reasons_data import LANGUAGES, WORDING
from bouncewatch.parse.status import find_status
from bouncewatch.records import REASONS

# The families a bounce's reader needs in every language: the address, the domain, the mailbox,
# the message, the delivery, the sender and the servers.
EVERY_LANGUAGE = (
    "userunknown", "hostunknown", "mailboxfull", "mesgtoobig", "suspend", "expired", "rejected", "blocked",
    "spamdetected", "virusdetected", "policyviolation", "norelaying", "networkerror", "systemerror",
    "toomanyconn", "securityerror",
)


def _phrases():
    for reason, wording in WORDING.items():
        for lang in LANGUAGES:
            for phrase in getattr(wording, lang):
                yield reason, lang, phrase


def test_every_reason_of_the_vocabulary_has_an_entry() -> None:
    """The table names every reason of the vocabulary (the one `[policy] overrides` accepts), and nothing else."""
    assert set(WORDING) == REASONS


@pytest.mark.parametrize("reason", EVERY_LANGUAGE)
def test_main_families_are_worded_in_every_language(reason: str) -> None:
    """Each main reason family has phrases in all ten languages."""
    wording = WORDING[reason]
    missing = [lang for lang in LANGUAGES if not getattr(wording, lang)]
    assert not missing, (reason, missing)


def test_phrases_are_lowercase_and_unique() -> None:
    """A phrase with a capital letter could never match the lowercased text; none is listed twice in a language."""
    seen: set[tuple[str, str, str]] = set()
    for reason, lang, phrase in _phrases():
        assert phrase == phrase.lower(), (reason, lang, phrase)
        assert phrase.strip(), (reason, lang)
        assert (reason, lang, phrase) not in seen, (reason, lang, phrase)
        seen.add((reason, lang, phrase))


def test_every_phrase_is_found_in_a_sentence() -> None:
    """Each phrase of the table, inside a longer sentence and in the server's capitals, reads as its reason
    (the one-pass scan, the folding of accents and the gaps between a phrase's parts all work)."""
    failures = []
    for reason, lang, phrase in _phrases():
        words = phrase.replace(" * ", " de la part du serveur ")
        text = f"550 Error: {words.upper() if lang not in ('ja', 'zh') else words} (see the message below)"
        if not matches(reason, fold(text)):
            failures.append((reason, lang, phrase))
    assert not failures, failures[:10]


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Empfänger unbekannt", "empfaenger unbekannt"),
        ("Boîte aux lettres pleine", "boite aux lettres pleine"),
        ("Usuário não encontrado", "usuario nao encontrado"),
        ("Größe überschritten", "groesse ueberschritten"),
        ("Учётная запись", "учетная запись"),
        ("l’adresse n’existe pas", "l'adresse n'existe pas"),
        ("ユーザが存在しません", "ユーザが存在しません"),
        ("plain ascii 550 5.1.1", "plain ascii 550 5.1.1"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    """Accents, umlauts, ß, ё and typographic quotes fold to plain letters; other scripts stay as written."""
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # userunknown: in reply to RCPT TO, the stage where a server checks the address
        ("550 5.1.1 Empfänger unbekannt", "userunknown"),
        ("550 Empfaenger unbekannt", "userunknown"),
        ("550 Die E-Mail-Adresse des Empfängers existiert nicht", "userunknown"),
        ("550 5.1.1 Utilisateur inconnu", "userunknown"),
        ("550 L'adresse de messagerie indiquée n’existe pas", "userunknown"),
        ("550 Usuario desconocido", "userunknown"),
        ("550 El usuario indicado no existe", "userunknown"),
        ("550 Utente sconosciuto", "userunknown"),
        ("550 La casella di posta non esiste", "userunknown"),
        ("550 Usuário desconhecido", "userunknown"),
        ("550 O endereço informado não existe", "userunknown"),
        ("550 Onbekende gebruiker", "userunknown"),
        ("550 Het adres bestaat niet", "userunknown"),
        ("550 Пользователь не найден", "userunknown"),
        ("550 Почтовый ящик не существует", "userunknown"),
        ("550 指定されたユーザは存在しません", "userunknown"),
        ("550 收件人不存在", "userunknown"),
        ("550 No such user here", "userunknown"),
        ("550 Not a valid user", "userunknown"),
    ],
)
def test_recipient_unknown_in_every_language(text: str, reason: str) -> None:
    """A rejected recipient reads as userunknown in each language, with or without a status code."""
    assert reason_for(Evidence(diagnostic=text, reply_code="550", command="RCPT")) == reason
    assert reason_for(Evidence(status="5.1.1", diagnostic=text, reply_code="550")) == reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Domain existiert nicht", "hostunknown"),
        ("Le domaine example.fr n'existe pas", "hostunknown"),
        ("Dominio inexistente", "hostunknown"),
        ("Il dominio non esiste", "hostunknown"),
        ("Domínio não encontrado", "hostunknown"),
        ("Domein bestaat niet", "hostunknown"),
        ("Домен не найден", "hostunknown"),
        ("ドメインが見つかりません", "hostunknown"),
        ("域名不存在", "hostunknown"),
        ("Host or domain name not found. Name service error for name=example.invalid type=A", "hostunknown"),
        ("connect to example.invalid: Name or service not known", "hostunknown"),
    ],
)
def test_host_unknown_in_every_language(text: str, reason: str) -> None:
    """A domain that does not exist reads as hostunknown in each language."""
    assert match_text(text) == reason
    assert reason_for(Evidence(status="5.1.2", diagnostic=text)) == reason


@pytest.mark.parametrize(
    ("status", "text", "reason"),
    [
        ("5.2.2", "Postfach voll", "mailboxfull"),
        ("4.2.2", "Boîte aux lettres pleine", "mailboxfull"),
        ("5.2.2", "Buzón lleno", "mailboxfull"),
        ("5.2.2", "Casella piena", "mailboxfull"),
        ("5.2.2", "Caixa postal cheia", "mailboxfull"),
        ("5.2.2", "Mailbox is vol", "mailboxfull"),
        ("5.2.2", "Почтовый ящик переполнен", "mailboxfull"),
        ("5.2.2", "メールボックスがいっぱいです", "mailboxfull"),
        ("5.2.2", "邮箱已满", "mailboxfull"),
        ("5.0.0", "Nachricht ist zu groß", "mesgtoobig"),
        ("5.0.0", "Сообщение слишком большое", "mesgtoobig"),
        ("5.0.0", "邮件太大", "mesgtoobig"),
        ("5.0.0", "Konto ist deaktiviert", "suspend"),
        ("5.0.0", "Cuenta suspendida", "suspend"),
        ("5.0.0", "Account disabilitato", "suspend"),
        ("5.7.1", "Als Spam erkannt", "spamdetected"),
        ("5.7.1", "Le message a été détecté comme spam", "spamdetected"),
        ("5.7.1", "垃圾邮件", "spamdetected"),
        ("5.7.1", "Relaying nicht erlaubt", "norelaying"),
        ("5.7.1", "Relais non autorisé", "norelaying"),
    ],
)
def test_mailbox_message_and_relay_wording(status: str, text: str, reason: str) -> None:
    """Full mailboxes, oversized messages, suspended accounts, spam and relaying read right in each language."""
    assert reason_for(Evidence(status=status, diagnostic=text, command="RCPT")) == reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Technical details of permanent failure: The recipient server did not accept our requests to connect.",
         "expired"),
        ("Message will be retried for 2 more day(s)", "expired"),
        ("Die Zustellung wird erneut versucht", "expired"),
        ("Verbindung zum Server fehlgeschlagen", "networkerror"),
        ("Ошибка сети", "networkerror"),
        ("Interner Fehler", "systemerror"),
        ("系统错误", "systemerror"),
        ("Zu viele Verbindungen", "toomanyconn"),
        ("452 4.3.2 Connection rate limit exceeded", "toomanyconn"),
    ],
)
def test_delivery_and_server_wording(text: str, reason: str) -> None:
    """Connection failures, delays and server trouble are told apart, and a connection failure is not onhold."""
    assert reason_for(Evidence(diagnostic=text)) == reason


@pytest.mark.parametrize(
    ("status", "command", "text", "not_reason", "reason"),
    [
        # the sender's address or domain, not the recipient's
        ("5.1.8", "MAIL", "553 5.1.8 Domain of sender address bob@example.org does not exist", "userunknown",
         "rejected"),
        ("5.1.0", "", "550 5.1.0 <bounce@example.org> sender rejected", "userunknown", "rejected"),
        ("", "MAIL", "550 Absender abgelehnt", "userunknown", "rejected"),
        ("", "MAIL", "550 Sender address rejected: Domain not found", "hostunknown", "rejected"),
        ("5.7.1", "RCPT", "550 5.7.1 Your IP address 192.0.2.1 is blocked", "userunknown", "blocked"),
        ("5.7.1", "RCPT", "554 5.7.1 Ihre IP-Adresse ist gesperrt", "userunknown", "blocked"),
        ("", "", "Google tried to deliver your message, but it was rejected by the recipient domain.", "filtered",
         "onhold"),
        ("4.7.650", "", "451 4.7.650 The mail server has been temporarily rate limited due to IP reputation.",
         "speeding", "badreputation"),
    ],
)
def test_sender_side_is_not_the_recipient(status: str, command: str, text: str, not_reason: str, reason: str) -> None:
    """A block of the sender (its address, domain or IP) never reads as an unknown recipient or domain."""
    got = reason_for(Evidence(status=status, diagnostic=text, command=command))
    assert got != not_reason
    assert got == reason


@pytest.mark.parametrize(
    "text",
    [
        "this message will not be retried",
        "the domain does not accept mail from your ip",
        "we will not retry",
    ],
)
def test_words_that_look_alike(text: str) -> None:
    """Phrases are matched as written: a final failure's "will not be retried" is not a retry."""
    assert not matches("expired", fold(text))


def _bounce(body: str, subject: str = "Mail delivery failed") -> bytes:
    """A bounce in no standard layout: a mailer daemon's plain text, UTF-8."""
    return (
        "From: MAILER-DAEMON@mail.example.org\r\nTo: sender@example.org\r\n"
        f"Subject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + body
    ).encode("utf-8")


def test_german_text_bounce_end_to_end() -> None:
    """A German bounce in no standard layout gives the recipient with reason userunknown and a pseudo status."""
    raw = _bounce(
        "Ihre Nachricht konnte nicht zugestellt werden.\r\n\r\n"
        "<niemand@example.de>: host mx.example.de said: 550 Benutzer unbekannt (in reply to RCPT TO command)\r\n",
        subject="Unzustellbar: Ihre Nachricht",
    )
    records = parse_message(raw).records
    assert [(r.address, r.reason) for r in records] == [("niemand@example.de", "userunknown")]
    assert records[0].status == "5.0.911"


def test_status_quoted_after_a_reply_code_wins() -> None:
    """A reporting MTA's own generic code loses to the remote server's code quoted after a reply code,
    and of several quoted replies the last, innermost one is the remote server's own."""
    assert find_status("5.1.0 - Unknown address error 550-'5.2.2 <a@example.jp>... Mailbox Full'") == "5.2.2"
    assert find_status("554 4.4.7 Message expired: unable to deliver.<421 4.4.2 Connection timed out>") == "4.4.2"
    assert find_status("550-5.7.1 first line 550 5.7.1 last line") == "5.7.1"
    assert find_status("5.1.0 address rejected") == "5.1.0"


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("192.0.2.1 does not like recipient. Remote host said: 550 No such user", "RCPT"),
        ("Connected to 192.0.2.1 but sender was rejected. Remote host said: 553 denied", "MAIL"),
        ("Connected to 192.0.2.1 but my name was rejected.", "HELO"),
        ("192.0.2.1 failed after I sent the message. Remote host said: 554 rejected", "DATA"),
        ("mx.example.com [192.0.2.1] did not like our final DATA: 550 5.7.1 spam", "DATA"),
        ("mx.example.com [192.0.2.1] did not like our RCPT TO: 550 5.1.1 unknown", "RCPT"),
        ("Unknown user RCPT TO generated following response: 553 5.3.0 Addressee unknown", "RCPT"),
        ("550 5.1.1 user unknown", ""),
    ],
)
def test_stage_words(text: str, command: str) -> None:
    """The SMTP stage a server refused is read from the words qmail, DragonFly and IMail use for it."""
    assert find_command(text) == command


def test_qmail_recipient_refusal_is_userunknown() -> None:
    """qmail's 'does not like recipient' puts an unknown-user reply at RCPT: userunknown, not filtered."""
    raw = _bounce(
        "Hi. This is the qmail-send program at mail.example.org.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        "<nobody@example.net>:\r\n"
        "192.0.2.7 does not like recipient.\r\n"
        "Remote host said: 550 nobody@example.net... No such user\r\n"
        "Giving up on 192.0.2.7.\r\n\r\n"
        "--- Below this line is a copy of the message.\r\n",
        subject="failure notice",
    )
    records = parse_message(raw).records
    assert [(r.address, r.reason) for r in records] == [("nobody@example.net", "userunknown")]


@pytest.mark.parametrize(
    ("error", "reason", "status"),
    [
        ("mx.example.net [192.0.2.9] did not like our final DATA:\r\n"
         "550 5.7.26 Unauthenticated email is not accepted due to the sender domain's DMARC policy.",
         "authfailure", "5.7.26"),
        ("DNS lookup failure: host example.net not found", "hostunknown", "5.0.912"),
        ("Could not deliver for the last 432000 seconds. Giving up.", "expired", "5.0.947"),
    ],
)
def test_error_in_the_paragraph_after_the_statement(error: str, reason: str, status: str) -> None:
    """'There was an error delivering your mail to <a@b>.' then a blank line then the error: the error is read."""
    raw = _bounce(
        "This is the mail agent at mail.example.org.\r\n\r\n"
        "There was an error delivering your mail to <someone@example.net>.\r\n\r\n"
        f"{error}\r\n\r\n"
        "Message headers follow.\r\n\r\n"
        "Received: from sender (uid 0)\r\nSubject: hello\r\nTo: <someone@example.net>\r\n"
    )
    (record,) = parse_message(raw).records
    assert (record.address, record.reason, record.status) == ("someone@example.net", reason, status)


def test_paragraph_after_a_statement_that_says_why_is_not_taken() -> None:
    """When the line naming the address already gives the error, the next paragraph is left alone."""
    raw = _bounce(
        "<someone@example.net>: 550 5.2.2 mailbox full, message refused by the server\r\n\r\n"
        "We will not retry; the message below is spam detected by our own filter.\r\n"
    )
    (record,) = parse_message(raw).records
    assert record.reason == "mailboxfull"
    assert "spam" not in record.diagnostic


@pytest.mark.parametrize(
    ("evidence", "reason"),
    [
        # the type of a Diagnostic-Code says who wrote it: a quoted remote reply is read as such
        (Evidence(status="5.0.0", diagnostic="host mx.example.net[192.0.2.1] said: 550 unknown user <a@example.net>",
                  reply_code="550", command="RCPT", diag_type="X-POSTFIX"), "userunknown"),
        (Evidence(status="5.0.0", diagnostic="No such domain.", diag_type="UNKNOWN"), "hostunknown"),
        (Evidence(status="5.1.1", diagnostic='unknown user: "bob"', diag_type="X-POSTFIX"), "userunknown"),
        # our HELO refused for good, then qmail's "queue too long" trailer: the refusal says why
        (Evidence(status="5.0.0", diagnostic="Connected to 192.0.2.1 but my name was rejected. Remote host said: "
                  "501 5.0.0 Invalid domain name I'm not going to try again; this message has been in the queue too "
                  "long.", reply_code="501", command="HELO"), "blocked"),
        # a delay whose only other sign is a generic status code
        (Evidence(status="4.4.0", diagnostic="The server will continue trying for up to 21 hours.",
                  action="delayed"), "expired"),
        (Evidence(status="4.4.0", diagnostic="", action="delayed"), "expired"),
        # Postfix's bare refusal at RCPT
        (Evidence(status="5.0.0", diagnostic="550 <a@example.net>: Recipient address rejected.", reply_code="550",
                  command="RCPT"), "userunknown"),
    ],
)
def test_reason_decisions(evidence: Evidence, reason: str) -> None:
    """The order of the reason table: diagnostic types, a refused greeting, delays, bare refusals."""
    assert reason_for(evidence) == reason


@pytest.mark.parametrize(
    "text",
    [
        "connect to mx.example.net[192.0.2.1]:25: No route to host",
        "Host unreachable",
        "Host or domain name not found. Name service error for name=example.net type=MX: Host not found, try again",
    ],
)
def test_network_trouble_is_not_an_unknown_domain(text: str) -> None:
    """An unreachable host or a DNS lookup to try again is a network error, never a domain that does not
    exist (which would block the address at once)."""
    assert reason_for(Evidence(diagnostic=text)) != "hostunknown"
    assert reason_for(Evidence(status="4.4.1", diagnostic=text)) != "hostunknown"


def test_sender_ip_block_next_to_mailbox_wording_is_not_userunknown() -> None:
    """'Mailbox unavailable. Your IP address is blacklisted' blocks the sender, not the address."""
    text = "550 5.2.1 Mailbox unavailable. Your IP address 192.0.2.1 is blacklisted using RBL."
    assert reason_for(Evidence(diagnostic=text, reply_code="550", command="RCPT")) != "userunknown"


def test_multiline_reply_reads_as_one_sentence() -> None:
    """The code a multi-line SMTP reply repeats on each line is dropped, so its words read as written."""
    text = "550-5.7.1 [192.0.2.1 13] Messages with multiple 550 5.7.1 addresses in From: header are not accepted."
    assert join_reply_lines(text) == (
        "550-5.7.1 [192.0.2.1 13] Messages with multiple addresses in From: header are not accepted."
    )
    assert reason_for(Evidence(status="5.7.1", diagnostic=join_reply_lines(text))) == "notcompliantrfc"
    single = "554 4.4.7 Message expired: unable to deliver.<421 4.4.2 Connection timed out>"
    assert join_reply_lines(single) == single


def test_retries_ended_reads_as_expired() -> None:
    """'Message expired' next to the last temporary reply is expired: the sending server gave up."""
    text = "554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>"
    assert reason_for(Evidence(status="4.4.2", diagnostic=text, reply_code="421")) == "expired"


def test_reason_from_the_whole_report_about_one_recipient() -> None:
    """A report about one recipient whose own line says nothing gives the reason its text states elsewhere."""
    raw = _bounce(
        "Your message cannot be delivered to the following recipients:\r\n\r\n"
        "  Recipient address: someone@example.net\r\n"
        "  Reason: recipient reached disk quota\r\n\r\n--- Below this line is a copy of the message.\r\n"
    )
    (record,) = parse_message(raw).records
    assert (record.address, record.reason) == ("someone@example.net", "mailboxfull")


def test_reason_is_not_borrowed_between_recipients() -> None:
    """With two recipients, one whose line gives no reason does not take the other's."""
    raw = _bounce(
        "Your message cannot be delivered to the following recipients:\r\n\r\n"
        "<first@example.net>: mailbox full\r\n\r\n"
        "<second@example.net>:\r\n\r\n--- Below this line is a copy of the message.\r\n"
    )
    records = {r.address: r.reason for r in parse_message(raw).records}
    assert records["first@example.net"] == "mailboxfull"
    assert records.get("second@example.net") in (None, "onhold")


@pytest.mark.parametrize(
    ("evidence", "reason"),
    [
        (Evidence(status="5.0.0", diagnostic="The address is on the account-level suppression list of the "
                  "sending service."), "suppressed"),
        (Evidence(status="4.7.0", diagnostic="421 4.7.0 TLS handshake failed with mx.example.net"), "failedstarttls"),
    ],
)
def test_reasons_outside_the_recipients_server(evidence: Evidence, reason: str) -> None:
    """A suppression by the sender's own provider or a failed TLS handshake is said as such, not as the address."""
    assert reason_for(evidence) == reason


def test_local_delivery_agent_refusal_is_userunknown() -> None:
    """sendmail's mail.local refusing an unknown user is userunknown: no SMTP DATA stage to filter at."""
    assert find_command("----- Transcript of session follows ----- mail.local: unknown user: bob") == "LOCAL"
    text = "mail.local: unknown user: bob 554 <bob@example.net>... Service unavailable"
    assert reason_for(Evidence(status="5.5.0", diagnostic=text, command="LOCAL")) == "userunknown"


def test_user_unknown_next_to_a_disabled_account_is_suspend() -> None:
    """'550 user unknown' in a report that also says the account is disabled does not block at once."""
    raw = _bounce(
        "The user(s) account is disabled.\r\n\r\n"
        "<someone@example.net>: 550 user unknown (in reply to RCPT TO command)\r\n",
        subject="Mail System Error - Returned Mail",
    )
    (record,) = parse_message(raw).records
    assert record.reason == "suspend"


def test_text_in_another_charset_of_the_same_script_is_read() -> None:
    """A Japanese bounce labelled ISO-2022-JP but written in EUC-JP (as Japanese carriers send) is
    decoded, so its words count: 'the mailbox is full' gives mailboxfull."""
    body = "送信先のメールボックスが一杯のため、送信できませんでした。\r\n\r\n<someone@example.jp>\r\n"
    raw = (
        b"From: MAILER-DAEMON@mail.example.jp\r\nTo: sender@example.org\r\nSubject: Returned mail\r\n"
        b'Content-Type: text/plain; charset="ISO-2022-JP"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
        + body.encode("euc-jp")
    )
    (record,) = parse_message(raw).records
    assert (record.address, record.reason) == ("someone@example.jp", "mailboxfull")
