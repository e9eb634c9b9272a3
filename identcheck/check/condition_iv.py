"""Assumption (iv), sufficient change of each causal influence (SPEC §2 (iv), §5 "Checking (iv)").

For every edge j -> i, d = dg_i/dz_j. The edge satisfies (iv) when d(., u') vanishes identically in the
parents at some reference u' of the environment domain and d(., u'') does not at some observed u''.
Zeros are graded (SPEC §2, "Must u' be observed?"): at an observed environment -> satisfied; at an
unobserved point of the declared `domain` of a scalar u, with u entering through a formula -> satisfied,
flagged *extrapolated*; anywhere else (outside the domain, or unobserved with no domain declared, or for
one-hot segments) -> does not count.

The readings (iv-E), (iv-N), (iv-G) intersect these zero sets over one edge, all the parent edges of a
node, or all edges; `analyse_iv` keeps the sets for the verdicts (SPEC §5 rule 6).

>>> from identcheck import load_example
>>> edge = check_edge(load_example("C1"), "z1", "z2")
>>> edge.status, edge.vanishes_at, edge.nonzero_at, edge.method
('holds', (0,), 1, 'symbolic')
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Callable, Literal, Sequence

import networkx as nx
import numpy as np
import sympy as sp
from sympy.calculus.util import continuous_domain

from ..report import ConditionIVResult, EdgeResult, EdgeStatus
from ..psi import latent_map, latents_exact, noise_symbols
from ..scm import PNL_SYMBOL, SCM
from ..spec.expressions import numeric_function, switch_arguments
from .results import Status
from .zeros import (DEEP_DIGITS, DEEP_SECONDS, MP_DIGITS, SIMPLIFY_SECONDS, ZeroProfile, probe_points, real_zero_set,
                    scan_zero_set, separate, vanishing_profile)

__all__ = ["CommonZeros", "EdgeZeros", "IVAnalysis", "analyse_iv", "check_edge", "check_condition_iv",
           "environment_text", "exact_table", "pretty"]

#: Default relative tolerance of the numeric probe (SPEC §5 step 2c: |d| > tol * sum|terms| is non-zero).
DEFAULT_TOL = 1e-9
#: Default number of random probe points per node (SPEC §5: K >= 64).
DEFAULT_PROBES = 64
#: Where a switch of the derivative or of the mechanism (the zero of the argument of a Heaviside, sign, Abs,
#: a Max's or Min's pairwise difference, a Piecewise's condition) is solved in closed form for one parent,
#: probe points are added beside it, at b -+ offset * max(|b|, 1) for each of these offsets: a step that is
#: on only in a window that no random probe reaches (Heaviside(z1 - 1e7), or (0.999, 1) on a Beta support)
#: is seen there (`_Context.switch_points`).
SWITCH_OFFSETS = (1e-6, 1e-3)
#: Rows of the ordinary probe points that give the other parents (and, on a moving support, the other
#: latents) their values beside a switch.
SWITCH_BASES = (0, 3, 8)
#: The most probe points added beside switches, per environment and edge (the first ones found are kept).
MAX_SWITCH_POINTS = 96
#: A switch's argument is solved for a parent only where it is a polynomial of at most this degree in it.
SWITCH_DEGREE = 2


@dataclass(frozen=True, eq=False)
class CommonZeros:
    """Where a set of edges vanish together: observed environment positions, and unobserved zeros inside
    the declared domain (a sympy set; None when they could not be determined)."""

    observed: frozenset[int]
    extrapolated: sp.Set | None

    @property
    def exists(self) -> bool:
        """True when there is a common zero, observed or extrapolated."""
        return bool(self.observed) or _nonempty(self.extrapolated)


@dataclass(frozen=True, eq=False)
class EdgeZeros:
    """One edge's (iv) result together with its zero set (for the node-wise and global readings)."""

    result: EdgeResult
    zeros: CommonZeros


@dataclass(frozen=True, eq=False)
class IVAnalysis:
    """(iv) over the whole SCM: the per-edge results, node-wise common zeros (iv-N) and global ones (iv-G)."""

    result: ConditionIVResult
    edges: dict[tuple[str, str], EdgeZeros]
    nodes: dict[str, CommonZeros]
    common: CommonZeros


