"""Calibration maps, cross-fitted thresholds, `recalibrate` and `evaluate --split`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from netralitas.cli.main import main
from netralitas.model.artifact import read_metadata
from netralitas.model.calibration import Calibration, apply_temperature
from netralitas.model.loading import load_classifier
from netralitas.training.calibration import fit_calibration
from netralitas.training.config import ConfigError, load_config

from .sample_data import labelled_rows, write_jsonl


def _calibration(**fields) -> Calibration:
    figures = {"nll_before": 0, "nll_after": 0, "ece_before": 0, "ece_after": 0}
    return Calibration(fitted_on="test", n=10, positives=5, **figures, **fields)


def _sample(n: int, seed: int, distort) -> tuple[np.ndarray, np.ndarray]:
    """Two-label probabilities whose true side probability is `q`, reported as `distort(q)`."""
    rng = np.random.default_rng(seed)
    q = rng.beta(0.7, 0.7, n)
    y = (rng.random(n) < q).astype(int)  # column 0 neutral, 1 supportive
    side = np.clip(distort(q), 1e-6, 1 - 1e-6)
    return np.stack([1 - side, side], axis=1), y


# -- the map --------------------------------------------------------------------------------------
def test_temperature_map_is_softmax_of_scaled_log_probabilities():
    proba = np.array([[0.7, 0.2, 0.1], [0.05, 0.05, 0.9]])
    out = _calibration(method="temperature", temperature=2.0).apply(proba, neutral_index=0)
    expected = np.sqrt(proba) / np.sqrt(proba).sum(axis=1, keepdims=True)  # p^(1/2), renormalised
    np.testing.assert_allclose(out, expected)
    np.testing.assert_allclose(out, apply_temperature(proba, 2.0))
    assert (out.argmax(axis=1) == proba.argmax(axis=1)).all()  # the ranking is kept


def test_isotonic_map_moves_the_side_score_and_keeps_the_side_proportions():
    cal = _calibration(method="isotonic", knots_x=(0.0, 0.5, 1.0), knots_y=(0.0, 0.2, 0.8))
    # Three labels, neutral in column 1: side score 0.5 -> 0.2, split 3:1 like the input.
    proba = np.array([[0.375, 0.5, 0.125], [0.0, 1.0, 0.0]])
    out = cal.apply(proba, neutral_index=1)
    np.testing.assert_allclose(out[0], [0.15, 0.8, 0.05])
    # Side score 0: nothing to keep, the (clipped) side score is split evenly.
    np.testing.assert_allclose(out[1], [0.0005, 0.999, 0.0005])
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_no_map_changes_nothing():
    proba = np.array([[0.3, 0.7]])
    assert _calibration(method="none").apply(proba, 0) is not None
    np.testing.assert_array_equal(_calibration(method="none").apply(proba, 0), proba)


@pytest.mark.parametrize(
    ("knots", "match"),
    [
        (((), ()), "equal, non-zero length"),
        (((0.1, 0.2), (0.5,)), "equal, non-zero length"),
        (((0.5, 0.1), (0.1, 0.2)), "non-decreasing"),
        (((0.1, 0.2), (0.5, 0.3)), "non-decreasing"),
        (((0.1, 1.5), (0.1, 0.2)), r"\[0, 1\]"),
    ],
)
def test_bad_isotonic_knots_are_refused(knots, match):
    with pytest.raises(ValueError, match=match):
        _calibration(method="isotonic", knots_x=knots[0], knots_y=knots[1])


# -- choosing and fitting a map -------------------------------------------------------------------
def test_an_overconfident_model_is_softened_and_the_choice_is_recorded():
    # Scores pushed towards 0 and 1 (logit * 3): a temperature near 3 undoes it exactly.
    def overconfident(q):
        return 1 / (1 + np.exp(-3 * np.log(q / (1 - q))))

    proba, y = _sample(3000, 0, overconfident)
    cal = fit_calibration(proba, y, neutral=0, fitted_on="sample")
    assert cal.method in ("temperature", "isotonic")
    assert set(cal.heldout_nll) == {"none", "temperature", "isotonic"}
    assert cal.heldout_nll[cal.method] < cal.heldout_nll["none"] - 0.05
    assert cal.nll_after < cal.nll_before and cal.ece_after < cal.ece_before / 3
    temperature = fit_calibration(proba, y, 0, "sample", method="temperature")
    assert temperature.method == "temperature" and 2.5 < temperature.temperature < 3.5


def test_a_monotone_distortion_is_best_undone_by_isotonic():
    # A model trained on other posts: its side scores are a bent version of the truth (q^4 rises
    # late), which no single temperature can straighten.
    proba, y = _sample(4000, 1, lambda q: np.where(q < 0.5, q**4, 1 - (1 - q) ** 0.25))
    cal = fit_calibration(proba, y, neutral=0, fitted_on="sample")
    assert cal.method == "isotonic"
    assert cal.heldout_nll["isotonic"] < cal.heldout_nll["temperature"]
    side = cal.apply(proba, 0)[:, 1]
    for low, high in ((0.1, 0.3), (0.4, 0.6), (0.7, 0.9)):  # calibrated: observed rate ~ score
        band = (side >= low) & (side < high)
        assert abs(y[band].mean() - side[band].mean()) < 0.07


def test_the_isotonic_map_is_strictly_increasing_through_the_step_centres():
    from sklearn.isotonic import IsotonicRegression

    from netralitas.training.calibration import centered_isotonic

    rng = np.random.default_rng(4)
    scores = np.round(rng.random(3000), 3)  # ties, as a model gives
    positive = rng.random(3000) < scores**2
    xs, ys = centered_isotonic(scores, positive)
    assert np.all(np.diff(xs) > 0) and np.all(np.diff(ys) > 0)  # no two posts tie by the map
    assert (xs[0], xs[-1]) == (0.0, 1.0)
    # At each step's centre the map is the step's share of positives (plain isotonic regression),
    # kept 0.002 inside 0 and 1.
    steps = IsotonicRegression().fit(scores, positive)
    expected = np.clip(steps.predict(np.array(xs[1:-1])), 0.002, 0.998)
    np.testing.assert_allclose(ys[1:-1], expected, atol=1e-9)
    # Two posts the model tells apart stay apart after calibration: explanations need it.
    cal = _calibration(method="isotonic", knots_x=xs, knots_y=ys)
    side = cal.apply(np.array([[0.31, 0.69], [0.30, 0.70]]), 0)[:, 1]
    assert side[1] > side[0]


def test_calibrated_scores_are_left_alone():
    proba, y = _sample(3000, 2, lambda q: q)
    cal = fit_calibration(proba, y, neutral=0, fitted_on="sample")
    assert cal.heldout_nll[cal.method] >= cal.heldout_nll["none"] - 0.01
    assert abs(cal.nll_after - cal.nll_before) < 0.01


def test_a_bad_method_is_refused():
    proba, y = _sample(50, 3, lambda q: q)
    with pytest.raises(ValueError, match="calibration method must be auto or one of"):
        fit_calibration(proba, y, 0, "sample", method="platt")


def test_the_removed_calibrate_setting_says_where_it_went(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[data]\npath = "x.jsonl"\n[model]\nkind = "transformer"\ncalibrate = false\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"thresholds\.calibration"):
        load_config(config)


# -- training: cross-fitted by default ------------------------------------------------------------
def test_training_cross_fits_calibration_and_thresholds_on_every_post(tfidf_artifact):
    meta = read_metadata(tfidf_artifact)
    rows = 2 * len(labelled_rows())  # the fixture's train and validation files hold the same rows
    assert meta.summary.out_of_fold is not None and meta.summary.out_of_fold.n == rows
    assert meta.thresholds.n == rows and "out-of-fold" in meta.thresholds.fitted_on
    assert meta.calibration is not None and meta.calibration.n == rows
    assert meta.thresholds.review < meta.thresholds.flag  # the review band is never empty
    fold_reports = meta.metrics["cross_fit"]["fold_reports"]
    assert len(fold_reports) == 5 and all(r["tfidf"]["C"] == 4.0 for r in fold_reports)
    assert set(meta.split_keys) == {"train", "validation"}


def test_a_loaded_model_applies_its_calibration(tfidf_artifact):
    model = load_classifier(tfidf_artifact)
    texts = ["Ayo coblos nomor 2!", "Jadwal posyandu hari Kamis.", "Setuju bgt, lanjutkan!"]
    raw = model.raw_proba(texts)
    cal = model.metadata_.calibration
    np.testing.assert_allclose(model.predict_proba(texts), cal.apply(raw, 0))


def test_the_validation_method_fits_on_the_validation_split(tmp_path, profile_path):
    from netralitas.training.train import train

    rows = labelled_rows()
    write_jsonl(tmp_path / "train.jsonl", rows)
    write_jsonl(tmp_path / "validation.jsonl", rows[::2])
    (tmp_path / "c.toml").write_text(
        f"""
