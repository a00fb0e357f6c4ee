"""Google Groups: a post refused by a group, reported by mailer-daemon@googlemail.com.

Format knowledge after Sisimai::Lhost::GoogleGroups (https://github.com/sisimai, BSD 2-Clause,
Copyright (C) 2014-2024 azumakuniyuki). Marks: From ``<mailer-daemon@googlemail.com>``, a
"Delivery Status Notification" subject, ``X-Failed-Recipients`` (the group's address) and
``X-Google-Smtp-Source``. The body explains, in the sender's language, why a post may have
been refused, as a list of four ``*`` bullets (the group may not exist, may have been deleted,
may require membership, may not accept posts): with those four bullets the post was rejected.
"""

from __future__ import annotations

import re

from ..finalize import Draft
from ..mailview import MailView, addresses_in

_BULLET = re.compile(r"^ ?\* ?", re.MULTILINE)
_ORIGINAL = re.compile(r"^-----[ ]Original[ ]message[ ]-----[ \t]*$", re.MULTILINE)


def detect(view: MailView) -> list[Draft] | None:
    """Drafts for a Google Groups refusal, or None."""
    if "mailer-daemon@googlemail.com" not in view.header("From").lower():
        return None
    if "Delivery Status Notification" not in view.subject:
        return None
    if not view.has_header("X-Failed-Recipients") or not view.has_header("X-Google-Smtp-Source"):
        return None
    recipients = addresses_in(view.header("X-Failed-Recipients"))
    if not recipients:
        return None
    body = view.body.replace("\r\n", "\n")
    cut = _ORIGINAL.search(body)
    text = body[: cut.start()] if cut else body
    hint = "rejected" if len(_BULLET.findall(text)) == 4 else ""
    diagnostic = " ".join(" ".join(text.split("\n\n", 4)[:4]).split())
    return [Draft(address=a, diagnostic=diagnostic, hint=hint, action="failed") for a in recipients]
