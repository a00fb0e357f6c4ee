"""Bytes of one email → per-recipient bounce records. Pure: no I/O, no logging, never raises.

Mail that only looks like a bounce (``notices``: read receipts, challenge-response,
moderation holds, quarantine digests) gives no records, kind ``notice``. Otherwise detectors
are tried in a fixed order, most specific first: ARF complaints, RFC 3464 DSNs,
RFC 3834 auto-replies, the non-standard families of ``formats`` (ending with a generic reader),
and flufl.bounce for addresses only. Each says where it read every address; ``recipients``
cleans them, drops our own and keeps a loose scan's only when something backs it up. The first
detector left with recipients wins, unless it only scanned loosely and flufl.bounce's backed
answer differs: then the better backed answer wins. Common finishing (codes, reason, pseudo
status) is done by ``finalize``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..records import BounceRecord, OwnAddresses, ParsedMessage
from . import arf, autoreply, delays, dsn, fallback, notices, recipients, textreport
from .fastmime import parse_bytes_typed
from .finalize import Draft, finalize, find_command
from .formats import DETECTORS as FORMAT_DETECTORS, PRE_DSN, family_of
from .formats.generic import looks_like_bounce
from .mailview import MailView, build_view
from .reasons import family_reason
from .verp import DEFAULT_VERP, verp_recipient

__all__ = ["DEFAULT_VERP", "MAX_BYTES", "OwnAddresses", "parse_message", "parse_message_with_verp"]

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


# A detector returns Drafts, None when the message is not its kind, or an empty list when it
# is and names no recipient (a complaint report with the address redacted): that message is
# recognised, and nothing is counted.
DETECTORS = (
    ("arf", arf.detect),
    *PRE_DSN,
    ("dsn", dsn.detect),
    ("autoreply", _autoreply),
    *FORMAT_DETECTORS,
    ("flufl", fallback.detect),
)
# Where each detector reads its addresses, unless a draft says otherwise (records.SOURCES).
_SOURCES = {
    "arf": "report", "dsn": "dsn", "autoreply": "sender", "amazonses": "report",
    "googlegroups": "x-failed-recipients", "domino": "statement", "fml": "statement",
    "verizon": "statement", "exim": "statement", "generic": recipients.LOOSE, "flufl": recipients.LOOSE,
}
_LOOSE_READERS = frozenset(name for name, source in _SOURCES.items() if source == recipients.LOOSE)


def parse_message(
    raw: bytes,
    *,
    verp_pattern: re.Pattern[str] | None = None,
    use_verp: bool = False,
    own: OwnAddresses | None = None,
) -> ParsedMessage:
    """Read one email; a non-bounce gives ``ParsedMessage(records=())``. Never raises.

    ``own``: the configured addresses of our side (mailbox, return path, VERP domain), never
    reported whatever the message says."""
    try:
        return _parse(raw, verp_pattern if (use_verp or verp_pattern) else None, bool(use_verp or verp_pattern), own)
    except Exception as exc:  # noqa: BLE001 - the parser must never lose a message
        return ParsedMessage(notes=(f"parser error: {type(exc).__name__}",))


def parse_message_with_verp(raw: bytes, verp_pattern: re.Pattern[str] | None) -> ParsedMessage:
    """Like parse_message, and use a VERP return path (default pattern if None) for the recipient."""
    return parse_message(raw, verp_pattern=verp_pattern, use_verp=True)


def _detect(view: MailView, own: OwnAddresses | None, notes: list[str]) -> tuple[str, list[Draft]]:
    """The winning detector's name and its screened drafts; ``("", [])`` when none wins."""
    unbacked: list[str] = []
    for name, detect in DETECTORS:
        try:
            found = detect(view)
        except Exception as exc:  # noqa: BLE001 - a detector bug must not lose the message
            notes.append(f"detector {name} failed: {type(exc).__name__}")
            continue
        if found is None or (not found and name != "arf"):
            continue
        if not found:
            notes.append("complaint report names no recipient: nothing counted")
            return name, []
        source = _SOURCES.get(name, "")
        screened = recipients.screen(view, found[:MAX_RECIPIENTS], source, own)
        unbacked.extend(a for a in screened.unbacked if a not in unbacked)
        if not screened.drafts and screened.own and source != recipients.LOOSE:
            # a report we can read that is about our own addresses only: looser readers would
            # only find another address in it by mistake
            notes.append("reports only on addresses of our own: " + ", ".join(screened.own[:10]))
            return name, []
        if not screened.drafts:
            continue
        if name in _LOOSE_READERS and name != "flufl":
            return _better_backed(view, own, name, screened.drafts, notes)
        return name, screened.drafts
    if unbacked:
        notes.append("addresses found only by a loose scan, nothing backing them: " + ", ".join(unbacked[:10]))
    return "", []


