"""One poll cycle over one mailbox: fetch → parse → classify → ledger → store → move → blocklist.

Order of effects per batch: everything the batch says is committed in one database
transaction (with the moves it owes), then the messages are moved, then the owed moves are
cleared. A crash anywhere leaves either nothing committed (the batch is fetched again) or
committed work whose messages are recognised by fingerprint and only moved, never recounted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import structlog

from . import blocklist, store
from .classify import ClassPolicy, classify
from .config import MailboxSettings, Settings
from .ledger import LedgerPolicy, apply_verdict
from .mailbox import Mailbox
from .parse import parse_message
from .records import (
    AddressState,
    BounceClass,
    CycleSummary,
    FetchedMessage,
    Outcome,
    ParsedMessage,
    Verdict,
)

log = structlog.get_logger("bouncewatch.pipeline")

Parser = Callable[[bytes], ParsedMessage]


@dataclass(frozen=True, slots=True)
class Analysis:
    """What one message said and where it goes."""

    parsed: ParsedMessage
    verdicts: tuple[Verdict, ...]
    outcome: Outcome


def outcome_of(verdicts: Sequence[Verdict]) -> Outcome:
    """The archive folder for a message: its gravest record decides."""
    if not verdicts:
        return Outcome.UNRECOGNIZED
    classes = {v.bounce_class for v in verdicts}
    for bounce_class, outcome in (
        (BounceClass.COMPLAINT, Outcome.COMPLAINT),
        (BounceClass.HARD, Outcome.HARD),
        (BounceClass.SOFT, Outcome.SOFT),
    ):
        if bounce_class in classes:
            return outcome
    return Outcome.IGNORED


def analyse(raw: bytes, policy: ClassPolicy, parse: Parser = parse_message) -> Analysis:
    """Parse and classify one message (pure)."""
    parsed = parse(raw)
    verdicts = tuple(classify(r, policy) for r in parsed.records if r.address)
    return Analysis(parsed, verdicts, outcome_of(verdicts))


def fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def apply_to_ledger(
    verdicts: Iterable[Verdict], states: dict[str, AddressState], policy: LedgerPolicy, at
) -> None:
    """Fold verdicts into `states` (address → state), in order."""
    for verdict in verdicts:
        address = verdict.record.address.lower()
        state = states.get(address) or AddressState(address=address)
        states[address] = apply_verdict(state, verdict, at, policy)


class Cycle:
    """The work of one cycle on one connected mailbox folder."""

    def __init__(self, settings: Settings, mailbox_settings: MailboxSettings, parse: Parser = parse_message) -> None:
        self.settings = settings
        self.mailbox_settings = mailbox_settings
        self.parse = parse
        self.class_policy = ClassPolicy(overrides=dict(settings.policy.overrides))
        self.ledger_policy = LedgerPolicy(soft_limit=settings.policy.soft_limit)
        self.summary = CycleSummary(mailbox=mailbox_settings.name)
        self.log = log.bind(mailbox=mailbox_settings.name, folder=mailbox_settings.folder)

    def run(self, mailbox: Mailbox) -> CycleSummary:
        name, folder = self.mailbox_settings.name, self.mailbox_settings.folder
        mailbox.ensure_archive_folders()
        uidvalidity = mailbox.select(folder)
        self._finish_owed_moves(mailbox, uidvalidity)
        cursor = store.get_cursor(name, folder)
        if cursor and cursor[0] != uidvalidity:
            self.log.warning("uidvalidity_changed", old=cursor[0], new=uidvalidity)
        last_uid = cursor[1] if cursor and cursor[0] == uidvalidity else 0
        uids = mailbox.uids_after(last_uid)
        batch_size = self.settings.poll.batch_size
        for start in range(0, len(uids), batch_size):
            batch = uids[start : start + batch_size]
            moves = self._process_batch(mailbox.fetch(batch), uidvalidity, batch[-1])
            self._move(mailbox, uidvalidity, moves)
        return self.summary

    def _finish_owed_moves(self, mailbox: Mailbox, uidvalidity: int) -> None:
        name, folder = self.mailbox_settings.name, self.mailbox_settings.folder
        with store.database_proxy.atomic():
            dropped = store.drop_stale_pending_moves(name, folder, uidvalidity)
        if dropped:
            self.log.warning("owed_moves_dropped", count=dropped, reason="uidvalidity changed")
        owed = [(uid, outcome) for _validity, uid, outcome in store.pending_moves(name, folder)]
        if owed:
            self.log.info("finishing_owed_moves", count=len(owed))
            self._move(mailbox, uidvalidity, owed)

    def _process_batch(
        self, fetched: Sequence[FetchedMessage], uidvalidity: int, last_uid: int
    ) -> list[tuple[int, str]]:
        name, folder = self.mailbox_settings.name, self.mailbox_settings.folder
        at = store.utcnow()
        prints = {m.uid: fingerprint(m.raw) for m in fetched}
        with store.database_proxy.atomic():
            known = store.known_fingerprints(prints.values())
            new_messages: list[store.NewMessage] = []
            verdicts: list[Verdict] = []
            moves: list[tuple[int, str]] = []
            for message in fetched:
                print_ = prints[message.uid]
                if print_ in known:
                    self.summary.skipped_duplicates += 1
                    moves.append((message.uid, known[print_]))
                    continue
                analysis = self._analyse(message)
                known[print_] = analysis.outcome.value
                moves.append((message.uid, analysis.outcome.value))
                verdicts.extend(analysis.verdicts)
                new_messages.append(
                    store.NewMessage(
                        fingerprint=print_,
                        uid=message.uid,
                        outcome=analysis.outcome.value,
                        kind=analysis.parsed.kind,
                        original_message_id=analysis.parsed.original_message_id,
                        records=tuple((v.record, v.bounce_class.value) for v in analysis.verdicts),
                    )
                )
                self._count(analysis)
            states = store.load_states(v.record.address.lower() for v in verdicts)
            before = {address: state.blocked for address, state in states.items()}
            apply_to_ledger(verdicts, states, self.ledger_policy, at)
            store.record_messages(new_messages, name, folder, uidvalidity, at)
            store.save_states(states.values())
            store.add_pending_moves(name, folder, uidvalidity, moves)
            store.set_cursor(name, folder, uidvalidity, last_uid)
        for address, state in states.items():
            if state.blocked and not before.get(address, False):
                self.summary.newly_blocked.append(address)
                self.log.info("address_blocked", address=address, why=state.blocked_reason)
        self.summary.messages += len(fetched)
        return moves

    def _analyse(self, message: FetchedMessage) -> Analysis:
        try:
            return analyse(message.raw, self.class_policy, self.parse)
        except Exception as exc:  # noqa: BLE001 - one bad message must never stop the batch
            self.log.error("message_quarantined", uid=message.uid, error=repr(exc)[:500])
            self.summary.quarantined += 1
            return Analysis(ParsedMessage(), (), Outcome.UNRECOGNIZED)

    def _count(self, analysis: Analysis) -> None:
        outcomes = self.summary.outcomes
        outcomes[analysis.outcome.value] = outcomes.get(analysis.outcome.value, 0) + 1
        by_class = self.summary.records_by_class
        for verdict in analysis.verdicts:
            key = verdict.bounce_class.value
            by_class[key] = by_class.get(key, 0) + 1

    def _move(self, mailbox: Mailbox, uidvalidity: int, moves: Sequence[tuple[int, str]]) -> None:
        name, folder = self.mailbox_settings.name, self.mailbox_settings.folder
        by_outcome: dict[str, list[int]] = {}
        for uid, outcome in moves:
            by_outcome.setdefault(outcome, []).append(uid)
        for outcome, uids in sorted(by_outcome.items()):
            mailbox.move(uids, mailbox.archive_folder(outcome))
            with store.database_proxy.atomic():
                store.clear_pending_moves(name, folder, uidvalidity, uids)


def run_cycle(settings: Settings, mailbox_settings: MailboxSettings, parse: Parser = parse_message) -> CycleSummary:
    """Connect, process every new message of the mailbox's folder, publish the blocklist."""
    cycle = Cycle(settings, mailbox_settings, parse)
    with Mailbox(mailbox_settings) as mailbox:
        summary = cycle.run(mailbox)
    publish_blocklist(settings)
    log.info(
        "cycle_done",
        mailbox=summary.mailbox,
        messages=summary.messages,
        records=summary.records_by_class,
        newly_blocked=len(summary.newly_blocked),
        quarantined=summary.quarantined,
        duplicates=summary.skipped_duplicates,
    )
    return summary


def publish_blocklist(settings: Settings, *, force: bool = False) -> bool:
    """Rewrite the blocklist file from the database when its content changed."""
    content = blocklist.render_text(store.blocked_addresses())
    changed = blocklist.publish(settings.blocklist_path, content, force=force)
    if changed:
        log.info("blocklist_written", path=str(settings.blocklist_path), addresses=content.count(b"\n"))
    return changed
