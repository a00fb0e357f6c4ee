"""Turn what a detector found about one recipient (a Draft) into a finished BounceRecord.

Common to every format: unfold the diagnostic, take status and reply codes from it when the
report's own fields lack them, find the SMTP command the error answered, ask the reason table,
and infer a status code from the reason when the message gives none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..records import BounceRecord
from .reasons import Evidence, fold, matches, reason_for, status_reason
from .status import find_reply_code, find_status, is_status, is_temporary, pseudo_status

_SPECIFIC = re.compile(r"\A[45]\.[1-9]\.[1-9]\Z")
_SPECIFIC_DETAIL = re.compile(r"\A[45]\.[1-9]\.[1-9][0-9]{0,2}\Z")
_COMMAND = re.compile(
    r"\b(?:in reply to|after|for|while sending|response to)\s+"
    r"(?:the\s+)?(rcpt to|mail from|data|end of data|helo|ehlo|message body|connect|initial connection)",
    re.I,
)
_COMMAND_WORDS = ("rcpt to", "mail from", "data", "helo", "ehlo", "message body", "connect")  # in every _COMMAND match
_COMMAND_NAMES = {
    "rcpt to": "RCPT", "mail from": "MAIL", "data": "DATA", "end of data": "DATA",
    "message body": "DATA", "helo": "HELO", "ehlo": "EHLO", "connect": "CONN",
    "initial connection": "CONN",
}
_ACTIONS = {
    "failed": "failed", "failure": "failed", "delayed": "delayed", "delivered": "delivered",
    "relayed": "relayed", "expanded": "expanded", "deferred": "delayed",
    # Not in RFC 3464; written for mail returned once retrying ran out ("Undelivered Mail
    # Returned to Sender"): the server gave up.
    "expired": "failed",
}
_QUIET_REASONS = frozenset({"delivered", "feedback", "vacation"})


@dataclass(slots=True)
class Draft:
    """One recipient as a detector read it, before the common finishing steps."""

    address: str
    status: str = ""
    reply_code: str = ""
    diagnostic: str = ""
    action: str = ""
    remote_mta: str = ""
    command: str = ""
    diag_type: str = "SMTP"
    hint: str = ""
    feedback_type: str = ""
    context: str = ""  # the message's whole error text, when the message reports on this recipient alone
    source: str = ""  # where the address was read (records.SOURCES; "scan" until backed)
    final_address: str = ""  # a DSN's Final-Recipient where the address is its Original-Recipient


def unfold(text: str) -> str:
    """Collapse all whitespace runs (folded lines included) to single spaces."""
    return " ".join(text.split())


# A multi-line SMTP reply repeats its code (and enhanced code) on every line ("550-5.7.1 ...
# Messages with multiple" / "550 5.7.1 addresses in From: ..."): unfolded, the repeats would
# split the server's sentence in two.
_MULTILINE_REPLY = re.compile(r"(?<![\w.])([245]\d\d)-(?:([245]\.\d{1,3}\.\d{1,3}) )?")


def join_reply_lines(text: str) -> str:
    """An unfolded multi-line SMTP reply with the code repeated on its later lines left out."""
    first = _MULTILINE_REPLY.search(text)
    if not first:
        return text
    code, status = first.group(1), first.group(2)
    repeat = rf"(?<![\w.]){code}[ -]" + (rf"{re.escape(status)} " if status else "")
    return text[: first.end()] + re.sub(repeat, "", text[first.end() :])


# An SMTP command named in upper case in a diagnostic ("SMTP error ... after RCPT command",
# "SMTP:RCPT host ...", "[RCPT_TO]", ">>> MAIL FROM:<...>"): the way Sisimai::SMTP::Command
# finds it, the last one named is the one that failed.
_UPPER_COMMAND = re.compile(r"(?<![A-Za-z])(HELO|EHLO|STARTTLS|MAIL F|RCPT|DATA)(?![a-z])")
# A session transcript (Sendmail, Courier, ...) echoes each command sent: ">>> RCPT To:<a@b>".
_ECHOED_COMMAND = re.compile(r">>>[ \t]*(HELO|EHLO|STARTTLS|MAIL F|RCPT|DATA)", re.I)
_UPPER_NAMES = {"HELO": "HELO", "EHLO": "EHLO", "STARTTLS": "EHLO", "MAIL F": "MAIL", "RCPT": "RCPT", "DATA": "DATA"}


# The words MTAs use for the stage a remote server refused: qmail ("does not like recipient",
# "sender was rejected", "my name was rejected", "failed after I sent the message"), DragonFly
# ("did not like our RCPT TO"), IMail/SMTP32 ("RCPT TO generated following response").
_STAGE_WORDS = re.compile(
    r"does not like (recipient|sender)|(sender|my name) was rejected|(failed after i sent the message)"
    r"|did not like our (rcpt to|mail from|final data|data)|(rcpt to) generated following response",
    re.I,
)
_STAGE_HINT_WORDS = ("like", "rejected", "sent the message", "generated")  # one of them is in every stage phrase
_STAGE_HINT = re.compile("|".join(_STAGE_HINT_WORDS), re.I)
_STAGE_NAMES = {
    "recipient": "RCPT", "sender": "MAIL", "my name": "HELO", "failed after i sent the message": "DATA",
    "rcpt to": "RCPT", "mail from": "MAIL", "final data": "DATA", "data": "DATA",
}


# A local delivery agent speaking (sendmail's mail.local): no SMTP dialogue, so no DATA stage
# at which a refusal could be a content filter's.
_LOCAL_AGENT = re.compile(r"\bmail\.local: ", re.I)


def find_command(text: str) -> str:
    """The SMTP command an error answered, from phrases like 'in reply to RCPT TO command';
    ``LOCAL`` when a local delivery agent refused the mail."""
    echoed = _ECHOED_COMMAND.findall(text) if ">>>" in text else None
    if echoed:
        return _UPPER_NAMES.get(echoed[-1].upper(), "")
    if "mail.local" in text and _LOCAL_AGENT.search(text):
        return "LOCAL"
    # Case-insensitive alternations are slow to search for; in ASCII text (case folds no other
    # way) a plain test for the words every match contains rules most texts out first.
    lowered = text.lower() if text.isascii() else ""
    match = _COMMAND.search(text) if not lowered or any(w in lowered for w in _COMMAND_WORDS) else None
    if match:
        return _COMMAND_NAMES.get(match.group(1).lower(), "")
    hint = any(w in lowered for w in _STAGE_HINT_WORDS) if lowered else _STAGE_HINT.search(text)
    match = _STAGE_WORDS.search(text) if hint else None
    if match:
        return _STAGE_NAMES[next(g for g in match.groups() if g).lower()]
    found = _UPPER_COMMAND.findall(text)
    return _UPPER_NAMES[found[-1]] if found else ""


def normalise_action(value: str) -> str:
    """An RFC 3464 Action value, lowercased and stripped of comments; ``""`` when unknown."""
    word = value.strip().lower().split(" ", 1)[0].split("(", 1)[0] if value else ""
    return _ACTIONS.get(word, "")


def _decided_by_the_mta(diagnostic: str, status: str) -> str:
    """The reason of a failure the reporting MTA decided itself (``Diagnostic-Code: X-Postfix;``,
    ``x-unix;``, any type but SMTP), where the reason table fell back on the type alone.

    The type says who decided, not what went wrong. Unless the words themselves name a mailer
    error (a delivery program that failed), a specific status code of the MTA's own says it:
    ``5.2.2`` mailbox full, ``4.4.1`` no answer from the host (expired), ``5.3.4`` too big.
    A vague one (``4.0.0``, ``5.3.0``: "other mail system status") leaves the mailer error.
    """
    if not _SPECIFIC_DETAIL.match(status) or matches("mailererror", diagnostic.lower()):
        return "mailererror"
    return status_reason(status) or "mailererror"


_VAGUE = frozenset({"onhold", "undefined"})


def _context_text(draft: Draft) -> str:
    """The message's whole error text (about this recipient alone), unfolded as a diagnostic is."""
    return join_reply_lines(unfold(draft.context))[:2000]


