"""Score the parser on the copied Sisimai corpus (accuracy only, never timing)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from scoring import load_labels, score  # noqa: E402

from bouncewatch.parse import parse_message  # noqa: E402
from bouncewatch.rules.classify import classify  # noqa: E402

CORPUS = ROOT / "tests" / "corpus" / "sisimai"
TARGETS = {"recipients_exact": 97.0, "status": 96.0, "class": 97.0, "reason": 90.0, "precision": 99.0}
# What the parser reaches today: a regression guard below the targets.
FLOOR = {"recipients_exact": 99.0, "status": 96.0, "class": 97.0, "reason": 90.5, "precision": 99.5}


@pytest.fixture(scope="module")
def figures() -> dict[str, float]:
    labels = load_labels(CORPUS)
    results = {}
    for name in labels:
        records = parse_message((CORPUS / name).read_bytes()).records
        results[name] = [
            {"address": r.address, "status": r.status, "reason": r.reason,
             "class": classify(r).bounce_class.value}
            for r in records
        ]
    return score(results, labels).as_dict()


def test_corpus_files_present() -> None:
    """The corpus copy holds every labelled file, so tests never depend on files outside the repository."""
    labels = load_labels(CORPUS)
    assert len(labels) >= 300
    assert all((CORPUS / name).exists() for name in labels)


def test_corpus_no_regression(figures: dict[str, float]) -> None:
    """Accuracy does not fall below what the parser reached when this test was written."""
    for key, floor in FLOOR.items():
        assert figures[key] >= floor, (key, figures[key])


def test_corpus_meets_targets(figures: dict[str, float]) -> None:
    """Recipients exact ≥97%, status ≥96%, class ≥97%, reason ≥90%, precision ≥99%."""
    for key, target in TARGETS.items():
        assert figures[key] >= target, (key, figures[key])


def test_crlf_line_ends_read_like_lf():
    """Every corpus email gives the same records with CRLF line ends, as IMAP delivers mail."""

    differing = []
    for path in sorted(CORPUS.glob("*.eml")):
        raw = path.read_bytes().replace(b"\r\n", b"\n")
        as_lf = parse_message(raw).records
        as_crlf = parse_message(raw.replace(b"\n", b"\r\n")).records
        if [(r.address, r.status, r.reason) for r in as_lf] != [(r.address, r.status, r.reason) for r in as_crlf]:
            differing.append(path.name)
    assert differing == []
