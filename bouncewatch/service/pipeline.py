"""One poll cycle over one mailbox: fetch → parse → classify → ledger → store → move → blocklist.

Order of effects per batch: everything the batch says is committed in one database
transaction (with the moves it owes); then, once MOVE_GROUP messages are owed or the cycle
ends, the messages are moved and the owed moves cleared; then the outputs are published. A
crash anywhere leaves either nothing committed (the batch is fetched again) or committed work
whose owed moves the next cycle finishes, and whose messages, seen again, are recognised by
fingerprint and only moved, never recounted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from functools import partial
from typing import Protocol

import structlog

from .. import store
from ..config import MailboxSettings, Settings
from ..imap.mailbox import Mailbox
from ..parse import parse_message
from ..publish import verp_sign, webhooks
from ..records import (
    AddressState, BounceClass, CycleSummary, FetchedMessage, Outcome, OwnAddresses, ParsedMessage, Verdict,
)
from ..rules.addresses import domain_of, normalise
from ..rules.alerts import AlertPolicy
from ..rules.classify import ClassPolicy, is_sender_side
from ..rules.ledger import LedgerPolicy, apply_verdict, counts
from .alerts import update_sender_alerts
from .analysis import Analyser, Analysis, Outcomes
from .publisher import PUBLISHER

log = structlog.get_logger("bouncewatch.pipeline")

Parser = Callable[[bytes], ParsedMessage]
BYTES_PER_BATCH_FACTOR = 4  # a batch holds at most this many max-size messages in memory
# Committed batches' moves are made in groups of at least this many messages: each UID MOVE
# makes the server rewrite the source folder's index, whose size is the backlog's, so moving
# after every batch costs O(backlog²) on the server. Owed moves are in the database until done.
MOVE_GROUP = 5000
# New UIDs are looked up this many UIDs at a time: a UID SEARCH of a 100,000-message backlog
# costs about 20 MB to parse at once; a window of 10,000, a tenth of that.
UID_WINDOW = 10_000


class StopFlag(Protocol):
    """What a cycle checks between batches (a threading.Event fits): set means stop now."""

    def is_set(self) -> bool: ...


def split_by_bytes(uids: Sequence[int], sizes: dict[int, int], budget: int, cap_each: int) -> list[list[int]]:
    """Cut `uids` into runs whose sizes (each capped at `cap_each`) add up to at most `budget`.

    Every run has at least one message, so one huge message still goes through (as its prefix).
    """
    runs: list[list[int]] = []
    current: list[int] = []
    total = 0
    for uid in uids:
        size = min(sizes.get(uid, 0), cap_each)
        if current and total + size > budget:
            runs.append(current)
            current, total = [], 0
        current.append(uid)
        total += size
    if current:
        runs.append(current)
    return runs


def ledger_policy(settings: Settings) -> LedgerPolicy:
    policy = settings.policy
    return LedgerPolicy(
        soft_limit=policy.soft_limit,
        block_on_complaint=policy.complaint_action == "block",
        count_sender_side=policy.count_sender_side,
        soft_window=timedelta(days=policy.soft_window_days) if policy.soft_window_days else None,
    )


def own_addresses(settings: Settings, mailbox: MailboxSettings) -> OwnAddresses:
    """Our side's addresses, which the parser never reports: the mailbox's login when it is an
    address (the return path it receives), the VERP return path and its domain, which routes
    to the bounce mailbox and holds no recipient."""
    addresses: set[str] = set()
    if "@" in mailbox.username:
        addresses.add(mailbox.username.strip().lower())
    domains: set[str] = set()
    if settings.verp.domain:
        domain = settings.verp.domain.strip(".").lower()
        domains.add(domain)
        addresses.add(f"{settings.verp.local_part.lower()}@{domain}")
    return OwnAddresses(addresses=frozenset(addresses), domains=frozenset(domains))


def fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def plan_events(
    analysis: Analysis, counted_pairs: set[tuple[str, str]], policy: LedgerPolicy
) -> tuple[tuple[store.NewEvent, ...], list[tuple[str, Verdict]]]:
    """Decide which records of a message move the ledger (pure but for `counted_pairs`).

    A record counts unless its address is not an address, or an earlier report about the
    same original message and recipient already counted (a duplicate DSN). Records that count
    add their pair to `counted_pairs`, so a repeat later in the same batch is caught too.
    Sender-side rejections are applied (recorded on the address) but flagged as not counted
    unless the policy counts them.
    """
    omid = analysis.parsed.original_message_id
    events: list[store.NewEvent] = []
    applied: list[tuple[str, Verdict]] = []
    for verdict in analysis.verdicts:
        address = normalise(verdict.record.address)
        sender_side = verdict.bounce_class is BounceClass.SOFT and is_sender_side(verdict.record)
        counting = verdict.bounce_class is not BounceClass.IGNORE
        repeat = counting and bool(omid) and (omid, address or "") in counted_pairs
        if address is not None and not repeat:
            applied.append((address, verdict))
            if counting and omid:
                counted_pairs.add((omid, address))
        events.append(
            store.NewEvent(
                address=address or verdict.record.address,
                record=verdict.record,
                bounce_class=verdict.bounce_class.value,
                counted=address is not None and not repeat and counts(verdict, policy),
                sender_side=sender_side,
            )
        )
    return tuple(events), applied


class Cycle:
    """The work of one cycle on one connected mailbox folder."""

    def __init__(self, settings: Settings, mailbox_settings: MailboxSettings, parse: Parser = parse_message) -> None:
        self.settings = settings
        self.mailbox_settings = mailbox_settings
        self.parse = parse
        self.class_policy = ClassPolicy(overrides=dict(settings.policy.overrides))
        self.ledger_policy = ledger_policy(settings)
        self.alert_policy = AlertPolicy(
            threshold=settings.policy.sender_alert_threshold,
            window=timedelta(minutes=settings.policy.sender_alert_window_minutes),
        )
        self.summary = CycleSummary(mailbox=mailbox_settings.name)
        self.signer = verp_sign.signer_from_settings(settings) if settings.verp.require_signature else None
        self._owed: list[tuple[int, str]] = []  # moves committed batches owe, not yet done
        if parse is parse_message:
            parse = partial(parse_message, own=own_addresses(settings, mailbox_settings))
        self.analyser = Analyser(self.class_policy, self.signer, settings.poll.parse_workers, parse)
        self.log = log.bind(mailbox=mailbox_settings.name, folder=mailbox_settings.folder)

    def run(self, mailbox: Mailbox, stop: StopFlag | None = None) -> CycleSummary:
        """Process the folder's new messages batch by batch; once `stop` is set, stop between batches."""
        name, folder = self.mailbox_settings.name, self.mailbox_settings.folder
        mailbox.ensure_archive_folders()
        uidvalidity = mailbox.select(folder)
        self._finish_owed_moves(mailbox, uidvalidity)
        cursor = store.get_cursor(name, folder)
        if cursor and cursor[0] != uidvalidity:
            self.log.warning("uidvalidity_changed", old=cursor[0], new=uidvalidity)
        last_uid = cursor[1] if cursor and cursor[0] == uidvalidity else 0
        max_bytes = self.settings.poll.max_message_bytes
        # One batch is analysed (in worker processes, when that pays) while the next is fetched;
        # each is still committed, then moved, before a later one is committed.
        in_hand = None
        for batch, sizes in self._batches(mailbox, last_uid):
            if stop is not None and stop.is_set():
                self.log.info("cycle_stopped_between_batches", next_uid=batch[0])
                break
            fetched = mailbox.fetch(batch, max_bytes, sizes)
            pending = self.analyser.submit([m.raw for m in fetched])
            if in_hand is not None:
                self._finish_batch(mailbox, uidvalidity, *in_hand)
            in_hand = (fetched, pending, batch[-1])
        if in_hand is not None:
            self._finish_batch(mailbox, uidvalidity, *in_hand)
        self._flush_moves(mailbox, uidvalidity)
        return self.summary

    def _batches(self, mailbox: Mailbox, last_uid: int) -> Iterator[tuple[list[int], dict[int, int]]]:
        """UID batches of `batch_size` above `last_uid`, split further so few big messages make
        smaller batches. UIDs are looked up a window at a time, so a backlog of any size costs
        the memory of one window; mail arriving meanwhile waits for the next cycle."""
        for low in range(last_uid + 1, mailbox.uidnext, UID_WINDOW):
            high = min(low + UID_WINDOW, mailbox.uidnext) - 1
            yield from self._window_batches(mailbox, mailbox.uids_between(low, high))

    def _window_batches(self, mailbox: Mailbox, uids: Sequence[int]) -> Iterator[tuple[list[int], dict[int, int]]]:
        batch_size = self.settings.poll.batch_size
        max_bytes = self.settings.poll.max_message_bytes
        for start in range(0, len(uids), batch_size):
            sizes = mailbox.sizes(uids[start : start + batch_size])
            for batch in split_by_bytes(
                uids[start : start + batch_size], sizes, BYTES_PER_BATCH_FACTOR * max_bytes, max_bytes
            ):
                yield batch, sizes

    def _finish_batch(self, mailbox: Mailbox, uidvalidity: int, fetched: Sequence[FetchedMessage], pending, last_uid: int) -> None:
        self._owed.extend(self._process_batch(fetched, pending.result(), uidvalidity, last_uid))
        if len(self._owed) >= MOVE_GROUP:
            self._flush_moves(mailbox, uidvalidity)

    def _flush_moves(self, mailbox: Mailbox, uidvalidity: int) -> None:
        """Move what committed batches owe; they are in the database until done."""
        owed, self._owed = self._owed, []
        self._move(mailbox, uidvalidity, owed)

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
        self, fetched: Sequence[FetchedMessage], outcomes: Outcomes, uidvalidity: int, last_uid: int
    ) -> list[tuple[int, str]]:
        name, folder = self.mailbox_settings.name, self.mailbox_settings.folder
        at = store.utcnow()
        prints = {m.uid: fingerprint(m.raw) for m in fetched}
        with store.write_transaction():
            known = store.known_fingerprints(prints.values())
            moves: list[tuple[int, str]] = []
            fresh: list[tuple[FetchedMessage, str, Analysis]] = []
            for message, outcome in zip(fetched, outcomes, strict=True):
                print_ = prints[message.uid]
                if print_ in known:
                    self.summary.skipped_duplicates += 1
                    moves.append((message.uid, known[print_]))
                    continue
                analysis = self._accept(message, outcome)
                known[print_] = analysis.outcome.value
                moves.append((message.uid, analysis.outcome.value))
                fresh.append((message, print_, analysis))
                self._count(analysis)
            pairs = {
                (analysis.parsed.original_message_id, normalise(v.record.address) or "")
                for _m, _p, analysis in fresh
                for v in analysis.verdicts
            }
            counted_pairs = store.counted_before(pairs)
            new_messages: list[store.NewMessage] = []
            to_apply: list[tuple[str, Verdict]] = []
            for message, print_, analysis in fresh:
                events, applied = plan_events(analysis, counted_pairs, self.ledger_policy)
                to_apply.extend(applied)
                new_messages.append(
                    store.NewMessage(
                        fingerprint=print_,
                        uid=message.uid,
                        outcome=analysis.outcome.value,
                        kind=analysis.parsed.kind,
                        original_message_id=analysis.parsed.original_message_id,
                        events=events,
                    )
                )
            states = store.load_states(address for address, _verdict in to_apply)
            before = {address: state.blocked for address, state in states.items()}
            for address, verdict in to_apply:
                state = states.get(address) or AddressState(address=address)
                states[address] = apply_verdict(state, verdict, at, self.ledger_policy)
            store.record_messages(new_messages, name, folder, uidvalidity, at)
            store.save_states(states.values())
            sender_side_domains = [
                domain_of(e.address) for m in new_messages for e in m.events if e.sender_side
            ]
            raised = update_sender_alerts(sender_side_domains, at, self.alert_policy)
            self.summary.alerts.extend(text for _domain, text in raised)
            if self.settings.webhooks:
                webhooks.enqueue(self.settings, webhooks.ledger_changes(before, states.values(), raised, at), at)
            store.add_pending_moves(name, folder, uidvalidity, moves)
            store.set_cursor(name, folder, uidvalidity, last_uid)
        for address, state in states.items():
            if state.blocked and not before.get(address, False):
                self.summary.newly_blocked.append(address)
                self.log.info("address_blocked", address=address, why=state.blocked_reason)
        self.summary.messages += len(fetched)
        return moves

    def _accept(self, message: FetchedMessage, analysis: Analysis | str) -> Analysis:
        """An analysis to record; a message whose analysis failed is quarantined in Unrecognized."""
        if isinstance(analysis, str):
            self.log.error("message_quarantined", uid=message.uid, error=analysis)
            self.summary.quarantined += 1
            return Analysis(ParsedMessage(), (), Outcome.UNRECOGNIZED)
        if analysis.unverified:
            self.log.warning("bounce_unverified", uid=message.uid, why=analysis.unverified)
        elif not analysis.verdicts and analysis.parsed.notes:
            # why nothing was counted (an unbacked address, a complaint naming nobody): for the
            # person who looks at the archive folder
            self.log.info("message_not_counted", uid=message.uid, outcome=analysis.outcome.value,
                          notes=list(analysis.parsed.notes))
        return analysis

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


