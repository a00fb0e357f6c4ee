"""Analysis in worker processes gives exactly what analysis in this process gives."""

from __future__ import annotations

from pathlib import Path

from bouncewatch.rules.classify import ClassPolicy
from bouncewatch.service.analysis import MIN_MESSAGES_FOR_WORKERS, Analyser, Analysis, analyse_each
from bouncewatch.testing import samples

from .spine import USER, Deployment

CORPUS = Path(__file__).parent / "corpus" / "sisimai"


def test_workers_match_inline_on_the_corpus():
    """Every corpus message analysed in a worker process equals its analysis in this process."""
    raws = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    assert len(raws) >= MIN_MESSAGES_FOR_WORKERS
    inline = Analyser(ClassPolicy(), None, workers=0).submit(raws).result()
    pooled = Analyser(ClassPolicy(), None, workers=2).submit(raws).result()
    assert pooled == inline
    assert all(isinstance(outcome, Analysis) for outcome in pooled)


def test_workers_use_the_mailbox_own_addresses():
    """The parser bound to a mailbox's own addresses runs in worker processes too, and drops
    those addresses there as it does here."""
    from functools import partial

    from bouncewatch.parse import parse_message
    from bouncewatch.records import OwnAddresses

    ours = samples.dsn("box@shop.example")
    raws = [ours] + [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))][: MIN_MESSAGES_FOR_WORKERS]
    parse = partial(parse_message, own=OwnAddresses(addresses=frozenset({"box@shop.example"})))
    analyser = Analyser(ClassPolicy(), None, workers=2, parse=parse)
    assert analyser.workers == 2
    pooled = analyser.submit(raws).result()
    assert pooled == Analyser(ClassPolicy(), None, workers=0, parse=parse).submit(raws).result()
    assert isinstance(pooled[0], Analysis) and pooled[0].verdicts == ()


def test_a_failing_analysis_becomes_its_error_text():
    """A message whose parse raises yields the error's text, and the others are analysed."""

    def fragile(raw: bytes):
        if b"poison" in raw:
            raise ValueError("detector bug")
        from bouncewatch.parse import parse_message

        return parse_message(raw)

    outcomes = analyse_each([samples.dsn("poison@example.org"), samples.dsn("fine@example.org")], ClassPolicy(), None, fragile)
    assert outcomes[0] == "ValueError('detector bug')"
    assert isinstance(outcomes[1], Analysis) and outcomes[1].verdicts[0].record.address == "fine@example.org"


def test_cycle_with_a_parsing_process(dovecot, tmp_path):
    """A cycle whose batches go to a parsing process counts, blocks and archives as an inline one does."""
    deployment = Deployment(dovecot, tmp_path, f"sqlite:///{tmp_path}/state.db")
    messages = [samples.soft_dsn(f"user{i % 20}@example.org") for i in range(100)]
    messages += [samples.dsn(f"gone{i}@example.org") for i in range(50)]
    dovecot.deliver(USER, messages)
    config = deployment.write_config()
    config.write_text(config.read_text().replace("batch_size = 3", "batch_size = 70\nparse_workers = 1"))
    summary = deployment.poll()
    assert summary.messages == 150
    assert summary.records_by_class == {"soft": 100, "hard": 50}
    assert len(summary.newly_blocked) == 70  # 20 after five soft bounces each, 50 hard
    assert deployment.folders() == {"Bounces/Soft": 100, "Bounces/Hard": 50}
