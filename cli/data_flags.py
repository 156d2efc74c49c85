"""The flags that say how to read a data file, shared by every command that reads one.

`train`, `cross-validate`, `evaluate`, `score`, `data validate`, `data split` and `data stats`
take the same `--format`, `--text-column`, `--context-column`, `--label-column`, `--id-column` and
`--map VALUE=LABEL`; they become one `ReadOptions` (netralitas.data.columns), or, for the commands
that read a training config, override its `[data]` keys `format`, `columns` and `label_map`.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_data_flags", "data_overrides", "read_options"]


def add_data_flags(p: argparse.ArgumentParser) -> None:
    """Add the reading flags to `p` (every command that reads data takes all of them)."""
    from netralitas.data.readers import FORMATS

    g = p.add_argument_group(
        "reading the data file",
        "which column is what, and what the label values mean (in a training config: the [data] "
        "keys columns, label_map and format; these flags override them)",
    )
    g.add_argument(
        "--format",
        choices=FORMATS,
        help="file format (default auto: from the suffix; CSV separators , ; and tab are sniffed)",
    )
    g.add_argument("--text-column", metavar="COL", help="column with the post (default: text)")
    g.add_argument(
        "--context-column",
        metavar="COL",
        help="column with the post answered or shared (default: context, if present)",
    )
    g.add_argument(
        "--id-column",
        metavar="COL",
        help="column with the row id (default: id, if present; `score` numbers rows without one)",
    )
    g.add_argument(
        "--label-column",
        metavar="COL",
        help="column with the label (default: label)",
    )
    g.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="VALUE=LABEL",
        help="label value in the file -> label, e.g. --map dukung=supportive --map netral=neutral "
        "(repeatable; VALUE= drops those rows from labelled data)",
    )


def data_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The `[data]` keys the flags set: `format`, `columns` (only the named ones), `label_map`."""
    from netralitas.data.columns import parse_label_map

    out: dict[str, Any] = {}
    if getattr(args, "format", None):
        out["format"] = args.format
    columns = {
        role: getattr(args, f"{role}_column", None)
        for role in ("text", "context", "label", "id")
        if getattr(args, f"{role}_column", None)
    }
    if columns:
        out["columns"] = columns
    if getattr(args, "map", None):
        out["label_map"] = parse_label_map(args.map)
    return out


def read_options(args: argparse.Namespace):
    """The `ReadOptions` of the flags (for commands without a training config)."""
    from pydantic import ValidationError

    from netralitas.data.columns import ReadOptions
    from netralitas.data.errors import DataError

    try:
        return ReadOptions.model_validate(data_overrides(args))
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise DataError(f"how to read the file: {problems}") from exc
