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

# Plain substrings of the lowercased text (faster than one case-insensitive alternation).
_DELAY_SUBJECT = re.compile(
    r"\bdelay(?:ed)?\b|\bwarning:|\bstill being retried\b|\bnot yet delivered\b"
    r"|verz[öo]gert|\bretard[ée]e?\b|\bdiff[ée]r[ée]e?\b|\bretrasad[oa]\b|\britardat[oa]\b|\bvertraagd\b"
)
_STILL_TRYING = (
    "will be retried", "will retry", "still being retried", "still trying", "will keep trying",
    "will try again", "will continue to try", "will continue to retry", "will continue trying",
    "attempts will continue", "warning message only", "this is a warning only",
    "no action is required", "you do not need to resend", "has not yet been delivered",
    "has been delayed", "is delayed",
    "wird weiter versucht", "wird erneut versucht", "nur eine warnung", "nouvelle tentative",
    "sera retenté", "sera retente", "se reintentará", "se reintentara", "verrà ritentat", "verra ritentat",
)
_GAVE_UP = (
    "will not be retried", "will not be tried again", "will not retry", "wont retry", "won't retry",
    "won't be retried", "no more retries", "giving up", "gave up", "given up",
    "retry timeout exceeded", "retry time exceeded", "failed permanently", "permanent failure",
    "permanent error", "too long in the queue", "too long on the queue", "expired in the queue",
    "returned to sender",
)
_GAVE_UP_FOR = re.compile(r"(?:could not be delivered|cannot send message) for \d")


def still_trying(view: MailView) -> bool:
    """True when the message says delivery is still being attempted and nowhere that it gave up."""
    subject = view.header("Subject").lower()
    text = view.body[:_READ].lower()
    for words in (subject, text):
        for phrase in _GAVE_UP:
            if phrase in words:
                return False
        if "for " in words and _GAVE_UP_FOR.search(words):
            return False
    if _DELAY_SUBJECT.search(subject):
        return True
    for phrase in _STILL_TRYING:
        if phrase in text:
            return True
    return False
