"""The one reason table: status code, reply code and diagnostic text → Sisimai's reason vocabulary.

Every detector hands its findings (status, diagnostic text, action, SMTP command, a reason
hint where the format itself says why) to ``reason_for``; no detector matches reason texts on
its own. The status-code table and the English patterns are those of Sisimai
(https://github.com/sisimai, BSD 2-Clause, Copyright (C) 2014-2020 azumakuniyuki), the
de-facto standard vocabulary of bounce analysis, so our output is comparable with it; the
order in which reasons are tried follows Sisimai::Reason as well. The wording of every reason,
in ten languages, is one table (``reasons_data.WORDING``), found in a text in one pass.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import ahocorasick

from .reasons_data import (
    FAMILY_PHRASES,
    FRANCEPTT_CODES,
    GODADDY_CODES,
    LANGUAGES,
    POWERMTA_CATEGORIES,
    RHOST_HOSTS,
    RHOST_PHRASES,
    STATUS_REASON,
    WORDING,
)

_STATUS_SHAPE = re.compile(r"\A[245]\.\d{1,3}\.\d{1,3}\Z")


def _fold_table() -> dict[int, str]:
    """Accented Latin letters → ASCII (German umlauts and ß the German way), typographic quotes
    and dashes → ASCII, ё → е; every other character (Cyrillic, CJK, ...) is left alone."""
    table: dict[int, str] = {ord("ä"): "ae", ord("ö"): "oe", ord("ü"): "ue", ord("ß"): "ss", ord("ё"): "е",
                             ord("’"): "'", ord("‘"): "'", ord("“"): '"', ord("”"): '"', ord("–"): "-",
                             ord("—"): "-", ord("\u00a0"): " "}
    for code in range(0xC0, 0x180):
        if code in table:
            continue
        plain = "".join(c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c))
        if plain.isascii() and plain:
            table[code] = plain.lower()
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """``text`` lowercased and folded the way the phrase table is (see ``reasons_data.Wording``)."""
    lowered = text.lower()
    return lowered if lowered.isascii() else lowered.translate(_FOLD)


_GAP = " * "  # in a phrase: a few words between its parts
_PLAIN, _GAPPED, _VETO = 0, 1, 2  # what a key of the automaton stands for


class _Table:
    """Every phrase of ``WORDING`` in one Aho-Corasick automaton: one pass over a text finds which
    reasons' phrases and vetoes occur in it, whatever the number of phrases and languages. A
    gapped phrase is a small regular expression, tried only where its longest part occurs;
    Sisimai's long patterns are tried only when no phrase of their reason was found. Both are
    compiled on first use."""

    def __init__(self) -> None:
        keys: dict[str, set[tuple[int, str | int]]] = {}
        self._gap_reason: list[str] = []
        self.gap_sources: list[str] = []  # one regex per gapped phrase, tried when its anchor occurs
        for reason, wording in WORDING.items():
            for lang in LANGUAGES:
                for phrase in getattr(wording, lang):
                    phrase = fold(phrase)
                    if _GAP in phrase:
                        parts = phrase.split(_GAP)
                        keys.setdefault(max(parts, key=len), set()).add((_GAPPED, len(self.gap_sources)))
                        self.gap_sources.append(".{0,80}?".join(map(re.escape, parts)))
                        self._gap_reason.append(reason)
                    else:
                        keys.setdefault(phrase, set()).add((_PLAIN, reason))
            for phrase in wording.unless:
                keys.setdefault(fold(phrase), set()).add((_VETO, reason))
        self.automaton = ahocorasick.Automaton()
        for key, found in keys.items():
            self.automaton.add_word(key, tuple(found))
        self.automaton.make_automaton()
        # patterns are written in lowercase already: only their non-ASCII characters are folded
        self.pattern_sources = {reason: w.pattern.translate(_FOLD) for reason, w in WORDING.items() if w.pattern}
        self._gaps: dict[int, re.Pattern[str]] = {}
        self._patterns: dict[str, re.Pattern[str]] = {}

    def scan(self, text: str) -> tuple[set[str], set[str]]:
        """The reasons whose phrases occur in ``text``, and the reasons vetoed in it."""
        found: set[str] = set()
        vetoed: set[str] = set()
        for _, entries in self.automaton.iter(text):
            for kind, item in entries:
                if kind == _PLAIN:
                    found.add(item)
                elif kind == _VETO:
                    vetoed.add(item)
                elif self._gap_reason[item] not in found and self._gapped(item, text):
                    found.add(self._gap_reason[item])
        return found, vetoed

    def _gapped(self, index: int, text: str) -> bool:
        regex = self._gaps.get(index)
        if regex is None:
            regex = self._gaps[index] = re.compile(self.gap_sources[index])
        return regex.search(text) is not None

    def pattern(self, reason: str, text: str) -> bool:
        source = self.pattern_sources.get(reason)
        if source is None:
            return False
        regex = self._patterns.get(reason)
        if regex is None:
            regex = self._patterns[reason] = re.compile(_by_first_char(source) or source, re.VERBOSE)
        return regex.search(text) is not None


_SPECIAL = frozenset(".^$*+?{}[]\\|()#")


def _top_branches(body: str) -> list[str] | None:
    """The top-level alternatives of a verbose pattern body; None when unsure (a comment)."""
    out: list[str] = []
    depth = start = i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":  # a class: up to its closing bracket
            j = i + 1
            if j < n and body[j] == "^":
                j += 1
            if j < n and body[j] == "]":
                j += 1
            while j < n and body[j] != "]":
                j += 2 if body[j] == "\\" else 1
            i = j + 1
            continue
        if c == "#":
            return None
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return None
        elif c == "|" and depth == 0:
            out.append(body[start:i])
            start = i + 1
        i += 1
    if depth:
        return None
    out.append(body[start:])
    return out


def _by_first_char(source: str) -> str | None:
    """``(?>a1|a2|b1|...)`` rewritten as ``(?>[a](?:1|2)|[b](?:1)|...)``: the same matches
    (an atomic group that ends the pattern matches where any alternative does), but sre tests
    each first character once per position instead of once per alternative (Sisimai's long
    alternations of phrases). None when the pattern does not have that shape."""
    text = source.strip()
    if not (text.startswith("(?>") and text.endswith(")")) or "(?P" in text or re.search(r"\\\d", text):
        return None
    branches = _top_branches(text[3:-1])
    if not branches:
        return None
    groups: dict[str, list[str]] = {}
    misc: list[str] = []
    for branch in branches:
        b = branch.lstrip()
        first = rest = ""
        if b and b[0] not in _SPECIAL and not b[0].isspace():
            first, rest = b[0], b[1:]
        elif len(b) >= 3 and b[0] == "[" and b[2] == "]" and b[1] not in "^\\]":
            first, rest = b[1], b[3:]
        if not first or rest.lstrip()[:1] in ("*", "+", "?", "{"):
            misc.append(branch)
        else:
            groups.setdefault(first, []).append(rest)
    parts = [f"[{re.escape(c)}](?:{'|'.join(rests)})" for c, rests in groups.items()]
    return "(?>" + "|".join(parts + misc) + ")"


# Sisimai 5's reasons that say nothing about the recipient's address (the sender's provider
# suppressed it, TLS failed, the sender's authentication, reverse DNS, reputation, headers, rate):
# checked before the broader ones.
_SENDER_SIDE_ORDER = (
    "suppressed", "failedstarttls", "speeding", "notcompliantrfc", "requireptr", "authfailure", "badreputation",
)

# Reasons a detector may suggest but which are worth re-checking against the text.
RETRY = frozenset(
    {"undefined", "onhold", "systemerror", "securityerror", "networkerror", "hostunknown",
     "userunknown"}
)
# Tried in this order when the status code or the text may decide (Sisimai's ClassOrder).
_ORDER_FIRST = (
    "mailboxfull", "mesgtoobig", "exceedlimit", "suspend", "hasmoved", "norelaying",
    "userunknown", "filtered", "rejected", "hostunknown", "spamdetected", "toomanyconn",
    "blocked",
)
_ORDER_TEXT = (
    "mailboxfull", "spamdetected", "policyviolation", "virusdetected", "norelaying",
    "securityerror", "systemerror", "networkerror", "suspend", "expired", "contenterror",
    "systemfull", "notaccept", "mailererror",
)
_ORDER_ANY = (
    "mailboxfull", "mesgtoobig", "exceedlimit", "suspend", "userunknown", "filtered",
    "rejected", "hostunknown", "spamdetected", "toomanyconn", "blocked", "securityerror",
    "systemerror", "networkerror", "expired", "contenterror", "hasmoved", "systemfull",
    "notaccept", "mailererror", "norelaying", "syntaxerror", "onhold",
)
_USERUNKNOWN_PREEMPTED_BY = ("norelaying", "blocked", "mailboxfull", "hasmoved", "rejected", "notaccept")
_EARLY_COMMANDS = frozenset({"CONN", "EHLO", "HELO", "MAIL", "RCPT"})


_TABLE = _Table()


def _sender_side(text: str) -> str:
    """A Sisimai 5 sender-side reason whose wording occurs in ``text``, or ``""``."""
    if not text:
        return ""
    for reason in _SENDER_SIDE_ORDER:
        if matches(reason, text):
            return reason
    return ""


def status_reason(status: str) -> str:
    """The reason a standard status code stands for, or ``""`` (``5.0.0`` says nothing)."""
    return STATUS_REASON.get(status, "") if _STATUS_SHAPE.match(status or "") else ""


# The text last looked at, what one scan of it found, and the answers so far: the reason table
# asks about the same diagnostic several times (one tuple, swapped whole, so threads never mix
# two texts' answers).
_MEMO: tuple[str, tuple[set[str], set[str]], dict[str, bool]] = ("", (set(), set()), {})


def matches(reason: str, lowered: str) -> bool:
    """True when the text (lowercased and folded: ``fold``) carries one of ``reason``'s phrasings."""
    global _MEMO
    if not lowered:
        return False
    memo = _MEMO
    if memo[0] != lowered:
        memo = _MEMO = (lowered, _TABLE.scan(lowered), {})
    answer = memo[2].get(reason)
    if answer is None:
        found, vetoed = memo[1]
        answer = reason not in vetoed and (reason in found or _TABLE.pattern(reason, lowered))
        memo[2][reason] = answer
    return answer


