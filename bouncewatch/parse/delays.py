"""Is the sending server still trying? Tells a delay warning from a final failure by its words.

An RFC 3464 report says it per recipient (``Action: delayed`` or ``failed``). Mail in other
layouts says it in words: a "Delay" subject, "will be retried", "this is a warning message
only". Words that say the server gave up ("will not be retried", "giving up", "retry timeout
exceeded") win over them, so a final failure that quotes its earlier warnings stays final.
"""

from __future__ import annotations

import re

from .mailview import MailView

# Only the start of the notice is read: the returned original may follow in the same text.
_READ = 4000

_DELAY_SUBJECT = re.compile(
    r"\bdelay(?:ed)?\b|\bwarning:|\bstill being retried\b|\bnot yet delivered\b"
    r"|verz[öo]gert|\bretard[ée]e?\b|\bdiff[ée]r[ée]e?\b|\bretrasad[oa]\b|\britardat[oa]\b|\bvertraagd\b",
    re.I,
)
_STILL_TRYING = re.compile(
    r"will be retried|will retry|still being retried|still trying|will keep trying|will try again"
    r"|will continue (?:to (?:try|retry)|trying)|(?:delivery )?attempts will continue"
    r"|warning message only|this is a warning only|no action is required"
    r"|you do not need to resend|has not yet been delivered|has been delayed|is delayed"
    r"|wird (?:weiter|erneut) versucht|nur eine warnung|nouvelle tentative|sera retent[ée]"
    r"|se reintentar[áa]|verr[àa] ritentat[oa]",
    re.I,
)
_GAVE_UP = re.compile(
    r"will not be (?:retried|tried again)|will not retry|won'?t (?:be )?retr(?:y|ied)|no more retries"
    r"|\bgiving up\b|\bgave up\b|\bgiven up\b|retry (?:timeout|time) exceeded|failed permanently"
    r"|permanent (?:failure|error)|could not be delivered for \d|cannot send message for \d"
    r"|(?:too long|expired) (?:in|on) the queue|returned to sender",
    re.I,
)


def still_trying(view: MailView) -> bool:
    """True when the message says delivery is still being attempted and nowhere that it gave up."""
    subject = view.header("Subject")
    text = view.body[:_READ]
    if _GAVE_UP.search(subject) or _GAVE_UP.search(text):
        return False
    return bool(_DELAY_SUBJECT.search(subject) or _STILL_TRYING.search(text))
