"""`netralitas cases`: scored rows -> one evidence file per account (HTML and JSON) and an index."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_cases_command"]


def cmd_cases(args: argparse.Namespace) -> int:
    from netralitas.serve.cases import build_cases, describe, write_cases

    scorer = None
    if args.model:
        from netralitas.model.scorer import Scorer

        scorer = Scorer.from_pretrained(args.model, args.profile or ())
    cases = build_cases(
        args.scored,
        by=args.by,
        include=args.include,
        min_flags=args.min_flags,
        scorer=scorer,
        text_column=args.text_column,
        context_column=args.context_column,
    )
    out = write_cases(cases, args.output)
    for line in describe(cases):
        print(line)
    print(f"wrote {len(cases.cases)} case file(s) and the index to {out}", file=sys.stderr)
    return 0


def add_cases_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cases",
        help="case files: scored rows grouped by account into evidence pages (HTML and JSON)",
        description="Reads the rows `netralitas score` wrote (they must carry the text and "
        "context: the default --keep-columns all does) and writes, into OUTPUT, one HTML and one "
        "JSON file per account with each flagged (and review) item, its explanation highlighted, "
        "and index.html/index.json of the accounts by flags. A flag is a reason for a person to "
        "look, never a verdict; every page says so.",
    )
    p.add_argument("scored", help="the output of `netralitas score` (.jsonl, .csv or .parquet)")
    p.add_argument("--output", required=True, help="folder to write (new, empty, or replaced)")
    p.add_argument(
        "--by", default="account", help="column that names the account (default account)"
    )
    p.add_argument(
        "--min-flags",
        type=int,
        default=0,
        metavar="N",
        help="only accounts with at least N flagged items (default 0: every account with an item)",
    )
    p.add_argument(
        "--include",
        choices=["review", "flag"],
        default="review",
        help="review: flagged and review items (default); flag: flagged items only",
    )
    p.add_argument(
        "--model",
        metavar="MODEL_DIR",
        help="the model that scored the file: explains the items (when the file has no "
        "explanation column) and shows its thresholds",
    )
    p.add_argument("--profile", action="append", help="election profile TOML for --model")
    p.add_argument("--text-column", default="text", help="column of the posts (default text)")
    p.add_argument(
        "--context-column", default="context", help="column of the contexts (default context)"
    )
    p.set_defaults(func=cmd_cases)
