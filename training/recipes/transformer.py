"""Training the transformer backend: fine-tuning (training/finetune.py), then the accuracy guard
of the fast inference path (training/guard.py). Cross-fitted, the shipped model is fine-tuned on
all the training data for as many epochs as the fold models kept (`settle`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from netralitas.training.config import ModelSettings
from netralitas.training.recipes import FitJob, Fitted, Log, Recipe
from netralitas.training.tracking import check_report_to, report_to_setting

__all__ = ["TransformerRecipe", "TransformerSettings"]


class TransformerSettings(ModelSettings):
    """Fine-tuning a BERT-family checkpoint (IndoBERT by default) with `transformers.Trainer`.

    `base_model` is a name that `netralitas base-model` builds (multilingual-e5-small), a hub id
    or a local directory; a hub id must be cached or reachable (see README, "Fine-tuning
    IndoBERT"). `batch_size` is per device: the effective batch is
    `batch_size * gradient_accumulation_steps * number of devices`.

    How the encoder reads a post (`text_view`, `prefix`) and which head classifies it (`pooling`)
    are stored in the artifact, so scoring reads posts exactly as training did (see
    model/backends/transformer/classifier.py). The defaults are IndoBERT's: normalised text with
    role tokens, no prefix, the [CLS] head. For multilingual-e5: `pooling = "mean"`,
    `prefix = "query: "`, `text_view = "raw"` (training/configs/e5-finetune.toml).
    """

    kind: Literal["transformer"] = "transformer"
    base_model: str = Field(default="indobenchmark/indobert-base-p1", min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "calibrate" in data:
            raise ValueError(
                "model.calibrate was removed: train() now calibrates every backend on the scores "
                "the thresholds are chosen on; set thresholds.calibration to auto, temperature, "
                'isotonic or none instead (e.g. calibration = "none" for calibrate = false)'
            )
        return data

    # IndoBERT's tokenizer config sets no maximum length, so it must be explicit.
    max_length: int = Field(default=128, ge=16, le=4096)
    use_context: bool = True
    pooling: Literal["cls", "mean"] = Field(
        default="cls",
        description="cls: [CLS] through the pooler (AutoModelForSequenceClassification); mean: "
        "the mean of the last hidden states over the attention mask (how e5 was trained)",
    )
    prefix: str = Field(
        default="", description='prepended to each post (not its context); e5: "query: "'
    )
    text_view: Literal["normalized", "raw"] = Field(
        default="normalized",
        description="normalized: the TF-IDF normaliser (lower case, slang, role tokens added to "
        "the tokenizer; contestants masked when profiles.mask is on); raw: the post as written, "
        "tidied (NFC, whitespace), for a pretrained encoder; profiles.mask is not applied",
    )
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
    hub_timeout: float = Field(
        default=10.0, gt=0, description="seconds to wait for the hub when base_model is not cached"
    )
    dataloader_num_workers: int = Field(default=0, ge=0)
    report_to: tuple[str, ...] = Field(
        default=(),
        description='experiment tracking, passed to TrainingArguments: "none", "all" (every '
        'integration installed) or a list such as ["tensorboard", "mlflow"] (training/tracking.py)',
    )

    @field_validator("report_to", mode="before")
    @classmethod
    def _report_to(cls, value: Any) -> tuple[str, ...]:
        return report_to_setting(value)


class TransformerRecipe(Recipe):
    settings_type = TransformerSettings

    def check(self, settings: ModelSettings, log: Log) -> None:
        """An unreachable base model stops training before any data is read."""
        from netralitas.training.base_model import resolve_base_model

        assert isinstance(settings, TransformerSettings)
        resolve_base_model(settings.base_model, timeout=settings.hub_timeout, log=log)
        check_report_to(
            settings.report_to,
            settings.keep_checkpoints,
            settings.checkpoint_dir or "<output_dir>-checkpoints",
        )

    def fit(self, job: FitJob) -> Fitted:
        from netralitas.training.finetune import finetune  # loads transformers-only code

        assert isinstance(job.settings, TransformerSettings)
        model, report = finetune(
            job.settings, job.config, job.profiles, job.train, job.validation, job.log
        )
        return Fitted(model, report={"finetune": report})

    def settle(
        self, settings: ModelSettings, reports: Sequence[dict[str, Any]]
    ) -> ModelSettings | None:
        """As many epochs as the fold models kept (their median), without early stopping."""
        epochs = float(np.median([r["finetune"]["epoch"] for r in reports]))
        assert isinstance(settings, TransformerSettings)
        return settings.model_copy(
            update={"epochs": max(epochs, 0.5), "early_stopping_patience": None}
        )

    def finish(self, fitted: Fitted, job: FitJob, validation_proba: np.ndarray) -> None:
        """May "auto" score with int8, or bf16? (README "Fast scoring")."""
        from netralitas.training.guard import choose_fast_path

        choose_fast_path(
            fitted.model,
            [r.text for r in job.validation],
            [r.context for r in job.validation],
            validation_proba,
            job.log,
        )