def _decimals(expr: sp.Basic) -> sp.Basic:
    """Terminating-decimal rationals as Floats with every digit they have (4/5 -> 0.8; a 30-digit decimal stays
    30 digits, where 15 printed 0.999...9 as 1.0), exponents kept exact (sqrt(2) stays).

    >>> _decimals(sp.Rational("0.999999999999999999999999999999")), _decimals(sp.Rational(1, 3))
    (0.999999999999999999999999999999, 1/3)
    """
    if isinstance(expr, sp.Rational) and not isinstance(expr, sp.Integer):
        q, places = int(expr.q), 0
        for prime in (2, 5):
            count = 0
            while q % prime == 0:
                q //= prime
                count += 1
            places = max(places, count)
        if q != 1:
            return expr
        digits = len(str(abs(int(expr.p)) * 10**places // int(expr.q)))  # significant digits of the decimal
        return sp.Float(expr, max(15, digits))
    if isinstance(expr, sp.Pow):
        return sp.Pow(_decimals(expr.base), expr.exp)
    if not expr.args or isinstance(expr, (sp.Set, sp.Lambda)):
        return expr
    return expr.func(*(_decimals(a) for a in expr.args))


def pretty(expr: sp.Expr) -> str:
    """Text of an expression with terminating-decimal rationals written as decimals (4/5 -> 0.8).

    >>> pretty(sp.Rational(4, 5)*sp.Symbol("z2") - sp.Symbol("z3") + sp.sqrt(2))
    '0.8*z2 - z3 + sqrt(2)'
    """
    expr = sp.sympify(expr)
    try:
        expr = _decimals(expr)
    except (TypeError, ValueError):  # an object that cannot be rebuilt from its args prints as it is
        pass
    return sp.sstr(expr, full_prec=False)


def environment_text(scm: SCM, m: int) -> str:
    """An observed environment in words: "u = 0.3", "u = (2, 0.5)" or "segment 0"."""
    env = scm.environments
    label = env.labels[m]
    if env.kind == "segments":
        return f"segment {label}"
    name = env.symbols[0].name if env.kind == "scalar" else env.symbols[0].name[:-1]
    if env.kind == "vector":
        return f"{name} = (" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in label) + ")"
    return f"{name} = {label:g}" if isinstance(label, float) else f"{name} = {label}"


def _nonempty(zeros: sp.Set | None) -> bool:
    return zeros is not None and zeros.is_empty is False


def _exact(value: Any) -> sp.Expr:
    """The exact rational of a number as written (0.3 -> 3/10), matching the loader's rationalisation."""
    return sp.Integer(value) if isinstance(value, (int, np.integer)) else sp.Rational(str(float(value)))


def exact_table(scm: SCM, symbols: set[sp.Symbol] | None = None) -> dict[sp.Symbol, tuple[sp.Expr, ...]]:
    """The environment symbols and table parameters (only `symbols`, when given) as exact numbers per
    environment.

    >>> from identcheck import load_example
    >>> scm = load_example("C13")
    >>> exact_table(scm, set(scm.environments.symbols))
    {u: (0, 3/10, 1/2, 3/4, 1)}
    """
    env = scm.environments
    table: dict[sp.Symbol, tuple[sp.Expr, ...]] = {}
    for k, symbol in enumerate(env.symbols):
        if symbols is None or symbol in symbols:
            table[symbol] = tuple(_exact(label if env.kind == "scalar" else label[k]) for label in env.labels)
    for name, values in scm.parameters.items():
        symbol = scm.parameter_symbols[name]
        if symbols is None or symbol in symbols:
            table[symbol] = tuple(_exact(v) for v in values)
    return table


class _Context:
    """Everything the edge checks of one SCM share: tables, probe points per node, derivatives."""

    def __init__(self, scm: SCM, tol: float, seed: int, probes: int):
        self.scm, self.tol, self.seed, self.probes = scm, tol, seed, probes
        self.table = scm.environment_table()
        used = set().union(*(g.free_symbols for g in scm.mechanisms.values())) | set(scm.environments.symbols)
        self.exact = exact_table(scm, used)
        self.parameter_symbols = set(scm.parameter_symbols.values())
        env = scm.environments
        self.domain = sp.Interval(*map(_exact, env.domain)) if env.domain is not None else None
        self.observed_u = sp.FiniteSet(*self.exact[env.symbols[0]]) if env.kind == "scalar" else sp.S.EmptySet
        self._points: dict[str, np.ndarray] = {}
        support = scm.noise_family.support
        # noise on the whole line: z_j = g_j + n_j ranges over gbar_j(R) in every environment. Otherwise the
        # support of the parents moves with u and with their own parents: probe through psi_u
        self.moving_support = not (np.isinf(support[0]) and np.isinf(support[1]))
        self._noise_probes = probe_points(support, len(scm.latents), probes, seed) if self.moving_support else None
        self._psi = latent_map(scm) if self.moving_support else None
        self._noise_symbols = noise_symbols(scm) if self.moving_support else {}
        self._exact_latents: dict[int, dict[sp.Symbol, sp.Expr]] = {}
        self._moved: dict[tuple[str, str], np.ndarray | None] = {}
        self._mechanisms: dict[str, tuple[list[sp.Symbol], Callable[..., Any]]] = {}
        self._switches: dict[tuple[str, tuple[sp.Expr, ...]], np.ndarray | None] = {}
        self._roots: dict[sp.Expr, Callable[..., Any]] = {}

    def points(self, child: str) -> np.ndarray:
        """Probe points for the parents of `child`, inside their support (SPEC §5 pitfalls: probe inside
        S_i). Noise on the real line: (K, |pa|) points of the line, mapped through gbar_j for a post-nonlinear
        parent. Noise on a half-line or an interval: (E, K, |pa|), the noise probes pushed through psi_u of
        each environment, so that z_j = g_j(pa_j, u) + n_j is probed where it lives."""
        if child not in self._points:
            parents = self.scm.parents(child)
            if self.moving_support:
                columns = [self.scm.latents.index(p) for p in parents]
                self._points[child] = self._pushed({s: np.asarray(v, float) for s, v in self.table.items()},
                                                   self.scm.environments.count)[:, :, columns]
            else:
                pts = probe_points(self.scm.noise_family.support, len(parents), self.probes, self.seed)
                for k, parent in enumerate(parents):
                    if parent in self.scm.post_nonlinear:
                        gbar = numeric_function([PNL_SYMBOL], self.scm.post_nonlinear[parent])
                        with np.errstate(all="ignore"):
                            pts[:, k] = np.broadcast_to(np.asarray(gbar(pts[:, k]), float), pts[:, k].shape)
                self._points[child] = pts
        return self._points[child]

    def switch_points(self, child: str, exprs: Sequence[sp.Expr]) -> np.ndarray | None:
        """The probe points of `child`'s parents (`points`) with points beside the switches of `exprs` added,
        or None where none is found (SPEC §5 Pitfalls: a derivative zero on a half-line, or off a window, is
        not identically zero, and random probes may miss the window where it is on).

        For each switch argument (`switch_arguments`) that is a polynomial of degree at most `SWITCH_DEGREE`
        in a parent, its zeros in that parent are solved with sympy, and evaluated in each observed
        environment with the other parents at the rows `SWITCH_BASES` of the ordinary probes (on a moving
        support: the other latents at every probe row, and at four rows of noise near the ends of its
        support, `_extreme_noise`); points at b -+ `SWITCH_OFFSETS` are added. A point must lie inside the
        support of its environment: on the real line (noise on the whole line) every point does, except for a
        post-nonlinear parent, whose switches are not probed; on a half-line or an interval the point is kept
        only where the noise it implies, n_d = z_d - g_d(pa_d, u), lies inside the noise's support for every
        latent among `child`'s parents and their ancestors (none is kept where one of them is post-nonlinear).
        Switches not solvable in closed form (Heaviside(z1 - cos(z1))), or with infinitely many points
        (floor), are not probed. At most `MAX_SWITCH_POINTS` points per environment are added; where the
        points differ between the environments (a switch that moves with u, or a moving support) the result
        is (E, K + n, |pa|), an environment with fewer added points padded with its first probe point.

        >>> from identcheck import from_dict
        >>> scm = from_dict({"identcheck": 1, "name": "t", "latents": ["z1", "z2"],
        ...                  "environments": {"values": [0, 1]}, "mechanisms": {"z2": "Max(z1 - 10**7, 0)"},
        ...                  "noise": {"family": "gaussian", "params": {"z1": {"mean": 0, "std": 1},
        ...                                                             "z2": {"mean": 0, "std": 1}}}})
        >>> ctx = _Context(scm, DEFAULT_TOL, 0, DEFAULT_PROBES)
        >>> pts = ctx.switch_points("z2", [sp.diff(scm.mechanism("z2"), scm.symbol("z1"))])
        >>> sorted(float(v) for v in pts[len(ctx.points("z2")):, 0] if v > 9e6)
        [9990000.0, 9999990.0, 10000010.0, 10010000.0]
        """
        arguments = _switch_arguments(exprs)
        key = (child, arguments)
        if key not in self._switches:
            self._switches[key] = self._beside(child, arguments) if arguments else None
        return self._switches[key]

    def _beside(self, child: str, arguments: tuple[sp.Expr, ...]) -> np.ndarray | None:
        """`switch_points` for the switch arguments given."""
        points = self.points(child)
        count = self.scm.environments.count
        found = self._candidates(child, arguments, {s: np.asarray(v, float) for s, v in self.table.items()}, count,
                                 every_row=True)
        if found is None:
            return None
        stacked, inside = found
        kept = [_distinct(stacked[m][inside[m]])[:MAX_SWITCH_POINTS] for m in range(count)]
        width = max(len(rows) for rows in kept)
        if width == 0:
            return None
        if not self.moving_support and all(np.array_equal(rows, kept[0]) for rows in kept):
            return np.concatenate([points, kept[0]])  # the same points in every environment
        grid = points if points.ndim == 3 else np.broadcast_to(points[None], (count, *points.shape))
        # an environment with fewer points beside its switches repeats its first probe point (not NaN rows:
        # sympy's mpmath printing reads Heaviside(nan) as 1)
        added = np.repeat(grid[:, :1], width, axis=1)
        for m, rows in enumerate(kept):
            added[m, :len(rows)] = rows
        return np.concatenate([grid, added], axis=1)

    def _candidates(self, child: str, arguments: tuple[sp.Expr, ...], values: dict[sp.Symbol, np.ndarray],
                    count: int, every_row: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """Points beside the switches of `child`'s parents at `count` environments given by `values` (arrays
        of length count), and whether each lies inside the support there: ((count, n, |pa|), (count, n)), or
        None where no switch is solved. On a moving support the other latents are taken at the noise rows
        near the ends of its support and then at every probe row (`every_row`) or at `SWITCH_BASES`."""
        scm = self.scm
        parents = scm.parents(child)
        symbols = [scm.symbol(p) for p in parents]
        if self.moving_support:  # rows of noise near the ends of its support too: the support may pin the
            # other latents near an end where the switch is reached (z2 = 2*z1 + n2 beyond 2.99 with Beta
            # noise needs z1 > 0.995)
            assert self._noise_probes is not None
            probes = self._noise_probes if every_row else self._noise_probes[
                [r for r in SWITCH_BASES if r < len(self._noise_probes)]]
            noise = np.concatenate([_extreme_noise(scm.noise_family.support, len(scm.latents)), probes])
            bases = self._pushed(values, count, noise)  # (count, B, l)
            columns = [scm.latents.index(p) for p in parents]
        else:
            points = self.points(child)
            chosen = [r for r in SWITCH_BASES if r < len(points)]
            bases = np.broadcast_to(points[chosen][None], (count, len(chosen), len(parents)))
            columns = list(range(len(parents)))
        offsets = np.array([side * o for o in SWITCH_OFFSETS for side in (-1.0, 1.0)])
        candidates = []  # (count, B, n, l) per parent and root
        for k, (parent, symbol) in enumerate(zip(parents, symbols)):
            if parent in scm.post_nonlinear:  # its support is gbar(R), not known to contain the point
                continue
            for root in _switch_roots(arguments, symbol):
                at = self._root_values(root, symbols, bases, columns, values)[:, :, None]  # (count, B, 1)
                beside = np.repeat(np.array(bases, float)[:, :, None, :], len(offsets), axis=2)
                beside[:, :, :, columns[k]] = at + offsets * np.maximum(np.abs(at), 1.0)
                candidates.append(beside)
        if not candidates:
            return None
        # base row first, then root and offset: the first points kept spread over every switch
        stacked = np.concatenate(candidates, axis=2).reshape(count, -1, bases.shape[-1])
        if self.moving_support:
            return stacked[:, :, columns], self._inside(parents, stacked, values)
        return stacked, np.all(np.isfinite(stacked), axis=2)

    def _root_values(self, root: sp.Expr, symbols: list[sp.Symbol], bases: np.ndarray, columns: list[int],
                     values: dict[sp.Symbol, np.ndarray]) -> np.ndarray:
        """A solved switch point (a function of the other parents, u and the tables) at each environment and
        base row (count, B); NaN where it is not a finite real number."""
        free = sorted(root.free_symbols, key=str)
        if any(s not in values and s not in symbols for s in free):
            return np.full(bases.shape[:2], np.nan)
        if root not in self._roots:
            self._roots[root] = numeric_function(free, root)
        args = [bases[:, :, columns[symbols.index(s)]] if s in symbols else values[s][:, None] for s in free]
        with np.errstate(all="ignore"):
            at = np.broadcast_to(np.asarray(self._roots[root](*args), dtype=complex), bases.shape[:2])
        return np.where(at.imag == 0, at.real, np.nan)

    def _inside(self, parents: Sequence[str], rows: np.ndarray, values: dict[sp.Symbol, np.ndarray]) -> np.ndarray:
        """Which full latent vectors (E, n, l), one environment per row of the first axis, lie inside the
        support: the noise each implies, n_d = z_d - g_d(pa_d, u), lies inside the noise's support for every
        latent that shapes the support of `parents` (their ancestors and themselves); none where one of them
        is post-nonlinear. (E, n) booleans."""
        scm = self.scm
        ancestry = set().union(*(nx.ancestors(scm.graph, p) for p in parents)) | set(parents)
        keep = np.all(np.isfinite(rows), axis=2)
        if ancestry & set(scm.post_nonlinear):
            return np.zeros_like(keep)
        return keep & self._noise_inside(ancestry, rows, values)

    def _noise_inside(self, latents: set[str], z: np.ndarray, values: dict[sp.Symbol, np.ndarray]) -> np.ndarray:
        """Whether the noise that latent vectors z (E, n, l) imply for each of `latents`, n_d = z_d - g_d(pa_d,
        u), lies inside the noise's support, `values` giving u and the tables per environment (arrays of length
        E): (E, n) booleans, False where it cannot be evaluated."""
        scm = self.scm
        low, high = scm.noise_family.support
        inside = np.ones(z.shape[:2], dtype=bool)
        for d in sorted(latents):
            symbols, g = self._mechanism(d)
            args = [z[:, :, scm.latents.index(str(x))] if str(x) in scm.latents
                    else np.asarray(values[x], float)[:, None] for x in symbols]
            with np.errstate(all="ignore"):
                implied = z[:, :, scm.latents.index(d)] - np.asarray(g(*args), float)
                inside &= (implied > low) & (implied < high)
        return inside

    def exact_support(self, m: int) -> dict[sp.Symbol, sp.Expr]:
        """The latents in environment m as exact functions of noise symbols (`psi.latents_exact`): the
        support where a zero on a half-line or an interval support is proven."""
        if m not in self._exact_latents:
            at = {s: values[m] for s, values in self.exact.items()}
            self._exact_latents[m] = latents_exact(self.scm, at, self._noise_symbols)
        return self._exact_latents[m]

    def _pushed(self, values: dict[sp.Symbol, np.ndarray], count: int, noise: np.ndarray | None = None) -> np.ndarray:
        """psi_u of the noise probes (or of ``noise``, the same shape) (count, K, l) at `count` environments
        given by `values` (arrays of length count)."""
        assert self._noise_probes is not None and self._psi is not None
        noise = self._noise_probes if noise is None else noise
        k = len(noise)
        rows = {s: np.repeat(v, k) for s, v in values.items()}
        z = self._psi(np.tile(noise, (count, 1)), rows)
        return z.reshape(count, k, -1)

    def moved_points(self, child: str, parent: str, u_values: np.ndarray | None = None) -> np.ndarray | None:
        """The probe points of `child`'s parents with `parent` alone moved, inside the support (count, K,
        |pa|), in the observed environments or at scalar ``u_values``; None where the support does not move
        with u or `child` has one parent (there, swapping the parent's values between probe points stays in
        the support), or where a latent to re-check is post-nonlinear.

        The parent's value is taken from its noise reversed across the noise probes, then rotated by 1 to
        `MOVES` - 1 places (count, K·r, |pa|: the probe points repeated r times, the jump test tiles them),
        every other latent kept. The point is in the support when the noise it implies, n_d = z_d - g_d(pa_d,
        u), lies in the noise's support for each descendant d of the parent among the ancestors of `child`'s
        parents (the others do not shape their support); a probe where it does not is NaN, which the jump
        test skips. A reversal alone kept few points where several descendants pin the parent to a narrow
        interval, and none of them across a step (Beta noise, z5 = z4*z1 + n5 beside z2 = z1 + n2)."""
        if u_values is None and (child, parent) in self._moved:
            return self._moved[child, parent]
        scm = self.scm
        parents = scm.parents(child)
        if not self.moving_support or len(parents) < 2:
            return None
        graph, j = scm.graph, scm.latents.index(parent)
        ancestry = set().union(*(nx.ancestors(graph, p) for p in parents)) | set(parents)
        shaping = ancestry & nx.descendants(graph, parent)
        if shaping & set(scm.post_nonlinear):
            return None
        if u_values is None:
            values, count = {s: np.asarray(v, float) for s, v in self.table.items()}, scm.environments.count
        else:
            values, count = self._values_at(u_values), len(u_values)
        assert self._noise_probes is not None
        k = len(self._noise_probes)
        orders = [np.arange(k)[::-1], *(np.roll(np.arange(k), shift) for shift in range(1, min(k, MOVES)))]
        noise = np.tile(self._noise_probes, (len(orders), 1))
        noise[:, j] = self._noise_probes[np.concatenate(orders), j]
        z = np.tile(self._pushed(values, count), (1, len(orders), 1))
        z[:, :, j] = self._pushed(values, count, noise)[:, :, j]
        z[~self._noise_inside(shaping, z, values)] = np.nan
        moved = z[:, :, [scm.latents.index(p) for p in parents]]
        if u_values is None:
            self._moved[child, parent] = moved
        return moved

    def _values_at(self, u_values: np.ndarray) -> dict[sp.Symbol, np.ndarray]:
        """u and the tables at scalar u values away from the observed environments: the tables NaN (they have
        no value there; a mechanism that reads one is not scanned)."""
        values = {s: np.full(len(u_values), np.nan) for s in self.parameter_symbols}
        values[self.scm.environments.symbols[0]] = np.asarray(u_values, float)
        return values

    def _mechanism(self, latent: str) -> tuple[list[sp.Symbol], Callable[..., Any]]:
        """g_latent's symbols and its numeric function, lambdified once."""
        if latent not in self._mechanisms:
            g = self.scm.mechanism(latent)
            symbols = sorted(g.free_symbols, key=str)
            self._mechanisms[latent] = symbols, numeric_function(symbols, g)
        return self._mechanisms[latent]

    def scan_points(self, child: str, exprs: Sequence[sp.Expr] = ()) -> np.ndarray | Callable[[np.ndarray],
                                                                                               np.ndarray] | None:
        """Probes for scanning a scalar u over the domain: the fixed points, or a function of u giving the
        pushed probes at each u; None when the support at an unobserved u is unknown (a mechanism among the
        ancestors reads a table parameter, known only at the observed environments). With the switches of
        `exprs` (`switch_points`), a function of u giving the probes and up to `MAX_SWITCH_POINTS` points
        beside the switches at each u (the other latents at `SWITCH_BASES` only), inside the support there."""
        arguments = _switch_arguments(exprs)
        if not any(_switch_roots(arguments, self.scm.symbol(p)) for p in self.scm.parents(child)
                   if p not in self.scm.post_nonlinear):
            arguments = ()  # no switch solved: the probes alone
        if not self.moving_support and not arguments:
            return self.points(child)
        ancestors = nx.ancestors(self.scm.graph, child)
        if self.moving_support and any(self.scm.mechanism(a).free_symbols & self.parameter_symbols
                                       for a in ancestors):
            return None
        columns = [self.scm.latents.index(p) for p in self.scm.parents(child)]

        def at(u_values: np.ndarray) -> np.ndarray:
            values = self._values_at(u_values)
            if self.moving_support:
                pushed = self._pushed(values, len(u_values))[:, :, columns]
            else:
                pushed = np.broadcast_to(self.points(child)[None], (len(u_values), *self.points(child).shape))
            found = self._candidates(child, arguments, values, len(u_values), every_row=False) if arguments else None
            if found is None:
                return pushed
            beside, inside = found
            # the first points inside the support, the rest of the width filled with the first probe point
            order = np.argsort(~inside, axis=1, kind="stable")[:, :MAX_SWITCH_POINTS]
            taken = np.take_along_axis(beside, order[:, :, None], axis=1)
            usable = np.take_along_axis(inside, order, axis=1)
            width = int(usable.sum(axis=1).max(initial=0))
            if width == 0:
                return pushed
            taken = np.where(usable[:, :width, None], taken[:, :width], pushed[:, :1])
            return np.concatenate([pushed, taken], axis=1)

        return at


def _switch_arguments(exprs: Sequence[sp.Expr]) -> tuple[sp.Expr, ...]:
    """The switch arguments of the expressions (`switch_arguments`), each once, in their first order."""
    return tuple(dict.fromkeys(a for e in exprs for a in switch_arguments(e)))


@lru_cache(maxsize=4096)
def _switch_roots(arguments: tuple[sp.Expr, ...], symbol: sp.Symbol) -> tuple[sp.Expr, ...]:
    """The zeros in `symbol` of the switch arguments that are polynomials of degree 1 to `SWITCH_DEGREE` in
    it, solved in closed form (functions of the other symbols); the others are skipped.

    >>> z1, z2, u = sp.symbols("z1 z2 u", real=True)
    >>> _switch_roots((z1 - u*z2, sp.cos(z1) - z1, z2**2 - 1), z1), _switch_roots((z2**2 - 1,), z2)
    ((u*z2,), (-1, 1))
    """
    roots: list[sp.Expr] = []
    for argument in arguments:
        if symbol not in argument.free_symbols or not argument.is_polynomial(symbol):
            continue
        if sp.degree(argument, symbol) > SWITCH_DEGREE:
            continue
        try:
            roots += [r for r in sp.solve(argument, symbol) if r.is_real is not False]
        except (NotImplementedError, ValueError, TypeError):
            continue
    return tuple(dict.fromkeys(roots))


#: How far inside the ends of the noise's support the extreme noise rows lie (relative to its width; on a
#: half-line, above its end, and 10**6 out).
EXTREME_NOISE = 1e-6


def _extreme_noise(support: tuple[float, float], dim: int) -> np.ndarray:
    """Four noise rows near the ends of the support: all low, all high, and alternating both ways.

    >>> _extreme_noise((0.0, 1.0), 3).tolist()[2]
    [1e-06, 0.999999, 1e-06]
    """
    low, high = support
    near = (low + EXTREME_NOISE, low + 1e6) if np.isinf(high) else (
        low + EXTREME_NOISE * (high - low), high - EXTREME_NOISE * (high - low))
    parity = np.arange(dim) % 2
    return np.array([np.full(dim, near[0]), np.full(dim, near[1]), np.where(parity, near[1], near[0]),
                     np.where(parity, near[0], near[1])])


def _distinct(rows: np.ndarray) -> np.ndarray:
    """Rows without repeats, in their first order."""
    if len(rows) == 0:
        return rows
    _, first = np.unique(rows, axis=0, return_index=True)
    return rows[np.sort(first)]


def _zero_set_in_u(ctx: _Context, d: sp.Expr, profile: ZeroProfile, parents: list[sp.Symbol], child: str,
                   refused: list[float] | None = None,
                   simplify_cut_short: list[float] | None = None) -> tuple[sp.Set | None, sp.Set | None, bool]:
    """Solve {u : d(., u) == 0} for a scalar u given by a formula (SPEC §5 step 3).

    Returns (solved set over R or None, zeros within the declared domain or None, exact?); the u values of a
    domain scan whose look at DEEP_DIGITS did not fit in DEEP_SECONDS are appended to `refused`, and those of
    a zero it kept unproven because sympy's simplify was cut short (SIMPLIFY_SECONDS) to `simplify_cut_short`."""
    env = ctx.scm.environments
    if env.kind != "scalar" or d.free_symbols & ctx.parameter_symbols:
        # tables are known only at the observed environments: nothing to solve, nothing extrapolated
        return None, (sp.S.EmptySet if ctx.domain is not None else None), True
    u = env.symbols[0]
    if profile.separation is not None:
        solved = _solved_in_u(d, parents, profile.separation.coefficients, u)
        if solved is not None:
            within = sp.Intersection(solved, ctx.domain) if ctx.domain is not None else None
            return solved, within, True
    if ctx.domain is None:
        return None, None, True
    low, high = (float(v) for v in (ctx.domain.inf, ctx.domain.sup))
    points = ctx.scan_points(child, [d, ctx.scm.mechanism(child)])  # beside the switches too
    if points is None:  # the support away from the observed environments is unknown: nothing extrapolated
        return None, sp.S.EmptySet, True
    within, exact = scan_zero_set(d, parents, u, (low, high), points, tol=ctx.tol, refused=refused,
                                  simplify_cut_short=simplify_cut_short)
    # a scan that finds nothing proves nothing: exact is False then. The zeros of a factor in u alone are
    # exact, and join what the scan found (the even-order zero of (u - 0.37)**200 lies in a stretch where
    # float64 underflows, without a sign change, and went unseen)
    head, rest = d.as_independent(*parents, as_Add=False)
    solved_head = _factor_zeros(head, rest, u)
    if solved_head is None or solved_head.is_empty:
        return None, within, exact
    head_within = sp.Intersection(solved_head, ctx.domain)
    within = _apart_from(within, head_within)  # the scan's float copy of an exact zero (2e-12 off) goes
    if within.is_empty:
        return None, head_within, bool(head_within.is_empty is False)
    return None, sp.Union(head_within, within), exact


def _apart_from(scanned: sp.Set, exact: sp.Set, rtol: float = 1e-9) -> sp.Set:
    """The scan's zero set without its points within ``rtol`` (relative, at least absolute) of a point of
    ``exact``: the same zero found twice, once solved exactly and once by the scan as a float.

    >>> _apart_from(sp.FiniteSet(sp.Float(1.5001), sp.Float(2.5)), sp.FiniteSet(sp.Rational(3, 2)))
    {1.5001, 2.5}
    >>> _apart_from(sp.FiniteSet(sp.Float(1.4142135623023933)), sp.FiniteSet(sp.Rational(14142135623, 10**10)))
    EmptySet
    """
    if not isinstance(exact, sp.FiniteSet):
        return scanned
    known = [float(e) for e in exact if e.is_real]
    pieces = scanned.args if isinstance(scanned, sp.Union) else (scanned,)
    kept = []
    for piece in pieces:
        if isinstance(piece, sp.FiniteSet):
            piece = sp.FiniteSet(*(v for v in piece if not v.is_real or not any(
                abs(float(v) - e) <= rtol * max(1.0, abs(e)) for e in known)))
        kept.append(piece)
    return sp.Union(*kept)


def _factor_zeros(head: sp.Expr, rest: sp.Expr, u: sp.Symbol) -> sp.FiniteSet | None:
    """The real zeros of the factor in u alone (`head`) of a derivative head*rest, finitely many, where rest
    is finite (no pole, NaN or infinity once u takes the value); None when head is a number, its zeros are
    not finitely many (sin(u)) or not solved, or rest is not finite at one of them.

    >>> u, z = sp.symbols("u z1", real=True)
    >>> _factor_zeros((u - sp.Rational(37, 100))**200, sp.tanh(u*z), u), _factor_zeros(u - 1, z + 1/(u - 1), u)
    ({37/100}, None)
    """
    solved = _zeros_of_factors(head, u) if head.free_symbols else None
    if solved is None:
        return None
    if not isinstance(solved, sp.FiniteSet) and not solved.is_empty:
        return None
    if any(rest.xreplace({u: r}).has(sp.zoo, sp.nan, sp.oo, -sp.oo) for r in solved):
        return None
    return solved if isinstance(solved, sp.FiniteSet) else sp.FiniteSet()


def _zeros_of_factors(product: sp.Expr, u: sp.Symbol) -> sp.Set | None:
    """The real zeros of a product of factors in u, each solved as written (a power as its base,
    `without_powers`), or None when sympy cannot solve one. A zero of one factor is a zero of the product
    only where every other factor is finite and real: at u = 1, (u**2 - 1)/(u - 1) is 0/0, undefined (and
    2 in the limit), and sin(u)/u does not vanish at u = 0. A zero set that is not finite is kept only when
    every factor is finite on the whole line; otherwise None (the caller solves the product as a whole).

    >>> u = sp.Symbol("u", real=True)
    >>> _zeros_of_factors((u - 1)**999*(u + 2), u)
    {-2, 1}
    >>> _zeros_of_factors((u**2 - 1)/(u - 1), u), _zeros_of_factors(sp.sqrt(u)*(u + 1)*u, u)
    ({-1}, {0})
    >>> _zeros_of_factors(sp.tan(u)*sp.cos(u), u) is None
    True
    """
    factors = [b for b in sp.Mul.make_args(without_powers(product)) if b.free_symbols]
    zeros = [real_zero_set([b], u) for b in factors]
    if any(z is None for z in zeros):
        return None
    union = sp.Union(*zeros)
    if len(factors) < 2:
        return union
    if isinstance(union, sp.FiniteSet):
        return sp.FiniteSet(*(r for r in union if all(_finite_real(b.xreplace({u: r})) for b in factors)))
    return union if all(_finite_on_line(b, u) for b in factors) else None


def _finite_real(value: sp.Expr) -> bool:
    """False when a factor's value at a root is shown not finite or not real (zoo, nan, I); True otherwise."""
    return not value.has(sp.zoo, sp.nan, sp.oo, -sp.oo) and value.is_extended_real is not False


def _finite_on_line(factor: sp.Expr, u: sp.Symbol) -> bool:
    """Whether a factor in u is shown finite and continuous for every real u (a polynomial, sin(u), exp(u))."""
    if factor.is_polynomial(u):
        return True
    try:
        return bool(continuous_domain(factor, u, sp.S.Reals) == sp.S.Reals)
    except (NotImplementedError, ValueError, TypeError):
        return False


def _solved_in_u(d: sp.Expr, parents: list[sp.Symbol], coefficients: Sequence[sp.Expr],
                 u: sp.Symbol) -> sp.Set | None:
    """The real u where every coefficient of the separation of d vanishes (`real_zero_set`), with the factors
    of d in u alone solved as they are written: the zeros of d = a(u)*r(u, pa) are those of a and the common
    zeros of the coefficients of r (the same functions of the parents), and a positive integer power has the
    zeros of its base, where the coefficients of r are finite (polynomials in u, or finite at each of the
    finitely many zeros of a; otherwise the expanded coefficients are solved). The expanded coefficients of
    (u - 0.37)**999*z1, 1000 terms with 10**2000-sized numbers, took sympy 68 s to solve.

    >>> u, z = sp.symbols("u z1", real=True)
    >>> _solved_in_u((u - sp.Rational(37, 100))**999*z, [z], [sp.expand((u - sp.Rational(37, 100))**999)], u)
    {37/100}
    """
    head, rest = d.as_independent(*parents, as_Add=False)
    split = separate(rest, parents) if head.free_symbols else None
    if split is None:
        return real_zero_set(coefficients, u)
    head_zeros = _zeros_of_factors(head, u)
    if head_zeros is None:
        return real_zero_set(coefficients, u)
    # a zero of a(u) is one of d only where r is finite: (u - 1)*(z1 + 1/(u - 1)) is (u - 1)*z1 + 1
    if not all(c.is_polynomial(u) for c in split.coefficients) and not (
            isinstance(head_zeros, sp.FiniteSet)
            and all(c.xreplace({u: r}).is_finite for r in head_zeros for c in split.coefficients)):
        return real_zero_set(coefficients, u)
    rest_zeros = real_zero_set(split.coefficients, u)
    return None if rest_zeros is None else sp.Union(head_zeros, rest_zeros)


#: A zero set in u of more points than this is written with its first MAX_LISTED and a count.
MAX_LISTED = 12


def _describe_set(zeros: sp.Set, name: str) -> str:
    if zeros == sp.S.Reals:
        return f"every {name}"
    if zeros.is_empty:
        return f"no real {name}"
    if isinstance(zeros, sp.FiniteSet):
        if len(zeros) == 1:
            return f"{name} = {pretty(next(iter(zeros)))}"
        if len(zeros) > MAX_LISTED:  # sin(exp(u)) has 7011 zeros in [0, 10]
            first = sorted(zeros, key=float)[:MAX_LISTED]
            return f"{name} in {{" + ", ".join(pretty(z) for z in first) + f", ...}} ({len(zeros)} in all)"
        return f"{name} in {{" + ", ".join(pretty(z) for z in zeros) + "}"
    return f"{name} in {pretty(zeros)}"


def _unobserved(zeros: sp.Set, observed: sp.Set) -> sp.Set:
    """zeros without the observed values: sympy's Complement, but on a long finite set (7011 zeros of
    sin(exp(u)) in [0, 10], 40 s in sympy's pairwise comparisons) only for the points within 1e-9 of an
    observed value, the others kept as they are."""
    pieces = zeros.args if isinstance(zeros, sp.Union) else (zeros,)
    if not isinstance(observed, sp.FiniteSet) or not any(isinstance(p, sp.FiniteSet) and len(p) > MAX_LISTED
                                                         for p in pieces):
        return sp.Complement(zeros, observed)
    values = np.array([float(o) for o in observed])
    kept = []
    for piece in pieces:
        if isinstance(piece, sp.FiniteSet) and len(piece) > MAX_LISTED:
            near = {z for z in piece if np.any(np.abs(float(z) - values) <= 1e-9 * np.maximum(1.0, np.abs(values)))}
            kept += [sp.FiniteSet(*(z for z in piece if z not in near)), sp.Complement(sp.FiniteSet(*near), observed)]
        else:
            kept.append(sp.Complement(piece, observed))
    return sp.Union(*kept)


def _representatives(zeros: sp.Set | None, limit: int = 10) -> tuple[float, ...]:
    """Up to `limit` numbers from a set of u values: its points, or the midpoints of its intervals."""
    if not _nonempty(zeros):
        return ()
    pieces = zeros.args if isinstance(zeros, sp.Union) else (zeros,)
    out: list[float] = []
    for piece in pieces:
        if isinstance(piece, sp.FiniteSet):
            out += [float(v) for v in piece if v.is_real]
        elif isinstance(piece, sp.Interval):
            out.append(float((piece.inf + piece.sup) / 2))
    return tuple(sorted(out)[:limit])


#: Functions with a jump. Where their argument (a Piecewise's condition) moves with a parent, sympy's
#: derivative drops the jump (a Piecewise's) or puts a DiracDelta there, 0 at every probe (sign, Heaviside):
#: a vanishing derivative then does not make g constant in the parent (SPEC §2, (iv-a)).
JUMPS = (sp.Piecewise, sp.Heaviside, sp.sign, sp.floor, sp.ceiling, sp.frac)
#: Relative difference of g between two probe values of the parent that counts as a jump.
JUMP_TOL = 1e-6
#: How many orders of the noise probes a parent is moved through on a moving support with several parents
#: (`_Context.moved_points`): its reversal and its rotations by 1 to MOVES - 1 places.
MOVES = 64


Jump = Callable[[np.ndarray, dict, "np.ndarray | None"], "np.ndarray | None"]


def _jump_test(ctx: _Context, parent: str, child: str) -> Jump | None:
    """A test for jumps of g_child in ``parent`` (None when g has no function with a jump in the parent, or
    when the test could leave the support): given probe points (K, |pa|), the environment's values, and the
    same points with only the parent moved (None: its values taken from the other probe points, in reverse),
    a point where g changes when only the parent's value does, or None. Swapping one coordinate between
    probe points stays in the support when it is a product: noise on the whole line (each parent ranges over
    ḡ_j(ℝ)), or a single parent. With a half-line or interval noise and several parents the parent alone is
    moved where the noise the move implies stays in its support (`_Context.moved_points`)."""
    scm = ctx.scm
    g, symbol = scm.mechanism(child), scm.symbol(parent)
    parents = [scm.symbol(p) for p in scm.parents(child)]
    if not any(symbol in atom.free_symbols for atom in g.atoms(*JUMPS)) or (
            ctx.moving_support and len(parents) > 1 and ctx.moved_points(child, parent) is None):
        return None
    others = sorted(ctx.table, key=str)
    fn = numeric_function(parents + others, g)
    j = parents.index(symbol)

    def jump(points: np.ndarray, values: dict, moved: np.ndarray | None) -> np.ndarray | None:
        if moved is None:
            moved = points.copy()
            moved[:, j] = points[::-1, j]
        points = np.tile(points, (len(moved) // len(points), 1))  # moved_points repeats them
        with np.errstate(all="ignore"):
            at, there = (np.broadcast_to(np.asarray(fn(*p.T, *(values.get(o, np.nan) for o in others)), float),
                                         len(p)) for p in (points, moved))
        found = np.isfinite(at) & np.isfinite(there) & (
            np.abs(at - there) > JUMP_TOL * np.maximum(1.0, np.maximum(np.abs(at), np.abs(there))))
        return points[int(np.argmax(found))] if found.any() else None

    return jump


def _without_jumps(ctx: _Context, jump: Jump, profile: ZeroProfile, parent: str, child: str,
                   probes: np.ndarray) -> tuple[ZeroProfile, list[int]]:
    """The profile with every zero of the derivative where g still jumps in the parent turned into a
    non-zero (the jump is the influence; witness: a point beside it), and those environments. `probes`: the
    points the profile read (with those beside the switches, `_Context.switch_points`), used where the parent
    is moved by reversing them; `_Context.moved_points` moves it from the ordinary probes."""
    moved = ctx.moved_points(child, parent)
    points = probes if moved is None else ctx.points(child)
    found = {m: at for m in np.flatnonzero(profile.zero).tolist()
             if (at := jump(points[m] if points.ndim == 3 else points, {s: float(v[m]) for s, v in ctx.table.items()},
                            None if moved is None else moved[m])) is not None}
    if not found:
        return profile, []
    jumps = list(found)
    zero, proven, nonzero, witness = (a.copy() for a in (profile.zero, profile.proven, profile.nonzero,
                                                         profile.witness))
    zero[jumps], proven[jumps], nonzero[jumps] = False, False, True
    witness[jumps] = np.array([found[m] for m in jumps])
    timed_out = tuple(m for m in profile.simplify_cut_short if m not in found)  # no longer zeros
    return replace(profile, zero=zero, proven=proven, nonzero=nonzero, witness=witness,
                   simplify_cut_short=timed_out), jumps


def _without_jumps_in_u(ctx: _Context, jump: Jump, parent: str, child: str,
                        zeros: sp.Set) -> tuple[sp.Set, list[float]]:
    """The unobserved zeros of the derivative without the pieces (a point, an interval) at whose
    representative g jumps in the parent, and those representatives."""
    u = ctx.scm.environments.symbols[0] if ctx.scm.environments.kind == "scalar" else None
    scan = ctx.scan_points(child)
    if u is None or scan is None:
        return zeros, []
    kept, dropped = [], []
    for piece in zeros.args if isinstance(zeros, sp.Union) else (zeros,):
        parts = [sp.FiniteSet(p) for p in piece] if isinstance(piece, sp.FiniteSet) else [piece]
        for part in parts:
            value = _representatives(part)
            if value:
                points = scan if isinstance(scan, np.ndarray) else scan(np.array(value[:1]))[0]
                moved = ctx.moved_points(child, parent, np.array(value[:1]))
                if jump(points, {u: value[0]}, None if moved is None else moved[0]) is not None:
                    dropped.append(value[0])
                    continue
            kept.append(part)
    return (sp.Union(*kept) if kept else sp.S.EmptySet), dropped


def _simplify_cut_short(where: list[str], limit: int = 6) -> str:
    """Why zeros stay unproven where sympy's simplify (or equals) was cut short in their exact proof: the
    proof was tried and ran out of time (a faster machine, or a simpler mechanism, may finish it).

    >>> _simplify_cut_short(["u = 1"])
    "sympy's simplify was cut short after 5 s (SIMPLIFY_SECONDS), so the zero at u = 1 is not proven"
    """
    listed = ", ".join(where[:limit]) + (f" and {len(where) - limit} more" if len(where) > limit else "")
    zeros = "zeros at" if len(where) > 1 else "zero at"
    return (f"sympy's simplify was cut short after {SIMPLIFY_SECONDS:g} s (SIMPLIFY_SECONDS), so the {zeros} "
            f"{listed} {'are' if len(where) > 1 else 'is'} not proven")


def _cut_short(where: str) -> str:
    """Why a zero stays undecided where the looks at DEEP_DIGITS did not fit in their time budget."""
    return (f"at {where} it reads 0 at {MP_DIGITS} digits, and the look at up to {DEEP_DIGITS[-1]} digits for a "
            f"smaller non-zero did not fit in {DEEP_SECONDS:g} s")


def without_powers(d: sp.Expr) -> sp.Expr:
    """d with every factor b**k (k an integer, |k| > 1) written b**sign(k): at every point b**k is 0 exactly
    where b is, so it vanishes identically in the parents for the same u as d, and is non-zero wherever d is,
    without the multinomial expansion of (z1 + z2 + z3 + u - 2)**17 (and without float underflow of b**k
    where b is small but not 0). A power common to every term of a sum is taken out first (`factor_terms`).

    >>> u, z1, z2 = sp.symbols("u z1 z2", real=True)
    >>> without_powers(18*(z1 + z2 + u - 2)**17), without_powers((u - 1)**3/(z1**2 + 1)**2)
    (u + z1 + z2 - 2, (u - 1)/(z1**2 + 1))
    >>> without_powers((u - 1)**200*z1 + (u - 1)**200)  # a power common to every term
    (u - 1)*(z1 + 1)
    """
    def powered(f: sp.Expr) -> bool:
        return isinstance(f, sp.Pow) and f.exp.is_Integer and abs(f.exp) > 1

    product = sp.factor_terms(d) if isinstance(d, sp.Add) else d  # a power common to every term comes out
    factors = product.args if isinstance(product, sp.Mul) else (product,)
    if not any(powered(f) for f in factors):
        return d
    # a number factor goes too: 10**-400 from (u - 0.37)**200 = (100*u - 37)**200/10**400 underflows floats
    return sp.Mul(*(f.base ** (1 if f.exp > 0 else -1) if powered(f) else f for f in factors if not f.is_Number))


def _analyse_edge(ctx: _Context, parent: str, child: str) -> EdgeZeros:
    """(iv) for one edge: the per-environment zero test, the zero set in u, then the grading."""
    scm = ctx.scm
    env = scm.environments
    parents = [scm.symbol(p) for p in scm.parents(child)]
    d = sp.diff(scm.mechanism(child), scm.symbol(parent))
    tested = without_powers(d)
    # beside the switches of the derivative and of the mechanism too: a step on only in a window no random
    # probe reaches would read as identically 0 (SPEC §5 Pitfalls)
    switched = ctx.switch_points(child, [d, scm.mechanism(child)])
    points = ctx.points(child) if switched is None else switched
    profile = vanishing_profile(tested, parents, points, ctx.table, ctx.exact, tol=ctx.tol,
                                support=ctx.exact_support if ctx.moving_support else None)
    jump = _jump_test(ctx, parent, child)
    profile, jumps = _without_jumps(ctx, jump, profile, parent, child, points) if jump else (profile, [])
    tables = bool(d.free_symbols & ctx.parameter_symbols)
    scan_refused: list[float] = []
    scan_timed_out: list[float] = []  # unproven zeros of the scan whose simplify was cut short
    solved, within, solved_exactly = _zero_set_in_u(ctx, tested, profile, parents, child, scan_refused,
                                                    scan_timed_out)
    extrapolated_zeros = _unobserved(within, ctx.observed_u) if within is not None else sp.S.EmptySet
    jump_u: list[float] = []  # unobserved zeros of the derivative where g jumps: not zeros of the influence
    if jump and _nonempty(extrapolated_zeros):
        extrapolated_zeros, jump_u = _without_jumps_in_u(ctx, jump, parent, child, extrapolated_zeros)

    zero_idx = [int(m) for m in np.flatnonzero(profile.zero)]
    nonzero_idx = [int(m) for m in np.flatnonzero(profile.nonzero)]
    witness_point = None
    if nonzero_idx and not np.any(np.isnan(profile.witness[nonzero_idx[0]])):
        witness_point = {p.name: float(v) for p, v in zip(parents, profile.witness[nonzero_idx[0]])}
    name = f"dg_{child}/d{parent} = {pretty(d)}"
    if jumps or jump_u:
        name += f" with the jumps of g_{child} in {parent}"
    status, reason = _grade(ctx, name, child, profile, extrapolated_zeros, witness_point)
    if status == "fails" and nonzero_idx and scan_refused:  # the scan could not look where a zero may be
        shown = ", ".join(f"{value:g}" for value in sorted(scan_refused)[:6])
        status, reason = "undecided", (
            f"{name} does not vanish identically in any observed environment; undecided in the declared domain "
            f"{_domain_text(ctx)}: {_cut_short(f'u = {shown}')}")
    if jumps or jump_u:
        where = ", ".join(([_list_envs(ctx, jumps)] if jumps else []) + [f"u = {value:g}" for value in jump_u])
        reason += (f"; g_{child} jumps in {parent} (a Piecewise, sign, Heaviside, floor or ceiling) at {where}, "
                   f"where the derivative vanishes: it is not constant in {parent} there")
    elif status == "fails" and zero_idx == [] and nonzero_idx:
        reason += _why_no_zero(ctx, solved, tables)
    beside = _beside_switches(ctx, child, points, profile, parents)
    if beside:
        reason += f"; non-zero beside a switch, where no other probe point showed it: {beside}"
    if profile.cut_short:
        reason += f"; {_cut_short(_list_envs(ctx, list(profile.cut_short)))} (undecided there)"
    # the zeros whose exact proof sympy's simplify did not finish: observed ones, and the scan's that the edge
    # rests on (extrapolated: no observed zero)
    relied_on = _representatives(extrapolated_zeros) if not zero_idx else ()
    timed_out = [environment_text(scm, m) for m in profile.simplify_cut_short] + [
        f"u = {value:g}" for value in relied_on if np.isclose(value, scan_timed_out, rtol=1e-9, atol=0.0).any()]
    if timed_out:
        reason += f"; {_simplify_cut_short(timed_out)}"
    extrapolated = status == "holds" and not zero_idx
    # symbolic: every zero claimed is proven exactly, and a zero set in the domain (an extrapolated zero, or
    # its absence) was solved exactly; non-zeros rest on exact coefficients or on witness points
    exact = bool(np.all(profile.proven[zero_idx])) and (solved_exactly or not (extrapolated or status == "fails")) \
        and not jumps and not jump_u  # a jump is seen at probe points
    method: Literal["symbolic", "numeric", "undecided"] = (
        "undecided" if status == "undecided" else ("symbolic" if exact else "numeric"))
    if method == "numeric":
        reason += " [numeric: decided by probe points, not proven]"
    result = EdgeResult(
        parent=parent, child=child, status=status,
        vanishes_at=tuple(env.labels[m] for m in zero_idx),
        nonzero_at=env.labels[nonzero_idx[0]] if nonzero_idx else None,
        extrapolated=extrapolated, method=method, reason=reason, derivative=pretty(d),
        zero_set=_zero_set_text(ctx, profile, solved, within, tables),
        extrapolated_zeros=_representatives(extrapolated_zeros), nonzero_point=witness_point,
        no_influence=not nonzero_idx and not profile.undecided.any(), vanishing_environments=tuple(zero_idx))
    return EdgeZeros(result, CommonZeros(frozenset(zero_idx), extrapolated_zeros))


def _beside_switches(ctx: _Context, child: str, points: np.ndarray, profile: ZeroProfile,
                     parents: list[sp.Symbol], limit: int = 3) -> str:
    """The environments whose non-zero witness is a point added beside a switch (`_Context.switch_points`),
    with the point, in words; "" when there is none."""
    ordinary = ctx.points(child)
    count = ordinary.shape[-2]
    if points.shape[-2] == count:
        return ""
    shown = []
    for m in np.flatnonzero(profile.nonzero).tolist():
        added = points[m, count:] if points.ndim == 3 else points[count:]
        usual = ordinary[m] if ordinary.ndim == 3 else ordinary
        w = profile.witness[m]
        if not np.any(np.isnan(w)) and np.all(added == w, axis=1).any() and not np.all(usual == w, axis=1).any():
            where = ", ".join(f"{p.name} = {v:.10g}" for p, v in zip(parents, profile.witness[m]))
            shown.append(f"{environment_text(ctx.scm, m)} ({where})")
    return ", ".join(shown[:limit]) + (f" and {len(shown) - limit} more" if len(shown) > limit else "")


def _grade(ctx: _Context, name: str, child: str, profile: ZeroProfile, extrapolated_zeros: sp.Set,
           witness_point: dict[str, float] | None) -> tuple[EdgeStatus, str]:
    """Status and reason of an edge (SPEC §2: observed zero -> holds; unobserved zero of the declared domain
    -> holds, extrapolated; otherwise fails; (iv-b) needs an observed non-zero)."""
    scm = ctx.scm
    zero_idx = [int(m) for m in np.flatnonzero(profile.zero)]
    nonzero_idx = [int(m) for m in np.flatnonzero(profile.nonzero)]
    undecided_idx = [int(m) for m in np.flatnonzero(profile.undecided)]
    if not nonzero_idx and not undecided_idx:
        return "fails", (f"{name} vanishes in every observed environment: the declared parent has no influence "
                         f"on {child} ((iv-b) fails; not a real edge)")
    if not nonzero_idx:
        return "undecided", (f"{name}: no observed environment where it is shown to be non-zero (undecided in "
                             f"{_list_envs(ctx, undecided_idx)})")
    if zero_idx:
        return "holds", (f"{name} vanishes identically in the parents at {_list_envs(ctx, zero_idx)} and is "
                         f"non-zero at {environment_text(scm, nonzero_idx[0])}{_at_point(witness_point)}")
    if _nonempty(extrapolated_zeros):
        return "holds", (f"{name} vanishes identically at "
                         f"{_describe_set(extrapolated_zeros, scm.environments.symbols[0].name)}, inside the "
                         f"declared domain {_domain_text(ctx)} but at no observed environment: the zero is "
                         f"extrapolated from the formula in u (SPEC §2, 'Must u' be observed?')")
    if undecided_idx or extrapolated_zeros.is_empty is None:
        where = _list_envs(ctx, undecided_idx) or f"the declared domain {_domain_text(ctx)}"
        return "undecided", f"{name} does not vanish identically in the decided environments; undecided in {where}"
    return "fails", f"{name} does not vanish identically in any observed environment"


def _zero_set_text(ctx: _Context, profile: ZeroProfile, solved: sp.Set | None, within: sp.Set | None,
                   tables: bool) -> str:
    """The zero set {u : d(., u) == 0} in words (an added report field)."""
    env = ctx.scm.environments
    if tables or env.kind == "segments":
        return "observed environments only"
    if env.kind == "vector":
        if profile.separation is None:
            return "observed environments only"
        equations = sorted({pretty(sp.factor(c)) for c in profile.separation.coefficients})
        return " and ".join(f"{e} = 0" for e in equations) if equations else "every u"
    if solved is not None and (within is None or not solved.has(sp.ImageSet)):
        return _describe_set(solved, env.symbols[0].name)
    if solved is not None:
        return _describe_set(within, env.symbols[0].name) + f" within {_domain_text(ctx)}"
    if within is not None and within.is_empty:
        return f"no zero found in {_domain_text(ctx)} (numeric scan)"
    if within is not None:
        return _describe_set(within, env.symbols[0].name) + f" within {_domain_text(ctx)} (numeric scan)"
    return "observed environments only"


def _domain_text(ctx: _Context) -> str:
    return f"[{pretty(ctx.domain.inf)}, {pretty(ctx.domain.sup)}]" if ctx.domain is not None else "(none)"


def _why_no_zero(ctx: _Context, solved: sp.Set | None, tables: bool) -> str:
    """Why no zero counts, beyond the observed environments (SPEC §2, 'Must u' be observed?')."""
    env = ctx.scm.environments
    if tables and env.kind != "segments":
        return " (it depends on per-environment tables, known only at the observed environments)"
    if env.kind == "segments":
        return " (one-hot segments: values between segments are not data, so only observed segments count)"
    if env.kind == "vector":
        return " (no domain is declared for a vector u, so only observed environments count)"
    name = env.symbols[0].name
    if solved is not None and solved.is_empty:
        return f"; it has no real zero in {name}"
    if ctx.domain is None:
        if solved is not None:
            return (f"; its zeros ({_describe_set(solved, name)}) are unobserved and no domain is declared, "
                    f"so only observed environments count")
        return "; no domain is declared, so only observed environments count"
    if solved is not None:
        return f"; its zeros ({_describe_set(solved, name)}) lie outside the declared domain {_domain_text(ctx)}"
    return f"; a scan of the declared domain {_domain_text(ctx)} found no zero"


def _list_envs(ctx: _Context, indices: list[int], limit: int = 6) -> str:
    shown = [environment_text(ctx.scm, m) for m in indices[:limit]]
    more = f" and {len(indices) - limit} more" if len(indices) > limit else ""
    return ", ".join(shown) + more


def _at_point(point: dict[str, float] | None) -> str:
    if not point:
        return ""
    return " (e.g. at " + ", ".join(f"{k} = {v:.4g}" for k, v in point.items()) + ")"


def _intersect(sets: list[CommonZeros], everything: frozenset[int]) -> CommonZeros:
    """Common zeros of several edges (SPEC §5 step 4): intersect observed and extrapolated zeros."""
    observed = frozenset(everything)
    extrapolated: sp.Set | None = sp.S.Reals
    for zeros in sets:
        observed &= zeros.observed
        if extrapolated is not None:
            extrapolated = None if zeros.extrapolated is None else sp.Intersection(extrapolated, zeros.extrapolated)
    if not sets:
        extrapolated = sp.S.EmptySet
    return CommonZeros(observed, extrapolated)


def _reading(statuses: Sequence[str], holds: bool) -> Status:
    if holds:
        return "holds"
    return "unknown" if "undecided" in statuses and "fails" not in statuses else "fails"


def analyse_iv(scm: SCM, *, tol: float = DEFAULT_TOL, seed: int = 0, probes: int = DEFAULT_PROBES) -> IVAnalysis:
    """Check (iv) for every edge and intersect the zero sets per node (iv-N) and over all edges (iv-G).

    >>> from identcheck import load_example
    >>> iv = analyse_iv(load_example("C9"))
    >>> sorted(iv.nodes["z3"].observed), iv.result.readings["edge"], iv.result.readings["node"]
    ([], 'fails', 'fails')
    """
    ctx = _Context(scm, tol, seed, probes)
    everything = frozenset(range(scm.environments.count))
    edges = {(p, c): _analyse_edge(ctx, p, c) for p, c in scm.edges}
    nodes = {child: _intersect([edges[(p, child)].zeros for p in scm.parents(child)], everything)
             for child in scm.latents if not scm.is_root(child)}
    common = _intersect([e.zeros for e in edges.values()], everything)
    results = tuple(e.result for e in edges.values())
    statuses = [r.status for r in results]
    status: Status = "fails" if "fails" in statuses else ("unknown" if "undecided" in statuses else "holds")
    bad = [f"{r.parent}->{r.child}" + (" (no influence: not a real edge, ignored by the verdicts)"
                                        if r.no_influence else "") for r in results if r.status != "holds"]
    if not results:
        reason = "no edges: every latent is a root"
    elif status == "holds":
        reason = ("the only edge vanishes identically somewhere in the domain and is" if len(results) == 1 else
                  f"all {len(results)} edges vanish identically somewhere in the domain and are") + \
            " non-zero in some observed environment"
    else:
        reason = f"{len(results) - len(bad)} of {len(results)} edges satisfy (iv); not: {', '.join(bad)}"
    edge_wise = [e.zeros.exists for e in edges.values()]
    # every reading needs each edge's own (iv): a failing edge (no zero in the domain, or a declared parent with
    # no influence, (iv-b)) fails the node-wise and global readings too, so that G => N => E (SPEC §2)
    decided = "undecided" not in statuses and "fails" not in statuses
    readings = {
        "edge": _reading(statuses, all(s == "holds" for s in statuses)),
        "node": _reading(statuses, all(z.exists for z in nodes.values()) and decided),
        "global": _reading(statuses, common.exists and all(edge_wise) and decided),
    }
    result = ConditionIVResult(status, reason, results, readings,
                               tuple(scm.environments.labels[m] for m in sorted(common.observed)) if results else ())
    return IVAnalysis(result, edges, nodes, common)


def check_condition_iv(scm: SCM, *, tol: float = DEFAULT_TOL, seed: int = 0,
                       probes: int = DEFAULT_PROBES) -> ConditionIVResult:
    """Assumption (iv) for every edge (the `assumptions.iv` object of CONTRACT §2).

    >>> from identcheck import load_example
    >>> check_condition_iv(load_example("C7")).status
    'fails'
    """
    return analyse_iv(scm, tol=tol, seed=seed, probes=probes).result


def check_edge(scm: SCM, parent: str, child: str, *, tol: float = DEFAULT_TOL, seed: int = 0,
               probes: int = DEFAULT_PROBES) -> EdgeResult:
    """Assumption (iv) for one edge parent -> child (SPEC §2 (iv-a)/(iv-b)).

    >>> from identcheck import load_example
    >>> check_edge(load_example("C13_extrapolated"), "z1", "z2").extrapolated
    True
    """
    if (parent, child) not in scm.edges:
        raise ValueError(f"{parent} -> {child} is not an edge of the SCM (edges: {scm.edges})")
    return _analyse_edge(_Context(scm, tol, seed, probes), parent, child).result
