"""Noise families: the latent two-parameter exponential families (SPEC §1) and observation noise (SPEC §2 (i)).

A latent family knows its user-facing parameters, its support, its natural parameters eta (written with
arithmetic only, so the same function serves numpy arrays and sympy expressions), how to validate and sample.

>>> import numpy as np
>>> fam = LATENT_FAMILIES["gaussian"]
>>> [float(v) for v in fam.natural({"mean": np.array(1.0), "std": np.array(2.0)})]
[0.25, -0.125]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

__all__ = [
    "LatentFamily",
    "ObservationFamily",
    "LATENT_FAMILIES",
    "OBSERVATION_FAMILIES",
    "latent_family",
    "observation_family",
    "simple_points",
]

Params = Mapping[str, Any]


@dataclass(frozen=True)
class LatentFamily:
    """A two-parameter exponential family p(n) = Q(n)/Z exp(T(n)^T eta), parametrised as users write it."""

    name: str
    params: tuple[str, str]
    statistics: tuple[str, str]  # T(n), as text for reports
    support: tuple[float, float]  # open interval
    natural: Callable[[Params], tuple[Any, Any]]
    sufficient: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    sample: Callable[[np.random.Generator, Params, tuple[int, ...]], np.ndarray]
    moments: Callable[[Params], tuple[np.ndarray, np.ndarray]]  # mean, variance (nan where infinite)
    positive: tuple[str, ...]  # parameters that must be > 0
    location_param: str | None = None  # the parameter a u-dependent intercept shifts (Gaussian mean)

    def invalid(self, params: Params) -> str | None:
        """Return a description of the first invalid parameter value, or None when all are valid."""
        for key in self.positive:
            value = np.asarray(params[key], dtype=float)
            if not np.all(np.isfinite(value)):
                return f"{key} is not finite"
            if np.any(value <= 0):
                return f"{key} must be > 0 (got {float(np.min(value)):g})"
        for key in self.params:
            if not np.all(np.isfinite(np.asarray(params[key], dtype=float))):
                return f"{key} is not finite"
        return None


def simple_points(support: tuple[float, float], dim: int) -> np.ndarray:
    """Eight simple points (rows) inside the open box support**dim: the diagonal (p, ..., p) of a few
    round values, signs alternating across coordinates on the real line. Witnesses read well at them, and
    the loader evaluates the mechanisms at them.

    >>> simple_points((-np.inf, np.inf), 2)[:3].tolist()
    [[1.0, -1.0], [1.0, -1.0], [0.5, -0.5]]
    >>> simple_points((0.0, 1.0), 1)[:3, 0].tolist()
    [0.5, 0.25, 0.75]
    """
    low, high = support
    if np.isinf(low) and np.isinf(high):
        values = [1.0, -1.0, 0.5, 2.0, -2.0, 1.5, -0.5, 3.0]
        return np.array([[v if (k + r) % 2 == 0 else -v for k in range(dim)] for r, v in enumerate(values)])
    if np.isinf(high):
        values = [low + v for v in (1.0, 0.5, 2.0, 1.5, 3.0, 0.25, 4.0, 0.75)]
    else:
        values = [low + (high - low) * f for f in (0.5, 0.25, 0.75, 0.1, 0.9, 0.4, 0.6, 0.3)]
    return np.repeat(np.array(values)[:, None], dim, axis=1)


def _inverse_gamma_moments(p: Params) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(p["shape"], float), np.asarray(p["scale"], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(a > 1, b / (a - 1), np.nan)
        var = np.where(a > 2, b**2 / ((a - 1) ** 2 * (a - 2)), np.nan)
    return mean, var


LATENT_FAMILIES: dict[str, LatentFamily] = {
    "gaussian": LatentFamily(
        name="gaussian",
        params=("mean", "std"),
        statistics=("n", "n^2"),
        support=(-np.inf, np.inf),
        natural=lambda p: (p["mean"] / p["std"] ** 2, -1 / (2 * p["std"] ** 2)),
        sufficient=lambda n: (n, n**2),
        sample=lambda rng, p, size: rng.normal(p["mean"], p["std"], size),
        moments=lambda p: (np.asarray(p["mean"], float), np.asarray(p["std"], float) ** 2),
        positive=("std",),
        location_param="mean",
    ),
    "gamma": LatentFamily(
        name="gamma",
        params=("shape", "rate"),
        statistics=("log n", "n"),
        support=(0.0, np.inf),
        natural=lambda p: (p["shape"] - 1, -p["rate"]),
        sufficient=lambda n: (np.log(n), n),
        sample=lambda rng, p, size: rng.gamma(p["shape"], 1.0 / np.asarray(p["rate"], float), size),
        moments=lambda p: (
            np.asarray(p["shape"], float) / np.asarray(p["rate"], float),
            np.asarray(p["shape"], float) / np.asarray(p["rate"], float) ** 2,
        ),
        positive=("shape", "rate"),
    ),
    "inverse_gamma": LatentFamily(
        name="inverse_gamma",
        params=("shape", "scale"),
        statistics=("log n", "1/n"),
        support=(0.0, np.inf),
        natural=lambda p: (-p["shape"] - 1, -p["scale"]),
        sufficient=lambda n: (np.log(n), 1 / n),
        sample=lambda rng, p, size: np.asarray(p["scale"], float) / rng.gamma(p["shape"], 1.0, size),
        moments=_inverse_gamma_moments,
        positive=("shape", "scale"),
    ),
    "beta": LatentFamily(
        name="beta",
        params=("a", "b"),
        statistics=("log n", "log(1-n)"),
        support=(0.0, 1.0),
        natural=lambda p: (p["a"] - 1, p["b"] - 1),
        sufficient=lambda n: (np.log(n), np.log1p(-n)),
        sample=lambda rng, p, size: rng.beta(p["a"], p["b"], size),
        moments=lambda p: (
            np.asarray(p["a"], float) / (np.asarray(p["a"], float) + np.asarray(p["b"], float)),
            np.asarray(p["a"], float)
            * np.asarray(p["b"], float)
            / ((np.asarray(p["a"], float) + np.asarray(p["b"], float)) ** 2
               * (np.asarray(p["a"], float) + np.asarray(p["b"], float) + 1)),
        ),
        positive=("a", "b"),
    ),
    "inverse_gaussian": LatentFamily(
        name="inverse_gaussian",
        params=("mean", "shape"),
        statistics=("n", "1/n"),
        support=(0.0, np.inf),
        natural=lambda p: (-p["shape"] / (2 * p["mean"] ** 2), -p["shape"] / 2),
        sufficient=lambda n: (n, 1 / n),
        sample=lambda rng, p, size: rng.wald(p["mean"], p["shape"], size),
        moments=lambda p: (
            np.asarray(p["mean"], float),
            np.asarray(p["mean"], float) ** 3 / np.asarray(p["shape"], float),
        ),
        positive=("mean", "shape"),
    ),
}


def latent_family(name: str) -> LatentFamily:
    """Look up a latent noise family by name; raise KeyError naming the known ones.

    >>> latent_family("gaussian").params
    ('mean', 'std')
    >>> latent_family("cauchy")
    Traceback (most recent call last):
    ...
    KeyError: "unknown noise family 'cauchy' (known: gaussian, gamma, inverse_gamma, beta, inverse_gaussian)"
    """
    try:
        return LATENT_FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown noise family '{name}' (known: {', '.join(LATENT_FAMILIES)})") from None


# ---------------------------------------------------------------------------------------------------
# Observation noise eps (assumption (i): the zero set of its characteristic function must be null).


#: Peak bytes per value of `_sample_fejer` (2 Cauchy proposals per value, their acceptance ratio with its
#: temporaries, the uniforms and the kept draws): 70-74 measured with tracemalloc, rounded up.
_FEJER_BYTES = 80


def _sample_fejer(rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
    """Sample the Fejér density (1 - cos x)/(pi x^2) (characteristic function max(0, 1-|t|)) by rejection
    from a standard Cauchy: the density ratio is bounded by 4 (1 on |x| < 1, 2(1 + 1/x^2) <= 4 beyond)."""
    total = int(np.prod(size))
    out = np.empty(0)
    while out.size < total:
        x = rng.standard_cauchy(2 * total + 16)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(np.abs(x) < 1e-8, 0.5, (1 - np.cos(x)) / x**2) * (1 + x**2)
        out = np.concatenate([out, x[rng.uniform(0, 4, x.size) < ratio]])
    return out[:total].reshape(size)


def _sample_uniform(rng: np.random.Generator, scale: float, size: tuple[int, ...]) -> np.ndarray:
    """U(-scale, scale). numpy draws it as -scale + 2*scale*U, whose range 2*scale overflows beyond half the
    largest float: there the ends are halved and the draw doubled, which scales every step by a power of 2
    (exact in float64), so each value is the one an unbounded float would round to.

    >>> eps = _sample_uniform(np.random.default_rng(0), 1.5e308, (1000,))
    >>> bool(np.all(np.abs(eps) <= 1.5e308)), bool(eps.min() < -1e308 < 1e308 < eps.max())
    (True, True)
    """
    if np.isfinite(2.0 * scale):
        return rng.uniform(-scale, scale, size)
    return 2.0 * rng.uniform(-scale / 2.0, scale / 2.0, size)


@dataclass(frozen=True)
class ObservationFamily:
    """Observation noise eps with a per-coordinate scale; `cf_zeros` classifies the zero set of its
    characteristic function: "none", "countable" (both null, (i) holds) or "positive_measure" ((i) fails)."""

    name: str
    cf_zeros: str
    cf_description: str
    sample: Callable[[np.random.Generator, float, tuple[int, ...]], np.ndarray]
    #: Bytes per drawn value that `sample` holds at its peak beyond its result (for the memory check).
    sampler_bytes: int = 0


OBSERVATION_FAMILIES: dict[str, ObservationFamily] = {
    "gaussian": ObservationFamily(
        "gaussian", "none", "the Gaussian characteristic function exp(-s^2 t^2/2) never vanishes",
        lambda rng, s, size: rng.normal(0.0, s, size)),
    "laplace": ObservationFamily(
        "laplace", "none", "the Laplace characteristic function 1/(1 + s^2 t^2) never vanishes",
        lambda rng, s, size: rng.laplace(0.0, s, size)),
    "student_t": ObservationFamily(
        "student_t", "none", "the Student-t characteristic function (3 degrees of freedom) never vanishes",
        lambda rng, s, size: s * rng.standard_t(3, size)),
    "none": ObservationFamily(
        "none", "none", "eps = 0 has characteristic function 1",
        lambda rng, s, size: np.zeros(size)),
    "uniform": ObservationFamily(
        "uniform", "countable", "the uniform characteristic function sin(st)/(st) vanishes only at the "
        "countable set t = k*pi/s, a null set",
        lambda rng, s, size: _sample_uniform(rng, s, size)),
    "sinc2": ObservationFamily(
        "sinc2", "positive_measure", "the Fejér (sinc^2) density has a triangular characteristic function "
        "that vanishes on |t| >= 1/s, a set of positive measure (catalogue C16)",
        lambda rng, s, size: s * _sample_fejer(rng, size), sampler_bytes=_FEJER_BYTES),
}


def observation_family(name: str) -> ObservationFamily:
    """Look up an observation-noise family by name; raise KeyError naming the known ones.

    >>> observation_family("laplace").name, observation_family("gaussian").cf_zeros
    ('laplace', 'none')
    >>> "sinc2" in OBSERVATION_FAMILIES
    True
    """
    try:
        return OBSERVATION_FAMILIES[name]
    except KeyError:
        raise KeyError(
            f"unknown observation noise family '{name}' (known: {', '.join(OBSERVATION_FAMILIES)})"
        ) from None
