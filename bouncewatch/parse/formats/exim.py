"""Exim (and others that set X-Failed-Recipients): the header names the failed addresses.

Exim writes ``  addr`` lines, each followed by indented error text such as
``SMTP error from remote mail server after RCPT TO:<addr>: 550 5.1.1 ...``; the header is
authoritative for who failed, the body for why.
"""

from __future__ import annotations

import re

from .. import textreport
from ..finalize import Draft
from ..mailview import MailView, addresses_in

_EXPIRED = re.compile(r"retry timeout exceeded|retry time not reached for any host|has been frozen|message is frozen", re.I)


def detect(view: MailView) -> list[Draft] | None:
    """Drafts for a bounce with an X-Failed-Recipients header, or None."""
    listed = addresses_in(view.header("X-Failed-Recipients"))
    if not listed:
        return None
    drafts = textreport.read(view, recipients=listed).drafts
    for draft in drafts:
        if _EXPIRED.search(draft.diagnostic):
            draft.hint = "expired"
    return drafts
