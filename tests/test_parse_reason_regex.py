"""The reason table's long alternations, regrouped by first character, match the same texts."""

from __future__ import annotations

import re
from pathlib import Path

from bouncewatch.parse.fastmime import parse_bytes
from bouncewatch.parse.mailview import build_view
from bouncewatch.parse.reasons import _by_first_char
from bouncewatch.parse.reasons_data import WORDING

CORPUS = Path(__file__).resolve().parent / "corpus"


def _texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(CORPUS.rglob("*.eml")):
        view = build_view(parse_bytes(path.read_bytes()))
        for text in [view.body, *view.reports]:
            lowered = text.lower()
            texts.append(lowered)
            texts.extend(line for line in lowered.split("\n") if line.strip())
    return texts


def test_factored_patterns_agree() -> None:
    """Each long pattern, regrouped by first character, matches exactly the corpus texts the original does."""
    texts = _texts()
    factored = 0
    for source in (w.pattern for w in WORDING.values() if w.pattern):
        rewritten = _by_first_char(source)
        if rewritten is None:
            continue
        factored += 1
        original, fast = re.compile(source, re.VERBOSE), re.compile(rewritten, re.VERBOSE)
        for text in texts:
            assert (original.search(text) is None) == (fast.search(text) is None), text[:200]
    assert factored >= 4


def test_factoring_shapes() -> None:
    """Regrouping keeps every kind of branch (plain, class, escape, optional) and refuses other shapes."""
    source = "(?> abc | [ ]x | a[ ]d | \\d+ | q? z )"
    assert _by_first_char("553[ ]x") is None
    original, fast = re.compile(source, re.VERBOSE), re.compile(_by_first_char(source), re.VERBOSE)
    for text in ("abc", " x", "a d", "zzz", "7", "ab", "qz", "q", "", "xa dx"):
        assert (original.search(text) is None) == (fast.search(text) is None), text
