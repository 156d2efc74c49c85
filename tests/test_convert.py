"""`netralitas data convert`: small hand-written files in each upstream format (never the real data),
their label mappings, weak flags, overrides and errors."""

from __future__ import annotations

import json

import pytest

from netralitas.cli.main import main
from netralitas.data.convert import CONVERTERS, convert, parse_mapping
from netralitas.data.records import DataError, load_records

# Upstream: UTF-8 with a BOM, CRLF line ends.
PILKADA = (
    "\ufeffId,Sentiment,Pasangan Calon,Text Tweet\r\n"
    "1,negative,Agus-Sylvi,Kasian #agussilvy nyungsep wkwk\r\n"
    "2,positive,Ahok-Djarot,Mantap Pak Ahok lanjutkan kerja nyata!\r\n"
    '3,positive,Anies-Sandi,"Rumah DP 0%, OK OCE! #AniesSandi"\r\n'
)
# Upstream: an unnamed row-number column, and UTF-8 that was decoded as cp1252 (mojibake).
PILPRES = ",sentimen,tweet\n" + "".join(
    f'{i},{label},"{text.encode("utf-8").decode("cp1252")}"\n'
    for i, (label, text) in enumerate(
        [
            ("negatif", "Berita ini 👇 pasti hoax buatan penguasa"),
            ("netral", "Debat capres malam ini jam 8 – jangan lupa nonton"),
            ("positif", "Di era Jokowi ekonomi semakin baik #JokowiLagi"),
        ]
    )
)
# The 2-label file: `;`-separated with a trailing empty column; content is a JSON list of paragraphs.
STANCE_2 = (
    "\ufeffTokoh;Event;Judul Artikel;Isi Artikel;stance final;\n"
    'ahok;Pilgub DKI 2016;Saya Benci Ahok;"[""Paragraf satu."",""Paragraf dua.""]";for;\n'
    'jokowi;Pilpres 2014;Jokowi Bukan Pilihan;"[""Isi artikel.""]";againts;\n'
)
STANCE_3 = (
    "no,_id,topic,title,content,stance,source,nnps\n"
    '1,ObjectId(1),ahok,Saya Benci Ahok,"[""Paragraf satu."",""Paragraf dua.""]",for,http://k.com/1,"[]"\n'
    '2,ObjectId(2),yusril,Yusril dan Pilkada,"[""Sebuah laporan.""]",unknown,http://k.com/2,"[]"\n'
)
# latin-1; emoji kept as Python byte escapes, literal \n, HTML entities, a trailing quote, masks.
IBROHIM = (
    "Tweet,HS,Abusive,HS_Individual,HS_Group,HS_Religion,HS_Race,HS_Physical,HS_Gender,HS_Other,"
    "HS_Weak,HS_Moderate,HS_Strong\n"
    "USER Ya bani taplak dkk \\xf0\\x9f\\x98\\x84',1,1,1,0,0,0,0,0,0,1,0,0\n"
    "RT USER: baris satu\\nbaris dua &amp; URL',0,1,0,0,0,0,0,0,0,0,0,0\n"
    "Selamat pagi semua',0,0,0,0,0,0,0,0,0,0,0,0\n"
)
NUSAX = (
    "id,text,label\n219,Nikmati cicilan 0% untuk tiket pesawat,neutral\n209,Kuenya enak,positive\n"
)
EMOT = "label,tweet\nhappy,Senang sekali hari ini [USERNAME]\nanger,Jalan rusak tidak diperbaiki\n"
SMSA = "warung ini enak dan murah .\tpositive\npelayanan lambat sekali\tnegative\n"
LABEL_STUDIO = [
    {
        "id": 7,
        "data": {"text": "Coblos nomor 2!"},
        "annotations": [{"result": [{"value": {"choices": ["Berpihak"]}}]}],
    },
    {
        "id": 8,
        "data": {"text": "Apel pagi diundur"},
        "annotations": [{"result": [{"value": {"choices": ["netral"]}}]}],
    },
    {"id": 9, "data": {"text": "Belum dilabeli"}, "annotations": []},
]
DOCCANO = [
    {"text": "Jangan pilih dia", "label": ["attack"]},
    {"text": "Rapat jam 9", "label": ["neutral"]},
]


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_pilkada_both_sentiments_take_a_side(tmp_path):
    result = convert("pilkada-dki-2017", _write(tmp_path, "pilkada.csv", PILKADA))
    records = result.records
    assert [r.label for r in records] == ["supportive"] * 3
    assert [r.tag for r in records] == ["attack", "support", "support"]
    assert records[2].text == "Rumah DP 0%, OK OCE! #AniesSandi"
    assert records[0].id == "pilkada-dki-2017-1" and records[0].election == "pilkada-dki-2017"
    assert not any(r.weak for r in records)


