"""Read a human-readable (non-RFC 3464) bounce: find the failed recipients and their error text.

Most MTAs that do not send DSNs write the same shape: a preamble, then each failed address at
the start of a line (``<a@b>:``, ``  a@b``, ``a@b... User unknown``) or after a label
(``Recipient: a@b``, ``RCPT TO:<a@b>``), followed by the remote server's words, then a marker
and a copy of the original message. This module reads that shape; the per-family modules in
``formats/`` only supply markers and quirks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .finalize import Draft
from .mailview import ADDRESS_PATTERN, MailView, addresses_in
from .reasons import has_wording

_CUT = re.compile(
    r"^[ \t>]*(?:[-=_*#]{2,}[ \t]*)?(?:"
    r"original message|below this line is a copy|this is a copy of|original message follows"
    r"|(?:the )?returned (?:message|mail)|unsent message below|message (?:text|headers?) follows?"
    r"|content-type:[ \t]*(?:message/rfc822|text/rfc822-headers)|the header of the original message"
    r"|start of (?:the )?(?:returned|original)|forwarded message|copy of (?:the|your) (?:original )?message"
    r"|your message reads|included is a copy|the original message headers|original message header"
    r"|headers of your message|a copy of the original|------ original"
    r")",
    re.I | re.M,
)
_HEADERISH = re.compile(
    r"^(?:Return-Path|Received|Message-I[Dd]|DKIM-Signature|MIME-Version|X-Mailer|Date|From|Subject|To|Content-Type):[ \t]",
    re.I,
)
_STRONG_HEADER = re.compile(r"^(?:Return-Path|Received|Message-I[Dd]|DKIM-Signature|MIME-Version):", re.I)
_STRONG_HEADER_LINE = re.compile(_STRONG_HEADER.pattern, re.I | re.M)
_STRONG_HEADER_WORDS = ("return-path:", "received:", "message-id:", "dkim-signature:", "mime-version:")  # one in each match
_LINE_ADDRESS = re.compile(
    # after a list number or an SMTP reply code (sendmail's "554 <a@b>... Host unknown"),
    # the whole address (never a shorter domain before a dot), then punctuation, the end of the
    # line or more words; "<" for Office 365's "a@b<mailto:a@b>" (an HTML link made text)
    rf"^[ \t>*-]*(?:\d+[.)][ \t]*|[45]\d\d[ \t]+)?[\"']?<?(?:mailto:)?({ADDRESS_PATTERN})(?![\w-]|\.[\w-])>?[\"']?[ \t]*(?:[:.,;(\[<-]|\.\.\.|$|[ \t]+\S)",
    re.ASCII,
)
_LABELLED = re.compile(
    rf"(?:\b(?:final-|original-)?recipient(?:'s)?(?:[ \t]+address)?|\brcpt[ \t]+to|^[ \t]*to|\baddress(?:ee)?"
    rf"|\bdestinat(?:ario|aire)|\bempf(?:ä|ae)nger|\bfailed[ \t]+recipient|\bunknown user|\buser)"
    rf"[ \t]*[:=]?[ \t]*\(?<?(?:mailto:)?({ADDRESS_PATTERN})>?",
    re.I | re.M | re.ASCII,
)
# Sendmail and Postfix name the address the mail was sent to when an alias was expanded:
# "a@final\n    (expanded from: <b@alias>)", "<a@final> (expanded from <b@alias>): ..."
_EXPANDED_FROM = re.compile(rf"\(expanded from:?[ \t]*<?({ADDRESS_PATTERN})>?\)[ \t:]*", re.I | re.ASCII)
_NOT_RECIPIENT_LOCAL = frozenset({"mailer-daemon", "mailer_daemon", "maildaemon"})
_BOILERPLATE = re.compile(
    r"^(?:hi\.|this is|this message|i'm afraid|i am sorry|sorry|your message|the following|a message"
    r"|delivery (?:to|has)|unable to deliver|could not be delivered|for further|please|if you|you can|you do not"
    r"|the mail system|-{3,}|\*{3,}|={3,}|$)",
    re.I,
)


@dataclass
class TextBounce:
    """The error section of a text bounce and the recipients found in it."""

    section: str
    drafts: list[Draft] = field(default_factory=list)
    located: set[str] = field(default_factory=set)  # recipients whose own error text was found


# Words one of which (lowercased) every line _CUT matches contains.
_CUT_WORDS = (
    "original message", "below this line is a copy", "copy of", "returned m", "unsent message below",
    "message text follow", "message header", "content-type:", "start of ", "forwarded message",
    "your message reads", "included is a copy", "headers of your message", "------ original",
)


def _cut_at(text: str, lowered: str) -> int | None:
    """Where ``_CUT.search(text)`` matches, or None. Searching a long text for it tries the
    pattern at every character; in ASCII text (``lowered``: case folds no other way) only the
    lines holding one of its words are tried, the earliest first."""
    if not lowered:
        match = _CUT.search(text)
        return match.start() if match else None
    starts: set[int] = set()
    for word in _CUT_WORDS:
        at = lowered.find(word)
        while at >= 0:
            starts.add(lowered.rfind("\n", 0, at) + 1)
            at = lowered.find(word, at + 1)
    for start in sorted(starts):
        if _CUT.match(text, start):
            return start
    return None


def error_section(text: str) -> str:
    """The text before the copy of the original message (at most 64 KiB looked at)."""
    text = text[:65536]
    lowered = text.lower() if text.isascii() else ""  # "" where lowercasing is not all case folding does
    cut = _cut_at(text, lowered)
    if cut is None:
        cut = len(text)
    if lowered and not any(lowered.find(word, 0, cut) >= 0 for word in _STRONG_HEADER_WORDS):
        return text[:cut]  # the same answer as below, without the case-insensitive search
    if not _STRONG_HEADER_LINE.search(text, 0, cut):
        return text[:cut]  # no line the loop below could stop at
    lines = text[:cut].split("\n")
    offset = 0
    for i, line in enumerate(lines[:-1]):
        nxt = lines[i + 1]
        if _STRONG_HEADER.match(line) and (_HEADERISH.match(nxt) or nxt[:1] in (" ", "\t")):
            return text[:offset]
        offset += len(line) + 1
    return text[:cut]


def body_section(view: MailView) -> str:
    """``error_section`` of the message's body, worked out once per message."""
    found = view.cache.get("section")
    if found is None:
        found = view.cache["section"] = error_section(view.body)
    return found  # type: ignore[return-value]


