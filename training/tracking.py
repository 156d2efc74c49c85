"""Experiment tracking for fine-tuning: `report_to` in a transformer config, checked early.

`model.report_to` is passed to `transformers.TrainingArguments`: `"none"` (the default), `"all"`
(every integration installed here), or a list of integration names such as
`["tensorboard", "mlflow"]`. Names are checked when the config is read (`report_to_setting`);
that each named integration is installed, before any data is read (`check_report_to`), so a
typo or a missing package never costs a training run:

    [model]
    kind = "transformer"
    report_to = ["tensorboard"]   # pip install tensorboard; logs in <checkpoint_dir>/runs/

TensorBoard writes into the Trainer's output folder (`checkpoint_dir`), which a successful run
removes; naming it therefore needs `keep_checkpoints = true` or `TENSORBOARD_LOGGING_DIR` set to
a folder of your own. MLflow logs to `./mlruns` unless `MLFLOW_TRACKING_URI` says otherwise.
Whatever is named, the artifact records the run itself (training/run_info.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from netralitas.training.config import ConfigError

__all__ = ["INTEGRATIONS", "check_report_to", "report_to_setting"]

# transformers 5.x `integrations.integration_utils.INTEGRATION_TO_CALLBACK`, with what to install
# for each (tests/test_tracking.py checks the names against the installed transformers).
INTEGRATIONS: dict[str, str] = {
    "azure_ml": "pip install azureml-core",
    "clearml": "pip install clearml",
    "codecarbon": "pip install codecarbon",
    "comet_ml": "pip install comet-ml, and set COMET_API_KEY",
    "dagshub": "pip install dagshub mlflow",
    "dvclive": "pip install dvclive",
    "flyte": "pip install flytekit flytekitplugins-deck-standard",
    "kubeflow": "run inside Kubeflow (KUBEFLOW_TRAINER_SERVER_URL is set there)",
    "mlflow": "pip install mlflow",
    "neptune": "pip install neptune",
    "swanlab": "pip install swanlab",
    "tensorboard": "pip install tensorboard",
    "trackio": "pip install trackio",
    "wandb": "pip install wandb",
}


def report_to_setting(value: Any) -> tuple[str, ...]:
    """`model.report_to` as TrainingArguments takes it: `()` for "none", `("all",)`, or the
    integration names; ValueError naming the known ones otherwise."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f'report_to must be "none", "all" or a list of integration names, found {value!r}'
        )
    names = [n.strip() for n in names]
    if names in (["none"], []):
        return ()
    if names == ["all"]:
        return ("all",)
    unknown = [n for n in names if n not in INTEGRATIONS]
    if unknown or "none" in names or "all" in names:
        raise ValueError(
            f"report_to {value!r}: {', '.join(repr(n) for n in unknown) or 'none/all'} is not "
            f'one of {", ".join(INTEGRATIONS)}; use "none", "all" or a list of those names, e.g. '
            'report_to = ["tensorboard"]'
        )
    return tuple(dict.fromkeys(names))


def _installed(name: str) -> bool:
    from transformers.integrations import integration_utils as hf

    special = {"flyte": hf.is_flyte_deck_standard_available, "kubeflow": hf.is_kubeflow_available}
    if name in special:
        return bool(special[name]())
    return name in hf.get_available_reporting_integrations()


def check_report_to(report_to: Sequence[str], keep_checkpoints: bool, checkpoint_dir: str) -> None:
    """Raise ConfigError when a named integration is not installed here, or when TensorBoard's
    logs would be deleted with the checkpoints (see the module docstring)."""
    if not report_to or "all" in report_to:
        return
    missing = [name for name in report_to if not _installed(name)]
    if missing:
        fixes = "; ".join(f"{name}: {INTEGRATIONS[name]}" for name in missing)
        raise ConfigError(
            f"model.report_to names {', '.join(repr(n) for n in missing)}, not installed in this "
            f"environment. Install it ({fixes}) or remove it from report_to"
        )
    own_folder = os.environ.get("TENSORBOARD_LOGGING_DIR")
    if "tensorboard" in report_to and not keep_checkpoints and not own_folder:
        raise ConfigError(
            f"model.report_to names 'tensorboard', whose logs go to {checkpoint_dir}/runs, a "
            "folder removed after a successful run; set model.keep_checkpoints = true, or "
            "TENSORBOARD_LOGGING_DIR to a folder of your own"
        )
