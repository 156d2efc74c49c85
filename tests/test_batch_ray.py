"""The Ray engine on a local Ray instance (started once for the module): the local engine's
parts, row for row; the same resume rule; a clear error where Ray is not installed."""

from __future__ import annotations

import sys

import pytest

from netralitas.batch.parts import model_key, plan_parts
from netralitas.batch.stream import Job, ScoreOptions
from netralitas.cli.main import main
from netralitas.data.errors import DataError

from .batch_support import posts, read_rows, write_parts

# Ray Data warns about its own deprecated settings when it creates its context
# (ray/data/context.py, Ray 2.60): not ours to fix, and the suite turns warnings into errors.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray", reason="the Ray engine needs: pip install 'netralitas[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="error", log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_engine_writes_the_local_engine_parts(ray_instance, tfidf_artifact, tmp_path, capsys):
    source = tmp_path / "crawl"
    write_parts(source, posts(90), 5)
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    common = ["score", str(tfidf_artifact), str(source), "--batch-rows", "7"]
    assert main([*common, "--output", str(local)]) == 0
    assert main([*common, "--output", str(on_ray), "--engine", "ray", "--workers", "2"]) == 0
    err = capsys.readouterr().err
    assert "engine ray" in err and "wrote 5 part(s) (90 rows)" in err
    names = sorted(p.name for p in local.iterdir())
    assert sorted(p.name for p in on_ray.iterdir()) == names and len(names) == 5
    for name in names:
        ours, theirs = read_rows(on_ray / name), read_rows(local / name)
        assert [r["id"] for r in ours] == [r["id"] for r in theirs]  # same rows, same order
        for a, b in zip(ours, theirs, strict=True):
            assert a["score"] == pytest.approx(b["score"], abs=1e-6)
            assert {k: v for k, v in a.items() if not k.startswith("score")} == {
                k: v for k, v in b.items() if not k.startswith("score")
            }
    # The same resume rule: the local engine's parts are done for the Ray engine too.
    assert main([*common, "--output", str(local), "--engine", "ray"]) == 0
    err = capsys.readouterr().err
    assert err.count("skip part-") == 5 and "5 already done" in err


def test_a_failing_part_on_ray_says_which_row(ray_instance, tfidf_artifact, tmp_path):
    from netralitas.batch.ray_engine import run_ray

    source = tmp_path / "crawl"
    write_parts(source, [*posts(4), {"txt": "salah kolom"}], 1)
    job = Job(
        plan_parts(str(source), str(tmp_path / "out"), "parquet"),
        ScoreOptions(),
        model_key(tfidf_artifact),
    )
    with pytest.raises(DataError, match=r"line 5: field 'text' is required but missing"):
        run_ray(str(tfidf_artifact), job, log=lambda _: None, progress=False)
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == []  # nothing half-written


def test_without_ray_the_error_says_how_to_install_it(
    tfidf_artifact, tmp_path, monkeypatch, capsys
):
    source = tmp_path / "crawl"
    write_parts(source, posts(4), 1)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    args = ["score", str(tfidf_artifact), str(source), "--output", str(tmp_path / "out")]
    assert main([*args, "--engine", "ray"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'netralitas[ray]'" in err and "--engine local" in err
