"""The sdist and wheel build, install in a fresh virtual environment and run."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv_and_runs(tmp_path):
    """`python -m build` makes an sdist and a wheel; the wheel installs and `bouncewatch --version` works."""
    pytest.importorskip("build", reason="the 'build' package is in the test extra")
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = list(dist.glob("bouncewatch-*.whl"))
    assert len(wheels) == 1 and len(list(dist.glob("bouncewatch-*.tar.gz"))) == 1
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)  # this pip installs into it (--python): no ensurepip run
    python = env_dir / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile", str(wheels[0])],
        capture_output=True, text=True,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    from bouncewatch import __version__

    version = subprocess.run([str(env_dir / "bin" / "bouncewatch"), "--version"], capture_output=True, text=True)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"bouncewatch, version {__version__}"
    templates = subprocess.run(
        [str(python), "-c", "import bouncewatch.web.console, pathlib; print(sorted(p.name for p in (pathlib.Path(bouncewatch.web.console.__file__).parent / 'templates').iterdir()))"],
        capture_output=True,
        text=True,
    )
    assert "base.html" in templates.stdout, templates.stderr  # package data travels with the wheel
