"""Streaming one part: row for row what the whole-file path writes, in batches of bounded size."""

from __future__ import annotations

import json
import math

import pytest

from netralitas.batch.parts import model_key, plan_parts
from netralitas.batch.sink import METADATA_KEY, read_stamp
from netralitas.batch.stream import Job, ScoreOptions, score_part
from netralitas.cli.main import main
from netralitas.data.columns import ColumnMap, ReadOptions
from netralitas.data.errors import DataError
from netralitas.data.output import write_rows
from netralitas.data.records import json_default
from netralitas.model.scorer import Scorer

from .batch_support import posts, read_rows, whole_file_rows
from .sample_data import write_jsonl


def _as_json(rows):
    return [json.loads(json.dumps(r, ensure_ascii=False, default=json_default)) for r in rows]


@pytest.fixture(scope="module")
def scorer(tfidf_artifact):
    return Scorer.from_pretrained(tfidf_artifact)


def _job(tmp_path, source, fmt, options, model_dir):
    parts = plan_parts(str(source), str(tmp_path / f"out-{fmt}"), fmt)
    return Job(parts, options, model_key(model_dir))


@pytest.mark.parametrize("batch_rows", [1, 7, 10_000])
def test_jsonl_part_equals_the_whole_file_path(tfidf_artifact, scorer, tmp_path, batch_rows):
    rows = posts(23)
    rows[4]["late_column"] = {"nested": [1, 2]}  # a key that appears after the first batch
    source = write_jsonl(tmp_path / "posts.jsonl", rows)
    job = _job(tmp_path, source, "jsonl", ScoreOptions(batch_rows=batch_rows), tfidf_artifact)
    part = job.parts[0]
    assert score_part(scorer, part, job.options, job.fingerprint(part)) == 23
    streamed = read_rows(tmp_path / "out-jsonl" / "posts.jsonl")
    expected = _as_json(whole_file_rows(tfidf_artifact, source))
    assert streamed == expected
    # Rows without an id are numbered as text, like the whole file's other ids, batch or not.
    assert streamed[3]["id"] == "4" and streamed[8]["id"] == "9"


def test_csv_and_parquet_parts_equal_the_whole_file_path(tfidf_artifact, scorer, tmp_path):
    import pandas as pd

    rows = [{**r, "id": i * 10} if "id" in r else r for i, r in enumerate(posts(17))]
    frame = pd.DataFrame(rows).astype({"id": "Int64"})  # whole numbers, some missing
    csv_path, parquet_path = tmp_path / "in" / "posts.csv", tmp_path / "in" / "more.parquet"
    csv_path.parent.mkdir()
    frame.rename(columns={"text": "tweet"}).to_csv(csv_path, index=False, sep=";")
    frame.to_parquet(parquet_path)
    options = ScoreOptions(ReadOptions(columns=ColumnMap(text="tweet")), "none", batch_rows=4)
    csv_job = _job(tmp_path, csv_path, "parquet", options, tfidf_artifact)
    part = csv_job.parts[0]
    score_part(scorer, part, options, csv_job.fingerprint(part))
    write_rows(
        whole_file_rows(tfidf_artifact, csv_path, options.read, "none"), tmp_path / "w.parquet"
    )
    streamed = read_rows(tmp_path / "out-parquet" / "posts.parquet")
    assert streamed == read_rows(tmp_path / "w.parquet")
    # CSV ids that are all whole numbers come back as integers, in every batch.
    assert [r["id"] for r in streamed[:5]] == [0, 10, 20, 4, 40]

    pq_job = _job(tmp_path, parquet_path, "parquet", ScoreOptions(batch_rows=5), tfidf_artifact)
    part = pq_job.parts[0]
    score_part(scorer, part, pq_job.options, pq_job.fingerprint(part))
    write_rows(whole_file_rows(tfidf_artifact, parquet_path), tmp_path / "w2.parquet")
    import pyarrow.parquet as pq

    ours, theirs = pq.read_table(part.output), pq.read_table(tmp_path / "w2.parquet")
    assert ours.to_pylist() == theirs.to_pylist()
    assert ours.schema.remove_metadata() == theirs.schema.remove_metadata()
    stamp = json.loads(ours.schema.metadata[METADATA_KEY])
    assert stamp["fingerprint"] == pq_job.fingerprint(part)
    assert read_stamp(part.output, "parquet") == stamp


