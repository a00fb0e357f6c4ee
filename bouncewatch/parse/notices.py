"""Mail that looks like a bounce and is not one: read receipts, challenge-response requests,
moderation holds and spam-quarantine digests.

None of them says the address failed: a read receipt says it works, the others that a message
waits for someone's action. The parser records nothing for them (kind ``notice``) and the
message is archived as Ignored; with VERP, the return path they were sent to counts nothing
either. Auto-replies (``autoreply``) are reported with reason ``vacation`` instead.

A read receipt is recognised by its structure (RFC 8098). The others by their own words: the
subject and the notice's text before any copy of the returned original, and never in a message
that carries a feedback report, X-Failed-Recipients, or an SMTP status code
in its own text (a server's refusal that happens to use such words is a bounce), nor in one
whose subject and own text say a message was not delivered (the bounce of a moderation notice
or of a challenge is a bounce). A disposition notification that says the message was deleted
or refused (a Sieve `reject`, RFC 5429) is a rejection, not a receipt. A delivery-status
report is a notice only where its diagnostics are a challenge service's own words, not a
server's SMTP answer, unless that answer is itself a challenge asking the sender to confirm
("550 Your server requires confirmation. Visit ... to confirm this mail server."): the address
is live.
"""

from __future__ import annotations

import re

from email.message import Message

from .dsn import fields
from .formats.generic import has_bounce_subject
from .mailview import MailView
from .reasons import fold
from .textreport import body_section

# How much of the notice's own text is read: its opening, never a long quoted original.
_READ = 3000
_MAX_PARTS = 10

# The patterns are folded like the text they are tried on (reasons.fold: lowercased, accents
# dropped), so they use no upper-case escape (\A, \S, \W, \B, \D).
_RECEIPT_SUBJECT = re.compile(fold(
    r"^(?:read|gelesen|lu|leido|letto|lido|gelezen|прочитано|прочитан[оа]?|已读|已讀|開封済み)\s?:"
    r"|^(?:return receipt|read receipt|read-receipt|disposition notification)\b"
    r"|lesebestätigung|accusé de lecture|confirmación de lectura|conferma di lettura|confirmação de leitura"
    r"|leesbevestiging|уведомление о прочтении|開封確認|已读回执|已讀回條"
))
_RECEIPT_TEXT = re.compile(fold(
    r"\bwas (?:read|displayed|opened) on\b|\bwas read by\b|wurde (?:am .{1,40} )?gelesen"
    r"|\ba été lu\b|\bfue leído\b|\bè stato letto\b|\bfoi lid[oa]\b|\bis gelezen\b|был[оа]? прочитан"
))

