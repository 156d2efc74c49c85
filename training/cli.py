"""The `netralitas` command line: train, evaluate, score, data validate, data split."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _load_model(model_dir: str, profile: list[str] | None):
    from netralitas.model.classifier import load_classifier
    from netralitas.model.profiles import load_profiles

    return load_classifier(model_dir, profiles=load_profiles(profile) if profile else None)


def cmd_train(args: argparse.Namespace) -> int:
    from .config import load_config
    from .train import train

    config = load_config(args.config, args.set)
    train(config, output_dir=args.output_dir)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .metrics import evaluate_predictions
    from .records import load_records

    model = _load_model(args.model_dir, args.profile)
    records = load_records(args.data, format=args.format)
    proba = model.predict_proba([r.text for r in records], [r.context for r in records])
    result = evaluate_predictions(
        proba, [r.label for r in records], model.metadata_, [r.tag for r in records]
    )
    result["model"] = {
        "name": model.metadata_.name,
        "version": model.metadata_.version,
        "dir": args.model_dir,
    }
    result["data"] = str(args.data)
    report_dir = Path(args.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "eval.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    low, high = result["macro_f1_ci95"]
    print(
        f"{args.data}: {result['n']} rows; macro-F1 {result['macro_f1']:.3f} (95% CI {low:.3f}-{high:.3f})"
        f" at threshold {result['at_threshold']['threshold']:.3f}; {result['macro_f1_argmax']:.3f} at argmax;"
        f" PR-AUC {result['pr_auc']:.3f}"
    )
    rows = [
        (label, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", m["support"])
        for label, m in result["per_class"].items()
    ]
    print(_table(rows, ["label", "precision", "recall", "f1", "support"]))
    cm = result["confusion_matrix"]
    print("\nconfusion (rows: true, columns: predicted)")
    print(
        _table(
            [[t, *row] for t, row in zip(cm["labels"], cm["rows_true_cols_pred"], strict=True)],
            ["", *cm["labels"]],
        )
    )
    at = result["at_threshold"]
    print(
        f"\nat the stored threshold: precision {at['precision']:.3f}, recall {at['recall']:.3f}, {at['flagged']} flagged"
    )
    if "per_tag" in result:
        print(
            _table(
                [(t, m["n"], f"{m['correct']:.3f}") for t, m in result["per_tag"].items()],
                ["tag", "n", "correct"],
            )
        )
    print(f"wrote {report_dir / 'eval.json'}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from .records import load_records, write_jsonl
    from .scoring import score_records

    model = _load_model(args.model_dir, args.profile)
    records = load_records(args.input, require_label=False, format=args.format)
    rows = list(score_records(model, records, progress=True))
    if args.table:
        width = 70
        table = [
            (
                r["id"],
                r["decision"],
                r["label"],
                f"{r['score']:.3f}",
                (rec.text if len(rec.text) <= width else rec.text[: width - 3] + "...").replace(
                    "\n", " "
                ),
            )
            for r, rec in zip(rows, records, strict=True)
        ]
        print(_table(table, ["id", "decision", "label", "score", "text"]))
    if args.output:
        write_jsonl(rows, args.output)
        print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    elif not args.table:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    return 0


def cmd_data_validate(args: argparse.Namespace) -> int:
    from .records import load_records
    from .split import deduplicate

    records = load_records(args.file, require_label=not args.unlabelled, format=args.format)
    _, dropped = deduplicate(records)
    print(f"{args.file}: {len(records)} valid records; {dropped} duplicate(s) after normalisation")
    for field in ("label", "tag", "platform", "action", "election"):
        counts = Counter(getattr(r, field) for r in records if getattr(r, field) is not None)
        if counts:
            print(f"  {field}: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    with_context = sum(r.context is not None for r in records)
    print(f"  with context: {with_context} ({with_context / len(records):.0%})")
    return 0


def cmd_data_split(args: argparse.Namespace) -> int:
    from .records import load_records, write_jsonl
    from .split import split_records

    result = split_records(
        load_records(args.file, format=args.format),
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


def build_parser() -> argparse.ArgumentParser:
    from .records import FORMATS

    parser = argparse.ArgumentParser(
        prog="netralitas",
        description="Find partisan posts by civil servants (ASN) in Indonesian social media.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model from a TOML config")
    p.add_argument("config", help="e.g. training/configs/baseline.toml")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set model.C=8.0 (repeatable)",
    )
    p.add_argument("--output-dir", help="artifact directory (default: the config's output_dir)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a model on labelled data; writes eval.json")
    p.add_argument("model_dir")
    p.add_argument("data")
    p.add_argument(
        "--report-dir", default="reports", help="where eval.json goes (default: reports)"
    )
    p.add_argument(
        "--profile",
        action="append",
        help="election profile TOML to apply instead of the stored ones",
    )
    p.add_argument("--format", default="auto", choices=FORMATS)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("score", help="score posts; JSONL out, one row per input row, same order")
    p.add_argument("model_dir")
    p.add_argument(
        "input", help="JSONL, CSV or Parquet with a 'text' column (and optional id, context)"
    )
    p.add_argument("--output", help="JSONL output file (default: standard output)")
    p.add_argument(
        "--profile",
        action="append",
        help="election profile TOML to apply instead of the stored ones",
    )
    p.add_argument("--table", action="store_true", help="print a readable table")
    p.add_argument("--format", default="auto", choices=FORMATS)
    p.set_defaults(func=cmd_score)

    data = sub.add_parser("data", help="check and split labelled data").add_subparsers(
        dest="data_command", required=True
    )
    p = data.add_parser("validate", help="check a data file against the record schema")
    p.add_argument("file")
    p.add_argument("--unlabelled", action="store_true", help="labels are not required")
    p.add_argument("--format", default="auto", choices=FORMATS)
    p.set_defaults(func=cmd_data_validate)
    p = data.add_parser("split", help="deduplicate and split into train/validation/test JSONL")
    p.add_argument("file")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--validation", type=float, default=0.1)
    p.add_argument("--test", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--format", default="auto", choices=FORMATS)
    p.set_defaults(func=cmd_data_split)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from netralitas.model.artifact import ArtifactError
    from netralitas.model.profiles import ProfileError

    from .config import ConfigError
    from .records import DataError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, ConfigError, ArtifactError, ProfileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
