"""Smoke runs of the benchmarks, so they cannot rot (figures are printed, never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_pipeline_benchmark_smoke(db, request):
    """benchmarks/pipeline.py runs end to end at N = 200 and leaves nothing in the INBOX."""
    if db == "postgresql":
        request.getfixturevalue("postgres_url")
    output = run("pipeline.py", "--n", "200", "--db", db)
    row = [line for line in output.splitlines() if line.startswith(db)]
    assert row and row[0].split()[1] == "200"


def test_pipeline_benchmark_state_smoke():
    """benchmarks/pipeline.py --state runs end to end at toy sizes: state against empty, publish, two years."""
    output = run("pipeline.py", "--n", "30", "--db", "sqlite", "--state", "200", "1000", "--publish-rows", "100",
                 "--days", "3", "--per-day", "40", "--pool", "50")
    assert "with state / empty:" in output
    assert [line.split()[0] for line in output.splitlines() if line.startswith("     ") and "/" in line][:4] == [
        "text", "csv", "json", "postfix"]
    assert "3 days:" in output and "a prune of one year of events" in output


@pytest.mark.slow
def test_hostile_http_benchmark_smoke():
    """benchmarks/hostile_http.py runs its four scenarios against a real daemon and reports /healthz under each."""
    output = run("hostile_http.py", "--seconds", "1", "--slow", "20", "--flood", "10")
    lines = output.splitlines()
    assert len(lines) == 4 and all("/healthz: median" in line for line in lines[:3]), output
    assert "passwords checked" in lines[3]
