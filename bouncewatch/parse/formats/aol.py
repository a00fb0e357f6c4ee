"""AOL's own delivery reports ("Mail Delivery Problem" from MAILER-DAEMON@aol.com).

AOL named its members by screen name: the report says why in one sentence ("Your mail to the
following recipients could not be delivered because they are not accepting mail from ...")
and lists the screen names, indented, one per line, without a domain. A screen name is the
address at aol.com.
"""

from __future__ import annotations

import re

from ..finalize import Draft
from ..mailview import MailView

_STATEMENT = re.compile(
    r"your mail to the following recipients could not be delivered[^\n]*(?:\n(?![ \t])[^\n]+)*", re.I
)
_SCREEN_NAME = re.compile(r"^[ \t]+([a-z][a-z0-9._-]{1,63})[ \t]*$", re.I | re.M)


def detect(view: MailView) -> list[Draft] | None:
    """Drafts for an AOL report listing screen names, or None."""
    if view.from_addr != "mailer-daemon@aol.com":
        return None
    body = view.body.replace("\r\n", "\n")
    statement = _STATEMENT.search(body)
    if not statement:
        return None
    why = " ".join(statement.group(0).split())
    # "not accepting mail from <sender>" / "... with attachments or embedded images": the member's
    # own mail controls refuse it; the account is there
    hint = "filtered" if "not accepting mail" in why.lower() else ""
    drafts = []
    position = statement.end()
    for match in _SCREEN_NAME.finditer(body, position):
        if body[position : match.start()].strip():
            break  # the list is the indented lines right below the statement
        drafts.append(Draft(address=f"{match.group(1).lower()}@aol.com", diagnostic=why, action="failed",
                            source="statement", hint=hint))
        position = match.end()
    return drafts or None