def _better_backed(
    view: MailView, own: OwnAddresses | None, name: str, drafts: list[Draft], notes: list[str]
) -> tuple[str, list[Draft]]:
    """A loose reader's answer against flufl.bounce's: where they disagree, the addresses the
    returned original's recipients back win; else the reader's, unless flufl.bounce's names
    fewer. flufl.bounce (as costly as all the rest) is not asked where it could not win: the
    original's recipients back the reader's answer throughout, or the reader names a single
    address and the original's recipients name no other."""
    mine = {d.address for d in drafts}
    if all(d.source == "scan+original" for d in drafts):
        return name, drafts
    if len(drafts) == 1 and recipients.original_recipients(view) <= mine:
        return name, drafts
    try:
        found = fallback.detect(view) or []
    except Exception as exc:  # noqa: BLE001 - a detector bug must not lose the message
        notes.append(f"detector flufl failed: {type(exc).__name__}")
        return name, drafts
    others = recipients.screen(view, found[:MAX_RECIPIENTS], recipients.LOOSE, own).drafts
    if not others or {d.address for d in others} == mine:
        return name, drafts
    if _strength(drafts) >= _strength(others):
        return name, drafts
    notes.append(f"{name} and flufl.bounce disagree: the better backed answer (flufl.bounce's) is taken")
    theirs = {d.address for d in others}
    if theirs <= mine:  # the reader's own drafts of those addresses: their error text is read
        return name, [d for d in drafts if d.address in theirs]
    return "flufl", others


def _strength(drafts: list[Draft]) -> tuple[int, int]:
    """How well an answer is backed: its addresses the original's recipients back, then fewest."""
    return sum(d.source == "scan+original" for d in drafts), -len(drafts)


def _parse(raw: bytes, verp_pattern: re.Pattern[str] | None, use_verp: bool, own: OwnAddresses | None) -> ParsedMessage:
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
    kind, drafts = _detect(view, own, notes)
    if kind in ("dsn",):
        _fill_missing_diagnostics(view, drafts)
    if drafts and kind not in ("arf", "autoreply", "flufl"):
        _family_hints(view, drafts)
        if any(not d.action for d in drafts) and delays.still_trying(view):
            for draft in drafts:  # a warning in words: recipients without an Action of their own
                draft.action = draft.action or "delayed"
    if len(drafts) == 1 and kind not in ("arf", "autoreply"):
        # a message about one recipient: its whole error text may say why where the line did not
        drafts[0].context = textreport.body_section(view)
    records = [finalize(draft) for draft in drafts]
    if use_verp:
        records = _apply_verp(view, verp_pattern, records, kind, own)
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
    view: MailView, pattern: re.Pattern[str] | None, records: list[BounceRecord], kind: str,
    own: OwnAddresses | None,
) -> list[BounceRecord]:
    address = recipients.clean(verp_recipient(view, pattern))
    if not address or recipients.is_own(view, address, own):
        return records
    if not records:
        if not looks_like_bounce(view):
            return records
        return [finalize(Draft(address=address, diagnostic=view.body[:500], source="verp"))]
    if len(records) == 1 and records[0].address != address and kind not in ("arf", "autoreply"):
        return [replace(records[0], address=address, source="verp", final_address="")]
    return records


def _original_message_id(view: MailView) -> str:
    value = view.original_header("Message-ID") or view.original_header("Message-Id")
    if not value:
        match = re.search(r"^\s*Message-I[Dd]:\s*(<[^>\s]+>)", view.body, re.MULTILINE)
        value = match.group(1) if match else ""
    match = re.search(r"<[^<>\s]+>", value)
    return match.group(0) if match else value.strip()
