"""The `netralitas` command line, called in-process: train, evaluate, score, data validate/split."""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path

import pytest

from netralitas.cli.main import main

PROFILE_TOML = """
format_version = 1
id = "pilbup-cli-2031"
title = "Pemilihan Bupati Uji CLI 2031"
election_type = "pilbup"
region = "Kabupaten Uji CLI"
year = 2031
fictional = true

[[contestants]]
number = 1
names = ["Ahmad Fauzan", "Rini Kartika"]
aliases = ["Pak Fauzan", "Bu Rini", "Fauzan-Rini"]
parties = ["Partai Padi"]
slogans = ["Desa Maju Bersama"]
hashtags = ["FauzanRini"]

[[contestants]]
number = 2
names = ["Bambang Surya"]
aliases = ["Mas Bambang"]
parties = ["Partai Ombak"]
slogans = []
hashtags = ["BambangMenang"]

[[parties]]
name = "Partai Padi"
aliases = ["Padi"]
number = 3

[[parties]]
name = "Partai Ombak"
aliases = []
"""

_CANDIDATES = [
    "Pak Fauzan",
    "Bu Rini",
    "Fauzan-Rini",
    "Mas Bambang",
    "Bambang Surya",
    "paslon nomor 1",
]
_SUPPORT = [
    "Ayo coblos {c}, {why}!",
    "Pokoknya {c} harus menang, {why}.",
    "Saya sekeluarga pilih {c}, {why} 👍",
    "Jangan pilih selain {c}, {why}!!",
    "Menangkan {c} di TPS kita, {why}",
    "{c} pemimpin sejati, {why}. Lanjutkan!",
]
_WHY = [
    "jalan desa sudah mulus",
    "guru honorer akhirnya diperhatikan",
    "pasar tradisional ramai lagi",
    "orangnya jujur dan merakyat",
    "petani dapat pupuk murah",
    "puskesmas buka sampai malam",
]
_NEUTRAL = [
    "{what} diadakan {when} di {where}, mohon hadir tepat waktu.",
    "Info: {what} {when} di {where} terbuka untuk umum.",
    "Jangan lupa {what} {when}, lokasinya di {where}.",
    "Pengumuman kantor: {what} dipindah ke {where} {when}.",
]
_WHAT = [
    "apel pagi",
    "senam bersama",
    "posyandu balita",
    "rapat koordinasi",
    "kerja bakti",
    "pelatihan komputer",
]
_WHEN = ["hari Senin", "besok pagi", "Jumat sore", "minggu depan", "tanggal 14"]
_WHERE = ["balai desa", "aula kecamatan", "lapangan RT 03", "kantor dinas", "gedung serbaguna"]
_CONTEXT_ROWS = [
    (
        "Siap pak, gas terus!",
        "Relawan Pak Fauzan kumpul besok, kita menangkan paslon 1!",
        "supportive",
    ),
    ("Siap pak, gas terus!", "Besok kerja bakti bersihkan selokan RT 04, jam 7 pagi.", "neutral"),
    (
        "Setuju, lanjutkan!",
        "Mas Bambang: lima tahun lagi kita tuntaskan jalan desa. Coblos nomor 2!",
        "supportive",
    ),
    (
        "Setuju, lanjutkan!",
        "Program vaksinasi anak di puskesmas dilanjutkan minggu depan.",
        "neutral",
    ),
    ("Mantap, sudah saya bagikan", "#FauzanRini menang satu putaran, sebarkan!", "supportive"),
    (
        "Mantap, sudah saya bagikan",
        "Jadwal pelayanan KTP keliling bulan ini sudah keluar.",
        "neutral",
    ),
]


