"""Explanations by occlusion (used by the API and by error analysis): remove a word from the original text, re-score, measure the drop.

Occlusion needs only `predict_proba`, so it works the same for the TF-IDF and transformer backends,
and it works on the text as the client sent it: the spans are character offsets into the original
text (`text[start:end]` is the word), never into the normalised form the model reads. A word whose
removal lowers the "takes a side" score pushed the score up; the largest drops are reported.

Long posts are cut into at most `max_spans` runs of consecutive words, so the cost of one
explanation is bounded whatever the length of the text.

>>> word_spans("Gas pol 02!! #HendroJuara 👍")
[(0, 3), (4, 7), (8, 10), (13, 25), (26, 27)]
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Attribution", "attribute", "group_spans", "occluded_texts", "word_spans"]

# A URL; a word (with a leading # or @ and inner hyphens or apostrophes: "hati-hati",
# "#HendroJuara"; invisible characters and keycap marks inside it belong to it, so that
# "cob\u200blos" and "2️⃣" are one span each); or a run of symbols that are not ASCII punctuation
# (emoji, which the normaliser turns into words).
_WORD = "\\w[\\w\u00ad\u200b-\u200f\u2060-\u2064\ufeff\ufe0f\u20e3]*"
_TOKEN = re.compile(rf"(?:https?://|www\.)\S+|[#@]?{_WORD}(?:[-'’]{_WORD})*|[^\w\s!-/:-@\[-`{{-~]+")

Span = tuple[int, int]


@dataclass(frozen=True)
class Attribution:
    """`text[start:end]` lowered the side score by `weight` when it was removed."""

    start: int
    end: int
    text: str
    weight: float


def word_spans(text: str) -> list[Span]:
    """Character spans of the words (and emoji runs) of `text`, in order."""
    return [m.span() for m in _TOKEN.finditer(text)]


def group_spans(spans: Sequence[Span], max_spans: int) -> list[Span]:
    """Merge runs of consecutive spans so that at most `max_spans` remain."""
    if len(spans) <= max_spans:
        return list(spans)
    size = math.ceil(len(spans) / max_spans)
    return [
        (spans[i][0], spans[min(i + size, len(spans)) - 1][1]) for i in range(0, len(spans), size)
    ]


def occluded_texts(text: str, spans: Sequence[Span]) -> list[str]:
    """One variant of `text` per span, with that span replaced by a space (so words never join)."""
    return [f"{text[:start]} {text[end:]}" for start, end in spans]


def attribute(
    text: str,
    spans: Sequence[Span],
    base_score: float,
    occluded_scores: np.ndarray,
    top_k: int,
) -> list[Attribution]:
    """The `top_k` spans whose removal lowered the side score most (only those that lowered it)."""
    drops = base_score - np.asarray(occluded_scores, dtype=float)  # (n_spans,)
    order = np.argsort(-drops, kind="stable")[:top_k]
    return [
        Attribution(spans[i][0], spans[i][1], text[spans[i][0] : spans[i][1]], float(drops[i]))
        for i in order
        if drops[i] > 0
    ]
