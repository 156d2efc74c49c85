"""The cascade's trade-off: recall lost on labelled data, speed gained on a realistic mix.

Quality (`--gold`): the transformer alone and the cascade (TF-IDF screen, then the transformer on
posts whose screen side score reaches each `--thresholds` value) decide every labelled post with
the transformer's stored thresholds; printed per threshold: the share of posts routed, flag recall
and precision, review recall (flag or review band), and the recall lost against the transformer
alone.

Speed (`--speed-model`, default `--model`): posts per second of `Scorer.score` (the code behind
`netralitas score`) for the transformer alone and for each cascade, on a mix of posts of the
bundled validation and test splits (held out from the baseline's training) that is
`--non-political-share` non-political (most monitored posts are not about politics at all).

    python benchmarks/cascade.py --screen artifacts/baseline --model MODEL_DIR \\
        --gold ../shared/data/gold/dev-2019.jsonl --speed-model /tmp/indobert-shaped \\
        --inference int8
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HELD_OUT = [REPO / "data" / "starter" / f"{split}.jsonl" for split in ("validation", "test")]


def quality(screen, model, records, thresholds: list[float]) -> None:
    """Recall and precision of the transformer alone and of each cascade on labelled records."""
    from netralitas.model.backends.cascade import CascadeClassifier
    from netralitas.model.decision import decide

    texts, contexts = [r.text for r in records], [r.context for r in records]
    meta = model.metadata_
    positive = np.array([r.label != meta.neutral_label for r in records])
    alone = model.predict_proba(texts, contexts)

    def figures(proba: np.ndarray) -> tuple[float, float, float]:
        _, decisions = decide(proba, meta)
        flagged = np.array([d == "flag" for d in decisions])
        looked_at = np.array([d != "clear" for d in decisions])
        precision = (flagged & positive).sum() / max(flagged.sum(), 1)
        return (
            (flagged & positive).sum() / positive.sum(),
            precision,
            (looked_at & positive).sum() / positive.sum(),
        )

    base_recall, base_precision, base_review = figures(alone)
    print(
        f"{len(records)} labelled posts ({positive.sum()} taking a side); model thresholds: "
        f"flag {meta.thresholds.flag:.3f}, review {meta.thresholds.review:.3f}"
    )
    print(
        f"{'':<18} {'routed':>7} {'recall':>7} {'precision':>9} {'review recall':>13} "
        f"{'recall lost':>11}"
    )
    print(
        f"{'transformer alone':<18} {1:>7.1%} {base_recall:>7.3f} {base_precision:>9.3f} "
        f"{base_review:>13.3f} {'-':>11}"
    )
    for t in thresholds:
        cascade = CascadeClassifier(screen, model, t)
        proba, routed = cascade.route(texts, contexts)
        proba = np.where(routed[:, None], alone, proba)  # what cascade.predict_proba returns
        recall, precision, review = figures(proba)
        print(
            f"{f'cascade t={t:g}':<18} {routed.mean():>7.1%} {recall:>7.3f} {precision:>9.3f} "
            f"{review:>13.3f} {base_recall - recall:>11.3f}"
        )


def realistic_mix(n: int, share: float, files: list[Path], seed: int = 0):
    """`n` posts of `files`, `share` of them tagged non-political and the rest political (taking
    a side or not, in their proportions in `files`), shuffled."""
    from netralitas.data.records import load_records

    records = [r for f in files for r in load_records(f)]
    rng = random.Random(seed)
    plain = [r for r in records if r.tag == "non-political"]
    political = [r for r in records if r.tag != "non-political"]
    k = min(round(n * share), len(plain))
    if k < round(n * share):
        print(f"(only {len(plain)} non-political posts: the mix has {k / share:.0f} posts)")
        n = round(k / share)
    mix = rng.sample(plain, k) + rng.sample(political, min(n - k, len(political)))
    rng.shuffle(mix)
    return mix


def speed(screen, model, records, thresholds: list[float], rounds: int) -> None:
    from netralitas.model.backends.cascade import CascadeClassifier
    from netralitas.model.scorer import Scorer

    contenders = {"transformer alone": model, "screen alone (TF-IDF)": screen}
    for t in thresholds:
        contenders[f"cascade t={t:g}"] = CascadeClassifier(screen, model, t)
    texts, contexts = [r.text for r in records], [r.context for r in records]
    routed = {
        name: float(c.route(texts, contexts)[1].mean()) if hasattr(c, "route") else 1.0
        for name, c in contenders.items()
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for c in contenders.values():
        list(Scorer(c).score(records[:16]))  # warm-up
    print(f"load average before: {_load()}")
    for _ in range(rounds):
        for name, c in contenders.items():
            start = time.perf_counter()
            list(Scorer(c).score(records))
            times[name].append(time.perf_counter() - start)
    print(f"load average after: {_load()}")
    base = len(records) / min(times["transformer alone"])
    print(f"{'':<22} {'routed':>7} {'best posts/s':>12} {'median':>8} {'x alone':>8}")
    for name, t in times.items():
        best, median = len(records) / min(t), len(records) / statistics.median(t)
        share = f"{routed[name]:.1%}" if name != "screen alone (TF-IDF)" else "-"
        print(f"{name:<22} {share:>7} {best:>12.1f} {median:>8.1f} {best / base:>8.2f}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    from netralitas.data.records import load_records
    from netralitas.model.loading import load_classifier

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screen", required=True, help="the TF-IDF artifact")
    parser.add_argument("--model", required=True, help="the transformer artifact")
    parser.add_argument("--gold", type=Path, help="labelled posts for the recall figures")
    parser.add_argument("--speed-model", help="transformer to time (default: --model)")
    parser.add_argument("--inference", default="auto", help="the transformer's path")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.3])
    parser.add_argument("-n", type=int, default=200, help="posts in the speed mix")
    parser.add_argument("--non-political-share", type=float, default=0.8)
    parser.add_argument("--mix-files", type=Path, nargs="+", default=HELD_OUT)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args(argv)

    screen = load_classifier(args.screen)
    if args.gold:
        model = load_classifier(args.model, inference=args.inference)
        print(f"quality: {args.model} ({model.inference_plan.reason})")
        quality(screen, model, load_records(args.gold), args.thresholds)
    if not args.no_speed:
        model = load_classifier(args.speed_model or args.model, inference=args.inference)
        mix = realistic_mix(args.n, args.non_political_share, args.mix_files)
        print(
            f"\nspeed: {args.speed_model or args.model} ({model.inference_plan.reason}); "
            f"{len(mix)} posts, {args.non_political_share:.0%} non-political"
        )
        speed(screen, model, mix, args.thresholds, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
