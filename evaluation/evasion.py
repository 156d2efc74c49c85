"""Evasion: do flagged posts stay flagged when rewritten the way someone dodging the filter writes?

The robustness checks (robustness.py) vary what the normaliser undoes by design (names, slang), so
they show no shift by construction. The evasion suite rewrites the posts a model flags with every
perturbation of obfuscate.py (what evaders actually type, written apart from the normaliser),
re-scores them through the Scorer and reports, per perturbation: the posts it changed
(`n_changed`), `flips` (flag -> review or clear), the flip rate with a Wilson 95% interval, the mean
score shift and a few flipped examples. Readable perturbations should flip nothing. Only the post's
own text is rewritten, never its context (the post it answers was written by someone else).
"""

from __future__ import annotations

import base64
import html
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from netralitas.evaluation.metrics import wilson_interval
from netralitas.evaluation.obfuscate import Evasion, evasions
from netralitas.model.records import Record
from netralitas.model.scorer import ScoredPost, Scorer

__all__ = [
    "Evasion",
    "evasion_figure",
    "evasion_sections",
    "evasion_suite",
    "evasion_table",
    "evasions",
]


# -- the suite ------------------------------------------------------------------------------------
def evasion_suite(
    scorer: Scorer,
    records: Sequence[Record],
    *,
    seed: int = 0,
    scored: Sequence[ScoredPost] | None = None,
    perturbations: Sequence[Evasion] | None = None,
    max_examples: int = 3,
) -> dict[str, Any]:
    """Flip statistics of every perturbation over the posts `scorer` flags among `records`.

    `scored` are the Scorer's rows for `records` when the caller already has them. Returns
    `{"seed", "n_flagged", "perturbations": {name: stats}}`; stats as in the module docstring.
    """
    records = list(records)
    scored = list(scored) if scored is not None else list(scorer.score(records))
    flagged = [(r, s) for r, s in zip(records, scored, strict=True) if s.decision == "flag"]
    out = {}
    for evasion in evasions() if perturbations is None else perturbations:
        rng = random.Random(f"{seed}:{evasion.name}")
        changed = [
            (record, post, text)
            for record, post in flagged
            if (text := evasion.rewrite(record.text, rng)) != record.text
        ]
        again = scorer.score(
            [Record.model_construct(text=t, context=r.context, id=r.id) for r, _, t in changed]
        )
        out[evasion.name] = _stats(evasion, changed, list(again), max_examples)
    return {"seed": seed, "n_flagged": len(flagged), "perturbations": out}


def _stats(
    evasion: Evasion,
    changed: list[tuple[Record, ScoredPost, str]],
    again: list[ScoredPost],
    max_examples: int,
) -> dict[str, Any]:
    n = len(changed)
    flipped = [i for i, post in enumerate(again) if post.decision != "flag"]
    shift = np.array([post.score - changed[i][1].score for i, post in enumerate(again)])
    return {
        "description": evasion.description,
        "readable": evasion.readable,
        "n_changed": n,
        "flips": len(flipped),
        "flip_rate": len(flipped) / n if n else None,
        "flip_rate_ci95": wilson_interval(len(flipped), n) if n else None,
        "mean_score_shift": float(shift.mean()) if n else None,
        "examples": [
            {
                "id": changed[i][0].id,
                "text": changed[i][0].text,
                "perturbed": changed[i][2],
                "score_before": changed[i][1].score,
                "score_after": again[i].score,
                "decision_after": again[i].decision,
            }
            for i in sorted(flipped, key=lambda i: shift[i])[:max_examples]
        ],
    }


# -- presentation ---------------------------------------------------------------------------------
def evasion_table(result: dict[str, Any]):
    """One row per perturbation of `result["evasion"]` (a pandas DataFrame)."""
    import pandas as pd

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    rows = [
        {
            "perturbation": name,
            "what": m["description"],
            "readable": "yes" if m["readable"] else "no",
            "posts changed": m["n_changed"],
            "flips": m["flips"],
            "flip rate": r(m["flip_rate"]),
            "flip rate 95%": "" if m["flip_rate_ci95"] is None else
            f"{m['flip_rate_ci95'][0]:.3f}–{m['flip_rate_ci95'][1]:.3f}",
            "mean score shift": r(m["mean_score_shift"]),
        }
        for name, m in result.get("evasion", {}).get("perturbations", {}).items()
    ]  # fmt: skip
    return pd.DataFrame(rows)


def evasion_figure(result: dict[str, Any]):
    """Flip rate with Wilson intervals per perturbation (the robustness figure, retitled)."""
    from netralitas.evaluation import figures

    figure = figures.robustness_figure({"robustness": result["evasion"]["perturbations"]})
    figure.axes[0].set_title("Evasion: flagged posts no longer flagged")
    return figure


def evasion_sections(result: dict[str, Any]) -> list[str]:
    """The HTML of the report's evasion section (nothing when the result has no suite)."""
    from netralitas.evaluation import figures

    suite = result.get("evasion")
    if not suite:
        return []
    png = base64.b64encode(figures.to_png(evasion_figure(result))).decode("ascii")
    out = [
        "<h2>Evasion</h2>",
        '<p class="note">'
        + html.escape(
            f"The {suite['n_flagged']} flagged posts rewritten the way an evader writes (seed "
            f"{suite['seed']}); a flip is a post no longer flagged. Readable perturbations should "
            "not flip anything."
        )
        + "</p>",
        f'<img alt="evasion flip rates" src="data:image/png;base64,{png}">',
        evasion_table(result).to_html(index=False, border=0, na_rep="", escape=True),
    ]
    for name, m in suite["perturbations"].items():
        if m["examples"]:
            import pandas as pd

            frame = pd.DataFrame(m["examples"]).round(3)
            out += [f"<h3>Flipped: {html.escape(name)}</h3>", frame.to_html(index=False, border=0)]
    return out
