"""The model card (`README.md`) written into transformer and embedding artifacts, rendered from their
metadata.

Rendered from `netralitas.json` alone (its typed `summary`, never raw metric keys), so the card can never disagree with the artifact it sits in.
It states what the model is for and what it must not be used for: a score supports a human
review; it is not a verdict on a person.
"""

from __future__ import annotations

from typing import Any

from netralitas.model.artifact import ArtifactMetadata, EvaluationSummary, Thresholds

__all__ = ["render_model_card"]


def _fmt(value: float | None, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if value is not None else "n/a"


def _metrics_rows(summary: EvaluationSummary) -> list[str]:
    rows = []
    for split, m in (
        ("out of fold", summary.out_of_fold),
        ("validation", summary.validation),
        ("test", summary.test),
    ):
        if m is None:
            continue
        low, high = m.macro_f1_ci95
        rows.append(
            f"| {split} | {m.n} | {_fmt(m.macro_f1)} [{_fmt(low)}, {_fmt(high)}] | "
            f"{_fmt(m.macro_f1_argmax)} | {_fmt(m.precision)} | {_fmt(m.recall)} | "
            f"{_fmt(m.pr_auc)} |"
        )
    return rows


def _calibration_lines(metadata: ArtifactMetadata) -> list[str]:
    """The artifact's calibration map, or a format-2 transformer's own temperature."""
    cal = metadata.calibration
    legacy = metadata.summary.calibration
    if cal is None and legacy is None:
        return ["Not calibrated: the model's own probabilities."]
    if cal is None:
        assert legacy is not None
        what = (
            f"Temperature scaling fitted on the validation split: T = {_fmt(legacy.temperature)}."
        )
        figures = legacy
        heldout: dict[str, float] = {}
    else:
        what = cal.describe().split(";")[0].capitalize() + f", fitted on {cal.fitted_on}."
        figures, heldout = cal, cal.heldout_nll
    lines = [
        what,
        "",
        "| on those posts | before | after |",
        "|---|---|---|",
        f"| negative log-likelihood | {_fmt(figures.nll_before, 4)} | {_fmt(figures.nll_after, 4)} |",
        f"| expected calibration error (side score) | {_fmt(figures.ece_before, 4)} | "
        f"{_fmt(figures.ece_after, 4)} |",
    ]
    if heldout:
        lines += [
            "",
            "Chosen by held-out log-loss: "
            + ", ".join(f"{name} {_fmt(v, 4)}" for name, v in heldout.items())
            + ".",
        ]
    for r in metadata.recalibrations:
        lines += [
            "",
            f"Recalibrated on {r.at:%Y-%m-%d} on `{r.data}` ({r.n} posts); before: version "
            f"{r.previous_version}, flag {r.previous_thresholds.flag:.3f}, review "
            f"{r.previous_thresholds.review:.3f}.",
        ]
    return lines


def _architecture_lines(kind: str, settings: dict[str, Any]) -> list[str]:
    """How the model reads a post, from the settings stored beside the weights."""
    reads = {"raw": "the post as written (Unicode and whitespace tidied)"}.get(
        settings.get("text_view", "normalized"), "the normalised post"
    )
    prefix = f', prefixed "{settings["prefix"]}"' if settings.get("prefix") else ""
    length = (
        f"- maximum length: {settings.get('max_length', 'n/a')} tokens (longer inputs are "
        "truncated and reported)"
    )
    if kind == "embedding":
        stack = (
            ", with the log-odds of a TF-IDF model stacked as a feature"
            if settings.get("stack_tfidf")
            else ""
        )
        return [
            f"- frozen encoder: mean-pooled embeddings of {reads}{prefix} and, separately, of its "
            f"context; a logistic-regression head{stack}",
            length,
        ]
    head = "mean of the last hidden states" if settings.get("pooling") == "mean" else "[CLS]"
    return [
        f"- fine-tuned encoder reading {reads}{prefix}; classification from the {head}",
        f"{length}; reads (post, context) as one pair when a context is given",
    ]


def _threshold_basis(t: Thresholds) -> list[str]:
    """What the thresholds rest on (artifacts written before this was recorded have none)."""
    lines = []
    if t.fallback is not None:
        lines.append(
            f"- **the precision target {t.precision_target:.2f} was not met** on "
            f"{t.fitted_on or 'the validation split'}: the flag threshold is the {t.fallback}"
        )
    if t.precision is None or t.precision_ci95 is None or t.recall_ci95 is None:
        return lines
    on = t.fitted_on or "the validation split"
    lines.append(
        f"- at the flag threshold on {on} ({t.n} posts, {t.positives} taking a side): "
        f"precision {_fmt(t.precision)} [{_fmt(t.precision_ci95[0])}, "
        f"{_fmt(t.precision_ci95[1])}], recall {_fmt(t.recall)} [{_fmt(t.recall_ci95[0])}, "
        f"{_fmt(t.recall_ci95[1])}] (bootstrap 95% intervals)"
    )
    if t.review_share is not None:
        lines.append(f"- review band: {t.review_share:.1%} of those posts")
    return lines


def render_model_card(metadata: ArtifactMetadata) -> str:
    """Markdown with a Hugging Face front matter: base model, data, metrics, intended use."""
    settings = metadata.extra.get("settings", {})
    base = settings.get("base_model", "unknown")
    revision = metadata.extra.get("base_model_revision")
    counts = "; ".join(
        f"{split}: " + ", ".join(f"{label} {n}" for label, n in sorted(c.items()))
        for split, c in metadata.data_counts.items()
    )
    t = metadata.thresholds
    rows = _metrics_rows(metadata.summary)
    front = ["language: id", "pipeline_tag: text-classification"]
    if metadata.kind == "transformer":  # the folder is also a plain transformers checkpoint
        front.insert(1, "library_name: transformers")
    if "/" in base and not base.startswith((".", "/", "~")):  # a hub id, not a local folder
        front.append(f"base_model: {base}")
    lines = [
        "---",
        *front,
        "tags: [netralitas, election, civil-servants, text-classification]",
        "---",
        "",
        f"# {metadata.name} {metadata.version}",
        "",
        "Classifies Indonesian social-media posts by civil servants (ASN) as taking a side in an "
        f"election or not (labels: {', '.join(metadata.labels)}; `{metadata.neutral_label}` means "
        f"takes no side). Trained with netralitas {metadata.package_version}.",
        "",
        "## Intended use",
        "",
        "- Helps election supervisors decide **which posts a person should review**. A flag is a "
        "reason to look, **not an automatic verdict on a person**: a false accusation harms a real "
        "civil servant. Every decision about a person needs human review of the post in context.",
        "- Do not use it to sanction, rank or profile people, to monitor people who are not ASN, "
        "or on text far from its training data (other languages, other platforms, long "
        "documents) without evaluating it there first.",
        "",
        "## Model",
        "",
        f"- base model: `{base}`" + (f" (revision `{revision}`)" if revision else ""),
        *_architecture_lines(metadata.kind, settings),
        f"- election profiles used for masking: {', '.join(metadata.profiles) or 'none'} "
        f"(masking {'on' if metadata.mask_profiles else 'off'})",
        f"- thresholds on the side score 1 - p({metadata.neutral_label}): flag at "
        f"{t.flag:.3f} (precision target {t.precision_target:.2f}, "
        f"{'met' if t.precision_target_met else 'NOT met'}), review from {t.review:.3f}",
        *_threshold_basis(t),
        "",
        "## Training data",
        "",
        f"- fingerprint: `{metadata.data_fingerprint or 'n/a'}`",
        f"- rows per split and label: {counts or 'n/a'}",
        "",
        "## Evaluation",
        "",
        "Macro-F1 at the stored threshold with a bootstrap 95% interval; precision and recall "
        "of 'takes a side' at the flag threshold.",
        "",
        "| split | n | macro-F1 [95% CI] | macro-F1 (argmax) | precision | recall | PR-AUC |",
        "|---|---|---|---|---|---|---|",
        *(rows or ["| n/a | | | | | | |"]),
        "",
        "## Calibration",
        "",
        *_calibration_lines(metadata),
        "",
        "## How to use",
        "",
        "```bash",
        "netralitas score THIS_FOLDER posts.jsonl --table",
        "netralitas evaluate THIS_FOLDER labelled.jsonl",
        "```",
        "",
    ]
    return "\n".join(lines)
