"""The frozen-encoder backend (`kind = "embedding"`) on a tiny random BERT (tests/tiny_bert.py).

A random encoder's scores mean nothing; these tests prove the plumbing that multilingual-e5-small
goes through: training through `train()`, the stacked TF-IDF fitted out of fold, the fp16
artifact and its exact round trip, the Scorer, int8 under the accuracy guard, context features,
truncation, and clear errors for broken artifacts and configs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from netralitas.model.artifact import ArtifactError, read_metadata
from netralitas.model.backend import Classifier
from netralitas.model.loading import load_classifier
from netralitas.model.records import Record
from netralitas.model.scorer import Scorer
from netralitas.model.text.light import light_text

from .sample_data import labelled_rows, write_jsonl

ROWS = labelled_rows()
TEXTS = [r["text"] for r in ROWS]
CONTEXTS = [r.get("context") for r in ROWS]
LABELS = [r["label"] for r in ROWS]
SIAP = "Siap pak, gas terus!"
CAMPAIGN = "Relawan Kang Sukma kumpul besok, kita menangkan paslon 1!"
WORK_PARTY = "Besok kerja bakti bersihkan selokan di RT 04, jam 7 pagi."


def _config(root: Path, base_model: str | Path, model: str, method: str = "validation") -> Path:
    path = root / "config.toml"
    path.write_text(
        f"""
name = "uji-embedding"
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
kind = "embedding"
base_model = "{base_model}"
max_length = 64
{model}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def data_root(tmp_path_factory, profile_path) -> Path:
    root = tmp_path_factory.mktemp("embedding-data")
    write_jsonl(root / "train.jsonl", ROWS)
    write_jsonl(root / "validation.jsonl", ROWS)  # tiny data: the pipeline, not accuracy
    shutil.copy(profile_path, root / "profile.toml")
    return root


