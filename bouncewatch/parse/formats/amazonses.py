"""Amazon SES notifications delivered as JSON (SNS e-mail subscriptions): Bounce, Complaint, Delivery.

The SNS envelope's ``Message`` is itself JSON: ``bounce.bouncedRecipients`` (address, action,
status, diagnosticCode), ``complaint.complainedRecipients`` (with ``complaintFeedbackType``),
``delivery.recipients`` (with ``smtpResponse``).
"""

from __future__ import annotations

import json
import re

from ..finalize import Draft
from ..mailview import MailView, first_address

_MARK = re.compile(r'\\?"(?:notificationType|eventType)\\?"\s*:')  # also inside the SNS envelope's "Message" string


def _load(text: str) -> dict | None:
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end <= start:
        return None
    blob = text[start : end + 1]
    for candidate in (blob, re.sub(r"!?\r?\n[ \t]", "", blob)):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict):
            inner = data.get("Message")
            if isinstance(inner, str):
                try:
                    data = json.loads(inner)
                except ValueError:
                    return None
            return data if isinstance(data, dict) else None
    return None


def detect(view: MailView) -> list[Draft] | None:
    """Drafts from an SES JSON notification, or None when the body is not one."""
    body = view.body
    head = body[:20000]
    # the literal every match of _MARK contains, first: str.find beats the regex scan
    if "Type" not in head or not _MARK.search(head):
        return None
    data = _load(body)
    if not data:
        return None
    kind = str(data.get("notificationType") or data.get("eventType") or "").lower()
    drafts: list[Draft] = []
    if kind == "bounce":
        bounce = data.get("bounce") or {}
        for rcpt in bounce.get("bouncedRecipients") or []:
            if isinstance(rcpt, dict) and first_address(str(rcpt.get("emailAddress", ""))):
                diag = str(rcpt.get("diagnosticCode", ""))
                drafts.append(Draft(
                    address=first_address(str(rcpt["emailAddress"])),
                    status=str(rcpt.get("status", "")),
                    action=str(rcpt.get("action", "")),
                    diagnostic=diag.partition(";")[2].strip() if ";" in diag[:10] else diag,
                ))
    elif kind == "complaint":
        complaint = data.get("complaint") or {}
        ftype = str(complaint.get("complaintFeedbackType") or "abuse")
        for rcpt in complaint.get("complainedRecipients") or []:
            if isinstance(rcpt, dict) and first_address(str(rcpt.get("emailAddress", ""))):
                drafts.append(Draft(address=first_address(str(rcpt["emailAddress"])), hint="feedback", feedback_type=ftype))
    elif kind == "delivery":
        delivery = data.get("delivery") or {}
        response = str(delivery.get("smtpResponse", ""))
        for rcpt in delivery.get("recipients") or []:
            if first_address(str(rcpt)):
                drafts.append(Draft(address=first_address(str(rcpt)), action="delivered", status="2.6.0",
                                    diagnostic=response, hint="delivered"))
    return drafts or None
