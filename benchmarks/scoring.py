"""Score bounce-parser output against a labelled corpus (labels.jsonl of Sisimai's set-of-emails).

The input is what `bouncewatch parse --json` prints: per file, a list of recipient dicts with
at least "address", "status", "reason" and "class" (and optionally "final_address"). Importable,
so tests reuse the same rules.

Rules (see tests/corpus/sisimai/README.md):
- a labelled recipient is matched by its `recipient` or by its `original_recipient` (the address
  the mail was sent to, where a DSN's Original-Recipient differs from its Final-Recipient), and
  a reported record by its "address" or its "final_address";
- a file is *exact* when every labelled recipient that is not of class `ignore` is reported,
  and nothing outside the labelled set is reported (labelled `ignore` recipients are optional);
- precision = reported addresses that are labelled / all reported addresses;
- recall = labelled non-optional recipients reported / all labelled non-optional recipients;
- status, class and reason are scored over *every* labelled recipient, `ignore` ones included:
  one left out is a miss, except that leaving out an `ignore` one is right for class;
- wrong blocks: addresses reported hard or complaint that are labelled otherwise or not at all;
  missed blocks: hard or complaint recipients not reported so;
- the share of reported records whose reason is `onhold` or `undefined` (the parser gave up).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

BLOCKING = ("hard", "complaint")
VAGUE_REASONS = ("onhold", "undefined")


@dataclass
class Score:
    """Aggregate figures for one parser over one corpus."""

    files: int = 0
    exact: int = 0
    reported: int = 0
    reported_correct: int = 0
    required: int = 0
    required_found: int = 0
    labelled: int = 0
    status_ok: int = 0
    class_ok: int = 0
    reason_ok: int = 0
    wrong_blocks: int = 0
    missed_blocks: int = 0
    records: int = 0
    vague: int = 0
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
        return self._pct(self.status_ok, self.labelled)

    @property
    def class_pct(self) -> float:
        return self._pct(self.class_ok, self.labelled)

    @property
    def reason_pct(self) -> float:
        return self._pct(self.reason_ok, self.labelled)

    @property
    def vague_pct(self) -> float:
        return self._pct(self.vague, self.records) if self.records else 0.0

    def as_dict(self) -> dict[str, float]:
        """The headline figures: percentages, and the block counts."""
        return {
            "recipients_exact": self.exact_pct,
            "precision": self.precision_pct,
            "recall": self.recall_pct,
            "status": self.status_pct,
            "class": self.class_pct,
            "reason": self.reason_pct,
            "wrong_blocks": float(self.wrong_blocks),
            "missed_blocks": float(self.missed_blocks),
            "onhold_undefined": self.vague_pct,
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


def _norm(address: str | None) -> str:
    return (address or "").strip().lower()


def _names(label: Mapping) -> set[str]:
    return {a for a in (_norm(label["recipient"]), _norm(label.get("original_recipient"))) if a}


def _record_names(record: Mapping) -> set[str]:
    return {a for a in (_norm(record.get("address")), _norm(record.get("final_address"))) if a}


def score(results: Mapping[str, Iterable[Mapping]], labels: Mapping[str, list[dict]]) -> Score:
    """Compare results (file name → reported recipient dicts) with the labels."""
    s = Score()
    for name, wanted in sorted(labels.items()):
        got = list(results.get(name, ()))
        s.files += 1
        s.records += len(got)
        s.vague += sum(1 for rec in got if rec.get("reason", "") in VAGUE_REASONS)
        # each reported record: the label it matches (by either of its names), if any
        label_of: dict[int, int] = {}
        for i, rec in enumerate(got):
            for j, label in enumerate(wanted):
                if _record_names(rec) & _names(label):
                    label_of[i] = j
                    break
        record_of: dict[int, Mapping] = {}
        for i, j in label_of.items():
            record_of.setdefault(j, got[i])
        required = [j for j, w in enumerate(wanted) if w["class"] != "ignore"]
        # "reported" means reported as something that counts: a record of class ignore is
        # fine for a labelled ignore recipient and harmless elsewhere, but reports nothing
        counting = [i for i, rec in enumerate(got) if rec.get("class", "") != "ignore"]
        unlabelled = [got[i] for i in range(len(got)) if i not in label_of]
        wrongly_counted = {
            _norm(got[i].get("address"))
            for i in counting
            if i not in label_of or wanted[label_of[i]]["class"] == "ignore"
        }
        counted_right = {
            _norm(got[i].get("address"))
            for i in counting
            if i in label_of and wanted[label_of[i]]["class"] != "ignore"
        }
        s.reported += len(counted_right | wrongly_counted)
        s.reported_correct += len(counted_right)
        s.required += len(required)
        found = [j for j in required if any(label_of.get(i) == j for i in counting)]
        s.required_found += len(found)
        ok = len(found) == len(required) and not wrongly_counted and not unlabelled
        problems = []
        if not ok:
            problems.append(
                f"addresses got={sorted(_norm(got[i].get('address')) for i in counting)} "
                f"want={sorted(_norm(wanted[j]['recipient']) for j in required)}"
            )
        for rec in unlabelled:
            if rec.get("class") in BLOCKING:
                s.wrong_blocks += 1
                problems.append(f"wrong block {rec.get('address')} ({rec.get('class')})")
        for j, label in enumerate(wanted):
            s.labelled += 1
            rec = record_of.get(j)
            addr = _norm(label["recipient"])
            if rec is None:
                if label["class"] == "ignore":
                    s.class_ok += 1
                if label["class"] in BLOCKING:
                    s.missed_blocks += 1
                continue
            if rec.get("status", "") == label["status"]:
                s.status_ok += 1
            else:
                problems.append(f"{addr} status {rec.get('status')!r} want {label['status']!r}")
            if rec.get("class", "") == label["class"]:
                s.class_ok += 1
            else:
                problems.append(f"{addr} class {rec.get('class')!r} want {label['class']!r}")
                if rec.get("class") in BLOCKING and label["class"] not in BLOCKING:
                    s.wrong_blocks += 1
                if label["class"] in BLOCKING and rec.get("class") not in BLOCKING:
                    s.missed_blocks += 1
            if rec.get("reason", "") == label["reason"]:
                s.reason_ok += 1
            else:
                problems.append(f"{addr} reason {rec.get('reason')!r} want {label['reason']!r}")
        if ok:
            s.exact += 1
        if problems:
            s.failures.append(f"{name}: " + "; ".join(problems))
    return s
