"""Training config: typed, frozen, rejects unknown keys; overrides go through the same validation."""

from __future__ import annotations

import re
from pathlib import Path

import pydantic
import pytest

from netralitas.training.config import (
    ConfigError,
    TrainConfig,
    apply_overrides,
    load_config,
)
from netralitas.training.recipes.tfidf import TfidfSettings

BASELINE = Path(__file__).resolve().parents[1] / "training" / "configs" / "baseline.toml"

MINIMAL = """
name = "uji"
[data]
path = "data.jsonl"
"""


@pytest.fixture
def minimal(tmp_path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    return path


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_baseline_validates():
    config = load_config(BASELINE)
    assert isinstance(config, TrainConfig)
    assert config.data.train == ("data/starter/train.jsonl",) and config.data.path is None
    assert config.model.kind == "tfidf"
    assert config.model.C == (1.0, 4.0, 16.0)
    assert config.thresholds.precision_target == 0.90
    assert config.profiles.paths == ("data/elections",)


def test_defaults_fill_a_minimal_config(minimal):
    config = load_config(minimal)
    assert config.data.path == ("data.jsonl",)
    assert config.model == TfidfSettings()
    assert (config.thresholds.precision_target, config.thresholds.review_recall) == (0.90, 0.95)
    assert config.profiles.paths == ()


def test_config_is_frozen(minimal):
    config = load_config(minimal)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        config.seed = 1  # type: ignore[misc]


def test_resolved_config_round_trips_through_json(minimal):
    config = load_config(minimal, ["seed=3", "thresholds.review_recall=0.9"])
    assert TrainConfig.model_validate(config.model_dump(mode="json")) == config


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("sede = 1\n" + MINIMAL, "sede"),
        (MINIMAL + "pth = 'x'\n", "data.pth"),
        (MINIMAL + "[model]\nkind = 'tfidf'\nc = 4.0\n", "c"),
        (MINIMAL + "[thresholds]\nprecision = 0.9\n", "thresholds.precision"),
        (MINIMAL + "[modle]\nC = 4.0\n", "modle"),
    ],
)
def test_unknown_keys_are_rejected_naming_the_key(tmp_path, text, key):
    path = _write(tmp_path, text)
    pattern = (
        re.escape(str(path)) + r"(.|\n)*" + re.escape(key) + r"\b.*Extra inputs are not permitted"
    )
    with pytest.raises(ConfigError, match=pattern):
        load_config(path)


def test_overrides_change_values(tmp_path):
    config = load_config(
        _write(tmp_path, MINIMAL + "[model]\nkind = 'tfidf'\n"),
        [
            "model.C=8.0",
            "seed=7",
            "thresholds.precision_target=0.8",
            "name=lain",
            "model.word_ngram_range=[1, 3]",
        ],
    )
    assert config.model.C == 8.0
    assert config.seed == 7
    assert config.thresholds.precision_target == 0.8
    assert config.name == "lain"  # a bare word is a string
    assert config.model.word_ngram_range == (1, 3)


def test_model_override_without_a_model_table(minimal):
    assert load_config(minimal, ["model.C=8.0"]).model.C == 8.0


def test_override_on_the_shipped_baseline():
    config = load_config(BASELINE, ["model.C=8.0", "profiles.mask=false"])
    assert config.model.C == 8.0
    assert config.profiles.mask is False


def test_apply_overrides_does_not_touch_its_input():
    raw = {"data": {"path": "a.jsonl"}, "model": {"C": 1.0}}
    out = apply_overrides(raw, ["model.C=2.5", "thresholds.review_recall=0.9"])
    assert out == {
        "data": {"path": "a.jsonl"},
        "model": {"C": 2.5},
        "thresholds": {"review_recall": 0.9},
    }
    assert raw == {"data": {"path": "a.jsonl"}, "model": {"C": 1.0}}


@pytest.mark.parametrize(
    ("override", "match"),
    [
        (
            "thresholds.precision_target=2",
            r"thresholds\.precision_target: .*less than or equal to 1.*found 2",
        ),
        ("thresholds.review_recall=0", r"thresholds\.review_recall: .*greater than 0"),
        ("seed=abc", r"seed: .*valid integer.*found 'abc'"),
        ("model.kind=bert", r"model: .*'bert'"),
        ("model.min_df=0", r"min_df"),
        ("data.validation_fraction=0.5", r"data\.validation_fraction"),
        ("model.colour=1", r"colour"),
    ],
)
def test_overrides_are_validated(minimal, override, match):
    with pytest.raises(ConfigError, match=match):
        load_config(minimal, [override])


@pytest.mark.parametrize("override", ["model.C", "=3", "   =3"])
def test_malformed_override(minimal, override):
    with pytest.raises(ConfigError, match=re.escape(repr(override)) + ".*key=value"):
        load_config(minimal, [override])


def test_override_through_a_non_table(minimal):
    with pytest.raises(ConfigError, match="'name' is not a table"):
        load_config(minimal, ["name.first=x"])


def test_data_path_and_train_together_are_rejected(tmp_path):
    path = _write(tmp_path, '[data]\npath = "all.jsonl"\ntrain = "train.jsonl"\n')
    with pytest.raises(ConfigError, match=r"data: .*either data\.train .* or data\.path"):
        load_config(path)


def test_data_path_and_train_together_via_override_are_rejected():
    with pytest.raises(ConfigError, match=r"data\.path"):
        load_config(BASELINE, ["data.path=all.jsonl"])


def test_neither_data_source_is_rejected(tmp_path):
    path = _write(tmp_path, 'name = "x"\n[data]\nneutral_label = "netral"\n')
    with pytest.raises(ConfigError, match="not both and not neither"):
        load_config(path)
    path = _write(tmp_path, 'name = "x"\n')
    with pytest.raises(ConfigError, match=r"data: Field required"):
        load_config(path)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(
        ConfigError, match=re.escape(str(tmp_path / "nope.toml")) + ".*does not exist"
    ):
        load_config(tmp_path / "nope.toml")
    path = _write(tmp_path, "[data\npath = 1\n")
    with pytest.raises(ConfigError, match=re.escape(str(path)) + ": not valid TOML"):
        load_config(path)


def test_make_demo_trains_the_default_model_and_the_baseline():
    """`make demo` trains the default (fine-tuned e5) into artifacts/default and the baseline
    beside it; both configs validate as shipped."""
    repo = BASELINE.parents[2]
    demo = (repo / "Makefile").read_text(encoding="utf-8").split("\ndemo:")[1].split("\n\n")[0]
    assert "train training/configs/e5-finetune.toml" in demo
    assert "train training/configs/baseline.toml" in demo
    default = load_config(repo / "training" / "configs" / "e5-finetune.toml")
    assert default.output_dir == "artifacts/default" and default.model.kind == "transformer"
    assert default.model.base_model == "multilingual-e5-small"
    assert (default.model.pooling, default.model.text_view) == ("mean", "raw")
    assert load_config(BASELINE).output_dir == "artifacts/baseline"
