"""Typed, frozen training configuration read from TOML (`training/configs/*.toml`).

Unknown keys are errors, not silent defaults; `--set model.C=8` style overrides go through the same
validation. The resolved config is saved inside every artifact.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    model_validator,
)

from netralitas.data.columns import ColumnMap, ReadOptions
from netralitas.data.labels import MIN_LABEL_COUNT

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


def _files(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


# One file, or a list of files read together (rows without a `source` get their file's path).
Files = Annotated[tuple[str, ...], BeforeValidator(_files), Field(min_length=1)]


class DataSettings(_Frozen):
    """Where the labelled data is, and how to read it. Either fixed `train` (one file or several)
    and `validation`(/`test`) files, or `path` (one file or several) that is deduplicated and
    split (stratified, near-duplicates kept together).

    `columns` and `label_map` say which column is what and what the label values mean, the same
    for every file (a file in the record schema, such as a feedback export, is read with the
    schema's own names when the named columns are missing):

        [data]
        path = ["export.csv", "reviewed.jsonl"]
        columns = { text = "tweet", label = "kelas" }
        label_map = { dukung = "supportive", netral = "neutral" }
    """

    train: Files | None = None
    validation: str | None = None
    test: str | None = None
    path: Files | None = None
    format: str = "auto"
    columns: ColumnMap = ColumnMap()
    label_map: dict[str, str] = Field(
        default_factory=dict, description="label value in the file -> label; VALUE = '' drops rows"
    )
    min_label_count: int = Field(
        default=MIN_LABEL_COUNT, ge=1, description="fewer training rows of a label is an error"
    )
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
        try:
            self.read_options()
        except ValidationError as exc:  # e.g. an empty label_map key
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from exc
        return self

    def read_options(self) -> ReadOptions:
        """How every data file of this config is read."""
        return ReadOptions(format=self.format, columns=self.columns, label_map=self.label_map)


class ProfileSettings(_Frozen):
    """Election profiles whose contestants are masked to role tokens (files or directories)."""

    paths: tuple[str, ...] = ()
    mask: bool = True


class ThresholdSettings(_Frozen):
    """How calibration and the decision thresholds are chosen (training/thresholds.py).

    `method` "cross-fit": on the out-of-fold scores of all the training data (`folds` fold
    models), then the shipped model is fitted on everything; costs `folds` extra fits.
    "validation": on the validation split alone (one fit; for slow fine-tunes on a CPU).
    """

    precision_target: float = Field(default=0.90, gt=0, le=1)
    review_recall: float = Field(default=0.95, gt=0, le=1)
    review_min_share: float = Field(
        default=0.05, ge=0, lt=1, description="the review band holds at least this share of posts"
    )
    method: Literal["cross-fit", "validation"] = "cross-fit"
    folds: int = Field(default=5, ge=2, le=20)
    calibration: Literal["auto", "temperature", "isotonic", "none"] = Field(
        default="auto", description="auto: the map with the lowest held-out log-loss"
    )


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

    @model_validator(mode="after")
    def _resume_one_run(self) -> TrainConfig:
        # Fold models and the shipped one would all resume from the same checkpoints.
        if getattr(self.model, "resume_from_checkpoint", False) and (
            self.thresholds.method == "cross-fit"
        ):
            raise ValueError(
                "model.resume_from_checkpoint resumes one fine-tune, but thresholds.method = "
                '"cross-fit" runs several; set thresholds.method = "validation" to resume'
            )
        return self


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


def with_data_file(
    raw: dict[str, Any], data_file: str | Path | Sequence[str | Path]
) -> dict[str, Any]:
    """`raw` reading one labelled file (or several together), split automatically (`data.path`),
    instead of its own data files; the other `[data]` settings (format, columns, label map,
    fractions, neutral label) are kept."""
    sources = ("train", "validation", "test", "path")
    data = {k: v for k, v in raw.get("data", {}).items() if k not in sources}
    files = [data_file] if isinstance(data_file, str | Path) else list(data_file)
    return {**raw, "data": {**data, "path": [str(f) for f in files]}}


def with_data_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`raw` with `[data]` keys set from the command line: `columns` and `label_map` are merged
    key by key into the config's (the command line wins), other keys replaced."""
    data = dict(raw.get("data", {}))
    for key, value in overrides.items():
        if key in ("columns", "label_map") and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return {**raw, "data": data}


def load_config(
    path: str | Path,
    overrides: list[str] | None = None,
    data_file: str | Path | Sequence[str | Path] | None = None,
    data_overrides: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """Read a TOML config, apply overrides, validate; errors name the file and the key.

    `data_file` (the `--data FILE ...` of `netralitas train`) replaces the config's data files by
    one labelled file, or several read together, that is deduplicated and split (the common case
    of a team with one export). `data_overrides` sets `[data]` keys from the reading flags
    (`--text-column`, `--map`, ...: see `with_data_overrides`).
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
    if data_overrides:
        raw = with_data_overrides(raw, data_overrides)
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "\n  ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (found {e.get('input')!r})"
            for e in exc.errors()
        )
        raise ConfigError(f"{path}: invalid training config:\n  {problems}") from exc