[data]
train = "{tmp_path / "train.jsonl"}"
validation = "{tmp_path / "validation.jsonl"}"
[profiles]
paths = ["{profile_path}"]
[thresholds]
method = "validation"
calibration = "temperature"
[model]
kind = "tfidf"
C = 4.0
""",
        encoding="utf-8",
    )
    out = train(load_config(tmp_path / "c.toml"), tmp_path / "m", log=lambda _: None)
    meta = read_metadata(out)
    assert meta.summary.out_of_fold is None and meta.summary.validation.n == len(rows[::2])
    assert meta.calibration.method == "temperature" and meta.calibration.n == len(rows[::2])
    assert meta.thresholds.fitted_on == "the validation split"


# -- recalibrate ----------------------------------------------------------------------------------
@pytest.fixture
def feedback(tmp_path):
    """Reviewers' labels that disagree with the model on purpose: every post taking a side."""
    rows = [dict(r, label="supportive") for r in labelled_rows()]
    rows += [dict(r, label="neutral", id=f"n{i}") for i, r in enumerate(labelled_rows()[:8])]
    return write_jsonl(tmp_path / "feedback.jsonl", rows)


def test_recalibrate_writes_a_new_version_and_keeps_the_old_one(tfidf_artifact, feedback, tmp_path):
    before = (tfidf_artifact / "netralitas.json").read_bytes()
    out = tmp_path / "recal"
    assert main(["recalibrate", str(tfidf_artifact), str(feedback), "--output", str(out)]) == 0
    assert (tfidf_artifact / "netralitas.json").read_bytes() == before  # nothing replaced
    old, new = read_metadata(tfidf_artifact), read_metadata(out)
    assert new.version.startswith(f"{old.version}+recal.")
    (history,) = new.recalibrations
    assert history.data == str(feedback) and history.n == len(labelled_rows()) + 8
    assert history.previous_thresholds == old.thresholds
    assert history.previous_calibration == old.calibration
    assert new.calibration.fitted_on.endswith("(recalibrate)")
    assert new.calibration != old.calibration and new.thresholds != old.thresholds
    assert "recalibration" in new.metrics
    # The weights are the same: the model's own probabilities do not move.
    texts = ["Ayo coblos nomor 2!", "Jadwal posyandu hari Kamis."]
    np.testing.assert_allclose(
        load_classifier(out).raw_proba(texts), load_classifier(tfidf_artifact).raw_proba(texts)
    )


