"""The decision rule: from probabilities to the side score, the reported label and flag/review/clear.

The "takes a side" score of a post is `1 - p(neutral_label)`, which works for the 2-way scheme
(supportive/neutral) and for finer schemes such as support/attack/neutral alike. The thresholds
are the artifact's own (chosen when it was trained), so every caller decides the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from netralitas.model.artifact import ArtifactMetadata

__all__ = ["Decision", "decide", "side_scores"]

Decision = Literal["flag", "review", "clear"]


def side_scores(proba: np.ndarray, labels: Sequence[str], neutral_label: str) -> np.ndarray:
    """Probability that each post takes a side: `1 - p(neutral)`, shape `(n,)`."""
    return 1.0 - proba[:, list(labels).index(neutral_label)]


def decide(proba: np.ndarray, metadata: ArtifactMetadata) -> tuple[list[str], list[Decision]]:
    """Apply the stored thresholds: the label to report and the review decision for each row.

    A row is `flag` when its side score reaches `thresholds.flag` (the precision threshold), and
    then gets the most probable non-neutral label; `review` in the band down to
    `thresholds.review`; otherwise `clear`. Rows not flagged are reported as the neutral label.
    """
    labels = list(metadata.labels)
    neutral = labels.index(metadata.neutral_label)
    score = 1.0 - proba[:, neutral]
    masked = proba.copy()
    masked[:, neutral] = -1.0
    best_side = masked.argmax(axis=1)
    out_labels: list[str] = []
    decisions: list[Decision] = []
    for s, side in zip(score, best_side, strict=True):
        if s >= metadata.thresholds.flag:
            out_labels.append(labels[side])
            decisions.append("flag")
        else:
            out_labels.append(metadata.neutral_label)
            decisions.append("review" if s >= metadata.thresholds.review else "clear")
    return out_labels, decisions
