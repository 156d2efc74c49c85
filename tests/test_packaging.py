"""Every package folder of the six layers is listed in pyproject.toml, so a regular (non-editable)
install ships it; an editable install would hide a missing entry."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]


def _listed() -> set[str]:
    return set(_setuptools()["packages"])


def _found() -> set[str]:
    found = set()
    for package, folder in _setuptools()["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join([package, *rel]))
    return found


def test_every_package_folder_is_listed():
    found = _found()
    assert "netralitas.model.backends.transformer" in found  # the scan sees subpackages
    assert found - _listed() == set(), "add these to [tool.setuptools] packages"
    assert _listed() - found == set(), "these listed packages have no __init__.py"