def process_folders(
    settings: Settings,
    mailbox_settings: MailboxSettings,
    mailbox: Mailbox,
    parse: Parser = parse_message,
    stop: StopFlag | None = None,
) -> CycleSummary:
    """Run a cycle over each configured folder of a connected mailbox; one summary for all."""
    summary = CycleSummary(mailbox=mailbox_settings.name)
    for folder in mailbox_settings.folder_list:
        if stop is not None and stop.is_set():
            break
        # A Cycle works on `mailbox_settings.folder`; hand it a copy naming this folder.
        cycle = Cycle(settings, mailbox_settings.model_copy(update={"folder": folder}), parse)
        cycle.summary = summary
        cycle.run(mailbox, stop)
    return summary


def run_cycle(
    settings: Settings,
    mailbox_settings: MailboxSettings,
    parse: Parser = parse_message,
    stop: StopFlag | None = None,
    publish: Callable[[Settings], object] | None = None,
) -> CycleSummary:
    """Connect, process every new message of the mailbox's folders, publish the blocklist.

    With `stop` set (SIGTERM), the batch in hand is finished and no new one is started.
    `publish` is called at the end: by default the outputs are written now if the blocked set
    changed.
    """
    summary = process_mailbox(settings, mailbox_settings, parse, stop)
    (publish or PUBLISHER.publish_if_changed)(settings)
    return summary


def process_mailbox(
    settings: Settings,
    mailbox_settings: MailboxSettings,
    parse: Parser = parse_message,
    stop: StopFlag | None = None,
) -> CycleSummary:
    """A cycle without publishing: connect, process every new message, log what was done.

    The daemon and `poll` publish apart, so that processing that works is told apart from
    publishing that fails.
    """
    with Mailbox(mailbox_settings) as mailbox:
        summary = process_folders(settings, mailbox_settings, mailbox, parse, stop)
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
    """Rewrite every blocklist output from the database where its content changed, now."""
    return PUBLISHER.publish(settings, force=force)
