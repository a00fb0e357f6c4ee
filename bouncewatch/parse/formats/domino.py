"""IBM (Lotus) Domino: "DELIVERY FAILURE:" reports, read from their human-readable part.

Format knowledge after Sisimai::Lhost::Domino (https://github.com/sisimai, BSD 2-Clause,
Copyright (C) 2014-2024 azumakuniyuki). The subject starts ``DELIVERY FAILURE:`` (or
``DELIVERY_FAILURE:``); the text part reads ``Your message`` / ``Subject: ...`` / ``was not
delivered to:`` / the address (indented) / ``because:`` / the reason. The text names the
recipient as Domino knows it, so it is preferred to an accompanying delivery-status part; the
status code still comes from that part. Domino's own wording gives the reason.
"""

from __future__ import annotations

import re

from ..dsn import read_report
from ..finalize import Draft
from ..mailview import MailView, first_address

_SUBJECT = re.compile(r"\ADELIVERY[ _]FAILURE:")
_PHRASES = {
    "userunknown": (
        "not listed in domino directory", "not listed in public name & address book",
        "non répertorié dans l'annuaire domino", "domino ディレクトリには見つかりません",
    ),
    "filtered": ("cannot route mail to user",),
    "systemerror": ("several matches found in domino directory",),
}


def detect(view: MailView) -> list[Draft] | None:
    """Drafts from a Domino delivery failure's text part, or None."""
    if not _SUBJECT.match(view.subject):
        return None
    drafts: list[Draft] = []
    for _, text in view.texts:
        lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        if not any(line.startswith("Your message") for line in lines):
            continue
        state = ""
        for line in lines:
            if not line.strip():
                continue
            if line == "was not delivered to:":
                state = "recipient"
            elif line == "because:":
                state = "because"
            elif state == "recipient" and line.startswith("  ") and first_address(line):
                drafts.append(Draft(address=first_address(line), action="failed"))
                state = ""
            elif state == "because" and drafts and not drafts[-1].diagnostic:
                drafts[-1].diagnostic = line.strip()
                state = ""
        if drafts:
            break
    if not drafts:
        return None
    groups = [g for report in view.reports for g in read_report(report)[1]]
    for i, draft in enumerate(drafts):
        if i < len(groups):
            draft.status = groups[i].get("status", "").split(" ", 1)[0]
        lowered = draft.diagnostic.lower()
        draft.hint = next((r for r, ps in _PHRASES.items() if any(p in lowered for p in ps)), "")
    return drafts
