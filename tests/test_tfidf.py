"""The TF-IDF backend and its artifact format: equality with the fitted scikit-learn pipeline
(and with scikit-learn's built-in analyzers), round trip, context, safety (no pickle), clear
failures, scoring without scikit-learn."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from netralitas.model.artifact import (
    FORMAT_VERSION,
    ArtifactError,
    ArtifactMetadata,
    Thresholds,
    atomic_directory,
)
from netralitas.model.backends.tfidf import TfidfClassifier
from netralitas.model.backends.tfidf_features import CharWbNgrams, WordNgrams
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


def test_artifact_files(tfidf_artifact):
    from safetensors.numpy import load_file

    names = sorted(p.name for p in tfidf_artifact.iterdir())
    assert names == ["netralitas.json", "profiles", "tfidf.safetensors", "vocabulary.json"]
    vocabulary = json.loads((tfidf_artifact / "vocabulary.json").read_text(encoding="ascii"))
    tensors = load_file(tfidf_artifact / "tfidf.safetensors")
    blocks = vocabulary["blocks"]
    assert vocabulary["labels"] == ["neutral", "supportive"]
    assert [b["name"] for b in blocks] == ["word", "char", "context"]
    assert sorted(tensors) == ["coef", "idf.char", "idf.context", "idf.word", "intercept"]
    assert all(a.dtype == np.float64 for a in tensors.values())
    assert tensors["coef"].shape == (1, sum(len(b["terms"]) for b in blocks))
    for b in blocks:
        assert tensors[f"idf.{b['name']}"].shape == (len(b["terms"]),)
    assert "[calon]" in blocks[0]["terms"]  # contestants are masked before the vocabulary


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


def test_missing_and_future_artifacts(tfidf_artifact, tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        load_classifier(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match=r"no netralitas\.json"):
        load_classifier(tmp_path / "empty")

    future = shutil.copytree(tfidf_artifact, tmp_path / "future")
    meta = json.loads((future / "netralitas.json").read_text())
    meta["format_version"] = 99
    (future / "netralitas.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="newer than this netralitas"):
        load_classifier(future)

    for name in ("tfidf.safetensors", "vocabulary.json"):
        missing = shutil.copytree(tfidf_artifact, tmp_path / f"missing-{name}")
        (missing / name).unlink()
        with pytest.raises(
            ArtifactError, match=rf"incomplete: {re.escape(name)} is missing.*retrain"
        ):
            load_classifier(missing)


def test_old_skops_artifact_is_refused_with_a_clear_message(tfidf_artifact, tmp_path):
    old = shutil.copytree(tfidf_artifact, tmp_path / "old")
    (old / "tfidf.safetensors").unlink()
    (old / "vocabulary.json").unlink()
    (old / "model.skops").write_bytes(b"PK\x05\x06" + bytes(18))  # an (empty) zip, as skops wrote
    with pytest.raises(
        ArtifactError,
        match=r"written by an older netralitas \(skops format\); retrain with `netralitas train`",
    ):
        load_classifier(old)


def test_corrupt_files_are_refused(tfidf_artifact, tmp_path):
    def damaged(name: str, content: bytes):
        target = shutil.copytree(
            tfidf_artifact, tmp_path / f"damaged-{len(list(tmp_path.iterdir()))}"
        )
        (target / name).write_bytes(content)
        return target

    with pytest.raises(
        ArtifactError, match=r"tfidf\.safetensors is corrupt or unreadable.*retrain"
    ):
        load_classifier(damaged("tfidf.safetensors", b"not safetensors"))
    with pytest.raises(ArtifactError, match=r"vocabulary\.json is corrupt.*retrain"):
        load_classifier(damaged("vocabulary.json", b'{"labels": ["neutral", "supp'))
    with pytest.raises(ArtifactError, match=r"vocabulary\.json is corrupt"):
        load_classifier(damaged("vocabulary.json", b"\xff\xfe not utf-8"))
    for wrong in (
        [],
        {"labels": "neutral", "blocks": []},
        {"labels": ["neutral", "supportive"], "blocks": [{"name": "word", "terms": [1, 2]}]},
        {"labels": ["neutral", "supportive"]},
    ):
        with pytest.raises(ArtifactError, match="is not a TF-IDF vocabulary"):
            load_classifier(damaged("vocabulary.json", json.dumps(wrong).encode()))


def _edit_vocabulary(artifact, tmp_path, name, edit):
    target = shutil.copytree(artifact, tmp_path / name)
    vocabulary = json.loads((target / "vocabulary.json").read_text())
    edit(vocabulary)
    (target / "vocabulary.json").write_text(json.dumps(vocabulary))
    return target


def _edit_tensors(artifact, tmp_path, name, edit):
    from safetensors.numpy import load_file, save_file

    target = shutil.copytree(artifact, tmp_path / name)
    tensors = {k: np.array(v) for k, v in load_file(target / "tfidf.safetensors").items()}
    edit(tensors)
    save_file(tensors, target / "tfidf.safetensors")
    return target


def test_parts_that_do_not_agree_are_refused(tfidf_artifact, tmp_path):
    def drop_term(v):
        v["blocks"][0]["terms"].pop()

    def duplicate_term(v):
        terms = v["blocks"][1]["terms"]
        terms[-1] = terms[0]

    def drop_context(v):
        v["blocks"].pop()

    def reorder_blocks(v):
        v["blocks"].reverse()

    def nan(t):
        t["coef"][0, 0] = np.nan

    cases = {
        "vocabulary-short": (_edit_vocabulary, drop_term, r"do not agree .*retrain"),
        "vocabulary-duplicate": (_edit_vocabulary, duplicate_term, r"Duplicate term"),
        "vocabulary-no-context": (_edit_vocabulary, drop_context, r"holds tensors .*needs"),
        "vocabulary-order": (_edit_vocabulary, reorder_blocks, r"blocks \['context'"),
        "labels": (
            _edit_vocabulary,
            lambda v: v.update(labels=["neutral", "opposing"]),
            r"differ from metadata",
        ),
        "idf-short": (
            _edit_tensors,
            lambda t: t.update({"idf.word": t["idf.word"][:-1].copy()}),
            r"block 'word': \d+ terms but idf",
        ),
        "coef-columns": (
            _edit_tensors,
            lambda t: t.update(coef=t["coef"][:, :-1].copy()),
            r"coef \(1, \d+\) and intercept \(1,\) do not match",
        ),
        "coef-rows": (
            _edit_tensors,
            lambda t: t.update(coef=np.vstack([t["coef"], t["coef"]])),
            r"do not match 2 labels",
        ),
        "intercept-missing": (_edit_tensors, lambda t: t.pop("intercept"), r"holds tensors"),
        "not-finite": (_edit_tensors, nan, r"coef has values that are not finite"),
        "not-float64": (
            _edit_tensors,
            lambda t: t.update(intercept=t["intercept"].astype(np.float32)),
            r"'intercept' is float32, not float64",
        ),
    }
    for name, (edit_file, edit, message) in cases.items():
        with pytest.raises(ArtifactError, match=message):
            load_classifier(edit_file(tfidf_artifact, tmp_path, name, edit))


def test_settings_that_do_not_fit_are_refused(tfidf_artifact, tmp_path):
    target = shutil.copytree(tfidf_artifact, tmp_path / "settings")
    meta = json.loads((target / "netralitas.json").read_text())
    meta["extra"]["settings"]["ngram_magic"] = 3
    (target / "netralitas.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="settings this netralitas does not know"):
        load_classifier(target)

    meta["extra"]["settings"] = {**meta["extra"]["settings"], "use_context": False}
    del meta["extra"]["settings"]["ngram_magic"]
    (target / "netralitas.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="context block, but the settings say use_context"):
        load_classifier(target)

    meta["extra"]["settings"] = {**meta["extra"]["settings"], "char_ngram_range": [5, 2]}
    meta["extra"]["settings"]["use_context"] = True
    (target / "netralitas.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"do not agree \(ngram_range \[5, 2\] is not"):
        load_classifier(target)


def test_loading_unpickles_nothing(tfidf_artifact):
    """Unpickling any object resolves a global through `pickle.find_class`, which raises an
    audit event; the hook is shown to see a real unpickling before the artifact is loaded."""
    code = f"""
