"""Posts per second: the Hugging Face `pipeline` against `netralitas score`'s fast path, same run.

One process, one model directory, the same posts (real-length posts of the bundled data, or
`--input FILE`). Each round times the `pipeline` at its default batch size, then `Scorer.score`
(the code behind `netralitas score`) with `--inference` (and any `--also` paths), then the TF-IDF
baseline if `--baseline` is given. Rounds alternate so that a busy neighbour on a shared machine
slows every contender alike; the best and the median round of each are printed, with the ratio to
the pipeline. The load average is printed too: on a loaded machine the numbers are not the CPU's.

    python benchmarks/make_indobert_shaped.py --vocab VOCAB.txt --output /tmp/indobert-shaped \\
        --artifact
    python benchmarks/throughput.py --model-dir /tmp/indobert-shaped --inference int8 \\
        --also fp32 --baseline artifacts/baseline

The pipeline reads what a user would give it: the raw post, or (post, context) as a text pair,
truncated to the model's max_length. The fast path reads the same posts through the project's
normalisation and tokenizer, sorted by length, in batches.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED = sorted((REPO / "data" / "starter").glob("*.jsonl"))


def load_posts(path: Path | None, n: int, seed: int = 0):
    """`n` records (text, context) from `path`, or a fixed sample of the bundled data."""
    import random

    from netralitas.data.records import load_records

    records = []
    for file in [path] if path else BUNDLED:
        records += load_records(file, require_label=False)
    if n < len(records):
        records = random.Random(seed).sample(records, n)
    return records


def pipeline_runner(model_dir: str, records, max_length: int) -> Callable[[], None]:
    from transformers import pipeline

    pipe = pipeline("text-classification", model=model_dir, device="cpu")
    inputs = [{"text": r.text, "text_pair": r.context} if r.context else r.text for r in records]
    pipe(inputs[:2], truncation=True, max_length=max_length)  # warm-up

    def run() -> None:
        pipe(inputs, truncation=True, max_length=max_length)

    return run


def score_runner(model, records) -> Callable[[], None]:
    from netralitas.model.scorer import Scorer

    list(Scorer(model).score(records[:16]))  # warm-up

    def run() -> None:
        list(Scorer(model).score(records))

    return run


def _median_tokens(model, records) -> str:
    """The median input length in tokens, as the model reads the posts (a transformer reads post and
    context as one sequence; the embedding backend encodes them apart: the posts alone are counted)."""
    if model.kind == "transformer":
        features, _ = model.encode([r.text for r in records], [r.context for r in records])
    else:
        features, _ = model._tokenized([model._view(r.text) for r in records])
    return f"{statistics.median(len(f['input_ids']) for f in features):.0f}"


def main(argv: list[str] | None = None) -> int:
    from netralitas.model.loading import load_classifier

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True, help="a transformer or embedding artifact")
    parser.add_argument("--input", type=Path, help="posts to score (default: the bundled data)")
    parser.add_argument("-n", type=int, default=256, help="posts per round (default 256)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per contender (default 3)")
    parser.add_argument("--inference", default="auto", help="the fast path (default auto)")
    parser.add_argument("--also", nargs="*", default=[], help="more paths to time, e.g. fp32")
    parser.add_argument("--baseline", help="a TF-IDF artifact to time on the same posts")
    parser.add_argument("--no-pipeline", action="store_true", help="skip the pipeline")
    args = parser.parse_args(argv)

    records = load_posts(args.input, args.n)
    fast = load_classifier(args.model_dir, inference=args.inference)
    print(f"{len(records)} posts, median {_median_tokens(fast, records)} tokens")
    print(f"fast path: {fast.inference_plan.reason}; torch threads: {_threads()}")
    runners: dict[str, Callable[[], None]] = {}
    if not args.no_pipeline:
        runners["pipeline (default batch size)"] = pipeline_runner(
            args.model_dir, records, fast.max_length
        )
    runners[f"netralitas score --inference {args.inference}"] = score_runner(fast, records)
    for path in args.also:
        model = fast.with_inference(path)
        runners[f"netralitas score --inference {path}"] = score_runner(model, records)
    if args.baseline:
        runners["baseline (TF-IDF)"] = score_runner(load_classifier(args.baseline), records)

    times: dict[str, list[float]] = {name: [] for name in runners}
    print(f"load average before: {_load()}")
    for r in range(args.rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
        print(f"  round {r + 1}/{args.rounds} done; load average {_load()}", file=sys.stderr)
    print(f"load average after: {_load()}")
    _report(times, len(records), "pipeline (default batch size)")
    return 0


def _report(times: dict[str, list[float]], n: int, reference: str) -> None:
    best = {name: n / min(t) for name, t in times.items()}
    median = {name: n / statistics.median(t) for name, t in times.items()}
    width = max(len(name) for name in times)
    print(f"\n{'':<{width}}  {'best posts/s':>12}  {'median':>8}  {'x pipeline':>10}")
    for name in times:
        ratio = f"{best[name] / best[reference]:.2f}" if reference in best else "-"
        print(f"{name:<{width}}  {best[name]:>12.1f}  {median[name]:>8.1f}  {ratio:>10}")
    if reference in best:
        fast = next(k for k in times if k.startswith("netralitas score"))
        print(
            f"\nratio {fast} / pipeline: {best[fast] / best[reference]:.2f} (best rounds), "
            f"{median[fast] / median[reference]:.2f} (median rounds)"
        )


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
