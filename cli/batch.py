"""`netralitas score` on files too big to hold in memory: streamed, partitioned, resumable.

`netralitas score MODEL INPUT --output OUT` goes through `netralitas.batch` when the input is a
directory, a glob or a URL, or `--output` is a directory: one output part per input part, Parquet
by default, parts already done skipped (`--engine local`, or `--engine ray` on a Ray cluster). A
single Parquet, JSON Lines or CSV file scored into a single output file is streamed the same way,
in batches, and written atomically. Standard output and `--table` keep reading the whole file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from netralitas.cli.data_flags import read_options

__all__ = ["add_batch_flags", "cmd_score_batch", "routed", "wants_batch", "wants_stream"]

_GLOB = set("*?[")


def add_batch_flags(p: argparse.ArgumentParser) -> None:
    """The flags of batch scoring, added to `netralitas score`."""
    from netralitas.batch.stream import BATCH_ROWS

    g = p.add_argument_group(
        "batch scoring",
        "a directory, glob or URL input (s3://, gs://), or a directory --output: one output part "
        "per input part, written atomically; rerun the same command to resume after a crash",
    )
    g.add_argument(
        "--output-format",
        choices=("parquet", "jsonl", "csv"),
        help="format of the output parts when --output is a directory (default parquet)",
    )
    g.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process, one part after another (default); ray: a pool of Ray actors "
        "(pip install 'netralitas[ray]'), one model per actor",
    )
    g.add_argument(
        "--address",
        help="Ray cluster to run on (auto, or ray://HOST:10001; default: a local Ray instance)",
    )
    g.add_argument("--workers", type=int, default=1, metavar="N", help="Ray actors (default 1)")
    g.add_argument(
        "--gpus-per-worker",
        type=float,
        default=0.0,
        metavar="G",
        help="GPUs each Ray actor reserves (default 0; e.g. 1, or 0.5 to share a GPU)",
    )
    g.add_argument(
        "--cpus-per-worker",
        type=float,
        metavar="C",
        help="CPUs each Ray actor reserves, and the threads it scores with (default: the "
        "cluster's CPUs shared evenly among the actors)",
    )
    g.add_argument(
        "--batch-rows",
        type=int,
        default=BATCH_ROWS,
        metavar="N",
        help=f"rows read and scored at a time: bounds memory (default {BATCH_ROWS})",
    )


def _is_directory_output(output: str) -> bool:
    if "://" in output:
        return Path(output).suffix == ""
    return Path(output).is_dir() or Path(output).suffix == "" or output.endswith("/")


def wants_batch(args: argparse.Namespace) -> bool:
    """Partitioned scoring: a directory, glob or URL input, or a directory output."""
    source = str(args.input)
    if any(c in _GLOB for c in source) or "://" in source or Path(source).is_dir():
        return True
    return bool(args.output) and _is_directory_output(args.output)


def routed(args: argparse.Namespace) -> bool:
    """Whether `netralitas score` goes through batch scoring (or its flags need checking)."""
    return (
        wants_batch(args)
        or wants_stream(args)
        or args.engine != "local"
        or bool(args.output_format)
    )


def wants_stream(args: argparse.Namespace) -> bool:
    """One Parquet, JSON Lines or CSV file into one output file: streamed in batches."""
    from netralitas.batch.parts import INPUT_FORMATS

    if not args.output or args.table:
        return False
    if args.format and args.format != "auto":
        return args.format in ("parquet", "jsonl", "csv")
    return Path(args.input).suffix.lower() in INPUT_FORMATS


def _load_scorer(args: argparse.Namespace):
    from netralitas.batch.parts import local_model
    from netralitas.model.scorer import Scorer

    model_dir = local_model(args.model_dir)  # a copy, for an artifact on s3:// or gs://
    scorer = Scorer.from_pretrained(model_dir, args.profile or (), inference=args.inference)
    if scorer.describe():
        print(f"{args.model_dir}: {scorer.describe()}", file=sys.stderr)
    return scorer


def _note(line: str) -> None:
    print(line, file=sys.stderr)


def cmd_score_batch(args: argparse.Namespace) -> int:
    """Score a directory, glob or URL into a directory (or one file into one file), streamed."""
    from netralitas.batch.parts import model_key
    from netralitas.batch.stream import ScoreOptions
    from netralitas.data.errors import DataError

    options = ScoreOptions(read_options(args), args.keep_columns, args.batch_rows)
    if args.batch_rows < 1:
        raise DataError(f"--batch-rows {args.batch_rows}: expected a positive number of rows")
    batch = wants_batch(args)
    if batch and not args.output:
        raise DataError(
            f"{args.input} is a directory, glob or URL: its scores go to a directory of parts; "
            "name it with --output, e.g. --output scores/"
        )
    if batch and args.table:
        raise DataError(
            "--table prints the scores of one file; a directory, glob or URL is scored into "
            "a directory: drop --table and name it with --output DIR"
        )
    if not batch and args.engine == "ray":
        raise DataError(
            "--engine ray scores the parts of a directory into a directory; give a directory "
            "--output (e.g. --output scores/)"
            + (f" instead of the file {args.output}" if args.output else "")
        )
    if not batch and args.output_format:
        raise DataError(
            "--output-format is for a directory --output (e.g. --output scores/); a single "
            "output file's suffix picks its format"
        )
    model = model_key(args.model_dir, args.profile or (), args.inference)
    try:
        if batch:
            return _score_parts(args, options, model)
        return _score_file(args, options, model)
    except KeyboardInterrupt:
        print(
            "\ninterrupted: parts already written are kept, the part in progress was discarded; "
            "run the same command again to go on from there"
            if batch
            else f"\ninterrupted: nothing was written to {args.output}",
            file=sys.stderr,
        )
        return 130


def _score_parts(args: argparse.Namespace, options, model) -> int:
    from netralitas.batch.parts import plan_parts
    from netralitas.batch.stream import Job

    fmt = args.output_format or "parquet"
    parts = plan_parts(args.input, args.output, fmt, input_format=args.format or "auto")
    job = Job(parts, options, model)
    print(
        f"{len(parts)} part(s) from {args.input} -> {args.output} ({fmt}, engine {args.engine})",
        file=sys.stderr,
    )
    if args.engine == "ray":
        from netralitas.batch.ray_engine import run_ray

        summary = run_ray(
            args.model_dir,
            job,
            address=args.address,
            workers=args.workers,
            gpus_per_worker=args.gpus_per_worker,
            cpus_per_worker=args.cpus_per_worker,
            profiles=args.profile or (),
            inference=args.inference,
            log=_note,
        )
    else:
        from netralitas.batch.local import run_local

        summary = run_local(_load_scorer(args), job, log=_note)
    print(
        f"wrote {summary.written} part(s) ({summary.posts} rows) to {args.output}; "
        f"{summary.skipped} already done",
        file=sys.stderr,
    )
    return 0


def _score_file(args: argparse.Namespace, options, model) -> int:
    from netralitas.batch.parts import INPUT_FORMATS, Part, resolve
    from netralitas.batch.stream import Job, score_part
    from netralitas.data.errors import DataError
    from netralitas.data.output import output_format

    fmt = output_format(args.output)  # an unknown suffix fails before anything is scored
    filesystem, path = resolve(args.input)
    info = filesystem.get_file_info(path)
    if not info.is_file:
        raise DataError(
            f"data file {args.input} does not exist; expected a .jsonl, .csv, .parquet or .xlsx file"
        )
    suffix = Path(path).suffix.lower()
    forced = args.format if args.format and args.format != "auto" else None
    part = Part(
        source=path,
        name=Path(path).name,
        format=forced or INPUT_FORMATS[suffix],
        size=int(info.size or 0),
        mtime_ns=int(info.mtime_ns or 0),
        output=str(resolve(args.output)[1]),
        output_format=fmt,
    )
    job = Job([part], options, model)
    scorer = _load_scorer(args)
    rows = score_part(scorer, part, options, job.fingerprint(part), log=_note, marker=False)
    print(f"wrote {rows} rows to {args.output}", file=sys.stderr)
    return 0
