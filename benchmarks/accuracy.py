"""Accuracy and throughput of bouncewatch's parser vs flufl.bounce alone and Sisimai (Perl).

    python benchmarks/accuracy.py [--corpus DIR] [--repeat N] [--failures | --show-misses]

Scores each parser against DIR/labels.jsonl (see benchmarks/scoring.py for the rules), then
times whole commands parsing the corpus repeated N times: `bouncewatch parse --json` (one
process per CPU, then `--jobs 1`; or an equivalent in-process loop while the CLI does not
exist) against Sisimai, one process, on the same files.
Sisimai's columns are skipped, with a note, when perl or Sisimai is not installed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scoring import Score, load_labels, score  # noqa: E402

from bouncewatch.parse import parse_message  # noqa: E402
from bouncewatch.records import BounceRecord  # noqa: E402
from bouncewatch.rules.classify import classify  # noqa: E402

SISIMAI_SCRIPT = Path(__file__).resolve().parent / "sisimai_json.pl"


def record_dict(rec: BounceRecord) -> dict:
    """A record in the shape `bouncewatch parse --json` prints."""
    return {
        "address": rec.address, "status": rec.status, "reply_code": rec.reply_code,
        "reason": rec.reason, "class": classify(rec).bounce_class.value, "action": rec.action,
        "diagnostic": rec.diagnostic, "final_address": getattr(rec, "final_address", "") or "",
    }


def bouncewatch_results(files: list[Path]) -> dict[str, list[dict]]:
    """File name → recipients, from parse_message + classify (same shape as the CLI)."""
    return {f.name: [record_dict(r) for r in parse_message(f.read_bytes()).records] for f in files}


def flufl_results(files: list[Path]) -> dict[str, list[dict]]:
    """File name → addresses flufl.bounce finds (no status, reason or class)."""
    import email
    import email.policy

    from flufl.bounce import scan_message

    out: dict[str, list[dict]] = {}
    for f in files:
        msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.compat32)
        try:
            found = scan_message(msg)
        except Exception:  # noqa: BLE001 - a crash of the reference counts as nothing found
            found = set()
        out[f.name] = [
            {"address": (a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a)).lower()}
            for a in found
        ]
    return out


def sisimai_available() -> bool:
    """True when perl and the Sisimai module can be loaded."""
    if not shutil.which("perl"):
        return False
    return subprocess.run(["perl", "-MSisimai", "-e1"], capture_output=True).returncode == 0


def sisimai_results(files: list[Path]) -> dict[str, list[dict]]:
    """File name → recipients as Sisimai reads them; class by our own rules from its reason."""
    proc = subprocess.run(
        ["perl", str(SISIMAI_SCRIPT), *map(str, files)], capture_output=True, check=True
    )
    out: dict[str, list[dict]] = {}
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        item = json.loads(line)
        recs = []
        for r in item["recipients"]:
            rec = BounceRecord(
                address=r["address"], status=r["status"], reply_code=r["reply_code"],
                reason=r["reason"], action=r["action"], feedback_type=r["feedback_type"],
            )
            recs.append({**r, "class": classify(rec).bounce_class.value})
        out[Path(item["file"]).name] = recs
    return out


def cli_command() -> list[str] | None:
    """The `bouncewatch parse --json` command line, if the CLI exists and answers."""
    probe = next((ROOT / "tests" / "corpus" / "sisimai").glob("*.eml"), None)
    candidates = [[sys.executable, "-m", "bouncewatch", "parse", "--json"]]
    script = shutil.which("bouncewatch") or str(Path(sys.executable).parent / "bouncewatch")
    if Path(script).exists():
        candidates.append([script, "parse", "--json"])
    for cmd in candidates:
        if probe is None:
            break
        try:
            proc = subprocess.run([*cmd, str(probe)], capture_output=True, cwd=ROOT, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0 and proc.stdout.strip().startswith(b"{"):
            return cmd
    return None


_LOOP = (
    "import sys, json\n"
    "from bouncewatch.parse import parse_message\n"
    "from bouncewatch.rules.classify import classify\n"
    "for path in sys.argv[1:]:\n"
    "    recs = parse_message(open(path, 'rb').read()).records\n"
    "    print(json.dumps({'file': path, 'recipients': [{'address': r.address, 'status': r.status,"
    " 'reason': r.reason, 'class': classify(r).bounce_class.value} for r in recs]}))\n"
)


def timed(cmd: list[str]) -> float:
    """Wall-clock seconds of one whole process."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def repeated_files(files: list[Path], repeat: int, tmp: Path) -> list[str]:
    """The corpus copied ``repeat`` times (distinct paths, so nothing is cached by name)."""
    paths = []
    for i in range(repeat):
        d = tmp / f"r{i}"
        d.mkdir()
        for f in files:
            target = d / f.name
            target.write_bytes(f.read_bytes())
            paths.append(str(target))
    return paths