@pytest.fixture(scope="module")
def trained(data_root, tiny_bert) -> Path:
    """The normalised view with a stacked TF-IDF, trained through `train()` (guard included)."""
    from netralitas.training.config import load_config
    from netralitas.training.train import train

    config = _config(
        data_root,
        tiny_bert,
        'text_view = "normalized"\nstack_tfidf = true\nstack_folds = 2\nC = [0.1, 1.0]',
    )
    lines: list[str] = []
    out = train(load_config(config), data_root / "model", lines.append)
    (data_root / "train.log").write_text("\n".join(lines), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def fitted(tiny_bert, profile):
    """A raw-view model with a stacked TF-IDF fitted in memory (not saved)."""
    from netralitas.model.backends.embedding.classifier import EmbeddingClassifier

    model = EmbeddingClassifier(profiles=(profile,), stack_tfidf=True, stack_folds=2, C=1.0)
    return model.load_encoder(tiny_bert).fit(TEXTS, LABELS, CONTEXTS)


def test_trained_artifact_files_metadata_and_log(trained, data_root):
    files = {str(p.relative_to(trained)) for p in trained.rglob("*") if p.is_file()}
    for name in (
        "netralitas.json",
        "head.safetensors",
        "head.json",
        "encoder/config.json",
        "encoder/model.safetensors",
        "encoder/tokenizer.json",
        "tfidf/netralitas.json",
        "tfidf/tfidf.safetensors",
        "profiles/pilbup-uji-2030.json",
    ):
        assert name in files, name
    assert not any(f.endswith((".bin", ".pkl", ".pt", ".skops")) for f in files)
    meta = read_metadata(trained)
    assert meta.kind == "embedding" and meta.labels == ("neutral", "supportive")
    settings = meta.extra["settings"]
    assert settings["text_view"] == "normalized" and settings["stack_tfidf"] is True
    assert settings["C"] in (0.1, 1.0) and settings["storage_dtype"] == "float16"
    assert meta.mask_profiles  # the normalised view masks contestants
    assert meta.metrics["embedding"]["C"] == settings["C"]
    assert set(meta.metrics["embedding"]["validation_macro_f1_by_C"]) == {"0.1", "1"}
    head = json.loads((trained / "head.json").read_text())
    hidden = json.loads((trained / "encoder" / "config.json").read_text())["hidden_size"]
    assert head["features"] == [
        {"name": "text", "size": hidden},
        {"name": "context", "size": hidden},
        {"name": "has_context", "size": 1},
        {"name": "tfidf", "size": 1},
    ]
    log = (data_root / "train.log").read_text()
    assert "C=0.1: validation macro-F1" in log and "2-fold out-of-fold" in log
    card = (trained / "README.md").read_text(encoding="utf-8")  # the model card, from the metadata
    assert "frozen encoder: mean-pooled embeddings of the normalised post" in card
    assert "TF-IDF model stacked as a feature" in card and "library_name" not in card
    assert f"flag at {meta.thresholds.flag:.3f}" in card and "not an automatic verdict" in card


def test_encoder_is_stored_in_float16(trained):
    from safetensors import safe_open

    with safe_open(trained / "encoder" / "model.safetensors", "pt") as f:
        dtypes = {k: str(f.get_slice(k).get_dtype()) for k in f.keys()}  # noqa: SIM118
    assert set(dtypes.values()) == {"F16"}
    assert not any("pooler" in k for k in dtypes)  # e5 has no pooler; mean pooling needs none


def test_round_trip_of_a_fitted_model_is_identical(fitted, trained, tmp_path):
    """Fitting rounds the encoder through float16 first: what was fitted is what is loaded."""
    before = fitted.predict_proba(TEXTS, CONTEXTS)  # no metadata yet: the model's own
    assert before.shape == (len(TEXTS), 2) and np.allclose(before.sum(axis=1), 1.0)
    fitted.metadata_ = read_metadata(trained)
    fitted.save_pretrained(tmp_path / "copy")
    loaded = load_classifier(tmp_path / "copy", inference="fp32")
    assert type(loaded) is type(fitted) and isinstance(loaded, Classifier)
    np.testing.assert_array_equal(loaded.raw_proba(TEXTS, CONTEXTS), before)
    # With the metadata (and its guard record), "auto" may pick bf16: compare the fp32 paths.
    np.testing.assert_array_equal(
        loaded.predict_proba(TEXTS, CONTEXTS),
        fitted.with_inference("fp32").predict_proba(TEXTS, CONTEXTS),
    )
    # The raw view reads no profile; the stacked TF-IDF does, so masking is recorded as on.
    assert read_metadata(tmp_path / "copy").mask_profiles


def test_float16_storage_moves_probabilities_very_little(fitted, tiny_bert):
    """The same head on the encoder's float32 weights (not rounded). float16 keeps 11 significant
    bits (relative error <= 2**-11 per weight) and the errors average out in the dot products;
    the bound 0.01 is what a decision could notice (thresholds are read to two decimals).
    Measured with multilingual-e5-small on the bundled validation split and 500 real posts:
    embedding cosine 1.000000, max |dp| 0.0006, no label changed."""
    import copy

    from netralitas.model.backends.embedding.encoder import load_encoder

    exact = copy.copy(fitted)
    tokenizer, encoder = load_encoder(tiny_bert, normalize=fitted.normalize)
    exact._attach_encoder(tokenizer, encoder, tiny_bert)
    a, b = fitted.predict_proba(TEXTS, CONTEXTS), exact.predict_proba(TEXTS, CONTEXTS)
    assert 0 < np.abs(a - b).max() < 0.01  # another computation, and a tiny difference
    assert (a.argmax(axis=1) == b.argmax(axis=1)).all()


def test_stacked_tfidf_feature_is_out_of_fold(tiny_bert, profile):
    """In-sample a TF-IDF model is sure of its training rows; out of fold it is not."""
    from netralitas.model.backends.embedding.classifier import EmbeddingClassifier

    model = EmbeddingClassifier(profiles=(profile,), stack_tfidf=True, stack_folds=4)
    oof = model.fit_stack(TEXTS, LABELS, CONTEXTS)  # (n, 1) log-odds
    in_sample = model.stack_features(TEXTS, CONTEXTS)  # model.tfidf_, fitted on every row
    assert oof.shape == in_sample.shape == (len(TEXTS), 1)
    assert np.abs(oof).mean() < 0.8 * np.abs(in_sample).mean()
    side = np.array(LABELS) == "supportive"
    assert (np.sign(in_sample[:, 0]) == np.where(side, 1, -1)).all()


def test_cross_fitting_encodes_each_post_once_and_settles_c(data_root, tiny_bert, tmp_path):
    from netralitas.training.config import load_config
    from netralitas.training.train import train

    root = shutil.copytree(data_root, tmp_path / "data", ignore=shutil.ignore_patterns("model*"))
    config = _config(root, tiny_bert, "C = [0.1, 1.0]", method="cross-fit")
    lines: list[str] = []
    meta = read_metadata(train(load_config(config), root / "m", lines.append))
    chosen = [r["embedding"]["C"] for r in meta.metrics["cross_fit"]["fold_reports"]]
    assert len(chosen) == 3 and meta.extra["settings"]["C"] == max(
        set(chosen), key=lambda c: (chosen.count(c), -c)
    )
    assert meta.summary.out_of_fold.n == 2 * len(ROWS)
    # Three fold models and the shipped one: every distinct post is encoded once in all.
    encoded = [int(line.split()[1]) for line in lines if line.lstrip().startswith("encoded ")]
    assert len(encoded) == 4 and encoded[0] > 0
    assert sum(encoded) == len({(r["text"], r.get("context")) for r in ROWS})


def test_scorer_scores_and_explains(trained):
    posts = [
        Record(text="Ayo coblos nomor 2, Pak Hendro paling peduli!", id="a"),
        Record(text="Jadwal posyandu bulan ini hari Kamis.", id="b"),
        Record(text=SIAP, context=CAMPAIGN, id="c"),
    ]
    scored = list(Scorer(load_classifier(trained)).score(posts, explain=True))
    assert [p.id for p in scored] == ["a", "b", "c"]
    assert all(0.0 <= p.score <= 1.0 and p.label in ("neutral", "supportive") for p in scored)
    assert not any(p.truncated for p in scored)


def test_int8_under_the_guard(trained):
    from netralitas.model.backends.transformer.fast_inference import path_available
    from netralitas.model.backends.transformer.guard import compare_probabilities

    guard = read_metadata(trained).extra["inference_guard"]
    log = (trained.parent / "train.log").read_text()
    assert "int8 vs fp32 on" in log  # int8 is always checked first
    # bf16 is checked only where int8 failed and this CPU has native bf16; the record is the last.
    int8_line = next(line for line in log.splitlines() if line.startswith("int8 vs fp32"))
    bf16_checked = "bf16 vs fp32 on" in log
    assert bf16_checked == ("failed" in int8_line and path_available("bf16", "cpu") is None)
    assert guard["path"] == ("bf16" if bf16_checked else "int8") and guard["n"] == len(ROWS)
    assert guard["passed"] == (guard["label_agreement"] >= guard["min_agreement"])
    plan = load_classifier(trained).inference_plan
    assert plan.path == (guard["path"] if guard["passed"] else "fp32")

    fp32 = load_classifier(trained, inference="fp32")
    int8 = fp32.with_inference("int8")
    assert "DynamicQuantizedLinear" in repr(int8._scoring.network)
    assert int8.encoder_ is fp32.encoder_  # one float32 encoder; the int8 copy is extra
    reference, fast = fp32.predict_proba(TEXTS, CONTEXTS), int8.predict_proba(TEXTS, CONTEXTS)
    figures = compare_probabilities(reference, fast, fp32.metadata_)
    assert 0 < figures["max_abs_diff"] < 0.05 and figures["label_agreement"] >= 0.9


@pytest.mark.parametrize("recipe_name", ["EmbeddingRecipe", "TransformerRecipe"])
def test_guard_falls_back_to_bf16_where_int8_fails(trained, monkeypatch, recipe_name):
    """The recipes' last step (both backends with inference paths share it): int8 first; bf16
    where int8 fails and the CPU has bf16."""
    from netralitas.model.backends.transformer import fast_inference
    from netralitas.model.backends.transformer.guard import InferenceGuard
    from netralitas.training import guard as training_guard
    from netralitas.training.recipes import FitJob, Fitted
    from netralitas.training.recipes.embedding import EmbeddingRecipe
    from netralitas.training.recipes.transformer import TransformerRecipe

    recipe = {"EmbeddingRecipe": EmbeddingRecipe, "TransformerRecipe": TransformerRecipe}[
        recipe_name
    ]()
    checked: list[str] = []

    def fake_check(model, texts, contexts, *, path, reference, data):
        checked.append(path)
        agreement = {"int8": 0.93, "bf16": 0.997}[path]
        return InferenceGuard(
            path=path,
            n=len(texts),
            label_agreement=agreement,
            decision_agreement=agreement,
            max_abs_diff=0.1,
            min_agreement=0.99,
            passed=agreement >= 0.99,
            data=data,
            checked_at="2030-01-01T00:00:00Z",
        )

    monkeypatch.setattr(training_guard, "check_fast_path", fake_check)
    monkeypatch.setattr(fast_inference, "path_available", lambda path, device: None)
    model = load_classifier(trained, inference="fp32")
    records = [Record(text=t, context=c) for t, c in zip(TEXTS, CONTEXTS, strict=True)]
    job = FitJob(None, None, (), records, records, log=lambda _: None)  # type: ignore[arg-type]
    recipe.finish(Fitted(model), job, np.zeros((len(records), 2)))
    assert checked == ["int8", "bf16"]
    assert model.metadata_.extra["inference_guard"]["path"] == "bf16"
    assert model.with_inference("auto").inference_plan.path == "bf16"

    checked.clear()
    monkeypatch.setattr(
        fast_inference, "path_available", lambda path, device: path == "bf16" or None
    )
    recipe.finish(Fitted(model), job, np.zeros((len(records), 2)))
    assert checked == ["int8"]  # no native bf16: the int8 failure is recorded, auto stays fp32
    assert model.metadata_.extra["inference_guard"]["passed"] is False


def test_context_is_a_feature_of_its_own(trained):
    model = load_classifier(trained, inference="fp32")
    x = model.encode([SIAP, SIAP, SIAP, SIAP], [CAMPAIGN, WORK_PARTY, None, "  "])
    hidden = model.encoder_.hidden_size
    np.testing.assert_array_equal(x[:, -1], [1, 1, 0, 0])  # has_context
    np.testing.assert_array_equal(x[:, :hidden], np.repeat(x[:1, :hidden], 4, axis=0))
    assert not np.allclose(x[0, hidden:-1], x[1, hidden:-1])
    assert (x[2:, hidden:] == 0).all()  # no context, or a blank one: zeros
    # The head's own probabilities (the map fitted on the training rows saturates them here).
    p = model.raw_proba([SIAP, SIAP, SIAP], [CAMPAIGN, WORK_PARTY, None])
    assert abs(p[0, 1] - p[1, 1]) > 1e-4 and abs(p[0, 1] - p[2, 1]) > 1e-4
    off = model.with_inference("fp32")
    off.use_context = False  # the setting, not the data, decides whether contexts are read
    assert off._inputs([SIAP], [CAMPAIGN])[2].tolist() == [-1]


def test_text_views(trained, fitted):
    post = "Ayo coblos Kang Sukma\u200b  no urut 1!!  \U0001f44d"
    assert light_text(post) == "Ayo coblos Kang Sukma no urut 1!! \U0001f44d"
    assert light_text(light_text(post)) == light_text(post)
    assert fitted._view(post) == "query: " + light_text(post)  # raw: names as written
    normalized = load_classifier(trained)._view(post)
    assert normalized.startswith("query: ") and "[calon]" in normalized
    assert "Sukma" not in normalized


def test_truncation_is_reported(trained):
    model = load_classifier(trained)
    long = " ".join(["kata"] * 200)
    np.testing.assert_array_equal(
        model.truncated([long, "pendek", "pendek"], [None, None, long]), [True, False, True]
    )
    assert model.predict_proba([long], None).shape == (1, 2)
    assert model.predict_proba([], None).shape == (0, 2)
    assert model.truncated([], []).shape == (0,)


def test_importing_the_backend_imports_no_torch():
    code = (
        "import sys\n"
        "from netralitas.model.registry import backend_class\n"
        "backend_class('embedding')\n"
        "import netralitas.training.recipes.embedding\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "head.safetensors").unlink(), r"head\.safetensors is missing"),
        (lambda d: (d / "head.json").write_text("{}"), r"head\.json is not a head layout"),
        (
            lambda d: (d / "encoder" / "model.safetensors").unlink(),
            r"model\.safetensors is missing",
        ),
        (lambda d: (d / "encoder" / "model.safetensors").write_bytes(b"junk"), "cannot be read"),
        (lambda d: shutil.rmtree(d / "encoder"), r"encoder/ is missing"),
        (lambda d: shutil.rmtree(d / "tfidf"), r"tfidf/ \(the stacked TF-IDF model\) is missing"),
        (lambda d: (d / "encoder" / "tokenizer.json").unlink(), "no tokenizer vocabulary"),
    ],
    ids=["head", "layout", "weights", "corrupt-weights", "encoder", "tfidf", "tokenizer"],
)
def test_missing_or_corrupt_parts_are_clear_errors(trained, tmp_path, damage, message):
    copy = shutil.copytree(trained, tmp_path / "model")
    damage(copy)
    with pytest.raises(ArtifactError, match=message):
        load_classifier(copy)


