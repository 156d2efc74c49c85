"""Training the TF-IDF baseline: a grid over C, the best by validation macro-F1 (argmax rule)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from netralitas.model.backends.tfidf import TfidfClassifier
from netralitas.training.config import ModelSettings
from netralitas.training.recipes import FitJob, Fitted, Recipe

__all__ = ["TfidfRecipe", "TfidfSettings"]


class TfidfSettings(ModelSettings):
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


class TfidfRecipe(Recipe):
    settings_type = TfidfSettings

    def fit(self, job: FitJob) -> Fitted:
        """Fit one model per value of C and keep the best by validation macro-F1."""
        from sklearn.metrics import f1_score

        settings = job.settings
        assert isinstance(settings, TfidfSettings)
        texts = [r.text for r in job.train]
        contexts = [r.context for r in job.train]
        labels = [r.label or "" for r in job.train]
        v_texts = [r.text for r in job.validation]
        v_contexts = [r.context for r in job.validation]
        v_labels = [r.label or "" for r in job.validation]
        grid = settings.C if isinstance(settings.C, tuple) else (settings.C,)
        params = settings.model_dump(exclude={"kind", "C"})
        best, best_f1 = None, -1.0
        for c in grid:
            model = TfidfClassifier(
                profiles=job.profiles, mask_profiles=job.config.profiles.mask, C=c, **params
            )
            model.fit(texts, labels, contexts)
            proba = model.predict_proba(v_texts, v_contexts)
            f1 = f1_score(v_labels, np.asarray(model.labels)[proba.argmax(axis=1)], average="macro")
            job.log(f"  C={c:g}: validation macro-F1 {f1:.3f}")
            if f1 > best_f1:
                best, best_f1 = model, f1
        assert best is not None
        return Fitted(best)