def row(name: str, s: Score | None, with_fields: bool = True) -> str:
    if s is None:
        return f"{name:<14}" + "   n/a" * 6
    figures = s.as_dict()
    cells = [figures["recipients_exact"], figures["precision"], figures["recall"]]
    cells += [figures["status"], figures["class"], figures["reason"]] if with_fields else []
    text = "".join(f"{c:>10.1f}" for c in cells)
    if not with_fields:
        return f"{name:<14}{text}" + "         -" * 6
    return (
        f"{name:<14}{text}{s.wrong_blocks:>8d}{s.missed_blocks:>8d}"
        f"{figures['onhold_undefined']:>9.1f}%"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "tests" / "corpus" / "sisimai")
    ap.add_argument("--repeat", type=int, default=10, help="copies of the corpus for throughput")
    ap.add_argument("--failures", "--show-misses", dest="failures", action="store_true",
                    help="list bouncewatch's wrong answers, per file")
    args = ap.parse_args()

    labels = load_labels(args.corpus)
    files = [args.corpus / name for name in sorted(labels)]
    ours = score(bouncewatch_results(files), labels)
    flufl = score(flufl_results(files), labels)
    have_sisimai = sisimai_available()
    sisimai = score(sisimai_results(files), labels) if have_sisimai else None

    print(f"corpus: {args.corpus} ({len(files)} files)")
    print(
        f"{'parser':<14}{'exact%':>10}{'precision':>10}{'recall':>10}{'status%':>10}{'class%':>10}"
        f"{'reason%':>10}{'wrong':>8}{'missed':>8}{'vague':>10}"
    )
    print(row("bouncewatch", ours))
    print(row("flufl.bounce", flufl, with_fields=False))
    print(row("sisimai", sisimai) if have_sisimai else "sisimai       (skipped: perl or libsisimai-perl not installed)")
    print("(wrong / missed: wrong and missed blocks; vague: share of records with reason onhold or undefined)")
    if args.failures:
        print("\nbouncewatch failures:")
        for line in ours.failures:
            print("  " + line)

    with tempfile.TemporaryDirectory() as tmp:
        paths = repeated_files(files, args.repeat, Path(tmp))
        cmd = cli_command()
        label = "bouncewatch parse --json" if cmd else "in-process loop (CLI not available)"
        cmd = [*(cmd or [sys.executable, "-c", _LOOP])]
        ours_s = timed([*cmd, *paths])
        # the same files in one process: the parser's own speed, CPU for CPU
        single_s = timed([*cmd, "--jobs", "1", *paths]) if "parse" in cmd else ours_s
        print(f"\nthroughput over {len(paths)} emails, one command each:")
        print(f"  bouncewatch ({label}, one process per CPU): {ours_s:6.2f} s  {len(paths) / ours_s:8.0f} emails/s")
        print(f"  bouncewatch ({label} --jobs 1):{'':14}{single_s:6.2f} s  {len(paths) / single_s:8.0f} emails/s")
        if have_sisimai:
            sis_s = timed(["perl", str(SISIMAI_SCRIPT), *paths])
            print(f"  sisimai ({_sisimai_version()}, one process):{'':20}{sis_s:6.2f} s  {len(paths) / sis_s:8.0f} emails/s")
            print(f"  ratio bouncewatch/sisimai: {sis_s / ours_s:.2f}x ({sis_s / single_s:.2f}x with --jobs 1)")
            print("  (Sisimai's time moves by up to 40% with Perl's hash seed, PERL_HASH_SEED: compare medians)")


def _sisimai_version() -> str:
    proc = subprocess.run(["perl", "-MSisimai", "-e", "print Sisimai->version"], capture_output=True)
    return proc.stdout.decode().strip() or "?"


if __name__ == "__main__":
    main()
