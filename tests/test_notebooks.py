"""The research notebooks run top to bottom on a tiny artifact, and are committed without outputs.

Each notebook is executed with nbclient in a kernel that runs this interpreter (the project's venv),
after its `parameters` cell (papermill-style) is replaced with the test's values. A cell error fails
the test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

from .sample_data import evaluation_rows, write_jsonl

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "netralitas-tests"


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernel spec for this very interpreter, found first through JUPYTER_PATH.

    The `python3` spec a user may have elsewhere could point at another Python without netralitas.
    """
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(root))
        yield KERNEL


# Fields a user's data may lack; 03 and 04 run on data without them and must say so, never show
# an empty table.
OPTIONAL_FIELDS = ("tag", "election", "platform", "source", "action", "group")
SAYS_WHAT_IS_MISSING = {
    "03_compare.ipynb": ["No per-tag table: the data has no `tag` field."],
    "04_robustness.ipynb": [
        "No per-election table: the data has no `election` field.",
        "flip(s) among",
    ],
}


@pytest.fixture(scope="module")
def parameters(tmp_path_factory, tfidf_artifact) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("nbdata")
    data = write_jsonl(folder / "labelled.jsonl", evaluation_rows())
    bare_rows = [
        {k: v for k, v in row.items() if k not in OPTIONAL_FIELDS} for row in evaluation_rows()
    ]
    bare = write_jsonl(folder / "bare.jsonl", bare_rows)
    common = {"model_dir": str(tfidf_artifact), "data_path": str(data)}
    return {
        "01_evaluate.ipynb": {**common, "min_slice_size": 10},
        "02_errors.ipynb": {**common, "k": 3},
        "03_compare.ipynb": {
            **common,
            "data_path": str(bare),
            "other_model_dir": str(tfidf_artifact),
        },
        "04_robustness.ipynb": {
            **common,
            "data_path": str(bare),
            "cross_runs": [["same", common["model_dir"], str(data)]],
        },
    }


def _parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, "a notebook needs exactly one cell tagged 'parameters'"
    return cells[0]


def test_every_notebook_has_test_parameters(parameters):
    assert NOTEBOOKS and set(NOTEBOOKS) == set(parameters)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: strip outputs"
    cell = _parameters_cell(nb)
    names = {line.split("=")[0].strip() for line in cell.source.splitlines() if "=" in line}
    assert {"model_dir", "data_path"} <= names


@pytest.fixture(scope="module")
def executed(parameters, kernel_name, tmp_path_factory) -> dict[str, tuple]:
    """Run every notebook once, all at the same time (kernels mostly wait on imports).

    Returns `{name: (executed notebook, exception or None)}`; the tests below report each one.
    """
    import asyncio

    from nbclient import NotebookClient

    async def run(name: str) -> tuple:
        nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
        cell = _parameters_cell(nb)
        # Like papermill: the defaults stay, the injected values follow and win.
        injected = "\n".join(f"{k} = {v!r}" for k, v in parameters[name].items())
        cell.source += "\n# injected by the test\n" + injected
        workdir = tmp_path_factory.mktemp(name.removesuffix(".ipynb"))
        client = NotebookClient(
            nb, kernel_name=kernel_name, timeout=180, resources={"metadata": {"path": str(workdir)}}
        )
        try:
            await client.async_execute()
        except Exception as exc:  # CellExecutionError names the failing cell; re-raised below
            return nb, exc
        return nb, None

    async def run_all() -> list[tuple]:
        return await asyncio.gather(*(run(name) for name in NOTEBOOKS))

    return dict(zip(NOTEBOOKS, asyncio.run(run_all()), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, executed):
    nb, error = executed[name]
    if error is not None:
        raise error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # Every notebook shows at least one table or figure, and never an empty table.
    shown = [o for o in outputs if o.output_type in ("display_data", "execute_result")]
    assert shown
    empty = [o for o in shown if o.data.get("text/plain", "").startswith("Empty DataFrame")]
    assert not empty, f"{name} shows an empty table; say what is missing instead"
    printed = "".join(o.text for o in outputs if o.output_type == "stream")
    for line in SAYS_WHAT_IS_MISSING.get(name, []):
        assert line in printed, f"{name} should print {line!r}"
