"""RFC 3464 delivery status notifications, read field by field per recipient.

The delivery-status text may come as a proper ``message/delivery-status`` part, as text/plain,
under a wrong MIME type, or inside a returned message; any text carrying ``Final-Recipient:`` or
``Original-Recipient:`` fields is read. Addresses may be ``rfc822;`` or ``utf-8;`` (xtext,
RFC 3461) typed. ``Diagnostic-Code`` may be folded over several lines.
"""

from __future__ import annotations

import re

from .finalize import Draft
from .mailview import MailView, first_address
from .recipients import clean

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,40})[ \t]*:[ \t]*(.*)$")
_XTEXT = re.compile(r"\+([0-9A-Fa-f]{2})")
_UNICODE_ESC = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")
_RECIPIENT_FIELDS = frozenset({"final-recipient", "original-recipient", "x-actual-recipient"})
_PER_RECIPIENT = frozenset(
    {"action", "status", "diagnostic-code", "remote-mta", "last-attempt-date",
     "will-retry-until", "final-log-id", "x-actual-recipient", "x-remote-mta"}
)
_DSN_MARK = re.compile(r"^(?:final|original)-recipient[ \t]*:", re.I | re.M)


def decode_address(value: str) -> str:
    """The address in a DSN recipient field (``rfc822; a@b``, ``utf-8; xtext``), lowercased."""
    addr_type, sep, rest = value.partition(";")
    text = rest if sep else addr_type
    if sep and addr_type.strip().lower() in ("utf-8", "x-utf-8", "unknown"):
        text = _UNICODE_ESC.sub(lambda m: _chr(m.group(1)), text)
    text = _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), text) if "+" in text and "@" in text else text
    candidate = text.strip().strip("<>").strip()
    if candidate.count("@") == 1 and not any(ch.isspace() for ch in candidate):
        # the field holds the address alone: taken whole, whatever characters its local part
        # has (an RFC 2047 word, a quoted string); the pattern below would cut it
        address = clean(candidate)
        if address:
            return address
    return first_address(text)


def _chr(hexdigits: str) -> str:
    try:
        return chr(int(hexdigits, 16))
    except (ValueError, OverflowError):
        return ""


def fields(text: str) -> list[tuple[str, str]]:
    """Header-style fields of ``text`` in order, continuation lines unfolded."""
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            out.append(("", ""))
            continue
        if line[0] in " \t" and out and out[-1][0]:
            name, value = out[-1]
            out[-1] = (name, value + " " + line.strip())
            continue
        match = _FIELD.match(line)
        if match:
            out.append((match.group(1).lower(), match.group(2).strip()))
        elif out and out[-1][0] == "diagnostic-code":
            # Some MTAs fold the diagnostic without indentation.
            name, value = out[-1]
            out[-1] = (name, value + " " + line.strip())
        else:
            out.append(("", ""))
    return out


def read_report(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Split a delivery-status text into per-message fields and per-recipient field groups."""
    per_message: dict[str, str] = {}
    groups: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for name, value in fields(text):
        if not name:
            if current is not None and len(current) > 1:
                current = None  # a blank line ends a recipient's group (its next one may start
                # with Original-Recipient, which must not join this one)
            continue
        if name in ("final-recipient", "original-recipient"):
            if current is None or name in current:
                current = {}
                groups.append(current)
            current[name] = value
        elif current is not None and (name in _PER_RECIPIENT or name.startswith("x-")):
            current.setdefault(name, value)
        elif current is None and name == "action":
            current = {name: value}
            groups.append(current)
        else:
            per_message.setdefault(name, value)
    return per_message, groups


def _may_be_dsn(text: str) -> bool:
    """False when ``text`` cannot hold a _DSN_MARK line (exact for ASCII text, where re.I
    is plain lowercasing)."""
    return not text.isascii() or "-recipient" in text.lower()


def _diagnostic(value: str) -> tuple[str, str]:
    dtype, sep, rest = value.partition(";")
    if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,20}", dtype.strip()):
        return dtype.strip().upper(), rest.strip()
    return "SMTP", value.strip()


def detect(view: MailView) -> list[Draft] | None:
    """Drafts for every recipient of every delivery-status report in the message, or None."""
    texts = list(view.reports or view.nested_reports)
    if not texts:
        texts = [t for _, t in view.texts if _may_be_dsn(t) and _DSN_MARK.search(t)]
    drafts: list[Draft] = []
    seen: set[str] = set()
    for text in texts:
        per_message, groups = read_report(text)
        for group in groups:
            final = decode_address(group.get("final-recipient", "")) or decode_address(group.get("x-actual-recipient", ""))
            # the address the mail was sent to (the one on the sender's list), where an alias
            # or a forward made the final one differ
            address = decode_address(group.get("original-recipient", "")) or final
            if not address or address in seen:
                continue
            seen.add(address)
            dtype, diagnostic = _diagnostic(group.get("diagnostic-code", ""))
            remote = group.get("remote-mta", "")
            remote = remote.partition(";")[2].strip() if ";" in remote else remote
            drafts.append(
                Draft(
                    address=address,
                    status=group.get("status", "").split(" ", 1)[0],
                    diagnostic=diagnostic,
                    action=group.get("action", ""),
                    remote_mta=remote,
                    diag_type=dtype if dtype else "SMTP",
                    source="dsn",
                    final_address=final if final != address else "",
                )
            )
    return drafts or None
