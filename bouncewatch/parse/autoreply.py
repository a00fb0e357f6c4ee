"""RFC 3834 automatic replies (vacation, out-of-office): reason ``vacation``, class ignore.

An auto-reply says nothing about deliverability; it is recognised so that it is archived as
such and its sender (the address we mailed) is reported with reason ``vacation``.
"""

from __future__ import annotations

import re

from .finalize import Draft
from .mailview import MailView

_SUBJECT = re.compile(
    r"\A\s*(?:auto(?:matic|matische)?[ -]?(?:reply|response|antwort|respuesta|réponse|risposta)"
    r"|out of (?:the )?office|vacation|away from (?:the )?office|abwesenheit|absence"
    r"|on vacation|autoreply|réponse automatique|respuesta automática|risposta automatica"
    r"|(?:i am|i'm) (?:out|away))",
    re.I,
)
_BODY = re.compile(
    r"i am (?:away|out of (?:the )?office|on (?:vacation|leave|holiday))|i will be (?:out|away|traveling)"
    r"|auto(?:matic)?[ -]?reply",
    re.I,
)


def has_autoreply_subject(view: MailView) -> bool:
    """True when the subject reads like an out-of-office or automatic reply."""
    return bool(_SUBJECT.search(view.subject))


def is_autoreply(view: MailView) -> bool:
    """True when headers or subject mark the message as an automatic reply."""
    auto = view.header("Auto-Submitted").lower()
    if auto.startswith("auto-replied"):
        return True
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress-Reply"):
        if view.header(name):
            return True
    precedence = view.header("Precedence").lower()
    if _SUBJECT.search(view.subject):
        return True
    return precedence == "auto_reply" or (precedence in ("bulk", "junk") and bool(_BODY.search(view.body[:4000])))


def detect(view: MailView) -> list[Draft] | None:
    """A single ``vacation`` draft for the auto-reply's sender, or None."""
    if not view.from_addr or not is_autoreply(view):
        return None
    return [Draft(address=view.from_addr, hint="vacation", diagnostic=view.subject)]
