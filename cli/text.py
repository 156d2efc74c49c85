"""The `netralitas normalize` command: the text a model reads, and the contestants masked in it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_text_commands"]

DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet", ".xlsx")


def _posts(args: argparse.Namespace) -> list:
    """The records to show: every row of a data file, or the one post given on the line."""
    from netralitas.cli.data_flags import read_options
    from netralitas.data.records import DataError, load_records
    from netralitas.model.records import Record

    source = Path(args.source)
    if source.is_file():
        if args.context is not None:
            raise DataError(f"--context is for one post given as text; {source} is a file")
        return load_records(source, read_options(args), require_label=False)
    if source.suffix.lower() in DATA_SUFFIXES and "\n" not in args.source:
        raise DataError(
            f"data file {source} does not exist; expected an existing .jsonl, .csv or .parquet "
            "file, or the text of a post in quotes"
        )
    if not args.source.strip():
        raise DataError("the text is empty; give a post in quotes or a data file")
    return [Record(text=args.source, context=args.context)]


def _found(finder, text: str) -> dict:
    """The contestants (and ballot numbers) masking finds in one text, JSON-ready."""
    return {
        "mentions": [
            {"election": m.election, "contestant": m.contestant, "tokens": m.tokens}
            for m in finder.mentions(text)
        ],
        "ballot_numbers": finder.ballot_numbers(text),
    }


def cmd_normalize(args: argparse.Namespace) -> int:
    from netralitas.model.preview import MentionFinder, model_views, normalizer_view
    from netralitas.model.text.profiles import load_profiles

    profiles = load_profiles(args.profile) if args.profile else None
    if args.model:
        from netralitas.model.loading import load_classifier

        model = load_classifier(args.model, profiles=profiles)
        try:
            views = model_views(model)
        except TypeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        profiles = tuple(model.profiles)
    else:
        profiles = profiles or ()
        views = [normalizer_view(profiles)]
        if not profiles:
            print(
                "note: no --profile given, so only ballot numbers are masked; e.g. "
                "--profile data/elections reads the bundled elections' contestants",
                file=sys.stderr,
            )
    finder = MentionFinder(profiles)
    for number, record in enumerate(_posts(args), 1):
        shown = {
            view.name: {
                "text": view.read(record.text),
                "context": view.read_context(record.context)
                if record.context and view.read_context
                else None,
            }
            for view in views
        }
        found = {"post": _found(finder, record.text)}
        if record.context:
            found["context"] = _found(finder, record.context)
        if args.json:
            row = {"id": record.id if record.id is not None else str(number), "views": shown}
            row["contestants"] = found
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
            continue
        lines = [("post", record.text)]
        if record.context:
            lines.append(("context", record.context))
        for name, view in shown.items():
            lines.append((name, view["text"]))
            if view["context"] is not None:
                lines.append(("  context", view["context"]))
            elif record.context:
                lines.append(("  context", "(not read by this model)"))
        for part, mentions in found.items():
            described = [
                f"{m['election']} contestant {m['contestant']}: "
                + ", ".join(f"{token} x{n}" for token, n in m["tokens"].items())
                for m in mentions["mentions"]
            ]
            if mentions["ballot_numbers"]:
                described.append(f"ballot numbers x{mentions['ballot_numbers']}")
            lines.append((f"found in {part}", "; ".join(described) or "no contestant"))
        width = max(len(label) for label, _ in lines)
        header = f"[{record.id if record.id is not None else number}]"
        print("\n".join([header, *(f"  {label.ljust(width)}  {text}" for label, text in lines)]))
    return 0


def add_text_commands(sub: argparse._SubParsersAction) -> None:
    """Register `netralitas normalize`."""
    from netralitas.cli.data_flags import add_data_flags

    p = sub.add_parser(
        "normalize",
        help="show the text a model reads (normalised, contestants masked) for a post or a file",
        description="Prints each post as the model reads it: without --model, through the text "
        "normaliser with the --profile election profiles (contestants masked to role tokens); "
        "with --model, each part of that model's own reading (TF-IDF: normalised and masked; a "
        "pretrained encoder with text_view raw: the post tidied). Also lists which contestants "
        "of which election were found.",
    )
    p.add_argument(
        "source", help="the text of one post (in quotes), or a JSONL/CSV/Parquet file of posts"
    )
    p.add_argument("--context", help="the post it answers or shares (with a text)")
    p.add_argument("--model", metavar="MODEL_DIR", help="show what this model reads")
    p.add_argument(
        "--profile",
        action="append",
        help="election profile TOML or folder of them (repeatable); with --model, instead of the "
        "stored ones",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per post")
    add_data_flags(p)  # a file's columns are named as on every command (--text-column, ...)
    p.set_defaults(func=cmd_normalize)
