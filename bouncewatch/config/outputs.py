"""Settings for publishing: `[[outputs]]` (blocklist files in several formats) and `[verp]`.

Kept apart from config/__init__.py so the sections about publishing live together; config.Settings
includes them and calls `check_publishing` once the config directory is known.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from . import Settings

MIN_KEY_BYTES = 16
OutputFormat = Literal["text", "csv", "json", "postfix"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class OutputSettings(_Section):
    """One published file: `[[outputs]]`."""

    path: Path
    format: OutputFormat = "text"
    mode: int = 0o644  # "0640" (octal string) or an integer
    command: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = None
    # Refuse (without --force) to drop more than this fraction of the addresses in one write.
    max_shrink: Annotated[float, Field(ge=0, le=1)] = 0.5

    @field_validator("mode", mode="before")
    @classmethod
    def _octal(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                value = int(value, 8)
            except ValueError:
                raise ValueError(f"{value!r} is not an octal file mode such as \"0644\"") from None
        if isinstance(value, int) and not 0 <= value <= 0o7777:
            raise ValueError(f"{value:o} is not a file mode (0 to 7777 octal)")
        return value


class VerpSettings(_Section):
    """Signed VERP return paths: `[verp]` (see publish/verp_sign.py for the algorithm)."""

    key_file: Path | None = None
    old_key_files: list[Path] = Field(default_factory=list)  # still accepted when verifying
    domain: str = ""
    local_part: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")] = "bounces"
    max_age_days: Annotated[int, Field(ge=1, le=3650)] = 30
    require_signature: bool = False

    @model_validator(mode="after")
    def _check(self) -> VerpSettings:
        if self.require_signature and self.key_file is None:
            raise ValueError("key_file: required when require_signature = true")
        if self.key_file is not None and not self.domain:
            raise ValueError("domain: required with key_file (the domain of the return path)")
        if self.domain and ("@" in self.domain or not self.domain.strip(".")):
            raise ValueError(f"domain: {self.domain!r} is not a domain")
        return self


def resolve(settings: Settings, path: Path) -> Path:
    """A path from the config file: relative paths are relative to the file's directory."""
    return path if path.is_absolute() else settings.config_dir / path


def check_publishing(settings: Settings) -> None:
    """Cross-checks that need the config directory; raise ValueError("key: message")."""
    seen: dict[Path, int] = {}
    for index, output in enumerate(settings.outputs):
        path = resolve(settings, output.path)
        if path in seen:
            raise ValueError(f"outputs[{index}].path: {path} is also outputs[{seen[path]}].path")
        seen[path] = index
        try:
            is_dir = path.is_dir()
        except (OSError, ValueError) as exc:  # a NUL in the name, a name too long
            raise ValueError(f"outputs[{index}].path: {str(path)[:200]!r} cannot be a file ({exc})") from None
        if is_dir:
            raise ValueError(f"outputs[{index}].path: {path} is a directory")
    verp = settings.verp
    files = [("key_file", verp.key_file)] if verp.key_file else []
    files += [(f"old_key_files[{i}]", p) for i, p in enumerate(verp.old_key_files)]
    for key, path in files:
        full = resolve(settings, path)
        try:
            size = len(full.read_bytes().strip())
        except OSError as exc:
            raise ValueError(f"verp.{key}: cannot read {str(full)[:200]}: {exc.strerror}") from None
        except ValueError:  # a NUL in the name
            raise ValueError(f"verp.{key}: {str(full)[:200]!r} is not a file name") from None
        if size < MIN_KEY_BYTES:
            raise ValueError(
                f"verp.{key}: {full} holds {size} bytes; a key needs at least {MIN_KEY_BYTES} "
                "(e.g. head -c 32 /dev/urandom | base64 > FILE)"
            )
