"""Hugging Face `datasets` interop (data/hf_dataset.py): a Dataset in, records or a scored Dataset
out, read the same way as a data file."""

from __future__ import annotations

import subprocess
import sys

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from netralitas.data.columns import ColumnMap, ReadOptions
from netralitas.data.errors import DataError
from netralitas.data.hf_dataset import records_from_dataset, score_dataset
from netralitas.data.records import load_records
from netralitas.model.scorer import Scorer

from .sample_data import labelled_rows, write_jsonl

MAP = {"dukung": "supportive", "netral": "neutral"}


def _export_rows() -> list[dict]:
    """The labelled sample as an agency export: other column names, labels in Indonesian."""
    return [
        {
            "tweet": row["text"],
            "kelas": "dukung" if row["label"] == "supportive" else "netral",
            "balasan_untuk": row.get("context"),
            "akun": f"akun-{i}",
        }
        for i, row in enumerate(labelled_rows())
    ]


def test_records_are_read_like_the_same_rows_in_a_file(tmp_path):
    rows = _export_rows()
    names = {"text_column": "tweet", "label_column": "kelas", "context_column": "balasan_untuk"}
    from_dataset = records_from_dataset(Dataset.from_list(rows), label_map=MAP, **names)
    options = ReadOptions(
        columns=ColumnMap(text="tweet", label="kelas", context="balasan_untuk"), label_map=MAP
    )
    from_file = load_records(write_jsonl(tmp_path / "export.jsonl", rows), options)
    assert from_dataset == from_file
    assert from_dataset[0].label == "supportive" and from_dataset[0].extra == {"akun": "akun-0"}
    assert any(r.context for r in from_dataset)


def test_a_class_label_column_is_read_as_names():
    features = Features(
        {"text": Value("string"), "label": ClassLabel(names=["neutral", "supportive"])}
    )
    ds = Dataset.from_dict({"text": ["Apel pagi", "Coblos no 2"], "label": [0, 1]}, features)
    assert [r.label for r in records_from_dataset(ds)] == ["neutral", "supportive"]


def test_bad_datasets_are_clear_errors():
    ds = Dataset.from_list(_export_rows()[:3])
    with pytest.raises(DataError, match=r"text column named 'text'.*'tweet'.*text_column="):
        records_from_dataset(ds, label_column="kelas")
    with pytest.raises(DataError, match=r"mapping of splits \(test\); pass one split"):
        records_from_dataset(DatasetDict({"test": ds}), text_column="tweet")
    with pytest.raises(DataError, match=r"expected a datasets\.Dataset, found list"):
        records_from_dataset([{"text": "x"}])
    blank = Dataset.from_dict({"text": ["ok", "  "], "label": ["neutral", "neutral"]})
    with pytest.raises(DataError, match=r"row 2: column 'text' \(text\): .*empty"):
        records_from_dataset(blank)
    spelled = Dataset.from_dict({"text": ["a", "b"], "label": ["netral", "Netral"]})
    with pytest.raises(DataError, match="Netral"):
        records_from_dataset(spelled)


def test_score_dataset_adds_the_score_columns_in_order(tfidf_artifact):
    scorer = Scorer.from_pretrained(tfidf_artifact)
    rows = _export_rows()[:6]
    ds = Dataset.from_list([{**row, "label": row["kelas"]} for row in rows])
    scored = score_dataset(scorer, ds, text_column="tweet", context_column="balasan_untuk")
    expected = list(
        scorer.score(
            records_from_dataset(
                ds, text_column="tweet", context_column="balasan_untuk", label_map=MAP
            )
        )
    )
    labels = scorer.metadata.labels
    assert scored.column_names == [
        "tweet",
        "kelas",
        "balasan_untuk",
        "akun",
        "input_label",  # the input's own `label` column, renamed as `netralitas score` does
        "label",
        "decision",
        "score",
        *(f"score_{label}" for label in labels),
        "truncated",
        "obfuscation",
        "model_name",
        "model_version",
    ]
    assert scored["tweet"] == ds["tweet"] and scored["input_label"] == ds["label"]
    assert scored["score"] == [p.score for p in expected]
    assert scored["decision"] == [p.decision for p in expected]
    assert scored["label"] == [p.label for p in expected]
    assert scored.features["score"] == Value("float64")


def test_score_dataset_refuses_a_row_without_text(tfidf_artifact):
    scorer = Scorer.from_pretrained(tfidf_artifact)
    with pytest.raises(DataError, match=r"row 2: column 'text' must hold the text.*filter"):
        score_dataset(scorer, Dataset.from_dict({"text": ["Coblos no 2", ""]}))


def test_importing_the_module_does_not_import_datasets():
    code = (
        "import sys; import netralitas.data.hf_dataset; "
        "print('datasets' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
