"""`netralitas recalibrate`: new calibration and thresholds for a model, from real labelled posts."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_calibration_commands"]


def cmd_recalibrate(args: argparse.Namespace) -> int:
    from netralitas.cli.data_flags import read_options
    from netralitas.data.records import load_records
    from netralitas.training.recalibrate import recalibrate

    overrides = {
        key: value
        for key, value in (
            ("precision_target", args.precision_target),
            ("review_recall", args.review_recall),
            ("calibration", args.calibration),
        )
        if value is not None
    }
    output = args.output or f"{str(args.model_dir).rstrip('/')}-recalibrated"
    recalibrate(
        args.model_dir,
        load_records(
            args.data,
            read_options(args),
            require_label=True,
            log=lambda line: print(line, file=sys.stderr),
        ),
        output,
        data_name=str(args.data),
        overrides=overrides,
    )
    print(f"compare: netralitas evaluate {output} HELD_OUT.jsonl --compare {args.model_dir}")
    return 0


def add_calibration_commands(sub: argparse._SubParsersAction) -> None:
    from netralitas.cli.data_flags import add_data_flags

    p = sub.add_parser(
        "recalibrate",
        help="re-fit calibration and thresholds of a model on real labelled posts (no retraining)",
        description="Fits a new calibration map and new flag/review thresholds on labelled posts "
        "(e.g. `netralitas feedback export`) and writes them, with the model's weights, as a new "
        "artifact version that records the data it was calibrated on. The model's own folder is "
        "never changed. Evaluate the result on other posts with --compare MODEL_DIR.",
    )
    p.add_argument("model_dir", help="the artifact to recalibrate, e.g. artifacts/default")
    p.add_argument("data", help="labelled posts the model was not trained on")
    p.add_argument(
        "--output", help="the new artifact folder (default: MODEL_DIR-recalibrated; must not exist)"
    )
    add_data_flags(p)  # --format, --text-column ... --map: read the file as `train` would
    p.add_argument(
        "--precision-target", type=float, help="default: the one the model was trained with"
    )
    p.add_argument("--review-recall", type=float, help="default: the one it was trained with")
    p.add_argument(
        "--calibration",
        choices=("auto", "temperature", "isotonic", "none"),
        help="the calibration map (default auto: the lowest held-out log-loss)",
    )
    p.set_defaults(func=cmd_recalibrate)
