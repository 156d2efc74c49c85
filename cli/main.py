"""The `netralitas` command line: train, evaluate, score, validate-fast, cascade, data validate,
data split, serve, feedback export/audit, api-key."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from netralitas.cli.base_model import add_base_model_commands
from netralitas.cli.batch import add_batch_flags
from netralitas.cli.calibrate import add_calibration_commands
from netralitas.cli.cases import add_cases_command
from netralitas.cli.data import add_data_commands
from netralitas.cli.data_flags import add_data_flags, data_overrides, read_options
from netralitas.cli.text import add_text_commands

__all__ = ["main"]


def _table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _load_scorer(model_dir: str, profile: list[str] | None, inference: str = "auto"):
    """The one way the command line loads a model: a Scorer, saying how it computes."""
    from netralitas.model.scorer import Scorer

    scorer = Scorer.from_pretrained(model_dir, profile or (), inference=inference)
    if scorer.describe():
        print(f"{model_dir}: {scorer.describe()}", file=sys.stderr)
    return scorer


def _note(line: str) -> None:
    """A line about the data read (columns mapped or ignored, ...), on standard error."""
    print(line, file=sys.stderr)


def _load_model(model_dir: str, profile: list[str] | None, inference: str = "auto"):
    return _load_scorer(model_dir, profile, inference).model


def cmd_train(args: argparse.Namespace) -> int:
    from netralitas.training.config import load_config
    from netralitas.training.train import train

    config = load_config(
        args.config, args.set, data_file=args.data, data_overrides=data_overrides(args)
    )
    train(config, output_dir=args.output_dir)
    return 0


def cmd_cross_validate(args: argparse.Namespace) -> int:
    from netralitas.training.config import load_config
    from netralitas.training.cross_validate import config_records, cross_validate

    config = load_config(
        args.config, args.set, data_file=args.data, data_overrides=data_overrides(args)
    )
    records = config_records(config, log=_note)
    result = cross_validate(config, records, k=args.folds, seed=args.seed)
    summary = result.summary()
    pooled = summary["pooled_out_of_fold"]
    low, high = pooled["macro_f1_ci95"]
    rows = [
        (name, f"{summary[name]['mean']:.3f}", f"{summary[name]['sd']:.3f}")
        for name in ("macro_f1", "macro_f1_argmax", "precision", "recall", "train_seconds")
    ]
    print(f"\n{summary['folds']} folds; mean and standard deviation over folds")
    print(_table(rows, ["figure", "mean", "sd"]))
    print(
        f"out of fold ({pooled['n']} posts, each scored by the model that did not see it): "
        f"macro-F1 {pooled['macro_f1']:.3f} (95% CI {low:.3f}-{high:.3f}) at the fold thresholds; "
        f"precision {pooled['precision']:.3f}, recall {pooled['recall']:.3f}"
    )
    if args.output:
        Path(args.output).write_text(json.dumps(summary, indent=2), encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from netralitas.data.records import DataError, load_records
    from netralitas.evaluation.evaluate import (
        compare_evaluations,
        evaluate_model,
        records_of_split,
    )
    from netralitas.evaluation.report import write_evaluation

    if args.data is None and args.split is None:
        raise DataError(
            "evaluate needs DATA (a labelled file), or --split to use a split of the data the "
            "model was trained on"
        )
    records = load_records(args.data, read_options(args), log=_note) if args.data else None
    model = _load_model(args.model_dir, args.profile, args.inference)
    if records is None:
        records = _training_records(model.metadata_)
    if args.split:
        records = records_of_split(records, model.metadata_, args.split)
        _note(f"evaluating on the model's {args.split} split: {len(records)} posts")
    evaluation = evaluate_model(model, records, seed=args.seed, min_slice_size=args.min_slice_size)
    result = evaluation.result
    result["model"]["dir"] = args.model_dir
    result["data"] = str(args.data or "the model's training data") + (
        f" ({args.split} split)" if args.split else ""
    )
    if args.compare:
        other = evaluate_model(
            _load_model(args.compare, args.profile, args.inference),
            records,
            seed=args.seed,
            with_robustness=False,
        )
        other.result["model"]["dir"] = args.compare
        result["comparison"] = compare_evaluations(evaluation, other, seed=args.seed)
    json_path, html_path = write_evaluation(result, args.report_dir)
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
    _print_extras(result)
    print(f"wrote {json_path} and {html_path}")
    return 0


def _training_records(metadata) -> list:
    """The labelled files a model's training config named (paths as given when it was trained)."""
    from netralitas.training.config import TrainConfig
    from netralitas.training.cross_validate import config_records

    return config_records(TrainConfig.model_validate(metadata.training_config), log=_note)


