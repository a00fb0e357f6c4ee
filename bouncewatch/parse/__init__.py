"""Bytes of one email → per-recipient bounce records. Pure: no I/O, no logging, never raises.

Mail that only looks like a bounce (``notices``: read receipts, challenge-response,
moderation holds, quarantine digests) gives no records, kind ``notice``. Otherwise detectors
are tried in a fixed order, most specific first: ARF complaints, RFC 3464 DSNs,
RFC 3834 auto-replies, the non-standard families of ``formats`` (ending with a generic reader),
and flufl.bounce for addresses only. The first detector that finds recipients wins; common
finishing (codes, reason, pseudo status) is done by ``finalize``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..records import BounceRecord, ParsedMessage
from . import arf, autoreply, delays, dsn, fallback, notices, textreport
from .fastmime import parse_bytes_typed
from .finalize import Draft, finalize, find_command
from .formats import DETECTORS as FORMAT_DETECTORS, PRE_DSN, family_of
from .formats.generic import looks_like_bounce
from .mailview import MailView, build_view
from .reasons import family_reason
from .verp import DEFAULT_VERP, verp_recipient

__all__ = ["DEFAULT_VERP", "MAX_BYTES", "parse_message", "parse_message_with_verp"]

MAX_BYTES = 10 * 1024 * 1024
MAX_RECIPIENTS = 500


def _autoreply(view: MailView) -> list[Draft] | None:
    if view.header("X-Failed-Recipients") or (looks_like_bounce(view) and view.content_type == "multipart/report"):
        return None
    if looks_like_bounce(view) and not autoreply.has_autoreply_subject(view):
        # MTAs mark their bounces "Auto-Submitted: auto-replied" too: a report from a mailer
        # daemon is an auto-reply only when its subject says so.
        return None
    return autoreply.detect(view)


DETECTORS = (
    ("arf", arf.detect),
    *PRE_DSN,
    ("dsn", dsn.detect),
    ("autoreply", _autoreply),
    *FORMAT_DETECTORS,
    ("flufl", fallback.detect),
)


def parse_message(raw: bytes, *, verp_pattern: re.Pattern[str] | None = None, use_verp: bool = False) -> ParsedMessage:
    """Read one email; a non-bounce gives ``ParsedMessage(records=())``. Never raises."""
    try:
        return _parse(raw, verp_pattern if (use_verp or verp_pattern) else None, bool(use_verp or verp_pattern))
    except Exception as exc:  # noqa: BLE001 - the parser must never lose a message
        return ParsedMessage(notes=(f"parser error: {type(exc).__name__}",))


def parse_message_with_verp(raw: bytes, verp_pattern: re.Pattern[str] | None) -> ParsedMessage:
    """Like parse_message, and use a VERP return path (default pattern if None) for the recipient."""
    return parse_message(raw, verp_pattern=verp_pattern, use_verp=True)


def _parse(raw: bytes, verp_pattern: re.Pattern[str] | None, use_verp: bool) -> ParsedMessage:
    notes: list[str] = []
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    elif not isinstance(raw, bytes):
        raw = bytes(raw)
    if len(raw) > MAX_BYTES:
        raw = raw[:MAX_BYTES]
        notes.append(f"truncated at {MAX_BYTES} bytes")
    # = email.message_from_bytes(raw, policy=compat32), faster, with each part's content type
    msg, types = parse_bytes_typed(raw)
    view = build_view(msg, types)
    notes.extend(view.notes)
    notice = notices.notice_of(view)
    if notice:  # not a bounce: nothing to record, whatever the return path
        notes.append(f"not a bounce: {notice}")
        return ParsedMessage(kind="notice", original_message_id=_original_message_id(view), notes=tuple(notes))
    kind = ""
    drafts: list[Draft] = []
    for name, detect in DETECTORS:
        try:
            found = detect(view)
        except Exception as exc:  # noqa: BLE001 - a detector bug must not lose the message
            notes.append(f"detector {name} failed: {type(exc).__name__}")
            continue
        if found:
            kind, drafts = name, found[:MAX_RECIPIENTS]
            break
    if kind in ("dsn",):
        _fill_missing_diagnostics(view, drafts)
    if drafts and kind not in ("arf", "autoreply", "flufl"):
        _family_hints(view, drafts)
        if any(not d.action for d in drafts) and delays.still_trying(view):
            for draft in drafts:  # a warning in words: recipients without an Action of their own
                draft.action = draft.action or "delayed"
    if len(drafts) == 1 and kind not in ("arf", "autoreply"):
        # a message about one recipient: its whole error text may say why where the line did not
        drafts[0].context = textreport.error_section(view.body)
    records: list[BounceRecord] = []
    seen: set[str] = set()
    for draft in drafts:
        if draft.address in seen:
            continue
        seen.add(draft.address)
        records.append(finalize(draft))
    if use_verp:
        records = _apply_verp(view, verp_pattern, records, kind)
        if records and not kind:
            kind = "verp"
    return ParsedMessage(
        records=tuple(records),
        kind=kind,
        original_message_id=_original_message_id(view),
        notes=tuple(notes),
    )


def _family_hints(view: MailView, drafts: list[Draft]) -> None:
    """Let the sending MTA family's own wording name the reason where the format did not."""
    family = family_of(view)
    if not family:
        return
    category = ""
    if family == "powermta":
        category = view.header("X-PowerMTA-BounceCategory")
        for report in view.reports:
            found = re.search(r"^X-PowerMTA-BounceCategory:[ \t]*(\S+)", report, re.MULTILINE | re.IGNORECASE)
            category = category or (found.group(1) if found else "")
    for draft in drafts:
        if not draft.hint:
            draft.hint = family_reason(family, draft.diagnostic, category)


def _fill_missing_diagnostics(view: MailView, drafts: list[Draft]) -> None:
    """Complete DSN drafts from the human-readable part: a missing diagnostic, and the SMTP
    command the error answered (Postfix writes "(in reply to RCPT TO command)" only there)."""
    missing = [d for d in drafts if not d.diagnostic or not d.command]
    if not missing or not view.texts:
        return
    texts = "\n".join(t for _, t in view.texts if "final-recipient:" not in t.lower())
    if not texts.strip():
        return
    report = textreport.read(view, texts, recipients=[d.address for d in missing])
    found = {d.address: d.diagnostic for d in report.drafts}
    for draft in missing:
        text = found.get(draft.address, "")
        if not draft.diagnostic:
            draft.diagnostic = text
        if not draft.command and draft.address in report.located:
            draft.command = find_command(text)


def _apply_verp(
    view: MailView, pattern: re.Pattern[str] | None, records: list[BounceRecord], kind: str
) -> list[BounceRecord]:
    address = verp_recipient(view, pattern)
    if not address:
        return records
    if not records:
        if not looks_like_bounce(view):
            return records
        return [finalize(Draft(address=address, diagnostic=view.body[:500]))]
    if len(records) == 1 and records[0].address != address and kind not in ("arf", "autoreply"):
        return [replace(records[0], address=address)]
    return records


def _original_message_id(view: MailView) -> str:
    value = view.original_header("Message-ID") or view.original_header("Message-Id")
    if not value:
        match = re.search(r"^\s*Message-I[Dd]:\s*(<[^>\s]+>)", view.body, re.MULTILINE)
        value = match.group(1) if match else ""
    match = re.search(r"<[^<>\s]+>", value)
    return match.group(0) if match else value.strip()
