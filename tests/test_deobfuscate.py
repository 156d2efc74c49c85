"""Reading through obfuscation: each kind undone and reported, ordinary text untouched, both text
views reading the same words, idempotence, and explanations and API rows that stay honest."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient

from netralitas.model.explain import word_spans
from netralitas.model.records import Record
from netralitas.model.scorer import TOP_K, Scorer
from netralitas.model.text.deobfuscate import KINDS, deobfuscate
from netralitas.model.text.light import light_text
from netralitas.model.text.normalize import TextNormalizer

from .sample_data import SUPPORTIVE

REPO = Path(__file__).resolve().parents[1]
POST = "Ayo coblos nomor 2, Pak Hendro paling peduli sama guru honorer!"

UNDONE = [
    # invisible characters inside words, the emoji joiner and selector only next to letters
    ("Ayo cob\u200blos nom\u2060or 2", "Ayo coblos nomor 2", ("invisible",)),
    ("pi\u00adlih Pak Hen\ufeffdro\u200d!", "pilih Pak Hendro!", ("invisible",)),
    ("\u202eCoblos\u202c", "Coblos", ("invisible",)),
    # fullwidth, mathematical, circled and squared letters, small capitals
    ("ｃｏｂｌｏｓ　ｎｏｍｏｒ　２", "coblos nomor 2", ("styled",)),
    ("𝐜𝐨𝐛𝐥𝐨𝐬 𝓟𝓪𝓴 𝙃𝙚𝙣𝙙𝙧𝙤", "coblos Pak Hendro", ("styled",)),
    ("ⓒⓞⓑⓛⓞⓢ 🅒🅞🅑🅛🅞🅢 ᴄᴏʙʟᴏs", "coblos COBLOS coblos", ("styled",)),
    # look-alike letters of other scripts inside Latin words
    ("Ayо cоblоs nоmоr 2", "Ayo coblos nomor 2", ("confusable",)),  # Cyrillic о
    ("Ρak Ηendrο ρaling ϲerdas", "Pak Hendro paling cerdas", ("confusable",)),  # Greek
    ("KАМІ DUKUNG", "KAMI DUKUNG", ("confusable",)),  # capitals: І reads "I", not "l"
    # number emoji for the ballot number
    ("coblos 2️⃣ ya, nomor 0️⃣2️⃣", "coblos 2 ya, nomor 02", ("number_emoji",)),
    ("salam ✌🏽 coblos ☝️ paslon 🤟", "salam 2 coblos 1 paslon 3", ("number_emoji",)),
    ("pilih ❷!", "pilih 2!", ("number_emoji",)),
    # letters spaced or dotted apart; several spelled words are split again when known
    ("Ayo c o b l o s nomor 2", "Ayo coblos nomor 2", ("spaced",)),
    ("c.o.b.l.o.s P.r.a.b.o.w.o", "coblos Prabowo", ("spaced",)),
    ("c - o - b - l - o - s", "coblos", ("spaced",)),
    ("c o b l o s n o m o r 2", "coblos nomor 2", ("spaced",)),
    # leetspeak inside words, or whole known words
    ("c0bl0s pr4bowo, g@s!", "coblos prabowo, gas!", ("leet",)),
    ("PR4BOWO b41k, m3ntri2nya", "PRABOWO baik, mentri2nya", ("leet",)),
    ("L4h, t4k s44t", "Lah, tak saat", ("leet",)),
    # stretched letters: once, or twice where that is the known word
    ("cobloooos, maaaaf, GASSS", "coblos, maaf, GAS", ("stretched",)),
    ("Aaaayo", "Ayo", ("stretched",)),
]


@pytest.mark.parametrize(("raw", "expected", "kinds"), UNDONE)
def test_each_kind_is_undone_and_reported(raw, expected, kinds):
    assert deobfuscate(raw) == (expected, kinds)


def test_kinds_are_reported_together_in_a_fixed_order():
    raw = "Ayо c0bl0s ｎｏｍｏｒ 2️⃣ cob\u200blos s.i.a.p gasss"
    text, kinds = deobfuscate(raw)
    assert text == "Ayo coblos nomor 2 coblos siap gas"
    assert kinds == (
        "invisible",
        "styled",
        "confusable",
        "number_emoji",
        "spaced",
        "leet",
        "stretched",
    )
    assert kinds == KINDS


UNTOUCHED = [
    "2 periode cukup, no 02 dan nomor urut 01",
    "Harga Rp5.000, naik 10% per 14/2, tgl 17-8-2045 jam 07.00",
    "@budi_s cek https://t.co/Ab3x0 dan www.kpu.go.id atau pic.twitter.com/k6eW9",
    "kirim ke budi.s@gmail.com ya",
    "KTT G20, jaringan 5G, lulusan S1 dan D3, tenaga PPPK dan P3K, mp3, covid19, 10rb, 2x",
    "p3k, K3, h1n1, A1B2, b4, x86, i7, 4x4, 3G, tutup01tusuk02",
    "#2019GantiPresiden #Tutup01Tusuk02 #Debat5Pilpres2019 #PilihOrangBaik",
    "anak2 hati2 di jalan",
    "Pelita III, XXX, PPP dan PKB, www",
    "di x a b, S.H., M.H., a.n. Budi",
    "mantap 👍 ❤️ 👨\u200d👩\u200d👧 🇮🇩 ⚠️VIRAL⚠️ ✌️ damai",
    "salam dua jari ✌️",
    "Путин и Медведев, Αθήνα",  # Cyrillic and Greek words stay as they are
    "café, naïve, Ñoño",
    "masyaaAllah, wkwkwk, hahaha",
    "",
]


@pytest.mark.parametrize("text", UNTOUCHED)
def test_ordinary_text_is_untouched(text):
    assert deobfuscate(text) == (text, ())


def test_only_styled_letters_are_folded_not_all_compatibility_forms():
    # NFKC would also rewrite these, which people type without hiding anything (and which the
    # models were trained on); the post is only put in NFC.
    assert deobfuscate("sama² saja… № 2™, ﬁlm ℹ️") == ("sama² saja… № 2™, ﬁlm ℹ️", ())
    assert deobfuscate("e\u0301") == ("\u00e9", ())
    assert deobfuscate("（＾＿＾）") == ("(^_^)", ())  # fullwidth punctuation alone: not styling


def _corpus() -> list[str]:
    texts = [raw for raw, _, _ in UNDONE] + UNTOUCHED
    for path in sorted((REPO / "data" / "starter").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            texts.append(json.loads(line)["text"])
    return texts


def test_idempotent_and_rarely_rewrites_real_posts():
    texts = _corpus()
    changed = 0
    for text in texts:
        once, kinds = deobfuscate(text)
        assert deobfuscate(once) == (once, ()), text
        changed += bool(kinds)
    # The bundled posts are written plainly: stretched letters and keycap digits, a few percent.
    assert changed < 0.05 * len(texts)


def test_both_views_are_idempotent_on_obfuscated_posts(profile):
    import random

    from netralitas.evaluation.evasion import evasions
    from netralitas.model.text.profiles import load_profiles

    norm = TextNormalizer([profile, *load_profiles([REPO / "data" / "elections"])])
    texts = _corpus()[:: max(1, len(_corpus()) // 400)]
    # Readable ones: "heavy" leetspeak makes strings ("51@p@") on which the normaliser's own
    # mention and ballot rules are not idempotent, obfuscated or not.
    for evasion in (e for e in evasions() if e.readable):
        rng = random.Random(evasion.name)
        for text in texts:
            raw = evasion.rewrite(text, rng)
            once, light = norm(raw), light_text(raw)
            assert norm(once) == once, raw
            assert light_text(light) == light, raw


@pytest.mark.parametrize("raw", [raw for raw, _, _ in UNDONE])
def test_both_text_views_read_the_plain_words(raw, profile):
    plain = deobfuscate(raw)[0]
    for normalizer in (TextNormalizer([profile]), TextNormalizer()):
        assert normalizer(raw) == normalizer(plain)
    assert light_text(raw) == light_text(plain)


def test_masking_reads_through_obfuscation(profile):
    norm = TextNormalizer([profile])
    assert norm("Ayo c0bl0s ｐａｋ ｈｅｎｄｒｏ, nomor 2️⃣!") == "ayo coblos [calon], nomor [nomor]!"
    assert norm("salam ✌️ Pak H e n d r o") == "salam [nomor] [calon]"
    assert norm.mentions_contestant("Ρak Ηendrο")  # Greek capitals
    assert not norm.mentions_contestant("damai ✌️")


def test_the_light_view_keeps_case_and_names():
    assert light_text("Ayo ｃｏｂｌｏｓ P r a b o w o!! 👍") == "Ayo coblos Prabowo!! 👍"


def _obfuscated_posts(post: str = POST) -> list[str]:
    return [
        post.replace("coblos", "cob\u200blos").replace("nomor", "nom\u200bor"),
        post.replace("o", "\u043e"),
        "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in post),
        post.replace("coblos", "c o b l o s"),
    ]


class _CoblosModel:
    """Takes a side exactly when the normalised text says "coblos" (so occlusion has a target)."""

    labels = ("neutral", "supportive")
    metadata_ = SimpleNamespace(
        name="coblos",
        version="1",
        labels=labels,
        neutral_label="neutral",
        thresholds=SimpleNamespace(flag=0.5, review=0.3),
    )
    normalizer = TextNormalizer()

    def predict_proba(self, texts, contexts=None):
        side = np.array([0.9 if "coblos" in self.normalizer(t) else 0.1 for t in texts])
        return np.column_stack([1 - side, side])

    def truncated(self, texts, contexts=None):
        return np.zeros(len(texts), dtype=bool)


def test_scored_rows_report_obfuscation_and_explanations_point_into_the_text_as_sent():
    scorer = Scorer(_CoblosModel())
    posts = _obfuscated_posts()
    plain = next(scorer.score([Record(text=POST)], explain=True))
    assert plain.obfuscation == () and plain.as_row()["obfuscation"] == []
    assert [(a.text, a.weight) for a in plain.explanation] == [("coblos", pytest.approx(0.8))]
    scored = list(scorer.score([Record(text=t) for t in posts], explain=True))
    assert [p.obfuscation for p in scored] == [
        ("invisible",),
        ("confusable",),
        ("styled",),
        ("spaced",),
    ]
    words = ["cob\u200blos", "cоblоs", "ｃｏｂｌｏｓ"]
    for text, post, word in zip(posts, scored, words, strict=False):
        assert post.as_row()["obfuscation"] == list(post.obfuscation)
        assert post.decision == "flag"
        # The one span that made it a flag, as sent, at its place in the text as sent.
        (span,) = post.explanation
        assert (span.text, text[span.start : span.end]) == (word, word)
    # Spaced letters are one span each: removing any of them breaks the word.
    spaced = posts[3]
    assert scored[3].decision == "flag" and len(scored[3].explanation) == TOP_K
    for span in scored[3].explanation:
        assert spaced[span.start : span.end] == span.text and span.text in "coblos"
        assert spaced.index("c o b l o s") <= span.start < spaced.index(" nomor")
    # A keycap is one span with its digit.
    assert [t[a:b] for t in ["pilih 2️⃣ ya"] for a, b in word_spans(t)] == ["pilih", "2️⃣", "ya"]


def test_api_results_say_which_obfuscation_was_undone(tfidf_artifact, tmp_path):
    from netralitas.serve.app import create_app
    from netralitas.serve.settings import ServeSettings

    from .serve_support import auth, key_entries

    settings = ServeSettings(
        model_dir=str(tfidf_artifact),
        api_keys=key_entries(),
        feedback_db=str(tmp_path / "feedback.sqlite3"),
    )
    items = [{"text": SUPPORTIVE[0]}, {"text": _obfuscated_posts()[1]}]
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/v1/score", json={"items": items, "explain": True}, headers=auth("scorer")
        )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["obfuscation"] for r in results] == [[], ["confusable"]]
    for item, result in zip(items, results, strict=True):
        for span in result["explanation"] or []:
            assert item["text"][span["start"] : span["end"]] == span["text"]


def test_the_reviewer_signal_leaves_out_stretched_letters():
    from netralitas.model.text.deobfuscate import obfuscation_signal

    assert deobfuscate("Mantaaap pak, coblooos")[1] == ("stretched",)
    assert obfuscation_signal("Mantaaap pak, coblooos") == ()  # ordinary writing
    assert obfuscation_signal("Ayo cob\u200blos nomor 2") == ("invisible",)
