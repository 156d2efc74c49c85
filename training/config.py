"""Typed, frozen training configuration read from TOML (`training/configs/*.toml`).

Unknown keys are errors, not silent defaults; `--set model.C=8` style overrides go through the same
validation. The resolved config is saved inside every artifact.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    model_validator,
)

__all__ = [
    "ConfigError",
    "DataSettings",
    "ModelSettings",
    "TrainConfig",
    "load_config",
]


class ConfigError(ValueError):
    """A training config file or override is invalid."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataSettings(_Frozen):
    """Where the labelled data is. Either fixed `train`/`validation`(/`test`) files, or one `path`
    that is deduplicated and split (stratified, near-duplicates kept together)."""

    train: str | None = None
    validation: str | None = None
    test: str | None = None
    path: str | None = None
    format: str = "auto"
    validation_fraction: float = Field(default=0.1, gt=0, lt=0.5)
    test_fraction: float = Field(default=0.1, gt=0, lt=0.5)
    neutral_label: str = "neutral"
    include_weak: bool = Field(
        default=False, description="train on rows flagged weak (proxy labels)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> DataSettings:
        if (self.path is None) == (self.train is None):
            raise ValueError(
                "give either data.train (with optional data.validation and data.test) or data.path "
                "(one file that is split automatically), not both and not neither"
            )
        return self


class ProfileSettings(_Frozen):
    """Election profiles whose contestants are masked to role tokens (files or directories)."""

    paths: tuple[str, ...] = ()
    mask: bool = True


class ThresholdSettings(_Frozen):
    precision_target: float = Field(default=0.90, gt=0, le=1)
    review_recall: float = Field(default=0.95, gt=0, le=1)


class ModelSettings(_Frozen):
    """The `[model]` table: `kind` names the backend; each kind's recipe defines the rest
    (training/recipes/<kind>.py), and the recipe registry picks the type when a config is read."""

    kind: str


def _model_settings(raw: Any) -> ModelSettings:
    """Validate a `[model]` table with the settings type of its kind's recipe (TF-IDF if none)."""
    from netralitas.training.recipes import recipe_for

    if isinstance(raw, ModelSettings):
        return raw
    if not isinstance(raw, dict):
        raise ValueError(f"[model] must be a table, found {type(raw).__name__}")
    kind = raw.get("kind", "tfidf")
    if not isinstance(kind, str):
        raise ValueError(f"model.kind must be a string, found {kind!r}")
    return recipe_for(kind).settings_type.model_validate({**raw, "kind": kind})


class TrainConfig(_Frozen):
    name: str = "netralitas"
    version: str | None = Field(default=None, description="defaults to the creation date")
    output_dir: str = "artifacts/default"
    seed: int = 13
    data: DataSettings
    profiles: ProfileSettings = ProfileSettings()
    thresholds: ThresholdSettings = ThresholdSettings()
    # `kind` selects the backend; a [model] table without it means the default, TF-IDF.
    model: Annotated[SerializeAsAny[ModelSettings], BeforeValidator(_model_settings)] = Field(
        default_factory=lambda: _model_settings({})
    )


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word: treat it as a string


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `key.sub=value` overrides (values in TOML syntax; bare words are strings)."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} must look like key=value, e.g. model.C=8.0")
        node = raw
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a table")
        node[leaf] = _parse_value(value.strip())
    return raw


def with_data_file(raw: dict[str, Any], data_file: str | Path) -> dict[str, Any]:
    """`raw` reading one labelled file, split automatically (`data.path`), instead of its own
    data files; the other `[data]` settings (format, fractions, neutral label) are kept."""
    sources = ("train", "validation", "test", "path")
    data = {k: v for k, v in raw.get("data", {}).items() if k not in sources}
    return {**raw, "data": {**data, "path": str(data_file)}}


def load_config(
    path: str | Path, overrides: list[str] | None = None, data_file: str | Path | None = None
) -> TrainConfig:
    """Read a TOML config, apply overrides, validate; errors name the file and the key.

    `data_file` (the `--data FILE` of `netralitas train`) replaces the config's data files by one
    labelled file that is deduplicated and split (the common case of a team with one export).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config {path} does not exist; try training/configs/baseline.toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    raw = apply_overrides(raw, overrides or [])
    if data_file is not None:
        raw = with_data_file(raw, data_file)
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "\n  ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (found {e.get('input')!r})"
            for e in exc.errors()
        )
        raise ConfigError(f"{path}: invalid training config:\n  {problems}") from exc
