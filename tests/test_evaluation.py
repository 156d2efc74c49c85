"""Offline evaluation: metrics checked against hand-worked answers and scikit-learn, slices,
robustness perturbations, paired model comparison, the HTML report and the `evaluate` command."""

from __future__ import annotations

import json
import math
import re
from types import SimpleNamespace

import numpy as np
import pytest

from netralitas.cli.main import main
from netralitas.data.records import DataError, load_records
from netralitas.evaluation.compare import mcnemar, paired_bootstrap
from netralitas.evaluation.curves import calibration, pr_curve, roc_curve, threshold_sweep
from netralitas.evaluation.errors import error_rates, explain, worst_errors
from netralitas.evaluation.evaluate import compare_evaluations, cross_evaluate, evaluate_model
from netralitas.evaluation.metrics import (
    bootstrap_interval,
    bootstrap_per_class,
    macro_f1,
    wilson_interval,
)
from netralitas.evaluation.report import json_safe, render_report
from netralitas.evaluation.robustness import (
    ContestantSwapper,
    Perturbation,
    contract_slang,
    expand_slang,
    remove_hashtags,
    robustness,
)
from netralitas.evaluation.slices import length_bucket, mentions_contestant, slice_keys
from netralitas.model.loading import load_classifier
from netralitas.model.records import Record
from netralitas.model.text.normalize import CALON, TAGAR, TextNormalizer
from netralitas.model.text.profiles import profile_from_toml

from .sample_data import evaluation_rows, labelled_rows, write_jsonl


@pytest.fixture(scope="module")
def eval_rows() -> list[dict]:
    return evaluation_rows()


@pytest.fixture(scope="module")
def eval_file(tmp_path_factory, eval_rows):
    return write_jsonl(tmp_path_factory.mktemp("eval") / "eval.jsonl", eval_rows)


@pytest.fixture(scope="module")
def evaluation(tfidf_artifact, eval_file):
    return evaluate_model(
        load_classifier(tfidf_artifact), load_records(eval_file), min_slice_size=10
    )


# -- metrics -------------------------------------------------------------------------------------
def test_macro_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    y = rng.choice(["a", "b", "c"], 200)
    p = np.where(rng.random(200) < 0.7, y, rng.choice(["a", "b", "c"], 200))
    assert macro_f1(y, p, ["a", "b", "c"]) == pytest.approx(f1_score(y, p, average="macro"))


def test_bootstrap_intervals_are_seeded_and_contain_the_estimate():
    rng = np.random.default_rng(0)
    y = rng.choice(["neutral", "supportive"], 300)
    p = np.where(rng.random(300) < 0.8, y, rng.choice(["neutral", "supportive"], 300))
    labels = ["neutral", "supportive"]
    assert bootstrap_interval(y, p, labels, seed=1) == bootstrap_interval(y, p, labels, seed=1)
    assert bootstrap_interval(y, p, labels, seed=1) != bootstrap_interval(y, p, labels, seed=2)
    low, high = bootstrap_interval(y, p, labels)
    assert low < macro_f1(y, p, labels) < high
    per_class = bootstrap_per_class(y, p, labels)
    recall = np.mean(p[y == "supportive"] == "supportive")
    low, high = per_class["supportive"]["recall_ci95"]
    assert low < recall < high


def test_wilson_interval_by_hand():
    # 0 of 10: the interval is [0, z^2 / (n + z^2)].
    low, high = wilson_interval(0, 10)
    assert low == 0 and high == pytest.approx(1.96**2 / (10 + 1.96**2))
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_roc_and_pr_on_a_worked_example():
    # Sorted: 0.9 P, 0.8 N, 0.7 P, 0.6 N. Of the 4 (P, N) pairs, 3 are ordered right: AUC 0.75.
    scores = np.array([0.6, 0.9, 0.7, 0.8])
    positive = np.array([False, True, True, False])
    assert roc_curve(scores, positive)["auc"] == pytest.approx(0.75)
    pr = pr_curve(scores, positive)
    assert pr["precision"] == [1.0, 0.5, 0.66667, 0.5]
    assert pr["recall"] == [0.5, 0.5, 1.0, 1.0]
    # Average precision: 0.5 * 1 + 0.5 * 2/3.
    assert pr["average_precision"] == pytest.approx(0.5 + 1 / 3)


