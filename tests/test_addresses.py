"""Address normalisation: one key per mailbox; invalid input gives None, never an exception."""

import pytest

from bouncewatch.rules.addresses import lookalike_hint, normalise


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
     "a b@example.org", "a@exa mple.org", "a@xn--zz-.example", "x" * 400 + "@example.org", '"<script>"@x',
     '"a\tb"@example.org', '"a\\\tb"@example.org', '"a\\\x00"@example.org', "a\u202eb@example.org",
     "a\u2028b@example.org", "a\x85b@example.org", "a@ex\u200bample.org"],
)
def test_invalid_addresses_give_none(raw):
    """Anything that is not an address is recognised as such, without raising."""
    assert normalise(raw) is None


@pytest.mark.parametrize(
    ("address", "hint"),
    [
        ("x@\u0430pple.com", "xn--pple-43d.com"),  # Cyrillic a among Latin letters
        ("x@\u0430\u0440\u0440\u04cf\u0435.com", "xn--80ak6aa92e.com"),  # all-Cyrillic label, Latin TLD
        ("p\u0430ypal@gmail.com", "p\\u0430ypal@"),
        ("x@b\u00fccher.example", ""),
        ("x@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", ""),
        ("alice@example.org", ""),
    ],
)
def test_lookalike_hint(address, hint):
    """An address mixing scripts gets its punycode (or code point) form as a hint; one script needs none."""
    assert lookalike_hint(address) == hint
