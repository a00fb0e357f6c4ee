"""Find RFC 3463 enhanced status codes and SMTP reply codes in free text.

Recognised spellings: ``550 5.1.1``, ``550-5.1.1``, ``550-'5.1.1`` (a reply quoted by the
reporting MTA), ``#5.1.1``, ``(#5.1.1)``, a bare ``5.1.1`` and success codes ``2.x.y``; a code
that follows a reply code wins over a bare one written before it. Strings that merely look like codes (parts of IP addresses or
version numbers such as ``1.5.1.1``) are skipped. When a message gives no status code at all,
``pseudo_status`` infers one from the reason and whether the failure is temporary, the way
Sisimai does (``5.0.911`` for an unknown user, ``4.0.947`` for an expired delay, ...).
"""

from __future__ import annotations

import re

_STATUS_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[(]?#([45]\.\d\.\d{1,3})\b"),  # #5.1.1, (#5.1.1)
    re.compile(r"\b\d{3}[ -]['\"]?#?([45]\.\d\.\d{1,3})\b"),  # 550-5.1.1, 550 5.1.1, 550-'5.1.1
    re.compile(r"\b([45]\.\d\.\d{1,3})\b"),  # 5.1.1
    re.compile(r"\b(2\.[0-7]\.[0-7])\b"),  # 2.1.5
)
_STATUS_NEEDS = tuple(zip(_STATUS_PATTERNS, ("#", ".", ".", "2.")))
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_DOTTED = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")
_REPLY = re.compile(r"\b([45][0-5][0-9])\b")
_REPLY_OK = re.compile(r"\b(25[0-3])\b")
_DSN_SHAPE = re.compile(r"\A[245]\.\d{1,3}\.\d{1,3}\Z")

# Pseudo status codes for messages that give none (the convention of Sisimai's SMTP::Status).
_PSEUDO_TEMPORARY: dict[str, str] = {
    "blocked": "4.0.971", "contenterror": "4.0.960", "expired": "4.0.947",
    "filtered": "4.0.924", "mailboxfull": "4.0.922", "networkerror": "4.0.944",
    "notaccept": "4.0.932", "onhold": "4.0.901", "rejected": "4.0.918",
    "securityerror": "4.0.970", "spamdetected": "4.0.980", "systemerror": "4.0.930",
    "systemfull": "4.0.931", "toomanyconn": "4.0.945", "undefined": "4.0.900",
}
_PSEUDO_PERMANENT: dict[str, str] = {
    "blocked": "5.0.971", "contenterror": "5.0.960", "exceedlimit": "5.0.923",
    "expired": "5.0.947", "filtered": "5.0.910", "hasmoved": "5.0.916",
    "hostunknown": "5.0.912", "mailboxfull": "5.0.922", "mailererror": "5.0.939",
    "mesgtoobig": "5.0.934", "networkerror": "5.0.944", "norelaying": "5.0.909",
    "notaccept": "5.0.932", "onhold": "5.0.901", "policyviolation": "5.0.972",
    "rejected": "5.0.918", "requireptr": "5.0.973", "securityerror": "5.0.970", "spamdetected": "5.0.980",
    "suspend": "5.0.921", "systemerror": "5.0.930", "systemfull": "5.0.931",
    "syntaxerror": "5.0.902", "toomanyconn": "5.0.945", "userunknown": "5.0.911",
    "undefined": "5.0.900", "virusdetected": "5.0.971",
}


def is_status(value: str) -> bool:
    """True for a well-formed enhanced status code such as ``5.1.1`` or ``4.7.26``."""
    return bool(_DSN_SHAPE.match(value))


def find_status(text: str) -> str:
    """The first enhanced status code in ``text``, or ``""``."""
    if not text or "." not in text:
        return ""
    for pattern, needed in _STATUS_NEEDS:
        if needed not in text:  # a literal every match of the pattern contains
            continue
        found_here = ""
        for match in pattern.finditer(text):
            found = match.group(1)
            start, end = match.span(1)
            # Part of a longer dotted number (an IP address, a version): not a status code.
            if end < len(text) and text[end] == "." and end + 1 < len(text) and text[end + 1].isdigit():
                continue
            if start > 0 and text[start - 1] == "." or (start > 1 and text[start - 1].isdigit()):
                continue
            if pattern is not _STATUS_PATTERNS[1]:
                return found
            found_here = found  # after a reply code: the last one, the remote server's own
        if found_here:
            return found_here
    return ""


def find_reply_code(text: str) -> str:
    """The first SMTP reply code (4xx/5xx, else 250-253) in ``text``, or ``""``."""
    if not text or "x-unix;" in text.lower():
        return ""
    if "." in text:  # both patterns need a dot
        text = _DOTTED.sub("***", _IPV4.sub("***", text))
    match = _REPLY.search(text) or _REPLY_OK.search(text)
    return match.group(1) if match else ""


def is_temporary(text: str) -> bool | None:
    """True/False when ``text`` (codes, then words) says temporary/permanent, else None."""
    code = find_status(text) or find_reply_code(text)
    if code:
        return {"4": True, "5": False}.get(code[0])
    lowered = text.lower()
    if "temporar" in lowered or "persistent" in lowered:
        return True
    if "permanent" in lowered:
        return False
    return None


def pseudo_status(reason: str, temporary: bool) -> str:
    """A status code standing for ``reason`` when the message gave none (``""`` if none fits)."""
    if temporary:
        return _PSEUDO_TEMPORARY.get(reason) or _PSEUDO_PERMANENT.get(reason, "")
    return _PSEUDO_PERMANENT.get(reason, "")
