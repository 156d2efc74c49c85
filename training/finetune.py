"""Fine-tuning a BERT-family checkpoint (IndoBERT by default) with `transformers.Trainer`.

What this adds to the Trainer: the project's reading of a post (text view, prefix, role tokens,
through `TransformerClassifier.encode`, the same code that scores), the chosen head ([CLS] or mean
pooling, model/backends/transformer/heads.py), a class-weighted loss, and early stopping
on validation macro-F1 with the best checkpoint restored; without a validation split (the
shipped model of a cross-fitted run) a fixed number of epochs. Calibration, thresholds, metrics
and saving are then done by `train()` exactly as for every backend. Runs on a CPU, one GPU, or several through `accelerate launch` / `torchrun` (the Trainer
handles the distribution; see README, "Fine-tuning IndoBERT").
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from netralitas.data.records import DataError
from netralitas.evaluation.metrics import macro_f1
from netralitas.model.backends.transformer.classifier import TransformerClassifier
from netralitas.model.backends.transformer.hf_loading import load_for_finetuning
from netralitas.model.records import Record
from netralitas.model.text.profiles import ElectionProfile
from netralitas.training.base_model import resolve_base_model
from netralitas.training.config import ConfigError, TrainConfig

if TYPE_CHECKING:  # the recipe imports this module when it fits
    from netralitas.training.recipes.transformer import TransformerSettings

__all__ = ["WeightedLoss", "balanced_class_weights", "finetune"]

Log = Callable[[str], None]


def balanced_class_weights(y: np.ndarray, n_labels: int) -> np.ndarray:
    """n / (k * count_c), as scikit-learn's class_weight="balanced": rare classes weigh more."""
    counts = np.bincount(y, minlength=n_labels).astype(np.float64)
    return len(y) / (n_labels * np.maximum(counts, 1.0))


class WeightedLoss:
    """Class-weighted cross-entropy for `Trainer(compute_loss_func=...)`.

    Summed over rows and divided by `num_items_in_batch` (the rows of the whole accumulated batch,
    across devices), so gradient accumulation and multi-GPU runs give the same loss as one big
    batch; the Trainer knows a `compute_loss_func` loss is already scaled this way.
    """

    def __init__(self, weights: np.ndarray) -> None:
        import torch

        self.weights = torch.as_tensor(weights, dtype=torch.float32)

    def __call__(self, outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        import torch.nn.functional as F

        logits = outputs["logits"]  # (batch, n_labels)
        per_row = F.cross_entropy(  # (batch,): weight[y] * -log p(y)
            logits.float(), labels, weight=self.weights.to(logits.device), reduction="none"
        )
        if num_items_in_batch is None:
            return per_row.mean()
        return per_row.sum() / num_items_in_batch


def _label_codes(records: Sequence[Record], labels: tuple[str, ...], split: str) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({r.label for r in records if r.label not in index}, key=str)
    if unknown:
        raise DataError(
            f"the {split} split has labels {unknown} that never occur in the training split "
            f"({list(labels)}); the model cannot learn them: relabel or move rows"
        )
    return np.array([index[r.label] for r in records], dtype=np.int64)


def _dataset(model: TransformerClassifier, records: Sequence[Record], y: np.ndarray, log: Log):
    """A list of feature dicts with `labels`: a map-style dataset the Trainer can sample."""
    features, cut = model.encode([r.text for r in records], [r.context for r in records])
    if cut.any():
        log(f"  {int(cut.sum())} of {len(cut)} rows truncated to max_length={model.max_length}")
    return [{**f, "labels": int(label)} for f, label in zip(features, y, strict=True)]


def _precision_flags(precision: str) -> dict[str, bool]:
    import torch

    cuda = torch.cuda.is_available()
    if precision in ("bf16", "fp16") and not cuda:
        raise ConfigError(f"model.precision = {precision!r} needs a CUDA GPU; use 'auto' or 'fp32'")
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def _checkpoint_folder(settings: TransformerSettings, config: TrainConfig) -> Path:
    """The Trainer's checkpoint folder; a resume request must find something to resume from."""
    folder = Path(settings.checkpoint_dir or f"{config.output_dir.rstrip('/')}-checkpoints")
    resume = settings.resume_from_checkpoint
    if resume is True and not list(folder.glob("checkpoint-*")):
        raise ConfigError(
            f"model.resume_from_checkpoint = true but {folder} holds no checkpoint-* folder; "
            "set it to false to start afresh, or to the path of a checkpoint"
        )
    if isinstance(resume, str) and not Path(resume).is_dir():
        raise ConfigError(f"model.resume_from_checkpoint: {resume} is not a directory")
    return folder


def _remove_stale_checkpoints(folder: Path, log: Log) -> None:
    """A fresh run must not mix its checkpoints with an earlier run's (rotation, best model)."""
    stale = sorted(folder.glob("checkpoint-*"))
    if stale and os.environ.get("RANK", "0") == "0":
        log(f"  removing {len(stale)} checkpoint(s) of an earlier run from {folder}")
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)


