"""Batch scoring of a file with a trained artifact (`netralitas score`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from netralitas.model.classifier import Classifier, decide, side_scores

from .records import Record

__all__ = ["score_records"]


def score_records(
    model: Classifier, records: Sequence[Record], batch_size: int = 256, progress: bool = False
) -> Iterator[dict[str, Any]]:
    """Yield one output row per record, in input order.

    Each row carries the input `id` (or the 1-based row number), the decided `label`, the
    review `decision`, the side `score`, every label's probability and the model name/version.
    """
    from tqdm.auto import tqdm

    meta = model.metadata_
    model_info = {"name": meta.name, "version": meta.version}
    bar = tqdm(total=len(records), unit="post", disable=not progress or len(records) < 1000)
    for start in range(0, len(records), batch_size):
        batch = records[start : start + batch_size]
        proba = model.predict_proba([r.text for r in batch], [r.context for r in batch])
        labels, decisions = decide(proba, meta)
        scores = side_scores(proba, model.labels, meta.neutral_label)
        for offset, record in enumerate(batch):
            yield {
                "id": record.id if record.id is not None else str(start + offset + 1),
                "label": labels[offset],
                "decision": decisions[offset],
                "score": round(float(scores[offset]), 6),
                "scores": {
                    label: round(float(p), 6)
                    for label, p in zip(model.labels, proba[offset], strict=True)
                },
                "model": model_info,
            }
        bar.update(len(batch))
    bar.close()
