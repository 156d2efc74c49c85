"""The TF-IDF backend and the artifact format: round trip, context, safety, clear failures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from netralitas.model.artifact import ArtifactError, atomic_directory
from netralitas.model.backends.tfidf import TfidfClassifier
from netralitas.model.decision import decide
from netralitas.model.loading import load_classifier
from netralitas.model.text.stemming import StemTokenizer

from .sample_data import labelled_rows

TEXTS = [
    "Coblos nomor 2, Pak Hendro juara!",
    "Jadwal apel pagi diundur jam 8",
    "Siap pak, gas terus!",
]
CONTEXTS = [None, None, "Relawan Kang Sukma kumpul besok, kita menangkan paslon 1!"]


def test_round_trip_gives_identical_probabilities(tfidf_artifact, tmp_path):
    model = load_classifier(tfidf_artifact)
    assert isinstance(model, TfidfClassifier)
    before = model.predict_proba(TEXTS, CONTEXTS)
    assert before.shape == (3, 2) and np.allclose(before.sum(axis=1), 1)
    model.save_pretrained(tmp_path / "copy")
    after = load_classifier(tmp_path / "copy").predict_proba(TEXTS, CONTEXTS)
    np.testing.assert_array_equal(before, after)


def test_metadata_is_complete(tfidf_artifact):
    meta = json.loads((tfidf_artifact / "netralitas.json").read_text())
    for key in (
        "format_version",
        "kind",
        "labels",
        "neutral_label",
        "thresholds",
        "profiles",
        "training_config",
        "data_fingerprint",
        "metrics",
        "package_version",
        "created_at",
    ):
        assert key in meta, key
    assert meta["profiles"] == ["pilbup-uji-2030"]
    assert (tfidf_artifact / "profiles" / "pilbup-uji-2030.json").is_file()
    assert 0 <= meta["thresholds"]["review"] <= meta["thresholds"]["flag"] <= 1


def test_context_changes_the_score(tfidf_artifact):
    model = load_classifier(tfidf_artifact)
    reply = "Siap pak, gas terus!"
    campaign = "Relawan Kang Sukma kumpul besok, kita menangkan paslon 1!"
    chores = "Besok kerja bakti bersihkan selokan di RT 04, jam 7 pagi."
    proba = model.predict_proba([reply, reply], [campaign, chores])
    side = model.labels.index("supportive")
    assert proba[0, side] > proba[1, side]


def test_stop_words_keep_negations():
    tokenize = StemTokenizer()
    assert "jangan" in tokenize("jangan pilih dia")
    assert tokenize("jangan pilih dia") != tokenize("pilih dia")
    assert tokenize("memenangkan pemilihan") == ["menang", "pilih"]


def test_decide_applies_thresholds(tfidf_artifact):
    model = load_classifier(tfidf_artifact)
    meta = model.metadata_
    t = meta.thresholds
    side = model.labels.index("supportive")
    scores = [min(1.0, t.flag + 0.01), (t.flag + t.review) / 2, max(0.0, t.review - 0.01)]
    proba = np.zeros((3, 2))
    proba[:, side] = scores
    proba[:, 1 - side] = 1 - proba[:, side]
    labels, decisions = decide(proba, meta)
    assert decisions[0] == "flag" and labels[0] == "supportive"
    assert decisions[2] == "clear" and labels[2] == "neutral"
    if t.flag > t.review:
        assert decisions[1] == "review" and labels[1] == "neutral"


def test_profile_override_changes_masking(tfidf_artifact, profile):
    model = load_classifier(tfidf_artifact)
    bare = model.with_profiles([])
    assert bare.normalizer("Kang Sukma hebat") == "kang sukma hebat"
    assert model.normalizer("Kang Sukma hebat") == "[calon] hebat"


def test_input_validation(tfidf_artifact):
    model = load_classifier(tfidf_artifact)
    with pytest.raises(TypeError, match="single str"):
        model.predict_proba("satu teks")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
        model.predict_proba(["ok", None])
    with pytest.raises(ValueError, match="one entry per text"):
        model.predict_proba(["a", "b"], ["c"])
    assert model.predict_proba([]).shape == (0, 2)


def test_missing_corrupt_and_future_artifacts(tfidf_artifact, tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        load_classifier(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match=r"no netralitas\.json"):
        load_classifier(tmp_path / "empty")

    corrupt = shutil.copytree(tfidf_artifact, tmp_path / "corrupt")
    (corrupt / "model.skops").write_bytes(b"not a zip file")
    with pytest.raises(ArtifactError, match="corrupt"):
        load_classifier(corrupt)

    future = shutil.copytree(tfidf_artifact, tmp_path / "future")
    meta = json.loads((future / "netralitas.json").read_text())
    meta["format_version"] = 99
    (future / "netralitas.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="newer than this netralitas"):
        load_classifier(future)

    missing = shutil.copytree(tfidf_artifact, tmp_path / "missing")
    (missing / "model.skops").unlink()
    with pytest.raises(ArtifactError, match=r"model.skops is missing"):
        load_classifier(missing)


def test_untrusted_types_are_refused(tfidf_artifact, tmp_path):
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    tampered = shutil.copytree(tfidf_artifact, tmp_path / "tampered")
    sio.dump(
        RandomForestClassifier(n_estimators=1).fit([[0], [1]], [0, 1]), tampered / "model.skops"
    )
    untrusted = sio.get_untrusted_types(file=tampered / "model.skops")
    if untrusted:  # skops trusts plain sklearn estimators by default; a custom type is the risk
        with pytest.raises(ArtifactError, match="reviewed list"):
            load_classifier(tampered)
    else:
        with pytest.raises(ArtifactError, match="labels"):
            load_classifier(tampered)


def test_atomic_save_keeps_old_artifact_on_crash(tfidf_artifact, tmp_path):
    target = shutil.copytree(tfidf_artifact, tmp_path / "model")
    before = (target / "netralitas.json").read_text()
    with pytest.raises(RuntimeError, match="crash"), atomic_directory(target) as tmp:
        (tmp / "netralitas.json").write_text("{half")
        raise RuntimeError("crash")
    assert (target / "netralitas.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_fit_contract():
    rows = labelled_rows()
    model = TfidfClassifier(C=2.0)
    assert not hasattr(model, "pipeline_")
    assert model.fit([r["text"] for r in rows], [r["label"] for r in rows]) is model
    assert model.labels == ("neutral", "supportive")
    with pytest.raises(ValueError, match="at least two labels"):
        TfidfClassifier().fit(["a", "b"], ["x", "x"])


def test_importing_the_tfidf_path_does_not_import_torch():
    code = (
        "import sys; import netralitas.model, netralitas.model.backends.tfidf, netralitas.model.loading, netralitas.model.scorer, "
        "netralitas.training.train; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
