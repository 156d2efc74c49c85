"""The fast inference path (model/backends/transformer/fast_inference.py), its accuracy guard and the cascade, on the tiny
fine-tuned BERT (tests/tiny_bert.py) and the session's TF-IDF artifact.

The tiny model's scores mean nothing; these tests prove the plumbing a real IndoBERT goes through:
length-sorted batches put rows back in order, int8 stays close to fp32, training records the guard
and "auto" obeys it, the cascade sends the transformer only what the screen lets through.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from netralitas.model.artifact import ArtifactError
from netralitas.model.decision import side_scores
from netralitas.model.inference import InferenceError
from netralitas.model.loading import load_classifier

from .sample_data import labelled_rows, write_jsonl
from .test_transformer import _config

ROWS = labelled_rows()
TEXTS = [r["text"] for r in ROWS]
CONTEXTS = [r.get("context") for r in ROWS]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, profile_path, tiny_bert) -> Path:
    """One epoch of fine-tuning the tiny BERT through `train()` (which runs the guard)."""
    from netralitas.training.config import load_config
    from netralitas.training.train import train

    root = tmp_path_factory.mktemp("fast-bert")
    write_jsonl(root / "train.jsonl", ROWS)
    write_jsonl(root / "validation.jsonl", ROWS)
    shutil.copy(profile_path, root / "profile.toml")
    config = _config(root, tiny_bert)
    # Enough training for scores to spread out: after one epoch every score sits at the threshold,
    # where any approximation flips decisions (and the guard rightly fails).
    text = config.read_text().replace("epochs = 1", "epochs = 6")
    config.write_text(text.replace("learning_rate = 1e-3", "learning_rate = 5e-3"))
    lines: list[str] = []
    out = train(load_config(config), root / "model", lines.append)
    (root / "train.log").write_text("\n".join(lines), encoding="utf-8")
    return out


@pytest.fixture
def artifact(trained, tmp_path) -> Path:
    """A private copy, for tests that rewrite its metadata."""
    return shutil.copytree(trained, tmp_path / "model")


def test_length_sorted_batches_restore_input_order():
    """Each output row is computed from its own input, whatever batch it was sorted into."""
    import torch

    from netralitas.model.backends.transformer.encoding import batched_logits

    class Echo(torch.nn.Module):
        """logits = (number of real tokens, first token id): a row tells whose it is."""

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, attention_mask, **_):
            out = torch.stack([attention_mask.sum(1), input_ids[:, 0]], dim=1).float()
            return type("Out", (), {"logits": out + self.w})

    class Pad:  # the collator's tokenizer: only padding is asked of it
        def pad(self, rows, **kwargs):
            width = max(len(r["input_ids"]) for r in rows)
            ids = [r["input_ids"] + [0] * (width - len(r["input_ids"])) for r in rows]
            mask = [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows]
            return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 40, size=37)
    features = [{"input_ids": [i + 100] + [5] * (n - 1)} for i, n in enumerate(lengths)]
    out = batched_logits(Echo(), Pad(), features, 2, batch_size=4)
    np.testing.assert_array_equal(out[:, 0], lengths)
    np.testing.assert_array_equal(out[:, 1], np.arange(37) + 100)


def test_int8_agrees_with_fp32_on_the_fine_tuned_model(trained):
    from netralitas.model.backends.transformer.guard import compare_probabilities

    fp32 = load_classifier(trained, inference="fp32")
    int8 = fp32.with_inference("int8")
    assert fp32.inference_plan.path == "fp32" and int8.inference_plan.path == "int8"
    assert "DynamicQuantizedLinear" in repr(int8._scoring.network)
    assert fp32.network_ is int8.network_  # one fp32 network; the int8 copy is extra
    reference = fp32.predict_proba(TEXTS, CONTEXTS)
    fast = int8.predict_proba(TEXTS, CONTEXTS)
    figures = compare_probabilities(reference, fast, fp32.metadata_)
    # The posts that set the flag and review thresholds sit exactly on them and may flip: 2 of 44.
    assert figures["label_agreement"] >= 1 - 2 / len(TEXTS)
    # The network's own probabilities (the calibration map, fitted on the training rows here,
    # sharpens them and the differences too): close, and really another computation.
    raw = compare_probabilities(
        fp32.raw_proba(TEXTS, CONTEXTS), int8.raw_proba(TEXTS, CONTEXTS), fp32.metadata_
    )
    assert 0 < raw["max_abs_diff"] < 0.05
    np.testing.assert_allclose(fast.sum(axis=1), 1.0)


def test_training_records_the_guard_and_auto_obeys_it(trained):
    """int8 is guarded first; only where it fails is bf16 tried (on a CPU with native bf16)."""
    meta = json.loads((trained / "netralitas.json").read_text())
    guard = meta["extra"]["inference_guard"]
    assert guard["path"] in ("int8", "bf16") and guard["n"] == len(ROWS)
    assert guard["data"] == "validation split" and guard["min_agreement"] == 0.99
    assert guard["passed"] == (guard["label_agreement"] >= 0.99)
    log = (trained.parent / "train.log").read_text()
    assert "int8 vs fp32 on" in log and "label agreement" in log
    if guard["path"] == "bf16":  # int8 was checked and failed before bf16 was tried
        assert "int8 vs fp32 on" in log.split("bf16 vs fp32 on")[0] and "failed" in log
    plan = load_classifier(trained).inference_plan  # auto, on this CPU
    assert plan.path == (guard["path"] if guard["passed"] else "fp32")
    assert "accuracy guard" in plan.reason


def test_failed_or_missing_guard_keeps_auto_on_fp32(artifact):
    from netralitas.model.artifact import read_metadata
    from netralitas.model.backends.transformer.guard import (
        GUARD_KEY,
        InferenceGuard,
        read_guard,
        write_guard,
    )

    guard = read_guard(read_metadata(artifact))
    assert isinstance(guard, InferenceGuard)
    write_guard(artifact, guard.model_copy(update={"label_agreement": 0.9, "passed": False}))
    plan = load_classifier(artifact).inference_plan
    assert plan.path == "fp32" and "guard failed" in plan.reason
    meta = json.loads((artifact / "netralitas.json").read_text())
    del meta["extra"][GUARD_KEY]
    (artifact / "netralitas.json").write_text(json.dumps(meta))
    plan = load_classifier(artifact).inference_plan
    assert plan.path == "fp32" and "validate-fast" in plan.reason
    assert not list(artifact.glob(".netralitas.json.tmp-*"))  # the atomic write left nothing


def test_validate_fast_command_rewrites_the_record(artifact, trained, tmp_path, capsys):
    from netralitas.cli.main import main

    data = tmp_path / "posts.jsonl"
    write_jsonl(data, [{"text": t} for t in TEXTS[:10]])  # unlabelled posts are enough
    before = (artifact / "netralitas.json").read_text()
    code = main(["validate-fast", str(artifact), str(data), "--dry-run"])
    assert (artifact / "netralitas.json").read_text() == before
    code = main(["validate-fast", str(artifact), str(data)])
    out = capsys.readouterr().out
    guard = json.loads((artifact / "netralitas.json").read_text())["extra"]["inference_guard"]
    assert guard["n"] == 10 and guard["data"] == str(data)
    assert code == (0 if guard["passed"] else 1)
    assert "int8 vs fp32 on 10 posts" in out and "recorded in" in out
    # The weights are untouched: fp32 scores are what they were.
    np.testing.assert_array_equal(
        load_classifier(artifact, inference="fp32").predict_proba(TEXTS[:5]),
        load_classifier(trained, inference="fp32").predict_proba(TEXTS[:5]),
    )


def test_quantised_model_saves_the_fp32_weights(trained, tmp_path):
    int8 = load_classifier(trained, inference="int8")
    int8.save_pretrained(tmp_path / "copy")
    assert {p.suffix for p in (tmp_path / "copy").iterdir()} <= {"", ".json", ".safetensors", ".md"}
    np.testing.assert_array_equal(
        load_classifier(tmp_path / "copy", inference="fp32").predict_proba(TEXTS[:6]),
        load_classifier(trained, inference="fp32").predict_proba(TEXTS[:6]),
    )


def test_score_command_takes_the_inference_flag(trained, tmp_path, capsys):
    from netralitas.cli.main import main

    data = tmp_path / "posts.jsonl"
    write_jsonl(data, [{"id": f"p{i}", "text": t} for i, t in enumerate(TEXTS[:8])])
    assert main(["score", str(trained), str(data), "--inference", "int8"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["id"] for r in rows] == [f"p{i}" for i in range(8)]
    assert "scoring with int8" in captured.err
    assert main(["score", str(trained), str(data), "--inference", "fp16"]) == 2
    assert "fp16 is for CUDA GPUs" in capsys.readouterr().err


def test_inference_setting_is_validated(trained, monkeypatch):
    from netralitas.model.backends.transformer import fast_inference
    from netralitas.model.backends.transformer.fast_inference import resolve_plan
    from netralitas.model.inference import check_inference

    with pytest.raises(InferenceError, match="one of auto, fp32, int8, bf16, fp16; found 'int4'"):
        check_inference("int4")
    with pytest.raises(InferenceError, match="found 'INT8'"):
        load_classifier(trained, inference="INT8")
    monkeypatch.setattr(fast_inference, "_cpu_bf16_available", lambda: False)
    with pytest.raises(InferenceError, match="no native bf16"):
        resolve_plan("bf16", "cpu", None)
    assert resolve_plan("auto", "cpu", None).path == "fp32"


def test_threads_are_sized_to_the_machine(tmp_path):
    import torch

    from netralitas.model.backends.transformer.fast_inference import (
        _cgroup_cpu_quota,
        configure_threads,
        usable_cpus,
    )

    assert 1 <= configure_threads() == torch.get_num_threads() <= usable_cpus()
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")
    assert _cgroup_cpu_quota(quota) == 2
    quota.write_text("max 100000\n")
    assert _cgroup_cpu_quota(quota) is None
    assert _cgroup_cpu_quota(tmp_path / "missing") is None


# -- the cascade ----------------------------------------------------------------------------------
def _spy(model, calls: list[list[str]]):
    """Record the texts each predict_proba call of `model` receives."""
    original = model.predict_proba

    def predict_proba(texts, contexts=None):
        calls.append(list(texts))
        return original(texts, contexts)

    model.predict_proba = predict_proba
    return model


def _with_flag_threshold(model, flag: float):
    """The tiny model flags from ~0.0005 (its validation data is its training data); a cascade's
    screening threshold may not exceed that, so give it an ordinary one."""
    thresholds = model.metadata_.thresholds.model_copy(update={"flag": flag, "review": flag / 2})
    model.metadata_ = model.metadata_.model_copy(update={"thresholds": thresholds})
    return model


def test_cascade_sends_only_posts_above_the_threshold(tfidf_artifact, trained, tmp_path):
    from netralitas.model.backends.cascade import CascadeClassifier

    screen = load_classifier(tfidf_artifact)
    calls: list[list[str]] = []
    model = _spy(_with_flag_threshold(load_classifier(trained, inference="fp32"), 0.9), calls)
    screen_side = side_scores(screen.predict_proba(TEXTS, CONTEXTS), screen.labels, "neutral")
    threshold = float(np.median(screen_side))
    cascade = CascadeClassifier(screen, model, threshold)
    proba = cascade.predict_proba(TEXTS, CONTEXTS)
    routed = screen_side >= threshold
    assert 0 < routed.sum() < len(TEXTS)
    assert calls == [[t for t, r in zip(TEXTS, routed, strict=True) if r]]  # one call, in order
    columns = [list(screen.labels).index(label) for label in model.labels]
    np.testing.assert_allclose(
        proba[~routed], screen.predict_proba(TEXTS, CONTEXTS)[~routed][:, columns]
    )
    alone = model.predict_proba(TEXTS, CONTEXTS)
    np.testing.assert_allclose(proba[routed], alone[routed], atol=1e-6)
    assert cascade.truncated(TEXTS, CONTEXTS).shape == (len(TEXTS),)
    assert CascadeClassifier(screen, model, 0.0).predict_proba(TEXTS[:3]).shape == (3, 2)

    cascade.save_pretrained(tmp_path / "cascade")
    loaded = load_classifier(tmp_path / "cascade", inference="fp32")
    assert loaded.metadata_.kind == "cascade" and loaded.threshold == threshold
    assert loaded.metadata_.thresholds == model.metadata_.thresholds
    np.testing.assert_allclose(loaded.predict_proba(TEXTS, CONTEXTS), proba, atol=1e-6)


def test_cascade_command_and_checks(tfidf_artifact, trained, tmp_path, capsys):
    from netralitas.cli.main import main
    from netralitas.model.backends.cascade import CascadeClassifier

    out = tmp_path / "cascade"
    screen, model = load_classifier(tfidf_artifact), load_classifier(trained)
    flag = model.metadata_.thresholds.flag
    command = ["cascade", str(tfidf_artifact), str(trained), "--output", str(out), "--threshold"]
    assert main([*command, str(flag + 0.01)]) == 2
    assert "screen alone never flags" in capsys.readouterr().err and not out.exists()
    assert main([*command, str(flag / 2)]) == 0
    assert {p.name for p in out.iterdir()} >= {"netralitas.json", "screen", "model"}
    stored = json.loads((out / "netralitas.json").read_text())["extra"]["cascade"]
    assert stored["threshold"] == pytest.approx(flag / 2)
    with pytest.raises(ValueError, match="screen alone never flags"):
        CascadeClassifier(screen, model, -0.1)
    model.labels_ = ("neutral", "partisan")
    with pytest.raises(ArtifactError, match="same label scheme"):
        CascadeClassifier(screen, model)
    shutil.rmtree(out / "screen")
    with pytest.raises(ArtifactError, match="incomplete: screen/ is missing"):
        load_classifier(out)
