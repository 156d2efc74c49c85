"""The `netralitas data` commands: validate, split, stats and convert labelled data."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from netralitas.cli.data_flags import add_data_flags, read_options

__all__ = ["add_data_commands"]


def cmd_data_validate(args: argparse.Namespace) -> int:
    from netralitas.data.labels import MIN_LABEL_COUNT
    from netralitas.data.records import load_table
    from netralitas.data.split import deduplicate

    table = load_table(args.file, read_options(args), require_label=not args.unlabelled)
    records = table.records
    _, dropped = deduplicate(records)
    print(f"{args.file}: {len(records)} valid records; {dropped} duplicate(s) after normalisation")
    for line in table.describe():
        print(f"  {line}")
    for field in ("label", "tag", "platform", "action", "election"):
        counts = Counter(getattr(r, field) for r in records if getattr(r, field) is not None)
        if counts:
            print(f"  {field}: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    with_context = sum(r.context is not None for r in records)
    print(f"  with context: {with_context} ({with_context / len(records):.0%})")
    labels = Counter(r.label for r in records if r.label is not None)
    rare = {label: n for label, n in labels.items() if n < MIN_LABEL_COUNT}
    if rare:
        print(
            f"  note: training refuses a label with fewer than {MIN_LABEL_COUNT} rows "
            f"(data.min_label_count): {', '.join(f'{k} {v}' for k, v in rare.items())}"
        )
    return 0


def cmd_data_split(args: argparse.Namespace) -> int:
    from netralitas.data.records import load_records, write_jsonl
    from netralitas.data.split import split_records

    result = split_records(
        load_records(args.file, read_options(args), log=print),
        args.validation,
        args.test,
        seed=args.seed,
        source=str(args.file),
    )
    out = Path(args.out)
    for name in ("train", "validation", "test"):
        part = getattr(result, name)
        write_jsonl(part, out / f"{name}.jsonl")
        counts = Counter(r.label for r in part)
        print(
            f"{name}: {len(part)} rows ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
        )
    print(
        f"dropped {result.duplicates_dropped} duplicate(s); {result.groups} groups kept whole; wrote {out}"
    )
    return 0


def cmd_data_convert(args: argparse.Namespace) -> int:
    from netralitas.data.convert import convert, parse_mapping
    from netralitas.data.records import write_jsonl

    result = convert(args.format, args.input, parse_mapping(args.map))
    write_jsonl(result.records, args.output)
    labels = Counter(r.label for r in result.records)
    weak = sum(r.weak for r in result.records)
    read = ", ".join(f"{k or '(empty)'} {v}" for k, v in sorted(result.source_counts.items()))
    print(f"read {sum(result.source_counts.values())} rows ({read})")
    print(
        f"wrote {len(result.records)} records to {args.output}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(labels.items()))
        + f"; {weak} flagged weak"
    )
    if result.dropped:
        print(
            "dropped by mapping: "
            + ", ".join(f"{k or '(empty)'} {v}" for k, v in result.dropped.items())
        )
    if result.empty:
        print(f"skipped {result.empty} row(s) without text")
    return 0


def cmd_data_stats(args: argparse.Namespace) -> int:
    from netralitas.data.datacard import data_card
    from netralitas.data.records import load_records
    from netralitas.model.text.normalize import TextNormalizer
    from netralitas.model.text.profiles import load_profiles

    profiles = load_profiles(args.profiles)
    parts = {Path(f).stem: load_records(f, read_options(args)) for f in args.files}
    types = {p.id: p.election_type for p in profiles}
    print(data_card(parts, TextNormalizer(profiles), election_types=types), end="")
    return 0


def add_data_commands(sub: argparse._SubParsersAction) -> None:
    """Register `netralitas data ...` on the top-level subcommand parser."""
    from netralitas.data.convert import CONVERTERS

    data = sub.add_parser("data", help="check and split labelled data").add_subparsers(
        dest="data_command", required=True
    )
    p = data.add_parser("validate", help="check a data file against the record schema")
    p.add_argument("file")
    p.add_argument("--unlabelled", action="store_true", help="labels are not required")
    add_data_flags(p)
    p.set_defaults(func=cmd_data_validate)
    p = data.add_parser("split", help="deduplicate and split into train/validation/test JSONL")
    p.add_argument("file")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--validation", type=float, default=0.1)
    p.add_argument("--test", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=13)
    add_data_flags(p)
    p.set_defaults(func=cmd_data_split)
    p = data.add_parser("stats", help="Markdown counts and top tokens per label (for a data card)")
    p.add_argument("files", nargs="+", help="one or more files, e.g. the three splits")
    p.add_argument("--profiles", nargs="*", default=["data/elections"], help="profiles for masking")
    add_data_flags(p)
    p.set_defaults(func=cmd_data_stats)
    p = data.add_parser(
        "convert",
        help="convert a public dataset or annotation export to training JSONL",
        description="Label mappings and weak flags per format: see netralitas/data/convert.py "
        "and the README section 'Offline evaluation'.",
    )
    p.add_argument("format", choices=list(CONVERTERS), metavar="FORMAT", help=", ".join(CONVERTERS))
    p.add_argument("input", help="the file as published upstream")
    p.add_argument("--output", required=True, help="JSONL file to write")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SRC=DST",
        help="override one label mapping, e.g. --map netral=supportive; SRC= drops those rows",
    )
    p.set_defaults(func=cmd_data_convert)