def test_head_layout_must_match_the_encoder(trained, tmp_path):
    copy = shutil.copytree(trained, tmp_path / "model")
    meta = json.loads((copy / "netralitas.json").read_text())
    meta["extra"]["settings"]["use_context"] = False
    (copy / "netralitas.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="the head reads features"):
        load_classifier(copy)


def test_head_folds_the_standardisation_into_the_weights():
    """Three labels: the numpy head equals scikit-learn's StandardScaler + LogisticRegression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from netralitas.model.backends.embedding.head import fit_head

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 6)) * [1, 10, 0.01, 1, 1, 0] + [0, 5, 0, 0, 0, 1]
    y = np.array(["a", "b", "c"])[(x[:, 0] + x[:, 1] / 10 > 0.5).astype(int) + (x[:, 3] > 1)]
    head, report = fit_head(x, y, [("x", 6)], C=0.5)
    reference = make_pipeline(
        StandardScaler(), LogisticRegression(C=0.5, class_weight="balanced", max_iter=3000)
    ).fit(x, y)
    assert head.labels == ("a", "b", "c") and report["converged"]
    np.testing.assert_allclose(head.proba(x), reference.predict_proba(x), atol=1e-9)


def test_config_typos_are_config_errors(data_root, tiny_bert):
    from netralitas.training.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="text_veiw"):
        load_config(_config(data_root, tiny_bert, 'text_veiw = "raw"'))
    with pytest.raises(ConfigError, match="text_view"):
        load_config(_config(data_root, tiny_bert, 'text_view = "lowercase"'))
    with pytest.raises(ConfigError, match=r"tfidf\.C"):
        load_config(_config(data_root, tiny_bert, "[model.tfidf]\nC = [1.0, 4.0]"))


def test_shipped_config_validates():
    from netralitas.training.config import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "training/configs/embedding.toml")
    assert config.model.kind == "embedding"
    assert config.model.base_model == "multilingual-e5-small"


def test_missing_base_model_stops_training_before_data_is_read(data_root, tmp_path):
    from netralitas.training.base_model import BaseModelError
    from netralitas.training.config import load_config
    from netralitas.training.train import train

    config = _config(data_root, tmp_path / "no-such-model", "")
    (data_root / "train.jsonl").rename(data_root / "train.moved")  # reading it would fail too
    try:
        with pytest.raises(BaseModelError, match="no-such-model"):
            train(load_config(config), tmp_path / "out", lambda _: None)
    finally:
        (data_root / "train.moved").rename(data_root / "train.jsonl")


def test_validate_fast_command_checks_an_embedding_model(trained, tmp_path, capsys):
    """`netralitas validate-fast` guards any backend with inference paths, not only transformers."""
    from netralitas.cli.main import main

    model_dir = tmp_path / "copy"
    shutil.copytree(trained, model_dir)
    data = tmp_path / "posts.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf-8")
    code = main(["validate-fast", str(model_dir), str(data), "--path", "int8"])
    assert code in (0, 1)  # 1: the guard ran and failed; both record it
    guard = json.loads((model_dir / "netralitas.json").read_text(encoding="utf-8"))["extra"][
        "inference_guard"
    ]
    assert guard["path"] == "int8" and guard["n"] == len(TEXTS) and guard["data"] == str(data)
    assert "int8 vs fp32" in capsys.readouterr().out
