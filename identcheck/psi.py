"""ψ_u (SPEC §1, "Derived objects"): the latents as a function of the noise, z_i = ḡ_i(g_i(pa_i, u) + n_i)
solved in causal order, row by row at given environment values.

The sampler draws z through it, and the checker uses it to probe inside the support of z in each
environment: with noise on a half-line or an interval, z_j = g_j(pa_j, u) + n_j lives where the mechanism
puts it, not on the noise family's support (SPEC §5 Pitfalls).

>>> import numpy as np
>>> from identcheck import load_example
>>> scm = load_example("C1")
>>> u = scm.environments.symbols[0]
>>> latents_at(scm, np.array([[1.0, 0.5], [1.0, 0.5]]), {u: np.array([0.0, 2.0])}).tolist()
[[1.0, 0.5], [1.0, 2.5]]
"""

from __future__ import annotations

from typing import Callable, Mapping

import mpmath
import numpy as np
import sympy as sp

from .families import simple_points
from .scm import PNL_SYMBOL, SCM
from .spec.expressions import numeric_function

__all__ = ["latents_at", "latent_map", "first_undefined"]

#: Called with (rows where a step gave a non-finite value, what failed) when `latents_at` is strict.
OnFailure = Callable[[np.ndarray, str], None]


def latents_at(scm: SCM, n: np.ndarray, values: Mapping[sp.Symbol, np.ndarray],
               on_failure: OnFailure | None = None) -> np.ndarray:
    """z (rows of n, ℓ) from the noise n (latents in spec order) with row r in the environment given by
    values[s][r] for every environment symbol and table parameter s the mechanisms use.

    A step that gives a non-finite value calls `on_failure(mask, problem)` (the sampler raises there);
    without it the row carries NaN or inf onwards.
    """
    return latent_map(scm)(n, values, on_failure)


def latent_map(scm: SCM) -> Callable[..., np.ndarray]:
    """`latents_at` for many calls: every mechanism and post-nonlinear map is lambdified once, here.

    >>> import numpy as np
    >>> from identcheck import load_example
    >>> psi = latent_map(load_example("C1"))
    >>> u = load_example("C1").environments.symbols[0]
    >>> psi(np.ones((1, 2)), {u: np.array([3.0])}).tolist()
    [[1.0, 4.0]]
    """
    column = {name: k for k, name in enumerate(scm.latents)}
    steps = []
    for latent in scm.order:
        expr = scm.mechanism(latent)
        symbols = sorted(expr.free_symbols, key=lambda s: s.name)
        gbar = (numeric_function([PNL_SYMBOL], scm.post_nonlinear[latent])
                if latent in scm.post_nonlinear else None)
        steps.append((latent, symbols, numeric_function(symbols, expr), gbar))

    def evaluate(n: np.ndarray, values: Mapping[sp.Symbol, np.ndarray],
                 on_failure: OnFailure | None = None) -> np.ndarray:
        rows = len(n)
        z = np.full((rows, len(scm.latents)), np.nan)
        for latent, symbols, g_function, gbar in steps:
            args = [values[s] if s in values else z[:, column[s.name]] for s in symbols]
            with np.errstate(all="ignore"):
                g = np.broadcast_to(np.asarray(g_function(*args), dtype=float), (rows,))
                if on_failure is not None and not np.all(np.isfinite(g)):
                    on_failure(~np.isfinite(g), f"the mechanism of {latent} gives non-finite values "
                                                "(overflow or NaN)")
                value = g + n[:, column[latent]]
                if gbar is not None:
                    value = np.broadcast_to(np.asarray(gbar(value), dtype=float), (rows,))
                    if on_failure is not None and not np.all(np.isfinite(value)):
                        on_failure(~np.isfinite(value), f"the post-nonlinear map of {latent} overflows")
            z[:, column[latent]] = value
        return z

    return evaluate


def first_undefined(scm: SCM) -> tuple[str, int, dict[str, float]] | None:
    """Where the model is undefined: the first (latent, environment index, its parents' values) at which a
    mechanism, or its post-nonlinear map, is not finite and real, at the latents that simple noise values
    (`simple_points`) give in each observed environment; None when there is no such point. Float overflow
    does not count: a value that 50-digit mpmath evaluates to a finite real number is defined (exp(800)).

    >>> from identcheck import load_example
    >>> first_undefined(load_example("C1")) is None
    True
    """
    rows = len(simple_points(scm.noise_family.support, 1))
    noise = np.tile(simple_points(scm.noise_family.support, len(scm.latents)), (scm.environments.count, 1))
    values = {s: np.repeat(v, rows) for s, v in scm.environment_table().items()}
    z = latents_at(scm, noise, values)
    for latent in scm.order:
        column = scm.latents.index(latent)
        parents = [scm.latents.index(p) for p in scm.parents(latent)]
        bad = ~np.isfinite(z[:, column]) & np.all(np.isfinite(z[:, parents]), axis=1)
        for row in np.flatnonzero(bad)[:_MP_ROWS].tolist():
            point = {s: float(values[s][row]) for s in values} | {scm.symbol(scm.latents[k]): float(z[row, k])
                                                                   for k in parents}
            if not _finite_at_50_digits(scm, latent, point, float(noise[row, column])):
                return latent, row // rows, {scm.latents[k]: float(z[row, k]) for k in parents}
    return None


#: Rows re-evaluated at 50 digits per latent, looking for an undefined value among float overflows.
_MP_ROWS = 8


def _finite_at_50_digits(scm: SCM, latent: str, point: dict[sp.Symbol, float], noise: float) -> bool:
    expr = scm.mechanism(latent)
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    with mpmath.workdps(50):
        try:
            fn = sp.lambdify(symbols, expr, modules="mpmath")
            value = mpmath.mpmathify(fn(*(mpmath.mpf(point[s]) for s in symbols)))  # floats would overflow
            if latent in scm.post_nonlinear:
                gbar = sp.lambdify([PNL_SYMBOL], scm.post_nonlinear[latent], modules="mpmath")
                value = mpmath.mpmathify(gbar(value + noise))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, NameError, AttributeError):
            return False
        return isinstance(value, mpmath.mpf) and bool(mpmath.isfinite(value))