import pickle, sys
events = []
sys.addaudithook(lambda event, args: events.append(args) if event == "pickle.find_class" else None)
pickle.loads(pickle.dumps(ValueError("control")))
assert events, "the audit hook did not see an unpickling"
events.clear()
from netralitas.model.loading import load_classifier
model = load_classifier({str(tfidf_artifact)!r})
model.predict_proba(["Coblos nomor 2!"], ["Relawan kumpul besok"])
print(events)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _fit(labels: int, use_context: bool, with_contexts: bool = True) -> tuple:
    rows = labelled_rows()
    texts = [r["text"] for r in rows]
    contexts = [r.get("context") for r in rows] if with_contexts else None
    y = [r["label"] for r in rows]
    if labels == 3:  # a third label on every third row: enough for a softmax over three classes
        y = ["opposing" if i % 3 == 0 else label for i, label in enumerate(y)]
    model = TfidfClassifier(use_context=use_context).fit(texts, y, contexts)
    return model, texts, contexts, y


def _metadata(model: TfidfClassifier, neutral: str = "neutral") -> ArtifactMetadata:
    return ArtifactMetadata(
        format_version=FORMAT_VERSION,
        kind="tfidf",
        name="uji",
        version="1",
        labels=model.labels,
        neutral_label=neutral,
        thresholds=Thresholds(
            flag=0.5, review=0.3, precision_target=0.9, precision_target_met=True
        ),
        package_version="0",
        created_at=dt.datetime.now(dt.UTC),
        extra={"settings": model.get_settings()},
    )


