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

from functools import cached_property
from typing import Any, Callable, Mapping

import mpmath
import numpy as np
import sympy as sp

from .families import simple_points
from .scm import PNL_SYMBOL, SCM
from .spec.expressions import numeric_function

__all__ = ["latents_at", "latent_map", "first_undefined", "noise_symbols", "latents_exact"]

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


def noise_symbols(scm: SCM) -> dict[str, sp.Symbol]:
    """One symbol t_i per latent, from which `latents_exact` builds the noise: with t_i > 0, n_i = a + t_i on
    a support (a, inf), a + (b - a)/(1 + t_i) on (a, b), b - t_i on (-inf, b); on the whole line n_i = t_i,
    real. Dummies, so that no spec symbol can clash with them.

    >>> from identcheck import load_example
    >>> noise_symbols(load_example("C1"))["z1"].is_positive is None  # Gaussian noise: the whole line
    True
    """
    low, high = scm.noise_family.support
    on_line = np.isinf(low) and np.isinf(high)
    return {name: sp.Dummy(f"t_{name}", real=True) if on_line else sp.Dummy(f"t_{name}", positive=True)
            for name in scm.latents}


def latents_exact(scm: SCM, at: Mapping[sp.Symbol, sp.Expr], noise: Mapping[str, sp.Symbol],
                  max_ops: int = 40) -> dict[sp.Symbol, sp.Expr]:
    """ψ_u in exact form: every latent's symbol -> z_i = ḡ_i(g_i(pa_i, u) + n_i) as an expression of the
    symbols `noise` (from `noise_symbols`), at the environment whose exact symbol and parameter values are
    `at`. As the t_i range over their domain, the latents range over their joint support in that
    environment, so an expression that vanishes for every t after this substitution vanishes on the support
    (SPEC §5 Pitfalls: probe only inside it). A latent whose form would exceed `max_ops` operations (deep
    graphs nest the mechanisms) is left as a free real symbol instead: a zero for every real value of it
    holds on its support too.

    >>> from identcheck import load_example
    >>> scm = load_example("C1")
    >>> t = noise_symbols(scm)
    >>> u = scm.environments.symbols[0]
    >>> z = latents_exact(scm, {u: sp.Integer(2)}, t)
    >>> [z[scm.symbol(name)] - t[name] for name in scm.latents]
    [0, 2*_t_z1]
    """
    low, high = (sp.nsimplify(v) if np.isfinite(v) else None for v in scm.noise_family.support)
    z: dict[sp.Symbol, sp.Expr] = {}
    for latent in scm.order:
        t = noise[latent]
        n = (t if low is None and high is None else low + t if high is None else high - t if low is None
             else low + (high - low) / (1 + t))
        value = scm.mechanism(latent).xreplace(at).xreplace(z) + n
        gbar = scm.post_nonlinear.get(latent)
        value = value if gbar is None else gbar.xreplace({PNL_SYMBOL: value})
        z[scm.symbol(latent)] = value if sp.count_ops(value) <= max_ops else scm.symbol(latent)
    return z