def test_calibration_and_brier_by_hand():
    scores = np.array([0.1, 0.1, 0.9, 0.9, 0.9])
    positive = np.array([False, False, True, True, False])
    cal = calibration(scores, positive)
    # Bin of 0.1: observed 0 (gap 0.1, weight 2/5); bin of 0.9: observed 2/3 (gap 0.2333, 3/5).
    assert cal["ece"] == pytest.approx(2 / 5 * 0.1 + 3 / 5 * (0.9 - 2 / 3))
    assert cal["brier"] == pytest.approx((0.01 * 4 + 0.81) / 5)
    assert [b["count"] for b in cal["bins"]] == [2, 3]


def test_threshold_sweep_recall_never_rises_with_the_threshold():
    rng = np.random.default_rng(5)
    positive = rng.random(400) < 0.4
    scores = np.clip(0.3 * positive + rng.random(400) * 0.7, 0, 1)
    rows = threshold_sweep(scores, positive)
    recalls = [r["recall"] for r in rows]
    assert recalls == sorted(recalls, reverse=True)
    assert rows[0]["flagged"] == int(np.sum(scores >= rows[0]["threshold"]))


# -- comparison ----------------------------------------------------------------------------------
def test_mcnemar_exact_and_chi_square_branches():
    y = ["a"] * 8
    a = ["a"] * 7 + ["b"]  # A right on 7
    b = ["b"] * 7 + ["a"]  # B right on 1 other: 7 vs 1 discordant
    result = mcnemar(y, a, b)
    assert (result["a_only"], result["b_only"], result["method"]) == (7, 1, "exact binomial")
    assert result["p_value"] == pytest.approx(2 * (1 + 8) / 2**8)
    y = ["a"] * 40
    a = ["a"] * 30 + ["b"] * 10
    b = ["b"] * 30 + ["a"] * 10
    result = mcnemar(y, a, b)
    assert result["statistic"] == pytest.approx((20 - 1) ** 2 / 40)
    assert result["p_value"] == pytest.approx(math.erfc(math.sqrt(result["statistic"] / 2)))


def test_paired_bootstrap_of_identical_models_is_exactly_zero():
    y = ["a", "b"] * 50
    p = ["a"] * 100
    result = paired_bootstrap(y, p, p, ["a", "b"])
    assert result["difference"] == 0 and result["difference_ci95"] == [0.0, 0.0]
    better = paired_bootstrap(y, y, p, ["a", "b"])
    assert better["difference"] > 0 and better["difference_ci95"][0] > 0


# -- slices and perturbations --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("words", "bucket"), [(1, "short"), (9, "short"), (10, "medium"), (30, "long")]
)
def test_length_buckets(words, bucket):
    assert length_bucket(" ".join(["kata"] * words)).startswith(bucket)


def test_slice_keys_skip_empty_fields_and_use_profiles(profile):
    records = [
        Record(text="Coblos Pak Hendro", tag="support"),
        Record(text="Apel pagi", context="x"),
    ]
    keys = slice_keys(records, [profile])
    assert "platform" not in keys and keys["tag"] == ["support", "(none)"]
    assert keys["context"] == ["without context", "with context"]
    assert keys["contestant"] == ["mentions a contestant", "no contestant"]
    assert mentions_contestant(["#HendroJuara", "nomor telepon 0812"], [profile]) == [True, False]


def test_contestant_swap_uses_the_other_contestant(profile):
    swap = ContestantSwapper([profile])
    out = swap("Coblos Pak Hendro! #HendroJuara", None)
    assert "Hendro" not in out and "#SukmaLestari" in out
    assert swap("Apel pagi diundur", None) == "Apel pagi diundur"
    # The normaliser's capitals rule decides which short aliases are mentions.
    assert swap("SL menang", None) != "SL menang"
    assert swap("sl itu singkatan apa", None) == "sl itu singkatan apa"


# A second election whose aliases test the case rules: "Amin" is also the prayer word (a mention
# only in capitals), "Uda" a short nickname (a mention in any case).
_CASE_PROFILE = """
id = "pilkades-uji-2031"
title = "Pemilihan Kepala Desa Uji 2031"
election_type = "pilbup"
region = "Desa Uji"
year = 2031
fictional = true

[[contestants]]
number = 1
names = ["Aminuddin Lubis"]
aliases = ["Amin", "Uda"]

[[contestants]]
number = 2
names = ["Bonar Siregar"]
aliases = ["Bang Bonar", "Ucok"]
"""


@pytest.fixture(scope="module")
def case_profile():
    return profile_from_toml(_CASE_PROFILE)