def sender_addresses(view: MailView) -> set[str]:
    """Addresses that are the sender's side, never a failed recipient (worked out once per
    message), except those the returned original was sent to."""
    cached = view.cache.get("senders")
    if cached is not None:
        return cached  # type: ignore[return-value]
    senders: set[str] = set()
    for name in ("To", "Return-Path", "Sender", "Reply-To"):
        senders.update(addresses_in(view.header(name)))
    for name in ("From", "Return-Path", "Sender", "Reply-To"):
        senders.update(addresses_in(view.original_header(name)))
    if view.from_addr:
        senders.add(view.from_addr)
    # a message its sender sent to themselves: the address it was sent to is a recipient
    for name in ("To", "Cc"):
        senders.difference_update(addresses_in(view.original_header(name)))
    view.cache["senders"] = senders
    return senders


def _only_as_sender(text: str, address: str) -> bool:
    """True when every mention of ``address`` in ``text`` follows "from" ("not accepting mail
    from list@example.org"): the sender's address, not a recipient's."""
    mentions = text.count(address)
    return mentions > 0 and len(re.findall(r"\bfrom:?[ \t]*<?" + re.escape(address), text)) == mentions


def _without(line: str, address: str) -> str:
    """``line`` with every (case-insensitive) occurrence of ``address``, and the angle
    brackets right around it, replaced by a space."""
    lowered = line.lower()
    out: list[str] = []
    pos = 0
    while True:
        col = lowered.find(address, pos)
        if col < 0:
            break
        start = col - 1 if col > pos and line[col - 1] == "<" else col
        end = col + len(address)
        end = end + 1 if end < len(line) and line[end] == ">" else end
        out.append(line[pos:start])
        out.append(" ")
        pos = end
    out.append(line[pos:])
    return "".join(out)


_REPLY_LINE = re.compile(r"^[45]\d\d[ \t]+<?[^\s<>]+@[^\s<>]+>?\.\.\.")
_REPLY_CODE = re.compile(r"(?<![\w.])[45]\d\d(?:[ -]|$)")


def _diagnostic_after(lines: list[str], index: int, address: str, is_recipient_line) -> str:
    """The line naming ``address`` (address removed) and the lines below it up to a blank line.

    A statement that names the address but not the error ("There was an error delivering your
    mail to <a@b>.") is followed, after a blank line, by the error: that paragraph is taken too
    when it carries an SMTP reply code or the wording of a reason and the statement did not."""
    first = _without(lines[index], address).strip(" \t:>.-")
    if _REPLY_LINE.match(lines[index]) and first:
        return first  # sendmail's "554 <a@b>... Host unknown": one line per recipient, complete
    parts = [first] if first else []
    end = min(len(lines), index + 14)
    i = index + 1
    while i < end:
        line = lines[i]
        i += 1
        if is_recipient_line(line):
            break
        if not line.strip():
            if parts and (len(parts) > 1 or len(parts[0]) > 40):
                if _says_why(" ".join(parts)) or not _error_paragraph_at(lines, i, is_recipient_line):
                    break
                end = min(len(lines), i + 12)
            continue
        parts.append(line.strip())
    return " ".join(parts)


