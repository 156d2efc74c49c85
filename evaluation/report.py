"""A self-contained HTML report of an evaluation: tables and figures in one file, readable offline.

Figures are PNGs embedded as base64 `data:` URIs and the style sheet is inline, so the file can be
mailed or archived and opened anywhere with no network and no other files.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from netralitas.evaluation import figures, tables
from netralitas.evaluation.evasion import evasion_sections

__all__ = ["json_safe", "render_report", "write_evaluation", "write_report"]

REPORT_FILE = "report.html"
EVAL_FILE = "eval.json"

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
img { max-width: 100%; display: block; margin: .8em 0; }
.note { color: #555; font-size: .9em; }
.warn { background: #fff4e5; border-left: 4px solid #f0a020; padding: .4em .8em; }
"""


def _img(figure: Any, alt: str) -> str:
    data = base64.b64encode(figures.to_png(figure)).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(frame: pd.DataFrame) -> str:
    """One header row: a named index (and a named column axis, as in the confusion matrix)
    becomes the first column, instead of pandas' second header row."""
    if frame.empty:
        return '<p class="note">(nothing to show)</p>'
    if frame.index.name is not None:
        corner = frame.index.name
        if frame.columns.name is not None:
            corner = f"{corner} \\ {frame.columns.name}"
        frame = frame.rename_axis(index=corner, columns=None).reset_index()
    index = not isinstance(frame.index, pd.RangeIndex)
    return frame.to_html(index=index, border=0, na_rep="", escape=True)


def _p(text: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{html.escape(text)}</p>'


def _header(result: dict[str, Any]) -> list[str]:
    model = result.get("model", {})
    lines = [
        f"<h1>Evaluation of {html.escape(str(model.get('name', '?')))} "
        f"{html.escape(str(model.get('version', '')))}</h1>",
        _p(
            f"Data: {result.get('data', '?')} ({result['n']} posts). Profile masking "
            f"{'on' if model.get('mask_profiles') else 'off'}; profiles: "
            f"{', '.join(model.get('profiles', [])) or 'none'}. Bootstrap seed {result.get('seed')}. "
            f"Written {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC."
        ),
        _p(
            "All metrics are at the stored flag threshold (the decision the product makes) unless "
            "stated otherwise. Intervals are 95% percentile-bootstrap intervals (Wilson intervals for "
            "slice accuracies and flip rates)."
        ),
    ]
    if model.get("precision_target_met") is False:
        lines.append(
            _p("The flag threshold did not reach its precision target on validation.", "warn")
        )
    return lines


def _metrics_sections(result: dict[str, Any]) -> list[str]:
    out = ["<h2>Headline</h2>", _table(tables.headline_table(result))]
    out += ["<h2>Per class</h2>", _table(tables.per_class_table(result))]
    out += [
        "<h2>Confusion matrix</h2>",
        _img(figures.confusion_figure(result), "confusion matrix"),
        _table(tables.confusion_table(result)),
    ]
    out += [
        "<h2>Precision-recall and ROC</h2>",
        _p("For the 'takes a side' score (1 − p(neutral)); the red dot is the stored threshold."),
        _img(figures.pr_roc_figure(result), "precision-recall and ROC curves"),
    ]
    out += [
        "<h2>Calibration</h2>",
        _p(
            "Each point is a bin of posts with similar scores: a calibrated model's 0.8 posts take "
            "a side 80% of the time (on the dotted line). Numbers are bin sizes."
        ),
        _img(figures.calibration_figure(result), "reliability diagram"),
        _table(tables.calibration_table(result)),
    ]
    out += [
        "<h2>Threshold trade-off</h2>",
        _img(figures.sweep_figure(result), "threshold sweep"),
        _table(tables.sweep_table(result)),
    ]
    if result.get("per_tag"):
        out += [
            "<h2>Per tag</h2>",
            _p(
                "Share decided correctly: recall for support/attack, share cleared for neutral tags."
            ),
            _table(tables.per_tag_table(result)),
        ]
    return out


def _slice_sections(result: dict[str, Any]) -> list[str]:
    out = [
        "<h2>Slices</h2>",
        _p(
            f"Slices with fewer than {result.get('min_slice_size')} posts are marked 'too small' "
            "(grey bars): do not read trends into them."
        ),
    ]
    for dimension in result.get("slices", {}):
        out += [
            f"<h3>By {html.escape(dimension)}</h3>",
            _img(figures.slices_figure(result, dimension), f"accuracy by {dimension}"),
            _table(tables.slices_table(result, dimension).drop(columns="dimension")),
        ]
    return out


def _robustness_sections(result: dict[str, Any]) -> list[str]:
    if not result.get("robustness"):
        return []
    out = [
        "<h2>Robustness</h2>",
        _p(
            "Flip rate: the share of posts a perturbation changed whose decided label changed. "
            "Swapping contestants and slang should not flip anything; removing hashtags measures "
            "how much the model leans on them."
        ),
        _img(figures.robustness_figure(result), "flip rates"),
        _table(tables.robustness_table(result)),
    ]
    for name in result["robustness"]:
        flips = tables.robustness_examples_table(result, name, flipped=True)
        others = tables.robustness_examples_table(result, name, flipped=False)
        if not flips.empty:
            out += [f"<h3>Flips: {html.escape(name)}</h3>", _table(flips.drop(columns="flipped"))]
        if not others.empty:
            out += [
                f"<h3>Largest score shifts without a flip: {html.escape(name)}</h3>",
                _table(others.drop(columns="flipped")),
            ]
    return out


def _comparison_sections(comparison: dict[str, Any]) -> list[str]:
    return [
        "<h2>Comparison with another model</h2>",
        _p(
            "Paired tests on the same posts: the bootstrap resamples posts once and scores both "
            "models on each resample; McNemar's test looks only at posts exactly one model gets right."
        ),
        _img(figures.comparison_figure(comparison), "paired difference"),
        _table(tables.comparison_table(comparison)),
    ]


def render_report(result: dict[str, Any]) -> str:
    """The report as one HTML string (a `comparison` key in `result` adds its section)."""
    body = _header(result) + _metrics_sections(result)
    body += _slice_sections(result) + _robustness_sections(result)
    body += evasion_sections(result)
    if result.get("comparison"):
        body += _comparison_sections(result["comparison"])
    title = html.escape(f"netralitas evaluation: {result.get('model', {}).get('name', '')}")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_report(result: dict[str, Any], directory: str | Path) -> Path:
    """Write `report.html` into `directory` (created if needed) and return its path."""
    path = Path(directory) / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result), encoding="utf-8")
    return path


def json_safe(value: Any) -> Any:
    """`value` with NaN and infinities replaced by None (strict JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_evaluation(result: dict[str, Any], directory: str | Path) -> tuple[Path, Path]:
    """Write `eval.json` and `report.html` into `directory`; return both paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / EVAL_FILE
    json_path.write_text(
        json.dumps(json_safe(result), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return json_path, write_report(result, directory)
