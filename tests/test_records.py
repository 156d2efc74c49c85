"""Record loaders: every format reads the same records, and every bad file fails whole and loudly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from netralitas.data.records import DataError, load_records, write_jsonl
from netralitas.model.records import Record

ROWS = [
    {"id": "a1", "text": "Ayo coblos nomor 2, Pak Hendro paling peduli!", "label": "supportive"},
    {
        "id": "a2",
        "text": "Siap pak, gas terus!",
        "label": "supportive",
        "context": "Relawan kumpul besok, kita menangkan paslon 1!",
        "action": "comment",
        "platform": "facebook",
    },
    {"id": "a3", "text": "Apel pagi diundur jam 8 karena hujan deras", "label": "neutral"},
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _problem(path: Path, where: str, *parts: str) -> str:
    """A `match=` pattern: the file, the line/row, then each part, in order, on one line."""
    return re.escape(f"{path}, {where}:") + "".join(".*" + re.escape(p) for p in parts)


# -- formats ---------------------------------------------------------------------------------------


def test_jsonl_loads_every_field(tmp_path):
    records = load_records(_jsonl(tmp_path / "d.jsonl", ROWS))
    assert [r.id for r in records] == ["a1", "a2", "a3"]
    assert records[1].context == ROWS[1]["context"]
    assert records[1].action == "comment"
    assert records[0].context is None
    assert all(isinstance(r, Record) for r in records)


def test_jsonl_skips_blank_lines_and_accepts_a_bom(tmp_path):
    path = tmp_path / "d.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in ROWS]
    path.write_text("\ufeff" + lines[0] + "\n\n" + "\n".join(lines[1:]) + "\n\n", encoding="utf-8")
    assert [r.id for r in load_records(path)] == ["a1", "a2", "a3"]


def test_jsonl_without_labels_loads_when_labels_are_not_required(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", [{"text": "halo semua"}, {"text": "selamat pagi"}])
    records = load_records(path, require_label=False)
    assert [r.label for r in records] == [None, None]


def test_csv_blank_optional_cells_become_none(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        "id,text,label,context,platform\n"
        'c1,"Ayo coblos nomor 2, pasti menang!",supportive,,\n'
        "c2,Apel pagi diundur,neutral,Info kantor hari ini,whatsapp\n"
        "c3,Kerja bakti Minggu pagi,neutral,  ,\n",
        encoding="utf-8",
    )
    records = load_records(path)
    assert [r.id for r in records] == ["c1", "c2", "c3"]
    assert records[0].text == "Ayo coblos nomor 2, pasti menang!"
    assert (records[0].context, records[0].platform) == (None, None)
    assert (records[1].context, records[1].platform) == ("Info kantor hari ini", "whatsapp")
    assert records[2].context is None


def test_csv_blank_action_and_weak_cells_are_unset(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        "text,label,action,weak\nApel pagi diundur,neutral,,\nSiap pak!,supportive,comment,true\n",
        encoding="utf-8",
    )
    records = load_records(path)
    assert (records[0].action, records[0].weak) == (None, False)
    assert (records[1].action, records[1].weak) == ("comment", True)


def test_parquet_loads_and_turns_nulls_and_numbers_into_record_values(tmp_path):
    path = tmp_path / "d.parquet"
    table = pa.table(
        {
            "id": [101, 102],
            "text": ["Ayo coblos nomor 2!", "Apel pagi diundur"],
            "label": ["supportive", "neutral"],
            "context": [None, "Info kantor"],
        }
    )
    pq.write_table(table, path)
    records = load_records(path)
    assert [r.id for r in records] == ["101", "102"]
    assert [r.context for r in records] == [None, "Info kantor"]
    assert [r.label for r in records] == ["supportive", "neutral"]


def test_parquet_error_names_the_row(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": ["halo", "   "], "label": ["neutral", "neutral"]}), path)
    with pytest.raises(DataError, match=_problem(path, "row 2", "'text'", "'   '")):
        load_records(path)


def _label_studio_task(task_id: int, text: str, *choices: str, cancelled: bool = False) -> dict:
    return {
        "id": task_id,
        "data": {"text": text},
        "annotations": [
            {
                "was_cancelled": cancelled,
                "result": [{"type": "choices", "value": {"choices": [c]}}],
            }
            for c in choices
        ],
    }


def test_label_studio_export(tmp_path):
    tasks = [
        _label_studio_task(7, "Ayo coblos nomor 2!", "supportive"),
        # Two annotations: the latest one wins.
        _label_studio_task(8, "Apel pagi diundur", "supportive", "neutral"),
        {
            **_label_studio_task(9, "Siap pak!", "supportive"),
            "data": {"text": "Siap pak!", "context": "Rapat besok"},
        },
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    records = load_records(path)
    assert [(r.id, r.text, r.label) for r in records] == [
        ("7", "Ayo coblos nomor 2!", "supportive"),
        ("8", "Apel pagi diundur", "neutral"),
        ("9", "Siap pak!", "supportive"),
    ]
    assert records[2].context == "Rapat besok"


def test_label_studio_export_with_a_bom(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(
        "\ufeff" + json.dumps([_label_studio_task(1, "Halo", "neutral")]), encoding="utf-8"
    )
    assert [r.label for r in load_records(path)] == ["neutral"]


def test_label_studio_cancelled_annotation_gives_no_label(tmp_path):
    path = tmp_path / "export.json"
    tasks = [
        _label_studio_task(1, "Ayo coblos nomor 2!", "supportive"),
        _label_studio_task(2, "Apel pagi diundur", "neutral", cancelled=True),
    ]
    path.write_text(json.dumps(tasks), encoding="utf-8")
    with pytest.raises(DataError, match=_problem(path, "task 2", "'label'", "required")):
        load_records(path)
    assert [r.label for r in load_records(path, require_label=False)] == ["supportive", None]


def test_label_studio_task_without_text(tmp_path):
    path = tmp_path / "export.json"
    tasks = [_label_studio_task(1, "Ayo coblos!", "supportive"), {"id": 2, "data": {"teks": "x"}}]
    path.write_text(json.dumps(tasks), encoding="utf-8")
    with pytest.raises(DataError, match=_problem(path, "task 2", "'text'", "missing")):
        load_records(path)


def test_label_studio_export_must_be_a_list(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"text": "halo"}), encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(str(path)) + ".*list of tasks.*found dict"):
        load_records(path)


def test_doccano_one_element_label_list(tmp_path):
    rows = [
        {"id": 1, "text": "Ayo coblos nomor 2!", "label": ["supportive"], "Comments": []},
        {"id": 2, "text": "Apel pagi diundur", "label": ["neutral"]},
        {"id": 3, "text": "Kerja bakti Minggu", "labels": ["neutral"]},
    ]
    records = load_records(_jsonl(tmp_path / "d.jsonl", rows), format="doccano")
    assert [(r.id, r.label) for r in records] == [
        ("1", "supportive"),
        ("2", "neutral"),
        ("3", "neutral"),
    ]


def test_doccano_more_than_one_label_is_an_error(tmp_path):
    path = _jsonl(
        tmp_path / "d.jsonl",
        [{"text": "a", "label": ["neutral"]}, {"text": "b", "label": ["neutral", "supportive"]}],
    )
    with pytest.raises(DataError, match=_problem(path, "line 2", "one label", "'supportive'")):
        load_records(path, format="doccano")


def test_doccano_empty_label_list_is_missing_label(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", [{"text": "a", "label": []}])
    with pytest.raises(DataError, match=_problem(path, "line 1", "'label'", "required")):
        load_records(path, format="doccano")


# -- errors ----------------------------------------------------------------------------------------


def _with_bad_row(tmp_path: Path, bad_line: str, name: str = "d.jsonl") -> Path:
    """Two good rows, then the bad one on line 3, then one more good row."""
    path = tmp_path / name
    good = [json.dumps(r, ensure_ascii=False) for r in ROWS]
    path.write_text("\n".join([good[0], good[1], bad_line, good[2]]) + "\n", encoding="utf-8")
    return path


def test_invalid_json_line(tmp_path):
    path = _with_bad_row(tmp_path, '{"text": "rusak", "label": ')
    with pytest.raises(DataError, match=_problem(path, "line 3", "not valid JSON", "column")):
        load_records(path)


def test_json_line_that_is_not_an_object(tmp_path):
    path = _with_bad_row(tmp_path, '["halo", "neutral"]')
    with pytest.raises(DataError, match=_problem(path, "line 3", "JSON object", "found list")):
        load_records(path)


def test_unknown_field_is_kept_and_a_misspelt_label_is_named(tmp_path):
    path = _with_bad_row(tmp_path, '{"text": "halo", "label": "neutral", "akun": "@x"}')
    assert load_records(path)[2].extra == {"akun": "@x"}
    path = _with_bad_row(tmp_path, '{"text": "halo", "lable": "neutral"}')
    with pytest.raises(
        DataError,
        match=_problem(path, "line 3", "'label' is required", "(perhaps --label-column lable?)"),
    ):
        load_records(path)


def test_missing_text(tmp_path):
    path = _with_bad_row(tmp_path, '{"label": "neutral", "id": "x"}')
    with pytest.raises(DataError, match=_problem(path, "line 3", "'text'", "missing")):
        load_records(path)


def test_blank_text(tmp_path):
    path = _with_bad_row(tmp_path, '{"text": "  \\t ", "label": "neutral"}')
    with pytest.raises(
        DataError, match=_problem(path, "line 3", "'text'", "whitespace", "found '  \\t '")
    ):
        load_records(path)


def test_blank_text_cell_in_csv(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\nhalo,neutral\n,neutral\n", encoding="utf-8")
    with pytest.raises(DataError, match=_problem(path, "line 3", "'text'", "found ''")):
        load_records(path)


def test_missing_label_when_required(tmp_path):
    path = _with_bad_row(tmp_path, '{"text": "halo semua"}')
    with pytest.raises(DataError, match=_problem(path, "line 3", "'label'", "required")):
        load_records(path)
    assert len(load_records(path, require_label=False)) == 4


def test_wrong_action_value(tmp_path):
    path = _with_bad_row(tmp_path, '{"text": "halo", "label": "neutral", "action": "retweet"}')
    with pytest.raises(
        DataError, match=_problem(path, "line 3", "'action'", "'comment'", "found 'retweet'")
    ):
        load_records(path)


def test_wrong_action_value_in_csv_names_the_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label,action\nhalo,neutral,post\nhai,neutral,repost\n", encoding="utf-8")
    with pytest.raises(DataError, match=_problem(path, "line 3", "'action'", "found 'repost'")):
        load_records(path)


def test_csv_row_with_too_many_values(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\nhalo,neutral\nhai,neutral,extra\n", encoding="utf-8")
    with pytest.raises(DataError, match=_problem(path, "line 3", "more values than header")):
        load_records(path)


def test_csv_without_text_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("teks,label\nhalo,neutral\n", encoding="utf-8")
    with pytest.raises(
        DataError, match=re.escape(str(path)) + ".*text column named 'text', found.*'teks'"
    ):
        load_records(path)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_non_utf8_file(tmp_path, suffix):
    path = tmp_path / f"d{suffix}"
    body = (
        '{"text": "kopi caf\xe9", "label": "neutral"}\n'
        if suffix == ".jsonl"
        else "text,label\ncaf\xe9,neutral\n"
    )
    path.write_bytes(body.encode("latin-1"))
    with pytest.raises(
        DataError, match=re.escape(str(path)) + ", line \\d+: not UTF-8.*0xe9.*UTF-8"
    ):
        load_records(path)


def test_non_utf8_error_names_the_line(tmp_path):
    path = tmp_path / "d.jsonl"
    good = "".join(
        json.dumps({"text": f"baris {i}", "label": "neutral"}) + "\n" for i in range(2000)
    )
    path.write_bytes(good.encode() + '{"text": "caf\xe9", "label": "neutral"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match=re.escape(f"{path}, line 2001")):
        load_records(path)


def test_unknown_suffix(tmp_path):
    path = tmp_path / "d.txt"
    path.write_text("halo\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(str(path)) + ".*suffix '.txt'.*--format"):
        load_records(path)


def test_unknown_format_and_missing_file(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", ROWS)
    with pytest.raises(DataError, match="unknown format 'xml'"):
        load_records(path, format="xml")
    with pytest.raises(
        DataError, match=re.escape(str(tmp_path / "nope.jsonl")) + ".*does not exist"
    ):
        load_records(tmp_path / "nope.jsonl")


def test_empty_file(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(str(path)) + ": no records found"):
        load_records(path)


def test_one_bad_row_loads_nothing_and_every_problem_is_listed(tmp_path):
    rows = [
        *ROWS,
        {"text": "", "label": "neutral"},
        *ROWS,
        {"text": "halo", "action": "tweet"},
        *ROWS,
    ]
    path = _jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(DataError) as info:
        load_records(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 2 problem(s); nothing was loaded")
    assert f"{path}, line 4: field 'text'" in message
    assert f"{path}, line 8: field 'action'" in message


def test_many_problems_are_capped_in_the_message(tmp_path):
    rows = [{"text": "baris", "label": "neutral"}] + [{"text": f"baris {i}"} for i in range(25)]
    path = _jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(DataError, match=r"25 problem\(s\)(.|\n)*\.\.\. and 5 more") as info:
        load_records(path)
    assert "line 21:" in str(info.value)
    assert "line 22:" not in str(info.value)


# -- writing ---------------------------------------------------------------------------------------


def test_write_jsonl_round_trips(tmp_path):
    records = [Record.model_validate(r) for r in ROWS] + [
        Record(
            text='Baris dengan "kutip" dan emoji 👍\nbaris dua',
            label="neutral",
            weak=True,
            group="g1",
        )
    ]
    path = tmp_path / "out" / "records.jsonl"
    write_jsonl(records, path)
    assert load_records(path) == records
    # Defaults are not written, non-ASCII stays readable, no temporary file is left behind.
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert "weak" not in first and first["context"] is None
    assert "👍" in path.read_text(encoding="utf-8")
    assert sorted(p.name for p in path.parent.iterdir()) == ["records.jsonl"]


def test_write_jsonl_accepts_dicts(tmp_path):
    path = tmp_path / "records.jsonl"
    write_jsonl(ROWS, path)
    assert [r.model_dump(exclude_defaults=True) for r in load_records(path)] == ROWS