def test_pilpres_mojibake_is_repaired_and_rows_are_weak(tmp_path):
    assert "ðŸ‘‡" in PILPRES  # the test file really is mojibake
    records = convert("pilpres-2019-sentiment", _write(tmp_path, "p.csv", PILPRES)).records
    assert records[0].text == "Berita ini 👇 pasti hoax buatan penguasa"
    assert "–" in records[1].text
    assert [r.label for r in records] == ["supportive", "neutral", "supportive"]
    assert all(r.weak for r in records) and all(r.tag is None for r in records)


def test_id_stance_reads_both_files_and_groups_shared_articles(tmp_path):
    two = convert("id-stance", _write(tmp_path, "s2.csv", STANCE_2)).records
    three = convert("id-stance", _write(tmp_path, "s3.csv", STANCE_3)).records
    assert [r.label for r in two] == ["supportive", "supportive"]
    assert [r.label for r in three] == ["supportive", "neutral"]
    assert two[0].text == "Saya Benci Ahok\n\nParagraf satu.\n\nParagraf dua."
    assert two[0].election == "pilkada-dki-2017" and two[1].tag == "attack"
    assert two[0].group == three[0].group  # the same article in both files
    assert {r.platform for r in two + three} == {"blog"}


def test_ibrohim_text_is_cleaned(tmp_path):
    result = convert("ibrohim-hatespeech", _write(tmp_path, "re.csv", IBROHIM, "latin-1"))
    texts = [r.text for r in result.records]
    assert texts[0] == "[USER] Ya bani taplak dkk 😄"
    assert texts[1] == "RT [USER]: baris satu\nbaris dua & [URL]"
    assert texts[2] == "Selamat pagi semua"
    assert result.source_counts == {"hate-speech": 1, "abusive": 1, "clean": 1}
    assert all(r.label == "neutral" and r.weak for r in result.records)


@pytest.mark.parametrize(
    ("fmt", "text", "n"),
    [("nusax", NUSAX, 2), ("indonlu-emot", EMOT, 2), ("indonlu-smsa", SMSA, 2)],
)
def test_sentiment_and_emotion_sets_are_weak_neutral_candidates(tmp_path, fmt, text, n):
    records = convert(fmt, _write(tmp_path, "data.txt", text)).records
    assert len(records) == n and all(r.label == "neutral" and r.weak for r in records)
    assert len({r.id for r in records}) == n


def test_annotation_exports_are_mapped(tmp_path):
    path = _write(tmp_path, "ls.json", json.dumps(LABEL_STUDIO))
    result = convert("label-studio", path)
    assert [(r.id, r.label) for r in result.records] == [("7", "supportive"), ("8", "neutral")]
    assert result.dropped == {"": 1}  # the unlabelled task
    lines = "".join(json.dumps(row) + "\n" for row in DOCCANO)
    records = convert("doccano", _write(tmp_path, "d.jsonl", lines)).records
    assert [(r.label, r.tag) for r in records] == [("supportive", "attack"), ("neutral", None)]


def test_overrides_relabel_or_drop_and_clear_the_tag(tmp_path):
    path = _write(tmp_path, "pilkada.csv", PILKADA)
    result = convert("pilkada-dki-2017", path, parse_mapping(["negative=neutral", "positive="]))
    assert [(r.label, r.tag) for r in result.records] == [("neutral", None)]
    assert result.dropped == {"positive": 2}


def test_unknown_source_labels_and_wrong_files_are_errors(tmp_path):
    bad = PILKADA.replace("1,negative", "1,sarcastic")
    with pytest.raises(DataError, match=r"without a mapping.*'sarcastic' \(1 rows\).*--map"):
        convert("pilkada-dki-2017", _write(tmp_path, "bad.csv", bad))
    with pytest.raises(DataError, match="does not look like the Pilkada DKI 2017 file"):
        convert("pilkada-dki-2017", _write(tmp_path, "n.csv", NUSAX))
    with pytest.raises(DataError, match="must look like SOURCE=LABEL"):
        parse_mapping(["positive"])
    with pytest.raises(DataError, match="unknown format"):
        convert("tweets", tmp_path / "bad.csv")


def test_every_format_documents_its_mapping():
    import netralitas.data.convert as module

    for name in CONVERTERS:
        assert f"| {name}" in module.__doc__ or f", {name} |" in module.__doc__, name


def test_convert_command_writes_loadable_records(tmp_path, capsys):
    source = _write(tmp_path, "pilkada.csv", PILKADA)
    out = tmp_path / "out.jsonl"
    code = main(
        [
            "data",
            "convert",
            "pilkada-dki-2017",
            str(source),
            "--output",
            str(out),
            "--map",
            "negative=",
        ]
    )
    assert code == 0
    records = load_records(out)
    assert [r.id for r in records] == ["pilkada-dki-2017-2", "pilkada-dki-2017-3"]
    assert "dropped by mapping: negative 1" in capsys.readouterr().out
    assert (
        main(
            [
                "data",
                "convert",
                "pilkada-dki-2017",
                str(tmp_path / "missing.csv"),
                "--output",
                str(out),
            ]
        )
        == 2
    )
