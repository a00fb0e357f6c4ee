"""`POST /v1/events`: events from any other system, as a JSON list of objects.

    [{"address": "alice@example.org", "class": "hard", "event_id": "crm-1234",
      "at": "2026-01-31T12:00:00Z", "source": "crm", "status": "5.1.1", "reason": "user unknown"}]

`address`, `class` (hard | soft | complaint | delivered) and `event_id` are required; `at` (ISO
8601, default: now), `source` (a name, default "api"), `status` (RFC 3463) and `reason` (our
reason word, e.g. "mailboxfull", or the server's own words) are optional. An event counts once
by (source, event_id). A batch with one bad event is refused whole, naming the event and key,
so nothing is half recorded.
"""

from __future__ import annotations

import re

from ..rules.addresses import normalise
from .events import ProviderReport, RecipientReport, Refused, event_id, load_json, parse_time, text

CLASSES = ("hard", "soft", "complaint", "delivered")
_OUTCOMES = {"hard": "hard", "soft": "soft", "complaint": "complaint", "delivered": "delivered"}
_SOURCE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_REASON_WORD = re.compile(r"^[a-z]{3,24}$")  # our vocabulary: one lowercase word
MAX_EVENTS = 10_000


def reports(body: bytes) -> list[ProviderReport]:
    """The events of a request body; Refused("malformed", ...) naming the first bad one."""
    document = load_json(body, list, "a JSON list of events")
    if len(document) > MAX_EVENTS:
        raise Refused("malformed", f"{len(document)} events in one request; send at most {MAX_EVENTS}")
    return [_report(index, item) for index, item in enumerate(document)]


def _report(index: int, item: object) -> ProviderReport:
    where = f"events[{index}]"
    if not isinstance(item, dict):
        raise Refused("malformed", f"{where}: must be an object")
    address = normalise(text(item.get("address"), 330))
    if address is None:
        raise Refused("malformed", f"{where}.address: {text(item.get('address'), 80)!r} is not an email address")
    bounce_class = item.get("class")
    if bounce_class not in _OUTCOMES:
        raise Refused("malformed", f"{where}.class: must be one of {', '.join(CLASSES)}")
    identifier = event_id(item.get("event_id"), f"{where}.event_id")
    source = item.get("source")
    provider = "api"
    if source is not None:
        if not isinstance(source, str) or not _SOURCE.match(source):
            raise Refused("malformed", f"{where}.source: 1 to 32 of A-Z a-z 0-9 _ . -")
        provider = f"api:{source}"
    at = None
    if item.get("at") is not None:
        at = parse_time(item["at"]) if isinstance(item["at"], str) else None
        if at is None:
            raise Refused("malformed", f"{where}.at: not an ISO 8601 time, e.g. 2026-01-31T12:00:00Z")
    reason = text(item.get("reason"), 1000).strip()
    hint = reason if _REASON_WORD.match(reason) else ""
    recipient = RecipientReport(
        address=address,
        status=text(item.get("status"), 16).strip(),
        diagnostic="" if hint else reason,
        hint=hint,
    )
    return ProviderReport(
        provider=provider,
        event_id=identifier,
        kind=bounce_class,
        outcome=_OUTCOMES[bounce_class],  # type: ignore[arg-type]
        recipients=(recipient,),
        at=at,
    )
