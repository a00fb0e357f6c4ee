"""Any human-readable bounce: recognised by who sent it and what it is called, read by shape.

A message counts as a bounce when it comes from a mailer daemon/postmaster, carries a typical
bounce subject, or is a multipart/report; its recipients and error text are then read by
``textreport``.
"""

from __future__ import annotations

import re

from .. import textreport
from ..finalize import Draft
from ..mailview import MailView

_SUBJECT = re.compile(
    r"undeliver|undelivered|returned mail|return(?:ed)? to sender|delivery (?:status )?notification"
    r"|delivery fail|failure notice|failed delivery|delivery problem|non[- ]?delivery|could not be delivered"
    r"|mail delivery|mail system error|delivery report|nicht zustellbar|unzustellbar|non recapitable"
    r"|non remis|échec|bounce|rejected|mail error|warning: could not|delayed mail|delivery delayed"
    r"|message not delivered|delivery has failed|permanent error|delivery error|deliver(?:y)? status"
    r"|unable to deliver|not delivered|error sending|mail could not|message delivery",
    re.I,
)
_DAEMON = re.compile(
    r"mailer[-_]?daemon|postmaster|mail[-_]?delivery|mailerdaemon|bounce|no[-_]?reply|double-bounce|^root@|^mail@|^admin@|^daemon@|^mmdf@|^smtp",
    re.I,
)


def has_bounce_subject(view: MailView) -> bool:
    """True when the subject is a typical bounce subject ("Undeliverable: ...", "non remis")."""
    return bool(_SUBJECT.search(view.subject))


def looks_like_bounce(view: MailView) -> bool:
    """True when sender, subject or content type say this is a delivery failure report."""
    if view.content_type == "multipart/report" or view.header("X-Failed-Recipients"):
        return True
    if has_bounce_subject(view):
        return True
    sender = view.from_addr or view.header("From").lower()
    if not sender.strip(" <>\"") and view.has_header("From"):
        return True  # "From: <>": the null sender, which only automatic mail (a bounce) uses
    return bool(sender and _DAEMON.search(sender))


def detect(view: MailView) -> list[Draft] | None:
    """Drafts for a bounce of no known family, read by shape."""
    if not looks_like_bounce(view):
        return None
    found = textreport.read(view, allow_any=True)
    return found.drafts or None
