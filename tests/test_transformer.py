"""The transformer backend and fine-tuning, on a tiny random BERT built offline (tests/tiny_bert.py).

Scores of a tiny random model mean nothing; these tests prove the plumbing that a real IndoBERT
goes through: fine-tuning with the Trainer, role tokens, the (post, context) pair, truncation,
calibration, the artifact round trip, plain Hugging Face checkpoints, and clear failures.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from netralitas.model.artifact import ArtifactError
from netralitas.model.backend import Classifier
from netralitas.model.loading import load_classifier
from netralitas.model.text.normalize import ROLE_TOKENS

from .sample_data import labelled_rows, write_jsonl

TEXTS = [
    "Coblos nomor 2, Pak Hendro juara!",
    "Jadwal apel pagi diundur jam 8",
    "Siap pak, gas terus!",
    "Siap pak, gas terus!",
]
CONTEXTS = [
    None,
    None,
    "Relawan Kang Sukma kumpul besok, kita menangkan paslon 1!",
    "Besok kerja bakti bersihkan selokan di RT 04, jam 7 pagi.",
]


def _config(
    root: Path, base_model: str | Path, extra: str = "", method: str = "validation"
) -> Path:
    """A tiny fine-tune config; thresholds on the validation split unless `method` says
    "cross-fit" (six fine-tunes instead of one)."""
    path = root / "config.toml"
    path.write_text(
        f"""
name = "uji-bert"
version = "1.0"
[data]
train = "{root / "train.jsonl"}"
validation = "{root / "validation.jsonl"}"
[profiles]
paths = ["{root / "profile.toml"}"]
[thresholds]
method = "{method}"
folds = 3
[model]
kind = "transformer"
base_model = "{base_model}"
max_length = 64
epochs = 1
batch_size = 8
eval_batch_size = 16
learning_rate = 1e-3
logging_steps = 2
{extra}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def data_root(tmp_path_factory, profile_path) -> Path:
    root = tmp_path_factory.mktemp("bert-data")
    rows = labelled_rows()
    write_jsonl(root / "train.jsonl", rows)
    write_jsonl(root / "validation.jsonl", rows)  # tiny data: the pipeline, not accuracy
    shutil.copy(profile_path, root / "profile.toml")
    return root


@pytest.fixture(scope="module")
def bert_artifact(data_root, tiny_bert) -> Path:
    """One epoch of fine-tuning the tiny BERT through the real training entry point."""
    from netralitas.training.config import load_config
    from netralitas.training.train import train

    lines: list[str] = []
    out = train(load_config(_config(data_root, tiny_bert)), data_root / "model", lines.append)
    (data_root / "train.log").write_text("\n".join(lines), encoding="utf-8")
    return out


def test_fine_tuned_artifact_round_trip_is_identical(bert_artifact, tmp_path):
    from netralitas.model.backends.transformer.classifier import TransformerClassifier

    model = load_classifier(bert_artifact)
    assert isinstance(model, TransformerClassifier) and isinstance(model, Classifier)
    assert model.labels == ("neutral", "supportive")
    before = model.predict_proba(TEXTS, CONTEXTS)
    assert before.shape == (4, 2) and np.allclose(before.sum(axis=1), 1)
    model.save_pretrained(tmp_path / "copy")
    after = load_classifier(tmp_path / "copy").predict_proba(TEXTS, CONTEXTS)
    np.testing.assert_array_equal(before, after)


def test_artifact_files_and_metadata(bert_artifact, data_root):
    names = {p.name for p in bert_artifact.iterdir()}
    for name in (
        "netralitas.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "training_config.json",
        "eval_results.json",
        "README.md",
    ):
        assert name in names, name
    assert not any(n.endswith((".bin", ".pkl", ".pt")) for n in names)
    assert not (data_root / "model-checkpoints").exists()  # removed after a successful run
    meta = json.loads((bert_artifact / "netralitas.json").read_text())
    assert meta["kind"] == "transformer"
    settings = meta["extra"]["settings"]
    assert settings["max_length"] == 64
    # The defaults: normalised text with role tokens, no prefix, the [CLS] head.
    assert (settings["pooling"], settings["prefix"], settings["text_view"]) == (
        "cls",
        "",
        "normalized",
    )
    # Calibration is the artifact's map, fitted by train() on the validation split.
    calibration = meta["calibration"]
    assert calibration["method"] in ("none", "temperature", "isotonic")
    assert calibration["fitted_on"] == "the validation split" == meta["thresholds"]["fitted_on"]
    assert calibration["nll_after"] <= calibration["nll_before"] + 1e-9
    assert meta["extra"]["temperature"] == 1.0  # the network's own probabilities are raw
    config = json.loads((bert_artifact / "config.json").read_text())
    assert config["id2label"] == {"0": "neutral", "1": "supportive"}
    card = (bert_artifact / "README.md").read_text()
    assert "not an automatic verdict on a person" in card
    assert meta["data_fingerprint"] in card and "macro-F1" in card
    log = (data_root / "train.log").read_text()
    assert "validation macro-F1" in log and "NLL" in log and "ECE" in log


