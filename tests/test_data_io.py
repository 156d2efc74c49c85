"""Bring your own data: other columns kept, columns and labels mapped, CSV dialects, Excel, label
checks, several training files, and `score` output as JSONL, CSV or Parquet joined back on `id`."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from netralitas.cli.main import main
from netralitas.data.columns import ColumnMap, ReadOptions, parse_label_map
from netralitas.data.labels import check_label_counts, check_label_spellings, fold_label
from netralitas.data.output import keep_columns, scored_rows, write_rows
from netralitas.data.records import DataError, load_files, load_records, load_table, write_jsonl
from netralitas.training.config import ConfigError, load_config
from netralitas.training.train import load_splits

from .sample_data import labelled_rows
from .sample_data import write_jsonl as write_rows_jsonl

MAPPED = {"supportive": "dukung", "neutral": "netral"}


def _export_rows() -> list[dict]:
    """The sample set as a supervision office might export it: its own column and label names,
    integer ids, and columns of its own."""
    return [
        {
            "id": i + 1,
            "tweet": row["text"],
            "kelas": MAPPED[row["label"]],
            "akun": f"@asn{i % 7}",
            "tanggal": f"2029-03-{1 + i % 28:02d}",
        }
        for i, row in enumerate(labelled_rows())
    ]


def _write_csv(path: Path, rows: list[dict], delimiter: str = ";", encoding="utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _config(path: Path, profile: Path, data: str, extra: str = "") -> Path:
    path.write_text(
        f"""
