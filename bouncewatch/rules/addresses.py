"""Address normalisation: one spelling per mailbox, so counts and blocks meet on one key.

- the domain is case-insensitive: lowercased, and internationalised domains are kept in their
  Unicode form (an `xn--` label is decoded), so `Bücher.example` and `xn--bcher-kva.example`
  are one domain;
- an unquoted local part is lowercased (what every large provider does, and the blocklist is
  lowercase by contract); a quoted local part is kept exactly as sent;
- an address holding a character that is not printable (a control character such as a tab in
  a quoted local part, a line or paragraph separator, an invisible format character such as a
  bidirectional override) is not an address: no output line can carry it;
- anything that is not an address gives None: it is recorded, never counted, never a crash.

`lookalike_hint` tells a person reading an address that its domain (or local part) mixes
scripts, as look-alike domains do (`аpple.com` with a Cyrillic "а"): the ASCII (punycode) form
of the domain shows what it really is.
"""

from __future__ import annotations

import re
import unicodedata

_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\u0080-\U0010ffff]+$")
_QUOTED = re.compile(r'^"(?:[^"\\\r\n]|\\.)*"$')
_LABEL = re.compile(r"^[a-z0-9\u00a0-\U0010ffff](?:[a-z0-9\-\u00a0-\U0010ffff]{0,61}[a-z0-9\u00a0-\U0010ffff])?$")


def _domain(domain: str) -> str | None:
    domain = domain.strip().rstrip(".").lower()
    if domain.startswith("[") and domain.endswith("]"):
        return domain  # an address literal, e.g. [192.0.2.1]
    labels = domain.split(".")
    if len(labels) < 2 or len(domain) > 253:
        return None
    decoded = []
    for label in labels:
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna").lower()
            except UnicodeError:
                return None
        if not _LABEL.match(label):
            return None
        decoded.append(label)
    return ".".join(decoded)


def printable(text: str) -> bool:
    """True when every character can be shown on one line of a file: no control, separator or
    invisible format character (a space is printable)."""
    return text.isprintable()


def normalise(address: str) -> str | None:
    """The canonical spelling of an address, or None when it is not one."""
    address = address.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or len(address) > 320 or not printable(address):
        return None
    if _QUOTED.match(local):
        pass  # kept as sent
    elif _ATOM.match(local) and not local.startswith(".") and not local.endswith(".") and ".." not in local:
        local = local.lower()
    else:
        return None
    canonical_domain = _domain(domain)
    if canonical_domain is None:
        return None
    return f"{local}@{canonical_domain}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def scripts(text: str) -> set[str]:
    """The scripts of the letters in `text` (LATIN, CYRILLIC, GREEK, ...), told apart by the
    first word of each letter's Unicode name; digits, dots and hyphens belong to none."""
    return {unicodedata.name(char, "UNKNOWN").split(" ", 1)[0] for char in text if char.isalpha()}


def lookalike_hint(address: str) -> str:
    """What to show beside an address whose domain or local part mixes scripts: the domain's
    ASCII (punycode) form, or the local part's non-ASCII characters as code points; "" when the
    address is plain (ASCII, or one script throughout)."""
    local, _at, domain = address.rpartition("@")
    hints = []
    if not domain.isascii() and len(scripts(domain)) > 1:
        try:
            hints.append(domain.encode("idna").decode("ascii"))
        except UnicodeError:
            hints.append(domain.encode("ascii", "backslashreplace").decode("ascii"))
    if not local.isascii() and len(scripts(local)) > 1:
        hints.append(local.encode("ascii", "backslashreplace").decode("ascii") + "@")
    return ", ".join(hints)