def _reason_in_context(draft: Draft, status: str, action: str) -> str:
    """The reason the message's whole error text gives when the recipient's own words give none
    (the text is about this recipient alone: a message that reports on one), or ``""``."""
    text = _context_text(draft)
    reason = reason_for(
        Evidence(status, text, action, find_reply_code(text), find_command(text), draft.diag_type or "SMTP",
                 rhost=draft.remote_mta.lower(), domain=draft.address.rpartition("@")[2])
    )
    return "" if reason in _VAGUE else reason


def finalize(draft: Draft) -> BounceRecord:
    """Fill in codes, reason and action for one recipient."""
    diagnostic = join_reply_lines(unfold(draft.diagnostic))[:2000]
    status = draft.status.strip()
    if status and not is_status(status):
        status = find_status(status)
    found = find_status(diagnostic)
    reply = draft.reply_code or find_reply_code(diagnostic)
    if found and (
        not status or _SPECIFIC.match(found) or status.endswith(".0.0") and found[0] == status[0]
        # a reporting MTA that gave up on a permanent reply ("Status: 4.5.0", "Action: failed",
        # "550 5.5.0 ..."): the remote server's own code says what it was
        or status[0] == "4" and found[0] == "5" and reply[:1] == "5" and normalise_action(draft.action) == "failed"
    ):
        status = found
    elif status.endswith(".0.0") and not found and draft.context:
        # "Status: 5.0.0" (other undefined status) and a diagnostic with no code of its own
        # ("X-Unix; 255"): the message's own text about this recipient alone may give the code
        # ("554 5.3.0 unknown mailer error 255"), of the same class
        in_context = find_status(_context_text(draft))
        if in_context[:1] == status[0] and not in_context.endswith(".0.0"):
            status = in_context
    command = draft.command or find_command(diagnostic)
    action = normalise_action(draft.action) if draft.action else ""
    diag_type = draft.diag_type or "SMTP"
    reason = reason_for(
        Evidence(status, diagnostic, action, reply, command, diag_type, draft.hint,
                 rhost=draft.remote_mta.lower(), domain=draft.address.rpartition("@")[2])
    )
    if reason == "mailererror" and diag_type != "SMTP":
        reason = _decided_by_the_mta(diagnostic, status)
    if reason in _VAGUE and draft.context:
        reason = _reason_in_context(draft, status, action) or reason
    elif reason == "userunknown" and draft.context and matches("suspend", fold(draft.context)):
        # "550 user unknown" next to "the account is disabled": many servers refuse a disabled
        # account so; the account exists, and the block at once must wait
        reason = "suspend"
    if reason in _QUIET_REASONS:
        if reason != "delivered":
            reply = ""
    else:
        if not status:
            temporary = is_temporary(f"{reply} {diagnostic}".strip())
            if temporary is None:
                temporary = action == "delayed"  # a delay is temporary whatever it does not say
            status = pseudo_status(reason, temporary)
        if reply and status and reply[0] != status[0]:
            reply = ""
        if not action and status[:1] in ("4", "5"):
            action = "failed"
    return BounceRecord(
        address=draft.address,
        status=status,
        reply_code=reply,
        reason=reason,
        action=action,
        diagnostic=diagnostic,
        remote_mta=draft.remote_mta,
        feedback_type=draft.feedback_type,
        source=draft.source,
        final_address=draft.final_address,
    )