def _flip_rate(m: dict) -> str:
    """A robustness or evasion row's flip rate with its 95% interval ("-": no post changed)."""
    if not m["n_changed"]:
        return "-"
    low, high = m["flip_rate_ci95"]
    return f"{m['flip_rate']:.3f} ({low:.3f}-{high:.3f})"


def _print_extras(result: dict) -> None:
    """Calibration, slices, robustness, evasion and comparison lines of `netralitas evaluate`."""
    print(
        f"\nROC-AUC {result['roc_auc']:.3f}; Brier {result['brier']:.3f}; ECE {result['ece']:.3f}"
    )
    rows = [
        (dim, name, m["n"], f"{m['accuracy']:.3f}", "yes" if m["too_small"] else "")
        for dim, slices in result["slices"].items()
        for name, m in slices.items()
    ]
    print(f"\nslices (too small: fewer than {result['min_slice_size']} posts)")
    print(_table(rows, ["dimension", "slice", "n", "accuracy", "too small"]))
    if result.get("robustness"):
        rows = [
            (
                name,
                m["n_changed"],
                m["flips"],
                _flip_rate(m),
            )
            for name, m in result["robustness"].items()
        ]
        print("\nrobustness")
        print(_table(rows, ["perturbation", "changed", "flips", "flip rate (95% CI)"]))
    if result.get("evasion"):
        suite = result["evasion"]
        rows = [
            (
                name,
                "yes" if m["readable"] else "no",
                m["n_changed"],
                m["flips"],
                _flip_rate(m),
            )
            for name, m in suite["perturbations"].items()
        ]
        print(f"\nevasion ({suite['n_flagged']} flagged posts rewritten as an evader would)")
        print(_table(rows, ["perturbation", "readable", "changed", "flips", "flip rate (95% CI)"]))
    if result.get("comparison"):
        boot, mc = result["comparison"]["paired_bootstrap"], result["comparison"]["mcnemar"]
        low, high = boot["difference_ci95"]
        print(
            f"\ncompared with {result['comparison']['model_b']['dir']}: macro-F1 "
            f"{boot['macro_f1_a']:.3f} vs {boot['macro_f1_b']:.3f}, difference "
            f"{boot['difference']:+.3f} (95% CI {low:+.3f} to {high:+.3f}); McNemar "
            f"{mc['a_only']} vs {mc['b_only']} discordant, p={mc['p_value']:.3g} ({mc['method']})"
        )


def cmd_score(args: argparse.Namespace) -> int:
    from netralitas.cli.batch import cmd_score_batch, routed
    from netralitas.data.output import keep_columns, output_format, scored_rows, write_rows
    from netralitas.data.records import json_default, load_table

    if routed(args):
        return cmd_score_batch(args)  # streamed in batches: a directory, or a file into a file
    if args.output:
        output_format(args.output)  # an unknown suffix fails before anything is scored
    table = load_table(args.input, read_options(args), require_label=False, log=_note)
    keep = keep_columns(args.keep_columns, table)
    scorer = _load_scorer(args.model_dir, args.profile, args.inference)
    posts = list(scorer.score(table.records, progress=True))
    rows = scored_rows(table, posts, scorer.metadata.labels, keep)
    if args.table:
        width = 70
        table_rows = [
            (
                r["id"],
                r["decision"],
                r["label"],
                f"{r['score']:.3f}",
                (rec.text if len(rec.text) <= width else rec.text[: width - 3] + "...").replace(
                    "\n", " "
                ),
            )
            for r, rec in zip(rows, table.records, strict=True)
        ]
        print(_table(table_rows, ["id", "decision", "label", "score", "text"]))
    if args.output:
        write_rows(rows, args.output)
        print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    elif not args.table:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False, default=json_default) + "\n")
    return 0


