"""The latent noise families are the exponential families they claim to be (SPEC §1), checked against
scipy's densities.

Assumption (iii) is a rank condition on the natural parameters η(u), so a wrong `natural` would give wrong
(iii) verdicts without any other test noticing. p(n) = Q(n)/Z(η) exp(T(n)·η) means that
log p(n; θ) − T(n)·η(θ) = log Q(n) − log Z(θ): for two parameter settings θ, θ' the difference of that
quantity does not depend on n. Hypothesis draws the settings and the points; the check is exact up to
floating point (relative tolerance 1e-7 of the largest term).
"""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sympy.parsing.sympy_parser import (convert_xor, implicit_multiplication_application, parse_expr,
                                        standard_transformations)

from identcheck.families import LATENT_FAMILIES


def scipy_law(family: str, p: dict[str, float]):
    """The family at parameters ``p`` as a frozen scipy distribution, in the family's own parametrisation."""
    if family == "gaussian":
        return stats.norm(p["mean"], p["std"])
    if family == "gamma":
        return stats.gamma(p["shape"], scale=1 / p["rate"])
    if family == "inverse_gamma":
        return stats.invgamma(p["shape"], scale=p["scale"])
    if family == "beta":
        return stats.beta(p["a"], p["b"])
    if family == "inverse_gaussian":  # Wald(mean m, shape λ) is scipy's invgauss(m / λ, scale=λ)
        return stats.invgauss(p["mean"] / p["shape"], scale=p["shape"])
    raise AssertionError(f"no scipy law for {family}")


positive = st.floats(0.5, 4.0)
SETTINGS = {
    "gaussian": st.fixed_dictionaries({"mean": st.floats(-3.0, 3.0), "std": positive}),
    "gamma": st.fixed_dictionaries({"shape": positive, "rate": positive}),
    "inverse_gamma": st.fixed_dictionaries({"shape": positive, "scale": positive}),
    "beta": st.fixed_dictionaries({"a": positive, "b": positive}),
    "inverse_gaussian": st.fixed_dictionaries({"mean": positive, "shape": positive}),
}


def points(family: str) -> st.SearchStrategy[list[float]]:
    """Five distinct points inside the family's support."""
    low, high = LATENT_FAMILIES[family].support
    inner = st.floats(max(low, -5.0) + 0.01, min(high, 5.0) - 0.01)
    return st.lists(inner, min_size=5, max_size=5, unique=True)


def log_base_minus_log_partition(family: str, p: dict[str, float], n: np.ndarray, scale_eta: float = 1.0):
    """log p(n; θ) − T(n)·η(θ), which is log Q(n) − log Z(θ) for the right η and T; also the largest term."""
    fam = LATENT_FAMILIES[family]
    eta = [scale_eta * float(e) for e in fam.natural({k: np.float64(v) for k, v in p.items()})]
    t1, t2 = fam.sufficient(n)
    log_p = scipy_law(family, p).logpdf(n)
    rest = log_p - (t1 * eta[0] + t2 * eta[1])
    return rest, max(np.max(np.abs(log_p)), np.max(np.abs(t1 * eta[0])), np.max(np.abs(t2 * eta[1])), 1.0)


@pytest.mark.parametrize("family", sorted(LATENT_FAMILIES))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_natural_parameters_and_statistics_reproduce_the_density(family, data):
    """log p(n; θ) − T(n)·η(θ) minus the same at θ' is constant in n: η and T are the family's."""
    theta, theta2 = data.draw(SETTINGS[family]), data.draw(SETTINGS[family])
    n = np.array(data.draw(points(family)))
    rest, size = log_base_minus_log_partition(family, theta, n)
    rest2, size2 = log_base_minus_log_partition(family, theta2, n)
    difference = rest - rest2
    assert np.ptp(difference) <= 1e-7 * max(size, size2)


@pytest.mark.parametrize("family", sorted(LATENT_FAMILIES))
def test_a_wrong_natural_parameter_is_caught(family):
    """Control: with η doubled the same quantity does depend on n, far beyond the tolerance above."""
    theta, theta2 = {"gaussian": ({"mean": 0.5, "std": 1.0}, {"mean": -1.0, "std": 2.0})}.get(
        family, ({k: 1.5 for k in LATENT_FAMILIES[family].params}, {k: 3.0 for k in LATENT_FAMILIES[family].params}))
    low, high = LATENT_FAMILIES[family].support
    n = np.linspace(max(low, -3.0) + 0.05, min(high, 3.0) - 0.05, 5)
    rest, _ = log_base_minus_log_partition(family, theta, n, scale_eta=2.0)
    rest2, _ = log_base_minus_log_partition(family, theta2, n, scale_eta=2.0)
    assert np.ptp(rest - rest2) > 1e-2


@pytest.mark.parametrize("family", sorted(LATENT_FAMILIES))
def test_moments_and_sampler_are_scipys(family):
    """`moments` equals scipy's mean and variance, and 4000 draws of `sample` (fixed seed) pass a
    Kolmogorov-Smirnov test against scipy's law at level 0.001 (measured p-values are in the assertion
    message when it fails); the support is where scipy's density is positive."""
    fam = LATENT_FAMILIES[family]
    p = {name: value for name, value in zip(fam.params, (2.5, 3.5))}
    law = scipy_law(family, p)
    mean, var = fam.moments({k: np.array(v) for k, v in p.items()})
    np.testing.assert_allclose([mean, var], [law.mean(), law.var()], rtol=1e-12)
    draws = fam.sample(np.random.default_rng(0), p, (4000,))
    result = stats.kstest(draws, law.cdf)
    assert result.pvalue > 1e-3, result
    assert law.support() == pytest.approx(fam.support)


@pytest.mark.parametrize("family", sorted(LATENT_FAMILIES))
def test_the_statistics_text_is_the_sufficient_statistics(family):
    """The text T(n) that reports show (`statistics`) is the function `sufficient` computes."""
    fam = LATENT_FAMILIES[family]
    n = sp.Symbol("n")
    read = standard_transformations + (implicit_multiplication_application, convert_xor)
    exprs = [parse_expr(text, {"n": n}, transformations=read) for text in fam.statistics]
    grid = np.linspace(*np.clip(fam.support, -2.0, 2.0), 9)[1:-1]
    for expr, values in zip(exprs, fam.sufficient(grid)):
        np.testing.assert_allclose(sp.lambdify(n, expr, "numpy")(grid), values, rtol=1e-12)