def test_artifact_without_the_reading_settings_loads_as_before(bert_artifact, tmp_path):
    """Artifacts written before `pooling`, `prefix` and `text_view` existed read posts as then."""
    from transformers import BertForSequenceClassification

    old = shutil.copytree(bert_artifact, tmp_path / "old")
    meta = json.loads((old / "netralitas.json").read_text())
    for key in ("pooling", "prefix", "text_view"):
        del meta["extra"]["settings"][key]
    (old / "netralitas.json").write_text(json.dumps(meta))
    model = load_classifier(old)
    assert (model.pooling, model.prefix, model.text_view) == ("cls", "", "normalized")
    assert isinstance(model.network_, BertForSequenceClassification)
    assert model.encoder_inputs(["Coblos Pak Hendro!"]) == (["coblos [calon]!"], [""])
    np.testing.assert_array_equal(
        model.predict_proba(TEXTS, CONTEXTS),
        load_classifier(bert_artifact).predict_proba(TEXTS, CONTEXTS),
    )


def test_role_tokens_are_single_tokens(bert_artifact):
    model = load_classifier(bert_artifact)
    for token in ROLE_TOKENS:
        assert model.tokenizer_.tokenize(token) == [token]
    assert model.network_.get_input_embeddings().num_embeddings >= len(model.tokenizer_)
    features, _ = model.encode(["Coblos Pak Hendro no 2"])
    tokens = model.tokenizer_.convert_ids_to_tokens(features[0]["input_ids"])
    assert "[calon]" in tokens and "[nomor]" in tokens


def test_context_is_read_as_a_pair(bert_artifact):
    model = load_classifier(bert_artifact)
    features, _ = model.encode(TEXTS, CONTEXTS)
    assert set(features[0]["token_type_ids"]) == {0}  # no context: a single sequence
    assert set(features[2]["token_type_ids"]) == {0, 1}  # (post, context)
    assert features[2]["input_ids"] != features[3]["input_ids"]
    proba = model.predict_proba(TEXTS, CONTEXTS)
    assert not np.array_equal(proba[2], proba[3])
    no_context = model.with_profiles(model.profiles)
    no_context.use_context = False
    assert set(no_context.encode(TEXTS, CONTEXTS)[0][2]["token_type_ids"]) == {0}


def test_batching_keeps_input_order(bert_artifact):
    model = load_classifier(bert_artifact)
    model.batch_size = 2  # several batches, formed by length
    # The network's own probabilities (a sharpening calibration map would magnify rounding).
    together = model.raw_proba(TEXTS, CONTEXTS)
    alone = np.vstack([model.raw_proba([t], [c]) for t, c in zip(TEXTS, CONTEXTS, strict=True)])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert model.predict_proba([]).shape == (0, 2)


def test_long_texts_are_truncated_and_reported(bert_artifact, caplog):
    model = load_classifier(bert_artifact)
    long = "coblos nomor dua pokoknya " * 100
    assert model.truncated([long, "singkat saja"]).tolist() == [True, False]
    assert model.truncated(["singkat"], [long]).tolist() == [True]
    features, _ = model.encode([long], [long])
    assert len(features[0]["input_ids"]) == model.max_length
    with caplog.at_level("WARNING", logger="netralitas.model.backends.transformer.classifier"):
        model.predict_proba([long, "singkat saja"])
    assert "1 of 2 inputs are longer than max_length=64" in caplog.text


def test_input_validation(bert_artifact):
    model = load_classifier(bert_artifact)
    with pytest.raises(TypeError, match="single str"):
        model.predict_proba("satu teks")
    with pytest.raises(ValueError, match="one entry per text"):
        model.predict_proba(["a", "b"], ["c"])


def test_profile_override_changes_masking(bert_artifact):
    model = load_classifier(bert_artifact)
    assert model.normalizer("Kang Sukma hebat") == "[calon] hebat"
    assert model.with_profiles([]).normalizer("Kang Sukma hebat") == "kang sukma hebat"


