"""Signed VERP return paths: only bounces sent to a return path we signed may count.

Anyone can mail a DSN to the bounce mailbox naming any address; without a check, a forger can
get a customer blocked. With ``[verp] require_signature = true`` each message carries a return
path that names its recipient and is signed, and a bounce counts only when it was sent to (or
returns) such a path with a valid, fresh signature.

The algorithm (version 1; stable: other systems may implement it to sign their own mail)::

    return path   = LOCAL "+" ENCODED "+" SIG "@" DOMAIN
    LOCAL, DOMAIN = [verp] local_part (default "bounces") and [verp] domain
    ENCODED       = the recipient lowercased, its last "@" replaced by "=":
                    alice@example.com -> alice=example.com  (the unsigned VERP rule of
                    bouncewatch/parse/verp.py; the local part may itself hold "+" or "=")
    SIG           = T + M, 14 characters of the lowercase RFC 4648 base32 alphabet (a-z, 2-7)
    T             = the UTC day number (days since 1970-01-01) in 4 base32 digits, most
                    significant first (0 -> "aaaa"; 20089 = 2025-01-01 -> "attz")
    M             = the first 10 characters of lowercase base32(HMAC-SHA256(KEY, MSG)): 50 bits
    MSG           = "bouncewatch-verp-v1:" + T + ":" + ENCODED   (UTF-8)
    KEY           = the bytes of [verp] key_file, surrounding whitespace stripped (>= 16 bytes)

Verifying a return path: it must be LOCAL "+" ... "@" DOMAIN (compared without case); SIG is
what follows the last "+", ENCODED what lies between; M is recomputed with the current key and
then each of ``old_key_files`` (rotation: add a new key_file, move the old one to
old_key_files, drop it once max_age_days have passed) and compared in constant time; the age
``today - T`` must lie in [-1, max_age_days] (one day of clock skew). Everything is compared
lowercased, since mail systems may change the case of a local part.

The return path a bounce was sent to is looked for in Delivered-To, X-Original-To,
Envelope-To, X-Envelope-To and To, then in the Return-Path of the returned original (a DSN's
text/rfc822-headers, an ARF report's message). A verified bounce counts only for the
recipient its return path names: its report about that address is kept (a single report
about another address, e.g. after forwarding, is read as about the signed recipient); reports
naming other addresses are dropped, and a bounce with none left is unverified.

The RFC 5321 limit on a local part is 64 octets: recipients longer than about 41 characters
give longer return paths, which most MTAs accept but some refuse.
"""

from __future__ import annotations

import base64
import email
import email.message
import email.policy
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from email.utils import getaddresses
from pathlib import Path

from ..config import Settings
from ..config.outputs import resolve
from ..records import Verdict
from ..rules.addresses import normalise

VERSION_TAG = b"bouncewatch-verp-v1:"
TIME_CHARS = 4
MAC_CHARS = 10
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
MAX_LOCAL_PART = 64
EPOCH = date(1970, 1, 1)


class VerpError(ValueError):
    """An address that cannot be put into a return path."""


def day_number(at: datetime | date) -> int:
    """Whole days since 1970-01-01 (UTC for aware datetimes)."""
    if isinstance(at, datetime):
        if at.tzinfo is not None:
            at = at.astimezone(timezone.utc)
        at = at.date()
    return (at - EPOCH).days


def encode_day(day: int) -> str:
    if not 0 <= day < 32**TIME_CHARS:
        raise VerpError(f"day {day} does not fit in {TIME_CHARS} base32 digits")
    digits = []
    for _ in range(TIME_CHARS):
        day, digit = divmod(day, 32)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))


def decode_day(text: str) -> int | None:
    value = 0
    for char in text:
        index = _ALPHABET.find(char)
        if index < 0:
            return None
        value = value * 32 + index
    return value


