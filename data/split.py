"""Deduplication and leakage-free train/validation/test splits.

Exact duplicates are judged on normalised text + context. Near-duplicates (character 5-gram Jaccard
above a threshold, found with MinHash LSH so it scales past a few thousand rows) and rows sharing a
`group` are kept on one side of every split, so the test set never contains a reworded copy of a
training row.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from netralitas.data.records import DataError
from netralitas.model.records import Record
from netralitas.model.text.normalize import normalize_text

__all__ = ["SplitResult", "deduplicate", "near_duplicate_pairs", "record_groups", "split_records"]

_PRIME = (1 << 61) - 1


def _key(record: Record) -> str:
    return (
        normalize_text(record.text)
        + " || "
        + (normalize_text(record.context) if record.context else "")
    )


def deduplicate(records: Sequence[Record]) -> tuple[list[Record], int]:
    """Drop later rows whose normalised text+context repeats an earlier one; return (kept, dropped).

    Two copies with different labels are a labelling conflict: the first one is kept.
    """
    seen: set[str] = set()
    kept = []
    for record in records:
        key = _key(record)
        if key not in seen:
            seen.add(key)
            kept.append(record)
    return kept, len(records) - len(kept)


def _shingles(text: str, n: int = 5) -> set[int]:
    text = " ".join(text.split())
    return {zlib.crc32(text[i : i + n].encode()) for i in range(max(1, len(text) - n + 1))}


def jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def near_duplicate_pairs(
    texts: Sequence[str], threshold: float = 0.8, num_perm: int = 64, bands: int = 16, seed: int = 0
) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard) of texts whose character 5-gram Jaccard exceeds `threshold`.

    MinHash with `bands` LSH bands proposes candidates; each candidate is verified exactly, so the
    result has no false positives (and, at a 0.8 threshold, misses almost none).
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(1, _PRIME, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, _PRIME, size=num_perm, dtype=np.uint64)
    shingles = [_shingles(t) for t in texts]
    rows = num_perm // bands
    buckets: dict[tuple[int, bytes], list[int]] = {}
    for i, sh in enumerate(shingles):
        x = np.fromiter(sh, dtype=np.uint64)
        # (num_perm, n_shingles) -> min over shingles; uint64 arithmetic wraps, which is fine here.
        sig = ((np.outer(a, x) + b[:, None]) % np.uint64(_PRIME)).min(axis=1)
        for band in range(bands):
            buckets.setdefault((band, sig[band * rows : (band + 1) * rows].tobytes()), []).append(i)
    candidates = {
        (members[p], members[q])
        for members in buckets.values()
        if len(members) > 1
        for p in range(len(members))
        for q in range(p + 1, len(members))
    }
    pairs = []
    for i, j in sorted(candidates):
        score = jaccard(shingles[i], shingles[j])
        if score > threshold:
            pairs.append((i, j, score))
    return pairs


def record_groups(records: Sequence[Record], threshold: float = 0.8) -> np.ndarray:
    """Union-find over shared `group` ids and near-duplicate pairs; one integer id per row."""
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    first_of_group: dict[str, int] = {}
    for i, record in enumerate(records):
        if record.group is not None:
            union(i, first_of_group.setdefault(record.group, i))
    # Text alone, not text+context: the same reply under two posts must stay on one side.
    for i, j, _ in near_duplicate_pairs([normalize_text(r.text) for r in records], threshold):
        union(i, j)
    return np.array([find(i) for i in range(len(records))])


@dataclass
class SplitResult:
    train: list[Record]
    validation: list[Record]
    test: list[Record]
    duplicates_dropped: int
    groups: int


def split_records(
    records: Sequence[Record],
    validation: float = 0.1,
    test: float = 0.1,
    seed: int = 13,
    near_duplicate_threshold: float = 0.8,
    source: str = "the data",
) -> SplitResult:
    """Deduplicate, then split stratified by label with groups and near-duplicates kept together."""
    from sklearn.model_selection import StratifiedGroupKFold

    if not 0 < validation < 0.5 or not 0 < test < 0.5:
        raise ValueError(
            f"validation and test must be fractions in (0, 0.5), found {validation}, {test}"
        )
    missing = [i for i, r in enumerate(records) if r.label is None]
    if missing:
        raise ValueError(f"every record needs a label to be split; rows {missing[:10]} have none")
    kept, dropped = deduplicate(records)
    groups = record_groups(kept, near_duplicate_threshold)
    labels = np.array([r.label for r in kept])
    n_folds = max(3, round(1 / min(validation, test)))
    for label in sorted(set(labels)):
        n_groups = len(set(groups[labels == label].tolist()))
        if n_groups < n_folds:
            raise DataError(
                f"{source}: label {str(label)!r} has {n_groups} independent row group(s) after deduplication; "
                f"a {validation:.0%}/{test:.0%} split needs at least {n_folds} per label. Add data, "
                "or pass fixed train/validation files instead of one file to split"
            )
    folds = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    fold_of = np.empty(len(kept), dtype=int)
    for fold, (_, idx) in enumerate(folds.split(np.zeros(len(kept)), labels, groups)):
        fold_of[idx] = fold
    n_test = max(1, round(test * n_folds))
    n_val = max(1, round(validation * n_folds))
    part = np.where(fold_of < n_test, 2, np.where(fold_of < n_test + n_val, 1, 0))
    return SplitResult(
        train=[r for r, p in zip(kept, part, strict=True) if p == 0],
        validation=[r for r, p in zip(kept, part, strict=True) if p == 1],
        test=[r for r, p in zip(kept, part, strict=True) if p == 2],
        duplicates_dropped=dropped,
        groups=len(set(groups.tolist())),
    )
