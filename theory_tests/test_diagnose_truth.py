"""The learner diagnostic's reference value: the true model's −log p(x|u) (benchmarks/diagnose_learner.py).

On a linear Gaussian model x is Gaussian in every environment, so −log p(x|u) has a closed form; the
importance-sampled `truth_nll` must match it. Its proposal is the exact posterior there, so the estimate
is exact up to floating point and the central differences (margin 1e-6 per sample).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from scipy.stats import multivariate_normal

from identcheck.simulate import simulate
from identcheck.spec import from_dict

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "diagnose_learner.py"


def _diagnose_module():
    """The script, loaded with its folder on the path: it imports its neighbour script_errors by name (the
    file failed with ModuleNotFoundError when run alone, and passed in the full suite only because an earlier
    test had put benchmarks/ on the path)."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        spec = importlib.util.spec_from_file_location("diagnose_learner", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


LAMBDA = [0.0, 0.8, -0.5]
MEAN = {"z1": [0.0, 1.0, -1.0], "z2": [0.5, 0.0, 2.0]}
STD = {"z1": [1.0, 0.5, 2.0], "z2": [0.3, 1.5, 1.0]}
SCALE = 0.05


def _linear_gaussian():
    spec = {"identcheck": 1, "name": "linear", "latents": ["z1", "z2"],
            "environments": {"segments": 3}, "parameters": {"lam": LAMBDA},
            "noise": {"family": "gaussian",
                      "params": {k: {"mean": MEAN[k], "std": STD[k]} for k in ("z1", "z2")}},
            "mechanisms": {"z2": "lam*z1"},
            "mixing": {"kind": "mlp", "observed_dim": 2, "layers": 1},
            "observation_noise": {"family": "gaussian", "scale": SCALE}}
    return simulate(from_dict(spec, source="<linear>"), 200, seed=3)


def _exact_nll(data, x_mean: np.ndarray, x_scale: np.ndarray) -> float:
    """x = W z + ε with z = A_u n: Gaussian with mean W A_u μ_u and covariance W A_u D_u A_uᵀ Wᵀ + s² I."""
    (weight,) = data.mixing_params
    xs = (data.x - x_mean) / x_scale
    total = 0.0
    for e in range(3):
        rows = data.u == e
        a = np.array([[1.0, 0.0], [LAMBDA[e], 1.0]])
        mu = np.array([MEAN["z1"][e], MEAN["z2"][e]])
        cov_n = np.diag([STD["z1"][e] ** 2, STD["z2"][e] ** 2])
        mean_x = (weight @ a @ mu - x_mean) / x_scale
        cov_x = (weight @ a @ cov_n @ a.T @ weight.T + SCALE ** 2 * np.eye(2)) / np.outer(x_scale, x_scale)
        total -= multivariate_normal(mean_x, cov_x).logpdf(xs[rows]).sum()
    return total / len(xs)


def test_truth_nll_matches_the_closed_form_on_a_linear_gaussian_model():
    data = _linear_gaussian()
    x_mean, x_scale = data.x.mean(0), data.x.std(0)
    estimate = _diagnose_module().truth_nll(data, x_mean, x_scale, draws=8)
    assert abs(estimate - _exact_nll(data, x_mean, x_scale)) < 1e-6
