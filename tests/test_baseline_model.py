"""The TF-IDF baseline, trained exactly as `make demo` trains it (training/configs/baseline.toml), on
the bundled data. (The default model, a fine-tuned multilingual-e5-small, takes about 8 minutes on 2
cores: too long for the suite; tests/test_config.py checks that `make demo` trains its config.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from netralitas.model.loading import load_classifier
from netralitas.model.records import Record
from netralitas.model.scorer import Scorer

REPO = Path(__file__).resolve().parents[1]
SEED_SENTENCE = (
    "Pengalaman kita di Pilkada terkahir, banyak pelanggaran yang dilakukan ASN di sosial media "
    "Facebook yakni dengan menyukai (like), beri komentar, membagikan informasi dan menunjukkan "
    "dukungan kepada salah satu calon"
)


@pytest.fixture(scope="module")
def baseline_model(tmp_path_factory, monkeypatch_module):
    from netralitas.training.config import load_config
    from netralitas.training.train import train

    monkeypatch_module.chdir(REPO)  # the config's relative paths are read from the repository root
    out = tmp_path_factory.mktemp("baseline") / "model"
    return load_classifier(
        train(load_config("training/configs/baseline.toml"), out, log=lambda _: None)
    )


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.mark.slow
def test_seed_sentence_is_neutral(baseline_model):
    """A news-style report about ASN violations takes no side (GUIDELINE: neutral)."""
    (post,) = Scorer(baseline_model).score([Record(text=SEED_SENTENCE)])
    assert (post.label, post.decision) == ("neutral", "clear")


@pytest.mark.slow
def test_clear_cases_and_a_context_flip(baseline_model):
    texts = [
        "Gas pol 02!! Lanjutkan pak, 2 periode 💪🔥",
        "Info: TPS 05 RW 03 buka jam 07.00 s/d 13.00 WIB. Jangan lupa bawa KTP ya warga 🙏",
        "Siap, Pak! Gas terus",
        "Siap, Pak! Gas terus",
    ]
    contexts = [
        None,
        None,
        "Relawan paslon 3 kumpul di lapangan besok pagi, kita menangkan Pak Bambang!",
        "Besok pagi kerja bakti bersihkan saluran air di RT 04, bawa cangkul masing-masing ya.",
    ]
    posts = [Record(text=t, context=c) for t, c in zip(texts, contexts, strict=True)]
    labels = [post.label for post in Scorer(baseline_model).score(posts)]
    assert labels == ["supportive", "neutral", "supportive", "neutral"]


@pytest.mark.slow
def test_baseline_metrics_on_the_bundled_test_split(baseline_model):
    test = baseline_model.metadata_.summary.test
    assert test is not None and test.n > 300
    assert test.macro_f1 > 0.85  # authored data; real posts score lower (see data/README.md)
    assert baseline_model.metadata_.thresholds.precision_target_met
