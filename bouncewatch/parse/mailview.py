"""A read-only view of one parsed email: headers, decoded text parts, the returned original.

Built once per message from ``email.message_from_bytes`` (compat32 policy, the fast one) and
handed to every detector, so each part is decoded at most once. Walking is bounded: at most
``MAX_PARTS`` parts and ``MAX_DEPTH`` levels of nesting are looked at, and each text part is
cut to ``MAX_TEXT`` characters.
"""

from __future__ import annotations

import email
import email.header
import email.message
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message

MAX_DEPTH = 12
MAX_PARTS = 200
MAX_TEXT = 256 * 1024

_ADDR = re.compile(r"(?<![\w.+/=&%-])[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
_REPORT_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers",
     "message/partial", "text/rfc822-header"}
)


def header_text(value: object) -> str:
    """A header value as text, RFC 2047 words decoded, unfolded, never raising."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        raw = str(value)
    else:
        raw = str(value)
    if "=?" in raw:
        try:
            pieces = email.header.decode_header(raw)
            raw = "".join(
                p.decode(c or "latin-1", "replace") if isinstance(p, bytes) else p for p, c in pieces
            )
        except (LookupError, ValueError, email.errors.HeaderParseError):
            pass
    return " ".join(raw.split())


def addresses_in(text: str) -> list[str]:
    """Every address-looking string in ``text``, in order, lowercased, without duplicates."""
    seen: dict[str, None] = {}
    for match in _ADDR.finditer(text):
        seen.setdefault(match.group(0).strip(".").lower(), None)
    return list(seen)


def first_address(text: str) -> str:
    """The first address in ``text``, lowercased, or ``""``."""
    match = _ADDR.search(text or "")
    return match.group(0).strip(".").lower() if match else ""


def part_text(part: Message) -> str:
    """The decoded text of a non-multipart part (charset errors replaced), cut to MAX_TEXT."""
    payload = part.get_payload()
    if isinstance(payload, list):
        chunks = []
        for block in payload:
            if isinstance(block, Message):
                chunks.append("\n".join(f"{k}: {v}" for k, v in block.items()))
                inner = block.get_payload()
                if isinstance(inner, str) and inner.strip():
                    chunks.append(inner)
        return "\n\n".join(chunks)[:MAX_TEXT]
    try:
        data = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, AssertionError):
        data = None
    if data is None:
        return str(payload)[:MAX_TEXT] if payload is not None else ""
    data = data[: MAX_TEXT * 2]
    charset = part.get_content_charset() or "utf-8"
    try:
        text = data.decode(charset, "replace")
    except (LookupError, ValueError):
        text = data.decode("utf-8", "replace")
    return text[:MAX_TEXT]


@dataclass
class MailView:
    """What detectors need from one message."""

    msg: Message
    subject: str = ""
    from_addr: str = ""
    content_type: str = ""
    texts: list[tuple[str, str]] = field(default_factory=list)  # (content type, text) outside originals
    reports: list[str] = field(default_factory=list)  # delivery-status texts
    feedback: list[str] = field(default_factory=list)  # message/feedback-report texts
    originals: list[Message] = field(default_factory=list)  # returned messages / header blocks
    original_texts: list[str] = field(default_factory=list)  # text/rfc822-headers payloads
    notes: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        """A top-level header, decoded; ``""`` when absent."""
        try:
            return header_text(self.msg.get(name))
        except (TypeError, ValueError, LookupError):
            return ""

    @property
    def body(self) -> str:
        """All human-readable text outside the returned original, joined."""
        return "\n".join(t for _, t in self.texts)

    def original_header(self, name: str) -> str:
        """A header of the returned original message, from the first place it appears."""
        for orig in self.originals:
            value = orig.get(name)
            if value:
                return header_text(value)
        for text in self.original_texts:
            match = re.search(rf"^{re.escape(name)}:[ \t]*(.*(?:\n[ \t]+.*)*)", text, re.M | re.I)
            if match:
                return " ".join(match.group(1).split())
        return ""


def build_view(msg: Message) -> MailView:
    """Walk ``msg`` (bounded) and sort its parts into report, text and original."""
    view = MailView(msg=msg)
    view.subject = header_text(msg.get("Subject"))
    view.from_addr = first_address(header_text(msg.get("From")))
    view.content_type = msg.get_content_type()
    counter = [0]
    _walk(msg, view, 0, counter, inside_original=False)
    return view


def _walk(part: Message, view: MailView, depth: int, counter: list[int], inside_original: bool) -> None:
    if counter[0] >= MAX_PARTS:
        return
    if depth > MAX_DEPTH:
        view.notes.append(f"nesting deeper than {MAX_DEPTH} not read")
        return
    counter[0] += 1
    ctype = part.get_content_type()
    if ctype in _REPORT_TYPES or ctype == "message/feedback-report":
        text = part_text(part)
        (view.reports if ctype in _REPORT_TYPES else view.feedback).append(text)
        return
    if ctype in _ORIGINAL_TYPES or (ctype.startswith("message/") and part.is_multipart()):
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            if not inside_original:
                view.originals.append(payload[0])
            # a report nested inside a returned message (forwarded bounce) still counts
            _walk(payload[0], view, depth + 1, counter, inside_original=True)
        else:
            text = part_text(part)
            if not inside_original:
                view.original_texts.append(text)
                inner = _parse_headers_text(text)
                if inner is not None:
                    view.originals.append(inner)
        return
    if part.is_multipart():
        payload = part.get_payload()
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    _walk(sub, view, depth + 1, counter, inside_original)
        return
    if inside_original:
        return
    if ctype.startswith("text/") or ctype in ("application/octet-stream", "") or depth == 0:
        if ctype == "text/html" and any(t == "text/plain" for t, _ in view.texts):
            return
        text = part_text(part)
        if ctype == "text/html":
            text = _html_to_text(text)
        view.texts.append((ctype, text))


_TAG = re.compile(r"<[^<>]{0,2000}>")
_BREAK = re.compile(r"<(?:br|/p|/div|/tr|/li|p|div|tr)\b[^<>]{0,2000}>", re.I)
_ENTITIES = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#39;": "'"}


def _html_to_text(html: str) -> str:
    html = re.sub(r"(?is)<(style|script)\b.*?</\1\s*>", " ", html[:MAX_TEXT])
    text = _TAG.sub("", _BREAK.sub("\n", html))
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    return text


def _parse_headers_text(text: str) -> Message | None:
    try:
        return email.message_from_string(text.lstrip(), policy=email.policy.compat32)
    except (ValueError, TypeError, LookupError, IndexError):
        return None