def has_wording(text: str) -> bool:
    """True when ``text`` carries a phrase of any reason (one pass of the phrase table; Sisimai's
    long patterns are not tried): a cheap test of whether a text says why delivery failed."""
    found, vetoed = _TABLE.scan(fold(text))
    return bool(found - vetoed)


def match_text(text: str) -> str:
    """The first reason whose phrasing occurs in ``text``, or ``""`` (no status code used)."""
    lowered = fold(text)
    for reason in _ORDER_ANY:
        if matches(reason, lowered):
            return reason
    return ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one recipient's report says, as input to the reason table."""

    status: str = ""
    diagnostic: str = ""  # lowercased by reason_for
    action: str = ""
    reply_code: str = ""
    command: str = ""  # SMTP command the error answered: CONN, EHLO, MAIL, RCPT, DATA; LOCAL: local delivery
    diag_type: str = "SMTP"  # the Diagnostic-Code type: SMTP, X-UNIX, X-POSTFIX, ...
    hint: str = ""  # a reason the format itself states, if any
    rhost: str = ""  # the remote MTA that answered, lowercased
    domain: str = ""  # the recipient's domain, lowercased


def _holds(reason: str, ev: Evidence, text: str, sname: str) -> bool:
    """Whether ``reason`` applies, by status code, hint or text (Sisimai's ``true``)."""
    if ev.hint == reason:
        return True
    if reason in ("mailboxfull", "exceedlimit", "toomanyconn", "blocked"):
        if reason != "blocked" and reason != "toomanyconn" and not ev.status:
            return False
        return sname == reason or matches(reason, text)
    if reason == "mesgtoobig":
        if sname == reason:
            return True
        if sname == "exceedlimit" or ev.status == "5.2.3":
            return False
        return matches(reason, text)
    if reason == "suspend":
        return bool(ev.status) and matches(reason, text)
    if reason == "hasmoved":
        return matches(reason, text)
    if reason == "norelaying":
        if ev.hint in ("securityerror", "systemerror", "undefined") or ev.command in ("CONN", "EHLO", "HELO"):
            return False
        return matches(reason, text)
    if reason == "userunknown":
        if sname == "suspend":
            return False
        if sname == "userunknown":
            return not any(matches(r, text) for r in _USERUNKNOWN_PREEMPTED_BY)
        return ev.command in ("RCPT", "LOCAL") and matches(reason, text)
    if reason == "filtered":
        if sname == "suspend":
            return False
        if sname == "filtered":
            return matches("userunknown", text) or matches(reason, text)
        if ev.command in _EARLY_COMMANDS:
            return False
        return matches(reason, text) or matches("userunknown", text)
    if reason == "rejected":
        sname = sname or "undefined"
        if sname == reason:
            return True
        if ev.command == "MAIL":
            return matches(reason, text)
        if ev.command == "DATA":
            return sname != "userunknown" and matches(reason, text)
        return sname in ("onhold", "undefined", "securityerror", "systemerror") and matches(reason, text)
    if reason == "hostunknown":
        if sname == reason:
            return not matches("networkerror", text)
        return matches(reason, text)
    if reason == "spamdetected":
        if not ev.status:
            return False
        if sname == reason:
            return True
        return ev.command not in _EARLY_COMMANDS and matches(reason, text)
    return sname == reason or matches(reason, text)


