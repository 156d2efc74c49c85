"""Throughput of the text normalisation (the non-stemming part), on one core.

    python benchmarks/normalize_speed.py [--data data/starter/train.jsonl] [--profiles data/elections]

Uses the posts of a JSONL file (default: the bundled training split), repeated to at least 20,000
posts, and reports posts per second with no profile and with every shipped profile. A script, not a
timed test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from netralitas.model.text.normalize import TextNormalizer
from netralitas.model.text.profiles import load_profiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/starter/train.jsonl")
    parser.add_argument("--profiles", default="data/elections")
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    lines = Path(args.data).read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()]
    texts = (texts * (args.posts // len(texts) + 1))[: args.posts]
    lengths = [len(t) for t in texts]
    print(f"{len(texts)} posts, median {statistics.median(lengths):.0f} characters")
    for name, normalizer in (
        ("no profile", TextNormalizer()),
        ("all shipped profiles", TextNormalizer(load_profiles([args.profiles]))),
    ):
        normalizer(texts[0])  # lazy resources (lexicon, emoji tables) load outside the timing
        best = min(_time(normalizer, texts) for _ in range(args.repeats))
        print(f"{name:22s} {len(texts) / best:10,.0f} posts/s")


def _time(normalizer: TextNormalizer, texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        normalizer(text)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
