"""The backend contract: what every classifier offers the rest of the system.

Every backend maps texts (and optional contexts) to probabilities of shape `(n, len(labels))`,
columns in `labels` order, and knows how to save and load itself. Everything a caller needs is
listed in `Classifier`, so no caller has to reach around it; what happens to the probabilities
afterwards (side score, thresholds, decision, explanation) is the `Scorer`'s job, the same for
every backend.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np

from netralitas.model.text.normalize import TextNormalizer
from netralitas.model.text.profiles import ElectionProfile

if TYPE_CHECKING:
    from netralitas.model.artifact import ArtifactMetadata
    from netralitas.model.inference import InferencePlan

__all__ = ["Classifier", "ProfileReading", "check_inputs"]


@runtime_checkable
class Classifier(Protocol):
    """The interface of every backend (TF-IDF, transformer, cascade, and any registered later).

    `metadata_` is set by training or by `from_pretrained`: labels, thresholds, profiles, metrics.
    """

    kind: ClassVar[str]
    metadata_: ArtifactMetadata

    @property
    def labels(self) -> tuple[str, ...]: ...

    @property
    def profiles(self) -> tuple[ElectionProfile, ...]:
        """The election profiles the model reads with (contestants masked to role tokens)."""
        ...

    @property
    def inference_plan(self) -> InferencePlan | None:
        """How the model computes on this machine, and why; None where there is no choice."""
        ...

    def get_settings(self) -> dict[str, Any]:
        """Constructor settings to store beside the weights (`extra.settings`), JSON-ready."""
        ...

    def predict_proba(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Calibrated probabilities: `raw_proba` through `metadata_.calibration` (if any)."""
        ...

    def raw_proba(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """The model's own probabilities, before the artifact's calibration map (what
        calibration is fitted on)."""
        ...

    def truncated(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Boolean `(n,)`: which inputs were cut to fit the model's maximum length."""
        ...

    def with_profiles(self, profiles: Sequence[ElectionProfile]) -> Classifier:
        """The same model reading another election (no retraining)."""
        ...

    def with_inference(self, inference: str) -> Classifier:
        """The same model computing through another `inference` path (itself if it has one)."""
        ...

    def save_pretrained(self, directory: str | Path) -> Path: ...

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        profiles: Sequence[ElectionProfile] | None = None,
        inference: str = "auto",
    ) -> Classifier: ...


class ProfileReading:
    """What the single-model backends share: labels learned by fitting, reading text through the
    one `TextNormalizer` built from the model's election profiles (swappable without retraining),
    calibrated probabilities from their own (`raw_proba`), and no inference choices unless the
    backend overrides them.

    Subclasses set `profiles`, `mask_profiles` in their constructor and `labels_` when fitted,
    and implement `raw_proba`.
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

    @property
    def inference_plan(self) -> InferencePlan | None:
        return None

    def raw_proba(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Probabilities `(n, len(labels))`, columns in `labels` order: the backend's own
        (`raw_proba`) through the artifact's calibration map, so that every backend's scores
        mean what its thresholds assume."""
        proba = self.raw_proba(texts, contexts)
        metadata = getattr(self, "metadata_", None)
        if metadata is None or metadata.calibration is None:
            return proba
        return metadata.calibration.apply(proba, self.labels.index(metadata.neutral_label))

    def with_inference(self, inference: str) -> Self:
        """A backend without inference paths computes one way: the setting is validated and
        the model itself returned."""
        from netralitas.model.inference import check_inference

        check_inference(inference)
        return self

    def with_profiles(self, profiles: Sequence[ElectionProfile]) -> Self:
        """The same model reading another election: its contestants map to the same role tokens."""
        other = copy.copy(self)
        other.profiles = tuple(profiles)
        other._normalizer = None
        return other


def check_inputs(
    texts: Sequence[str], contexts: Sequence[str | None] | None
) -> tuple[list[str], list[str | None]]:
    """Validate the shared input contract of `predict_proba` and return plain lists."""
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, got a single str; wrap it: [text]")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a str, found {type(t).__name__}: {t!r}")
    if contexts is None:
        return texts, [None] * len(texts)
    contexts = list(contexts)
    if len(contexts) != len(texts):
        raise ValueError(
            f"contexts must have one entry per text ({len(texts)}), found {len(contexts)}; "
            "use None for posts without a context"
        )
    for i, c in enumerate(contexts):
        if c is not None and not isinstance(c, str):
            raise TypeError(f"contexts[{i}] must be a str or None, found {type(c).__name__}")
    return texts, contexts
