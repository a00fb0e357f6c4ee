"""Score bounce-parser output against a labelled corpus (labels.jsonl of Sisimai's set-of-emails).

The input is what `bouncewatch parse --json` prints: per file, a list of recipient dicts with
at least "address", "status", "reason" and "class". Importable, so tests reuse the same rules.

Rules (see tests/corpus/sisimai/README.md):
- a file is *exact* when every labelled recipient that is not of class `ignore` is reported, and
  nothing outside the labelled set is reported (labelled `ignore` recipients are optional);
- precision = reported addresses that are labelled / all reported addresses;
- recall = labelled non-optional recipients reported / all labelled non-optional recipients;
- status, class and reason accuracy are taken over the labelled non-optional recipients that
  were reported (matched by address).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Score:
    """Aggregate figures for one parser over one corpus."""

    files: int = 0
    exact: int = 0
    reported: int = 0
    reported_correct: int = 0
    required: int = 0
    required_found: int = 0
    status_ok: int = 0
    class_ok: int = 0
    reason_ok: int = 0
    failures: list[str] = field(default_factory=list)

    @staticmethod
    def _pct(num: int, den: int) -> float:
        return 100.0 * num / den if den else 100.0

    @property
    def exact_pct(self) -> float:
        return self._pct(self.exact, self.files)

    @property
    def precision_pct(self) -> float:
        return self._pct(self.reported_correct, self.reported)

    @property
    def recall_pct(self) -> float:
        return self._pct(self.required_found, self.required)

    @property
    def status_pct(self) -> float:
        return self._pct(self.status_ok, self.required_found)

    @property
    def class_pct(self) -> float:
        return self._pct(self.class_ok, self.required_found)

    @property
    def reason_pct(self) -> float:
        return self._pct(self.reason_ok, self.required_found)

    def as_dict(self) -> dict[str, float]:
        """The headline figures, in percent."""
        return {
            "recipients_exact": self.exact_pct,
            "precision": self.precision_pct,
            "recall": self.recall_pct,
            "status": self.status_pct,
            "class": self.class_pct,
            "reason": self.reason_pct,
        }


def load_labels(corpus: Path) -> dict[str, list[dict]]:
    """File name → labelled recipients, from corpus/labels.jsonl."""
    labels: dict[str, list[dict]] = {}
    with open(corpus / "labels.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                item = json.loads(line)
                labels[item["file"]] = item["recipients"]
    return labels


def _norm(address: str) -> str:
    return address.strip().lower()


def score(results: Mapping[str, Iterable[Mapping]], labels: Mapping[str, list[dict]]) -> Score:
    """Compare results (file name → reported recipient dicts) with the labels."""
    s = Score()
    for name, wanted in sorted(labels.items()):
        got = list(results.get(name, ()))
        s.files += 1
        got_by_addr: dict[str, Mapping] = {}
        for rec in got:
            got_by_addr.setdefault(_norm(rec.get("address", "")), rec)
        labelled = {_norm(w["recipient"]): w for w in wanted}
        required = {a for a, w in labelled.items() if w["class"] != "ignore"}
        reported = set(got_by_addr)
        s.reported += len(reported)
        s.reported_correct += len(reported & set(labelled))
        s.required += len(required)
        s.required_found += len(required & reported)
        ok = required <= reported <= set(labelled)
        problems = []
        if not ok:
            problems.append(f"addresses got={sorted(reported)} want={sorted(required)}")
        for addr in sorted(required & reported):
            w, g = labelled[addr], got_by_addr[addr]
            if g.get("status", "") == w["status"]:
                s.status_ok += 1
            else:
                problems.append(f"{addr} status {g.get('status')!r} want {w['status']!r}")
            if g.get("class", "") == w["class"]:
                s.class_ok += 1
            else:
                problems.append(f"{addr} class {g.get('class')!r} want {w['class']!r}")
            if g.get("reason", "") == w["reason"]:
                s.reason_ok += 1
            else:
                problems.append(f"{addr} reason {g.get('reason')!r} want {w['reason']!r}")
        if ok:
            s.exact += 1
        if problems:
            s.failures.append(f"{name}: " + "; ".join(problems))
    return s
