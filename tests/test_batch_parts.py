"""Planning a batch run: the parts of a file, a directory or a glob, their outputs, fingerprints."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from netralitas.batch.parts import fingerprint, model_key, plan_parts
from netralitas.data.errors import DataError

from .batch_support import posts, write_parts


@pytest.fixture
def crawl(tmp_path):
    """A crawl's layout: hive-style folders, a marker file, a stray text file."""
    root = tmp_path / "posts"
    write_parts(root / "date=2030-05-01", posts(6), 2)
    write_parts(root / "date=2030-05-02", posts(3), 1)
    (root / "_SUCCESS").write_text("")
    (root / "date=2030-05-01" / ".part-9.jsonl.tmp").write_text("half")
    (root / "README.txt").write_text("crawler notes")
    return root


def test_a_directory_gives_one_part_per_file_mirrored_under_the_output(crawl, tmp_path):
    parts = plan_parts(str(crawl), str(tmp_path / "scores"), "parquet")
    assert [p.name for p in parts] == [
        "date=2030-05-01/part-000.jsonl",
        "date=2030-05-01/part-001.jsonl",
        "date=2030-05-02/part-000.jsonl",
    ]
    assert parts[0].output == str(tmp_path / "scores/date=2030-05-01/part-000.parquet")
    assert {p.format for p in parts} == {"jsonl"}
    assert all(p.size > 0 and p.mtime_ns > 0 for p in parts)


def test_a_glob_and_a_single_file(crawl, tmp_path):
    parts = plan_parts(str(crawl / "*/part-000.jsonl"), str(tmp_path / "out"), "jsonl")
    assert [p.name for p in parts] == [
        "date=2030-05-01/part-000.jsonl",
        "date=2030-05-02/part-000.jsonl",
    ]
    assert parts[1].output.endswith("out/date=2030-05-02/part-000.jsonl")
    one = plan_parts(str(crawl / "date=2030-05-02/part-000.jsonl"), str(tmp_path / "o"), "csv")
    assert [(p.name, p.output) for p in one] == [
        ("part-000.jsonl", str(tmp_path / "o" / "part-000.csv"))
    ]


def test_nothing_to_score_names_what_was_found(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "posts.xlsx").write_text("")
    (folder / "notes.txt").write_text("")
    with pytest.raises(DataError, match=r"nothing to score.*found 2 other file\(s\), e.g. notes"):
        plan_parts(str(folder), str(tmp_path / "out"), "parquet")
    with pytest.raises(DataError, match="no such file or directory; expected a data file"):
        plan_parts(str(tmp_path / "missing"), str(tmp_path / "out"), "parquet")
    with pytest.raises(DataError, match="--output-format 'xlsx': expected one of parquet"):
        plan_parts(str(folder), str(tmp_path / "out"), "xlsx")


def test_output_inside_the_input_and_clashing_names_are_refused(crawl, tmp_path):
    with pytest.raises(DataError, match="is inside the input"):
        plan_parts(str(crawl), str(crawl / "scores"), "parquet")
    shutil.copy(crawl / "date=2030-05-02/part-000.jsonl", crawl / "date=2030-05-02/part-000.csv")
    with pytest.raises(DataError, match="would both be written to"):
        plan_parts(str(crawl), str(tmp_path / "out"), "parquet")


def test_the_fingerprint_follows_the_input_the_model_and_the_options(
    crawl, tmp_path, tfidf_artifact
):
    model = model_key(tfidf_artifact)
    options = {"keep": "all"}
    part = plan_parts(str(crawl), str(tmp_path / "out"), "parquet")[0]
    same = plan_parts(str(crawl), str(tmp_path / "out"), "parquet")[0]
    assert fingerprint(part, model, options) == fingerprint(same, model, options)
    source = crawl / part.name
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000))  # rewritten by a crawler
    touched = plan_parts(str(crawl), str(tmp_path / "out"), "parquet")[0]
    assert fingerprint(touched, model, options) != fingerprint(part, model, options)
    assert fingerprint(part, model, {"keep": "none"}) != fingerprint(part, model, options)
    other = tmp_path / "retrained"
    shutil.copytree(tfidf_artifact, other)
    meta = json.loads((other / "netralitas.json").read_text(encoding="utf-8"))
    (other / "netralitas.json").write_text(json.dumps({**meta, "version": "2.0"}), "utf-8")
    assert fingerprint(part, model_key(other), options) != fingerprint(part, model, options)
    with pytest.raises(DataError, match="not a netralitas model"):
        model_key(tmp_path)
