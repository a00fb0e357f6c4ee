"""fml (a Japanese mailing-list manager): a post refused or dropped by the list.

Format knowledge after Sisimai::Lhost::FML (https://github.com/sisimai, BSD 2-Clause,
Copyright (C) 2014-2024 azumakuniyuki). Marks: an ``X-MLServer`` header, From ``...-admin@``
and a Message-ID ``<digits.FML...@host>``. The text names the list (``<list@host>.``) at the
end of its error line; the report is about that address. The error line, else the subject,
gives the reason: not a member / rejected → rejected; loop alerts, duplicated Message-ID →
systemerror; security alerts → securityerror.
"""

from __future__ import annotations

import re

from ..finalize import Draft
from ..mailview import MailView, first_address

_FROM = re.compile(r".+-admin@.+")
_MESSAGE_ID = re.compile(r"\A<\d+\.FML.+@.+>\Z")
_ADDRESS_END = re.compile(r"<([^ ]+?@[^ ]+?)>\.$")
_BACKBONE = re.compile(r"^Original mail as follows:", re.MULTILINE)
_BODY_RULES = (
    ("rejected", re.compile(
        r"(?:Ignored )*NOT MEMBER article from |reject (?:mail from .+@.+|since .+ header may cause mail loop"
        r"|spammers:)|You are not a member of this mailing list")),
    ("systemerror", re.compile(
        r"Duplicated Message-ID|fml .+ has detected a loop condition so that|Loop Back Warning:")),
    ("securityerror", re.compile(r"Security alert:")),
)
_SUBJECT_RULES = (
    ("rejected", re.compile(
        r"(?:Ignored )*NOT MEMBER article from |reject mail (?:.+:|from) ,"
        r"|Spam mail from a spammer is rejected|You .+ are not member")),
    ("systemerror", re.compile(r"fml system error message|Loop Alert: |Loop Back Warning: |WARNING: UNIX FROM Loop")),
    ("securityerror", re.compile(r"Security Alert")),
)


def detect(view: MailView) -> list[Draft] | None:
    """Drafts for an fml error report, or None."""
    if not view.has_header("X-MLServer"):
        return None
    if not _FROM.match(view.header("From")) or not _MESSAGE_ID.match(view.header("Message-ID")):
        return None
    body = view.body.replace("\r\n", "\n")
    cut = _BACKBONE.search(body)
    drafts: list[Draft] = []
    for line in body[: cut.start() if cut else len(body)].split("\n"):
        if not line:
            continue
        match = _ADDRESS_END.search(line[-1000:])  # anchored at the end: bounded work per line
        if match and first_address(match.group(1)):
            drafts.append(Draft(address=first_address(match.group(1)), diagnostic=line, action="failed"))
        elif drafts:
            drafts[-1].diagnostic += " " + line.strip()
    for draft in drafts:
        draft.hint = next((r for r, rx in _BODY_RULES if rx.search(draft.diagnostic)), "") or next(
            (r for r, rx in _SUBJECT_RULES if rx.search(view.subject)), ""
        )
    return drafts or None