def _says_why(text: str) -> bool:
    """Whether ``text`` carries an SMTP reply code or the wording of a reason."""
    return bool(_REPLY_CODE.search(text) or has_wording(text))


def _error_paragraph_at(lines: list[str], start: int, is_recipient_line) -> bool:
    """Whether the paragraph from ``start`` (blank lines skipped) says why delivery failed."""
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    paragraph = []
    while i < len(lines) and lines[i].strip() and not is_recipient_line(lines[i]):
        paragraph.append(lines[i])
        i += 1
    return bool(paragraph) and _says_why(" ".join(paragraph))


def read(
    view: MailView,
    text: str | None = None,
    *,
    recipients: Iterable[str] = (),
    allow_any: bool = False,
) -> TextBounce:
    """Find recipients and per-recipient error text in the human-readable part of a bounce.

    ``recipients`` are already known (e.g. from X-Failed-Recipients); only their text is looked
    for. Otherwise addresses at the start of a line, then labelled ones, are taken; with
    ``allow_any`` any non-sender address in the error section is taken as a last resort.
    """
    section = body_section(view) if text is None else error_section(text)
    known = [a.lower() for a in recipients]
    lines = section.split("\n")

    def candidate(address: str) -> bool:
        local = address.split("@", 1)[0]
        # the sender's addresses: worked out (once per message) only when a candidate is seen
        return address not in sender_addresses(view) and local not in _NOT_RECIPIENT_LOCAL

    def line_recipient(line: str) -> str:
        match = _LINE_ADDRESS.match(line)
        if match and candidate(match.group(1).lower()):
            return match.group(1).lower()
        return ""

    order: list[str] = list(known)
    diags: dict[str, list[str]] = {a: [] for a in known}
    if not known:
        for line in lines:
            if "@" not in line:  # no address to find
                continue
            addr = line_recipient(line)
            if addr and addr not in diags:
                order.append(addr)
                diags[addr] = []
        if not order:
            for match in _LABELLED.finditer(section):
                addr = match.group(1).lower()
                if candidate(addr) and addr not in diags:
                    order.append(addr)
                    diags[addr] = []
        if not order and allow_any:
            lowered_section = section.lower()
            for addr in addresses_in(section):
                if candidate(addr) and addr not in diags and not _only_as_sender(lowered_section, addr):
                    order.append(addr)
                    diags[addr] = []
    wanted = set(order)

    def is_recipient_line(line: str) -> bool:
        match = _LINE_ADDRESS.match(line)
        return bool(match and match.group(1).lower() in wanted)

    all_at = all("@" in addr for addr in wanted)
    for i, line in enumerate(lines):
        if all_at and "@" not in line:  # no wanted address on this line
            continue
        lowered = line.lower()
        for addr in wanted:
            col = lowered.find(addr)
            if col < 0:
                continue
            diag = _diagnostic_after(lines, i, addr, is_recipient_line)
            if diag and diag not in diags[addr]:
                diags[addr].append(diag)
    # the whole section minus boilerplate and minus the lines that name another recipient (never
    # borrow another recipient's error), only worked out when needed
    fallback: dict[str, str] = {}
    drafts = []
    for addr in order:
        diagnostic = " ".join(diags[addr])[:2000]
        if not diagnostic:
            others = [a for a in order if a != addr and diags[a]]
            key = " ".join(others)
            if key not in fallback:
                fallback[key] = " ".join(
                    line.strip() for line in lines
                    if line.strip() and not _BOILERPLATE.match(line.strip())
                    and not any(other in line.lower() for other in others)
                )[:1500]
            diagnostic = fallback[key]
        draft = Draft(address=addr, diagnostic=diagnostic)
        # an address asked about keeps its name: the caller looks its text up by it
        drafts.append(draft if known else _alias_expanded(draft))
    located = {addr for addr in order if diags[addr]}
    return TextBounce(section=section, drafts=drafts, located=located)


def _alias_expanded(draft: Draft) -> Draft:
    """The draft reported under the address the mail was sent to, where the text says the
    failed address was expanded from an alias (the failed one kept as ``final_address``)."""
    match = _EXPANDED_FROM.search(draft.diagnostic)
    if match and match.group(1).lower() != draft.address:
        draft.final_address = draft.address
        draft.address = match.group(1).lower()
        draft.diagnostic = (draft.diagnostic[: match.start()] + " " + draft.diagnostic[match.end() :]).strip()
    return draft
