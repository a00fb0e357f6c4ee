"""VERP: read the recipient back out of the return path a bounce was addressed to.

With ``bounces+alice=example.com@sender.example`` as return path, the bounce is addressed to
that address, and ``alice@example.com`` is the recipient it reports on.
"""

from __future__ import annotations

import re

from .mailview import MailView, addresses_in

DEFAULT_VERP = re.compile(r"^[\w.-]+\+(?P<local>[^=@\s]+)=(?P<domain>[\w.-]+)@", re.I)
_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Original-Recipient")


def verp_recipient(view: MailView, pattern: re.Pattern[str] | None) -> str:
    """The recipient decoded from the first VERP return path the bounce was addressed to."""
    pattern = pattern or DEFAULT_VERP
    for name in _HEADERS:
        for address in addresses_in(view.header(name)):
            match = pattern.search(address)
            if not match:
                continue
            groups = match.groupdict()
            if groups.get("local") and groups.get("domain"):
                return f"{groups['local']}@{groups['domain']}".lower()
            if groups.get("address"):
                return groups["address"].lower()
    return ""
