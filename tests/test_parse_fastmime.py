"""fastmime builds exactly the tree of email.message_from_bytes(policy=compat32)."""

from __future__ import annotations

import email
import email.policy
import random
from email.message import Message
from pathlib import Path

import pytest

from bouncewatch.parse.fastmime import parse_bytes_typed

CORPUS = Path(__file__).resolve().parent / "corpus"
FILES = sorted(CORPUS.rglob("*.eml"))


def _dump(msg: Message, out: list) -> list:
    out.append(
        (msg.get_unixfrom(), list(msg._headers), [(type(d).__name__, str(d)) for d in msg.defects],
         msg.preamble, msg.epilogue, msg.get_default_type(), msg.get_content_type())
    )
    payload = msg._payload
    if isinstance(payload, list):
        out.append(len(payload))
        for sub in payload:
            _dump(sub, out)
    else:
        out.append(payload)
    return out


def _check(raw: bytes) -> None:
    expected = email.message_from_bytes(raw, policy=email.policy.compat32)
    msg, types = parse_bytes_typed(raw)
    assert _dump(msg, []) == _dump(expected, [])
    for part in msg.walk():
        if id(part) in types:
            assert types[id(part)] == part.get_content_type()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_trees_identical(path: Path) -> None:
    _check(path.read_bytes())


EDGE_CASES = [
    b"",
    b"\n\n",
    b"From someone Mon Jan 1\nSubject: x\n\nbody",
    b"Subject: x\nFrom not-a-header-at-end\n\nbody\n",
    b"Subject: x\nFrom not-a-header-at-end\nbody\n",
    b" continuation first\nSubject: x\n\nbody",
    b":no name\nSubject: x\n\nbody",
    b"Subject: x\nbody without separator\n",
    b"Content-Type: multipart/mixed\n\nno boundary\n",
    b"Content-Type: multipart/mixed; boundary=b\n\npre\n--b--\nafter\n",
    b"Content-Type: multipart/mixed; boundary=b\n\npre\n--b\n\none\n--b\n--b\nContent-Type: text/plain\n\ntwo\r\n--b--  \r\n\r\nepi\n",
    b"Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n--b\n\none\n",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/alternative; boundary=c\n\n--c\n\nx\n--b--\n",
    b"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: inner\n\nhi\n--d--\n",
    (
        b"Content-Type: multipart/report; boundary=r\n\n--r\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b.c\nStatus: 5.1.1\n\n\n--r\n"
        b"Content-Type: message/rfc822\n\nSubject: orig\n\nbody\n--r--\n"
    ),
    b"Content-Type: text/plain\r\rbody\rmore\r",
    b"Content-Type: text/pl\xffain; charset=utf-8\n\n\xe9t\xe9\n",
    b"Subject: a\x0bb\n\nvertical\x0ctab\n",
]


@pytest.mark.parametrize("raw", EDGE_CASES)
def test_edge_cases_identical(raw: bytes) -> None:
    _check(raw)


def test_mangled_corpus_identical() -> None:
    rnd = random.Random(5)
    tokens = [b"\n", b"\r\n", b"\r", b"--", b"\n\n", b"--x\n", b"From x\n", b" cont\n", b":bad\n",
              b"Content-Type: multipart/mixed; boundary=\"x\"\n", b"Content-Type: message/delivery-status\n",
              b"Content-Type: message/rfc822\n", b"\xff\n"]
    sources = [p.read_bytes() for p in FILES[:60]]
    for _ in range(400):
        raw = bytearray(rnd.choice(sources))
        for _ in range(rnd.randint(1, 5)):
            i = rnd.randrange(len(raw) + 1)
            if rnd.random() < 0.6:
                raw[i:i] = rnd.choice(tokens)
            else:
                del raw[i:i + rnd.randint(1, 40)]
        _check(bytes(raw))


def test_header_line_pattern_is_the_feed_parsers() -> None:
    from email.feedparser import headerRE

    from bouncewatch.parse import fastmime

    assert fastmime._is_header_line.__self__.pattern == headerRE.pattern


@pytest.mark.parametrize(
    "value",
    [
        'multipart/mixed; boundary="abc"', "multipart/mixed; boundary=abc", 'MULTIPART/x ; BOUNDARY = "x y"',
        'multipart/mixed; boundary="<q>"', "multipart/mixed; boundary=<q>", "multipart/mixed; boundary=",
        'multipart/mixed; boundary=""', 'multipart/mixed; boundary="a=b"', "multipart/mixed; boundary=a=b",
        "multipart/mixed; boundary*=us-ascii''x", 'multipart/mixed; boundary="a;b"', "multipart/mixed; boundary=a b",
        'multipart/mixed; boundary="x "', 'multipart/mixed;\r\n\tboundary="abc\r\n def"', "multipart/mixed",
        'text/plain; charset="UTF-8"', "text/plain; charset=iso-2022-jp; format=flowed", "text/plain;charset=",
    ],
)
def test_simple_params_match_the_email_package(value: str) -> None:
    from bouncewatch.parse.fastmime import _simple_boundary, simple_param

    msg = Message()
    msg["Content-Type"] = value
    boundary = _simple_boundary(value)
    if boundary is not False:
        assert boundary == msg.get_boundary()
    charset = simple_param(value, "charset")
    if charset is not False:
        assert charset == msg.get_param("charset")