_CHALLENGE = re.compile(fold(
    r"\bnot (?:been )?pre-?approved\b|\bpre-?approved senders?\b|\bapproved senders? list\b"
    r"|\blist of approved senders\b"
    r"|\bchallenge[ /-]response\b|\brequires? (?:your )?(?:verification|confirmation)\b"
    r"|\bto confirm (?:this|your) (?:mail )?(?:server|address|message)\b"
    r"|\bplease confirm your message\b"
    r"|\b(?:confirm|verify|prove|show)(?: that)? you(?:'re| are) (?:a )?"
    r"(?:human|real person|person|not a (?:spam ?)?robot|not a spammer)\b"
    r"|\bare you (?:a )?human\b|\bi'?m not a robot\b"
    r"|dass sie (?:ein mensch|kein roboter) sind|\bkein roboter\b"
    r"|que vous (?:êtes|etes) (?:un humain|une personne|un être humain)|\bpas un robot\b"
    r"|que (?:usted )?(?:es|eres) (?:un )?(?:humano|una persona)\b|\bno (?:es|eres) un robot\b"
    r"|\bnon (?:sei|è) un robot\b|che (?:sei|è) un essere umano"
    r"|\bnão (?:é|és) um robô\b|que (?:você )?é (?:um )?humano\b"
    r"|\bgeen robot\b|dat u een mens bent"
    r"|не робот|ロボットではない|不是机器人|不是機器人"
))
_MODERATION = re.compile(fold(
    r"\bheld for (?:moderation|review|approval|moderator)|\bheld until (?:the |a )?(?:list )?moderator"
    r"|\bawait(?:s|ing) (?:the )?(?:list )?(?:moderator(?:'s)? |moderation |your )?approval\b"
    r"|\bawaiting moderation\b"
    r"|\bpending (?:moderation|moderator approval|approval by (?:the |a )?moderator)"
    r"|\brequires? (?:the )?moderator(?:'s)? approval\b"
    r"|\b(?:submitted|forwarded|sent) (?:to|for) (?:the )?(?:list )?moderat(?:or|ion)"
    r"|\bqueued for moderation\b|\bis being moderated\b"
    r"|wartet auf (?:die )?freigabe|zur moderation (?:zurückgehalten|vorgelegt)"
    r"|moderator(?:en)? (?:zur freigabe|freigegeben)"
    r"|en attente (?:de modération|de validation|d'approbation)|soumis (?:au|aux) modérateurs?|retenu pour modération"
    r"|pendiente de (?:moderación|aprobación)|en espera de (?:moderación|aprobación)|retenido para moderación"
    r"|in attesa di (?:moderazione|approvazione)|aguardando (?:moderação|aprovação)|retid[ao] para moderação"
    r"|wacht op goedkeuring|in afwachting van (?:moderatie|goedkeuring)|vastgehouden voor moderatie"
    r"|ожидает (?:одобрения|модерации|проверки модератором)|承認待ち|等待审核|等待審核"
))
_QUARANTINE_WORD = r"(?:(?<!\w)(?:quarant\w*|cuarentena|quarentena|карантин\w*)|隔離|隔离)"
_DIGEST_WORD = (
    r"(?:summary|digest|report|notification|bericht|zusammenfassung|übersicht|rapport|résumé|resumen|informe"
    r"|riepilogo|rapporto|resumo|relatório|overzicht|отч[её]т|сводка|レポート|通知|摘要|报告|報告)"
)
_QUARANTINE = re.compile(fold(
    rf"{_QUARANTINE_WORD}[ -]?{_DIGEST_WORD}|\b{_DIGEST_WORD} (?:\w+ ){{0,2}}{_QUARANTINE_WORD}"
    rf"|\bspam[ -]?(?:quarantine|digest|summary)\b|\bend[ -]user (?:spam )?digest\b"
    rf"|\bjunk (?:e-?mail |mail )?(?:summary|digest)\b"
    rf"|\b(?:messages?|e-?mails?) (?:\w+ ){{0,3}}in (?:your |the )?(?:personal )?(?:spam )?quarantine\b"
))

# Each kind with words one of which every phrase of its pattern contains: most mail has none of
# them, and a plain substring test is much cheaper than the patterns.
_CHALLENGE_WORDS = (
    "approved", "challenge", "verification", "confirm", "you are", "you're", "human", "robo", "dass sie",
    "que vous", "humano", "una persona", "essere umano", "een mens", "робот", "ロボット", "机器人", "機器人",
)
_WORDED: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("challenge-response", _CHALLENGE_WORDS, _CHALLENGE),
    ("held for moderation", (
        "held", "await", "pending", "modera", "freigabe", "en attente", "pendiente", "en espera", "in attesa",
        "aguardando", "goedkeuring", "afwachting", "ожидает", "承認待ち", "等待",
    ), _MODERATION),
    ("quarantine digest", ("quarant", "cuarentena", "quarentena", "карантин", "隔離", "隔离", "spam", "digest", "junk"),
     _QUARANTINE),
)

# A challenge that tells the sender what to do to get through (a refusal in challenge words
# that asks for nothing, "550 Sender not pre-approved", is a whitelist-only mailbox's bounce).
_ASKS_TO_CONFIRM = re.compile(r"\b(?:visit|click|confirm|verify|follow the (?:link|instructions))\b|https?://")

# A server's refusal in the notice's own text: it is a bounce, whatever else it says.
_SMTP_STATUS = re.compile(
    r"(?<![\d.])[45]\.\d{1,3}\.\d{1,3}(?![\d.])|(?:^|:)[ \t]*[45]\d\d[ -](?:[45]\.\d|[a-z<(#'\"])", re.M
)
# A statement that a message was not delivered, in the languages of the other patterns.
_UNDELIVERED = re.compile(fold(
    r"\b(?:could|can) ?not be delivered|\bcouldn't be delivered|\b(?:was|were|has|have) not (?:been )?delivered"
    r"|\bundeliverable\b|\bnon-?delivery\b|\bdelivery (?:has )?failed|\bdelivery failure"
    r"|\bfailed to deliver|\bunable to deliver|n'a pas pu (?:être|etre) (?:délivré|delivre|remis|distribué)"
    r"|\bnon remis\b|nicht zugestellt|unzustellbar|no (?:se )?pudo (?:ser )?entregar|non è stato (?:recapitato|consegnato)"
    r"|não (?:pôde ser|foi) entregue|niet (?:afgeleverd|bezorgd)|не (?:может быть )?доставлен"
    r"|配信できません|届きませんでした|无法投递|無法傳遞|投递失败"
))
# The disposition of an MDN (RFC 8098 section 3.2.6): a receipt is "displayed" (or dispatched,
# processed); "deleted" sent automatically is how Sieve's `reject` refuses a message.
_REFUSED_DISPOSITIONS = frozenset({"deleted", "denied", "failed", "error"})
_MDN_TYPE = re.compile(r"report-type\s*=\s*\"?disposition-notification", re.I)


