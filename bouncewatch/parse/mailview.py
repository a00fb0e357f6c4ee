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
import re
from dataclasses import dataclass, field
from email._policybase import compat32 as _COMPAT32
from email.message import Message

from .fastmime import simple_param

MAX_DEPTH = 12
MAX_PARTS = 200
MAX_TEXT = 256 * 1024

# An address-looking string in running text (readers build their line patterns from it).
ADDRESS_PATTERN = r"(?<![\w.+/=&%-])[\w.+'=%-]+@[\w-]+(?:\.[\w-]+)+"
_ADDR = re.compile(ADDRESS_PATTERN, re.ASCII)
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
    if not raw.isascii():
        raw = _eight_bit(raw)
    if "=?" in raw:
        try:
            pieces = email.header.decode_header(raw)
            raw = "".join(
                p.decode(c or "latin-1", "replace") if isinstance(p, bytes) else p for p, c in pieces
            )
        except (LookupError, ValueError, email.errors.HeaderParseError):
            pass
    return " ".join(raw.split())


def _eight_bit(value: str) -> str:
    """A header value with raw 8-bit bytes (kept by the parser as surrogates) read as UTF-8, the
    charset of such headers (RFC 6532), or Latin-1 where it is not UTF-8."""
    if not any("\udc80" <= c <= "\udcff" for c in value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def addresses_in(text: str) -> list[str]:
    """Every address-looking string in ``text``, in order, lowercased, without duplicates."""
    if "@" not in text:  # no address without one: the pattern need not scan the text
        return []
    seen: dict[str, None] = {}
    for match in _ADDR.finditer(text):
        seen.setdefault(match.group(0).strip(".").lower(), None)
    return list(seen)


def first_address(text: str) -> str:
    """The first address in ``text``, lowercased, or ``""``."""
    if not text or "@" not in text:
        return ""
    match = _ADDR.search(text)
    return match.group(0).strip(".").lower() if match else ""


# charsets in which every ASCII byte decodes to the same ASCII character
_ASCII_SAFE = frozenset(
    {"utf-8", "utf8", "us-ascii", "ascii", "latin1", "latin-1", "iso8859-1", "koi8-r", "koi8-u",
     "gb2312", "gbk", "gb18030", "big5", "euc-jp", "euc-kr", "shift_jis", "cp1252", "cp932"}
)
_ASCII_SAFE_PREFIXES = ("iso-8859-", "windows-125")


def part_text(part: Message) -> str:
    """The decoded text of a non-multipart part (charset errors replaced), cut to MAX_TEXT,
    with LF line ends whatever the message used (mail fetched over IMAP has CRLF)."""
    return _lf(_part_text(part))


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _part_text(part: Message) -> str:
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
    if isinstance(payload, str) and payload.isascii():
        # The common case without the email package's generic path: an ASCII payload that
        # needs no transfer decoding, in a charset where ASCII bytes mean ASCII characters,
        # reads as itself (what get_payload(decode=True) then .decode(charset) would give).
        fields = first_values(part)
        cte = str(fields.get("content-transfer-encoding", "")).strip().lower()
        if cte in ("", "7bit", "8bit", "binary"):
            value = fields.get("content-type")
            charset = simple_param(value, "charset") if value is not None else None
            if charset is False:
                charset = part.get_content_charset()
            elif charset is not None:
                charset = charset.lower()  # get_content_charset, for an ASCII value
            if charset is None or charset in _ASCII_SAFE or charset.startswith(_ASCII_SAFE_PREFIXES):
                return payload[:MAX_TEXT]
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
    if "\ufffd" in text:
        text = _decode_as_written(data, charset) or text
    return text[:MAX_TEXT]


# Mail that names one charset and is written in another of the same script (Japanese carriers
# send EUC-JP labelled ISO-2022-JP): tried, strictly, when the named one leaves undecodable bytes.
_SAME_SCRIPT = {
    "iso-2022-jp": ("euc-jp", "cp932"), "euc-jp": ("cp932",), "shift_jis": ("euc-jp",), "cp932": ("euc-jp",),
    "gb2312": ("gb18030", "big5"), "gbk": ("gb18030", "big5"), "big5": ("gb18030",),
    "koi8-r": ("cp1251",), "windows-1251": ("koi8-r",),
}


def _decode_as_written(data: bytes, charset: str) -> str:
    """``data`` decoded without errors as UTF-8 or a charset of the named one's script, or ``""``."""
    for candidate in ("utf-8", *_SAME_SCRIPT.get(charset.lower(), ())):
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return ""


@dataclass
class MailView:
    """What detectors need from one message."""

    msg: Message
    subject: str = ""
    from_addr: str = ""
    content_type: str = ""
    texts: list[tuple[str, str]] = field(default_factory=list)  # (content type, text) outside originals
    reports: list[str] = field(default_factory=list)  # delivery-status texts
    nested_reports: list[str] = field(default_factory=list)  # ... inside a returned message
    feedback: list[str] = field(default_factory=list)  # message/feedback-report texts
    originals: list[Message | HeaderBlock] = field(default_factory=list)  # returned messages / header blocks
    original_texts: list[str] = field(default_factory=list)  # text/rfc822-headers payloads
    notes: list[str] = field(default_factory=list)
    # Built on first use, once per message: Message.get scans (and lowercases) every header
    # on each call, and detectors ask for the same few headers again and again.
    _headers: dict[str, str] | None = field(default=None, repr=False)
    _decoded: dict[str, str] = field(default_factory=dict, repr=False)
    _original: dict[str, str] = field(default_factory=dict, repr=False)
    _body: str | None = field(default=None, repr=False)
    _original_fields: list[dict[str, tuple[str, str]] | None] | None = field(default=None, repr=False)
    cache: dict[str, object] = field(default_factory=dict, repr=False)  # per-message results of helpers

    def header(self, name: str) -> str:
        """A top-level header, decoded; ``""`` when absent."""
        key = name.lower()
        found = self._decoded.get(key)
        if found is not None:
            return found
        if self._headers is None:
            self._headers = first_values(self.msg)
        try:
            found = header_text(self._headers.get(key))
        except (TypeError, ValueError, LookupError):
            found = ""
        self._decoded[key] = found
        return found

    def has_header(self, name: str) -> bool:
        """True when the top-level header is present (even empty)."""
        if self._headers is None:
            self._headers = first_values(self.msg)
        return name.lower() in self._headers

    @property
    def body(self) -> str:
        """All human-readable text outside the returned original, joined."""
        if self._body is None:
            self._body = "\n".join(t for _, t in self.texts)
        return self._body

    def original_header(self, name: str) -> str:
        """A header of the returned original message, from the first place it appears."""
        key = name.lower()
        found = self._original.get(key)
        if found is None:
            found = self._original[key] = self._find_original_header(key)
        return found

    def _find_original_header(self, key: str) -> str:
        if self._original_fields is None:
            # one pass over each returned message's headers instead of one per name asked
            self._original_fields = [
                _first_fields(orig) if isinstance(orig, Message) else None for orig in self.originals
            ]
        for orig, fields in zip(self.originals, self._original_fields):
            if fields is None:
                value = orig.get(key)
            else:
                found = fields.get(key)
                # what Message.get returns: compat32 turns undecodable bytes into a Header
                value = _COMPAT32.header_fetch_parse(*found) if found else None
            if value:
                return header_text(value)
        return ""


class HeaderBlock:
    """The headers of a returned original given as text (text/rfc822-headers, or a message/*
    part that did not parse as one), split lazily by ``split_headers`` instead of a second run
    of the email package's parser."""

    __slots__ = ("_fields", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._fields: dict[str, str] | None = None

    def get(self, name: str, default: str | None = None) -> str | None:
        if self._fields is None:
            self._fields = {}
            for key, value in split_headers(self.text):
                self._fields.setdefault(key, value)
        return self._fields.get(name.lower(), default)


def first_values(msg: Message) -> dict[str, str]:
    """Lowercased header name → first value, for one Message (raw, undecoded)."""
    out: dict[str, str] = {}
    try:
        for name, value in msg._headers:  # noqa: SLF001 - one pass instead of one per get()
            out.setdefault(name.lower(), value)
    except (AttributeError, TypeError, ValueError):
        return {}
    return out


def _first_fields(msg: Message) -> dict[str, tuple[str, str]]:
    """Lowercased header name → first (name, raw value), for one Message."""
    out: dict[str, tuple[str, str]] = {}
    for item in msg._headers:  # one pass instead of one per get()
        out.setdefault(item[0].lower(), item)
    return out


_HEADER_LINE = re.compile(r"([!-9;-~]{1,200})[ \t]*:[ \t]*(.*)")


def split_headers(text: str, limit: int = 500) -> list[tuple[str, str]]:
    """A light header splitter: (lowercased name, unfolded value) per header field of ``text``
    (a header block, e.g. a text/rfc822-headers part), stopping at the first blank line."""
    out: list[tuple[str, str]] = []
    for line in text.lstrip("\r\n").split("\n"):
        line = line.rstrip("\r")
        if not line.strip():
            break
        if line[0] in " \t":
            if out:
                out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
            continue
        match = _HEADER_LINE.match(line)
        if match:
            if len(out) >= limit:
                break
            out.append((match.group(1).lower(), match.group(2).strip()))
    return out


def build_view(msg: Message, types: dict[int, str] | None = None) -> MailView:
    """Walk ``msg`` (bounded) and sort its parts into report, text and original.

    ``types`` may give ``id(part) -> part.get_content_type()`` already known (fastmime)."""
    view = MailView(msg=msg)
    view.subject = view.header("Subject")
    view.from_addr = first_address(view.header("From"))
    types = types or {}
    view.content_type = types.get(id(msg)) or msg.get_content_type()
    counter = [0]
    _walk(msg, view, 0, counter, inside_original=False, types=types)
    return view


def _walk(
    part: Message, view: MailView, depth: int, counter: list[int], inside_original: bool,
    types: dict[int, str],
) -> None:
    if counter[0] >= MAX_PARTS:
        return
    if depth > MAX_DEPTH:
        view.notes.append(f"nesting deeper than {MAX_DEPTH} not read")
        return
    counter[0] += 1
    ctype = types.get(id(part)) or part.get_content_type()
    if ctype in _REPORT_TYPES or ctype == "message/feedback-report":
        text = part_text(part)
        if ctype not in _REPORT_TYPES:
            view.feedback.append(text)
        else:
            # a report inside a returned message (a forwarded bounce) counts only when the
            # message has none of its own
            (view.nested_reports if inside_original else view.reports).append(text)
        return
    if ctype in _ORIGINAL_TYPES or (ctype.startswith("message/") and part.is_multipart()):
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            if not inside_original:
                view.originals.append(payload[0])
            # a report nested inside a returned message (forwarded bounce) still counts
            _walk(payload[0], view, depth + 1, counter, inside_original=True, types=types)
        else:
            text = part_text(part)
            if not inside_original:
                view.original_texts.append(text)
                view.originals.append(HeaderBlock(text))
        return
    if part.is_multipart():
        payload = part.get_payload()
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    _walk(sub, view, depth + 1, counter, inside_original, types)
        return
    if inside_original:
        return
    # (a multipart part whose boundary did not parse is left as one text: read it as such)
    if ctype.startswith(("text/", "multipart/")) or ctype in ("application/octet-stream", "") or depth == 0:
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