name = "byod"
version = "0.0.1"
[data]
{data}
{extra}
[profiles]
paths = ["{profile}"]
[model]
kind = "tfidf"
C = 4.0
max_char_features = 3000
""",
        encoding="utf-8",
    )
    return path


FLAGS = ["--text-column", "tweet", "--label-column", "kelas"]
MAPS = ["--map", "dukung=supportive", "--map", "netral=neutral"]


# -- reading: other columns, dialects, encodings, Excel ---------------------------------------------


def test_other_fields_are_kept_not_fatal(tmp_path):
    rows = [{**r, "source_row": i, "agreement": "agreed"} for i, r in enumerate(labelled_rows())]
    notes: list[str] = []
    table = load_table(write_rows_jsonl(tmp_path / "gold.jsonl", rows), log=notes.append)
    assert len(table.records) == len(rows)
    assert table.records[3].extra == {"source_row": 3, "agreement": "agreed"}
    assert table.extra_columns == ["source_row", "agreement"]
    # One summary line, naming the columns the model does not use.
    assert notes == [
        f"{tmp_path / 'gold.jsonl'}: {len(rows)} rows; 2 other column(s) kept but not used by "
        "the model: source_row, agreement"
    ]


@pytest.mark.parametrize(
    ("delimiter", "suffix", "encoding"),
    [
        (";", ".csv", "utf-8"),
        ("\t", ".tsv", "utf-8"),
        (",", ".csv", "utf-8-sig"),
        ("\t", ".csv", "utf-16"),
    ],
)
def test_csv_separator_and_encoding_are_sniffed(tmp_path, delimiter, suffix, encoding):
    path = _write_csv(tmp_path / f"e{suffix}", _export_rows(), delimiter, encoding)
    options = ReadOptions(
        columns=ColumnMap(text="tweet", label="kelas"), label_map=parse_label_map(MAPS[1::2])
    )
    table = load_table(path, options)
    assert table.columns == ["id", "tweet", "kelas", "akun", "tanggal"]  # no BOM in the name
    assert [r.text for r in table.records] == [r["text"] for r in labelled_rows()]
    assert Counter(r.label for r in table.records) == Counter(r["label"] for r in labelled_rows())
    assert table.records[0].extra == {"akun": "@asn0", "tanggal": "2029-03-01"}
    assert table.ids()[:3] == [1, 2, 3]  # whole-number ids of a CSV come back as integers


def test_csv_ids_with_leading_zeros_stay_text_and_missing_ids_get_the_row_number(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id;text\n007;halo\n;apa kabar\n12;baik\n", encoding="utf-8")
    table = load_table(path, require_label=False)
    assert table.ids() == ["007", "2", "12"]
    path.write_text("text,id\nhalo,5\napa kabar,\n", encoding="utf-8")
    assert load_table(path, require_label=False).ids() == [5, 2]
    path.write_text("text\nhalo\napa kabar\n", encoding="utf-8")
    assert load_table(path, require_label=False).ids() == [1, 2]


def test_xlsx_is_read_with_its_types(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["no", "tweet", "kelas", "akun "])  # a header cell with a trailing space
    for row in _export_rows()[:6]:
        sheet.append([row["id"], row["tweet"], row["kelas"], row["akun"]])
    sheet.append([None, None, None, None])  # an empty row at the end
    book.save(tmp_path / "e.xlsx")
    options = ReadOptions(columns=ColumnMap(text="tweet", label="kelas", id="no"))
    table = load_table(tmp_path / "e.xlsx", options)
    assert table.ids() == [1, 2, 3, 4, 5, 6]
    assert [r.id for r in table.records] == ["1", "2", "3", "4", "5", "6"]
    assert table.records[0].label == "dukung" and table.records[0].extra == {"akun": "@asn0"}


def test_xlsx_without_openpyxl_says_how_to_install_it(tmp_path, monkeypatch):
    (tmp_path / "e.xlsx").write_bytes(b"PK")
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import fails as if not installed
    with pytest.raises(DataError, match=re.escape("pip install 'netralitas[excel]'")):
        load_records(tmp_path / "e.xlsx")


def test_old_excel_says_what_to_do(tmp_path):
    (tmp_path / "e.xls").write_bytes(b"\xd0\xcf")
    with pytest.raises(DataError, match=r"e\.xls: old-style Excel .* \.xlsx or as 'CSV UTF-8'"):
        load_records(tmp_path / "e.xls")


def test_missing_text_column_names_the_columns_and_the_flag(tmp_path):
    path = _write_csv(tmp_path / "e.csv", _export_rows())
    with pytest.raises(DataError) as info:
        load_records(path)
    assert str(info.value) == (
        f"{path}: expected a text column named 'text', found columns 'id', 'tweet', 'kelas', "
        "'akun', 'tanggal'. Name the column that holds the posts with --text-column "
        "(data.columns.text in a training config). Perhaps --text-column tweet?"
    )
    options = ReadOptions(columns=ColumnMap(text="tweet"))
    with pytest.raises(DataError, match=r"expected a label column named 'label'.*--label-column"):
        load_records(path, options)
    assert len(load_records(path, options, require_label=False)) == len(labelled_rows())
    options = ReadOptions(columns=ColumnMap(text="tweet", context="balasan"))
    with pytest.raises(DataError, match=r"expected a context column named 'balasan'"):
        load_records(path, options, require_label=False)


def test_a_row_error_names_the_users_column(tmp_path):
    rows = _export_rows()
    rows[2]["tweet"] = "   "
    path = _write_csv(tmp_path / "e.csv", rows)
    options = ReadOptions(columns=ColumnMap(text="tweet", label="kelas"))
    with pytest.raises(
        DataError, match=re.escape(f"{path}, line 4: field 'text' (column 'tweet')")
    ):
        load_records(path, options)


def test_column_map_rejects_one_column_in_two_roles():
    with pytest.raises(ValueError, match="column 'tweet' is named both as the text and the label"):
        ColumnMap(text="tweet", label="tweet")


def test_bad_map_flag():
    with pytest.raises(DataError, match=r"--map 'dukung' must look like VALUE=LABEL"):
        parse_label_map(["dukung"])
    assert parse_label_map(["a=b=c", " Netral =neutral", "ragu="]) == {
        "a=b": "c",
        "Netral": "neutral",
        "ragu": "",
    }


# -- labels ----------------------------------------------------------------------------------------


def test_label_map_maps_and_drops(tmp_path):
    rows = _export_rows()
    rows[0]["kelas"] = "ragu"
    path = _write_csv(tmp_path / "e.csv", rows)
    options = ReadOptions(
        columns=ColumnMap(text="tweet", label="kelas"),
        label_map={"dukung": "supportive", "netral": "neutral", "ragu": ""},
    )
    table = load_table(path, options)
    assert len(table.records) == len(rows) - 1 and table.dropped == {"ragu": 1}
    assert {r.label for r in table.records} == {"supportive", "neutral"}
    assert "dropped by the label map: 'ragu' (1 rows)" in table.summary()
    # Unlabelled reading (score) keeps every row.
    assert len(load_table(path, options, require_label=False).records) == len(rows)


def test_look_alike_labels_are_an_error_naming_both_and_the_fix(tmp_path):
    rows = [{"text": f"baris {i}", "label": "netral"} for i in range(8)]
    rows += [{"text": f"lain {i}", "label": "Netral "} for i in range(2)]
    path = write_rows_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(DataError) as info:
        load_records(path)
    message = str(info.value)
    assert (
        "labels 'netral' (8 rows) and 'Netral ' (2 rows) differ only in case, spaces or accents"
        in message
    )
    assert "--map Netral=netral" in message
    assert message.endswith('(in a training config: data.label_map = { VALUE = "LABEL" })')
    # Mapping one spelling and not the other is caught too: they would still be two classes.
    with pytest.raises(DataError, match=re.escape("--map Netral=neutral")):
        load_records(path, ReadOptions(label_map={"netral": "neutral"}))
    # Mapping both is the fix.
    fixed = load_records(path, ReadOptions(label_map={"netral": "neutral", "Netral": "neutral"}))
    assert {r.label for r in fixed} == {"neutral"}


def test_accents_and_mapped_look_alikes_and_unused_map_keys():
    assert fold_label("  Nétral\tNetral ") == "netral netral"
    with pytest.raises(DataError, match=r"'néutral' .* differ only in case, spaces or accents"):
        check_label_spellings({"neutral": 5, "néutral": 1}, {}, "f")
    with pytest.raises(DataError, match=r"'Supportive' .*'supportive' .*after the label map"):
        check_label_spellings({"dukung": 5, "supportive": 5}, {"dukung": "Supportive"}, "f")
    with pytest.raises(
        DataError, match=re.escape("--map 'dukung' matches no label, but 'Dukung' (5 rows)")
    ):
        check_label_spellings({"Dukung": 5, "neutral": 5}, {"dukung": "supportive"}, "f")
    check_label_spellings({"Dukung": 5, "neutral": 5}, {"Dukung": "supportive"}, "f")
    # A file already mapped (e.g. a cross-validation fold written by netralitas) is fine.
    check_label_spellings({"neutral": 5, "supportive": 5}, {"Neutral": "neutral"}, "f")


def test_a_rare_label_is_an_error_with_the_counts():
    with pytest.raises(DataError) as info:
        check_label_counts({"neutral": 40, "supportive": 38, "suportive": 2}, 5, "train.jsonl")
    assert str(info.value) == (
        "train.jsonl: label(s) 'suportive' have fewer than 5 rows, too few to learn or evaluate a "
        "class (labels: 'neutral' 40, 'supportive' 38, 'suportive' 2). Fix or drop those rows, "
        "merge a misspelt label into another (--map suportive=supportive), or lower "
        "data.min_label_count"
    )
    with pytest.raises(DataError, match=re.escape("(--map dukungan=LABEL)")):
        check_label_counts({"neutral": 40, "supportive": 38, "dukungan": 1}, 5, "train.jsonl")
    check_label_counts({"neutral": 40, "supportive": 5}, 5, "train.jsonl")


def test_training_refuses_a_rare_label_and_the_limit_is_configurable(tmp_path, profile_path):
    rows = labelled_rows()
    rows[0]["label"] = "netral"  # one stray label: a 3-class model, unless refused
    data = write_rows_jsonl(tmp_path / "d.jsonl", rows)
    config = _config(tmp_path / "c.toml", profile_path, f'train = "{data}"')
    with pytest.raises(DataError, match=r"label\(s\) 'netral' have fewer than 5 rows"):
        load_splits(load_config(config), log=lambda _: None)
    fixed = f'train = "{data}"\nvalidation = "{data}"'
    config = _config(tmp_path / "c.toml", profile_path, fixed, "min_label_count = 1")
    splits = load_splits(load_config(config), log=lambda _: None)
    assert "netral" in {r.label for r in splits.train}
    with pytest.raises(ConfigError, match="min_label_count"):
        load_config(
            _config(tmp_path / "c.toml", profile_path, f'train = "{data}"', "min_label_count = 0")
        )


# -- several files, config keys ---------------------------------------------------------------------


def test_several_training_files_record_their_source(tmp_path, profile_path):
    rows = labelled_rows()
    export = _write_csv(tmp_path / "export.csv", _export_rows()[:30])
    # A reviewers' feedback export is in the record schema: read with the schema's own names.
    feedback = write_rows_jsonl(
        tmp_path / "feedback.jsonl",
        [{"text": r["text"] + " (ditinjau)", "label": r["label"]} for r in rows[30:]]
        + [{"text": "sudah ditandai", "label": "neutral", "source": "feedback"}],
    )
    config = _config(
        tmp_path / "c.toml",
        profile_path,
        f'train = ["{export}", "{feedback}"]\nvalidation = "{feedback}"\n'
        'columns = { text = "tweet", label = "kelas" }\n'
        'label_map = { dukung = "supportive", netral = "neutral" }',
    )
    notes: list[str] = []
    splits = load_splits(load_config(config), log=notes.append)
    sources = Counter(r.source for r in splits.train)
    assert sources == {str(export): 30, str(feedback): len(rows) - 30, "feedback": 1}
    assert {r.label for r in splits.train} == {"supportive", "neutral"}
    assert any(n.startswith(f"{export}: 30 rows; text from column 'tweet'") for n in notes)
    assert any("no column 'tweet': read 'text' as the text" in n for n in notes)


def test_look_alike_labels_across_files_are_caught(tmp_path):
    a = write_rows_jsonl(
        tmp_path / "a.jsonl", [{"text": f"a {i}", "label": "netral"} for i in range(6)]
    )
    b = write_rows_jsonl(
        tmp_path / "b.jsonl", [{"text": f"b {i}", "label": "Netral"} for i in range(6)]
    )
    with pytest.raises(
        DataError, match=re.escape(f"{a}, {b}: labels 'Netral' (6 rows) and 'netral' (6 rows)")
    ):
        load_files([a, b])


def test_config_keys_and_flags_merge(tmp_path, profile_path):
    config = _config(
        tmp_path / "c.toml",
        profile_path,
        'path = "x.csv"\ncolumns = { text = "tweet" }\nlabel_map = { dukung = "supportive" }',
    )
    options = load_config(config).data.read_options()
    assert options.columns == ColumnMap(text="tweet")
    merged = load_config(
        config, data_overrides={"columns": {"label": "kelas"}, "label_map": {"netral": "neutral"}}
    ).data
    assert merged.columns == ColumnMap(text="tweet", label="kelas")
    assert merged.label_map == {"dukung": "supportive", "netral": "neutral"}
    with pytest.raises(ConfigError, match=r"data\.columns\.txt"):
        load_config(
            _config(tmp_path / "d.toml", profile_path, 'path = "x"\ncolumns = { txt = "a" }')
        )


# -- the command line: train with flags and with a config, evaluate, score ---------------------------


@pytest.fixture(scope="module")
def export_model(tmp_path_factory, profile_path) -> dict[str, Path]:
    """A `;`-separated `tweet;kelas` export with dukung/netral labels, trained on with flags."""
    root = tmp_path_factory.mktemp("byod")
    export = _write_csv(root / "export.csv", _export_rows())
    config = _config(root / "c.toml", profile_path, f'path = "{root / "unused.jsonl"}"')
    model = root / "model"
    args = ["train", str(config), "--data", str(export), *FLAGS, *MAPS, "--output-dir", str(model)]
    assert main(args) == 0
    return {"root": root, "export": export, "model": model, "config": config}


def test_train_with_flags_learns_the_mapped_labels(export_model):
    meta = json.loads((export_model["model"] / "netralitas.json").read_text(encoding="utf-8"))
    assert meta["labels"] == ["neutral", "supportive"]
    data = meta["training_config"]["data"]
    assert data["columns"] == {"text": "tweet", "label": "kelas", "context": None, "id": None}
    assert data["label_map"] == {"dukung": "supportive", "netral": "neutral"}


def test_train_with_a_config_gives_the_same_model(export_model, profile_path, tmp_path):
    config = _config(
        tmp_path / "c.toml",
        profile_path,
        f'path = "{export_model["export"]}"\ncolumns = {{ text = "tweet", label = "kelas" }}\n'
        'label_map = { dukung = "supportive", netral = "neutral" }',
    )
    assert main(["train", str(config), "--output-dir", str(tmp_path / "m")]) == 0
    meta = json.loads((tmp_path / "m" / "netralitas.json").read_text(encoding="utf-8"))
    flags = json.loads((export_model["model"] / "netralitas.json").read_text(encoding="utf-8"))
    assert meta["labels"] == flags["labels"]
    assert meta["data_fingerprint"] == flags["data_fingerprint"]


def test_train_without_the_flags_says_which_flag(export_model, tmp_path, capsys):
    args = ["train", str(export_model["config"]), "--data", str(export_model["export"])]
    assert main([*args, "--output-dir", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "expected a text column named 'text'" in err and "Perhaps --text-column tweet?" in err
    assert not (tmp_path / "m").exists()


def test_train_on_unmapped_labels_names_the_neutral_label(export_model, tmp_path, capsys):
    args = ["train", str(export_model["config"]), "--data", str(export_model["export"]), *FLAGS]
    assert main([*args, "--output-dir", str(tmp_path / "m")]) == 2
    assert "data.neutral_label is 'neutral'" in capsys.readouterr().err


def test_cross_validate_with_flags(export_model, tmp_path, capsys):
    out = tmp_path / "cv.json"
    args = ["cross-validate", str(export_model["config"]), "--data", str(export_model["export"])]
    # The case fix in the map must not trip the folds, which netralitas writes already mapped.
    maps = [*MAPS, "--map", "Netral=neutral"]
    assert main([*args, *FLAGS, *maps, "--folds", "3", "--output", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["pooled_out_of_fold"]["n"] == len(
        labelled_rows()
    )
    assert "labels 'dukung' -> supportive" in capsys.readouterr().err


def test_evaluate_a_file_with_other_columns_as_is(export_model, capsys, tmp_path):
    args = ["evaluate", str(export_model["model"]), str(export_model["export"]), *FLAGS, *MAPS]
    assert main([*args, "--report-dir", str(tmp_path / "r")]) == 0
    captured = capsys.readouterr()
    assert "2 other column(s) kept but not used by the model: akun, tanggal" in captured.err
    assert json.loads((tmp_path / "r" / "eval.json").read_text(encoding="utf-8"))["n"] == len(
        labelled_rows()
    )


def _score(export_model, tmp_path, name: str, *extra: str) -> Path:
    out = tmp_path / name
    args = ["score", str(export_model["model"]), str(export_model["export"]), "--output", str(out)]
    assert main([*args, "--text-column", "tweet", *extra]) == 0
    return out


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    return pd.read_json(path, lines=True)


@pytest.mark.parametrize("name", ["scores.parquet", "scores.csv", "scores.jsonl"])
def test_score_output_joins_back_on_id(export_model, tmp_path, name):
    out = _score(export_model, tmp_path, name)
    scores = _read(out)
    source = pd.read_csv(export_model["export"], sep=";")
    assert list(scores["id"]) == list(source["id"])  # input order, integer ids
    assert scores["id"].dtype.kind == "i"
    columns = [c for c in scores.columns if c != "obfuscation"]  # when the Scorer reports it
    assert columns == [
        "id",
        "label",
        "decision",
        "score",
        "score_neutral",
        "score_supportive",
        "truncated",
        "model_name",
        "model_version",
        # The input's columns are carried through (all but the id, which is `id`).
        "tweet",
        "kelas",
        "akun",
        "tanggal",
    ]
    joined = source.merge(scores[["id", "score", "decision"]], on="id", validate="one_to_one")
    assert len(joined) == len(source) and joined["score"].between(0, 1).all()
    assert (scores["score"] - (1 - scores["score_neutral"])).abs().max() < 1e-5


def test_score_keep_columns_and_clashes(export_model, tmp_path, capsys):
    out = _score(
        export_model, tmp_path, "a.jsonl", "--label-column", "kelas", "--keep-columns", "akun"
    )
    row = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert set(row) - {"obfuscation"} == {
        "id", "label", "decision", "score", "score_neutral", "score_supportive",
        "truncated", "model_name", "model_version", "akun",
    }  # fmt: skip
    out = _score(export_model, tmp_path, "b.jsonl", "--keep-columns", "none")
    assert "tweet" not in json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    # An input column named like an output column is carried as input_<name>.
    labelled = write_rows_jsonl(tmp_path / "l.jsonl", labelled_rows()[:3])
    args = ["score", str(export_model["model"]), str(labelled), "--output", str(tmp_path / "l.csv")]
    assert main(args) == 0
    scored = pd.read_csv(tmp_path / "l.csv")
    assert list(scored["input_label"]) == [r["label"] for r in labelled_rows()[:3]]
    assert list(scored["id"]) == [r["id"] for r in labelled_rows()[:3]]
    capsys.readouterr()
    args = ["score", str(export_model["model"]), str(export_model["export"]), "--text-column"]
    assert main([*args, "tweet", "--keep-columns", "akun,nama"]) == 2
    assert "--keep-columns 'akun,nama': 'nama' not in" in capsys.readouterr().err


def test_score_to_an_unknown_suffix_fails_before_scoring_and_keeps_the_old_file(
    export_model, tmp_path, capsys
):
    old = tmp_path / "scores.txt"
    old.write_text("previous run\n", encoding="utf-8")
    args = ["score", str(export_model["model"]), str(export_model["export"]), "--output", str(old)]
    assert main([*args, "--text-column", "tweet"]) == 2
    err = capsys.readouterr().err
    assert "cannot tell the output format from the suffix '.txt'" in err
    assert ".jsonl, .ndjson, .csv, .tsv, .parquet" in err
    assert old.read_text(encoding="utf-8") == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.txt"]


def test_data_split_keeps_other_columns(export_model, tmp_path, capsys):
    out = tmp_path / "split"
    args = ["data", "split", str(export_model["export"]), "--out", str(out), *FLAGS, *MAPS]
    assert main(args) == 0
    rows = [
        json.loads(line)
        for name in ("train", "validation", "test")
        for line in (out / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert {r["label"] for r in rows} == {"supportive", "neutral"}
    assert all(r["akun"].startswith("@asn") and r["tanggal"].startswith("2029-") for r in rows)
    assert load_records(out / "train.jsonl")[0].extra.keys() == {"akun", "tanggal"}


def test_data_validate_reports_mapping_and_rare_labels(export_model, tmp_path, capsys):
    args = ["data", "validate", str(export_model["export"]), *FLAGS, "--map", "dukung=supportive"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "  text from column 'tweet'" in out and "  label from column 'kelas'" in out
    assert "labels 'dukung' -> supportive" in out
    rows = [*labelled_rows()[:12], {"text": "satu saja", "label": "lain"}]
    path = write_rows_jsonl(tmp_path / "d.jsonl", rows)
    assert main(["data", "validate", str(path)]) == 0
    assert "note: training refuses a label with fewer than 5 rows" in capsys.readouterr().out


# -- the output writer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Post:
    """A scored post as the Scorer gives it, with the obfuscation report of a newer Scorer."""

    id: str
    label: str = "neutral"
    decision: str = "clear"
    score: float = 0.25
    scores: dict | None = None
    truncated: bool = False
    model_name: str = "m"
    model_version: str = "1"
    obfuscation: tuple[str, ...] = ()


def test_obfuscation_is_written_as_a_list_or_joined(tmp_path):
    path = write_rows_jsonl(tmp_path / "p.jsonl", [{"text": "halo"}, {"text": "h4lo", "id": 9}])
    table = load_table(path, require_label=False)
    scores = {"neutral": 0.75, "supportive": 0.25}
    posts = [_Post("1", scores=scores), _Post("9", scores=scores, obfuscation=("leet", "spacing"))]
    rows = scored_rows(table, posts, ["neutral", "supportive"], keep_columns("all", table))
    assert [r["id"] for r in rows] == [1, 9]
    write_rows(rows, tmp_path / "o.parquet")
    assert pq.read_table(tmp_path / "o.parquet").column("obfuscation").to_pylist() == [
        [],
        ["leet", "spacing"],
    ]
    write_rows(rows, tmp_path / "o.csv")
    assert list(pd.read_csv(tmp_path / "o.csv", keep_default_na=False)["obfuscation"]) == [
        "",
        "leet; spacing",
    ]


def test_parquet_writes_mixed_id_types_as_text(tmp_path):
    rows = [{"id": 1, "x": {"a": 1}}, {"id": "b", "x": None}]
    write_rows(rows, tmp_path / "o.parquet")
    table = pq.read_table(tmp_path / "o.parquet")
    assert table.column("id").to_pylist() == ["1", "b"]
    assert table.column("x").to_pylist() == [{"a": 1}, None]


def test_write_jsonl_writes_other_columns_back(tmp_path):
    rows = [{"text": "halo", "label": "neutral", "akun": "@a", "extra": 1}]
    records = load_records(write_rows_jsonl(tmp_path / "in.jsonl", rows))
    assert records[0].extra == {"akun": "@a", "extra": 1}
    write_jsonl(records, tmp_path / "out.jsonl")
    again = load_records(tmp_path / "out.jsonl")
    assert again == records
