"""Metrics on slices of an evaluation set: by tag, source, platform, action, election, text length,
with or without context, and whether the post mentions a contestant.

A slice of 12 posts with accuracy 1.0 says little. Every slice reports its size and a Wilson 95%
interval of its accuracy, and slices smaller than `min_size` are flagged `too_small` so that nobody
reads a trend into them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from netralitas.evaluation.metrics import at_threshold, macro_f1, wilson_interval
from netralitas.model.artifact import ArtifactMetadata
from netralitas.model.records import Record
from netralitas.model.text.normalize import TextNormalizer
from netralitas.model.text.profiles import ElectionProfile

__all__ = [
    "LENGTH_BUCKETS",
    "MIN_SLICE_SIZE",
    "SLICE_FIELDS",
    "length_bucket",
    "mentions_contestant",
    "slice_keys",
    "slice_metrics",
]

SLICE_FIELDS = ("tag", "source", "platform", "action", "election")
MIN_SLICE_SIZE = 30
# (upper bound in words, exclusive; name). Tweets mostly fall in the first two; blog posts in the last.
LENGTH_BUCKETS = (
    (10, "short (<10 words)"),
    (30, "medium (10-29 words)"),
    (None, "long (30+ words)"),
)
MISSING = "(none)"


def length_bucket(text: str) -> str:
    """The length bucket of a post, counted in whitespace-separated words."""
    words = len(text.split())
    for limit, name in LENGTH_BUCKETS:
        if limit is None or words < limit:
            return name
    raise AssertionError("the last bucket has no limit")


def mentions_contestant(texts: Sequence[str], profiles: Sequence[ElectionProfile]) -> list[bool]:
    """Whether each text mentions a contestant of `profiles` (name, number, party, slogan, hashtag).

    A thin wrapper: the rule is `TextNormalizer.mentions_contestant`, the one the masking and the
    contestant-swap robustness check use too.
    """
    normalizer = TextNormalizer(profiles)
    return [normalizer.mentions_contestant(t) for t in texts]


def slice_keys(
    records: Sequence[Record], profiles: Sequence[ElectionProfile] = ()
) -> dict[str, list[str]]:
    """For each slicing dimension, the slice name of every record (same order as `records`).

    Record fields that no record fills are left out; records without the field go to "(none)".
    The contestant dimension needs `profiles` and is left out without them.
    """
    keys: dict[str, list[str]] = {}
    for field in SLICE_FIELDS:
        values = [getattr(r, field) for r in records]
        if any(v is not None for v in values):
            keys[field] = [MISSING if v is None else str(v) for v in values]
    keys["length"] = [length_bucket(r.text) for r in records]
    keys["context"] = ["with context" if r.context else "without context" for r in records]
    if profiles:
        mentions = mentions_contestant([r.text for r in records], profiles)
        keys["contestant"] = ["mentions a contestant" if m else "no contestant" for m in mentions]
    return keys


def _one_slice(
    y: np.ndarray, y_dec: np.ndarray, score: np.ndarray, metadata: ArtifactMetadata, min_size: int
) -> dict[str, Any]:
    labels = list(metadata.labels)
    positive = y != metadata.neutral_label
    correct = int(np.sum(y == y_dec))
    at = at_threshold(score, positive, metadata.thresholds.flag)
    present = {str(v) for v in y}
    return {
        "n": len(y),
        "too_small": len(y) < min_size,
        "label_counts": {label: int(np.sum(y == label)) for label in labels},
        "accuracy": correct / len(y),
        "accuracy_ci95": wilson_interval(correct, len(y)),
        # Macro-F1 is meaningless when the slice holds one label only (e.g. tag "support").
        "macro_f1": macro_f1(y, y_dec, labels) if len(present) > 1 else None,
        "precision": at["precision"] if at["flagged"] else None,
        "recall": at["recall"] if positive.any() else None,
        "flagged": at["flagged"],
    }


def slice_metrics(
    y_true: Sequence[str],
    y_decided: Sequence[str],
    scores: np.ndarray,
    metadata: ArtifactMetadata,
    keys: dict[str, list[str]],
    min_size: int = MIN_SLICE_SIZE,
) -> dict[str, dict[str, dict[str, Any]]]:
    """`{dimension: {slice: metrics}}` for the decided labels against the true ones.

    Per slice: `n`, `too_small` (n < min_size), label counts, accuracy with a Wilson interval,
    macro-F1 (None with one label present), precision/recall of "takes a side" at the stored
    threshold (None where undefined) and the number flagged.
    """
    y = np.asarray(list(y_true), dtype=object)
    y_dec = np.asarray(list(y_decided), dtype=object)
    scores = np.asarray(scores, dtype=float)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for dimension, values in keys.items():
        v = np.asarray(values, dtype=object)
        out[dimension] = {
            name: _one_slice(y[v == name], y_dec[v == name], scores[v == name], metadata, min_size)
            for name in sorted(set(values))
        }
    return out
