"""benchmarks/verify_class_fits.py: the two marks of the linear Gaussian family of exact fits (latents linear
in z, uncorrelated within the pinned environment), read off a fit made as `identcheck verify` makes it.
The end-to-end run uses a tiny budget (seconds); the marks themselves are checked on exact constructions."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from identcheck import load_example, simulate
from identcheck.check.linear_gaussian import _affine_parts, _gaussian_moments, pinned_class_witness

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "verify_class_fits.py"


@pytest.fixture
def class_fits(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import verify_class_fits
    return verify_class_fits


def test_the_scripts_docstring_examples_run(class_fits):
    result = doctest.testmod(class_fits)
    assert result.attempted >= 1 and result.failed == 0


def test_the_marks_tell_a_family_fit_from_the_truth(class_fits):
    """On C9's latents (20000 rows per environment): within environment 0 the true latents correlate up to
    the exact value from the spec's moments (within 0.02; the sampling error is about 0.007), and the
    witness's fit for z1 is uncorrelated there (below 0.04) and linear in z (R² 1 up to rounding), while a
    cubed latent is not linear (R² below 0.95)."""
    scm = load_example("C9")
    data = simulate(scm, 20000, seed=0)
    u = np.asarray(data.u)
    cov = _gaussian_moments(scm, _affine_parts(scm))[1][0]
    exact = np.abs(cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov))))[~np.eye(3, dtype=bool)].max()
    assert class_fits.largest_offdiagonal(data.z, u)[0] == pytest.approx(exact, abs=0.02)
    fit = data.z @ pinned_class_witness(scm, 0).transforms["z1"].T
    assert class_fits.largest_offdiagonal(fit, u)[0] < 0.04
    assert class_fits.linear_r2(fit, data.z) == pytest.approx([1.0] * 3, abs=1e-9)
    assert class_fits.linear_r2(fit ** 3, data.z)[0] < 0.95


def test_a_tiny_run_writes_its_table_and_json(tmp_path):
    """Two epochs on 60 rows per environment: the numbers mean nothing, the shape of the output does."""
    result = subprocess.run([sys.executable, str(SCRIPT), "--example", "C9", "--seeds", "0", "--samples-per-env",
                             "60", "--epochs", "2", "--out", str(tmp_path)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert "| seed | matched (z1, z2, z3)" in result.stdout and "z1 0.785" in result.stdout
    payload = json.loads((tmp_path / "class_fits_C9.json").read_text())
    (run,) = payload["runs"]
    assert run["pins"] == [0] and run["method"] == "latent_mlp:ordered"
    assert len(run["within_learned"]) == len(run["within_true"]) == 7 and len(run["linear_r2"]) == 3
    assert set(run["matched"]) == {"z1", "z2", "z3"}
    assert isinstance(run["nll_gap"], float)  # the exact-likelihood learner against the MLP-mixed truth


@pytest.mark.parametrize("args", [["--example", "C3"], ["--example", "NOPE"]])
def test_a_spec_outside_the_family_exits_2_and_writes_nothing(tmp_path, args):
    """C3's tanh mechanism leaves the family; an unknown example is named. One error line, no traceback."""
    result = subprocess.run([sys.executable, str(SCRIPT), *args, "--out", str(tmp_path)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