def _another(ev: Evidence, text: str, sname: str) -> str:
    """Second pass when status code and first-order patterns did not decide."""
    if ev.hint:
        return ev.hint
    reason = sname
    retry = reason in ("", "expired") or reason in RETRY or ev.diag_type != "SMTP"
    if not retry:
        return reason
    for candidate in _ORDER_TEXT:
        if matches(candidate, text):
            if candidate == "expired" and ev.command in ("EHLO", "HELO") and ev.reply_code[:1] == "5":
                return "blocked"  # our greeting was refused for good; the retries only ended it
            return candidate
    if reason and reason not in ("undefined", "expired") and matches(reason, text):
        return reason  # the status code's reason, and the server's own words say the same
    if ev.diag_type not in ("SMTP", ""):
        # the reporting MTA decided it without an SMTP reply (local delivery, DNS): its own
        # words for a domain or a user that does not exist say so, whatever the type says
        for candidate in ("hostunknown", "userunknown"):
            if matches(candidate, text):
                return candidate
    head = ev.status[:3]
    if head in ("5.6", "4.6"):
        return "contenterror"
    if head in ("5.7", "4.7"):
        return "securityerror"
    if ev.diag_type in ("X-UNIX", "X-POSTFIX"):
        return "mailererror"
    if re.match(r"[45]0[0-7]\Z", ev.reply_code):
        return "syntaxerror"
    if reason and reason != "undefined":
        return reason
    if ev.action in ("delayed", "expired"):
        return "expired"
    if ev.command in ("EHLO", "HELO"):
        return "blocked"
    return ""


