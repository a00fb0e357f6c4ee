"""Which addresses a bounce may report on: cleaned as read, never one of ours, backed when loose.

Every detector says where it read each address (``Draft.source``). This module then

- cleans each address the way it was written around (quotes, brackets, ``mailto:``, trailing
  punctuation) and drops what is not an address at all;
- drops our own addresses: the bounce's own recipient (To, Delivered-To, X-Original-To, ...)
  and List-* addresses (a bounce that came through a list), the configured ones
  (``OwnAddresses``: the mailbox, the return path, the VERP domain), the returned original's
  From, Sender, Reply-To, Return-Path, Errors-To and List-* addresses, and postmaster /
  mailer-daemon; any but the configured ones still counts where the original was demonstrably
  sent to it (``original_recipients``, or a DSN / X-Failed-Recipients field naming it);
- keeps an address found only by a loose scan (``scan``) when something backs it up: it is a
  recipient in the returned original's headers (or X-Failed-Recipients), or it stands next to a
  failure statement (not on a line offering it as a contact: "contact helpdesk@... if this
  error persists"). The source then says so: ``scan+original``, ``scan+statement``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..records import OwnAddresses
from .finalize import Draft
from .mailview import MailView, addresses_in
from .reasons import has_wording
from .textreport import body_section

LOOSE = "scan"
_ENVELOPE = frozenset({"dsn", "x-failed-recipients"})

_OWN_HEADERS = ("To", "Delivered-To")
# Written by the delivery agent that put the bounce in our mailbox, and by some that make
# bounces too (a copy of the failed envelope recipient): ours only when the bounce's delivery
# trail (To, Delivered-To, a Received "for" clause) names the same address.
_ENVELOPE_HEADERS = ("X-Original-To", "Envelope-To", "X-Envelope-To")
_RECEIVED_FOR = re.compile(r"\bfor[ \t\r\n]+<?([^\s<>;]+@[^\s<>;]+?)>?[ \t\r\n]*;", re.I)
_ORIGINAL_SENDER_HEADERS = ("From", "Sender", "Reply-To", "Return-Path", "Errors-To")
_LIST_HEADERS = ("List-Post", "List-Owner", "List-Help", "List-Subscribe", "List-Unsubscribe", "List-Archive", "List-Id")
_ORIGINAL_RECIPIENT_HEADERS = ("To", "Cc", "Bcc", "Resent-To", "Resent-Cc")
_SYSTEM_LOCALS = frozenset({"postmaster", "mailer-daemon", "mailer_daemon", "maildaemon", "mailerdaemon"})

# Header lines of a returned original quoted inline in the text (no message/rfc822 part).
_INLINE_SENDER = re.compile(r"^[ \t>]*(?:from|sender|reply-to|return-path|errors-to|list-[a-z-]+):[ \t]*(.*)$", re.I | re.M)
_RCPT = re.compile(r"\bRCPT[ \t]+TO:[ \t]*<([^<>@\s]+@[^<>@\s]+)>", re.I)
_INLINE_RECIPIENT = re.compile(r"^[ \t>]*(?:to|cc|bcc):[ \t]*(.*)$", re.I | re.M)

_LOCAL = re.compile(r"\A(?:\"[^\"\\\r\n]{1,64}\"|[\w!#$%&'*+/=?^`{|}~.-]{1,64})\Z")
# a dotted name whose last label has a letter (anonymised reports use one-letter ones: a@b.c),
# or an address literal
_DOMAIN = re.compile(r"\A(?:[\w-]{1,63}\.)+(?=[\w-]*[^\W\d_])[\w-]{1,63}\Z|\A\[[0-9a-f.:]{3,45}\]\Z", re.I)
_OPENERS = "<([{'\"` \t"
_CLOSERS = ">)]}'\"`,;:.!?* \t"

# Words of a failure statement next to an address, beyond the reason table's phrases: the
# generic ones every language's bounce uses.
_FAILURE = re.compile(
    r"(?<![\w.])[45]\.\d{1,3}\.\d{1,3}(?![\w.])|(?<![\w.])[45]\d\d(?:[ -]|$)"
    r"|fail|undeliver|not (?:be |been )?delivered|(?:not|no longer) valid|could not|couldn't|cannot|can't|unable|rejected|refused|denied"
    r"|unknown|invalid|does not exist|doesn't exist|no such|not found|not listed|bounced|permanent|error"
    r"|did not (?:reach|receive)|not reached|nicht zugestellt|unzustellbar|fehlgeschlagen|échec|echec"
    r"|impossible|non recapitabile|no se pudo|失敗|エラー|できません|届きません|错误|失败|無法|无法",
    re.I,
)
# Lines above an address (a statement introducing a list: "The following recipients failed:",
# the list) and below it (the error that follows it) that may state its failure; blank lines
# are not counted.
_ABOVE, _BELOW = 3, 2
_CONTACT = re.compile(
    r"\b(?:contact|write to|send (?:an? )?(?:e-?mail|message) to|questions?|for (?:help|assistance)"
    r"|helpdesk|help desk|support team|kontakt|wenden sie sich|contactez|contacte|póngase en contacto|contattare)\b",
    re.I,
)

# Help text that gives an address as an example or an alternative ("e.g., if a@b fails, try
# c@d"): the address in it did not fail. Read on the line and the one above it.
_EXAMPLE = re.compile(r"\b(?:e\.\s?g\.|i\.\s?e\.|for example|for instance|such as|z\.\s?b\.|par exemple|por ejemplo)|\btry\b[^\n]*@", re.I)


def clean(text: str) -> str:
    """The address in ``text`` as written around by quotes, brackets, ``mailto:`` and trailing
    punctuation, lowercased; ``""`` when what is left is not an address."""
    value = text.strip()
    while True:
        before = value
        if value[:7].lower() == "mailto:":
            value = value[7:]
        if not (value.startswith('"') and '"@' in value):  # keep a quoted local part
            value = value.lstrip(_OPENERS)
        value = value.rstrip(_CLOSERS)
        if value == before:
            break
    local, at, domain = value.rpartition("@")
    if not at or not _LOCAL.match(local) or not _DOMAIN.match(domain):
        return ""
    if not any(ch.isalnum() for ch in local):
        return ""
    if not local.startswith('"') and (".." in local or local[0] == "." or local[-1] == "."):
        return ""  # not a dot-atom (RFC 5322): an address shortened for display, "david...@"
    return f"{local}@{domain}".lower()


@dataclass(frozen=True, slots=True)
class Screened:
    """The drafts kept, and what was left out (for the message's notes)."""

    drafts: list[Draft]
    own: list[str]
    unbacked: list[str]


def named_as_ours(view: MailView, address: str) -> bool:
    """True when a header of our side names ``address``: the bounce's recipient and List-*
    headers (a bounce that came through a list), the returned original's sender and List-*
    headers (attached, or quoted inline). A substring test first: most addresses are in none."""
    ours = view.cache.get("ours")
    if ours is None:
        values = [view.header(name) for name in _OWN_HEADERS + _LIST_HEADERS]
        values += _confirmed_envelope_recipients(view, "\n".join(values[: len(_OWN_HEADERS)]).lower())
        if view.originals:
            values += [view.original_header(name) for name in _ORIGINAL_SENDER_HEADERS + _LIST_HEADERS]
        else:
            values += [m.group(1) for m in _INLINE_SENDER.finditer(_quoted_original(view))]
        ours = view.cache["ours"] = "\n".join(v for v in values if v).lower()
    return address in ours and address in addresses_in(ours)  # type: ignore[operator, arg-type]


def _confirmed_envelope_recipients(view: MailView, recipients: str) -> list[str]:
    """The bounce's X-Original-To / Envelope-To values that its delivery trail confirms."""
    values = [value for value in map(view.header, _ENVELOPE_HEADERS) if value]
    if not values:
        return []
    trail = recipients + "\n" + "\n".join(
        m.group(1) for received in view.msg.get_all("Received") or () for m in _RECEIVED_FOR.finditer(str(received))
    ).lower()
    return [v for v in values if any(a in trail for a in addresses_in(v.lower()))]


def original_recipients(view: MailView) -> set[str]:
    """The addresses the returned original was demonstrably sent to: its To, Cc, ... headers
    (attached or quoted inline) and the envelope recipients the reporting MTA names
    (X-Failed-Recipients, ``RCPT TO:<...>`` in a session transcript). They back an address a
    loose scan found, and one of them is reported even where it is also the sender's (a
    message sent to oneself)."""
    cached = view.cache.get("original_recipients")
    if cached is not None:
        return cached  # type: ignore[return-value]
    found: set[str] = set(addresses_in(view.header("X-Failed-Recipients")))
    section = body_section(view)
    if "rcpt" in section.lower():  # a session transcript: the envelope recipients it was for
        for match in _RCPT.finditer(section):
            found.add(match.group(1).lower())
    for name in _ORIGINAL_RECIPIENT_HEADERS:
        found.update(addresses_in(view.original_header(name)))
    if not view.originals:
        for match in _INLINE_RECIPIENT.finditer(_quoted_original(view)):
            found.update(addresses_in(match.group(1)))
    view.cache["original_recipients"] = found
    return found


def _quoted_original(view: MailView) -> str:
    """The text after the error section: where an inline copy of the original stands."""
    found = view.cache.get("quoted")
    if found is None:
        found = view.cache["quoted"] = view.body[len(body_section(view)) :][:65536]
    return found  # type: ignore[return-value]


def is_own(view: MailView, address: str, configured: OwnAddresses | None, envelope: bool = False) -> bool:
    """True when ``address`` is ours (see the module docstring).

    The configured addresses always are. Any other is not when the returned original was sent
    to it (a message sent to its own sender, a postmaster written to): the report is about it.
    ``envelope``: the address was read from a field that names an envelope recipient (a DSN's
    recipient fields, X-Failed-Recipients), which says so itself."""
    local, _, domain = address.rpartition("@")
    if configured is not None and (
        address in configured.addresses or domain in configured.domains
    ):
        return True
    if local not in _SYSTEM_LOCALS and not named_as_ours(view, address):
        return False
    return not envelope and address not in original_recipients(view)


def near_failure(view: MailView, address: str) -> bool:
    """True when the lines around one naming ``address`` (a few above: a statement introducing
    a list of addresses; a few below: the error that follows one) state a failure. A line that
    offers the address to write to ("contact helpdesk@... if this error persists") does not
    name a failed recipient."""
    # blank lines do not count: many bounces set the address apart from its error with them
    lines = [line for line in body_section(view).split("\n") if line.strip()]
    for i, line in enumerate(lines):
        if address not in line.lower() or _CONTACT.search(line):
            continue
        if _EXAMPLE.search("\n".join(lines[max(0, i - 1) : i + 1])):
            continue
        window = "\n".join(lines[max(0, i - _ABOVE) : i + _BELOW + 1])
        if _FAILURE.search(window) or has_wording(window):
            return True
    return False


def screen(view: MailView, drafts: list[Draft], source: str, configured: OwnAddresses | None) -> Screened:
    """Clean, drop our own, and back up loose finds; ``source`` is the detector's default."""
    kept: list[Draft] = []
    dropped_own: list[str] = []
    unbacked: list[str] = []
    seen: set[str] = set()
    for draft in drafts:
        address = clean(draft.address)
        if not address and draft.final_address:
            address, draft.final_address = clean(draft.final_address), ""
        if not address or address in seen:
            continue
        draft.address = address
        if draft.final_address:
            final = clean(draft.final_address)
            draft.final_address = final if final and final != address else ""
        draft.source = draft.source or source
        envelope = draft.source in _ENVELOPE
        if is_own(view, address, configured, envelope):
            if not draft.final_address or is_own(view, draft.final_address, configured, envelope):
                dropped_own.append(address)
                continue
            # sent to an address of ours that forwarded it (an alias of our side): the final one
            draft.address, draft.final_address = draft.final_address, ""
            if draft.address in seen:
                continue
        if draft.source == LOOSE:
            if address in original_recipients(view):
                draft.source = "scan+original"
            elif near_failure(view, address):
                draft.source = "scan+statement"
            else:
                unbacked.append(address)
                continue
        seen.add(address)
        kept.append(draft)
    return Screened(kept, dropped_own, unbacked)
