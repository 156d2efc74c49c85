"""The evasion suite: perturbations that are seeded and look like what evaders type, written apart
from the normaliser, and a suite that catches a normaliser which does not read through them."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from netralitas.evaluation.evaluate import evaluate_model
from netralitas.evaluation.evasion import evasion_sections, evasion_suite, evasion_table, evasions
from netralitas.evaluation.metrics import wilson_interval
from netralitas.evaluation.report import render_report
from netralitas.model.loading import load_classifier
from netralitas.model.records import Record
from netralitas.model.scorer import Scorer

from .sample_data import NEUTRAL, SUPPORTIVE, labelled_rows

EVASIONS = {e.name: e for e in evasions()}
WORD_LEVEL = ["zero_width", "homoglyph", "spaced", "dotted", "leet", "stretched", "leet_heavy"]
TEXTS = [*SUPPORTIVE, *NEUTRAL, "Cek https://t.co/Ab3x dan @budi_s #HendroJuara pic.twitter.com/x"]


def _rewrite(name: str, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [EVASIONS[name].rewrite(t, rng) for t in TEXTS]


@pytest.mark.parametrize("name", list(EVASIONS))
def test_perturbations_are_seeded(name):
    assert _rewrite(name, seed=1) == _rewrite(name, seed=1)
    if name not in ("fullwidth", "number_emoji"):  # these two have (almost) nothing to draw
        assert _rewrite(name, seed=1) != _rewrite(name, seed=2)


@pytest.mark.parametrize("name", WORD_LEVEL)
def test_word_perturbations_leave_links_mentions_and_hashtags_alone(name):
    rewritten = _rewrite(name)[-1]
    for kept in ("https://t.co/Ab3x", "@budi_s", "#HendroJuara", "pic.twitter.com/x"):
        assert kept in rewritten


def _changed_words(before: str, after: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in zip(before.split(), after.split(), strict=True) if a != b]


def test_perturbations_look_like_what_people_type():
    originals = TEXTS[:-1]
    by_name = {name: _rewrite(name)[:-1] for name in EVASIONS}
    for before, after in zip(originals, by_name["zero_width"], strict=True):
        assert re.sub("[\u200b\u200c\u200d\u2060\ufeff\u00ad]", "", after) == before
    for before, after in zip(originals, by_name["homoglyph"], strict=True):
        swapped = [b for a, b in zip(before, after, strict=True) if a != b]
        assert all(unicodedata.name(c).split()[0] in ("CYRILLIC", "GREEK") for c in swapped)
    for before, after in zip(originals, by_name["fullwidth"], strict=True):
        assert not any(c.isascii() for c in after)  # emoji stay, every ASCII character is wide
        assert unicodedata.normalize("NFKC", after) == unicodedata.normalize("NFKC", before)
    for before, after in zip(originals, by_name["math_letters"], strict=True):
        assert not any(c.isascii() and c.isalpha() for c in after)  # every letter is styled
        assert unicodedata.normalize("NFKC", after) == unicodedata.normalize("NFKC", before)
    for name, mark in (("spaced", " "), ("dotted", ".")):
        for before, after in zip(originals, by_name[name], strict=True):
            assert after != before
            # One or two words with the mark between every letter; removing it gives them back.
            words = re.findall(rf"[A-Za-z](?:{re.escape(mark)}[A-Za-z]){{3,}}", after)
            assert 1 <= len(words) <= 2
            assert after.replace(mark, "") == before.replace(mark, "")
            assert after.count(mark) - before.count(mark) >= 3
    for before, after in zip(originals, by_name["leet"], strict=True):
        for a, b in _changed_words(before, after):
            assert len(a) == len(b) and a[0] == b[0] and a[-1] == b[-1]
            assert all(x == y or (x.lower(), y) in {("a", "4"), ("e", "3"), ("i", "1"), ("o", "0")}
                       for x, y in zip(a, b, strict=True))  # fmt: skip
    for before, after in zip(originals, by_name["stretched"], strict=True):
        changed = _changed_words(before, after)
        assert 1 <= len(changed) <= 3
        assert all(re.sub(r"(.)\1{2,}", r"\1", b) == re.sub(r"(.)\1+", r"\1", a) or
                   re.sub(r"(.)\1{2,}", r"\1\1", b) == a for a, b in changed)  # fmt: skip
    for before, after in zip(originals, by_name["number_emoji"], strict=True):
        has_number = re.search(r"(?i)\b(no|nomor|paslon|coblos|pilih|salam)\s*0?[1-9]\b", before)
        assert (after != before) == bool(has_number)
        if has_number:
            assert "\u20e3" in after or any(s in after for s in "☝✌🤟")
    assert {n for n, e in EVASIONS.items() if not e.readable} == {"leet_heavy"}


@pytest.fixture(scope="module")
def scorer(tfidf_artifact):
    return Scorer(load_classifier(tfidf_artifact))


@pytest.fixture(scope="module")
def records():
    return [Record.model_validate(row) for row in labelled_rows()]


def test_suite_catches_a_normaliser_that_does_not_read_through_obfuscation(
    scorer, records, monkeypatch
):
    suite = evasion_suite(scorer, records, seed=0)
    assert suite["n_flagged"] >= 10
    readable = {n: m for n, m in suite["perturbations"].items() if m["readable"]}
    assert all(m["n_changed"] > 0 for m in readable.values())
    assert {n: m["flips"] for n, m in readable.items()} == dict.fromkeys(readable, 0)
    # The same model reading through a normaliser without the de-obfuscation step.
    import netralitas.model.text.normalize as normalize

    monkeypatch.setattr(normalize, "deobfuscate", lambda text: (text, ()))
    blind = evasion_suite(scorer, records, seed=0)["perturbations"]
    missed = {n for n in readable if blind[n]["flips"] > 0}
    assert {"homoglyph", "fullwidth", "math_letters"} <= missed
    for name in missed:
        m = blind[name]
        assert m["flip_rate"] == m["flips"] / m["n_changed"]
        assert m["flip_rate_ci95"] == wilson_interval(m["flips"], m["n_changed"])
        assert m["mean_score_shift"] < 0
        assert m["examples"] and all(e["decision_after"] != "flag" for e in m["examples"])
        assert all(e["perturbed"] != e["text"] for e in m["examples"])


def test_suite_is_in_the_evaluation_and_its_report(tfidf_artifact, records):
    evaluation = evaluate_model(load_classifier(tfidf_artifact), records, min_slice_size=5)
    suite = evaluation.result["evasion"]
    assert list(suite["perturbations"]) == list(EVASIONS)
    assert suite["n_flagged"] == evaluation.decided.count("supportive")
    table = evasion_table(evaluation.result)
    assert list(table["perturbation"]) == list(EVASIONS)
    assert list(table.columns[:3]) == ["perturbation", "what", "readable"]
    html = render_report(evaluation.result)
    assert "<h2>Evasion</h2>" in html and "leet_heavy" in html
    assert evasion_sections({"n": 0}) == []
