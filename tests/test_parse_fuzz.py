"""Seeded fuzzing: mutated, truncated and random inputs never make parse_message raise."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

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
    """Mutated and truncated corpus emails and random bytes give a ParsedMessage, no exception."""
    for raw in cases(100, seed=1234 + chunk):
        assert isinstance(parse_message(raw), ParsedMessage)


def test_deep_nesting_is_bounded() -> None:
    """200 levels of nested message/rfc822 parse without error."""
    inner = b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n"
    for _ in range(200):
        inner = b"From: b@example.com\r\nContent-Type: message/rfc822\r\n\r\n" + inner
    assert isinstance(parse_message(inner), ParsedMessage)


def test_eight_bit_headers_and_odd_charsets() -> None:
    """8-bit header bytes and unknown charsets do not raise."""
    raw = (
        b"From: \xff\xfe <x@\xe9xample.com>\r\nSubject: =?bogus-cs?B?////?=\r\n"
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\n\xff\xfe\x00bounce\r\n"
    )
    assert isinstance(parse_message(raw), ParsedMessage)


def test_non_bytes_input() -> None:
    """A str or bytearray given by mistake still yields a ParsedMessage."""
    assert isinstance(parse_message("From: a@b.c\n\nhi"), ParsedMessage)  # type: ignore[arg-type]
    assert isinstance(parse_message(bytearray(b"From: a@b.c\n\nhi")), ParsedMessage)  # type: ignore[arg-type]
