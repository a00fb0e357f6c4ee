"""A faster drop-in for ``email.message_from_bytes(raw, policy=compat32)``.

The standard feed parser spends most of its time on per-line machinery (a generator per
part, a deque-backed line buffer, a regular expression per line per open boundary). This
module runs the very same algorithm (``email.feedparser.FeedParser._parsegen``, Python 3.11),
step for step, over a list of lines split once, and builds the same ``email.message.Message``
tree: same headers (raw, in order), payloads, preambles, epilogues, defects, default types.

Anything it does not mirror exactly is handed to the standard parser: ``parse_bytes`` raises
no error of its own and falls back whenever in doubt (see ``_Fallback``). tests/test_parse_fastmime.py
checks that both parsers build identical trees over the corpus and over mangled inputs.
"""

from __future__ import annotations

import email
import re
from email import errors
from email._policybase import compat32 as _COMPAT32
from email.message import Message

# email.feedparser.headerRE (not imported: the feed parser loads only when it is needed)
_is_header_line = re.compile(r"^(From |[\041-\071\073-\176]*:|[\t ])").match
_EOL = ("\r\n", "\n", "\r")


class _Fallback(Exception):
    """A case the fast path does not mirror: use the standard parser."""


def parse_bytes(raw: bytes) -> Message:
    """``email.message_from_bytes(raw, policy=compat32)``, faster; never a different tree."""
    return parse_bytes_typed(raw)[0]


def parse_bytes_typed(raw: bytes) -> tuple[Message, dict[int, str]]:
    """Like ``parse_bytes``, with ``id(part) -> part.get_content_type()`` for every part
    (empty when the standard parser had to be used)."""
    try:
        parser = _Parser(raw.decode("ascii", "surrogateescape"))
        return parser.parse(), parser.types
    except (_Fallback, RecursionError):
        return email.message_from_bytes(raw, policy=_COMPAT32), {}


# A Content-Type value with only plain parameters: no RFC 2231 ("*"), no backslash, quoted
# values without ";" or quotes inside, unquoted values without blanks.
_SIMPLE_CT = re.compile(
    r'\s*[^\s;="*\\]+\s*((?:;\s*[^\s=;"*\\]+\s*=\s*(?:"[^"\\;]*"|[^\s";\\*]*)\s*)*)\Z'
)
_SIMPLE_PARAM = re.compile(r';\s*([^\s=;"*\\]+)\s*=\s*("[^"\\;]*"|[^\s";\\*]*)')


def _unquote(value: str) -> str:
    """``email.utils.unquote``."""
    if len(value) > 1:
        if value.startswith('"') and value.endswith('"'):
            return value[1:-1].replace("\\\\", "\\").replace('\\"', '"')
        if value.startswith("<") and value.endswith(">"):
            return value[1:-1]
    return value


def simple_param(value: str | None, name: str) -> str | None | bool:
    """``Message.get_param(name)`` of a Content-Type ``value`` when that value is simple (ASCII,
    plain parameters): the parameter unquoted, or None when absent; False when the value is
    not simple and the email package must answer."""
    if value is None or not value.isascii():
        return False
    found = _SIMPLE_CT.match(value)
    if not found:
        return False
    for key, param in _SIMPLE_PARAM.findall(found.group(1)):
        if key.lower() == name:
            return _unquote(param)
    return None


def _simple_boundary(value: str | None) -> str | None | bool:
    """``Message.get_boundary()`` for a simple Content-Type value; False when not simple."""
    param = simple_param(value, "boundary")
    if isinstance(param, str):
        return _unquote(param).rstrip()  # collapse_rfc2231_value unquotes once more
    return param


