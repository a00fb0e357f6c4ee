"""RFC 5965 abuse feedback reports (ARF), and the non-standard complaint formats around it.

Recognised: a ``message/feedback-report`` part (the standard); Microsoft's JMRP reports (a
returned message carrying ``X-HmXmrOriginalRecipient``); Apple Mail's unsubscribe requests
(``X-Apple-Unsubscribe: true``, feedback type ``opt-out``). The complaining recipient comes from
``Original-Rcpt-To`` or ``Removal-Recipient`` in the report, else from the original message's
``To``; when the report names nobody, the placeholder Sisimai uses is reported so that the
complaint is kept and comparable (it can never be a real mailbox: ``.invalid``).
"""

from __future__ import annotations

from .dsn import fields
from .finalize import Draft
from .mailview import MailView, addresses_in, first_address

UNDISCLOSED = "undisclosed-recipient-in-headers@libsisimai.org.invalid"


def detect(view: MailView) -> list[Draft] | None:
    """Drafts (reason ``feedback``) for a complaint report, or None when this is not one."""
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
        return [_draft(first_address(jmrp), "abuse", view.body)]
    if view.header("X-Apple-Unsubscribe").lower() == "true" and view.from_addr:
        return [_draft(view.from_addr, "opt-out", view.body)]
    return None


def _draft(address: str, feedback_type: str, text: str) -> Draft:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return Draft(address=address, hint="feedback", feedback_type=feedback_type, diagnostic=first_line)


def _standard(view: MailView) -> list[Draft]:
    info: dict[str, str] = {}
    recipients: list[str] = []
    for text in view.feedback or [view.body]:
        for name, value in fields(text):
            if name in ("original-rcpt-to", "removal-recipient"):
                recipients.extend(a for a in addresses_in(value) if a not in recipients)
            elif name:
                info.setdefault(name, value)
    if not recipients:
        to = view.original_header("To")
        recipients = addresses_in(to)
    if not recipients:
        recipients = [UNDISCLOSED]
    feedback_type = (info.get("feedback-type", "") or "abuse").split()[0].lower()
    return [_draft(a, feedback_type, view.body) for a in recipients]
