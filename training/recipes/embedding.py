"""Training the frozen-encoder backend: encode the splits once, fit the head for each C, keep the
best by validation macro-F1 (argmax rule), then the accuracy guard of the int8 path.

The encoder is frozen, so a post's embedding never changes within a run: the recipe keeps them,
and cross-fitting (k fold models, then the shipped one) encodes every post once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from netralitas.training.config import ModelSettings
from netralitas.training.recipes import FitJob, Fitted, Log, Recipe
from netralitas.training.recipes.tfidf import TfidfSettings, most_chosen

__all__ = ["EmbeddingRecipe", "EmbeddingSettings", "StackedTfidfSettings"]


class StackedTfidfSettings(TfidfSettings):
    """The TF-IDF model whose out-of-fold log-odds are stacked as a feature (one value of C)."""

    C: float = Field(default=4.0, gt=0)


class EmbeddingSettings(ModelSettings):
    """A frozen pretrained encoder (mean-pooled) and a logistic-regression head.

    `base_model` is a name that `netralitas base-model` builds (multilingual-e5-small), a hub id
    or a local folder. A list for `C` means: pick the value with the best validation macro-F1 (the
    features are standardised, so one grid suits any encoder).
    """

    kind: Literal["embedding"] = "embedding"
    base_model: str = Field(default="multilingual-e5-small", min_length=1)
    text_view: Literal["raw", "normalized"] = Field(
        default="raw",
        description="raw: the post as written, tidied; normalized: the TF-IDF normaliser "
        "(lower case, slang, role tokens when profiles.mask is on)",
    )
    prefix: str = Field(default="query: ", description="e5 convention for texts to classify")
    max_length: int = Field(default=128, ge=8, le=4096)
    pooling: Literal["mean"] = "mean"
    normalize: bool = Field(default=True, description="L2-normalise the pooled embedding")
    use_context: bool = True
    stack_tfidf: bool = Field(default=False, description="add out-of-fold TF-IDF log-odds")
    tfidf: StackedTfidfSettings = StackedTfidfSettings()
    stack_folds: int = Field(default=5, ge=2, le=20)
    C: float | tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
    max_iter: int = Field(default=3000, ge=100)
    batch_size: int = Field(default=16, ge=1, description="posts per forward pass (CPU: <= 16)")
    storage_dtype: Literal["float16", "float32"] = Field(
        default="float16", description="encoder weights in the artifact (float16: half the size)"
    )
    hub_timeout: float = Field(
        default=10.0, gt=0, description="seconds to wait for the hub when base_model is not cached"
    )


class EmbeddingRecipe(Recipe):
    settings_type = EmbeddingSettings

    def __init__(self) -> None:
        # (what shapes an embedding, text, context) -> embedding: folds re-use their posts'.
        self._embeddings: dict[tuple[Any, str, str | None], np.ndarray] = {}

    def _encode(
        self, model: Any, settings: EmbeddingSettings, records: Sequence
    ) -> tuple[np.ndarray, int]:
        """Embeddings of `records`, encoding only posts not seen before in this run; and how
        many posts that was."""
        shape = (
            settings.base_model,
            settings.text_view,
            settings.prefix,
            settings.max_length,
            settings.normalize,
            settings.use_context,
            model.mask_profiles,
            tuple(p.id for p in model.profiles),
        )
        todo = [r for r in records if (shape, r.text, r.context) not in self._embeddings]
        if todo:
            fresh = model.encode([r.text for r in todo], [r.context for r in todo])
            for r, x in zip(todo, fresh, strict=True):
                self._embeddings[(shape, r.text, r.context)] = x
        return np.stack([self._embeddings[(shape, r.text, r.context)] for r in records]), len(
            {(r.text, r.context) for r in todo}
        )

    def check(self, settings: ModelSettings, log: Log) -> None:
        """An unavailable base model stops training before any data is read (a buildable one is
        built now, once)."""
        from netralitas.training.base_model import resolve_base_model

        assert isinstance(settings, EmbeddingSettings)
        resolve_base_model(settings.base_model, timeout=settings.hub_timeout, log=log)

    def fit(self, job: FitJob) -> Fitted:
        """Encode train and validation once; fit the head for each C on the cached features."""
        from netralitas.evaluation.metrics import macro_f1
        from netralitas.model.backends.embedding.classifier import EmbeddingClassifier
        from netralitas.training.base_model import resolve_base_model

        settings = job.settings
        assert isinstance(settings, EmbeddingSettings)
        resolved = resolve_base_model(
            settings.base_model, timeout=settings.hub_timeout, log=job.log
        )
        grid = settings.C if isinstance(settings.C, tuple) else (settings.C,)
        params = settings.model_dump(exclude={"kind", "C", "tfidf", "hub_timeout"})
        model = EmbeddingClassifier(
            profiles=job.profiles,
            mask_profiles=job.config.profiles.mask,
            tfidf=settings.tfidf.model_dump(exclude={"kind"}),
            C=grid[0],
            seed=job.config.seed,
            **params,
        ).load_encoder(resolved.path)
        model.base_model_revision_ = resolved.revision

        if len(grid) > 1 and not job.validation:
            raise ValueError("choosing C from a grid needs a validation split")
        texts = [r.text for r in job.train]
        contexts = [r.context for r in job.train]
        labels = [r.label or "" for r in job.train]
        v_texts = [r.text for r in job.validation]
        v_contexts = [r.context for r in job.validation]
        v_labels = [r.label or "" for r in job.validation]
        started = time.perf_counter()
        x, fresh = self._encode(model, settings, job.train)
        xv, fresh_v = (
            self._encode(model, settings, job.validation) if job.validation else (x[:0], 0)
        )
        encode_s = time.perf_counter() - started
        fresh += fresh_v
        job.log(
            f"encoded {fresh} posts with {settings.base_model} in {encode_s:.0f} s "
            f"({fresh / max(encode_s, 1e-9):.1f} posts/s, {model.inference_plan.path}); "
            f"{len(x) + len(xv) - fresh} already encoded in this run"
        )
        if settings.stack_tfidf:
            started = time.perf_counter()
            x = np.hstack([x, model.fit_stack(texts, labels, contexts)])
            if job.validation:
                xv = np.hstack([xv, model.stack_features(v_texts, v_contexts)])
            job.log(
                f"stacked TF-IDF: {model.stack_folds}-fold out-of-fold log-odds in "
                f"{time.perf_counter() - started:.0f} s"
            )
        else:
            model.fit_stack(texts, labels, contexts)  # records that nothing is stacked
        scores: dict[str, float] = {}
        best_c, best_f1 = grid[0], -1.0
        for c in grid:
            model.C = c
            model.fit_features(x, labels)
            if len(grid) == 1:
                best_c = c
                break
            predicted = np.asarray(model.labels)[model.proba_from_features(xv).argmax(axis=1)]
            f1 = macro_f1(v_labels, predicted, model.labels)
            scores[f"{c:g}"] = f1
            note = "" if model.fit_report_["converged"] else " (did not converge)"
            job.log(f"  C={c:g}: validation macro-F1 {f1:.3f}{note}")
            if f1 > best_f1:
                best_c, best_f1 = c, f1
        if best_c != model.C:
            model.C = best_c
            model.fit_features(x, labels)
        report = {
            "encode_seconds": round(encode_s, 2),
            "validation_macro_f1_by_C": scores,
            "C": best_c,
        }
        return Fitted(model, report={"embedding": report})

    def settle(
        self, settings: ModelSettings, reports: Sequence[dict[str, Any]]
    ) -> ModelSettings | None:
        """The C most fold models chose (a tie: the smaller C, the more regularised head)."""
        assert isinstance(settings, EmbeddingSettings)
        return settings.model_copy(
            update={"C": most_chosen([r["embedding"]["C"] for r in reports])}
        )

    def finish(self, fitted: Fitted, job: FitJob, validation_proba: np.ndarray) -> None:
        """May "auto" score with a faster path? int8 first; where it fails and this CPU has
        native bf16, bf16 (`choose_fast_path`; the record keeps the last path checked).

        A frozen encoder's head reads small differences between embeddings that all lie close
        together, so it is more sensitive than a fine-tuned network to the int8 error: on the
        bundled validation split, multilingual-e5-small int8 embeddings have cosine ~0.98 to fp32
        and ~7% of labels flip, while bf16 keeps cosine 0.99998 and flips ~0.3%.
        """
        from netralitas.training.guard import choose_fast_path

        choose_fast_path(
            fitted.model,
            [r.text for r in job.validation],
            [r.context for r in job.validation],
            validation_proba,
            job.log,
        )
