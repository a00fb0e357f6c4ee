"""Longer fuzz run of parse_message: prints cases, crashes and the slowest case.

A crash is an exception that escapes, or one parse_message caught and left as a note
("parser error: ...", "detector NAME failed: ...").

    python benchmarks/fuzz.py [--cases N] [--seed S]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_parse_fuzz import cases, crash_notes  # noqa: E402

from bouncewatch.parse import parse_message  # noqa: E402
from bouncewatch.records import ParsedMessage  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    crashes = 0
    slowest = 0.0
    start = time.perf_counter()
    for raw in cases(args.cases, args.seed):
        t0 = time.perf_counter()
        try:
            result = parse_message(raw)
            notes = crash_notes(result) if isinstance(result, ParsedMessage) else ["not a ParsedMessage"]
            if notes:
                crashes += 1
                print(f"crash: {', '.join(notes)} (input starts {raw[:60]!r})")
        except Exception as exc:  # noqa: BLE001 - counting crashes is the point
            crashes += 1
            print(f"crash: {type(exc).__name__}: {exc}")
        slowest = max(slowest, time.perf_counter() - t0)
    total = time.perf_counter() - start
    print(f"cases={args.cases} crashes={crashes} seconds={total:.1f} slowest_case={slowest * 1000:.1f} ms")


if __name__ == "__main__":
    main()