def notice_of(view: MailView) -> str:
    """What kind of non-bounce notice the message is ("read receipt", "challenge-response",
    "held for moderation", "quarantine digest"), or ``""`` when it is none of them."""
    if view.reports:
        return _report_notice(view)
    if view.feedback or view.header("X-Failed-Recipients"):
        return ""
    if _is_read_receipt(view):
        return "read receipt"
    subject = fold(view.subject)
    head = subject + "\n" + fold(view.body[:_READ])  # the notice's own text is a part of it
    kinds = [(kind, pattern) for kind, keys, pattern in _WORDED if any(k in head for k in keys)]
    if not kinds:
        return ""
    text = fold(body_section(view)[:_READ])
    if _SMTP_STATUS.search(text):
        return ""
    words = subject + "\n" + text
    if has_bounce_subject(view) and _UNDELIVERED.search(words):
        return ""
    for kind, pattern in kinds:
        if pattern.search(words):
            return kind
    return ""


def _report_notice(view: MailView) -> str:
    """The kind of notice a delivery-status report carries in place of a refusal, or ``""``.

    Challenge-response services send their request as a DSN whose Diagnostic-Code is their own
    notice ("X-Boxbe-Notice; Sender not pre-approved"): no server refused anything. A diagnostic
    of type smtp, or one quoting an SMTP status, is a server's refusal and so a bounce."""
    diagnostics = [value for text in view.reports for name, value in fields(text) if name == "diagnostic-code"]
    if not diagnostics:
        return ""
    kinds = set()
    for value in diagnostics:
        diagnostic_type, _, text = value.partition(";")
        text = fold(text)
        if diagnostic_type.strip().lower() == "smtp" or _SMTP_STATUS.search(text):
            # a server's refusal, unless it is the challenge itself: "550 Your server requires
            # confirmation. Visit ... to confirm this mail server." (the address is live)
            challenge = any(k in text for k in _CHALLENGE_WORDS) and _CHALLENGE.search(text)
            if not (challenge and _ASKS_TO_CONFIRM.search(text)):
                return ""
            kinds.add("challenge-response")
            continue
        kind = next((kind for kind, _, pattern in _WORDED if pattern.search(text)), "")
        if not kind:
            return ""
        kinds.add(kind)
    return kinds.pop() if len(kinds) == 1 else ""


def _is_read_receipt(view: MailView) -> bool:
    """An RFC 8098 disposition notification, or a receipt in words (Notes, older Outlook)."""
    mdn_type = view.content_type == "multipart/report" and bool(_MDN_TYPE.search(view.header("Content-Type")))
    if view.content_type.startswith("multipart/"):
        payload = view.msg.get_payload()
        if isinstance(payload, list):
            for part in payload[:_MAX_PARTS]:
                if isinstance(part, Message) and part.get_content_type() == "message/disposition-notification":
                    return not _refused(part)
    if mdn_type:
        return True
    subject = fold(view.subject)
    return bool(_RECEIPT_SUBJECT.search(subject)) and bool(_RECEIPT_TEXT.search(fold(view.body[:_READ])))


def _refused(part: Message) -> bool:
    """True when a disposition notification says the message was deleted or refused."""
    payload = part.get_payload()
    if isinstance(payload, list):  # message/* parts parse their body as a message
        text = "\n".join(str(item) for item in payload[:_MAX_PARTS])
    else:
        text = str(payload)
    disposition_type = dict(fields(text)).get("disposition", "").partition(";")[2]
    return disposition_type.split("/")[0].strip().lower() in _REFUSED_DISPOSITIONS