@pytest.mark.parametrize(
    ("labels", "use_context", "with_contexts", "blocks"),
    [
        (2, True, True, ["word", "char", "context"]),
        (2, False, True, ["word", "char"]),
        (2, True, False, ["word", "char"]),  # no context in the training data: no context block
        (3, True, True, ["word", "char", "context"]),
        (3, False, True, ["word", "char"]),
    ],
)
def test_scores_equal_the_fitted_pipeline_and_survive_a_round_trip(
    labels, use_context, with_contexts, blocks, tmp_path
):
    model, texts, contexts, y = _fit(labels, use_context, with_contexts)
    assert [name for name, _ in model.blocks_] == blocks
    assert model.labels == tuple(sorted(set(y))) and len(model.labels) == labels
    assert not hasattr(model, "pipeline_")  # the scikit-learn pipeline is not kept

    # The same scikit-learn pipeline, fitted the same (deterministic) way, is the reference.
    pipeline = model._build(with_context="context" in blocks).fit(model._matrix(texts, contexts), y)
    assert tuple(pipeline.classes_) == model.labels
    new_texts = [*TEXTS, "Kata-kata yang belum pernah terlihat: zyxwv qwert 🐉", ""]
    new_contexts = [*CONTEXTS, "Pak Hendro: coblos nomor 2!", None]
    for t, c in ((texts, contexts), (new_texts, new_contexts)):
        expected = pipeline.predict_proba(model._matrix(t, c))
        proba = model.predict_proba(t, c)
        assert proba.shape == (len(t), labels)
        np.testing.assert_allclose(proba, expected, rtol=0, atol=1e-12)

    model.metadata_ = _metadata(model)
    loaded = load_classifier(model.save_pretrained(tmp_path / "model"))
    assert loaded.labels == model.labels
    assert [name for name, _ in loaded.blocks_] == blocks
    np.testing.assert_array_equal(
        loaded.predict_proba(new_texts, new_contexts), model.predict_proba(new_texts, new_contexts)
    )
    vocabulary = json.loads((tmp_path / "model" / "vocabulary.json").read_text())
    assert [b["name"] for b in vocabulary["blocks"]] == blocks