def first_undefined(scm: SCM) -> tuple[str, int, dict[str, float]] | None:
    """Where the model is undefined: the first (latent, environment index, its parents' values) at which a
    mechanism, or its post-nonlinear map, is not finite and real, at the latents that simple noise values
    (`simple_points`) give in each observed environment; None when there is no such point.

    Two kinds of non-finite value do not count. Float overflow: a value that 50-digit mpmath evaluates to a
    finite real number is defined (exp(800)). An isolated singularity: a point whose neighbours (the parents
    and the noise moved by a relative `_STEP` in `_NEIGHBOURS` fixed directions) are all defined, such as a
    pole of gamma(z1) or the zero of the denominator of u/(z1 - 1), is met with probability zero, as u/z1's
    is; the model is defined almost everywhere there.

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
        bad = np.flatnonzero(~np.isfinite(z[:, column]) & np.all(np.isfinite(z[:, parents]), axis=1))
        if not len(bad):
            continue
        symbols = [scm.symbol(scm.latents[k]) for k in parents]
        inputs = values | {s: z[:, k] for s, k in zip(symbols, parents)}
        step = _Step(scm, latent, symbols)
        at = {s: v[bad] for s, v in inputs.items()}
        bad = bad[~np.all(np.isfinite(step.floats(*step.neighbours(at, noise[bad, column]))), axis=1)]
        # the 50-digit reading is slow: the first undefined row of every environment comes first
        environment = bad // rows
        bad = bad[np.argsort(np.arange(len(bad)) - np.searchsorted(environment, environment), kind="stable")]
        for row in bad[:_MP_ROWS].tolist():
            point = {s: v[row:row + 1] for s, v in inputs.items()}
            if not (step.finite_at_50_digits(point, noise[row:row + 1, column])
                    or step.finite_at_50_digits(*step.neighbours(point, noise[row:row + 1, column]))):
                return latent, row // rows, {scm.latents[k]: float(z[row, k]) for k in parents}
    return None


#: Rows re-evaluated at 50 digits per latent, the first undefined one of each environment first, looking for
#: an undefined value among float overflows.
_MP_ROWS = 64
#: Neighbours tried around an undefined point, and their relative distance (fixed: the verdict repeats).
_NEIGHBOURS = 8
_STEP = 1e-6


class _Step:
    """One latent's step of ψ_u, t = ḡ(g(pa, u) + n), evaluated in floats (vectorised) or at 50 digits."""

    def __init__(self, scm: SCM, latent: str, parents: list[sp.Symbol]):
        self.expr = scm.mechanism(latent)
        self.symbols = sorted(self.expr.free_symbols, key=lambda s: s.name)
        self.gbar = scm.post_nonlinear.get(latent)
        self.parents = parents
        self.g = numeric_function(self.symbols, self.expr)
        self.gbar_floats = None if self.gbar is None else numeric_function([PNL_SYMBOL], self.gbar)
        self.directions = np.random.default_rng(0).standard_normal((_NEIGHBOURS, len(parents) + 1))

    def neighbours(self, at: Mapping[sp.Symbol, np.ndarray],
                   noise: np.ndarray) -> tuple[dict[sp.Symbol, np.ndarray], np.ndarray]:
        """Every row's `_NEIGHBOURS` neighbours, as (rows, _NEIGHBOURS) arrays: parents and noise moved."""
        def moved(v: np.ndarray, k: int) -> np.ndarray:
            return v[:, None] + _STEP * (1 + np.abs(v[:, None])) * self.directions[:, k]
        around = {s: np.repeat(v[:, None], _NEIGHBOURS, axis=1) for s, v in at.items()}
        around |= {s: moved(at[s], k) for k, s in enumerate(self.parents)}
        return around, moved(noise, len(self.parents))

    def floats(self, at: Mapping[sp.Symbol, np.ndarray], noise: np.ndarray) -> np.ndarray:
        """The step at every given point, in floats (NaN or inf where undefined or overflowing)."""
        with np.errstate(all="ignore"):
            value = np.broadcast_to(np.asarray(self.g(*(at[s] for s in self.symbols)), dtype=float), noise.shape)
            return value if self.gbar_floats is None else np.asarray(self.gbar_floats(value + noise), dtype=float)

    @cached_property
    def _mpmath(self) -> tuple[Callable[..., Any], Callable[..., Any] | None]:
        """g and ḡ lambdified for mpmath (once: their constants are made at the caller's precision)."""
        return (sp.lambdify(self.symbols, self.expr, modules="mpmath"),
                None if self.gbar is None else sp.lambdify([PNL_SYMBOL], self.gbar, modules="mpmath"))

    def finite_at_50_digits(self, at: Mapping[sp.Symbol, np.ndarray], noise: np.ndarray) -> bool:
        """Whether the step is finite and real at every given point, evaluated at 50 digits (mpmath)."""
        g, gbar = self._mpmath
        with mpmath.workdps(50):
            for index in np.ndindex(noise.shape):
                try:
                    # mpf arguments: Python floats would overflow where mpf does not (u*z1**1000 at u = 0)
                    value = mpmath.mpmathify(g(*(mpmath.mpf(float(at[s][index])) for s in self.symbols)))
                    if gbar is not None:
                        value = mpmath.mpmathify(gbar(value + mpmath.mpf(float(noise[index]))))
                except (TypeError, ValueError, ZeroDivisionError, OverflowError, NameError, AttributeError):
                    return False
                if not (isinstance(value, mpmath.mpf) and mpmath.isfinite(value)):
                    return False
        return True
