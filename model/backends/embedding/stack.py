"""The stacked TF-IDF feature of the frozen-encoder backend (`stack_tfidf`).

A TF-IDF model (model/backends/tfidf.py) adds what it makes of a post as features of the head:
its log-odds `log(p1 / p0)` for two labels (one column), or its log-probabilities centred per row
for more (one column per label). Stacking at this level keeps the head small and the TF-IDF model
whole (its own vocabulary, idf and regularisation), instead of 300,000 sparse columns beside 769
dense ones under one `C`.

For the training rows the feature comes out of fold (`out_of_fold`: stratified k-fold
cross-fitting, each row scored by a TF-IDF model that did not see it). In-sample, TF-IDF has
all but memorised its training rows, and a head fitted on those over-confident values would learn
to trust TF-IDF far more than it deserves on new posts. The TF-IDF model fitted on all training
rows gives the feature at scoring time; it is stored as a TF-IDF artifact in the `tfidf/` folder
of the embedding artifact and read back with `TfidfClassifier.from_pretrained`.

The TF-IDF part always reads posts through the `TextNormalizer` (contestants masked as the
settings say), whatever text view the encoder uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from netralitas.model.artifact import ArtifactError, ArtifactMetadata, EvaluationSummary
from netralitas.model.backends.tfidf import TfidfClassifier
from netralitas.model.text.profiles import ElectionProfile

__all__ = ["TFIDF_DIR", "load_stack", "log_odds", "out_of_fold", "save_stack", "stack_width"]

TFIDF_DIR = "tfidf"


def stack_width(n_labels: int) -> int:
    """Columns of the stacked feature for a model of `n_labels` labels."""
    return 1 if n_labels == 2 else n_labels


def log_odds(proba: np.ndarray) -> np.ndarray:
    """`log(p1 / p0)` `(n, 1)` for two labels; centred log-probabilities `(n, k)` for more."""
    logp = np.log(np.clip(proba, 1e-12, 1.0))
    if proba.shape[1] == 2:
        return logp[:, 1:] - logp[:, :1]
    return logp - logp.mean(axis=1, keepdims=True)


def out_of_fold(
    make_model: Callable[[], TfidfClassifier],
    texts: list[str],
    labels: list[str],
    contexts: list[str | None],
    folds: int,
    seed: int,
) -> np.ndarray:
    """The stacked feature of every training row, each from a model fitted without its fold.

    Raises ValueError when a label has fewer than two rows (no fold could hold it out).
    """
    from sklearn.model_selection import StratifiedKFold

    smallest = min(labels.count(label) for label in set(labels))
    folds = min(folds, smallest)
    if folds < 2:
        raise ValueError(
            f"stack_tfidf needs at least two training rows of every label for out-of-fold "
            f"features; the rarest label has {smallest}"
        )
    width = stack_width(len(set(labels)))
    oof = np.zeros((len(texts), width))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_out in splitter.split(np.zeros(len(labels)), labels):
        model = make_model().fit(
            [texts[i] for i in fit_rows],
            [labels[i] for i in fit_rows],
            [contexts[i] for i in fit_rows],
        )
        proba = model.raw_proba([texts[i] for i in held_out], [contexts[i] for i in held_out])
        oof[held_out] = log_odds(proba)
    return oof


def save_stack(model: TfidfClassifier, metadata: ArtifactMetadata, directory: Path) -> None:
    """Write the stacked TF-IDF model as a TF-IDF artifact in `directory`; its metadata is the
    embedding model's, marked as what it is (its thresholds and metrics are not its own)."""
    model.metadata_ = metadata.model_copy(
        update={
            "kind": TfidfClassifier.kind,
            "calibration": None,  # the stack feature is the TF-IDF model's own log-odds
            "recalibrations": (),
            "split_keys": {},
            "metrics": {},
            "summary": EvaluationSummary(),
            "mask_profiles": model.mask_profiles,
            "extra": {
                "settings": model.get_settings(),
                "note": "the stacked TF-IDF feature of an embedding model; the thresholds are "
                "the embedding model's",
            },
        }
    )
    model.save_pretrained(directory)


def load_stack(
    directory: Path, profiles: Sequence[ElectionProfile], labels: tuple[str, ...], retrain: str
) -> TfidfClassifier:
    """Read the stacked TF-IDF model of an embedding artifact from `directory`."""
    if not directory.is_dir():
        raise ArtifactError(
            f"{directory.parent} is incomplete: {directory.name}/ (the stacked TF-IDF model) is "
            f"missing; {retrain}"
        )
    model = TfidfClassifier.from_pretrained(directory, profiles=profiles)
    if model.labels != labels:
        raise ArtifactError(
            f"{directory}: the stacked TF-IDF model has labels {model.labels}, the embedding "
            f"model {labels}; {retrain}"
        )
    return model