def test_unreachable_base_model_fails_fast_with_instructions(
    data_root, tmp_path, monkeypatch, capsys
):
    import huggingface_hub.constants

    from netralitas.cli.main import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    config = _config(data_root, "indobenchmark/indobert-base-p1")
    start = time.monotonic()
    code = main(["train", str(config), "--output-dir", str(tmp_path / "out")])
    assert time.monotonic() - start < 8  # data loading and imports included; no network wait
    assert code == 2
    err = capsys.readouterr().err
    assert "indobenchmark/indobert-base-p1" in err and "HF_HUB_OFFLINE is set" in err
    assert "hf download indobenchmark/indobert-base-p1 --local-dir" in err
    assert "model.base_model" in err and "HF_HOME" in err
    assert not (tmp_path / "out").exists()


def test_cached_hub_id_is_used_offline(tiny_bert, tmp_path, monkeypatch):
    """A hub id found in the Hugging Face cache resolves to its snapshot, with no network."""
    import huggingface_hub.constants

    from netralitas.training.base_model import resolve_base_model

    cache = tmp_path / "hub"
    repo = cache / "models--uji--tiny-bert"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_bert, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    resolved = resolve_base_model("uji/tiny-bert")
    assert resolved.path == repo / "snapshots" / commit and resolved.revision == commit
    assert (resolved.path / "config.json").is_file()


def test_resume_from_checkpoint(data_root, tiny_bert, tmp_path):
    from netralitas.training.config import ConfigError, load_config
    from netralitas.training.train import train

    root = shutil.copytree(data_root, tmp_path / "data", ignore=shutil.ignore_patterns("model*"))
    keep = "keep_checkpoints = true\nearly_stopping_patience = 5\n"
    with pytest.raises(ConfigError, match="holds no checkpoint"):
        train(
            load_config(_config(root, tiny_bert, keep + "resume_from_checkpoint = true")),
            root / "model",
            lambda _: None,
        )
    train(load_config(_config(root, tiny_bert, keep)), root / "model", lambda _: None)
    checkpoints = root / "model-checkpoints"
    assert [p.name for p in checkpoints.iterdir()] == ["checkpoint-6"]
    lines: list[str] = []
    config = _config(root, tiny_bert, keep + "resume_from_checkpoint = true").read_text()
    (root / "config.toml").write_text(config.replace("epochs = 1", "epochs = 2"))
    train(load_config(root / "config.toml"), root / "model", lines.append)
    # Resumed at step 6: one more epoch of 6 steps, not two.
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-12", "checkpoint-6"]
    assert "epoch 2.00 (step 12)" in "\n".join(lines)
    assert "epoch 1.00" not in "\n".join(lines)


def test_cross_fitted_fine_tune_ships_a_model_fitted_on_everything(data_root, tiny_bert, tmp_path):
    """Three fold fine-tunes score the posts they did not see; the shipped one trains on all of
    them for the epochs the folds kept, without a validation split."""
    from netralitas.training.config import ConfigError, load_config
    from netralitas.training.train import train

    root = shutil.copytree(data_root, tmp_path / "data", ignore=shutil.ignore_patterns("model*"))
    with pytest.raises(ConfigError, match="resumes one fine-tune"):
        load_config(_config(root, tiny_bert, "resume_from_checkpoint = true", method="cross-fit"))
    lines: list[str] = []
    out = train(load_config(_config(root, tiny_bert, method="cross-fit")), root / "m", lines.append)
    meta = json.loads((out / "netralitas.json").read_text())
    pooled = 2 * len(labelled_rows())  # train and validation files hold the same rows
    assert meta["summary"]["out_of_fold"]["n"] == pooled == meta["thresholds"]["n"]
    cross = meta["metrics"]["cross_fit"]
    assert [r["finetune"]["epoch"] for r in cross["fold_reports"]] == [1.0, 1.0, 1.0]
    assert cross["shipped_settings"]["epochs"] == 1.0
    assert cross["shipped_settings"]["early_stopping_patience"] is None
    log = "\n".join(lines)
    assert f"fitting the shipped model on all {pooled} training posts" in log
    assert "no validation split: 1 epochs, the last state kept" in log
    assert load_classifier(out).predict_proba(TEXTS, CONTEXTS).shape == (4, 2)


