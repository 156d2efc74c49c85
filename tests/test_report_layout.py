"""How the evaluation report and `netralitas evaluate` present numbers: counts as integers, one
header row per table, every column labelled, flips shown apart from non-flips, nothing empty."""

from __future__ import annotations

import copy
import re

import pytest

from netralitas.cli.main import main
from netralitas.data.records import load_records
from netralitas.evaluation import tables
from netralitas.evaluation.evaluate import evaluate_model
from netralitas.evaluation.report import render_report
from netralitas.model.loading import load_classifier

from .sample_data import evaluation_rows, write_jsonl

COUNT_ROWS = ("posts", "posts flagged", "decision: flag", "decision: review", "decision: clear")


@pytest.fixture(scope="module")
def full(tfidf_artifact, tmp_path_factory):
    data = write_jsonl(tmp_path_factory.mktemp("layout") / "full.jsonl", evaluation_rows())
    return evaluate_model(load_classifier(tfidf_artifact), load_records(data), min_slice_size=10)


@pytest.fixture(scope="module")
def bare_file(tmp_path_factory):
    """Only text, label and context: no tag, election, platform, source, action."""
    rows = [
        {k: v for k, v in row.items() if k in ("id", "text", "label", "context")}
        for row in evaluation_rows()
    ]
    return write_jsonl(tmp_path_factory.mktemp("layout") / "bare.jsonl", rows)


def _cell(page: str, row: str) -> str:
    match = re.search(rf"<th>{re.escape(row)}</th>\s*<td>([^<]*)</td>", page)
    assert match, f"no row {row!r} in the report"
    return match.group(1)


def test_counts_are_integers_in_the_headline(full):
    page = render_report(full.result)
    assert _cell(page, "posts") == str(full.result["n"])
    for row in COUNT_ROWS:
        assert re.fullmatch(r"\d+", _cell(page, row)), row
    assert re.fullmatch(r"[01](\.\d{1,3})?", _cell(page, "macro-F1 at the stored threshold"))
    assert isinstance(tables.headline_table(full.result).loc["posts", "value"], int)


def test_every_table_has_one_header_row_with_no_empty_name_row(full):
    page = render_report(full.result)
    heads = re.findall(r"<thead>(.*?)</thead>", page, flags=re.S)
    assert len(heads) >= 8
    for head in heads:
        assert head.count("<tr") == 1, head
    assert "<th>metric</th>" not in page
    assert "<th>true \\ predicted</th>" in page


def test_the_cli_slices_table_labels_every_column(tfidf_artifact, bare_file, tmp_path, capsys):
    args = ["evaluate", str(tfidf_artifact), str(bare_file), "--report-dir", str(tmp_path)]
    assert main([*args, "--min-slice-size", "1000"]) == 0
    out = capsys.readouterr().out
    lines = out[out.index("\nslices") :].splitlines()
    header, rule = lines[2], lines[3]
    assert re.split(r"\s{2,}", header.strip()) == [
        "dimension",
        "slice",
        "n",
        "accuracy",
        "too small",
    ]
    assert len(rule.split()) == 5
    assert all(line.rstrip().endswith("yes") for line in lines[4:8])


def test_flips_and_non_flips_are_shown_under_their_own_headings(full):
    result = copy.deepcopy(full.result)
    example = {
        "id": "x",
        "label": "supportive",
        "reference": "Coblos Kang Sukma",
        "perturbed": "Coblos Pak Hendro",
        "score_before": 0.9,
        "score_after": 0.2,
    }
    result["robustness"]["swap_contestants"]["examples"] = [
        {**example, "label_before": "supportive", "label_after": "neutral"},
        {**example, "id": "y", "label_before": "neutral", "label_after": "neutral"},
    ]
    page = render_report(result)
    assert "Examples:" not in page
    flips = page[page.index("<h3>Flips: swap_contestants</h3>") :]
    flips = flips[: flips.index("</table>")]
    assert "<td>x</td>" in flips and "<td>y</td>" not in flips
    others = page[page.index("<h3>Largest score shifts without a flip: swap_contestants</h3>") :]
    others = others[: others.index("</table>")]
    assert "<td>y</td>" in others and "<td>x</td>" not in others
    frame = tables.robustness_examples_table(result, "swap_contestants")
    assert list(frame["flipped"]) == ["yes", "no"]


def test_absent_fields_leave_no_empty_tables(tfidf_artifact, bare_file):
    evaluation = evaluate_model(
        load_classifier(tfidf_artifact), load_records(bare_file), with_robustness=False
    )
    page = render_report(evaluation.result)
    assert "Per tag" not in page and "By tag" not in page and "By election" not in page
    assert "(nothing to show)" not in page
    assert tables.per_tag_table(evaluation.result).empty
