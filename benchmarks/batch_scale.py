"""Batch scoring at scale: posts/s and peak memory of the streaming engines and the whole-file path.

Generates `--rows` posts (default 1,000,000) from the bundled data, varied (a number, a hashtag,
an emoji, words swapped) so that the scorer does not see the same few thousand posts over and
over, as `--parts` Parquet parts (default 20), plus the same rows as one Parquet file. Then, each in its own process, one after the other:

    local   `netralitas score MODEL parts/ --output out/` (batch/local.py): streamed, bounded memory
    whole   today's whole-file path: `load_table` + `Scorer.score` into a list + `scored_rows` +
            `write_rows`, on the single file (every row in memory at once)
    ray1    the Ray engine, a local Ray instance, 1 actor
    ray2    the same with 2 actors

Memory: the peak RSS of the engine's process (exact: `wait4`'s ru_maxrss) and the peak of the sum
over it and every process it started (sampled every 0.2 s: for Ray, the raylet, the object store
and the actors). Time: from the engine's entry call to its return, model loading (and Ray's start)
included (the "Ray start" column says how much of it `ray.init` took); posts/s = rows / that
time. The load average is printed beside the table: on a shared machine the figures are not the
CPU's.

    python benchmarks/batch_scale.py --model artifacts/baseline --rows 20000
    python benchmarks/batch_scale.py                      # 1M rows, artifacts/default, all engines

`--check` compares the Ray engines' parts with the local engine's (rows, order, decisions, scores
within 1e-6). Compare with `--inference fp32`: the fast paths of a transformer (bf16, int8) change
a post's score by up to about 0.01 with the posts it shares a model batch with and the thread
count (README, "Fast scoring"), so two engines, like two runs with other batch sizes, differ there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENGINES = ("local", "whole", "ray1", "ray2")
EMOJI = ["", " 👍", " 🔥", " 🙏", " 😂", " ☝️", " 🇮🇩"]


# -- data --------------------------------------------------------------------------------------
def _bundled_texts() -> list[tuple[str, str | None]]:
    rows = []
    for path in sorted((REPO / "data" / "starter").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            rows.append((obj["text"], obj.get("context")))
    return rows


def _vary(text: str, rng: random.Random, i: int) -> str:
    words = text.split()
    if len(words) > 3 and rng.random() < 0.3:
        k = rng.randrange(len(words) - 1)
        words[k], words[k + 1] = words[k + 1], words[k]
    tail = rng.choice(["", f" #{rng.choice(['desa', 'pemilu', 'asn', 'netral'])}{i % 97}"])
    return " ".join(words) + tail + rng.choice(EMOJI) + (f" ({i})" if rng.random() < 0.5 else "")


def generate(folder: Path, rows: int, parts: int, seed: int = 0) -> Path:
    """`parts` Parquet parts under `folder/parts/`, and `folder/all.parquet` with every row;
    reused when a previous run made the same."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    manifest = folder / "manifest.json"
    wanted = {"rows": rows, "parts": parts, "seed": seed}
    if manifest.exists() and json.loads(manifest.read_text()) == wanted:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "parts").mkdir(exist_ok=True)
    for old in (folder / "parts").glob("*.parquet"):
        old.unlink()
    base = _bundled_texts()
    rng = random.Random(seed)
    size = -(-rows // parts)
    writer = None
    for k in range(parts):
        start, stop = k * size, min((k + 1) * size, rows)
        picks = [base[rng.randrange(len(base))] for _ in range(stop - start)]
        table = pa.table(
            {
                "id": [f"p{i:09d}" for i in range(start, stop)],
                "text": [_vary(t, rng, start + j) for j, (t, _) in enumerate(picks)],
                "context": [c for _, c in picks],
                "platform": [rng.choice(["x", "facebook", "instagram", "tiktok"]) for _ in picks],
                "region": [f"kab-{rng.randrange(514)}" for _ in picks],
            }
        )
        pq.write_table(table, folder / "parts" / f"part-{k:04d}.parquet", row_group_size=65536)
        if writer is None:
            writer = pq.ParquetWriter(folder / "all.parquet", table.schema)
        writer.write_table(table, row_group_size=65536)
    writer.close()
    manifest.write_text(json.dumps(wanted))
    return folder


# -- one engine, in its own process ------------------------------------------------------------
def run_engine(args: argparse.Namespace) -> dict:
    data = Path(args.data)
    out = data / f"out-{args.run}"
    if out.exists():
        import shutil

        shutil.rmtree(out)
    start = time.perf_counter()
    ray_start = 0.0
    if args.run == "whole":
        from netralitas.data.output import keep_columns, scored_rows, write_rows
        from netralitas.data.table import load_table
        from netralitas.model.scorer import Scorer

        table = load_table(data / "all.parquet", require_label=False)
        scorer = Scorer.from_pretrained(args.model, inference=args.inference)
        posts = list(scorer.score(table.records))
        rows = scored_rows(table, posts, scorer.metadata.labels, keep_columns("all", table))
        write_rows(rows, out / "all.parquet")
        n = len(rows)
    else:
        from netralitas.batch.parts import model_key, plan_parts
        from netralitas.batch.stream import Job, ScoreOptions

        job = Job(
            plan_parts(str(data / "parts"), str(out), "parquet"),
            ScoreOptions(batch_rows=args.batch_rows),
            model_key(args.model, inference=args.inference),
        )
        if args.run == "local":
            from netralitas.batch.local import run_local
            from netralitas.model.scorer import Scorer

            scorer = Scorer.from_pretrained(args.model, inference=args.inference)
            summary = run_local(scorer, job, progress=False)
        else:
            import ray

            from netralitas.batch.ray_engine import run_ray

            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="error")
            ray_start = time.perf_counter() - start
            summary = run_ray(
                args.model,
                job,
                workers=int(args.run[3:]),
                inference=args.inference,
                log=lambda _: None,
                progress=False,
            )
            ray.shutdown()
        n = summary.posts
    seconds = time.perf_counter() - start
    return {"engine": args.run, "posts": n, "seconds": seconds, "ray_start": ray_start}


