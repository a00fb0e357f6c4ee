"""Verizon Wireless: SMS (vtext.com) and MMS (vzwpix.com) gateway failure reports.

Format knowledge after Sisimai::Lhost::Verizon (https://github.com/sisimai, BSD 2-Clause,
Copyright (C) 2014-2024 azumakuniyuki). Two shapes: from ``post_master@vtext.com``, an
``Error: ...`` line, the remote reply (``550 - Requested action not taken: ...``) and message
details with ``RCPT TO: <address>``; from ``sysadmin@...vzwpix.com``, ``Message could not be
delivered to mobile.``, ``Error: ...`` and the original's header lines, whose ``To:`` is the
recipient.
"""

from __future__ import annotations

import re

from ..finalize import Draft
from ..mailview import MailView, first_address

_VTEXT = re.compile(r"^[ \t]+RCPT TO:[ \t]*(.+)$", re.MULTILINE)
_REPLY = re.compile(r"^(\d{3})[ \t]-[ \t](.*)$", re.MULTILINE)
_VZWPIX_TO = re.compile(r"^To:[ \t]+(.+)$", re.MULTILINE)
_ERROR = re.compile(r"^Error:[ \t]+(.+)$", re.MULTILINE)
_PHRASES = {
    "userunknown": ("requested action not taken: no such user here", "no valid recipients for this mm"),
}


def detect(view: MailView) -> list[Draft] | None:
    """Drafts for a Verizon gateway report, or None."""
    sender = view.from_addr
    body = view.body.replace("\r\n", "\n")
    drafts: list[Draft] = []
    if sender == "post_master@vtext.com":
        start = _ERROR.search(body)
        if not start:
            return None
        reply = _REPLY.search(body, start.start())
        diagnostic = f"{reply.group(1)} - {reply.group(2)}" if reply else start.group(0)
        for match in _VTEXT.finditer(body, start.start()):
            if first_address(match.group(1)):
                drafts.append(Draft(address=first_address(match.group(1)), diagnostic=diagnostic))
    elif sender.startswith("sysadmin@") and sender.endswith(".vzwpix.com"):
        start = body.find("Message could not be delivered to mobile")
        if start < 0:
            return None
        error = _ERROR.search(body, start)
        for match in _VZWPIX_TO.finditer(body, start):
            if first_address(match.group(1)):
                drafts.append(Draft(address=first_address(match.group(1)),
                                    diagnostic=error.group(0) if error else "", source="original"))
    for draft in drafts:
        lowered = draft.diagnostic.lower()
        draft.hint = next((r for r, ps in _PHRASES.items() if any(p in lowered for p in ps)), "")
        draft.action = "failed"
    return drafts or None
