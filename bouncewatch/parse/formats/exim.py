"""Exim (and 1&1, GMX, Google Groups... that run it) bounces and delay warnings.

Format knowledge after Sisimai::Lhost::Exim (https://github.com/sisimai, BSD 2-Clause,
Copyright (C) 2014-2024 azumakuniyuki). Exim writes a fixed preamble ("This message was created
automatically by mail delivery software."), then a list header ("The following address(es)
failed:", "The address to which the message has not yet been delivered is:", "...recipient
addresses that were incorrectly constructed:"), then each failed address on its own line
(``  addr`` or ``addr:``), followed by indented error text, and finally
``------ This is a copy of the message``. The block is authoritative for who failed; the
``X-Failed-Recipients`` header is used when the block names no address (a pipe or file
delivery such as ``save to /path``).
"""

from __future__ import annotations

import re

from .. import textreport
from ..finalize import Draft, find_command
from ..mailview import MailView, addresses_in
from ..reasons import match_text
from ..status import find_reply_code, find_status, pseudo_status

_EXPIRED = re.compile(r"retry timeout exceeded|retry time not reached for any host|has been frozen|message is frozen", re.IGNORECASE)
_PREAMBLE = "created automatically by mail delivery software"
_LIST = re.compile(
    r"(?:following\s+address(?:\(es\)|es)?\s+failed|address(?:es)?\s+to\s+which\s+the\s+message\s+has\s+not"
    r"\s+yet\s+been\s+delivered\s+(?:is|are)|recipient\s+addresses?\s+that\s+(?:were|was)\s+incorrectly"
    r"\s+constructed)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_END = re.compile(
    r"^(?:-{2,}.*(?:copy of|original message|header of the original)|[ \t]*Reporting-MTA:"
    r"|[ \t]*included is a copy of the (?:message|original))",
    re.IGNORECASE | re.MULTILINE,
)
_ADDR = r"[\w.+'=/%-]+@[\w-]+(?:\.[\w-]+)+"
_ADDR_LINE = re.compile(rf"^[ \t]*<?({_ADDR})>?:?[ \t]*$", re.ASCII)
# The address and its error on one line ("  <a@b>: 550 unknown user"), as Exim's derivatives write it.
_ADDR_ERROR_LINE = re.compile(rf"^[ \t]*<?({_ADDR})>?:[ \t]+(\S.*)$", re.ASCII)
_MALFORMED = re.compile(rf"^[ \t]*.*?<({_ADDR})>: malformed address: <({_ADDR})> may not follow", re.ASCII)


_SUBJECT = re.compile(
    r"Mail delivery failed|Warning: message \S+ delayed|Delivery Status Notification|Mail failure"
    r"|Message frozen|error\(s\) in forwarding or filtering"
)
_MESSAGE_ID = re.compile(r"\A<\w{7}-\w{6}-\w{2}@")


def is_exim(view: MailView) -> bool:
    """Exim's own marks (Sisimai::Lhost::Exim): two of its From name, its Message-ID shape
    (``<1P1YNN-0003AD-Ga@host>``) and one of its subjects."""
    marks = view.header("From").startswith("Mail Delivery System")
    marks += bool(_MESSAGE_ID.match(view.header("Message-ID")))
    marks += bool(_SUBJECT.search(view.subject))
    return marks >= 2


def _block(view: MailView) -> list[Draft]:
    """Drafts from the address block of an Exim message body."""
    body = view.body.replace("\r\n", "\n")
    if _PREAMBLE not in body[:4000].lower() and not is_exim(view):
        return []
    match = _LIST.search(body)
    if not match:
        return []
    end = _END.search(body, match.end())
    lines = body[match.end() : end.start() if end else len(body)].split("\n")
    drafts: list[Draft] = []
    text: list[str] = []
    for line in lines:
        found = _ADDR_LINE.match(line) or _MALFORMED.match(line) or _ADDR_ERROR_LINE.match(line)
        address = ""
        if found:
            address = (found.group(1) if found.re is _ADDR_ERROR_LINE else found.group(found.lastindex or 1)).lower()
        if found and drafts and address == drafts[-1].address:
            found = None  # the address repeated inside its own error text ("RCPT TO:\n<a@b>:")
        if found:
            _close(drafts, text)
            drafts.append(Draft(address=address))
            if found.re is _MALFORMED:
                text = [line.strip()]
            else:
                text = [found.group(2).strip()] if found.re is _ADDR_ERROR_LINE else []
            continue
        if not drafts or drafts[-1].diagnostic:
            continue
        if line.strip():
            text.append(line.strip())
        elif text and not text[-1].endswith(":"):
            # a blank line ends this address's error text (unless it only introduced it:
            # "For the following reason:"); what follows is the epilogue
            _close(drafts, text)
            text = []
    _close(drafts, text)
    return drafts


def _close(drafts: list[Draft], text: list[str]) -> None:
    if drafts and not drafts[-1].diagnostic:
        drafts[-1].diagnostic = " ".join(text)


def detect(view: MailView) -> list[Draft] | None:
    """Drafts for an Exim bounce or delay warning, or None."""
    drafts = _block(view)
    listed = addresses_in(view.header("X-Failed-Recipients"))
    if not drafts:
        if not listed:
            return None
        drafts = textreport.read(view, recipients=listed).drafts
        for draft in drafts:
            draft.source = "x-failed-recipients"
    for draft in drafts:
        _session_status(draft)
        if draft.hint:
            continue
        if f"<{draft.address}>: malformed address" in draft.diagnostic.lower():
            draft.hint = "syntaxerror"  # the "incorrectly constructed" block: RFC 5322 syntax
        elif _EXPIRED.search(draft.diagnostic):
            # Exim gave up retrying: "expired" unless the text says what kept failing
            # ("mailbox is full: retry timeout exceeded"), which then was a temporary failure
            stated = match_text(_EXPIRED.sub(" ", draft.diagnostic))
            if stated and stated != "expired":
                draft.status = draft.status or pseudo_status(stated, True)
            else:
                draft.hint = "expired"
    return drafts or None


def _session_status(draft: Draft) -> None:
    """Exim's own reading of a refused session: sender refused at MAIL is "on hold" until the
    reason table decides (status X.0.901 when the reply gives no status code); refused at
    HELO/EHLO is "blocked"."""
    command = find_command(draft.diagnostic)
    if command in ("HELO", "EHLO"):
        draft.hint = draft.hint or "blocked"
    elif command == "MAIL" and not find_status(draft.diagnostic):
        reply = find_reply_code(draft.diagnostic)
        if reply[:1] in ("4", "5"):
            draft.status = f"{reply[0]}.0.901"
