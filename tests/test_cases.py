"""`netralitas cases` (serve/cases.py): scored rows -> evidence files per account and an index."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netralitas.cli.main import main
from netralitas.data.errors import DataError
from netralitas.data.output import keep_columns, scored_rows, write_rows
from netralitas.data.records import load_table
from netralitas.model.scorer import Scorer
from netralitas.serve.cases import NOTICE, build_cases, case_stem, write_cases

from .sample_data import NEUTRAL, SUPPORTIVE, write_jsonl

PARTISAN = "Pak Hendro: lima tahun lagi kita tuntaskan jalan desa. Coblos nomor 2!"
RALLY = "Relawan Kang Sukma kumpul besok, kita menangkan paslon 1!"
CHORES = "Besok kerja bakti bersihkan selokan di RT 04, jam 7 pagi."
BUDI = 'Budi <script>alert("x")</script>'

ROWS = [
    {"id": "b1", "action": "like", "context": PARTISAN, "account": BUDI, "url": "https://fb/1"},
    {
        "id": "b2",
        "text": "Info <b>penting</b>",
        "action": "share",
        "context": RALLY,
        "account": BUDI,
    },
    {"id": "b3", "text": NEUTRAL[0], "account": BUDI},
    {"id": "s1", "text": SUPPORTIVE[0], "action": "share", "context": CHORES, "account": "sari"},
    {"id": "s2", "text": "C0bl0s no 2 pokoknya, Pak Hendro paling peduli!", "account": "sari"},
    {"id": "a1", "text": SUPPORTIVE[0], "action": "share", "context": CHORES, "account": "andi"},
    {"id": "n1", "text": SUPPORTIVE[1], "posted_at": "2029-11-02T08:15:00+07:00"},
]


@pytest.fixture(scope="module")
def scored(tfidf_artifact, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cases")
    source = write_jsonl(root / "engagement.jsonl", ROWS)
    out = root / "scored.jsonl"
    assert main(["score", str(tfidf_artifact), str(source), "--output", str(out)]) == 0
    return out


def _cases(tfidf_artifact, scored, out, *flags) -> dict:
    assert (
        main(["cases", str(scored), "--output", str(out), "--model", str(tfidf_artifact), *flags])
        == 0
    )
    return json.loads((out / "index.json").read_text(encoding="utf-8"))


def test_one_file_per_account_and_the_index_by_flags_then_reviews(tfidf_artifact, scored, tmp_path):
    index = _cases(tfidf_artifact, scored, tmp_path / "out")
    accounts = [(a["account"], a["flags"], a["reviews"]) for a in index["accounts"]]
    assert accounts == [(BUDI, 2, 0), ("sari", 1, 1), (None, 1, 0), ("andi", 0, 1)]
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    expected = {f"{case_stem(a)}.{ext}" for a, *_ in accounts for ext in ("html", "json")}
    assert set(written) == expected | {"index.html", "index.json"}
    assert index["thresholds"]["flag"] > index["thresholds"]["review"] > 0
    assert index["models"] == [{"name": "uji", "version": "1.0"}]
    budi = json.loads((tmp_path / "out" / index["accounts"][0]["json"]).read_text(encoding="utf-8"))
    assert [i["id"] for i in budi["items"]] == ["b1", "b2"]  # the cleared post is left out
    like = budi["items"][0]
    assert (like["action"], like["judged"], like["judged_field"]) == (
        "like",
        "liked post",
        "context",
    )
    assert like["explanation"] and all(
        PARTISAN[s["start"] : s["end"]] == s["text"] and s["field"] == "context"
        for s in like["explanation"]
    )
    assert like["url"] == "https://fb/1"


def test_pages_are_escaped_self_contained_and_say_a_flag_is_no_verdict(
    tfidf_artifact, scored, tmp_path
):
    _cases(tfidf_artifact, scored, tmp_path / "out")
    pages = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").glob("*.html")}
    assert len(pages) == 5
    for name, page in pages.items():
        assert NOTICE["en"] in page and NOTICE["id"] in page, name
        assert "<script" not in page and "<b>" not in page, name
        assert not re.search(r"(src|href)=\"(https?:)?//", page.replace('href="https://fb/1"', ""))
    budi = pages[f"{case_stem(BUDI)}.html"]
    assert "Budi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in budi
    assert "Info &lt;b&gt;penting&lt;/b&gt;" in budi
    assert re.search(r'<mark class="w\d" data-weight="[0-9.e-]+">Hendro</mark>', budi)
    # The obfuscation undone, and the text as the model read it.
    sari = pages[f"{case_stem('sari')}.html"]
    assert "leet" in sari and 'as the model read it</div><div class="post">Coblos no 2' in sari


def test_min_flags_and_include_flag(tfidf_artifact, scored, tmp_path):
    index = _cases(tfidf_artifact, scored, tmp_path / "two", "--min-flags", "2")
    assert [a["account"] for a in index["accounts"]] == [BUDI]
    index = _cases(tfidf_artifact, scored, tmp_path / "flags", "--include", "flag")
    assert [(a["account"], a["reviews"]) for a in index["accounts"]] == [
        (BUDI, 0),
        (None, 0),
        ("sari", 0),
    ]


def test_rows_without_an_account_column_are_under_tanpa_akun(tfidf_artifact, tmp_path):
    source = write_jsonl(tmp_path / "p.jsonl", [{"text": SUPPORTIVE[1]}, {"text": NEUTRAL[0]}])
    out = tmp_path / "scored.csv"  # CSV as well: the data layer reads what score wrote
    assert main(["score", str(tfidf_artifact), str(source), "--output", str(out)]) == 0
    index = _cases(tfidf_artifact, out, tmp_path / "cases")
    assert [(a["account"], a["flags"]) for a in index["accounts"]] == [(None, 1)]
    page = (tmp_path / "cases" / index["accounts"][0]["html"]).read_text(encoding="utf-8")
    assert "(tanpa akun)" in page


def test_a_scored_file_without_text_says_how_to_rerun_score(tfidf_artifact, tmp_path, capsys):
    source = write_jsonl(tmp_path / "p.jsonl", [{"text": SUPPORTIVE[1], "account": "x"}])
    out = tmp_path / "scored.jsonl"
    args = ["score", str(tfidf_artifact), str(source), "--output", str(out)]
    assert main([*args, "--keep-columns", "none"]) == 0
    capsys.readouterr()
    assert main(["cases", str(out), "--output", str(tmp_path / "cases")]) == 2
    err = capsys.readouterr().err
    assert "no 'text' column" in err and "--keep-columns" in err
    assert not (tmp_path / "cases").exists()


def test_explanations_from_the_scored_file_and_none_without_a_model(tfidf_artifact, tmp_path):
    source = write_jsonl(tmp_path / "p.jsonl", ROWS)
    table = load_table(source, require_label=False)
    scorer = Scorer.from_pretrained(tfidf_artifact)
    posts = list(scorer.score(table.records, explain=True))
    rows = scored_rows(
        table, posts, scorer.metadata.labels, keep_columns("all", table), explain=True
    )
    write_rows(rows, tmp_path / "explained.csv")
    cases = build_cases(tmp_path / "explained.csv", log=lambda _: None)
    like = cases.cases[0].items[0]
    assert like["id"] == "b1" and like["explanation"][0]["field"] == "context"
    assert PARTISAN[like["explanation"][0]["start"] : like["explanation"][0]["end"]]
    assert cases.thresholds is None and cases.explained_by is None
    write_rows(rows, tmp_path / "plain.jsonl")
    plain = build_cases(tmp_path / "plain.jsonl", log=lambda _: None)  # explanation column too
    assert plain.cases[0].items[0]["explanation"] == like["explanation"]
    bare = [{k: v for k, v in r.items() if k != "explanation"} for r in rows]
    write_rows(bare, tmp_path / "bare.jsonl")
    out = write_cases(build_cases(tmp_path / "bare.jsonl", log=lambda _: None), tmp_path / "c")
    page = (out / f"{case_stem(BUDI)}.html").read_text(encoding="utf-8")
    assert "<mark" not in page and "--model MODEL_DIR" in page


def test_output_folder_is_replaced_whole_and_never_a_foreign_one(tfidf_artifact, scored, tmp_path):
    out = tmp_path / "out"
    _cases(tfidf_artifact, scored, out)
    index = _cases(tfidf_artifact, scored, out, "--min-flags", "2")
    assert len(list(out.iterdir())) == 2 + 2 * len(index["accounts"])  # no stale files
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    cases = build_cases(scored, log=lambda _: None)
    with pytest.raises(DataError, match="not a case-file folder"):
        write_cases(cases, foreign)
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_file_names_are_safe_and_distinct():
    names = ["budi.s", "budi s", "Budi S", "../../etc/passwd", "👍👍", "", "x" * 300]
    stems = [case_stem(n) for n in names]
    assert len(set(stems)) == len(stems)
    assert all(re.fullmatch(r"[a-z0-9-]{1,60}", s) for s in stems)
    assert case_stem(None) == case_stem("") and case_stem(None).startswith("tanpa-akun-")