def test_any_character_survives_the_vocabulary_file(tmp_path):
    texts = ["dukung 漢字 paslon naïve", "apel pagi été ok", "lone \ud800 surrogate", "biasa saja"]
    model = TfidfClassifier(stem=False, use_context=False).fit(texts, ["a", "b", "a", "b"])
    model.metadata_ = _metadata(model, neutral="a")
    loaded = load_classifier(model.save_pretrained(tmp_path / "model"))
    for (_, before), (_, after) in zip(model.blocks_, loaded.blocks_, strict=True):
        assert after.terms == before.terms and after.vocabulary == before.vocabulary
    assert any("\ud800" in term for _, b in loaded.blocks_ for term in b.terms)
    chars = dict(loaded.blocks_)["char"].vocabulary
    assert {"漢字", "ïve", "été"} <= chars.keys()  # the word block keeps only [a-z0-9] tokens
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))


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
    assert not hasattr(model, "coef_")
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict_proba(["a"])
    assert model.fit([r["text"] for r in rows], [r["label"] for r in rows]) is model
    assert model.labels == ("neutral", "supportive")
    with pytest.raises(ValueError, match="at least two labels"):
        TfidfClassifier().fit(["a", "b"], ["x", "x"])


def test_importing_the_tfidf_path_does_not_import_torch():
    code = (
        "import sys; import netralitas.model, netralitas.model.backends.tfidf, "
        "netralitas.model.loading, netralitas.training.train; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_loading_and_scoring_a_tfidf_artifact_does_not_import_torch(tfidf_artifact):
    code = (
        "import sys; from netralitas.model.loading import load_classifier; "
        f"m = load_classifier({str(tfidf_artifact)!r}); m.predict_proba(['Coblos nomor 2!']); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# Awkward text for the analyzers: emoji, runs of spaces, tabs, newlines, other Unicode spaces, one-
# and two-letter words, words exactly as long as an n-gram once padded, non-ASCII, empty strings.
AWKWARD = [
    "",
    " ",
    "\t\n \r\n",
    "a",
    "a b c di ke 2 ok",
    "coblos   nomor\t\t2\n\npak  hendro juara!!",
    "  leading and trailing  ",
    "abc abcd abcde abcdef",
    "jempol 👍🏽 😄😄 🇮🇩 merdeka",
    "naïve été 漢字 ça\u00a0va\u3000oke\u2003ya",
    "[calon] [nomor] pilih [calon]! no urut [nomor], #tagar-ku anti-korupsi",
    "memenangkan pemilihan tidak jangan harus akan lagi pasti",
    "x\x0by\x0cz\x1cw\x1dv\x1eu\x1ft\x85s\u2028r",
    "lone \ud800 surrogate",
]


def test_analyzers_by_hand():
    """What the comparisons with scikit-learn below rest on, written out."""
    char = CharWbNgrams((2, 5))
    assert char("ab \t c") == [" a", "ab", "b ", " ab", "ab ", " ab ", " c", "c ", " c "]
    assert char("") == [] and char("ab \t c") == char("ab c")
    word = WordNgrams((1, 2), stem=False)
    assert word("relawan coblos nomor [nomor]!") == [
        "relawan",
        "coblos",
        "nomor",
        "[nomor]",
        "relawan coblos",
        "coblos nomor",
        "nomor [nomor]",
    ]
    assert WordNgrams((1, 2), stem=True)("memenangkan pemilihan") == [
        "menang",
        "pilih",
        "menang pilih",
    ]


@pytest.mark.parametrize("ngram_range", [(2, 5), (1, 1), (1, 3), (3, 3), (4, 6)])
def test_char_analyzer_equals_scikit_learns_char_wb(ngram_range):
    from sklearn.feature_extraction.text import TfidfVectorizer

    builtin = TfidfVectorizer(
        analyzer="char_wb", ngram_range=ngram_range, lowercase=False
    ).build_analyzer()
    ours = CharWbNgrams(ngram_range)
    for text in AWKWARD * 2:  # the second round reads the n-grams kept per word
        assert ours(text) == builtin(text), text


@pytest.mark.parametrize("stem", [True, False])
@pytest.mark.parametrize("ngram_range", [(1, 2), (1, 1), (2, 3), (1, 3), (3, 3)])
def test_word_analyzer_equals_scikit_learns_word_ngrams(ngram_range, stem):
    from sklearn.feature_extraction.text import TfidfVectorizer

    builtin = TfidfVectorizer(
        tokenizer=StemTokenizer(stem=stem),
        token_pattern=None,
        lowercase=False,
        ngram_range=ngram_range,
    ).build_analyzer()
    ours = WordNgrams(ngram_range, stem=stem)
    for text in AWKWARD:
        assert ours(text) == builtin(text), text


def _builtin_vectorizer(block: str, model: TfidfClassifier):
    """A block's vectorizer configured as before the analyzers were our own callables:
    scikit-learn's char_wb analyzer, and its word analyzer around `StemTokenizer`."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if block == "char":
        return TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=model.char_ngram_range,
            lowercase=False,
            min_df=model.min_df,
            max_features=model.max_char_features,
            sublinear_tf=True,
        )
    return TfidfVectorizer(
        tokenizer=StemTokenizer(stem=model.stem),
        token_pattern=None,
        lowercase=False,
        ngram_range=model.word_ngram_range if block == "word" else (1, 2),
        min_df=model.min_df,
        sublinear_tf=True,
    )


@pytest.mark.parametrize(("min_df", "max_char_features"), [(1, 300_000), (2, 400)])
def test_fit_gives_the_vocabulary_idf_and_scores_of_the_builtin_analyzers(
    min_df, max_char_features
):
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    rows = labelled_rows()
    texts = [r["text"] for r in rows]
    contexts = [r.get("context") for r in rows]
    y = [r["label"] for r in rows]
    model = TfidfClassifier(min_df=min_df, max_char_features=max_char_features)
    model.fit(texts, y, contexts)
    assert [name for name, _ in model.blocks_] == ["word", "char", "context"]
    x = model._matrix(texts, contexts)
    for name, block in model.blocks_:
        column = x[:, 1 if name == "context" else 0]
        reference = _builtin_vectorizer(name, model).fit(column)
        assert block.terms == reference.get_feature_names_out().tolist(), name
        np.testing.assert_array_equal(block.idf, reference.idf_)
        # The pruning settings did apply to the callable analyzers.
        every_term = len(CountVectorizer(analyzer=block.analyzer).fit(column).vocabulary_)
        if name == "char" and max_char_features < 300_000:
            assert len(block) == max_char_features < every_term
        elif min_df > 1:
            assert len(block) < every_term
        else:
            assert len(block) == every_term

    # The whole model fitted as before (built-in analyzers) scores the same.
    before = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [
                        (
                            "text",
                            FeatureUnion(
                                [(n, _builtin_vectorizer(n, model)) for n in ("word", "char")]
                            ),
                            0,
                        ),
                        ("context", _builtin_vectorizer("context", model), 1),
                    ]
                ),
            ),
            (
                "clf",
                LogisticRegression(C=model.C, class_weight="balanced", max_iter=model.max_iter),
            ),
        ]
    ).fit(x, y)
    new_texts = [*TEXTS, *AWKWARD]
    new_contexts = [*CONTEXTS, *reversed(AWKWARD)]
    np.testing.assert_allclose(
        model.predict_proba(new_texts, new_contexts),
        before.predict_proba(model._matrix(new_texts, new_contexts)),
        rtol=0,
        atol=1e-12,
    )


def test_loading_and_scoring_need_neither_scikit_learn_nor_scipy_sparse(tfidf_artifact):
    code = f"""
import sys
def loaded():
    return [name for name in ("sklearn", "scipy.sparse", "torch") if name in sys.modules]
import netralitas.model.backends.tfidf
print(loaded())
from netralitas.model.loading import load_classifier
model = load_classifier({str(tfidf_artifact)!r})
print(loaded())
model.predict_proba(["Coblos nomor 2, Pak Hendro!", "Siap pak"], ["Relawan kumpul besok", None])
print(loaded())
model.fit(["coblos nomor dua", "apel pagi"], ["supportive", "neutral"])  # fitting may
print("sklearn" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n") == ["[]", "[]", "[]", "True", ""]
