"""The transformer backend's settings for a pretrained encoder such as multilingual-e5: the
mean-pooling head, the prefix and the text view, on the tiny random BERT (tests/tiny_bert.py).

The tiny model's scores mean nothing; these tests prove the plumbing that e5-small goes through:
training with the Trainer, the artifact round trip, the int8 path and its guard, and that training
and scoring read a post the same way.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from netralitas.model.artifact import ArtifactError
from netralitas.model.loading import load_classifier

from .sample_data import labelled_rows, write_jsonl
from .test_transformer import _config

ROWS = labelled_rows()
TEXTS = [r["text"] for r in ROWS]
CONTEXTS = [r.get("context") for r in ROWS]
E5_SETTINGS = 'pooling = "mean"\nprefix = "query: "\ntext_view = "raw"\n'


@pytest.fixture(scope="module")
def data_root(tmp_path_factory, profile_path) -> Path:
    root = tmp_path_factory.mktemp("heads-data")
    write_jsonl(root / "train.jsonl", ROWS)
    write_jsonl(root / "validation.jsonl", ROWS)  # tiny data: the pipeline, not accuracy
    shutil.copy(profile_path, root / "profile.toml")
    return root


@pytest.fixture(scope="module")
def mean_artifact(data_root, tiny_bert) -> Path:
    """Fine-tuning the tiny BERT with e5's settings through the real training entry point."""
    from netralitas.training.config import load_config
    from netralitas.training.train import train

    config = _config(data_root, tiny_bert, E5_SETTINGS)  # one epoch
    # A larger step, for the scores to spread out (the guard then compares real decisions).
    config.write_text(config.read_text().replace("learning_rate = 1e-3", "learning_rate = 3e-3"))
    lines: list[str] = []
    out = train(load_config(config), data_root / "model", lines.append)
    (data_root / "train.log").write_text("\n".join(lines), encoding="utf-8")
    return out


def _untrained(tiny_bert: Path, profile, **settings):
    """A TransformerClassifier with a fresh head (as fine-tuning starts), without training."""
    from netralitas.model.backends.transformer.classifier import TransformerClassifier
    from netralitas.model.backends.transformer.hf_loading import load_for_finetuning

    model = TransformerClassifier(base_model=str(tiny_bert), profiles=[profile], **settings)
    tokenizer, network, _ = load_for_finetuning(
        tiny_bert,
        ("neutral", "supportive"),
        pooling=model.pooling,
        role_tokens=model.text_view == "normalized",
    )
    model.attach(tokenizer, network, ("neutral", "supportive"), tiny_bert)
    return model


def test_mean_head_trains_saves_and_loads_identically(mean_artifact, data_root, tmp_path):
    from safetensors import safe_open

    from netralitas.model.backends.transformer.classifier import TransformerClassifier
    from netralitas.model.backends.transformer.heads import MeanPoolingClassifier

    meta = json.loads((mean_artifact / "netralitas.json").read_text())
    settings = meta["extra"]["settings"]
    assert (settings["pooling"], settings["prefix"], settings["text_view"]) == (
        "mean",
        "query: ",
        "raw",
    )
    assert meta["calibration"]["fitted_on"] == "the validation split"
    log = (data_root / "train.log").read_text()
    assert "mean pooling, raw text, prefix 'query: '" in log
    assert "validation macro-F1" in log and "added role tokens" not in log
    assert not (data_root / "model-checkpoints").exists()

    config = json.loads((mean_artifact / "config.json").read_text())
    assert config["netralitas_head"] == "mean" and config["architectures"] == [
        "MeanPoolingClassifier"
    ]
    assert config["id2label"] == {"0": "neutral", "1": "supportive"}
    with safe_open(mean_artifact / "model.safetensors", "pt") as weights:
        keys = set(weights.keys())
    assert {"classifier.weight", "classifier.bias"} <= keys
    assert all(k.startswith(("encoder.", "classifier.")) for k in keys)
    assert not any("pooler" in k for k in keys)
    assert not any(p.suffix in (".bin", ".pkl", ".pt") for p in mean_artifact.iterdir())

    model = load_classifier(mean_artifact, inference="fp32")
    assert isinstance(model, TransformerClassifier)
    assert isinstance(model.network_, MeanPoolingClassifier)
    before = model.predict_proba(TEXTS, CONTEXTS)
    assert before.shape == (len(TEXTS), 2) and np.allclose(before.sum(axis=1), 1)
    assert before[:, 1].std() > 1e-3  # trained: the posts do not all get one score
    model.save_pretrained(tmp_path / "copy")
    after = load_classifier(tmp_path / "copy", inference="fp32").predict_proba(TEXTS, CONTEXTS)
    np.testing.assert_array_equal(before, after)


