"""What every backend offers, the decision rule, and `load_classifier`.

Every classifier maps texts (and optional contexts) to an array of probabilities of shape
`(n, len(labels))`, columns in `labels` order. The "takes a side" score of a post is
`1 - p(neutral_label)`, which works for the 2-way scheme (supportive/neutral) and for finer schemes
such as support/attack/neutral alike.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, Self, runtime_checkable

import numpy as np

from .artifact import ArtifactMetadata, read_metadata
from .normalize import TextNormalizer
from .profiles import ElectionProfile

__all__ = ["Classifier", "Decision", "ProfileReading", "decide", "load_classifier", "side_scores"]

Decision = Literal["flag", "review", "clear"]

# Backends are imported only when an artifact of their kind is loaded: the TF-IDF path never
# imports torch.
_BACKENDS = {
    "tfidf": ("netralitas.model.tfidf", "TfidfClassifier"),
    "transformer": ("netralitas.model.transformer", "TransformerClassifier"),
    "cascade": ("netralitas.model.cascade", "CascadeClassifier"),
}


@runtime_checkable
class Classifier(Protocol):
    """The interface shared by the TF-IDF and transformer backends."""

    metadata_: ArtifactMetadata

    @property
    def labels(self) -> tuple[str, ...]: ...

    def predict_proba(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray: ...

    def truncated(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Boolean `(n,)`: which inputs were cut to fit the model's maximum length."""
        ...

    def save_pretrained(self, directory: str | Path) -> Path: ...

    def with_profiles(self, profiles: Sequence[ElectionProfile]) -> Classifier: ...


class ProfileReading:
    """What both backends share: labels learned by fitting, and reading text through the one
    `TextNormalizer` built from the model's election profiles (swappable without retraining).

    Subclasses set `profiles`, `mask_profiles` in their constructor and `labels_` when fitted.
    """

    profiles: tuple[ElectionProfile, ...]
    mask_profiles: bool
    labels_: tuple[str, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return self.labels_

    @property
    def normalizer(self) -> TextNormalizer:
        if getattr(self, "_normalizer", None) is None:
            self._normalizer = TextNormalizer(self.profiles, mask=self.mask_profiles)
        return self._normalizer

    def with_profiles(self, profiles: Sequence[ElectionProfile]) -> Self:
        """The same model reading another election: its contestants map to the same role tokens."""
        other = copy.copy(self)
        other.profiles = tuple(profiles)
        other._normalizer = None
        return other


def side_scores(proba: np.ndarray, labels: Sequence[str], neutral_label: str) -> np.ndarray:
    """Probability that each post takes a side: `1 - p(neutral)`, shape `(n,)`."""
    return 1.0 - proba[:, list(labels).index(neutral_label)]


def decide(proba: np.ndarray, metadata: ArtifactMetadata) -> tuple[list[str], list[Decision]]:
    """Apply the stored thresholds: the label to report and the review decision for each row.

    A row is `flag` when its side score reaches `thresholds.flag` (the precision threshold), and
    then gets the most probable non-neutral label; `review` in the band down to
    `thresholds.review`; otherwise `clear`. Rows not flagged are reported as the neutral label.
    """
    labels = list(metadata.labels)
    neutral = labels.index(metadata.neutral_label)
    score = 1.0 - proba[:, neutral]
    masked = proba.copy()
    masked[:, neutral] = -1.0
    best_side = masked.argmax(axis=1)
    out_labels: list[str] = []
    decisions: list[Decision] = []
    for s, side in zip(score, best_side, strict=True):
        if s >= metadata.thresholds.flag:
            out_labels.append(labels[side])
            decisions.append("flag")
        else:
            out_labels.append(metadata.neutral_label)
            decisions.append("review" if s >= metadata.thresholds.review else "clear")
    return out_labels, decisions


def load_classifier(
    directory: str | Path,
    profiles: Sequence[ElectionProfile] | None = None,
    inference: str = "auto",
) -> Classifier:
    """Load any netralitas artifact; `profiles` replaces the stored election profiles.

    A directory without `netralitas.json` but with a Hugging Face `config.json` is loaded as a
    plain sequence-classification checkpoint by the transformer backend. `inference` ("auto",
    "fp32", "int8", "bf16", "fp16") picks how a transformer computes; TF-IDF ignores it.
    """
    from .fast_inference import check_inference

    check_inference(inference)
    directory = Path(directory)
    if not (directory / "netralitas.json").exists() and (directory / "config.json").exists():
        module = importlib.import_module(_BACKENDS["transformer"][0])
        return module.TransformerClassifier.from_hf_checkpoint(
            directory, profiles=profiles, inference=inference
        )
    kind = read_metadata(directory).kind
    module_name, class_name = _BACKENDS[kind]
    backend = getattr(importlib.import_module(module_name), class_name)
    if kind == "tfidf":
        return backend.from_pretrained(directory, profiles=profiles)
    return backend.from_pretrained(directory, profiles=profiles, inference=inference)