def cmd_validate_fast(args: argparse.Namespace) -> int:
    from netralitas.training.guard import describe_guard, validate_fast

    guard = validate_fast(
        args.model_dir,
        args.data,
        path=args.path,
        min_agreement=args.min_agreement,
        format=args.format,
        write=not args.dry_run,
    )
    print(describe_guard(guard))
    if not args.dry_run:
        print(f"recorded in {Path(args.model_dir) / 'netralitas.json'}")
    return 0 if guard.passed else 1


def cmd_cascade(args: argparse.Namespace) -> int:
    from netralitas.model.backends.cascade import CascadeClassifier

    screen = _load_model(args.screen_dir, None)
    model = _load_model(args.model_dir, None)
    try:
        cascade = CascadeClassifier(screen, model, args.threshold)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cascade.save_pretrained(args.output)
    print(
        f"wrote {args.output}: posts with a screen side score >= {args.threshold:g} go to "
        f"{args.model_dir}; score it like any model (netralitas score {args.output} FILE)"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from netralitas.serve.run import serve

    return serve(args.model_dir, args.host, args.port, args.profile or (), args.workers)


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from netralitas.serve.run import export

    return export(args.db, args.output)


def cmd_feedback_audit(args: argparse.Namespace) -> int:
    from netralitas.serve.run import audit

    return audit(args.db, args.item, args.key, args.reviewer, args.since, args.output)


def cmd_api_key(args: argparse.Namespace) -> int:
    from netralitas.serve.run import api_key

    return api_key(args.name, args.scopes, args.key)


def _inference_flag(p: argparse.ArgumentParser) -> None:
    from netralitas.model.inference import INFERENCE_MODES

    p.add_argument(
        "--inference",
        default="auto",
        choices=INFERENCE_MODES,
        help="how a transformer or frozen-encoder model computes: auto (default: on a CPU the "
        "path the artifact's accuracy guard passed, int8 or bf16, else fp32; bf16/fp16 on CUDA), "
        "fp32, int8, bf16, fp16",
    )


def build_parser() -> argparse.ArgumentParser:
    from netralitas.data.records import FORMATS

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
    p.add_argument(
        "--data",
        nargs="+",
        metavar="FILE",
        help="train on this labelled file (or these files, read together) instead of the config's "
        "data files; deduplicated and split into train/validation/test automatically (data.path)",
    )
    add_data_flags(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "cross-validate",
        help="k-fold cross-validation of a training config on one labelled file",
    )
    p.add_argument("config", help="e.g. training/configs/baseline.toml")
    p.add_argument(
        "--data",
        nargs="+",
        metavar="FILE",
        help="the labelled file or files (default: the config's data files, all together)",
    )
    p.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    p.add_argument("--seed", type=int, default=13, help="fold assignment seed (default 13)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value"
    )
    p.add_argument("--output", help="also write the summary as JSON to this file")
    add_data_flags(p)
    p.set_defaults(func=cmd_cross_validate)

    p = sub.add_parser(
        "evaluate",
        help="evaluate a model on labelled data; writes eval.json and an HTML report",
    )
    p.add_argument("model_dir")
    p.add_argument(
        "data", nargs="?", help="labelled posts (with --split: default the model's training data)"
    )
    p.add_argument(
        "--split",
        choices=("train", "validation", "test"),
        help="only the posts of this split of the model's training (stored in the artifact)",
    )
    p.add_argument(
        "--report-dir",
        default="reports",
        help="where eval.json and report.html go (default: reports)",
    )
    p.add_argument(
        "--compare",
        metavar="OTHER_MODEL_DIR",
        help="also evaluate this model on the same data; paired bootstrap and McNemar's test",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap and perturbation seed")
    p.add_argument(
        "--min-slice-size",
        type=int,
        default=30,
        help="slices with fewer posts are marked too small to trust (default 30)",
    )
    p.add_argument(
        "--profile",
        action="append",
        help="election profile TOML to apply instead of the stored ones",
    )
    add_data_flags(p)
    _inference_flag(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "score",
        help="score posts: one flat row per input row, same order, input columns carried through",
    )
    p.add_argument("model_dir")
    p.add_argument(
        "input",
        help="JSONL, CSV, Parquet or Excel with a text column (and optional id, context columns); "
        "or a directory, glob or URL (s3://, gs://) of Parquet, JSONL or CSV parts",
    )
    p.add_argument(
        "--output",
        help="output file; the suffix picks the format: .jsonl, .csv, .tsv or .parquet "
        "(default: JSON Lines on standard output); or a directory: one part per input part",
    )
    p.add_argument(
        "--keep-columns",
        default="all",
        metavar="all|none|COL,...",
        help="input columns to carry into the output (default all; one named like an output "
        "column, e.g. label, is written as input_<name>)",
    )
    p.add_argument(
        "--profile",
        action="append",
        help="election profile TOML to apply instead of the stored ones",
    )
    p.add_argument("--table", action="store_true", help="print a readable table")
    add_data_flags(p)
    _inference_flag(p)
    add_batch_flags(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "validate-fast",
        help="check a transformer's fast inference path against fp32; record it in the artifact",
        description="Scores DATA with fp32 and with the fast path and records label agreement and "
        "the largest probability difference in netralitas.json; 'auto' uses the fast path only "
        "when the agreement reaches --min-agreement. Exit code 1 when it does not.",
    )
    p.add_argument("model_dir")
    p.add_argument("data", help="posts to compare on, e.g. the validation split (labels unused)")
    p.add_argument("--path", default="int8", choices=["int8", "bf16", "fp16"])
    p.add_argument("--min-agreement", type=float, default=0.99, help="default 0.99")
    p.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    p.add_argument("--format", default="auto", choices=FORMATS)
    p.set_defaults(func=cmd_validate_fast)

    p = sub.add_parser(
        "cascade",
        help="combine a TF-IDF screen and a transformer: only posts the screen does not clear "
        "go to the transformer",
    )
    p.add_argument("screen_dir", help="the screening artifact (the TF-IDF baseline)")
    p.add_argument("model_dir", help="the transformer artifact that decides")
    p.add_argument("--output", required=True, help="cascade artifact directory to write")
    p.add_argument(
        "--threshold",
        type=float,
        default=0.1,
        help="screen side score from which a post goes to the transformer (default 0.1; at most "
        "the transformer's flag threshold; benchmarks/cascade.py measures the recall it costs)",
    )
    p.set_defaults(func=cmd_cascade)

    add_data_commands(sub)
    add_base_model_commands(sub)
    add_calibration_commands(sub)
    add_text_commands(sub)
    add_cases_command(sub)

    p = sub.add_parser("serve", help="run the scoring API (settings: NETRALITAS_* variables)")
    p.add_argument("model_dir")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--profile",
        action="append",
        help="election profile TOML to apply instead of the stored ones",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="worker processes sharing the port, one model each (default: NETRALITAS_WORKERS, 1)",
    )
    p.set_defaults(func=cmd_serve)
    feedback = sub.add_parser("feedback", help="reviewer feedback").add_subparsers(
        dest="feedback_command", required=True
    )
    p = feedback.add_parser("export", help="write reviewed items as training JSONL")
    p.add_argument("--db", required=True, help="SQLite file or database URL of the service")
    p.add_argument("--output", required=True, help="JSONL file, readable by `netralitas train`")
    p.set_defaults(func=cmd_feedback_export)
    p = feedback.add_parser(
        "audit", help="who created, changed or adjudicated which verdict, when (oldest first)"
    )
    p.add_argument("--db", required=True, help="SQLite file or database URL of the service")
    p.add_argument("--item", help="only this item id")
    p.add_argument("--key", help="only what this API key name wrote")
    p.add_argument("--reviewer", help="only this reviewer (any spelling: names are normalised)")
    p.add_argument("--since", help="only from this time on (ISO 8601; UTC unless it says)")
    p.add_argument(
        "--output", help="write the rows to a .jsonl, .csv, .tsv or .parquet file (default: stdout)"
    )
    p.set_defaults(func=cmd_feedback_audit)
    p = sub.add_parser("api-key", help="make an API key and the hashed entry that configures it")
    p.add_argument("name", help="who holds the key, e.g. tim-monitoring-jabar")
    p.add_argument("--scopes", default="score", help="comma-separated: score,feedback,admin")
    p.add_argument("--key", help="hash this key instead of generating one")
    p.set_defaults(func=cmd_api_key)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from netralitas.data.records import DataError
    from netralitas.model.artifact import ArtifactError
    from netralitas.model.inference import InferenceError
    from netralitas.model.text.profiles import ProfileError
    from netralitas.training.config import ConfigError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, ConfigError, ArtifactError, ProfileError, InferenceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