def test_memory_is_bounded_by_the_batch(tfidf_artifact, scorer, tmp_path, monkeypatch):
    """The part is read, scored and written `batch_rows` rows at a time, never whole."""
    import netralitas.batch.stream as stream

    source = write_jsonl(tmp_path / "posts.jsonl", posts(50))
    scored: list[int] = []
    mapped: list[int] = []
    real_score, real_table = Scorer.score, stream.table_of_rows

    def spy_score(self, records, **kwargs):
        scored.append(len(records))
        return real_score(self, records, **kwargs)

    def spy_table(path, raw_rows, *args, **kwargs):
        mapped.append(len(raw_rows))
        return real_table(path, raw_rows, *args, **kwargs)

    monkeypatch.setattr(Scorer, "score", spy_score)
    monkeypatch.setattr(stream, "table_of_rows", spy_table)
    job = _job(tmp_path, source, "parquet", ScoreOptions(batch_rows=8), tfidf_artifact)
    assert score_part(scorer, job.parts[0], job.options, job.fingerprint(job.parts[0])) == 50
    assert mapped == scored == [8] * 6 + [2]
    assert len(scored) == math.ceil(50 / 8)
    import pyarrow.parquet as pq

    assert pq.ParquetFile(job.parts[0].output).metadata.num_row_groups == 7  # one per batch


def test_a_bad_row_in_a_later_batch_writes_nothing(tfidf_artifact, scorer, tmp_path):
    rows = posts(20)
    rows[13] = {"id": "x", "txt": "salah kolom"}
    source = write_jsonl(tmp_path / "posts.jsonl", rows)
    job = _job(tmp_path, source, "jsonl", ScoreOptions(batch_rows=5), tfidf_artifact)
    with pytest.raises(DataError, match=r"line 14: field 'text' is required but missing"):
        score_part(scorer, job.parts[0], job.options, job.fingerprint(job.parts[0]))
    out = tmp_path / "out-jsonl"
    assert not out.exists() or list(out.iterdir()) == []  # no part, no marker, no temporary


def test_cli_scores_a_directory_into_parts_and_a_file_into_a_file(tfidf_artifact, tmp_path, capsys):
    source = tmp_path / "crawl"
    source.mkdir()
    write_jsonl(source / "a.jsonl", posts(9, prefix="a"))
    write_jsonl(source / "b.jsonl", posts(4, prefix="b"))
    out = tmp_path / "scores"
    args = ["score", str(tfidf_artifact), str(source), "--output", str(out), "--batch-rows", "3"]
    assert main([*args, "--output-format", "jsonl"]) == 0
    err = capsys.readouterr().err
    assert "2 part(s) from" in err and "wrote 2 part(s) (13 rows)" in err
    assert sorted(p.name for p in out.iterdir()) == [
        "a.jsonl",
        "a.jsonl.done.json",
        "b.jsonl",
        "b.jsonl.done.json",
    ]
    assert json.loads((out / "a.jsonl.done.json").read_text())["rows"] == 9
    assert read_rows(out / "a.jsonl") == _as_json(
        whole_file_rows(tfidf_artifact, source / "a.jsonl")
    )
    # One file into one file: streamed too, no marker beside it; today's rows.
    single = tmp_path / "single.parquet"
    assert (
        main(["score", str(tfidf_artifact), str(source / "a.jsonl"), "--output", str(single)]) == 0
    )
    assert read_rows(single) == read_rows(out / "a.jsonl")
    assert sorted(
        p.name for p in tmp_path.iterdir() if p.name.startswith(("single", ".single"))
    ) == ["single.parquet"]
    # A directory needs a directory to write to; --engine ray needs one too.
    assert main(["score", str(tfidf_artifact), str(source)]) == 2
    assert "name it with --output" in capsys.readouterr().err
    assert main(["score", str(tfidf_artifact), str(source / "a.jsonl"), "--output",
                 str(tmp_path / "x.jsonl"), "--engine", "ray"]) == 2  # fmt: skip
    assert "give a directory --output" in capsys.readouterr().err


def test_parquet_types_are_the_whole_file_types_when_a_column_changes_kind(
    tfidf_artifact, scorer, tmp_path
):
    """Ids that are numbers in the first batch and text later, a count with a decimal late, a
    column empty at first: each Parquet column gets the type the whole file gives it."""
    import pyarrow.parquet as pq

    rows = posts(12)
    for i, row in enumerate(rows):
        row["id"] = i if i < 6 else f"x{i}"
        row["shares"] = 2.5 if i == 10 else i
        row["note"] = None if i < 8 else "cek"
        row["flagged"] = True if i == 9 else (None if i < 5 else i)
    source = write_jsonl(tmp_path / "mixed.jsonl", rows)
    job = _job(tmp_path, source, "parquet", ScoreOptions(batch_rows=4), tfidf_artifact)
    score_part(scorer, job.parts[0], job.options, job.fingerprint(job.parts[0]))
    write_rows(whole_file_rows(tfidf_artifact, source), tmp_path / "whole.parquet")
    ours, theirs = pq.read_table(job.parts[0].output), pq.read_table(tmp_path / "whole.parquet")
    assert ours.schema.remove_metadata() == theirs.schema.remove_metadata()
    assert ours.to_pylist() == theirs.to_pylist()
    assert ours.schema.field("id").type == "string" and ours.column("id")[0].as_py() == "0"
    assert ours.schema.field("shares").type == "double"
