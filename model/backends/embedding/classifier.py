"""The frozen-encoder backend: mean-pooled embeddings of a pretrained encoder, a linear head.

A pretrained encoder (multilingual-e5-small by default) is not trained; each post is encoded
once, and a class-weighted logistic regression (model/backends/embedding/head.py) is fitted on
the embeddings. Training takes minutes on two CPU cores.

How a post is read (`text_view`):

- "raw" (default): the post as written, only tidied (model/text/light.py: NFC, plain
  apostrophes, no invisible characters, single spaces). A pretrained encoder knows names, case,
  emoji and slang; the election profiles are not used to read the text.
- "normalized": the project's `TextNormalizer`, contestants masked to role tokens when
  `mask_profiles` is on (as TF-IDF reads).

Each string gets the encoder's `prefix` ("query: ", the e5 convention for a text to classify).

Context: the post and its context are encoded separately, and the features are
`[emb(post), emb(context) or zeros, has_context]` (`2 * hidden + 1` columns) when `use_context`
is on, else `emb(post)`. Encoding separately keeps the post's own embedding the same whatever it
answers, and lets the linear head weigh the context on its own: "Siap, Pak!" under a campaign
post gets the campaign context's weight, under a notice about a work party it does not. Identical
strings in one call are encoded once (a thread's context, an explanation's occluded variants).

Stacking TF-IDF (`stack_tfidf`): the log-odds of a TF-IDF model, out of fold for the training rows,
are added as features (model/backends/embedding/stack.py).

Scoring runs through the transformer backend's fast paths: inputs sorted by length and batched
(`batched_logits`), and the `inference` setting (fp32, int8, bf16, fp16) resolved by
`scoring_network`, which quantises or casts a copy of the encoder; "auto" takes a faster path on
a CPU only where the artifact's accuracy guard passed. Training checks int8 first and, where it
fails and the CPU has native bf16, bf16 (training/recipes/embedding.py): a linear head on frozen
embeddings reads small differences between them, and int8's error is too large for it.

Artifact files (besides `netralitas.json` and `profiles/`, see model/artifact.py)::

    encoder/          config.json, tokenizer files, model.safetensors in `storage_dtype`
                      (float16 by default: half the size; upcast to float32 when loaded)
    head.safetensors  the linear head (float64), and head.json: labels and feature layout
    tfidf/            with `stack_tfidf`: the TF-IDF artifact that gives the stacked feature

No pickle. Fitting rounds the encoder weights through `storage_dtype` before it encodes anything,
so the model that is fitted, evaluated and guarded is exactly the one saved and loaded. Importing
this module imports neither torch, transformers nor scikit-learn.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from netralitas.model.artifact import (
    ArtifactError,
    ArtifactMetadata,
    atomic_directory,
    read_metadata,
    read_profiles,
    write_metadata,
    write_profiles,
)
from netralitas.model.backend import ProfileReading, check_inputs
from netralitas.model.backends.embedding.head import LinearHead, fit_head
from netralitas.model.backends.embedding.stack import (
    TFIDF_DIR,
    load_stack,
    log_odds,
    out_of_fold,
    save_stack,
    stack_width,
)
from netralitas.model.backends.tfidf import TfidfClassifier
from netralitas.model.backends.transformer.encoding import batched_logits, tokenize
from netralitas.model.backends.transformer.fast_inference import GuardedInference
from netralitas.model.inference import check_inference
from netralitas.model.model_card import render_model_card
from netralitas.model.text.light import light_text
from netralitas.model.text.profiles import ElectionProfile

__all__ = ["DEFAULT_BASE_MODEL", "TEXT_VIEWS", "EmbeddingClassifier"]

DEFAULT_BASE_MODEL = "multilingual-e5-small"
TEXT_VIEWS = ("raw", "normalized")
ENCODER_DIR = "encoder"
RETRAIN = "retrain it with `netralitas train`"
logger = logging.getLogger(__name__)


class EmbeddingClassifier(GuardedInference, ProfileReading):
    """A frozen pretrained encoder and a logistic-regression head (module docstring).

    The constructor only stores settings. Learned state: the encoder (`tokenizer_`, `encoder_`,
    set by `load_encoder` from a base-model folder, or by `from_pretrained`), `tfidf_` (the
    stacked TF-IDF model or None), `labels_` and `head_` (set by `fit` / `fit_features`).
    """

    kind = "embedding"

    def __init__(
        self,
        base_model: str = DEFAULT_BASE_MODEL,
        profiles: Sequence[ElectionProfile] = (),
        mask_profiles: bool = True,
        text_view: str = "raw",
        prefix: str = "query: ",
        max_length: int = 128,
        pooling: str = "mean",
        normalize: bool = True,
        use_context: bool = True,
        stack_tfidf: bool = False,
        tfidf: dict[str, Any] | None = None,
        stack_folds: int = 5,
        C: float = 1.0,
        max_iter: int = 3000,
        batch_size: int = 16,
        storage_dtype: str = "float16",
        seed: int = 13,
        inference: str = "auto",
    ) -> None:
        self.base_model = base_model
        self.profiles = tuple(profiles)
        self.mask_profiles = mask_profiles
        self.text_view = text_view
        self.prefix = prefix
        self.max_length = max_length
        self.pooling = pooling
        self.normalize = normalize
        self.use_context = use_context
        self.stack_tfidf = stack_tfidf
        self.tfidf = dict(tfidf or {})
        self.stack_folds = stack_folds
        self.C = C
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.storage_dtype = storage_dtype
        self.seed = seed
        self.inference = inference

    def get_settings(self) -> dict[str, Any]:
        """Constructor settings other than profiles and `inference` (stored in the artifact)."""
        return {
            "base_model": self.base_model,
            "mask_profiles": self.mask_profiles,
            "text_view": self.text_view,
            "prefix": self.prefix,
            "max_length": self.max_length,
            "pooling": self.pooling,
            "normalize": self.normalize,
            "use_context": self.use_context,
            "stack_tfidf": self.stack_tfidf,
            "tfidf": dict(self.tfidf),
            "stack_folds": self.stack_folds,
            "C": self.C,
            "max_iter": self.max_iter,
            "batch_size": self.batch_size,
            "storage_dtype": self.storage_dtype,
            "seed": self.seed,
        }

    def _check_settings(self) -> None:
        """Raise ValueError for settings no code path reads (fitting and loading call this)."""
        from netralitas.model.backends.embedding.encoder import STORAGE_DTYPES

        if self.text_view not in TEXT_VIEWS:
            raise ValueError(f"text_view must be one of {TEXT_VIEWS}, found {self.text_view!r}")
        if self.pooling != "mean":
            raise ValueError(f"pooling must be 'mean' (the e5 convention), found {self.pooling!r}")
        if self.storage_dtype not in STORAGE_DTYPES:
            raise ValueError(
                f"storage_dtype must be one of {tuple(STORAGE_DTYPES)}, found {self.storage_dtype!r}"
            )
        if not (isinstance(self.max_length, int) and self.max_length >= 8):
            raise ValueError(f"max_length must be an integer >= 8, found {self.max_length!r}")

    # -- the encoder -------------------------------------------------------------------------------
    def load_encoder(self, directory: str | Path) -> EmbeddingClassifier:
        """Take the frozen encoder from a base-model folder (config.json, tokenizer, weights),
        its weights rounded through `storage_dtype` as they will be stored. Returns self."""
        from netralitas.model.backends.embedding.encoder import load_encoder, round_to_storage
        from netralitas.model.backends.transformer.hf_loading import best_device

        self._check_settings()
        tokenizer, encoder = load_encoder(directory, normalize=self.normalize)
        round_to_storage(encoder, self.storage_dtype)
        self._attach_encoder(tokenizer, encoder.to(best_device()), directory)
        return self

    def _attach_encoder(self, tokenizer: Any, encoder: Any, source: str | Path) -> None:
        limit = getattr(encoder.encoder.config, "max_position_embeddings", None)
        if limit is not None and self.max_length > limit:
            raise ValueError(
                f"{source}: max_length {self.max_length} exceeds the encoder's "
                f"max_position_embeddings {limit}"
            )
        self.tokenizer_, self.encoder_ = tokenizer, encoder

    def _check_encoder(self) -> None:
        if not hasattr(self, "encoder_"):
            raise RuntimeError(
                "this EmbeddingClassifier has no encoder; call load_encoder(base_model_folder) "
                "before fitting, or load a trained model with from_pretrained()"
            )

    @property
    def layout(self) -> tuple[tuple[str, int], ...]:
        """The feature columns in order, as `(name, size)` pairs."""
        self._check_encoder()
        hidden = self.encoder_.hidden_size
        blocks = [("text", hidden)]
        if self.use_context:
            blocks += [("context", hidden), ("has_context", 1)]
        if self.stack_tfidf:
            blocks.append(("tfidf", stack_width(len(self._stack_labels()))))
        return tuple(blocks)

    def _stack_labels(self) -> tuple[str, ...]:
        tfidf = getattr(self, "tfidf_", None)
        if tfidf is None:
            raise RuntimeError("stack_tfidf is on but no TF-IDF model is fitted (see fit_stack)")
        return tfidf.labels

    # -- text -> strings -> embeddings ------------------------------------------------------------
    def _view(self, text: str) -> str:
        body = self.normalizer(text) if self.text_view == "normalized" else light_text(text)
        return self.prefix + body

    def _inputs(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The distinct strings to encode, and per input the index of its text and of its context
        among them (-1: no context, or contexts are not read)."""
        texts, contexts = check_inputs(texts, contexts)
        strings: dict[str, int] = {}
        text_index = [strings.setdefault(self._view(t), len(strings)) for t in texts]
        context_index = [
            strings.setdefault(self._view(c), len(strings))
            if self.use_context and c and c.strip()
            else -1
            for c in contexts
        ]
        return (
            list(strings),
            np.array(text_index, dtype=np.int64),
            np.array(context_index, dtype=np.int64),
        )

    def _tokenized(self, strings: list[str]) -> tuple[list[dict[str, list[int]]], np.ndarray]:
        return tokenize(self.tokenizer_, strings, [""] * len(strings), self.max_length)

    def encode(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """The encoder's features `(n, 2 * hidden + 1)` with `use_context`, else `(n, hidden)`:
        `[emb(post), emb(context) or zeros, has_context]`, float64."""
        self._check_encoder()
        strings, text_index, context_index = self._inputs(texts, contexts)
        features, cut = self._tokenized(strings)
        if cut.any():
            logger.warning(
                "%d of %d texts are longer than max_length=%d tokens and were truncated",
                int(cut.sum()),
                len(cut),
                self.max_length,
            )
        plan = self.prepare_inference()
        hidden = self.encoder_.hidden_size
        embeddings = batched_logits(
            self._scoring.network,
            self.tokenizer_,
            features,
            hidden,
            plan.batch_size(self.batch_size),
        )  # (distinct strings, hidden)
        out = embeddings[text_index] if len(text_index) else np.zeros((0, hidden))
        if not self.use_context:
            return out
        has = context_index >= 0
        context = np.zeros((len(text_index), hidden))
        context[has] = embeddings[context_index[has]]
        return np.hstack([out, context, has[:, None].astype(np.float64)])

    def truncated(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Boolean `(n,)`: the post or its context was longer than `max_length` tokens."""
        self._check_encoder()
        strings, text_index, context_index = self._inputs(texts, contexts)
        cut = np.append(self._tokenized(strings)[1], False)  # index -1: no context, not cut
        return cut[text_index] | cut[context_index]

    # -- the stacked TF-IDF feature ---------------------------------------------------------------
    def stack_features(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """The stacked TF-IDF model's log-odds `(n, 1)` (two labels) or centred log-probabilities
        `(n, labels)`; `(n, 0)` without stacking."""
        if not self.stack_tfidf:
            return np.zeros((len(check_inputs(texts, contexts)[0]), 0))
        self._stack_labels()
        return log_odds(self.tfidf_.raw_proba(texts, contexts))

    def fit_stack(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        contexts: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Fit the stacked TF-IDF model on all rows (`tfidf_`) and return the out-of-fold
        feature of each training row (`stack_folds`-fold cross-fitting, stratified); `(n, 0)`
        and `tfidf_ = None` without stacking."""
        texts, contexts = check_inputs(texts, contexts)
        labels = list(labels)
        if not self.stack_tfidf:
            self.tfidf_ = None
            return np.zeros((len(texts), 0))

        def tfidf() -> TfidfClassifier:
            return TfidfClassifier(
                profiles=self.profiles, mask_profiles=self.mask_profiles, **self.tfidf
            )

        oof = out_of_fold(tfidf, texts, labels, contexts, self.stack_folds, self.seed)
        self.tfidf_ = tfidf().fit(texts, labels, contexts)
        return oof

    # -- fitting ----------------------------------------------------------------------------------
    def features(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Every feature column of the head (`layout`): encoder block, then stacked TF-IDF."""
        return np.hstack([self.encode(texts, contexts), self.stack_features(texts, contexts)])

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        contexts: Sequence[str | None] | None = None,
    ) -> EmbeddingClassifier:
        """Encode the posts, fit the stacked TF-IDF (if any) and the head. The encoder must be
        loaded (`load_encoder`)."""
        self._check_encoder()
        texts, contexts = check_inputs(texts, contexts)
        labels = list(labels)
        if len(labels) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels; give one per text")
        x = np.hstack([self.encode(texts, contexts), self.fit_stack(texts, labels, contexts)])
        return self.fit_features(x, labels)

    def fit_features(self, features: np.ndarray, labels: Sequence[str]) -> EmbeddingClassifier:
        """Fit the head with `C` on precomputed `features()` rows (the training recipe encodes
        once and tries several C). Returns self."""
        labels = list(labels)
        if len(set(labels)) < 2:
            raise ValueError(f"training needs at least two labels, found {sorted(set(labels))}")
        layout = self.layout
        if features.shape != (len(labels), sum(size for _, size in layout)):
            raise ValueError(f"features {features.shape} for {len(labels)} rows of {layout}")
        self.head_, self.fit_report_ = fit_head(features, labels, layout, self.C, self.max_iter)
        self.labels_ = self.head_.labels
        return self

    # -- scoring ----------------------------------------------------------------------------------
    def proba_from_features(self, features: np.ndarray) -> np.ndarray:
        if not hasattr(self, "head_"):
            raise RuntimeError(
                "this EmbeddingClassifier is not fitted; call fit() or from_pretrained()"
            )
        return self.head_.proba(features)

    def raw_proba(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """The model's own probabilities `(n, len(labels))`, columns in `labels` order
        (`predict_proba` applies the artifact's calibration to them)."""
        if not hasattr(self, "head_"):
            raise RuntimeError(
                "this EmbeddingClassifier is not fitted; call fit() or from_pretrained()"
            )
        return self.head_.proba(self.features(texts, contexts))

    # -- inference path ---------------------------------------------------------------------------
    def _inference_network(self) -> Any:
        self._check_encoder()
        return self.encoder_

    def with_profiles(self, profiles: Sequence[ElectionProfile]) -> EmbeddingClassifier:
        """The same model reading another election (the stacked TF-IDF too)."""
        other = super().with_profiles(profiles)
        if getattr(other, "tfidf_", None) is not None:
            other.tfidf_ = other.tfidf_.with_profiles(profiles)
        return other

    # -- persistence ------------------------------------------------------------------------------
    def _metadata_to_save(self) -> ArtifactMetadata:
        metadata: ArtifactMetadata | None = getattr(self, "metadata_", None)
        if metadata is None or not hasattr(self, "head_"):
            raise RuntimeError("save_pretrained needs a fitted model with metadata_ (see training)")
        extra = {**metadata.extra, "settings": self.get_settings()}
        if getattr(self, "base_model_revision_", None):
            extra["base_model_revision"] = self.base_model_revision_
        # Masking applies only where the profiles are read: the normalised view, or the stack.
        masked = self.mask_profiles and (self.text_view == "normalized" or self.stack_tfidf)
        return metadata.model_copy(
            update={
                "profiles": tuple(p.id for p in self.profiles),
                "mask_profiles": masked,
                "extra": extra,
            }
        )

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the artifact atomically: encoder, head, stacked TF-IDF, profiles, and
        `netralitas.json` last."""
        from netralitas.model.backends.embedding.encoder import save_encoder

        metadata = self._metadata_to_save()
        with atomic_directory(directory) as tmp:
            save_encoder(self.encoder_, self.tokenizer_, tmp / ENCODER_DIR, self.storage_dtype)
            self.head_.save(tmp)
            if self.stack_tfidf:
                save_stack(self.tfidf_, metadata, tmp / TFIDF_DIR)
            write_profiles(tmp, self.profiles)
            (tmp / "README.md").write_text(render_model_card(metadata), encoding="utf-8")
            write_metadata(tmp, metadata)
        return Path(directory)

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        profiles: Sequence[ElectionProfile] | None = None,
        inference: str = "auto",
    ) -> EmbeddingClassifier:
        """Load an artifact written by `save_pretrained`; `profiles` overrides the stored ones;
        `inference` picks the encoder's scoring path."""
        from netralitas.model.backends.embedding.encoder import load_encoder
        from netralitas.model.backends.transformer.hf_loading import best_device

        check_inference(inference)
        directory = Path(directory)
        metadata = read_metadata(directory, kind=cls.kind)
        stored = read_profiles(directory, metadata.profiles)
        try:
            model = cls(
                profiles=stored if profiles is None else profiles,
                inference=inference,
                **metadata.extra.get("settings", {}),
            )
            model._check_settings()
        except (TypeError, ValueError) as exc:
            raise ArtifactError(
                f"{directory} has settings this netralitas does not read ({exc}); {RETRAIN}"
            ) from exc
        head = LinearHead.load(directory, RETRAIN)
        if head.labels != metadata.labels:
            raise ArtifactError(
                f"{directory}: head labels {head.labels} differ from metadata {metadata.labels}; "
                f"{RETRAIN}"
            )
        encoder_dir = directory / ENCODER_DIR
        if not encoder_dir.is_dir():
            raise ArtifactError(f"{directory} is incomplete: {ENCODER_DIR}/ is missing; {RETRAIN}")
        tokenizer, encoder = load_encoder(encoder_dir, normalize=model.normalize, stored=True)
        try:
            model._attach_encoder(tokenizer, encoder.to(best_device()), encoder_dir)
        except ValueError as exc:
            raise ArtifactError(f"{exc}; {RETRAIN}") from exc
        model.tfidf_ = None
        if model.stack_tfidf:
            model.tfidf_ = load_stack(directory / TFIDF_DIR, model.profiles, head.labels, RETRAIN)
        if head.layout != model.layout:
            raise ArtifactError(
                f"{directory}: the head reads features {list(head.layout)} but the encoder and "
                f"settings give {list(model.layout)}; {RETRAIN}"
            )
        model.head_, model.labels_ = head, head.labels
        model.base_model_revision_ = metadata.extra.get("base_model_revision")
        model.metadata_ = metadata
        model.prepare_inference()
        return model