_RHOSTS = tuple((re.compile(pattern), name) for pattern, name in RHOST_HOSTS)
# All of them in one: most hosts match none, and are ruled out by one search instead of one each.
_ANY_RHOST = re.compile("|".join(f"(?:{pattern})" for pattern, _ in RHOST_HOSTS))
_FRANCEPTT = re.compile(r"\b(?:LPN|LPNAAA|OFR|OUK)(?:_[0-9]{3}|[0-9]{3}[-_][0-9]{3})\b", re.IGNORECASE)
_GODADDY = re.compile(r" (IB[0-9]{3})\b")


def rhost_rules(host: str) -> str:
    """The name of the rule set of a receiving server (host name or domain), or ``""``."""
    host = host.strip().strip(".").lower()
    if host and _ANY_RHOST.search(host):
        for pattern, name in _RHOSTS:
            if pattern.search(host):
                return name
    return ""


def rhost_reason(ev: Evidence) -> str:
    """The reason a known receiving server's own codes or wording give (Sisimai::Rhost), or ``""``."""
    name = rhost_rules(ev.rhost) or rhost_rules(ev.domain)
    if not name or not ev.diagnostic:
        return ""
    text = ev.diagnostic.lower()
    if name == "franceptt":
        match = _FRANCEPTT.search(ev.diagnostic)
        return (FRANCEPTT_CODES.get(match.group(0)[-3:]) or "undefined") if match else ""
    if name == "godaddy":
        match = _GODADDY.search(ev.diagnostic)
        if match and match.group(1) in GODADDY_CODES:
            return GODADDY_CODES[match.group(1)]
    if name == "nttdocomo":
        if ev.status in ("5.1.1", "5.0.911"):
            return "userunknown"
        if ev.status == "5.2.0":
            return "filtered"
    for reason, phrases in RHOST_PHRASES.get(name, {}).items():
        if any(p in text for p in phrases):
            return reason
    if name == "nttdocomo" and ev.status == "5.0.0":
        return {"RCPT": "userunknown", "DATA": "rejected"}.get(ev.command, "")
    return ""