def _strip_eol(text: str) -> str:
    """``text`` without one trailing line ending (``NLCRE_eol``)."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith(("\n", "\r")):
        return text[:-1]
    return text


class _Boundary:
    """``boundaryre.match`` of feedparser without compiling a pattern per message."""

    __slots__ = ("sep", "size")

    def __init__(self, boundary: str) -> None:
        self.sep = "--" + boundary
        self.size = len(self.sep)

    def match(self, line: str) -> tuple[bool, str] | None:
        """None, or (closing?, line ending) when ``line`` is this boundary."""
        if not line.startswith(self.sep):
            return None
        rest = line[self.size:]
        end = rest.startswith("--")
        if end:
            rest = rest[2:]
        rest = rest.lstrip(" \t")
        if rest == "" or rest in _EOL:
            return end, rest
        return None


_EOF_FIRST = frozenset("-\r\n")  # what a line that ends a part starts with


def _blank(line: str) -> bool:
    """``NLCRE.match``."""
    return line[:1] in ("\r", "\n")


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(True)
        # str.splitlines breaks at more characters than the feed parser (\r, \n, \r\n only)
        for odd in ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e"):
            if odd in text:
                raise _Fallback
        self.pos = 0
        self.n = len(self.lines)
        self.eof: list = []  # predicates, innermost last
        self.stack: list[Message] = []
        self.cur: Message | None = None
        self.last: Message | None = None
        self.types: dict[int, str] = {}  # id(message) -> content type, once its headers are read
        self.content_types: dict[int, str | None] = {}  # id(multipart) -> its Content-Type value

    # -- the line buffer -------------------------------------------------------------------

    def readline(self) -> str:
        if self.pos >= self.n:
            return ""
        line = self.lines[self.pos]
        if self.eof and line[:1] in ("-", "\r", "\n"):
            for ateof in reversed(self.eof):
                if ateof(line):
                    return ""
        self.pos += 1
        return line

    def rest(self) -> list[str]:
        """All lines up to the (false) end of file, consumed."""
        start = self.pos
        if not self.eof:
            self.pos = self.n
            return self.lines[start:]
        lines = self.lines
        eof = self.eof
        i = start
        n = self.n
        while i < n:
            line = lines[i]
            if line[:1] in ("-", "\r", "\n") and any(ateof(line) for ateof in eof):
                break
            i += 1
        self.pos = i
        return lines[start:i]

    # -- the parser ------------------------------------------------------------------------

    def parse(self) -> Message:
        self._parsegen()
        root = self._pop()
        if self.types[id(root)].startswith("multipart/") and not root.is_multipart():
            root.defects.append(errors.MultipartInvariantViolationDefect())
        return root

    def _new(self) -> Message:
        msg = Message(policy=_COMPAT32)
        if self.cur is not None and self.types.get(id(self.cur)) == "multipart/digest":
            msg.set_default_type("message/rfc822")
        if self.stack:
            self.stack[-1].attach(msg)
        self.stack.append(msg)
        self.cur = msg
        self.last = msg
        return msg

    def _pop(self) -> Message:
        msg = self.stack.pop()
        self.cur = self.stack[-1] if self.stack else None
        return msg

    def _parsegen(self) -> None:
        msg = self._new()
        ctype = self._headers(msg)
        if ctype == "message/delivery-status":
            while True:
                self.eof.append(_blank)
                self._parsegen()
                self._pop()
                self.eof.pop()
                self.readline()
                line = self.readline()
                if line == "":
                    break
                self.pos -= 1
            return
        maintype = ctype.split("/", 1)[0]
        if maintype == "message":
            self._parsegen()
            self._pop()
            return
        if maintype == "multipart":
            self._multipart(msg)
            return
        msg._payload = "".join(self.rest())  # set_payload(str) without charset

    def _headers(self, msg: Message) -> str:
        """Read the header block into ``msg`` as the feed parser does (its header loop and
        ``_parse_headers`` in one pass); the message's content type."""
        lines, i, n, eof = self.lines, self.pos, self.n, self.eof
        raw = msg._headers  # what set_raw appends to
        defects = msg.defects
        content_type = None
        last = None  # the first line of the field being read ...
        more: list[str] | None = None  # ... and its continuation lines
        start = i
        pending_from = None  # a "From " line past the first: misplaced, unless it is the last
        blank_consumed = False
        is_header_line = _is_header_line
        while i < n:
            line = lines[i]
            first = line[:1]
            if first == " " or first == "\t":
                # a continuation line, as headerRE's "[\t ]" would say: neither the end of a
                # part (those start with "-", CR or LF) nor a line the pattern need be asked about
                i += 1
                if pending_from is not None:
                    defects.append(errors.MisplacedEnvelopeHeaderDefect(pending_from))
                    pending_from = None
                if last is None:
                    defects.append(errors.FirstHeaderLineIsContinuationDefect(line))
                elif more is None:
                    more = [line]
                else:
                    more.append(line)
                continue
            if eof and first in _EOF_FIRST and any(ateof(line) for ateof in eof):
                break
            if not is_header_line(line):
                if first == "\r" or first == "\n":
                    blank_consumed = True
                    i += 1
                else:  # noted by the feed parser before any defect of the header lines
                    defects.insert(0, errors.MissingHeaderBodySeparatorDefect())
                break
            i += 1
            if pending_from is not None:
                defects.append(errors.MisplacedEnvelopeHeaderDefect(pending_from))
                pending_from = None
            if last is not None:
                # compat32.header_source_parse
                name, _, value = last.partition(":")
                if more is None:
                    value = value.lstrip(" \t").rstrip("\r\n")
                else:
                    value = (value.lstrip(" \t") + "".join(more)).rstrip("\r\n")
                    more = None
                raw.append((name, value))
                if content_type is None and len(name) == 12 and name.lower() == "content-type":
                    content_type = value
                last = None
            if first == "F" and line.startswith("From "):
                if i == start + 1:  # the block's first line
                    msg.set_unixfrom(_strip_eol(line))
                else:
                    pending_from = line
                continue
            # headerRE matched "name:" here, so a colon is there: at 0 the name is missing
            if first == ":":
                defects.append(errors.InvalidHeaderDefect("Missing header name."))
            else:
                last = line
        if pending_from is not None:
            # the last header line looks like a unix-from: the feed parser pushes it back as
            # the first body line
            if blank_consumed:
                raise _Fallback  # it would go back after the blank line
            i -= 1
        elif last is not None:
            name, _, value = last.partition(":")
            value = (value.lstrip(" \t") + "".join(more or ())).rstrip("\r\n")
            raw.append((name, value))
            if content_type is None and name.lower() == "content-type":
                content_type = value
        self.pos = i
        # Message.get_content_type, from the first Content-Type field
        if content_type is None:
            ctype = msg.get_default_type()
        elif not content_type.isascii():  # fetched as a Header: leave it to the email package
            ctype = msg.get_content_type()
        else:
            ctype = content_type.partition(";")[0].strip().lower()
            if ctype.count("/") != 1:
                ctype = "text/plain"
        self.types[id(msg)] = ctype
        if ctype.startswith("multipart/"):
            self.content_types[id(msg)] = content_type
        return ctype

    def _multipart(self, msg: Message) -> None:
        boundary = _simple_boundary(self.content_types.get(id(msg)))
        if boundary is False:
            boundary = msg.get_boundary()
        if boundary is None:
            msg.defects.append(errors.NoBoundaryInMultipartDefect())
            msg.set_payload("".join(self.rest()))
            return
        if str(msg.get("content-transfer-encoding", "8bit")).lower() not in ("7bit", "8bit", "binary"):
            msg.defects.append(errors.InvalidMultipartContentTransferEncodingDefect())
        bound = _Boundary(boundary)
        capturing_preamble = True
        preamble: list[str] = []
        linesep = ""
        close_boundary_seen = False
        while True:
            line = self.readline()
            if line == "":
                break
            mo = bound.match(line)
            if mo:
                if mo[0]:
                    close_boundary_seen = True
                    linesep = mo[1]
                    break
                if capturing_preamble:
                    if preamble:
                        preamble[-1] = _strip_eol(preamble[-1])
                        msg.preamble = "".join(preamble)
                    capturing_preamble = False
                    self.pos -= 1
                    continue
                while True:
                    line = self.readline()
                    if not bound.match(line):
                        if line != "":
                            self.pos -= 1
                        break
                self.eof.append(bound.match)
                self._parsegen()
                last = self.last
                if self.types[id(last)].startswith("multipart/"):
                    epilogue = last.epilogue
                    if epilogue == "":
                        last.epilogue = None
                    elif epilogue is not None:
                        last.epilogue = _strip_eol(epilogue)
                else:
                    payload = last._payload  # as the feed parser does
                    if isinstance(payload, str):
                        last._payload = _strip_eol(payload)
                self.eof.pop()
                self._pop()
                self.last = self.cur
            else:
                preamble.append(line)
        if capturing_preamble:
            msg.defects.append(errors.StartBoundaryNotFoundDefect())
            msg.set_payload("".join(preamble))
            self.rest()
            msg.epilogue = ""
            return
        if not close_boundary_seen:
            msg.defects.append(errors.CloseBoundaryNotFoundDefect())
            return
        epilogue = [""] if linesep else []
        epilogue.extend(self.rest())
        if epilogue:
            first = epilogue[0]
            if first.startswith("\r\n"):
                epilogue[0] = first[2:]
            elif first[:1] in ("\r", "\n"):
                epilogue[0] = first[1:]
        msg.epilogue = "".join(epilogue)