def _training_arguments(
    settings: TransformerSettings, config: TrainConfig, folder: Path, validate: bool
) -> Any:
    import torch
    from transformers import TrainingArguments

    strategy = ("steps" if settings.eval_steps else "epoch") if validate else "no"
    return TrainingArguments(
        output_dir=str(folder),
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.eval_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        warmup_steps=settings.warmup_ratio,  # a float in [0, 1) is a share of the total steps
        eval_strategy=strategy,
        save_strategy=strategy,
        eval_steps=settings.eval_steps,
        save_steps=settings.eval_steps,
        save_total_limit=settings.save_total_limit,
        load_best_model_at_end=validate,
        metric_for_best_model="macro_f1",
        greater_is_better=True,
        logging_strategy="steps",
        logging_steps=settings.logging_steps,
        logging_first_step=True,
        seed=config.seed,
        data_seed=config.seed,
        dataloader_num_workers=settings.dataloader_num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),  # pinning without a GPU only warns
        report_to=list(settings.report_to),  # [] none, ["all"], or names (training/tracking.py)
        disable_tqdm=False,
        # BERT-family classifiers use every parameter in each step; searching DDP for unused
        # ones costs an extra pass over the graph per step.
        ddp_find_unused_parameters=False,
        **_precision_flags(settings.precision),
    )


def _callbacks(settings: TransformerSettings, log: Log, validate: bool) -> list[Any]:
    from transformers import EarlyStoppingCallback, TrainerCallback

    class Report(TrainerCallback):
        """Each evaluation as one line in the training log."""

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if state.is_world_process_zero and metrics:
                log(
                    f"  epoch {state.epoch:.2f} (step {state.global_step}): validation "
                    f"macro-F1 {metrics.get('eval_macro_f1', float('nan')):.3f}, "
                    f"loss {metrics.get('eval_loss', float('nan')):.4f}"
                )

    callbacks: list[Any] = [Report()]
    if settings.early_stopping_patience and validate:
        callbacks.append(EarlyStoppingCallback(settings.early_stopping_patience))
    return callbacks


def _new_model(
    settings: TransformerSettings,
    config: TrainConfig,
    profiles: tuple[ElectionProfile, ...],
    labels: tuple[str, ...],
    log: Log,
) -> TransformerClassifier:
    """The base checkpoint with a new head for `labels` and the role tokens, ready to train."""
    from transformers import set_seed

    resolved = resolve_base_model(settings.base_model, timeout=settings.hub_timeout, log=log)
    log(
        f"base model {settings.base_model} from {resolved.path}: {settings.pooling} pooling, "
        f"{settings.text_view} text, prefix {settings.prefix!r}"
    )
    if settings.text_view == "raw" and config.profiles.mask:
        log("  profiles.mask is not applied: text_view 'raw' reads names as written")
    set_seed(config.seed)  # the new head and any new embedding rows are drawn from this seed
    tokenizer, network, added = load_for_finetuning(
        resolved.path,
        labels,
        pooling=settings.pooling,
        role_tokens=settings.text_view == "normalized",
    )
    if added:
        log(f"  added role tokens to the tokenizer as special tokens: {' '.join(added)}")
    model = TransformerClassifier(
        base_model=settings.base_model,
        profiles=profiles,
        mask_profiles=config.profiles.mask,
        max_length=settings.max_length,
        use_context=settings.use_context,
        batch_size=settings.eval_batch_size,
        inference="fp32",  # thresholds, metrics and calibration are the reference path's
        pooling=settings.pooling,
        prefix=settings.prefix,
        text_view=settings.text_view,
    )
    model.attach(tokenizer, network, labels, resolved.path)
    model.base_model_revision_ = resolved.revision
    return model