def encode_address(address: str) -> str:
    """alice@example.com -> alice=example.com (lowercased)."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in address.strip()):
        raise VerpError(f"{address!r} is not an email address")
    return f"{local}={domain}"


def decode_address(encoded: str) -> str | None:
    local, eq, domain = encoded.rpartition("=")
    return f"{local}@{domain}" if eq and local and domain else None


def mac(key: bytes, day_code: str, encoded: str) -> str:
    digest = hmac.new(key, VERSION_TAG + f"{day_code}:{encoded}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:MAC_CHARS]


@dataclass(frozen=True, slots=True)
class Check:
    """The result of verifying one return path."""

    ok: bool
    address: str = ""  # the recipient the return path names (even when not ok)
    reason: str = ""  # why not ok: "no signed return path", "bad signature", "expired", ...


@dataclass(frozen=True)
class Signer:
    """Signs and verifies return paths with a current key and any older ones."""

    keys: tuple[bytes, ...]  # keys[0] signs; every key verifies
    domain: str
    local_part: str = "bounces"
    max_age_days: int = 30

    def encode(self, address: str, at: datetime | date | None = None) -> str:
        """The signed return path for mail to `address`."""
        encoded = encode_address(address)
        day_code = encode_day(day_number(at or datetime.now(timezone.utc)))
        return f"{self.local_part}+{encoded}+{day_code}{mac(self.keys[0], day_code, encoded)}@{self.domain}".lower()

    def is_ours(self, return_path: str) -> bool:
        """True when `return_path` has our shape (LOCAL+...@DOMAIN), signed well or not."""
        local, at, domain = return_path.strip().lower().rpartition("@")
        return bool(at) and domain == self.domain.lower() and local.startswith(f"{self.local_part.lower()}+")

    def verify(self, return_path: str, at: datetime | date | None = None) -> Check:
        """Check a return path's signature and age; name the recipient it carries."""
        if not self.is_ours(return_path):
            return Check(False, reason="not a signed return path")
        local = return_path.strip().lower().rpartition("@")[0][len(self.local_part) + 1 :]
        encoded, plus, sig = local.rpartition("+")
        address = decode_address(encoded) if plus else None
        if address is None or len(sig) != TIME_CHARS + MAC_CHARS:
            return Check(False, address or "", "malformed signed return path")
        day_code, given = sig[:TIME_CHARS], sig[TIME_CHARS:]
        day = decode_day(day_code)
        if day is None:
            return Check(False, address, "malformed signed return path")
        if not any(hmac.compare_digest(mac(key, day_code, encoded), given) for key in self.keys):
            return Check(False, address, "bad signature (forged, or signed with an unknown key)")
        age = day_number(at or datetime.now(timezone.utc)) - day
        if age > self.max_age_days:
            return Check(False, address, f"signature expired ({age} days old, max_age_days {self.max_age_days})")
        if age < -1:
            return Check(False, address, f"signature dated {-age} days in the future")
        return Check(True, address)


def read_key(path: Path) -> bytes:
    return path.read_bytes().strip()


def signer_from_settings(settings: Settings) -> Signer | None:
    """The configured signer (keys read now, so a rotated file is picked up), or None."""
    verp = settings.verp
    if verp.key_file is None:
        return None
    keys = [read_key(resolve(settings, verp.key_file))]
    keys += [read_key(resolve(settings, p)) for p in verp.old_key_files]
    return Signer(tuple(keys), verp.domain, verp.local_part, verp.max_age_days)


def return_paths(raw: bytes) -> list[str]:
    """Addresses the message was delivered to, then the returned original's Return-Path."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    found = [addr for _name, addr in getaddresses(
        [str(v) for name in _HEADERS for v in message.get_all(name, [])]
    ) if addr]
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, email.message.Message):
                found += [a for _n, a in getaddresses(inner.get_all("Return-Path", [])) if a]
        elif content_type in ("text/rfc822-headers", "message/rfc822-headers", "text/rfc822-header"):
            payload = part.get_payload(decode=True) or b""
            headers = email.message_from_bytes(payload, policy=email.policy.compat32)
            found += [a for _n, a in getaddresses(headers.get_all("Return-Path", [])) if a]
    return found


@dataclass(frozen=True)
class Screen:
    """What the signature check lets through of one message."""

    verdicts: tuple[Verdict, ...]
    unverified: str = ""  # why the message counts nothing; "" when it passed


def screen(raw: bytes, verdicts: Sequence[Verdict], signer: Signer, at: datetime | None = None) -> Screen:
    """Keep the verdicts a signed return path vouches for; none, with the reason, otherwise (pure)."""
    candidates = [p for p in return_paths(raw) if signer.is_ours(p)]
    if not candidates:
        return Screen((), "no signed return path")
    checks = [signer.verify(p, at) for p in candidates]
    passed = next((c for c in checks if c.ok), None)
    if passed is None:
        return Screen((), checks[0].reason)
    signed = normalise(passed.address) or passed.address
    kept = tuple(v for v in verdicts if (normalise(v.record.address) or v.record.address) == signed)
    if kept:
        return Screen(kept)
    if len(verdicts) == 1:  # one report about another address (forwarded): it is about ours
        only = verdicts[0]
        return Screen((replace(only, record=replace(only.record, address=signed)),))
    return Screen((), f"signed for {signed}, but the report names only other addresses")