def test_recalibrate_never_replaces_a_folder(tfidf_artifact, feedback, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    assert main(["recalibrate", str(tfidf_artifact), str(feedback), "--output", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_recalibrate_needs_labels(tfidf_artifact, tmp_path, capsys):
    data = write_jsonl(tmp_path / "unlabelled.jsonl", [{"text": "Ayo coblos nomor 2!"}])
    assert main(["recalibrate", str(tfidf_artifact), str(data), "--output", str(tmp_path / "o")])
    assert "label" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# -- evaluate --split -----------------------------------------------------------------------------
def test_evaluate_split_uses_exactly_the_posts_of_that_split(tmp_path, profile_path, capsys):
    rows = labelled_rows()
    write_jsonl(tmp_path / "all.jsonl", rows)
    (tmp_path / "c.toml").write_text(
        f"""
[data]
path = "{tmp_path / "all.jsonl"}"
validation_fraction = 0.2
test_fraction = 0.2
[profiles]
paths = ["{profile_path}"]
[thresholds]
folds = 3
[model]
kind = "tfidf"
C = 4.0
""",
        encoding="utf-8",
    )
    model = tmp_path / "m"
    assert main(["train", str(tmp_path / "c.toml"), "--output-dir", str(model)]) == 0
    meta = read_metadata(model)
    capsys.readouterr()
    report = tmp_path / "report"
    data = str(tmp_path / "all.jsonl")
    assert main(["evaluate", str(model), data, "--split", "test", "--report-dir", str(report)]) == 0
    result = json.loads((report / "eval.json").read_text(encoding="utf-8"))
    assert result["n"] == len(meta.split_keys["test"]) == meta.summary.test.n
    assert result["macro_f1"] == pytest.approx(meta.summary.test.macro_f1)
    # Without a file: the data the model was trained on, as its config names it.
    assert main(["evaluate", str(model), "--split", "test", "--report-dir", str(report)]) == 0
    assert json.loads((report / "eval.json").read_text(encoding="utf-8"))["n"] == result["n"]
    # A file that holds none of those posts is an error that says which file to pass.
    other = write_jsonl(
        tmp_path / "other.jsonl", [{"text": "Lain sama sekali", "label": "neutral"}]
    )
    assert main(["evaluate", str(model), str(other), "--split", "test"]) == 2
    assert "none of these 1 rows" in capsys.readouterr().err


def test_recalibrate_reads_an_agency_export_with_the_mapping_flags(tfidf_artifact, tmp_path):
    rows = labelled_rows()
    kelas = {"supportive": "dukung", "neutral": "netral"}
    lines = ["tweet;kelas;akun"] + [
        f"{r['text'].replace(';', ',')};{kelas[r['label']]};@asn_{i}" for i, r in enumerate(rows)
    ]
    export = tmp_path / "export.csv"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "recal"
    args = ["recalibrate", str(tfidf_artifact), str(export), "--output", str(out)]
    flags = ["--text-column", "tweet", "--label-column", "kelas"]
    maps = ["--map", "dukung=supportive", "--map", "netral=neutral"]
    assert main([*args, *flags]) == 2  # dukung/netral are not the model's labels
    assert not out.exists()
    assert main([*args, *flags, *maps]) == 0
    assert read_metadata(out).recalibrations[0].n == len(rows)
