"""Resuming: a run killed (kill -9) or interrupted mid-way goes on where it stopped, with no part
lost, none written twice and no temporary file left; a changed input or model scores its parts
again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netralitas.cli.main import main

from .batch_support import posts, read_rows, write_parts

ROOT = Path(__file__).resolve().parents[1]
PARTS = 12
ROWS = 240

# `netralitas score`, slowed down by 0.05 s a batch so that the test can kill it mid-way.
SLOW_SCORE = """
import sys, time
import netralitas.batch.stream as stream
real = stream.scored_rows
def slow(*args, **kwargs):
    time.sleep(0.05)
    return real(*args, **kwargs)
stream.scored_rows = slow
from netralitas.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def _all_rows(out: Path, suffix: str = ".parquet") -> list[dict]:
    return [row for part in sorted(out.glob(f"*{suffix}")) for row in read_rows(part)]


def test_a_run_killed_with_sigkill_resumes_without_loss_or_duplicates(
    tfidf_artifact, tmp_path, capsys
):
    source, out = tmp_path / "crawl", tmp_path / "scores"
    write_parts(source, posts(ROWS), PARTS)  # 20 rows a part, 4 batches of 5
    args = ["score", str(tfidf_artifact), str(source), "--output", str(out), "--batch-rows", "5"]
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SCORE, *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("*.parquet"))) < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = sorted(p.name for p in out.glob("*.parquet"))
    assert 3 <= len(done_before) < PARTS

    assert main(args) == 0
    err = capsys.readouterr().err
    skipped = [line for line in err.splitlines() if line.startswith("skip ")]
    assert len(skipped) == len(done_before)
    assert f"wrote {PARTS - len(done_before)} part(s)" in err
    assert f"{len(done_before)} already done" in err
    rows = _all_rows(out)
    assert len(rows) == ROWS
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == ROWS  # every post once
    assert texts == [p["text"] for p in posts(ROWS)]  # and in input order, part by part
    assert _leftovers(out) == []


def test_ctrl_c_keeps_finished_parts_and_removes_the_one_in_progress(
    tfidf_artifact, tmp_path, capsys, monkeypatch
):
    import netralitas.batch.stream as stream

    source, out = tmp_path / "crawl", tmp_path / "scores"
    write_parts(source, posts(60), 6)
    args = ["score", str(tfidf_artifact), str(source), "--output", str(out)]
    args += ["--batch-rows", "4", "--output-format", "jsonl"]
    real, calls = stream.scored_rows, []

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 8:  # the third batch of the third part (3 batches a part)
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(stream, "scored_rows", interrupted)
    assert main(args) == 130
    assert "interrupted: parts already written are kept" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [
        "part-000.jsonl",
        "part-000.jsonl.done.json",
        "part-001.jsonl",
        "part-001.jsonl.done.json",
    ]
    monkeypatch.setattr(stream, "scored_rows", real)
    assert main(args) == 0
    assert "wrote 4 part(s) (40 rows)" in capsys.readouterr().err
    assert len(_all_rows(out, ".jsonl")) == 60
    assert _leftovers(out) == []


def test_a_changed_input_or_model_scores_its_parts_again(tfidf_artifact, tmp_path, capsys):
    source, out = tmp_path / "crawl", tmp_path / "scores"
    files = write_parts(source, posts(30), 3)
    args = ["score", str(tfidf_artifact), str(source), "--output", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    files[1].write_text(files[1].read_text("utf-8") + json.dumps({"text": "baru"}) + "\n", "utf-8")
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "rescore part-001.jsonl" in err and "wrote 1 part(s) (11 rows)" in err
    assert len(read_rows(out / "part-001.parquet")) == 11

    retrained = tmp_path / "retrained"
    shutil.copytree(tfidf_artifact, retrained)
    meta = json.loads((retrained / "netralitas.json").read_text(encoding="utf-8"))
    (retrained / "netralitas.json").write_text(json.dumps({**meta, "version": "9.9"}), "utf-8")
    assert main(["score", str(retrained), *args[2:]]) == 0
    assert "wrote 3 part(s) (31 rows)" in capsys.readouterr().err
    assert {r["model_version"] for r in _all_rows(out)} == {"9.9"}


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_text_part_without_its_done_marker_is_scored_again(tfidf_artifact, tmp_path, capsys, fmt):
    """A crash between a JSON Lines or CSV part's rename and its marker's: scored again."""
    source, out = tmp_path / "crawl", tmp_path / "scores"
    write_parts(source, posts(10), 2)
    args = ["score", str(tfidf_artifact), str(source), "--output", str(out), "--output-format", fmt]
    assert main(args) == 0
    (out / f"part-000.{fmt}.done.json").unlink()
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "skip part-001.jsonl" in err and "wrote 1 part(s) (5 rows)" in err
