"""The TF-IDF + logistic regression baseline.

Features: stemmed word n-grams and character n-grams of the post, and a separate block of word
n-grams of the context (the post a comment answers or a share forwards), so that "Siap, Pak!" can
be read differently under a campaign post. The context block exists only when `use_context` is on
and the training data had any context (without one it would have no vocabulary).

Each block's terms come from one analyzer in model/backends/tfidf_features.py (stemmed word
n-grams, `char_wb` character n-grams), used by fitting and scoring alike. Fitting runs a
scikit-learn pipeline whose `TfidfVectorizer`s are given those analyzers (scikit-learn counts,
prunes and computes idf), then keeps only what scoring needs: per feature block its terms and idf
weights (a `TfidfBlock`), and the logistic regression's `coef_` and `intercept_`. Scoring, right
after fitting and after loading alike, needs numpy only (no scikit-learn, no scipy, so loading is
quick): the blocks' TF-IDF matrices side by side, `logits = X @ coef.T + intercept`, then for two
labels `[1 - sigmoid, sigmoid]` and for more a softmax: the same arithmetic, in the same order, as
scikit-learn's `LogisticRegression.predict_proba`, so the probabilities equal the fitted
pipeline's.

Artifact files (besides `netralitas.json` and `profiles/`, see model/artifact.py); no pickle and
nothing executable, the settings that configure the blocks are in `netralitas.json`
(`extra.settings`)::

    tfidf.safetensors  float64 tensors: "coef" (1 row for two labels, else one per label; one
                       column per feature), "intercept", and "idf.<block>" per block
    vocabulary.json    {"labels": [...], "blocks": [{"name": "word" | "char" | "context",
                       "terms": [term of column 0, term of column 1, ...]}, ...]}; the features
                       are the blocks in this order, each block's columns in its term order

Artifacts written by older versions (`model.skops`) are refused with a request to retrain.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from netralitas.model.backends.tfidf_features import CharWbNgrams, TfidfBlock, WordNgrams
from netralitas.model.inference import check_inference
from netralitas.model.text.profiles import ElectionProfile

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["TfidfClassifier"]

WEIGHTS_FILE = "tfidf.safetensors"
VOCABULARY_FILE = "vocabulary.json"
OLD_MODEL_FILE = "model.skops"  # format_version 1 (skops); no longer read
TEXT_BLOCKS = ("word", "char")  # read the post (column 0 of `_matrix`)
CONTEXT_BLOCK = "context"  # reads the context (column 1)
CONTEXT_NGRAM_RANGE = (1, 2)
CHUNK = 2048  # posts scored at a time: bounds the memory of the n-grams of a large batch


class TfidfClassifier(ProfileReading):
    """TF-IDF word + character n-grams, context block, class-weighted logistic regression.

    The constructor only stores settings (scikit-learn contract); `fit` learns `labels_`, the
    feature blocks `blocks_` (name, `TfidfBlock`) and the linear layer `coef_`, `intercept_`.
    Training code attaches `metadata_` (thresholds, metrics) before `save_pretrained`.
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

    def _analyzer(self, block: str) -> WordNgrams | CharWbNgrams:
        """The analyzer (normalised text -> terms) of one feature block, for fitting and scoring."""
        if block == "char":
            return CharWbNgrams(self.char_ngram_range)
        if block == "word":
            return WordNgrams(self.word_ngram_range, stem=self.stem)
        if block == CONTEXT_BLOCK:
            return WordNgrams(CONTEXT_NGRAM_RANGE, stem=self.stem)
        raise ValueError(f"unknown TF-IDF block {block!r}")

    def _vectorizer(self, block: str) -> TfidfVectorizer:
        """The scikit-learn vectorizer that fits one feature block: it counts the terms of the
        block's analyzer, prunes them (`min_df`, `max_features`) and computes idf."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(
            analyzer=self._analyzer(block),
            lowercase=False,
            min_df=self.min_df,
            max_features=self.max_char_features if block == "char" else None,
            sublinear_tf=True,
        )

    def _build(self, with_context: bool):
        """The scikit-learn pipeline that fitting runs (column 0: post, column 1: context)."""
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        text = FeatureUnion([(name, self._vectorizer(name)) for name in TEXT_BLOCKS])
        blocks = [("text", text, 0)]
        if with_context:
            blocks.append((CONTEXT_BLOCK, self._vectorizer(CONTEXT_BLOCK), 1))
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
        with_context = bool(self.use_context and any(x[:, 1]))
        pipeline = self._build(with_context).fit(x, labels)
        features = pipeline.named_steps["features"].named_transformers_
        fitted = dict(features["text"].transformer_list)
        if with_context:
            fitted[CONTEXT_BLOCK] = features[CONTEXT_BLOCK]
        clf = pipeline.named_steps["clf"]
        # Keep only what scoring needs, in the form loading rebuilds: one scoring path.
        self._set_fitted(
            tuple(str(c) for c in clf.classes_),
            [
                (name, fitted[name].get_feature_names_out().tolist(), fitted[name].idf_)
                for name in (*TEXT_BLOCKS, CONTEXT_BLOCK)
                if name in fitted
            ],
            clf.coef_,
            clf.intercept_,
        )
        return self

    def _set_fitted(
        self,
        labels: tuple[str, ...],
        blocks: Sequence[tuple[str, list[str], np.ndarray]],
        coef: np.ndarray,
        intercept: np.ndarray,
    ) -> None:
        """Install a fitted model from its parts: labels, (name, terms, idf) per block in column
        order, and the linear layer. Raises ValueError if the parts do not fit together."""
        names = [name for name, _, _ in blocks]
        if names not in (list(TEXT_BLOCKS), [*TEXT_BLOCKS, CONTEXT_BLOCK]):
            raise ValueError(f"blocks {names}; expected {list(TEXT_BLOCKS)} (+ {CONTEXT_BLOCK!r})")
        if CONTEXT_BLOCK in names and not self.use_context:
            raise ValueError("a context block, but the settings say use_context = false")
        if len(labels) < 2 or list(labels) != sorted(set(labels)):
            raise ValueError(f"labels {list(labels)} are not at least two, sorted and distinct")
        coef = np.array(coef, dtype=np.float64, order="C")  # owned copies, not views of a file
        intercept = np.array(intercept, dtype=np.float64)
        rows = 1 if len(labels) == 2 else len(labels)
        columns = sum(len(terms) for _, terms, _ in blocks)
        if coef.shape != (rows, columns) or intercept.shape != (rows,):
            raise ValueError(
                f"coef {coef.shape} and intercept {intercept.shape} do not match {len(labels)} "
                f"labels and {columns} terms (expected ({rows}, {columns}) and ({rows},))"
            )
        fitted = []
        for name, terms, idf in blocks:
            idf = np.array(idf, dtype=np.float64)
            if idf.shape != (len(terms),):
                raise ValueError(f"block {name!r}: {len(terms)} terms but idf {idf.shape}")
            if not terms:
                raise ValueError(f"block {name!r} has no terms")
            # Duplicate terms raise ValueError ("Duplicate term in vocabulary: ...").
            fitted.append((name, TfidfBlock(self._analyzer(name), terms, idf)))
        for name, array in [("coef", coef), ("intercept", intercept)] + [
            (f"idf.{n}", b.idf) for n, b in fitted
        ]:
            if not np.isfinite(array).all():
                raise ValueError(f"{name} has values that are not finite")
        self.labels_ = tuple(labels)
        self.blocks_ = tuple(fitted)
        self.coef_ = coef
        self.intercept_ = intercept

    def _logits(self, x: np.ndarray) -> np.ndarray:
        """`X @ coef.T + intercept` for the rows of `x`, X being the blocks' TF-IDF matrices side
        by side, computed as scipy multiplies a CSR matrix by a dense one: per row, the entries
        in column order, summed one after the other from zero; then the intercept is added."""
        rows, cols, values = [], [], []
        offset = 0
        for name, block in self.blocks_:
            r, c, v = block.transform(x[:, 1 if name == CONTEXT_BLOCK else 0].tolist())
            rows.append(r)
            cols.append(c + offset)
            values.append(v)
            offset += len(block)
        # Each block is sorted by (row, column) and the blocks come in column order, so a stable
        # sort by row puts all entries in (row, column) order.
        order = np.argsort(np.concatenate(rows), kind="stable")
        rows, cols, values = (np.concatenate(a)[order] for a in (rows, cols, values))
        logits = np.empty((len(x), len(self.coef_)))
        for k, coef in enumerate(self.coef_):
            logits[:, k] = np.bincount(rows, weights=values * coef[cols], minlength=len(x))
        return logits + self.intercept_

    def raw_proba(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """The model's own probabilities `(n, len(labels))`, columns in `labels` order
        (`predict_proba` applies the artifact's calibration to them)."""
        if not hasattr(self, "coef_"):
            raise RuntimeError(
                "this TfidfClassifier is not fitted; call fit() or from_pretrained()"
            )
        x = self._matrix(texts, contexts)
        if len(x) == 0:
            return np.zeros((0, len(self.labels_)))
        # As LogisticRegression.predict_proba (scikit-learn 1.9): decision_function, then
        # [1 - expit, expit] for two classes, a max-shifted softmax for more.
        scores = np.concatenate([self._logits(x[i : i + CHUNK]) for i in range(0, len(x), CHUNK)])
        if scores.shape[1] == 1:
            p = np.array([_expit(v) for v in scores.reshape(-1).tolist()])
            return np.stack([1 - p, p], axis=1)
        scores -= scores.max(axis=1).reshape(-1, 1)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1).reshape(-1, 1)
        return scores

    def truncated(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """TF-IDF reads every word of any length: nothing is ever truncated."""
        texts, _ = check_inputs(texts, contexts)
        return np.zeros(len(texts), dtype=bool)

    # -- persistence -----------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the artifact atomically; needs `metadata_` (set by training)."""
        from safetensors.numpy import save

        metadata: ArtifactMetadata | None = getattr(self, "metadata_", None)
        if metadata is None or not hasattr(self, "coef_"):
            raise RuntimeError("save_pretrained needs a fitted model with metadata_ (see training)")
        tensors = {"coef": self.coef_, "intercept": self.intercept_}
        tensors.update({f"idf.{name}": b.idf for name, b in self.blocks_})
        vocabulary = {
            "labels": list(self.labels_),
            "blocks": [{"name": name, "terms": list(b.terms)} for name, b in self.blocks_],
        }
        with atomic_directory(directory) as tmp:
            # Bytes written like every other file (the file permissions follow the umask).
            (tmp / WEIGHTS_FILE).write_bytes(
                save({k: np.ascontiguousarray(a, dtype=np.float64) for k, a in tensors.items()})
            )
            # ASCII escapes keep any character (even a lone surrogate from odd input) readable.
            (tmp / VOCABULARY_FILE).write_text(
                json.dumps(vocabulary, ensure_ascii=True, separators=(",", ":")), "ascii"
            )
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
        check_inference(inference)

        directory = Path(directory)
        metadata = read_metadata(directory, kind=cls.kind)
        retrain = "retrain it with `netralitas train`"
        for name in (WEIGHTS_FILE, VOCABULARY_FILE):
            if not (directory / name).is_file():
                if (directory / OLD_MODEL_FILE).is_file():
                    raise ArtifactError(
                        f"{directory} was written by an older netralitas (skops format); "
                        "retrain with `netralitas train`"
                    )
                raise ArtifactError(f"{directory} is incomplete: {name} is missing; {retrain}")
        tensors = _read_tensors(directory / WEIGHTS_FILE, retrain)
        labels, blocks = _read_vocabulary(directory / VOCABULARY_FILE, retrain)
        if labels != metadata.labels:
            raise ArtifactError(
                f"{directory / VOCABULARY_FILE} labels {labels} differ from metadata "
                f"{metadata.labels}; {retrain}"
            )
        expected = {"coef", "intercept", *(f"idf.{name}" for name, _ in blocks)}
        if set(tensors) != expected:
            raise ArtifactError(
                f"{directory / WEIGHTS_FILE} holds tensors {sorted(tensors)}, but "
                f"{VOCABULARY_FILE} needs {sorted(expected)}; {retrain}"
            )
        stored = read_profiles(directory, metadata.profiles)
        settings = metadata.extra.get("settings", {})
        try:
            model = cls(profiles=stored if profiles is None else profiles, **settings)
        except TypeError as exc:
            raise ArtifactError(
                f"{directory} has settings this netralitas does not know ({exc}); {retrain}"
            ) from exc
        try:
            model._set_fitted(
                labels,
                [(name, terms, tensors[f"idf.{name}"]) for name, terms in blocks],
                tensors["coef"],
                tensors["intercept"],
            )
        except ValueError as exc:
            raise ArtifactError(
                f"{directory}: {WEIGHTS_FILE} and {VOCABULARY_FILE} do not agree ({exc}); {retrain}"
            ) from exc
        model.metadata_ = metadata
        return model


def _expit(x: float) -> float:
    """The logistic function as scipy.special.expit (which scikit-learn uses) computes it:
    `1 / (1 + exp(-x))` with the C library's exp, as `math.exp` is; numpy's own exp can differ in
    the last bit."""
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:  # exp(-x) beyond the largest float: scipy's exp gives inf, hence 0
        return 0.0


def _read_tensors(path: Path, retrain: str) -> dict[str, np.ndarray]:
    """The float64 tensors of `tfidf.safetensors` (safetensors holds raw numbers only)."""
    from safetensors.numpy import load_file

    try:
        tensors = load_file(path)
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise ArtifactError(f"{path} is corrupt or unreadable ({exc}); {retrain}") from exc
    for name, array in tensors.items():
        if array.dtype != np.float64:
            raise ArtifactError(f"{path}: tensor {name!r} is {array.dtype}, not float64; {retrain}")
    return tensors


def _read_vocabulary(
    path: Path, retrain: str
) -> tuple[tuple[str, ...], list[tuple[str, list[str]]]]:
    """Labels and (block name, terms) pairs of `vocabulary.json`, checked for shape."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is corrupt ({exc}); {retrain}") from exc

    def strings(value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(s, str) for s in value)

    blocks = raw.get("blocks") if isinstance(raw, dict) else None
    if (
        not strings(raw.get("labels") if isinstance(raw, dict) else None)
        or not isinstance(blocks, list)
        or not all(
            isinstance(b, dict) and isinstance(b.get("name"), str) and strings(b.get("terms"))
            for b in blocks
        )
    ):
        raise ArtifactError(
            f"{path} is not a TF-IDF vocabulary (expected {{'labels': [str], 'blocks': "
            f"[{{'name': str, 'terms': [str]}}]}}); {retrain}"
        )
    return tuple(raw["labels"]), [(b["name"], b["terms"]) for b in blocks]
