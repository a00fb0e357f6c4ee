"""deploy/: the systemd unit verifies clean, the Dockerfile lints clean."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def required_tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=os.path.dirname(sys.executable))
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is needed under CI", pytrace=False)
        pytest.skip(f"{name} is not installed")
    return path


def test_systemd_unit_verifies_clean(tmp_path):
    """`systemd-analyze verify` accepts the unit with no warning (ExecStart pointed at this install)."""
    analyze = required_tool("systemd-analyze")
    bouncewatch = Path(sys.executable).with_name("bouncewatch")
    assert bouncewatch.exists(), "bouncewatch is not installed in this environment"
    unit = (DEPLOY / "bouncewatch.service").read_text()
    assert "Type=notify" in unit and "DynamicUser=yes" in unit and "StateDirectory=bouncewatch" in unit
    copy = tmp_path / "bouncewatch.service"
    copy.write_text(unit.replace("/usr/local/bin/bouncewatch", str(bouncewatch)))
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_dockerfile_lints_clean():
    """hadolint finds nothing to complain about in deploy/Dockerfile."""
    hadolint = required_tool("hadolint")
    result = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _setting_keys(model, prefix: str = "") -> set[str]:
    """Every config key of a settings model, as dotted paths (list tables without an index)."""
    keys = set()
    for name, field in model.model_fields.items():
        if name == "config_dir":
            continue
        path = f"{prefix}{name}"
        annotation = field.annotation
        nested = [a for a in (annotation, *getattr(annotation, "__args__", ())) if hasattr(a, "model_fields")]
        if nested:
            keys |= _setting_keys(nested[0], f"{path}.")
        else:
            keys.add(path)
    return keys


def test_example_config_is_valid_and_complete():
    """deploy/bouncewatch.example.toml passes `check --config-only` and mentions every key."""
    import re

    from bouncewatch.config import Settings

    example = DEPLOY / "bouncewatch.example.toml"
    result = subprocess.run(
        [sys.executable, "-m", "bouncewatch", "check", "--config-only", "-c", str(example)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 0, result.stderr
    mentioned = set()
    section = ""
    for line in example.read_text().splitlines():
        line = line.lstrip("# ").strip()
        header = re.match(r"^\[\[?([a-z_]+)\]\]?$", line)
        if header:
            section = header.group(1)
            continue
        key = re.match(r"^([a-z_0-9]+)\s*=", line)
        if key and section:
            mentioned.add(f"{section}.{key.group(1)}")
    missing = _setting_keys(Settings) - mentioned
    assert not missing, f"keys not in the example config: {sorted(missing)}"
