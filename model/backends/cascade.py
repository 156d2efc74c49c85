"""The cascade: a cheap screen (the TF-IDF baseline) scores every post; only posts whose side score
reaches a low threshold are scored again by the transformer.

Most monitored posts take no side. The baseline reads a post in well under a millisecond; the
transformer, even quantised, in about ten on a small server. With a low screening threshold, most
neutral posts are settled by the screen and the transformer reads the rest. A post the screen
lets through gets the transformer's probabilities and decision. A post the screen settles keeps
the screen's probabilities, decided with the transformer's thresholds: below the review threshold
it is cleared; between the review threshold and the screening threshold it goes to human review
on the screen's word. The screening threshold may not exceed the transformer's flag threshold, so
the screen alone never flags anyone. The price is the recall of posts the screen wrongly settles;
benchmarks/cascade.py measures it against the transformer alone.

Off by default: a cascade is its own artifact, built from two trained ones with
`netralitas cascade SCREEN_DIR MODEL_DIR --threshold T --output DIR`::

    netralitas.json   kind "cascade"; the transformer's labels and thresholds;
                      extra.cascade = {"threshold": T, "screen": {...}, "model": {...}}
    screen/           the screening artifact (TF-IDF)
    model/            the transformer artifact
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np

from netralitas.model.artifact import (
    FORMAT_VERSION,
    ArtifactError,
    ArtifactMetadata,
    atomic_directory,
    read_metadata,
    write_metadata,
)
from netralitas.model.backend import Classifier, check_inputs
from netralitas.model.decision import side_scores
from netralitas.model.inference import InferencePlan
from netralitas.model.loading import load_classifier
from netralitas.model.text.profiles import ElectionProfile

__all__ = ["CascadeClassifier"]

SCREEN_DIR = "screen"
MODEL_DIR = "model"


class CascadeClassifier:
    """A screen and a model behind the Classifier interface; columns in the model's label order.

    `threshold` is on the screen's side score (1 - p(neutral)): posts at or above it go to the
    model. 0 sends every post to the model; the highest allowed value is the model's flag
    threshold.
    """

    kind = "cascade"

    def __init__(self, screen: Classifier, model: Classifier, threshold: float = 0.1) -> None:
        s_meta, m_meta = screen.metadata_, model.metadata_
        if set(screen.labels) != set(model.labels) or s_meta.neutral_label != m_meta.neutral_label:
            raise ArtifactError(
                f"the screen has labels {screen.labels} (neutral {s_meta.neutral_label!r}) but the "
                f"model has {model.labels} (neutral {m_meta.neutral_label!r}); train both on the "
                "same label scheme"
            )
        if not 0.0 <= threshold <= m_meta.thresholds.flag:
            raise ValueError(
                f"the screening threshold must be in [0, {m_meta.thresholds.flag:.4g}] (the "
                f"model's flag threshold, so that the screen alone never flags a post); found "
                f"{threshold}"
            )
        self.screen = screen
        self.model = model
        self.threshold = float(threshold)
        self._columns = [list(screen.labels).index(label) for label in model.labels]
        self._last_route: tuple[list[str], list[str | None], np.ndarray, np.ndarray] | None = None
        self.metadata_ = self._build_metadata()

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels

    @property
    def profiles(self) -> tuple[ElectionProfile, ...]:
        return self.model.profiles

    @property
    def inference_plan(self) -> InferencePlan | None:
        """The model's scoring path (the screen has no choices)."""
        return self.model.inference_plan

    def get_settings(self) -> dict[str, Any]:
        return {"threshold": self.threshold}

    # -- scoring ---------------------------------------------------------------------------------
    def route(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The screen's probabilities `(n, len(labels))` (model column order) and a bool `(n,)`
        array of the posts that go to the model.

        The last call is remembered: the service asks for probabilities and truncation flags of
        the same batch one after the other, and the screen need not read it twice.
        """
        texts, contexts = check_inputs(texts, contexts)
        last = self._last_route
        if last is not None and last[0] == texts and last[1] == contexts:
            return last[2], last[3]
        proba = self.screen.predict_proba(texts, contexts)[:, self._columns]
        routed = side_scores(proba, self.labels, self.metadata_.neutral_label) >= self.threshold
        self._last_route = (texts, contexts, proba, routed)
        return proba, routed

    def predict_proba(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Probabilities of shape `(n, len(labels))`: the model's for routed posts, else the
        screen's."""
        proba, routed = self.route(texts, contexts)
        proba = proba.copy()
        idx = np.flatnonzero(routed)
        if len(idx):
            proba[idx] = self.model.predict_proba(*self._subset(texts, contexts, idx))
        return proba

    def raw_proba(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """The same as `predict_proba`: a cascade has no map of its own, its two models are
        each calibrated by theirs."""
        return self.predict_proba(texts, contexts)

    def truncated(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Boolean `(n,)`: routed posts the model had to cut; the screen reads every word."""
        _, routed = self.route(texts, contexts)
        out = np.zeros(len(routed), dtype=bool)
        idx = np.flatnonzero(routed)
        if len(idx):
            out[idx] = self.model.truncated(*self._subset(texts, contexts, idx))
        return out

    @staticmethod
    def _subset(
        texts: Sequence[str], contexts: Sequence[str | None] | None, idx: np.ndarray
    ) -> tuple[list[str], list[str | None]]:
        texts, contexts = check_inputs(texts, contexts)
        return [texts[i] for i in idx], [contexts[i] for i in idx]

    def with_profiles(self, profiles: Sequence[ElectionProfile]) -> CascadeClassifier:
        """Both models reading another election."""
        return self._replace(
            self.screen.with_profiles(profiles), self.model.with_profiles(profiles)
        )

    def with_inference(self, inference: str) -> CascadeClassifier:
        """The same cascade with the transformer scoring through another path."""
        return self._replace(self.screen, self.model.with_inference(inference))

    def _replace(self, screen: Classifier, model: Classifier) -> CascadeClassifier:
        other = CascadeClassifier(screen, model, self.threshold)
        other.metadata_ = self.metadata_
        return other

    # -- persistence -----------------------------------------------------------------------------
    def _build_metadata(self) -> ArtifactMetadata:
        meta = self.model.metadata_

        def describe(part: Classifier) -> dict[str, str]:
            m = part.metadata_
            return {"kind": m.kind, "name": m.name, "version": m.version}

        return ArtifactMetadata(
            format_version=FORMAT_VERSION,
            kind="cascade",
            name=meta.name,
            version=meta.version,
            labels=meta.labels,
            neutral_label=meta.neutral_label,
            thresholds=meta.thresholds,
            mask_profiles=meta.mask_profiles,
            profiles=meta.profiles,
            package_version=package_version("netralitas"),
            created_at=dt.datetime.now(dt.UTC),
            extra={
                "cascade": {
                    "threshold": self.threshold,
                    "screen": describe(self.screen),
                    "model": describe(self.model),
                },
                "note": "decisions use the model's thresholds; posts the screen clears keep its "
                "probabilities",
            },
        )

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write both artifacts and the cascade's `netralitas.json` (last), atomically."""
        with atomic_directory(directory) as tmp:
            self.screen.save_pretrained(tmp / SCREEN_DIR)
            self.model.save_pretrained(tmp / MODEL_DIR)
            write_metadata(tmp, self.metadata_)
        return Path(directory)

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        profiles: Sequence[ElectionProfile] | None = None,
        inference: str = "auto",
    ) -> CascadeClassifier:
        """Load a cascade written by `save_pretrained`; `inference` applies to the model."""
        directory = Path(directory)
        metadata = read_metadata(directory, kind=cls.kind)
        config = metadata.extra.get("cascade")
        if not isinstance(config, dict) or not isinstance(config.get("threshold"), int | float):
            raise ArtifactError(
                f"{directory}/netralitas.json has no extra.cascade.threshold; rebuild it with "
                "`netralitas cascade`"
            )
        for part in (SCREEN_DIR, MODEL_DIR):
            if not (directory / part).is_dir():
                raise ArtifactError(f"{directory} is incomplete: {part}/ is missing; rebuild it")
        screen = load_classifier(directory / SCREEN_DIR, profiles)
        model = load_classifier(directory / MODEL_DIR, profiles, inference=inference)
        cascade = cls(screen, model, float(config["threshold"]))
        cascade.metadata_ = metadata
        return cascade