def _metric(labels: tuple[str, ...]) -> Callable[[Any], dict[str, float]]:
    """`compute_metrics` for the Trainer: validation macro-F1 at the argmax."""

    def compute_metrics(prediction: Any) -> dict[str, float]:
        logits = prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits  # (n, n_labels)
        pred = [labels[i] for i in np.asarray(logits).argmax(axis=1)]
        return {"macro_f1": macro_f1([labels[i] for i in prediction.label_ids], pred, labels)}

    return compute_metrics


def finetune(
    settings: TransformerSettings,
    config: TrainConfig,
    profiles: tuple[ElectionProfile, ...],
    train_records: Sequence[Record],
    validation_records: Sequence[Record],
    log: Log = print,
) -> tuple[TransformerClassifier, dict[str, Any]]:
    """Fine-tune `settings.base_model` on the training rows.

    With validation rows: evaluated each epoch (or `eval_steps`), early stopping, the best
    checkpoint restored. Without: `settings.epochs` epochs, the last state kept. Returns the model
    (its own probabilities; `train()` calibrates) and a report with the epoch it ended at.
    """
    labels = tuple(sorted({r.label for r in train_records if r.label}))
    y_train = _label_codes(train_records, labels, "training")
    validate = bool(validation_records)
    y_val = _label_codes(validation_records, labels, "validation") if validate else None
    folder = _checkpoint_folder(settings, config)  # fail before the slow part
    model = _new_model(settings, config, profiles, labels, log)
    train_set = _dataset(model, train_records, y_train, log)
    val_set = _dataset(model, validation_records, y_val, log) if validate else None
    weights = balanced_class_weights(y_train, len(labels))
    if not settings.class_weights:
        weights = np.ones(len(labels))
    log(
        f"  class weights {dict(zip(labels, np.round(weights, 3).tolist(), strict=True))}; "
        f"train counts {dict(Counter(labels[i] for i in y_train))}"
    )
    if not validate:
        log(f"  no validation split: {settings.epochs:g} epochs, the last state kept")
    if settings.resume_from_checkpoint is False:
        _remove_stale_checkpoints(folder, log)
    from transformers import DataCollatorWithPadding, Trainer  # slow import: after the checks

    trainer = Trainer(
        model=model.network_,
        args=_training_arguments(settings, config, folder, validate),
        data_collator=DataCollatorWithPadding(model.tokenizer_),
        train_dataset=train_set,
        eval_dataset=val_set,
        processing_class=model.tokenizer_,
        compute_loss_func=WeightedLoss(weights),
        compute_metrics=_metric(labels) if validate else None,
        callbacks=_callbacks(settings, log, validate),
    )
    trainer.train(resume_from_checkpoint=settings.resume_from_checkpoint or None)
    epoch = _kept_epoch(trainer.state) if validate else float(settings.epochs)
    if validate:
        best = trainer.state.best_metric
        log(
            f"  best validation macro-F1 {best if best is not None else float('nan'):.3f} "
            f"at epoch {epoch:g} ({trainer.state.best_model_checkpoint or 'last'}; restored)"
        )
    model.network_ = trainer.model.eval()
    if not settings.keep_checkpoints and trainer.is_world_process_zero():
        shutil.rmtree(folder, ignore_errors=True)
    return model, {"epoch": epoch}


def _kept_epoch(state: Any) -> float:
    """The epoch of the restored best checkpoint (the last epoch where none is recorded)."""
    best = state.best_model_checkpoint
    step = int(best.rsplit("-", 1)[-1]) if best else state.global_step
    for entry in state.log_history:
        if entry.get("step") == step and "epoch" in entry:
            return float(entry["epoch"])
    return float(state.epoch or 0.0)
