"""Score the parser on the copied Sisimai corpus (accuracy only, never timing)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from scoring import load_labels, score  # noqa: E402

from bouncewatch.parse import parse_message  # noqa: E402
from bouncewatch.rules.classify import classify  # noqa: E402

CORPUS = ROOT / "tests" / "corpus" / "sisimai"
# What the parser reaches on all 558 labelled emails, every recipient counted, held at the
# project's targets where it meets them (status 96, class 97, at most 1 wrong block): a
# regression guard (benchmarks/scoring.py has the rules).
FLOOR = {"recipients_exact": 97.4, "status": 96.0, "class": 97.4, "reason": 94.6, "precision": 99.7}
MAX_WRONG_BLOCKS = 1


@pytest.fixture(scope="module")
def figures() -> dict[str, float]:
    labels = load_labels(CORPUS)
    results = {}
    for name in labels:
        records = parse_message((CORPUS / name).read_bytes()).records
        results[name] = [
            {"address": r.address, "final_address": getattr(r, "final_address", ""), "status": r.status,
             "reason": r.reason, "class": classify(r).bounce_class.value}
            for r in records
        ]
    return score(results, labels).as_dict()


def test_corpus_files_present() -> None:
    """The corpus copy holds every labelled file, so tests never depend on files outside the repository."""
    labels = load_labels(CORPUS)
    assert len(labels) >= 558
    assert all((CORPUS / name).exists() for name in labels)


def test_corpus_no_regression(figures: dict[str, float]) -> None:
    """Accuracy does not fall below what the parser reached when this test was written."""
    for key, floor in FLOOR.items():
        assert figures[key] >= floor, (key, figures[key])


def test_corpus_wrong_blocks_stay_few(figures: dict[str, float]) -> None:
    """Addresses blocked at once that should not be: no more than when this test was written."""
    assert figures["wrong_blocks"] <= MAX_WRONG_BLOCKS


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


def test_parse_shares_a_long_list_between_processes_and_keeps_its_order(tmp_path) -> None:
    """`bouncewatch parse --json` on the whole corpus with two processes prints what one process
    prints, line for line in the order given (an unreadable file included)."""
    import subprocess

    files = [str(CORPUS / name) for name in sorted(load_labels(CORPUS))]
    files.insert(300, str(tmp_path / "missing.eml"))

    def run(jobs: str) -> list[str]:
        proc = subprocess.run([sys.executable, "-m", "bouncewatch", "parse", "--json", "--jobs", jobs, *files],
                              capture_output=True, cwd=ROOT, timeout=300)
        assert proc.returncode == 1, proc.stderr  # the missing file
        return proc.stdout.decode().splitlines()

    one, two = run("1"), run("2")
    assert len(one) == len(files)
    assert [json.loads(line)["file"] for line in two] == files
    assert two == one
