"""RFC 5965 abuse feedback reports (ARF), and the non-standard complaint formats around it.

Recognised: a ``message/feedback-report`` part (the standard); Microsoft's JMRP reports (a
returned message carrying ``X-HmXmrOriginalRecipient``); Apple Mail's unsubscribe requests
(``X-Apple-Unsubscribe: true``, feedback type ``opt-out``). The complaining recipient comes from
``Original-Rcpt-To`` or ``Removal-Recipient`` in the report, else from the original message's
``To``. A report that names nobody (the address redacted, as most mailbox providers do) is
still recognised as a complaint, with no recipient: nothing is counted against any address.
"""

from __future__ import annotations

from .dsn import fields
from .finalize import Draft
from .mailview import MailView, addresses_in, first_address

def detect(view: MailView) -> list[Draft] | None:
    """Drafts (reason ``feedback``) for a complaint report, or None when this is not one; an
    empty list for a report that names no recipient."""
    if view.feedback:
        return _standard(view)
    report_type = ""
    # get_param parses every parameter: ask only when the raw Content-Type could say so
    # (the word itself, or RFC 2231 pieces that may spell it)
    if view.content_type == "multipart/report":
        raw_type = str(view.msg.get("Content-Type", ""))
        if "feedback" in raw_type.lower() or "*" in raw_type:
            report_type = view.msg.get_param("report-type") or ""
    if isinstance(report_type, str) and report_type.lower() == "feedback-report":
        return _standard(view)
    jmrp = view.original_header("X-HmXmrOriginalRecipient")
    if jmrp and first_address(jmrp):
        return [_draft(first_address(jmrp), "abuse", view.body, "report")]
    if view.header("X-Apple-Unsubscribe").lower() == "true" and view.from_addr:
        return [_draft(view.from_addr, "opt-out", view.body, "sender")]
    return None


def _draft(address: str, feedback_type: str, text: str, source: str) -> Draft:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return Draft(address=address, hint="feedback", feedback_type=feedback_type, diagnostic=first_line, source=source)


def _standard(view: MailView) -> list[Draft]:
    info: dict[str, str] = {}
    recipients: list[str] = []
    for text in view.feedback or [view.body]:
        for name, value in fields(text):
            if name in ("original-rcpt-to", "removal-recipient"):
                recipients.extend(a for a in addresses_in(value) if a not in recipients)
            elif name:
                info.setdefault(name, value)
    source = "report"
    if not recipients:
        recipients, source = addresses_in(view.original_header("To")), "original"
    feedback_type = (info.get("feedback-type", "") or "abuse").split()[0].lower()
    return [_draft(a, feedback_type, view.body, source) for a in recipients]
