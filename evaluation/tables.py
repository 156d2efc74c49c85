"""Tables (pandas DataFrames) built from an evaluation result (the content of `eval.json`).

The HTML report and the notebooks show the same tables, built here once. Intervals are shown as
"low–high" strings; everything else stays numeric, rounded to three decimals, and counts stay
integers (a column that mixes counts and rates is of object dtype, so "381" is not shown as
"381.000"). A table of things that are absent from the data (no `tag` field, no robustness run) is
empty; callers say so instead of showing it (`report.py`, the notebooks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = [
    "calibration_table",
    "comparison_table",
    "confusion_table",
    "cross_table",
    "headline_table",
    "per_class_table",
    "per_tag_table",
    "robustness_examples_table",
    "robustness_table",
    "slices_table",
    "sweep_table",
]


def _r(value: Any) -> Any:
    return round(float(value), 3) if isinstance(value, int | float) and value is not None else value


def _mixed(values: Sequence[Any], index: Sequence[str]) -> pd.Series:
    """Counts and rates in one column: ints stay ints; a missing value is NaN (shown blank)."""
    return pd.Series([math.nan if v is None else v for v in values], index=index, dtype=object)


def _ci(interval: Sequence[float] | None) -> str:
    if not interval:
        return ""
    return f"{interval[0]:.3f}–{interval[1]:.3f}"


def headline_table(result: dict[str, Any]) -> pd.DataFrame:
    """The numbers a reader looks at first, one per row."""
    at = result["at_threshold"]
    rows = [
        ("posts", result["n"], ""),
        ("macro-F1 at the stored threshold", _r(result["macro_f1"]), _ci(result["macro_f1_ci95"])),
        ("macro-F1 at argmax", _r(result["macro_f1_argmax"]), ""),
        ("PR-AUC (takes a side)", _r(result["pr_auc"]), ""),
        ("ROC-AUC (takes a side)", _r(result.get("roc_auc")), ""),
        ("Brier score", _r(result.get("brier")), ""),
        ("expected calibration error", _r(result.get("ece")), ""),
        ("stored flag threshold", _r(at["threshold"]), ""),
        ("precision at the threshold", _r(at["precision"]), ""),
        ("recall at the threshold", _r(at["recall"]), ""),
        ("F1 at the threshold", _r(at.get("f1")), ""),
        ("posts flagged", at["flagged"], ""),
    ]
    rows += [(f"decision: {d}", count, "") for d, count in result["decisions"].items()]
    names, values, intervals = zip(*rows, strict=True)
    # The row names say what each row is: an index without a name (no empty header row).
    return pd.DataFrame(
        {"value": _mixed(values, names), "95% interval": list(intervals)}, index=list(names)
    )


def per_class_table(result: dict[str, Any]) -> pd.DataFrame:
    """Precision, recall and F1 per label with bootstrap intervals."""
    rows = [
        {
            "label": label,
            "precision": _r(m["precision"]),
            "precision 95%": _ci(m.get("precision_ci95")),
            "recall": _r(m["recall"]),
            "recall 95%": _ci(m.get("recall_ci95")),
            "f1": _r(m["f1"]),
            "f1 95%": _ci(m.get("f1_ci95")),
            "support": m["support"],
        }
        for label, m in result["per_class"].items()
    ]
    return pd.DataFrame(rows).set_index("label")


def confusion_table(result: dict[str, Any]) -> pd.DataFrame:
    cm = result["confusion_matrix"]
    return pd.DataFrame(
        cm["rows_true_cols_pred"],
        index=pd.Index(cm["labels"], name="true"),
        columns=pd.Index(cm["labels"], name="predicted"),
    )


def per_tag_table(result: dict[str, Any]) -> pd.DataFrame:
    """Share decided correctly per tag: recall for side-taking tags, specificity for neutral ones."""
    rows = [
        {"tag": t, "n": m["n"], "correct": _r(m["correct"])}
        for t, m in result.get("per_tag", {}).items()
    ]
    return pd.DataFrame(rows, columns=["tag", "n", "correct"]).set_index("tag")


def sweep_table(result: dict[str, Any]) -> pd.DataFrame:
    rows = result["curves"]["threshold_sweep"]
    return pd.DataFrame(rows).round(3).set_index("threshold")


def calibration_table(result: dict[str, Any]) -> pd.DataFrame:
    bins = result["curves"]["calibration"]["bins"]
    frame = pd.DataFrame(bins, columns=["low", "high", "count", "mean_score", "observed"])
    return frame.round(3)


def slices_table(result: dict[str, Any], dimension: str | None = None) -> pd.DataFrame:
    """One row per slice (of one dimension, or all); `too_small` slices are not to be trusted."""
    rows = []
    for dim, slices in result.get("slices", {}).items():
        if dimension is not None and dim != dimension:
            continue
        for name, m in slices.items():
            rows.append(
                {
                    "dimension": dim,
                    "slice": name,
                    "n": m["n"],
                    "too small": "yes" if m["too_small"] else "",
                    "accuracy": _r(m["accuracy"]),
                    "accuracy 95%": _ci(m["accuracy_ci95"]),
                    "macro-F1": _r(m["macro_f1"]),
                    "precision": _r(m["precision"]),
                    "recall": _r(m["recall"]),
                    "flagged": m["flagged"],
                }
            )
    return pd.DataFrame(rows)


def robustness_table(result: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "perturbation": name,
            "what": m["description"],
            "posts changed": m["n_changed"],
            "flips": m["flips"],
            "flip rate": _r(m["flip_rate"]),
            "flip rate 95%": _ci(m["flip_rate_ci95"]),
            "mean |score shift|": _r(m["mean_abs_score_shift"]),
        }
        for name, m in result.get("robustness", {}).items()
    ]
    return pd.DataFrame(rows)


def robustness_examples_table(
    result: dict[str, Any], name: str, flipped: bool | None = None
) -> pd.DataFrame:
    """The stored examples of one perturbation (flips first, then the largest score shifts),
    with a `flipped` column; `flipped=True` keeps only flips, `False` only the others."""
    frame = pd.DataFrame(result.get("robustness", {}).get(name, {}).get("examples", []))
    if frame.empty:
        return frame
    flips = frame["label_before"] != frame["label_after"]
    frame.insert(0, "flipped", flips.map({True: "yes", False: "no"}))
    if flipped is not None:
        frame = frame[flips == flipped].reset_index(drop=True)
    return frame.round(3)


def comparison_table(comparison: dict[str, Any]) -> pd.DataFrame:
    """The paired bootstrap and McNemar results of a two-model comparison, one per row."""
    boot, mc = comparison["paired_bootstrap"], comparison["mcnemar"]
    a, b = comparison["model_a"], comparison["model_b"]
    rows = [
        ("model A", f"{a['name']} {a['version']}"),
        ("model B", f"{b['name']} {b['version']}"),
        ("macro-F1 A", _r(boot["macro_f1_a"])),
        ("macro-F1 B", _r(boot["macro_f1_b"])),
        ("difference A − B", _r(boot["difference"])),
        ("difference 95% (paired bootstrap)", _ci(boot["difference_ci95"])),
        ("bootstrap p-value", _r(boot["p_value"])),
        ("only A right / only B right", f"{mc['a_only']} / {mc['b_only']}"),
        ("both right / both wrong", f"{mc['both_right']} / {mc['both_wrong']}"),
        (f"McNemar ({mc['method']})", _r(mc["statistic"])),
        ("McNemar p-value", _r(mc["p_value"])),
    ]
    names, values = zip(*rows, strict=True)
    return pd.DataFrame({"value": _mixed(values, names)})


def cross_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The rows of `evaluation.cross_evaluate` as a table."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return frame
    frame["macro_f1_ci95"] = frame["macro_f1_ci95"].map(_ci)
    return frame.round(3)
