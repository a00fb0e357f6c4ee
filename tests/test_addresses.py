"""Address normalisation: one key per mailbox; invalid input gives None, never an exception."""

import pytest

from bouncewatch.rules.addresses import normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Alice@Example.ORG", "alice@example.org"),
        ("<bob@example.org>", "bob@example.org"),
        ("bob@example.org.", "bob@example.org"),
        ("kunde@xn--bcher-kva.example", "kunde@bücher.example"),
        ("Kunde@BÜCHER.example", "kunde@bücher.example"),
        ('"John Doe"@example.org', '"John Doe"@example.org'),
        ('"Mixed.Case"@Example.org', '"Mixed.Case"@example.org'),
        ("user+tag@example.org", "user+tag@example.org"),
        ("postmaster@[192.0.2.1]", "postmaster@[192.0.2.1]"),
    ],
)
def test_normalise(raw, expected):
    """Domains fold case and IDNA; unquoted local parts fold case; quoted ones are kept."""
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "no-at-sign", "@example.org", "a@", "a@localhost", "a..b@example.org", ".a@example.org",
     "a b@example.org", "a@exa mple.org", "a@xn--zz-.example", "x" * 400 + "@example.org", '"<script>"@x'],
)
def test_invalid_addresses_give_none(raw):
    """Anything that is not an address is recognised as such, without raising."""
    assert normalise(raw) is None
