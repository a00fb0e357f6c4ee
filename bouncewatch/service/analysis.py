"""Parse and classify messages: one at a time, or a batch at once in worker processes.

Parsing is the one CPU-heavy stage of a cycle, and pure: bytes in, records out. A batch of
messages can therefore be analysed in other processes while this one fetches the next batch
and writes the last one to the database. `Analyser.submit()` returns at once; `.result()` of
what it returns gives one outcome per message, in order: an Analysis, or the text of the
error that message raised (the pipeline quarantines it).

Worker processes are started with "spawn" (the daemon has threads; forking a process with
threads can deadlock the child) once, on the first batch large enough to pay for them, and
serve every later cycle of the process. Small batches, a parse function of a test, or
`[poll] parse_workers = 0` stay in this process.
"""

from __future__ import annotations

import atexit
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from ..parse import parse_message
from ..publish import verp_sign
from ..records import BounceClass, Outcome, ParsedMessage, Verdict
from ..rules.classify import ClassPolicy, classify

Parser = Callable[[bytes], ParsedMessage]
Outcomes = list["Analysis | str"]

# Below this many messages, shipping them to another process costs more than parsing here.
MIN_MESSAGES_FOR_WORKERS = 64


@dataclass(frozen=True, slots=True)
class Analysis:
    """What one message said and where it goes."""

    parsed: ParsedMessage
    verdicts: tuple[Verdict, ...]
    outcome: Outcome
    unverified: str = ""  # why a signed return path was required and not found (verp_sign)


def outcome_of(verdicts: Sequence[Verdict], kind: str = "") -> Outcome:
    """The archive folder for a message: its gravest record decides. Without records: a message
    the parser recognised as a notice that is no bounce (kind ``notice``) is Ignored; a
    complaint report that names no recipient (kind ``arf``, the address redacted) goes with the
    complaints, counting nothing; any other is left for a person (Unrecognized)."""
    if not verdicts:
        return {"notice": Outcome.IGNORED, "arf": Outcome.COMPLAINT}.get(kind, Outcome.UNRECOGNIZED)
    classes = {v.bounce_class for v in verdicts}
    for bounce_class, outcome in (
        (BounceClass.COMPLAINT, Outcome.COMPLAINT),
        (BounceClass.HARD, Outcome.HARD),
        (BounceClass.SOFT, Outcome.SOFT),
    ):
        if bounce_class in classes:
            return outcome
    return Outcome.IGNORED


def analyse(
    raw: bytes, policy: ClassPolicy, parse: Parser = parse_message, signer: verp_sign.Signer | None = None
) -> Analysis:
    """Parse and classify one message (pure); with a signer, only what a signed return path vouches for."""
    parsed = parse(raw)
    verdicts = tuple(classify(r, policy) for r in parsed.records if r.address)
    if signer is not None and verdicts:
        screened = verp_sign.screen(raw, verdicts, signer)
        if screened.unverified:
            return Analysis(parsed, (), Outcome.UNVERIFIED, screened.unverified)
        verdicts = screened.verdicts
    return Analysis(parsed, verdicts, outcome_of(verdicts, parsed.kind))


def analyse_each(
    raws: Sequence[bytes], policy: ClassPolicy, signer: verp_sign.Signer | None, parse: Parser = parse_message
) -> Outcomes:
    """Analyse every message; a message whose analysis raises yields the error's text instead."""
    outcomes: Outcomes = []
    for raw in raws:
        try:
            outcomes.append(analyse(raw, policy, parse, signer))
        except Exception as exc:  # noqa: BLE001 - one bad message must never stop the batch
            outcomes.append(repr(exc)[:500])
    return outcomes


class _Done:
    """The result of work done on the spot, shaped like a pending one."""

    def __init__(self, outcomes: Outcomes) -> None:
        self._outcomes = outcomes

    def result(self) -> Outcomes:
        return self._outcomes


class _Gathered:
    """Several futures' lists, joined in order."""

    def __init__(self, futures: list[Future[Outcomes]]) -> None:
        self._futures = futures

    def result(self) -> Outcomes:
        return [outcome for future in self._futures for outcome in future.result()]


_pool: ProcessPoolExecutor | None = None
_pool_workers = 0
_pool_lock = threading.Lock()


def _shared_pool(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_workers
    with _pool_lock:
        if _pool is None or _pool_workers != workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
            _pool_workers = workers
        return _pool


@atexit.register
def _shutdown_pool() -> None:
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)


class Analyser:
    """Analyses batches for one cycle, in worker processes when that pays."""

    def __init__(
        self,
        policy: ClassPolicy,
        signer: verp_sign.Signer | None,
        workers: int,
        parse: Parser = parse_message,
    ) -> None:
        self.policy = policy
        self.signer = signer
        self.parse = parse
        # Only the real parser (with this mailbox's own addresses bound) can run elsewhere: a
        # test's parse function need not pickle.
        self.workers = workers if getattr(parse, "func", parse) is parse_message else 0

    def submit(self, raws: Sequence[bytes]) -> _Done | _Gathered:
        if self.workers < 1 or len(raws) < MIN_MESSAGES_FOR_WORKERS:
            return _Done(analyse_each(raws, self.policy, self.signer, self.parse))
        pool = _shared_pool(self.workers)
        size = -(-len(raws) // self.workers)
        chunks = [list(raws[i : i + size]) for i in range(0, len(raws), size)]
        return _Gathered([pool.submit(analyse_each, chunk, self.policy, self.signer, self.parse) for chunk in chunks])