def test_missing_local_base_model_is_a_clear_error(tmp_path):
    from netralitas.training.base_model import BaseModelError, resolve_base_model

    with pytest.raises(BaseModelError, match="not an existing directory"):
        resolve_base_model(str(tmp_path / "models" / "indobert"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(BaseModelError, match=r"no config\.json"):
        resolve_base_model(str(tmp_path / "empty"))


def _plain_checkpoint(tiny_bert: Path, target: Path, labels: dict[int, str]) -> Path:
    """A sequence-classification folder as another project would publish it."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(1)
    network = AutoModelForSequenceClassification.from_pretrained(
        tiny_bert,
        num_labels=len(labels),
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    network.save_pretrained(target)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(target)
    return target


def test_plain_hf_checkpoint_scores_like_the_network(tiny_bert, tmp_path):
    import torch

    from netralitas.model.backends.transformer.classifier import TransformerClassifier

    folder = _plain_checkpoint(tiny_bert, tmp_path / "hf", {0: "neutral", 1: "supportive"})
    model = load_classifier(folder)
    assert isinstance(model, TransformerClassifier)
    assert model.labels == ("neutral", "supportive") and model.metadata_.neutral_label == "neutral"
    assert (
        model.metadata_.thresholds.flag == 0.5
        and not model.metadata_.thresholds.precision_target_met
    )
    proba = model.predict_proba(TEXTS[:2])
    enc = model.tokenizer_(
        [model.normalizer(t) for t in TEXTS[:2]], padding=True, return_tensors="pt"
    )
    with torch.inference_mode():
        expected = torch.softmax(model.network_(**enc).logits, dim=1).numpy()
    np.testing.assert_allclose(proba, expected, atol=1e-5)


def test_plain_checkpoint_needs_a_neutral_label(tiny_bert, tmp_path):
    folder = _plain_checkpoint(tiny_bert, tmp_path / "hf", {0: "LABEL_0", 1: "LABEL_1"})
    with pytest.raises(ArtifactError, match="one class named 'neutral'"):
        load_classifier(folder)


def test_base_checkpoint_without_a_head_cannot_score(tiny_bert, tmp_path):
    with pytest.raises(ArtifactError, match="without a trained classification head"):
        load_classifier(tiny_bert)
    # Even when config.json claims a classifier, missing head weights are refused.
    folder = shutil.copytree(tiny_bert, tmp_path / "claims")
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForSequenceClassification"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match=r"classifier\.weight.*random"):
        load_classifier(folder)


def test_incomplete_artifact_is_refused(bert_artifact, tmp_path):
    broken = shutil.copytree(bert_artifact, tmp_path / "broken")
    (broken / "model.safetensors").unlink()
    with pytest.raises(ArtifactError, match="incomplete"):
        load_classifier(broken)


def test_calibration_lowers_nll_of_an_over_confident_model():
    from netralitas.training.calibration import (
        calibration_report,
        fit_temperature,
        negative_log_likelihood,
    )

    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 1.5, size=(2000, 2))
    p = np.exp(true_logits) / np.exp(true_logits).sum(axis=1, keepdims=True)
    y = (rng.random(2000) < p[:, 1]).astype(int)
    over_confident = true_logits * 4  # the ranking is right, the confidence is not
    temperature = fit_temperature(over_confident, y)
    assert 3.0 < temperature < 5.5
    report = calibration_report(over_confident, y, temperature, neutral_index=0)
    assert report["nll_after"] < report["nll_before"] - 0.1
    assert report["ece_after"] < report["ece_before"]
    assert negative_log_likelihood(over_confident, y, temperature) == pytest.approx(
        report["nll_after"]
    )
    # A calibrated model is left (nearly) alone.
    assert fit_temperature(true_logits, y) == pytest.approx(1.0, abs=0.15)


def test_class_weighted_loss_matches_torch():
    import torch

    from netralitas.training.finetune import WeightedLoss, balanced_class_weights

    y = np.array([0, 0, 0, 1])
    weights = balanced_class_weights(y, 2)
    np.testing.assert_allclose(weights, [4 / 6, 4 / 2])
    logits = torch.randn(4, 2)
    labels = torch.as_tensor(y)
    loss = WeightedLoss(weights)({"logits": logits}, labels, num_items_in_batch=torch.tensor(4))
    per_row = torch.nn.functional.cross_entropy(
        logits, labels, weight=torch.tensor(weights, dtype=torch.float32), reduction="none"
    )
    assert loss.item() == pytest.approx(per_row.mean().item())


def test_shipped_indobert_config_validates():
    from netralitas.training.config import load_config
    from netralitas.training.recipes.transformer import TransformerSettings

    config = load_config(Path(__file__).resolve().parents[1] / "training/configs/indobert.toml")
    assert isinstance(config.model, TransformerSettings)
    assert config.model.base_model == "indobenchmark/indobert-base-p1"
    assert config.model.max_length == 128
