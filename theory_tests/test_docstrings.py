"""Every docstring example in the package runs and prints what it shows (STYLE: a runnable example per
public function). One test per module, so a failure names the module; doctest's report names the line."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import identcheck

# __main__ runs the command line on import
MODULES = sorted(m.name for m in pkgutil.walk_packages(identcheck.__path__, prefix="identcheck.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_the_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} failed (see above)"


def test_the_package_has_docstring_examples():
    # Control: the finder sees the examples, so the test above cannot pass by finding none.
    found = sum(len(t.examples) for name in MODULES
                for t in doctest.DocTestFinder().find(importlib.import_module(name)))
    assert found >= 100
