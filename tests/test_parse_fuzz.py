"""Seeded fuzzing: mutated, truncated and random inputs never make the parser fail.

parse_message never raises: it turns an exception into a "parser error" note, and one of a
detector into a "detector NAME failed" note, so a bug still loses no message. A crash is
therefore any such note, not only an exception that escapes.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import bouncewatch.parse
from bouncewatch.parse import parse_message
from bouncewatch.records import ParsedMessage

CORPUS = Path(__file__).resolve().parent / "corpus" / "sisimai"


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random damage: truncate, flip bytes, drop/duplicate a slice, change line endings."""
    choice = rng.randrange(6)
    if not data:
        return bytes(rng.randrange(256) for _ in range(64))
    if choice == 0:
        return data[: rng.randrange(len(data))]
    if choice == 1:
        buf = bytearray(data)
        for _ in range(rng.randrange(1, 40)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        return bytes(buf)
    if choice == 2:
        a, b = sorted(rng.randrange(len(data)) for _ in range(2))
        return data[:a] + data[b:]
    if choice == 3:
        a, b = sorted(rng.randrange(len(data)) for _ in range(2))
        return data[:b] + data[a:b] * rng.randrange(2, 6) + data[b:]
    if choice == 4:
        return data.replace(b"\r\n", b"\n").replace(b"\n", rng.choice([b"\r", b"\r\n", b"\n\r"]))
    return data.replace(b"boundary=", b"boundary=x", 1).replace(b"Content-Type", b"Content-Typ", 2)


def crash_notes(parsed: ParsedMessage) -> list[str]:
    """The notes by which parse_message reports an exception it caught."""
    return [
        note for note in parsed.notes
        if note.startswith("parser error") or (note.startswith("detector ") and note.split(":")[0].endswith(" failed"))
    ]


def check(raw: bytes) -> ParsedMessage:
    """Parse ``raw`` and fail on anything that is not a clean ParsedMessage."""
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMessage)
    assert not crash_notes(parsed), (crash_notes(parsed), raw[:200])
    return parsed


def cases(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    files = sorted(CORPUS.glob("*.eml"))
    out = []
    for i in range(count):
        if i % 10 == 0:
            out.append(bytes(rng.randrange(256) for _ in range(rng.randrange(2000))))
        else:
            out.append(mutate(rng.choice(files).read_bytes(), rng))
    return out


@pytest.mark.parametrize("chunk", range(4))
def test_mutated_inputs_never_raise(chunk: int) -> None:
    """Mutated and truncated corpus emails and random bytes give a ParsedMessage, no exception caught inside."""
    for raw in cases(100, seed=1234 + chunk):
        check(raw)


def test_deep_nesting_is_bounded() -> None:
    """200 levels of nested message/rfc822 parse without error."""
    inner = b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n"
    for _ in range(200):
        inner = b"From: b@example.com\r\nContent-Type: message/rfc822\r\n\r\n" + inner
    check(inner)


def test_eight_bit_headers_and_odd_charsets() -> None:
    """8-bit header bytes and unknown charsets do not raise."""
    raw = (
        b"From: \xff\xfe <x@\xe9xample.com>\r\nSubject: =?bogus-cs?B?////?=\r\n"
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\n\xff\xfe\x00bounce\r\n"
    )
    check(raw)


def test_non_bytes_input() -> None:
    """A str or bytearray given by mistake still yields a ParsedMessage."""
    check("From: a@b.c\n\nhi")  # type: ignore[arg-type]
    check(bytearray(b"From: a@b.c\n\nhi"))  # type: ignore[arg-type]


def _raise(*_args: object) -> None:
    raise RuntimeError("bug")


def test_a_failing_detector_counts_as_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check sees the note parse_message leaves for a detector that raised (the fuzz could
    otherwise never fail: the message is still parsed, by the detectors after it)."""
    raw = (CORPUS / "lhost-postfix-01.eml").read_bytes()
    assert not crash_notes(parse_message(raw))
    monkeypatch.setattr(bouncewatch.parse, "DETECTORS", (("dsn", _raise), *bouncewatch.parse.DETECTORS))
    assert crash_notes(parse_message(raw)) == ["detector dsn failed: RuntimeError"]


def test_a_failing_parser_counts_as_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for an exception outside the detectors, which parse_message turns into a note."""
    monkeypatch.setattr(bouncewatch.parse, "build_view", _raise)
    assert crash_notes(parse_message(b"From: a@b.c\r\n\r\nhi\r\n")) == ["parser error: RuntimeError"]
