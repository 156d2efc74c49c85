"""Experiment tracking: `model.report_to` validated when read, checked before any data is read,
passed to TrainingArguments; and the run record every artifact gets (training/run_info.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from netralitas.training import tracking
from netralitas.training.config import ConfigError, load_config
from netralitas.training.run_info import run_metadata

from .sample_data import labelled_rows, write_jsonl


def _config(root: Path, base_model: str | Path, extra: str = "") -> Path:
    write_jsonl(root / "train.jsonl", labelled_rows())
    path = root / "config.toml"
    path.write_text(
        f"""
name = "uji-tracking"
[data]
train = "{root / "train.jsonl"}"
validation = "{root / "train.jsonl"}"
[model]
kind = "transformer"
base_model = "{base_model}"
max_length = 32
epochs = 1
{extra}
""",
        encoding="utf-8",
    )
    return path


def test_the_names_are_those_transformers_knows():
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

    assert set(tracking.INTEGRATIONS) == set(INTEGRATION_TO_CALLBACK)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ('"none"', ()),
        ("[]", ()),
        ('"all"', ("all",)),
        ('"mlflow"', ("mlflow",)),
        ('["tensorboard", "mlflow", "tensorboard"]', ("tensorboard", "mlflow")),
    ],
)
def test_report_to_is_read_as_trainingarguments_takes_it(tmp_path, written, stored):
    config = load_config(_config(tmp_path, "m", f"report_to = {written}"))
    assert config.model.report_to == stored
    assert load_config(_config(tmp_path, "m")).model.report_to == ()


@pytest.mark.parametrize("written", ['"tensorbord"', '["all", "mlflow"]', "3"])
def test_an_unknown_integration_is_an_error_naming_the_known_ones(tmp_path, written):
    with pytest.raises(ConfigError, match=r"report_to.*(tensorboard, trackio|list of integration)"):
        load_config(_config(tmp_path, "m", f"report_to = {written}"))


def test_training_arguments_get_the_list(tmp_path):
    from netralitas.training.finetune import _training_arguments

    for written, expected in [('"none"', []), ('["tensorboard"]', ["tensorboard"])]:
        config = load_config(_config(tmp_path, "m", f"report_to = {written}"))
        args = _training_arguments(config.model, config, tmp_path / "ckpt", validate=False)
        assert args.report_to == expected


def test_a_missing_integration_stops_training_before_data_is_read(tiny_bert, tmp_path, capsys):
    from netralitas.cli.main import main

    if tracking._installed("tensorboard"):
        pytest.skip("tensorboard is installed here")
    config = _config(tmp_path, tiny_bert, 'report_to = ["tensorboard"]')
    (tmp_path / "train.jsonl").write_text("not json\n", encoding="utf-8")  # never read
    assert main(["train", str(config), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "model.report_to names 'tensorboard', not installed" in err
    assert "pip install tensorboard" in err
    assert not (tmp_path / "out").exists()


def test_tensorboard_logs_must_outlive_the_checkpoints(monkeypatch):
    monkeypatch.setattr(tracking, "_installed", lambda name: True)
    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    with pytest.raises(ConfigError, match=r"ckpt/runs.*keep_checkpoints = true"):
        tracking.check_report_to(("tensorboard",), keep_checkpoints=False, checkpoint_dir="ckpt")
    tracking.check_report_to(("tensorboard",), keep_checkpoints=True, checkpoint_dir="ckpt")
    tracking.check_report_to(("mlflow",), keep_checkpoints=False, checkpoint_dir="ckpt")
    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", "/tmp/tb")
    tracking.check_report_to(("tensorboard",), keep_checkpoints=False, checkpoint_dir="ckpt")


def test_run_metadata_says_when_where_and_with_what():
    start = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    run = run_metadata(start, start + timedelta(minutes=2, seconds=3.25))
    assert run["started_at"] == "2030-01-02T03:04:05+00:00"
    assert run["finished_at"] == "2030-01-02T03:06:08+00:00"
    assert run["duration_s"] == 123.2
    assert run["host"]["cpu_count"] >= 1 and run["host"]["cpu"]
    assert run["versions"]["numpy"] and run["versions"]["netralitas"]
    json.dumps(run)  # JSON-ready for netralitas.json
    if shutil.which("git") and run["git"] is not None:
        assert len(run["git"]["commit"]) == 40


def test_run_metadata_imports_no_torch_and_lists_gpus_only_when_torch_is_loaded():
    code = (
        "import sys; from datetime import UTC, datetime; "
        "from netralitas.training.run_info import run_metadata; "
        "run = run_metadata(datetime.now(UTC)); "
        "print(run['host']['gpus'], 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "False"]
