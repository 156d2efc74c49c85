"""Checks on label values before they become classes.

Two spellings that differ only in case, surrounding or repeated spaces or accents (`Netral ` and
`netral`) would silently train as two classes; they are an error naming both spellings and the
`--map` that merges them. A label with very few rows cannot be learnt or evaluated; training
refuses it with the counts (`data.min_label_count`).
"""

from __future__ import annotations

import difflib
import shlex
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping

from netralitas.data.columns import map_label
from netralitas.data.errors import DataError

__all__ = ["MIN_LABEL_COUNT", "check_label_counts", "check_label_spellings", "fold_label"]

MIN_LABEL_COUNT = 5


def fold_label(value: str) -> str:
    """`value` without case, accents and extra spaces: `" Nétral "` -> `"netral"`."""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _fix(src: str, dst: str) -> str:
    return "--map " + shlex.quote(f"{src.strip()}={dst}")


def check_label_spellings(
    counts: Mapping[str, int], label_map: Mapping[str, str], where: str
) -> None:
    """Raise when label values (`counts`: value as read -> rows) would become look-alike classes.

    Checked after `label_map`: spellings that map to one label are fine. Also caught: a map key
    that matches no value although a value differs from it only in case or accents.
    """
    problems: list[str] = []
    reported: set[frozenset[str]] = set()
    by_fold: dict[str, list[str]] = defaultdict(list)
    for value in counts:
        by_fold[fold_label(value)].append(value)
    for fold in sorted(by_fold):
        spellings = sorted(by_fold[fold], key=lambda v: (-counts[v], v))
        targets = {map_label(v, label_map) for v in spellings}
        if len(targets) < 2:
            continue
        reported.add(frozenset(targets))
        target = map_label(spellings[0], label_map)
        others = [v for v in spellings[1:] if map_label(v, label_map) != target]
        shown = " and ".join(f"{v!r} ({counts[v]} rows)" for v in [spellings[0], *others])
        fixes = " ".join(_fix(v, target) for v in others)
        problems.append(
            f"labels {shown} differ only in case, spaces or accents and would become separate "
            f"classes; merge them: {fixes}"
        )
    # Different values mapped to look-alike labels, e.g. dukung=Supportive beside supportive.
    final: Counter[str] = Counter()
    for value, n in counts.items():
        final[map_label(value, label_map)] += n
    by_final_fold: dict[str, list[str]] = defaultdict(list)
    for label in final:
        by_final_fold[fold_label(label)].append(label)
    for fold in sorted(by_final_fold):
        labels = sorted(by_final_fold[fold], key=lambda v: (-final[v], v))
        if len(labels) < 2 or frozenset(labels) in reported:
            continue
        shown = " and ".join(f"{v!r} ({final[v]} rows)" for v in labels)
        problems.append(
            f"labels {shown} (after the label map) differ only in case, spaces or accents; "
            f"map them to one spelling, e.g. {_fix(labels[1], labels[0])}"
        )
    used = {key for key in label_map if any(v.strip() == key for v in counts)}
    targets = set(label_map.values())
    for key in sorted(set(label_map) - used):
        # Only a value left unmapped is suspect; one that is already a target (a file written
        # after mapping, such as a cross-validation fold) is not.
        near = [
            v
            for v in counts
            if fold_label(v) == fold_label(key) and v.strip() not in label_map and v not in targets
        ]
        if near:
            problems.append(
                f"--map {key!r} matches no label, but {near[0]!r} ({counts[near[0]]} rows) differs "
                f"from it only in case or accents (map keys are exact); write "
                f"{_fix(near[0], label_map[key])}"
            )
    if problems:
        raise DataError(
            f"{where}: "
            + "\n  ".join(problems)
            + '\n(in a training config: data.label_map = { VALUE = "LABEL" })'
        )


def check_label_counts(counts: Mapping[str, int], min_count: int, where: str) -> None:
    """Raise when a label has fewer than `min_count` rows (training data only)."""
    rare = {label: n for label, n in counts.items() if n < min_count}
    if not rare:
        return
    shown = ", ".join(f"{label!r} {n}" for label, n in sorted(counts.items(), key=lambda x: -x[1]))
    worst = min(rare, key=lambda label: rare[label])
    others = [label for label in counts if label not in rare]
    close = difflib.get_close_matches(worst, others, n=1, cutoff=0.6)
    raise DataError(
        f"{where}: label(s) {', '.join(repr(k) for k in sorted(rare))} have fewer than "
        f"{min_count} rows, too few to learn or evaluate a class (labels: {shown}). Fix or drop "
        f"those rows, merge a misspelt label into another "
        f"({_fix(worst, close[0] if close else 'LABEL')}), or lower data.min_label_count"
    )