def _rss_of_tree(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total


def measure(engine: str, args: argparse.Namespace) -> dict:
    """Run one engine in a child process; its result, peak RSS (own and of its whole tree)."""
    command = [sys.executable, __file__, "--run", engine, "--data", str(args.data)]
    command += ["--model", args.model, "--batch-rows", str(args.batch_rows)]
    command += ["--inference", args.inference]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], _rss_of_tree(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["rss_mib"] = usage.ru_maxrss / 1024  # KiB on Linux
    result["tree_mib"] = peak[0] / 2**20
    return result


def check(data: Path, engines: list[str]) -> list[str]:
    """Differences between each Ray engine's parts and the local engine's ([] when none)."""
    import pyarrow.parquet as pq

    problems = []
    for engine in [e for e in engines if e.startswith("ray")]:
        for part in sorted((data / "out-local").glob("*.parquet")):
            a = pq.read_table(part).to_pydict()
            b = pq.read_table(data / f"out-{engine}" / part.name).to_pydict()
            if a["id"] != b["id"] or a["decision"] != b["decision"]:
                problems.append(f"{engine} {part.name}: rows or decisions differ")
            # Scores are rounded to 6 decimals: a 1e-7 difference can move the last one.
            elif max(abs(x - y) for x, y in zip(a["score"], b["score"], strict=True)) > 1.001e-6:
                problems.append(f"{engine} {part.name}: scores differ by more than 1e-6")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(REPO / "artifacts" / "default"))
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--parts", type=int, default=20)
    p.add_argument(
        "--engines", default=",".join(ENGINES), help="comma-separated, of " + ", ".join(ENGINES)
    )
    p.add_argument("--batch-rows", type=int, default=8192)
    p.add_argument(
        "--inference",
        default="auto",
        help="how a transformer computes (auto, fp32, int8, bf16): compare engines with fp32",
    )
    p.add_argument("--workdir", default="/tmp/netralitas-batch-scale")
    p.add_argument("--check", action="store_true", help="compare the Ray parts with the local ones")
    p.add_argument("--run", choices=ENGINES, help=argparse.SUPPRESS)  # the child process
    p.add_argument("--data", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.run:
        print(json.dumps(run_engine(args)))
        return 0
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        p.error(f"unknown engine(s) {', '.join(unknown)}; expected some of {', '.join(ENGINES)}")
    t = time.perf_counter()
    args.data = generate(Path(args.workdir) / f"r{args.rows}-p{args.parts}", args.rows, args.parts)
    print(f"data: {args.rows:,} rows in {args.parts} parts ({time.perf_counter() - t:.0f} s), "
          f"model {args.model}, {os.cpu_count()} CPUs", file=sys.stderr)  # fmt: skip
    results = []
    for engine in engines:
        before = os.getloadavg()
        result = measure(engine, args)
        result["load"] = f"{before[0]:.1f} -> {os.getloadavg()[0]:.1f}"
        results.append(result)
        print(f"  {engine}: {result['posts'] / result['seconds']:,.0f} posts/s", file=sys.stderr)
    header = f"{'engine':<7} {'posts':>10} {'seconds':>9} {'posts/s':>9} {'peak RSS':>10} "
    header += f"{'all procs':>10} {'Ray start':>9}  load (1 min, before -> after)"
    print(header)
    for r in results:
        print(
            f"{r['engine']:<7} {r['posts']:>10,} {r['seconds']:>9.1f} "
            f"{r['posts'] / r['seconds']:>9,.0f} {r['rss_mib']:>7.0f} MiB {r['tree_mib']:>6.0f} MiB"
            f" {r['ray_start']:>8.1f}s  {r['load']}"
        )
    print("load average at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    if args.check:
        problems = check(args.data, engines)
        print(
            "check: "
            + ("Ray parts identical to the local parts" if not problems else "; ".join(problems))
        )
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