def test_mean_head_classifies_the_masked_mean(mean_artifact):
    """The logits are the linear head applied to the mean of the real tokens' hidden states."""
    import torch

    model = load_classifier(mean_artifact, inference="fp32")
    network = model.network_
    features, _ = model.encode(TEXTS[:3], CONTEXTS[:3])
    logits = model.logits_from_features(features)
    for row, feature in zip(logits, features, strict=True):
        ids = torch.tensor([feature["input_ids"]])
        with torch.inference_mode():
            hidden = network.encoder(input_ids=ids).last_hidden_state[0]  # (seq, hidden)
            expected = network.classifier(hidden.mean(dim=0)).numpy()
        np.testing.assert_allclose(row, expected, atol=1e-5)
    # Padding does not change a post's logits: the mean is over the attention mask only.
    together = model.logits_from_features(features)
    alone = np.vstack([model.logits_from_features([f]) for f in features])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_mean_head_int8_path_and_guard(mean_artifact):
    from netralitas.model.backends.transformer.guard import compare_probabilities

    guard = json.loads((mean_artifact / "netralitas.json").read_text())["extra"]["inference_guard"]
    # int8 is guarded first; bf16 is recorded only where int8 failed and the CPU has native bf16.
    assert guard["path"] in ("int8", "bf16") and guard["n"] == len(ROWS)
    assert guard["passed"] == (guard["label_agreement"] >= guard["min_agreement"])
    fp32 = load_classifier(mean_artifact, inference="fp32")
    int8 = fp32.with_inference("int8")
    assert int8.inference_plan.path == "int8"
    assert repr(int8._scoring.network).count("DynamicQuantizedLinear") >= 5  # encoder and head
    assert fp32.network_ is int8.network_
    # The network's own probabilities: int8 moves them a little (the calibration map, fitted on
    # the training rows here, sharpens them and so the differences too).
    raw = compare_probabilities(
        fp32.raw_proba(TEXTS, CONTEXTS), int8.raw_proba(TEXTS, CONTEXTS), fp32.metadata_
    )
    assert 0 < raw["max_abs_diff"] < 0.05
    reference = fp32.predict_proba(TEXTS, CONTEXTS)
    # The stored record is reproduced by scoring the same posts through the path it names.
    guarded = fp32.with_inference(guard["path"]).predict_proba(TEXTS, CONTEXTS)
    again = compare_probabilities(reference, guarded, fp32.metadata_)
    assert again["max_abs_diff"] == pytest.approx(guard["max_abs_diff"], abs=1e-6)
    assert load_classifier(mean_artifact).inference_plan.path == (
        guard["path"] if guard["passed"] else "fp32"
    )


def test_prefix_is_applied_in_training_and_scoring(mean_artifact, data_root):
    from netralitas.model.records import Record
    from netralitas.training.finetune import _dataset

    model = load_classifier(mean_artifact, inference="fp32")
    tokenizer = model.tokenizer_
    prefix_ids = tokenizer("query:", add_special_tokens=False)["input_ids"]
    post_ids = tokenizer("Siap pak, gas terus!", add_special_tokens=False)["input_ids"]
    context = "Relawan Kang Sukma kumpul besok"
    context_ids = tokenizer(context, add_special_tokens=False)["input_ids"]
    features, _ = model.encode(["Siap pak, gas terus!"], [context])
    ids = features[0]["input_ids"]
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    # [CLS] query: post [SEP] context [SEP]: the post is prefixed, its context is not.
    assert ids == [cls_id, *prefix_ids, *post_ids, sep_id, *context_ids, sep_id]
    # Training builds its rows through the same encode: the same ids, label added.
    records = [Record(text="Siap pak, gas terus!", context=context, label="supportive")]
    rows = _dataset(model, records, np.array([1]), lambda _: None)
    assert rows[0]["input_ids"] == ids and rows[0]["labels"] == 1
    # Without the prefix the ids differ exactly by its pieces.
    bare = model.with_profiles(model.profiles)
    bare.prefix = ""
    assert bare.encode(["Siap pak, gas terus!"])[0][0]["input_ids"] == [cls_id, *post_ids, sep_id]