def test_contestant_swap_follows_the_normaliser_case_rules(case_profile):
    swap = ContestantSwapper([case_profile])
    assert swap("amin, semoga lancar") == "amin, semoga lancar"
    assert swap("AMIN menang") == "BANG BONAR menang"
    assert swap("Coblos Bang Bonar, amin") == "Coblos Amin, amin"
    assert swap("uda pasti menang") == "ucok pasti menang"


# Texts where the rules used to part: short aliases in either case, numbers, parties, a bare name.
_TRICKY = [
    "amin, semoga lancar",
    "AMIN menang",
    "Coblos Bang Bonar, amin",
    "uda pasti menang",
    "UDA pasti menang",
    "SL menang telak",
    "sl itu singkatan apa",
    "Sl juga bisa",
    "PAN menang",
    "pan goreng",
    "#ujimakmur",
    "Asal bukan Hendro deh",
    "nomor telepon 0812",
    "Relawan kang sukma siap",
]


def test_slices_and_contestant_swap_agree_with_the_normaliser(profile, case_profile):
    profiles = [profile, case_profile]
    rows = labelled_rows()
    texts = [r["text"] for r in rows] + [r["context"] for r in rows if r.get("context")] + _TRICKY
    norm = TextNormalizer(profiles, mask=False)
    masked = TextNormalizer(profiles)
    mentions = [norm.mentions_contestant(t) for t in texts]
    assert 0 < sum(mentions) < len(texts)
    # The "contestant" slice is the normaliser's rule.
    assert mentions_contestant(texts, profiles) == mentions
    keys = slice_keys([Record(text=t) for t in texts], profiles)["contestant"]
    assert [k == "mentions a contestant" for k in keys] == mentions
    # The swap changes exactly the texts that mention a contestant by a name, alias or hashtag
    # (a ballot number, party or slogan is a mention it has no form to rewrite).
    swap = ContestantSwapper(profiles)
    changed = [swap(t) != t for t in texts]
    assert all(m for m, c in zip(mentions, changed, strict=True) if c)
    named = [CALON in masked(t) or TAGAR in masked(t) for t in texts]
    assert changed == named
    assert any(m and not c for m, c in zip(mentions, changed, strict=True))


class _NameModel:
    """A model that learned a name: it takes a side exactly when the text says "hendro"."""

    labels = ("neutral", "supportive")
    # Only what `robustness` reads of the metadata: labels, neutral label and thresholds.
    metadata_ = SimpleNamespace(
        labels=labels, neutral_label="neutral", thresholds=SimpleNamespace(flag=0.5, review=0.3)
    )

    def predict_proba(self, texts, contexts=None):
        side = np.array([0.9 if "hendro" in t.lower() else 0.1 for t in texts])
        return np.column_stack([1 - side, side])


def test_contestant_swap_counts_only_posts_that_mention_a_contestant(profile, case_profile):
    model = _NameModel()
    records = [
        Record(id="name", text="Coblos Pak Hendro!"),
        Record(id="ctx", text="Siap, gas terus!", context="Relawan Kang Sukma kumpul besok"),
        Record(id="number", text="Coblos nomor 2 pokoknya"),  # a mention with nothing to swap
        Record(id="lower", text="sl itu singkatan apa"),  # not a mention
        Record(id="prayer", text="amin, semoga lancar"),  # not a mention either
        Record(id="none", text="Apel pagi diundur"),
    ]
    proba = model.predict_proba([r.text for r in records])
    swap = Perturbation("swap_contestants", "", ContestantSwapper([profile, case_profile]))
    stats = robustness(model, records, proba, [swap])["swap_contestants"]
    assert stats["n_changed"] == 2
    assert {e["id"] for e in stats["examples"]} == {"name", "ctx"}
    norm = TextNormalizer([profile, case_profile])
    for example in stats["examples"]:
        record = next(r for r in records if r.id == example["id"])
        assert any(norm.mentions_contestant(t) for t in (record.text, record.context) if t)
    # The name-reading model flips on "Pak Hendro" -> "Kang Sukma" only.
    assert stats["flips"] == 1


def test_hashtag_removal_and_slang_round_trip():
    assert remove_hashtags("Menang! #HendroJuara #2030 ayo") == "Menang! ayo"
    formal = expand_slang("gw gk mau bgt, #gkmau https://t.co/gk")
    assert formal.startswith("saya tidak mau banget") and "#gkmau" in formal
    assert "https://t.co/gk" in formal
    raw = contract_slang(seed=0)(formal)
    assert raw != formal and expand_slang(raw) == formal