def labelled_rows(n_per_label: int = 36) -> list[dict]:
    """Varied supportive and neutral posts, a few comments with context, and one duplicate pair."""
    rng = random.Random(7)
    rows: list[dict] = []
    seen: set[str] = set()
    while len(rows) < n_per_label:
        text = rng.choice(_SUPPORT).format(c=rng.choice(_CANDIDATES), why=rng.choice(_WHY))
        if text not in seen:
            seen.add(text)
            rows.append({"text": text, "label": "supportive", "tag": "support"})
    while len(rows) < 2 * n_per_label:
        text = rng.choice(_NEUTRAL).format(
            what=rng.choice(_WHAT), when=rng.choice(_WHEN), where=rng.choice(_WHERE)
        )
        if text not in seen:
            seen.add(text)
            rows.append({"text": text, "label": "neutral", "platform": "whatsapp"})
    rows += [
        {"text": t, "context": c, "label": label, "action": "comment", "group": f"ctx-{i // 2}"}
        for i, (t, c, label) in enumerate(_CONTEXT_ROWS)
    ]
    # Equal after normalisation: `data validate` and `data split` report exactly one duplicate.
    rows += [
        {"text": "Mantaaap pak!!", "label": "supportive"},
        {"text": "mantap pak!", "label": "supportive"},
    ]
    rng.shuffle(rows)
    for i, row in enumerate(rows):
        row["id"] = f"r{i:03d}"
    return rows


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _config(path: Path, data: Path, profile: Path, extra: str = "") -> Path:
    path.write_text(
        f"""
name = "cli-uji"
version = "0.0.1"
seed = 13
[data]
path = "{data}"
[profiles]
paths = ["{profile}"]
[thresholds]
precision_target = 0.8
[model]
kind = "tfidf"
C = 4.0
max_char_features = 5000
{extra}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    profile = root / "pilbup-cli-2031.toml"
    profile.write_text(PROFILE_TOML, encoding="utf-8")
    data = _write_jsonl(root / "labelled.jsonl", labelled_rows())
    return {
        "root": root,
        "profile": profile,
        "data": data,
        "config": _config(root / "config.toml", data, profile),
    }


@pytest.fixture(scope="module")
def trained(workspace) -> dict:
    """Train once per module through `main(["train", ...])`; keep its return code and output."""
    model_dir = workspace["root"] / "model"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["train", str(workspace["config"]), "--output-dir", str(model_dir)])
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "model": model_dir}


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- train -----------------------------------------------------------------------------------------


def test_train_writes_an_artifact(trained):
    assert trained["code"] == 0, trained["stderr"]
    assert "dropped 1 duplicates" in trained["stdout"]
    assert f"saved {trained['model']}" in trained["stdout"]
    meta = json.loads((trained["model"] / "netralitas.json").read_text(encoding="utf-8"))
    assert meta["labels"] == ["neutral", "supportive"]
    assert meta["profiles"] == ["pilbup-cli-2031"]
    assert meta["name"] == "cli-uji" and meta["version"] == "0.0.1"
    assert meta["training_config"]["model"]["C"] == 4.0
    assert 0.0 <= meta["thresholds"]["review"] <= meta["thresholds"]["flag"] <= 1.0
    assert {"out_of_fold", "test", "cross_fit"} <= set(meta["metrics"])  # cross-fitted


def test_train_says_what_the_threshold_rests_on_and_warns_on_few_positives(trained):
    out = trained["stdout"]
    assert "on out-of-fold scores of the" in out and "taking a side)" in out
    assert "review band from" in out
    assert "warning: only" in out and "fewer than 100" in out
    meta = json.loads((trained["model"] / "netralitas.json").read_text(encoding="utf-8"))
    thresholds = meta["thresholds"]
    assert thresholds["positives"] < 100 and thresholds["n"] >= thresholds["positives"]
    low, high = thresholds["precision_ci95"]
    assert 0 <= low <= thresholds["precision"] <= high <= 1


def test_train_with_an_unknown_config_key_returns_2(workspace, tmp_path, capsys):
    config = _config(
        tmp_path / "bad.toml", workspace["data"], workspace["profile"], extra="colour = 'red'"
    )
    assert main(["train", str(config), "--output-dir", str(tmp_path / "model")]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {config}: invalid training config")
    assert "colour" in captured.err and "Extra inputs are not permitted" in captured.err
    assert not (tmp_path / "model").exists()


def test_train_with_an_invalid_override_returns_2(workspace, tmp_path, capsys):
    args = [
        "train",
        str(workspace["config"]),
        "--set",
        "thresholds.precision_target=2",
        "--output-dir",
        str(tmp_path / "m"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "thresholds.precision_target" in err and "less than or equal to 1" in err
    assert not (tmp_path / "m").exists()


def test_train_with_both_data_sources_returns_2(workspace, tmp_path, capsys):
    args = ["train", str(workspace["config"]), "--set", f"data.train={workspace['data']}"]
    assert main([*args, "--output-dir", str(tmp_path / "m")]) == 2
    assert "either data.train" in capsys.readouterr().err


def test_train_on_one_file_with_data_splits_it(workspace, tmp_path, capsys):
    """`--data FILE` replaces a config's fixed train/validation files by one file, split here."""
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(
        workspace["config"]
        .read_text(encoding="utf-8")
        .replace(
            f'path = "{workspace["data"]}"',
            f'train = "{tmp_path / "absent-train.jsonl"}"\nvalidation = "{tmp_path / "absent.jsonl"}"',
        ),
        encoding="utf-8",
    )
    assert "absent-train" in fixed.read_text(encoding="utf-8")
    out = tmp_path / "m"
    args = ["train", str(fixed), "--data", str(workspace["data"]), "--output-dir", str(out)]
    assert main(args) == 0
    assert f"split {workspace['data']}: dropped 1 duplicates" in capsys.readouterr().out
    data = json.loads((out / "netralitas.json").read_text(encoding="utf-8"))["training_config"][
        "data"
    ]
    assert data["path"] == [str(workspace["data"])] and data["train"] is data["validation"] is None
    assert data["neutral_label"] == "neutral"


def test_cross_validate_scores_every_post_once(workspace, tmp_path, capsys):
    out = tmp_path / "cv.json"
    args = ["cross-validate", str(workspace["config"]), "--folds", "3", "--output", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert all(f"fold {i}: n=" in printed for i in range(3)) and "fold 3:" not in printed
    summary = json.loads(out.read_text(encoding="utf-8"))
    rows = [r for r in labelled_rows() if r.get("label")]
    assert summary["folds"] == 3 and summary["pooled_out_of_fold"]["n"] == len(rows)
    low, high = summary["pooled_out_of_fold"]["macro_f1_ci95"]
    assert 0 <= low <= summary["pooled_out_of_fold"]["macro_f1"] <= high <= 1
    assert 0 <= summary["macro_f1_argmax"]["mean"] <= 1 and summary["macro_f1_argmax"]["sd"] >= 0


def test_cross_validate_with_too_many_folds_returns_2(workspace, capsys):
    args = ["cross-validate", str(workspace["config"]), "--folds", "500"]
    assert main(args) == 2
    assert "500 folds need at least 500 rows of every label" in capsys.readouterr().err


def test_train_with_a_missing_config_returns_2(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.toml")]) == 2
    assert f"{tmp_path / 'nope.toml'} does not exist" in capsys.readouterr().err


def test_train_on_a_bad_data_file_returns_2_naming_the_line(workspace, tmp_path, capsys):
    rows = labelled_rows()
    rows[4] = {"text": "  ", "label": "neutral"}
    data = _write_jsonl(tmp_path / "bad.jsonl", rows)
    config = _config(tmp_path / "c.toml", data, workspace["profile"])
    assert main(["train", str(config), "--output-dir", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert f"{data}, line 5: field 'text'" in err
    assert not (tmp_path / "m").exists()


# -- evaluate --------------------------------------------------------------------------------------


def test_evaluate_writes_eval_json(trained, workspace, tmp_path, capsys):
    report = tmp_path / "reports"
    assert (
        main(
            ["evaluate", str(trained["model"]), str(workspace["data"]), "--report-dir", str(report)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "macro-F1" in out and "confusion" in out and f"wrote {report / 'eval.json'}" in out
    result = json.loads((report / "eval.json").read_text(encoding="utf-8"))
    assert {
        "macro_f1",
        "macro_f1_ci95",
        "per_class",
        "confusion_matrix",
        "pr_auc",
        "at_threshold",
    } <= set(result)
    n = len(labelled_rows())
    assert result["n"] == n
    low, high = result["macro_f1_ci95"]
    assert 0.0 <= low <= high <= 1.0
    assert 0.0 <= result["macro_f1"] <= 1.0 and 0.0 <= result["pr_auc"] <= 1.0
    assert set(result["per_class"]) == {"neutral", "supportive"}
    assert {"precision", "recall", "f1", "support"} <= set(result["per_class"]["neutral"])
    matrix = result["confusion_matrix"]
    assert matrix["labels"] == ["neutral", "supportive"]
    assert sum(map(sum, matrix["rows_true_cols_pred"])) == n
    assert {"threshold", "precision", "recall", "flagged"} <= set(result["at_threshold"])
    assert result["model"]["name"] == "cli-uji"


def test_evaluate_with_a_profile_and_a_missing_model(trained, workspace, tmp_path, capsys):
    args = [
        "evaluate",
        str(trained["model"]),
        str(workspace["data"]),
        "--report-dir",
        str(tmp_path),
    ]
    assert main([*args, "--profile", str(workspace["profile"])]) == 0
    assert (tmp_path / "eval.json").is_file()
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                str(tmp_path / "no-model"),
                str(workspace["data"]),
                "--report-dir",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert capsys.readouterr().err.startswith("error:")


# -- score -----------------------------------------------------------------------------------------

SCORE_ROWS = [
    {"id": "p-1", "text": "Ayo coblos Pak Fauzan, jalan desa sudah mulus!"},
    {"text": "Apel pagi diadakan hari Senin di balai desa."},
    {
        "id": "p-3",
        "text": "Siap pak, gas terus!",
        "context": "Relawan Mas Bambang kumpul besok, menangkan nomor 2!",
    },
    {"text": "Nasi goreng pak Kumis memang juara, antre dari sore"},
    {"id": "p-5", "text": "#BambangMenang pokoknya!!"},
]


def test_score_writes_one_row_per_input_row_in_order(trained, tmp_path, capsys):
    source = _write_jsonl(tmp_path / "posts.jsonl", SCORE_ROWS)
    output = tmp_path / "scores.jsonl"
    assert main(["score", str(trained["model"]), str(source), "--output", str(output)]) == 0
    assert capsys.readouterr().out == ""
    rows = _read_jsonl(output)
    # The id when given, else the 1-based row number (text, since the other ids are text).
    assert [r["id"] for r in rows] == ["p-1", "2", "p-3", "4", "p-5"]
    meta = json.loads((trained["model"] / "netralitas.json").read_text(encoding="utf-8"))
    flag = meta["thresholds"]["flag"]
    for row, source_row in zip(rows, SCORE_ROWS, strict=True):
        assert row["score_neutral"] + row["score_supportive"] == pytest.approx(1.0, abs=1e-5)
        assert row["score"] == pytest.approx(1.0 - row["score_neutral"], abs=1e-5)
        assert row["decision"] in {"flag", "review", "clear"}
        assert (row["decision"] == "flag") == (row["score"] >= flag)
        assert row["label"] == ("supportive" if row["decision"] == "flag" else "neutral")
        assert (row["model_name"], row["model_version"]) == ("cli-uji", "0.0.1")
        # The input's columns are carried through (all by default).
        assert row["text"] == source_row["text"]
        assert row["context"] == source_row.get("context")


def test_score_to_stdout_and_as_a_table(trained, tmp_path, capsys):
    source = _write_jsonl(tmp_path / "posts.jsonl", SCORE_ROWS)
    assert main(["score", str(trained["model"]), str(source)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["p-1", "2", "p-3", "4", "p-5"]
    assert main(["score", str(trained["model"]), str(source), "--table"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["id", "decision", "label", "score", "text"]
    assert "Nasi goreng pak Kumis" in table


def test_score_csv_input(trained, tmp_path, capsys):
    source = tmp_path / "posts.csv"
    source.write_text(
        "id,text,context\nx1,Ayo coblos Bu Rini!,\n,Kerja bakti besok pagi,\n", encoding="utf-8"
    )
    output = tmp_path / "scores.jsonl"
    assert main(["score", str(trained["model"]), str(source), "--output", str(output)]) == 0
    assert [r["id"] for r in _read_jsonl(output)] == ["x1", "2"]


def test_score_with_a_bad_row_writes_nothing(trained, tmp_path, capsys):
    rows = [*SCORE_ROWS[:2], {"id": "p-3", "txt": "salah kolom"}, *SCORE_ROWS[3:]]
    source = _write_jsonl(tmp_path / "posts.jsonl", rows)
    output = tmp_path / "scores.jsonl"
    assert main(["score", str(trained["model"]), str(source), "--output", str(output)]) == 2
    captured = capsys.readouterr()
    assert (
        f"{source}, line 3: field 'text' is required but missing (perhaps --text-column txt?)"
        in captured.err
    )
    assert captured.out == ""
    assert not output.exists()


# -- data ------------------------------------------------------------------------------------------


def test_data_validate(workspace, capsys):
    assert main(["data", "validate", str(workspace["data"])]) == 0
    out = capsys.readouterr().out
    n = len(labelled_rows())
    assert f"{workspace['data']}: {n} valid records; 1 duplicate(s) after normalisation" in out
    assert "label: supportive 41, neutral 39" in out
    assert "action: comment 6" in out
    assert "with context: 6 (8%)" in out


def test_data_validate_unlabelled_and_bad_files(tmp_path, capsys):
    source = _write_jsonl(tmp_path / "posts.jsonl", SCORE_ROWS)
    assert main(["data", "validate", str(source)]) == 2
    assert (
        f"{source}: expected a label column named 'label', found columns 'id', 'text', 'context'"
        in capsys.readouterr().err
    )
    assert main(["data", "validate", str(source), "--unlabelled"]) == 0
    assert f"{source}: 5 valid records" in capsys.readouterr().out


def test_data_split_writes_three_files(workspace, tmp_path, capsys):
    out_dir = tmp_path / "splits"
    assert (
        main(["data", "split", str(workspace["data"]), "--out", str(out_dir), "--seed", "3"]) == 0
    )
    printed = capsys.readouterr().out
    total = 0
    for name in ("train", "validation", "test"):
        rows = _read_jsonl(out_dir / f"{name}.jsonl")
        assert rows, name
        assert {r["label"] for r in rows} == {"neutral", "supportive"}
        counts = {
            label: sum(r["label"] == label for r in rows) for label in ("neutral", "supportive")
        }
        assert (
            f"{name}: {len(rows)} rows (neutral {counts['neutral']}, supportive {counts['supportive']})"
            in printed
        )
        total += len(rows)
    assert total == len(labelled_rows()) - 1
    assert "dropped 1 duplicate(s)" in printed and f"wrote {out_dir}" in printed
    # Rows sharing a group stay together.
    sides = {
        r["id"]: name
        for name in ("train", "validation", "test")
        for r in _read_jsonl(out_dir / f"{name}.jsonl")
    }
    rows = labelled_rows()
    for group in {r["group"] for r in rows if "group" in r}:
        assert len({sides[r["id"]] for r in rows if r.get("group") == group}) == 1


def test_data_split_on_too_few_rows_returns_2(tmp_path, capsys):
    source = _write_jsonl(tmp_path / "tiny.jsonl", labelled_rows()[:6])
    assert main(["data", "split", str(source), "--out", str(tmp_path / "out")]) == 2
    assert str(source) in capsys.readouterr().err
