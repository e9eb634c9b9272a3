"""The docstring examples of the scripts under benchmarks/ run and print what they show, as the package's do
(`test_docstrings.py`): the readings the stored tables rest on (`larger_share`, `recovery_price`, `allowance`)
are documented by example, and an example that no longer holds would mislead a reader of the notes."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py"))


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_benchmark_docstring_examples_run(name, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} failed"


def test_the_benchmark_scripts_have_docstring_examples(monkeypatch):
    # Control: the finder sees the examples, so the test above cannot pass by finding none.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    found = sum(len(t.examples) for name in SCRIPTS
                for t in doctest.DocTestFinder().find(importlib.import_module(name)))
    assert found >= 25
