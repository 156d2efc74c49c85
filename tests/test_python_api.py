"""The README's "Python API" section runs as written (on the test model and data), and the names it
documents are the modules' public ones."""

from __future__ import annotations

import contextlib
import importlib
import io
import re
from pathlib import Path

import pytest

from .sample_data import evaluation_rows, write_jsonl

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _python_blocks(section: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_python_api_examples_run(tfidf_artifact, tmp_path):
    data = write_jsonl(tmp_path / "test.jsonl", evaluation_rows())
    blocks = _python_blocks(_section("Python API"))
    assert len(blocks) == 2
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            code = block.replace('"artifacts/baseline"', repr(str(tfidf_artifact)))
            code = code.replace('"data/starter/test.jsonl"', repr(str(data)))
            exec(compile(code, str(README), "exec"), namespace)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[0] in ("flag", "review", "clear")
    assert re.match(r"macro-F1 [01]\.\d+ \[", lines[1])
    assert "tweet" in lines[2] and "decision" in lines[2] and "score" in lines[2]
    assert [r.label for r in namespace["records"]] == ["supportive", "neutral"]
    assert namespace["scored"].num_rows == 2


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("netralitas.model.scorer", ["Scorer"]),
        ("netralitas.model.loading", ["load_classifier"]),
        ("netralitas.model.records", ["Record"]),
        ("netralitas.data.records", ["load_records"]),
        ("netralitas.evaluation.evaluate", ["evaluate_model"]),
        ("netralitas.data.hf_dataset", ["records_from_dataset", "score_dataset"]),
        ("netralitas.model.preview", ["model_views"]),
    ],
)
def test_the_documented_names_are_public(module, names):
    table = _section("Python API")
    assert f"from {module} import {', '.join(names)}" in table
    assert set(names) <= set(importlib.import_module(module).__all__)