# -- the whole evaluation ------------------------------------------------------------------------
def test_evaluation_result_is_complete_and_json_ready(evaluation, eval_rows):
    r = evaluation.result
    for key in ("macro_f1", "macro_f1_ci95", "per_class", "confusion_matrix", "pr_auc", "roc_auc"):
        assert key in r
    assert {"pr", "roc", "calibration", "threshold_sweep"} <= set(r["curves"])
    assert {
        "tag",
        "platform",
        "source",
        "election",
        "action",
        "length",
        "context",
        "contestant",
    } <= set(r["slices"])
    assert sum(m["n"] for m in r["slices"]["platform"].values()) == len(eval_rows)
    assert all(m["too_small"] == (m["n"] < 10) for m in r["slices"]["platform"].values())
    assert "precision_ci95" in r["per_class"]["supportive"]
    json.dumps(r, allow_nan=True)


def test_masked_model_ignores_contestant_swaps(evaluation):
    swap = evaluation.result["robustness"]["swap_contestants"]
    assert swap["n_changed"] > 5
    # With masking, every swapped name becomes the same role token: the scores cannot move.
    assert swap["flips"] == 0 and swap["mean_abs_score_shift"] == pytest.approx(0, abs=1e-12)
    assert evaluation.result["robustness"]["remove_hashtags"]["n_changed"] >= 3


def test_worst_errors_and_explanations(tfidf_artifact, evaluation):
    model = load_classifier(tfidf_artifact)
    for kind in ("false_positive", "false_negative"):
        rows = worst_errors(evaluation, kind, k=3, model=model)
        assert all(r["label"] != r["predicted"] for r in rows)
    words = explain(model, "Coblos no 2 pokoknya, Pak Hendro paling peduli!", top=3)
    assert len(words) == 3 and all(
        w in "Coblos no 2 pokoknya, Pak Hendro paling peduli!" for w, _ in words
    )
    rates = error_rates(evaluation, "tag")
    assert sum(r["n"] for r in rates) == evaluation.result["n"]
    with pytest.raises(ValueError, match="no slice dimension"):
        error_rates(evaluation, "colour")


def test_compare_needs_the_same_posts(tfidf_artifact, evaluation, eval_file):
    model = load_classifier(tfidf_artifact)
    other = evaluate_model(model, load_records(eval_file)[:5], with_robustness=False)
    with pytest.raises(DataError, match="different posts"):
        compare_evaluations(evaluation, other)
    rows = cross_evaluate([("same", tfidf_artifact, eval_file)])
    assert rows[0]["macro_f1"] == pytest.approx(evaluation.result["macro_f1"])


def test_report_is_self_contained(evaluation):
    page = render_report(evaluation.result)
    assert page.count("data:image/png;base64,") >= 6
    assert not re.search(r"<(script|link)\b", page)
    assert not re.search(r"""(src|href)=["']https?:""", page)
    assert "too small" in page


def test_evaluate_command_writes_json_and_report(tfidf_artifact, eval_file, tmp_path, capsys):
    code = main(
        [
            "evaluate",
            str(tfidf_artifact),
            str(eval_file),
            "--report-dir",
            str(tmp_path),
            "--compare",
            str(tfidf_artifact),
        ]
    )
    assert code == 0
    result = json.loads((tmp_path / "eval.json").read_text())
    # The keys written before this command grew remain.
    for key in (
        "n",
        "macro_f1",
        "macro_f1_ci95",
        "per_class",
        "at_threshold",
        "per_tag",
        "model",
        "data",
    ):
        assert key in result
    boot = result["comparison"]["paired_bootstrap"]
    assert boot["difference"] == 0 and result["comparison"]["mcnemar"]["p_value"] == 1.0
    assert (tmp_path / "report.html").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "macro-F1" in out and "robustness" in out and "compared with" in out


def test_evaluate_rejects_labels_the_model_does_not_know(tfidf_artifact, tmp_path, capsys):
    data = write_jsonl(tmp_path / "bad.jsonl", [{"text": "halo", "label": "support"}])
    assert main(["evaluate", str(tfidf_artifact), str(data), "--report-dir", str(tmp_path)]) == 2
    assert "does not know" in capsys.readouterr().err


def test_eval_json_has_no_nan(evaluation):
    result = json_safe(dict(evaluation.result, roc_auc=float("nan")))
    assert result["roc_auc"] is None
    json.dumps(result, allow_nan=False)
