"""The TF-IDF + logistic regression baseline.

Features: stemmed word n-grams and character n-grams of the post, and a separate block of word
n-grams of the context (the post a comment answers or a share forwards), so that "Siap, Pak!" can
be read differently under a campaign post. Stored with skops, never pickle.
"""

from __future__ import annotations

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
from netralitas.model.inference import check_inference
from netralitas.model.text.profiles import ElectionProfile
from netralitas.model.text.stemming import StemTokenizer

__all__ = ["TfidfClassifier"]

MODEL_FILE = "model.skops"
# Reviewed list of the types skops may rebuild from model.skops (besides its own safe defaults).
TRUSTED_TYPES = frozenset(
    {
        "netralitas.model.text.stemming.StemTokenizer",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.feature_extraction.text.TfidfVectorizer",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.pipeline.FeatureUnion",
        "sklearn.pipeline.Pipeline",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.utils._bunch.Bunch",
        "builtins.slice",
        "numpy.float64",
        "numpy.int64",
        "numpy.dtype",
        "collections.defaultdict",
        "builtins.int",
    }
)


class TfidfClassifier(ProfileReading):
    """TF-IDF word + character n-grams, context block, class-weighted logistic regression.

    The constructor only stores settings (scikit-learn contract); `fit` learns `pipeline_` and
    `labels_`. Training code attaches `metadata_` (thresholds, metrics) before `save_pretrained`.
    """

    kind = "tfidf"

    def __init__(
        self,
        profiles: Sequence[ElectionProfile] = (),
        mask_profiles: bool = True,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (2, 5),
        min_df: int = 1,
        max_char_features: int = 300_000,
        C: float = 4.0,
        stem: bool = True,
        use_context: bool = True,
        max_iter: int = 3000,
    ) -> None:
        self.profiles = tuple(profiles)
        self.mask_profiles = mask_profiles
        self.word_ngram_range = tuple(word_ngram_range)
        self.char_ngram_range = tuple(char_ngram_range)
        self.min_df = min_df
        self.max_char_features = max_char_features
        self.C = C
        self.stem = stem
        self.use_context = use_context
        self.max_iter = max_iter

    def get_settings(self) -> dict[str, Any]:
        """Constructor settings other than profiles (stored in the artifact)."""
        return {
            "mask_profiles": self.mask_profiles,
            "word_ngram_range": list(self.word_ngram_range),
            "char_ngram_range": list(self.char_ngram_range),
            "min_df": self.min_df,
            "max_char_features": self.max_char_features,
            "C": self.C,
            "stem": self.stem,
            "use_context": self.use_context,
            "max_iter": self.max_iter,
        }

    def _build(self, with_context: bool):
        from sklearn.compose import ColumnTransformer
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        def words(ngrams: tuple[int, int]) -> TfidfVectorizer:
            return TfidfVectorizer(
                tokenizer=StemTokenizer(stem=self.stem),
                token_pattern=None,
                lowercase=False,
                ngram_range=ngrams,
                min_df=self.min_df,
                sublinear_tf=True,
            )

        chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=self.char_ngram_range,
            lowercase=False,
            min_df=self.min_df,
            max_features=self.max_char_features,
            sublinear_tf=True,
        )
        blocks = [
            ("text", FeatureUnion([("word", words(self.word_ngram_range)), ("char", chars)]), 0)
        ]
        if with_context:
            blocks.append(("context", words((1, 2)), 1))
        return Pipeline(
            [
                ("features", ColumnTransformer(blocks)),
                (
                    "clf",
                    LogisticRegression(C=self.C, class_weight="balanced", max_iter=self.max_iter),
                ),
            ]
        )

    def _matrix(self, texts: Sequence[str], contexts: Sequence[str | None] | None) -> np.ndarray:
        texts, contexts = check_inputs(texts, contexts)
        norm = self.normalizer
        x = np.empty((len(texts), 2), dtype=object)
        x[:, 0] = [norm(t) for t in texts]
        x[:, 1] = [norm(c) if c else "" for c in contexts]
        return x

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        contexts: Sequence[str | None] | None = None,
    ) -> TfidfClassifier:
        labels = list(labels)
        if len(labels) != len(texts):
            raise ValueError(
                f"{len(texts)} texts but {len(labels)} labels; give one label per text"
            )
        if len(set(labels)) < 2:
            raise ValueError(f"training needs at least two labels, found {sorted(set(labels))}")
        x = self._matrix(texts, contexts)
        # Without any context in the training data a context block would have no vocabulary.
        self.pipeline_ = self._build(with_context=self.use_context and any(x[:, 1])).fit(x, labels)
        self.labels_ = tuple(str(c) for c in self.pipeline_.classes_)
        return self

    def predict_proba(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Probabilities of shape `(n, len(labels))`, columns in `labels` order."""
        if not hasattr(self, "pipeline_"):
            raise RuntimeError(
                "this TfidfClassifier is not fitted; call fit() or from_pretrained()"
            )
        x = self._matrix(texts, contexts)
        if len(x) == 0:
            return np.zeros((0, len(self.labels_)))
        return self.pipeline_.predict_proba(x)

    def truncated(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """TF-IDF reads every word of any length: nothing is ever truncated."""
        texts, _ = check_inputs(texts, contexts)
        return np.zeros(len(texts), dtype=bool)

    # -- persistence -----------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the artifact atomically; needs `metadata_` (set by training)."""
        import skops.io as sio

        metadata: ArtifactMetadata | None = getattr(self, "metadata_", None)
        if metadata is None or not hasattr(self, "pipeline_"):
            raise RuntimeError("save_pretrained needs a fitted model with metadata_ (see training)")
        with atomic_directory(directory) as tmp:
            sio.dump(self.pipeline_, tmp / MODEL_FILE)
            write_profiles(tmp, self.profiles)
            write_metadata(tmp, metadata)
        return Path(directory)

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        profiles: Sequence[ElectionProfile] | None = None,
        inference: str = "auto",
    ) -> TfidfClassifier:
        """Load an artifact written by `save_pretrained`; `profiles` overrides the stored ones.
        `inference` is validated and otherwise ignored: TF-IDF computes one way."""
        import skops.io as sio

        check_inference(inference)

        directory = Path(directory)
        metadata = read_metadata(directory, kind=cls.kind)
        path = directory / MODEL_FILE
        if not path.is_file():
            raise ArtifactError(f"{directory} is incomplete: {MODEL_FILE} is missing; retrain it")
        try:
            untrusted = set(sio.get_untrusted_types(file=path))
            unexpected = sorted(untrusted - TRUSTED_TYPES)
            if unexpected:
                raise ArtifactError(
                    f"{path} contains types outside the reviewed list: {unexpected}; refusing to "
                    "load it (it was not written by this netralitas, or has been tampered with)"
                )
            pipeline = sio.load(path, trusted=sorted(untrusted))
        except ArtifactError:
            raise
        except Exception as exc:  # skops raises many types for damaged files
            raise ArtifactError(f"{path} is corrupt or unreadable ({exc}); retrain it") from exc
        stored = read_profiles(directory, metadata.profiles)
        settings = metadata.extra.get("settings", {})
        model = cls(profiles=stored if profiles is None else profiles, **settings)
        model.pipeline_ = pipeline
        model.labels_ = tuple(str(c) for c in pipeline.classes_)
        model.metadata_ = metadata
        if model.labels_ != metadata.labels:
            raise ArtifactError(
                f"{path} labels {model.labels_} differ from metadata {metadata.labels}"
            )
        return model