def reason_for(ev: Evidence) -> str:
    """Decide the reason for one recipient from everything its report says."""
    if ev.hint and ev.hint not in RETRY:
        return ev.hint
    if not ev.status.startswith("2."):
        special = rhost_reason(ev)
        if special:
            return special
    if ev.status.startswith("2."):
        return "delivered"
    text = fold(ev.diagnostic)
    sname = status_reason(ev.status)
    if ev.status in ("5.7.25", "4.7.25"):
        return "requireptr"
    if ev.status in ("5.7.26", "5.7.23", "5.7.20", "5.7.21", "5.7.22", "5.7.24", "4.7.24"):
        return "authfailure"
    if ev.status == "5.7.27":
        return "notaccept"
    if sname not in ("userunknown", "hostunknown", "mailboxfull", "mesgtoobig", "exceedlimit", "suspend", "hasmoved"):
        special = _sender_side(text)
        if special:
            return special
    reason = ""
    # The type of a Diagnostic-Code says who wrote it, not what happened: one that quotes a remote
    # server's reply ("X-Postfix; host ... said: 550 ...") is read as that reply.
    if ev.diag_type in ("SMTP", "") or ev.reply_code:
        for candidate in _ORDER_FIRST:
            if _holds(candidate, ev, text, sname):
                reason = candidate
                break
    if reason in ("userunknown", "filtered") and sname != reason and matches("suspend", text):
        # "user unknown" next to "the account is disabled", no status code to say which: many
        # servers refuse a disabled account so; the account exists, and it is not blocked at once
        return "suspend"
    if reason and reason != "undefined":
        return reason
    if ev.status[1:] == ".1.0" and ev.diag_type in ("SMTP", ""):
        # x.1.0 is "other address status" (RFC 3463): it does not say whose address. Next to words
        # about the sender, a relay or a full mailbox, the words say it, and it is not the recipient's
        for other in _USERUNKNOWN_PREEMPTED_BY:
            if matches(other, text):
                return other
    reason = _another(ev, text, sname)
    if reason == "undefined":
        reason = ""
    if ev.action == "delayed" and (
        not reason or reason == sname and ev.status.endswith(".0") and not matches(reason, text)
    ):
        reason = "expired"  # a delay whose only other sign is a generic status code (4.4.0, 4.5.0)
    if reason:
        return reason
    if matches("vacation", text):
        return "vacation"
    # a diagnostic of punctuation alone (a list's bullet left when the address was taken out)
    # says nothing: no diagnostic at all
    return "onhold" if any(c.isalnum() for c in text) else "undefined"


def family_reason(family: str, diagnostic: str, category: str = "") -> str:
    """The reason an MTA family's own wording (or PowerMTA's bounce category) gives, or ``""``."""
    if family == "powermta":
        return POWERMTA_CATEGORIES.get(category.strip().lower(), "")
    text = " ".join(diagnostic.lower().split())  # reports pad and fold their wording
    for reason, phrases in FAMILY_PHRASES.get(family, {}).items():
        if any(p in text for p in phrases):
            return reason
    return ""
