"""The package's annotations hold (STYLE: a typed public API). mypy, configured in pyproject.toml, finds no
error in `identcheck`, and the package ships the PEP 561 marker `py.typed`, so that a user's type checker reads
these annotations instead of treating identcheck as untyped. mypy runs cold, with a cache of this module's own
(about 20 s for the first test; the control then reads the cache)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mypy_cache")


def _mypy(cache: Path, *args: str) -> tuple[str, int]:
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache), *args])
    return out + err, status


def test_mypy_finds_no_error_in_the_package(cache):
    out, status = _mypy(cache, str(ROOT / "identcheck"))
    assert status == 0, out


def test_a_wrong_call_of_the_public_api_is_a_type_error(cache, monkeypatch):
    # Control: the same configuration reports a misuse of the API, so the test above cannot pass by reading none.
    monkeypatch.chdir(ROOT)
    out, status = _mypy(cache, "-c", "import identcheck\nidentcheck.check('model.yaml')\n")
    assert status == 1 and 'Argument 1 to "check" has incompatible type "str"; expected "SCM"' in out, out


def test_the_package_ships_the_py_typed_marker():
    assert importlib.resources.files("identcheck").joinpath("py.typed").is_file()
