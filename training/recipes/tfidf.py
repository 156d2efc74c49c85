"""Training the TF-IDF baseline: a grid over C, the best by validation macro-F1 (argmax rule).

Cross-fitted, the shipped model takes the C most fold models chose and is fitted on all the
training data without a validation split (`settle`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from netralitas.model.backends.tfidf import TfidfClassifier
from netralitas.training.config import ModelSettings
from netralitas.training.recipes import FitJob, Fitted, Recipe

__all__ = ["TfidfRecipe", "TfidfSettings", "most_chosen"]


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
        """Fit one model per value of C and keep the best by validation macro-F1 (one value of C
        needs no validation split)."""
        from sklearn.metrics import f1_score

        settings = job.settings
        assert isinstance(settings, TfidfSettings)
        grid = settings.C if isinstance(settings.C, tuple) else (settings.C,)
        if len(grid) > 1 and not job.validation:
            raise ValueError("choosing C from a grid needs a validation split")
        texts = [r.text for r in job.train]
        contexts = [r.context for r in job.train]
        labels = [r.label or "" for r in job.train]
        params = settings.model_dump(exclude={"kind", "C"})
        best, best_c, best_f1 = None, grid[0], -1.0
        for c in grid:
            model = TfidfClassifier(
                profiles=job.profiles, mask_profiles=job.config.profiles.mask, C=c, **params
            )
            model.fit(texts, labels, contexts)
            if len(grid) == 1:
                best, best_c = model, c
                break
            proba = model.predict_proba(
                [r.text for r in job.validation], [r.context for r in job.validation]
            )
            predicted = np.asarray(model.labels)[proba.argmax(axis=1)]
            f1 = f1_score([r.label or "" for r in job.validation], predicted, average="macro")
            job.log(f"  C={c:g}: validation macro-F1 {f1:.3f}")
            if f1 > best_f1:
                best, best_c, best_f1 = model, c, f1
        assert best is not None
        return Fitted(best, report={"tfidf": {"C": best_c}})

    def settle(
        self, settings: ModelSettings, reports: Sequence[dict[str, Any]]
    ) -> ModelSettings | None:
        """The C most fold models chose (a tie: the smaller C, the more regularised model)."""
        assert isinstance(settings, TfidfSettings)
        return settings.model_copy(update={"C": most_chosen([r["tfidf"]["C"] for r in reports])})


def most_chosen(values: Sequence[float]) -> float:
    """The value chosen most often; among equally frequent ones the smallest."""
    counts = Counter(values)
    return min(counts, key=lambda v: (-counts[v], v))
