"""Typed, frozen training configuration read from TOML (`training/configs/*.toml`).

Unknown keys are errors, not silent defaults; `--set model.C=8` style overrides go through the same
validation. The resolved config is saved inside every artifact.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "ConfigError",
    "DataSettings",
    "TfidfSettings",
    "TrainConfig",
    "TransformerSettings",
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


class TfidfSettings(_Frozen):
    """TF-IDF baseline. A list for `C` means: pick the value with the best validation macro-F1."""

    kind: Literal["tfidf"] = "tfidf"
    word_ngram_range: tuple[int, int] = (1, 2)
    char_ngram_range: tuple[int, int] = (2, 5)
    min_df: int = Field(default=1, ge=1)
    max_char_features: int = Field(default=300_000, ge=1000)
    C: float | tuple[float, ...] = (1.0, 4.0, 16.0)
    stem: bool = True
    use_context: bool = True
    max_iter: int = Field(default=3000, ge=100)


class TransformerSettings(_Frozen):
    """Fine-tuning a BERT-family checkpoint (IndoBERT by default) with `transformers.Trainer`.

    `base_model` is a hub id or a local directory; a hub id must be cached or reachable (see
    README, "Fine-tuning IndoBERT"). `batch_size` is per device: the effective batch is
    `batch_size * gradient_accumulation_steps * number of devices`.
    """

    kind: Literal["transformer"] = "transformer"
    base_model: str = Field(default="indobenchmark/indobert-base-p1", min_length=1)
    # IndoBERT's tokenizer config sets no maximum length, so it must be explicit.
    max_length: int = Field(default=128, ge=16, le=4096)
    use_context: bool = True
    epochs: float = Field(default=4.0, gt=0)
    batch_size: int = Field(default=16, ge=1)
    eval_batch_size: int = Field(default=64, ge=1)
    learning_rate: float = Field(default=3e-5, gt=0, lt=1)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    weight_decay: float = Field(default=0.01, ge=0)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    early_stopping_patience: int | None = Field(
        default=2, ge=1, description="evaluations without a better macro-F1 before stopping"
    )
    class_weights: bool = Field(default=True, description="weight the loss by inverse class share")
    eval_steps: int | None = Field(
        default=None,
        ge=1,
        description="evaluate and save every N optimizer steps; None: each epoch",
    )
    save_total_limit: int = Field(default=2, ge=1)
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        default="auto",
        description="auto: bf16 on CUDA that supports it, else fp16 on CUDA, else fp32",
    )
    resume_from_checkpoint: bool | str = Field(
        default=False, description="true: the latest checkpoint in checkpoint_dir; or a path"
    )
    checkpoint_dir: str | None = Field(
        default=None, description="Trainer checkpoints; default: <output_dir>-checkpoints"
    )
    keep_checkpoints: bool = Field(
        default=False, description="keep checkpoint_dir after a successful run (for resuming)"
    )
    logging_steps: int = Field(default=50, ge=1)
    calibrate: bool = Field(default=True, description="temperature scaling on validation")
    hub_timeout: float = Field(
        default=10.0, gt=0, description="seconds to wait for the hub when base_model is not cached"
    )
    dataloader_num_workers: int = Field(default=0, ge=0)


ModelSettings = Annotated[TfidfSettings | TransformerSettings, Field(discriminator="kind")]


class TrainConfig(_Frozen):
    name: str = "netralitas"
    version: str | None = Field(default=None, description="defaults to the creation date")
    output_dir: str = "artifacts/default"
    seed: int = 13
    data: DataSettings
    profiles: ProfileSettings = ProfileSettings()
    thresholds: ThresholdSettings = ThresholdSettings()
    model: ModelSettings = TfidfSettings()

    @model_validator(mode="before")
    @classmethod
    def _default_kind(cls, raw: Any) -> Any:
        # `kind` selects the backend; a [model] table without it means the default, TF-IDF.
        if (
            isinstance(raw, dict)
            and isinstance(raw.get("model"), dict)
            and "kind" not in raw["model"]
        ):
            raw = {**raw, "model": {**raw["model"], "kind": "tfidf"}}
        return raw


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


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a TOML config, apply overrides, validate; errors name the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config {path} does not exist; try training/configs/baseline.toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    raw = apply_overrides(raw, overrides or [])
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "\n  ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (found {e.get('input')!r})"
            for e in exc.errors()
        )
        raise ConfigError(f"{path}: invalid training config:\n  {problems}") from exc
