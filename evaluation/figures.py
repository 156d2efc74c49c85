"""Figures of an evaluation result (the content of `eval.json`), drawn with matplotlib.

Figures are built with matplotlib's object API (`matplotlib.figure.Figure`) and rendered by the Agg
canvas: no pyplot, no global backend switch, no display needed, and matplotlib is imported only when
a figure is drawn (never on `import netralitas`).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "calibration_figure",
    "comparison_figure",
    "confusion_figure",
    "pr_roc_figure",
    "robustness_figure",
    "slices_figure",
    "sweep_figure",
    "to_png",
]

SIZE = (6.4, 4.0)


def _figure(size: tuple[float, float] = SIZE) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def to_png(figure: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (Agg canvas)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def confusion_figure(result: dict[str, Any]) -> Figure:
    """Confusion matrix at the stored threshold, counts and row shares in each cell."""
    import numpy as np

    cm = result["confusion_matrix"]
    counts = np.asarray(cm["rows_true_cols_pred"], dtype=float)  # (true, predicted)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = _figure((4.6, 3.8))
    ax = fig.add_subplot()
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    labels = cm["labels"]
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted (stored threshold)")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            colour = "white" if shares[i, j] > 0.6 else "black"
            ax.text(
                j,
                i,
                f"{int(counts[i, j])}\n{shares[i, j]:.0%}",
                ha="center",
                va="center",
                color=colour,
            )
    ax.set_title("Confusion matrix")
    return fig


def pr_roc_figure(result: dict[str, Any]) -> Figure:
    """Precision-recall and ROC curves of the side score, the stored threshold marked."""
    curves, at = result["curves"], result["at_threshold"]
    fig = _figure((9.0, 3.8))
    pr_ax, roc_ax = fig.subplots(1, 2)
    pr = curves["pr"]
    pr_ax.plot(pr["recall"], pr["precision"], color="C0")
    pr_ax.scatter([at["recall"]], [at["precision"]], color="C3", zorder=3, label="stored threshold")
    pr_ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02))
    pr_ax.set_title(f"Precision-recall (AP {result['pr_auc']:.3f})")
    pr_ax.legend(loc="lower left")
    roc = curves["roc"]
    roc_ax.plot(roc["fpr"], roc["tpr"], color="C0")
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    roc_ax.set(
        xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.02)
    )
    roc_ax.set_title(f"ROC (AUC {roc['auc']:.3f})")
    return fig


def calibration_figure(result: dict[str, Any]) -> Figure:
    """Reliability diagram: mean score against observed share of side-taking posts per bin."""
    cal = result["curves"]["calibration"]
    fig = _figure((4.8, 4.0))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    bins = cal["bins"]
    ax.plot(
        [b["mean_score"] for b in bins], [b["observed"] for b in bins], marker="o", label="model"
    )
    for b in bins:
        ax.annotate(
            str(b["count"]),
            (b["mean_score"], b["observed"]),
            fontsize=7,
            xytext=(3, -9),
            textcoords="offset points",
        )
    ax.set(
        xlabel="mean side score in bin", ylabel="share that takes a side", xlim=(0, 1), ylim=(0, 1)
    )
    ax.set_title(f"Reliability (ECE {cal['ece']:.3f}, Brier {cal['brier']:.3f})")
    ax.legend(loc="upper left")
    return fig


def sweep_figure(result: dict[str, Any]) -> Figure:
    """Precision, recall and F1 of "takes a side" as the flag threshold moves."""
    rows = result["curves"]["threshold_sweep"]
    fig = _figure()
    ax = fig.add_subplot()
    t = [r["threshold"] for r in rows]
    for key in ("precision", "recall", "f1"):
        ax.plot(t, [r[key] for r in rows], marker=".", label=key)
    ax.axvline(
        result["at_threshold"]["threshold"], color="C3", linestyle="--", label="stored threshold"
    )
    ax.set(xlabel="flag threshold on the side score", ylim=(0, 1.02), xlim=(0, 1))
    ax.set_title("Threshold trade-off")
    ax.legend(loc="lower left")
    return fig


def _interval_bars(
    ax: Any, names: list[str], values: list[float], intervals: list[list[float]], faded: list[bool]
) -> None:
    import numpy as np

    v = np.asarray(values, dtype=float)
    ci = np.asarray(intervals, dtype=float).reshape(-1, 2)
    err = np.vstack([v - ci[:, 0], ci[:, 1] - v]).clip(min=0)
    colours = ["lightgrey" if f else "C0" for f in faded]
    ax.barh(range(len(names)), v, xerr=err, color=colours, capsize=3)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()


def slices_figure(result: dict[str, Any], dimension: str) -> Figure:
    """Accuracy with Wilson intervals per slice of one dimension; too-small slices in grey."""
    slices = result["slices"][dimension]
    names = [f"{name} (n={m['n']})" for name, m in slices.items()]
    fig = _figure((6.4, 0.9 + 0.35 * len(names)))
    ax = fig.add_subplot()
    _interval_bars(
        ax,
        names,
        [m["accuracy"] for m in slices.values()],
        [m["accuracy_ci95"] for m in slices.values()],
        [m["too_small"] for m in slices.values()],
    )
    ax.set(xlim=(0, 1), xlabel="accuracy at the stored threshold (grey: too small to trust)")
    ax.set_title(f"By {dimension}")
    return fig


def robustness_figure(result: dict[str, Any]) -> Figure:
    """Flip rate with Wilson intervals per perturbation."""
    rob = {k: m for k, m in result.get("robustness", {}).items() if m["n_changed"]}
    names = [f"{k} (n={m['n_changed']})" for k, m in rob.items()]
    fig = _figure((6.4, 0.9 + 0.45 * max(1, len(names))))
    ax = fig.add_subplot()
    if names:
        _interval_bars(
            ax,
            names,
            [m["flip_rate"] for m in rob.values()],
            [m["flip_rate_ci95"] for m in rob.values()],
            [False] * len(names),
        )
    ax.set(xlim=(0, 1), xlabel="share of changed posts whose decided label flips")
    ax.set_title("Robustness")
    return fig


def comparison_figure(comparison: dict[str, Any]) -> Figure:
    """The paired macro-F1 difference A − B with its bootstrap interval."""
    boot = comparison["paired_bootstrap"]
    fig = _figure((6.4, 2.2))
    ax = fig.add_subplot()
    low, high = boot["difference_ci95"]
    d = boot["difference"]
    ax.errorbar([d], [0], xerr=[[d - low], [high - d]], fmt="o", capsize=5, color="C0")
    ax.axvline(0, color="grey", linestyle=":")
    span = max(abs(low), abs(high), 0.05) * 1.3
    ax.set(xlim=(-span, span), yticks=[], xlabel="macro-F1 of A minus B (paired bootstrap 95%)")
    ax.set_title(f"A − B = {d:+.3f}; McNemar p = {comparison['mcnemar']['p_value']:.3g}")
    return fig
