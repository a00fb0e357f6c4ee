"""The parser's shortcuts (a word test before a slow pattern, one pattern for several) answer
exactly as the patterns they stand in for, over the corpus texts and over spellings that case
folding and non-ASCII text could trip."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from bouncewatch.parse import reasons, textreport
from bouncewatch.parse.fastmime import parse_bytes_typed
from bouncewatch.parse.mailview import build_view
from bouncewatch.parse.reasons_data import RHOST_HOSTS

# the module, not the function of that name the package exports
finalize = importlib.import_module("bouncewatch.parse.finalize")

CORPUS = Path(__file__).parent / "corpus" / "sisimai"

CRAFTED = [
    "",
    "plain text, nothing to cut\nat all\n",
    "Hi.\n\n  > ---- Original Message ----\nFrom: a@b.c\n",
    "error\n\n------ This is a copy of the message\nReceived: x\n",
    "error\nCONTENT-TYPE: message/rfc822\n\nFrom: a@b\n",
    "error\nContent-Type:\ttext/rfc822-headers\n",
    "error\nthe Returned Mail follows\n",
    "error\nsomething about an original message in the middle of a line\n==== Original message\n",
    "Fehler\nÜbersicht: original message below\n",  # non-ASCII: the pattern itself
    "error\n\u0130ncluded is a copy\n",  # dotless/dotted i: case folds beyond ASCII
    "said: 550 unknown (IN REPLY TO rcpt to command)",
    "host said: 550 rejected After Data",
    "while sending the Message Body: 552",
    "response to initial connection: 421",
    "sender was rejected",
    "it DOES NOT LIKE RECIPIENT",
    "Remote host said: 554 denied (failed after I sent the message)",
    "dragonfly: did not like our final data",
    "550 user unknown for rcpt to",
    "ıN reply to RCPT TO command",  # non-ASCII: the pattern itself decides
    "RCPT TO generated following response: 550",
]


def _corpus_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(CORPUS.glob("*.eml")):
        msg, types = parse_bytes_typed(path.read_bytes())
        view = build_view(msg, types)
        texts.append(view.body)
        texts.extend(text for _, text in view.texts)
    return texts


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _corpus_texts() + CRAFTED


def _find_command_by_patterns(text: str) -> str:
    """find_command as it reads without the word tests."""
    echoed = finalize._ECHOED_COMMAND.findall(text) if ">>>" in text else None
    if echoed:
        return finalize._UPPER_NAMES.get(echoed[-1].upper(), "")
    if "mail.local" in text and finalize._LOCAL_AGENT.search(text):
        return "LOCAL"
    match = finalize._COMMAND.search(text)
    if match:
        return finalize._COMMAND_NAMES.get(match.group(1).lower(), "")
    match = finalize._STAGE_WORDS.search(text) if finalize._STAGE_HINT.search(text) else None
    if match:
        return finalize._STAGE_NAMES[next(g for g in match.groups() if g).lower()]
    found = finalize._UPPER_COMMAND.findall(text)
    return finalize._UPPER_NAMES[found[-1]] if found else ""


def test_error_section_cuts_where_the_pattern_does(texts: list[str]) -> None:
    for text in texts:
        head = text[:65536]
        match = textreport._CUT.search(head)
        assert textreport._cut_at(head, head.lower() if head.isascii() else "") == (match.start() if match else None), head[:200]


def _error_section_by_patterns(text: str) -> str:
    """error_section as it reads without the word tests."""
    text = text[:65536]
    match = textreport._CUT.search(text)
    cut = match.start() if match else len(text)
    if not textreport._STRONG_HEADER_LINE.search(text, 0, cut):
        return text[:cut]
    offset = 0
    lines = text[:cut].split("\n")
    for i, line in enumerate(lines[:-1]):
        nxt = lines[i + 1]
        if textreport._STRONG_HEADER.match(line) and (textreport._HEADERISH.match(nxt) or nxt[:1] in (" ", "\t")):
            return text[:offset]
        offset += len(line) + 1
    return text[:cut]


def test_error_section_answers_as_the_patterns_do(texts: list[str]) -> None:
    extra = ["error\nRECEIVED: from x\nDate: now\n", "error\nMessage-Id: <a@b>\n\tfolded\n", "x\nReturn-path: <>\nFrom: a\n"]
    for text in texts + extra:
        assert textreport.error_section(text) == _error_section_by_patterns(text), text[:200]


def test_find_command_answers_as_the_patterns_do(texts: list[str]) -> None:
    lines = [line for text in texts for line in text.split("\n") if line.strip()]
    for text in texts + lines:
        assert finalize.find_command(text) == _find_command_by_patterns(text), text[:200]


@pytest.mark.parametrize(
    "host",
    ["smtpz4.laposte.net", "orange.fr", "mx.orange.fr.", "smtp.secureserver.net", "mta6.am0.yahoodns.net",
     "mfsmax.docomo.ne.jp", "gmail-smtp-in.l.google.com", "x.prod.outlook.com", "mx.me.com", "au.com",
     "mx.example.org", "laposte.net.example", "notgmail-smtp-in.l.google.com", "", "  "],
)
def test_rhost_rules_answers_as_each_pattern_does(host: str) -> None:
    plain = host.strip().strip(".").lower()
    expected = next((name for pattern, name in RHOST_HOSTS if plain and re.search(pattern, plain)), "")
    assert reasons.rhost_rules(host) == expected