def test_raw_view_keeps_names_normalized_view_masks_them(tiny_bert, profile):
    post = "Coblos  Pak Hendro\u200b no 2!!\nMANTAP"
    raw = _untrained(tiny_bert, profile, text_view="raw", prefix="query: ")
    normalized = _untrained(tiny_bert, profile)
    assert raw.encoder_inputs([post]) == (["query: Coblos Pak Hendro no 2!! MANTAP"], [""])
    assert raw.encoder_inputs([post], ["Kang  Sukma"])[1] == ["Kang Sukma"]
    (masked,), _ = normalized.encoder_inputs([post])
    assert "[calon]" in masked and "[nomor]" in masked and "hendro" not in masked.lower()
    # Role tokens are single tokens only where the normalised text writes them.
    raw_tokens = raw.tokenizer_.convert_ids_to_tokens(raw.encode([post])[0][0]["input_ids"])
    masked_tokens = normalized.tokenizer_.convert_ids_to_tokens(
        normalized.encode([post])[0][0]["input_ids"]
    )
    assert "[calon]" in masked_tokens and "[calon]" not in raw_tokens
    # The name reaches the encoder (in the tiny lower-case vocabulary's pieces).
    assert "hendro" in raw.tokenizer_.convert_tokens_to_string(raw_tokens).replace(" ", "")
    assert len(raw.tokenizer_) < len(normalized.tokenizer_)  # no role tokens added


def test_settings_are_validated(tiny_bert, profile, data_root):
    from netralitas.model.backends.transformer.classifier import TransformerClassifier
    from netralitas.training.config import ConfigError, load_config

    with pytest.raises(ValueError, match="pooling must be one of"):
        TransformerClassifier(pooling="max")
    with pytest.raises(ValueError, match="text_view must be one of"):
        TransformerClassifier(text_view="lower")
    with pytest.raises(ConfigError, match="pooling"):
        load_config(_config(data_root, tiny_bert, 'pooling = "max"'))
    # A network whose head differs from the settings is refused.
    cls_model = _untrained(tiny_bert, profile)
    mean_model = _untrained(tiny_bert, profile, pooling="mean")
    with pytest.raises(ArtifactError, match="'mean'-pooling head but the settings say"):
        cls_model.attach(
            mean_model.tokenizer_, mean_model.network_, ("neutral", "supportive"), "here"
        )


def test_artifact_with_mismatched_head_settings_is_refused(mean_artifact, tmp_path):
    broken = shutil.copytree(mean_artifact, tmp_path / "broken")
    meta = json.loads((broken / "netralitas.json").read_text())
    meta["extra"]["settings"]["pooling"] = "cls"
    (broken / "netralitas.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"mean-pooling classifier.*disagree"):
        load_classifier(broken)
    meta["extra"]["settings"]["pooling"] = "mean"
    (broken / "netralitas.json").write_text(json.dumps(meta))
    config = json.loads((broken / "config.json").read_text())
    del config["netralitas_head"]
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match="does not describe a mean-pooling classifier"):
        load_classifier(broken)


def test_shipped_e5_config_validates():
    from netralitas.training.config import load_config
    from netralitas.training.recipes.transformer import TransformerSettings

    repo = Path(__file__).resolve().parents[1]
    config = load_config(repo / "training/configs/e5-finetune.toml")
    settings = config.model
    assert isinstance(settings, TransformerSettings)
    assert settings.base_model == "multilingual-e5-small"
    assert (settings.pooling, settings.prefix, settings.text_view) == ("mean", "query: ", "raw")
    assert settings.max_length == 128 and settings.early_stopping_patience
    indobert = load_config(repo / "training/configs/indobert.toml").model
    assert (indobert.pooling, indobert.prefix, indobert.text_view) == ("cls", "", "normalized")
