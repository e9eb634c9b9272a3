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
from typing import Any, Callable, Literal, Sequence

import networkx as nx
import numpy as np
import sympy as sp
from sympy.calculus.util import continuous_domain

from ..report import ConditionIVResult, EdgeResult, EdgeStatus
from ..psi import latent_map, latents_exact, noise_symbols
from ..scm import PNL_SYMBOL, SCM
from ..spec.expressions import numeric_function
from .results import Status
from .zeros import (DEEP_DIGITS, DEEP_SECONDS, MP_DIGITS, SIMPLIFY_SECONDS, ZeroProfile, probe_points, real_zero_set,
                    scan_zero_set, separate, vanishing_profile)

__all__ = ["CommonZeros", "EdgeZeros", "IVAnalysis", "analyse_iv", "check_edge", "check_condition_iv",
           "environment_text", "exact_table", "pretty"]

#: Default relative tolerance of the numeric probe (SPEC §5 step 2c: |d| > tol * sum|terms| is non-zero).
DEFAULT_TOL = 1e-9
#: Default number of random probe points per node (SPEC §5: K >= 64).
DEFAULT_PROBES = 64


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
    """Terminating-decimal rationals as Floats (4/5 -> 0.8), exponents kept exact (sqrt(2) stays)."""
    if isinstance(expr, sp.Rational) and not isinstance(expr, sp.Integer):
        q = int(expr.q)
        for prime in (2, 5):
            while q % prime == 0:
                q //= prime
        return sp.Float(expr, 15) if q == 1 else expr
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
            values = {s: np.full(len(u_values), np.nan) for s in self.parameter_symbols}
            values[scm.environments.symbols[0]] = np.asarray(u_values, float)
            count = len(u_values)
        assert self._noise_probes is not None
        k = len(self._noise_probes)
        orders = [np.arange(k)[::-1], *(np.roll(np.arange(k), shift) for shift in range(1, min(k, MOVES)))]
        noise = np.tile(self._noise_probes, (len(orders), 1))
        noise[:, j] = self._noise_probes[np.concatenate(orders), j]
        z = np.tile(self._pushed(values, count), (1, len(orders), 1))
        z[:, :, j] = self._pushed(values, count, noise)[:, :, j]
        low, high = scm.noise_family.support
        for d in shaping:
            symbols, g = self._mechanism(d)
            args = [z[:, :, scm.latents.index(str(x))] if str(x) in scm.latents else values[x][:, None]
                    for x in symbols]
            with np.errstate(all="ignore"):
                implied = z[:, :, scm.latents.index(d)] - np.asarray(g(*args), float)
            z[~((implied > low) & (implied < high))] = np.nan
        moved = z[:, :, [scm.latents.index(p) for p in parents]]
        if u_values is None:
            self._moved[child, parent] = moved
        return moved

    def _mechanism(self, latent: str) -> tuple[list[sp.Symbol], Callable[..., Any]]:
        """g_latent's symbols and its numeric function, lambdified once."""
        if latent not in self._mechanisms:
            g = self.scm.mechanism(latent)
            symbols = sorted(g.free_symbols, key=str)
            self._mechanisms[latent] = symbols, numeric_function(symbols, g)
        return self._mechanisms[latent]

    def scan_points(self, child: str) -> np.ndarray | Callable[[np.ndarray], np.ndarray] | None:
        """Probes for scanning a scalar u over the domain: the fixed points, or a function of u giving the
        pushed probes at each u; None when the support at an unobserved u is unknown (a mechanism among the
        ancestors reads a table parameter, known only at the observed environments)."""
        if not self.moving_support:
            return self.points(child)
        ancestors = nx.ancestors(self.scm.graph, child)
        if any(self.scm.mechanism(a).free_symbols & self.parameter_symbols for a in ancestors):
            return None
        u = self.scm.environments.symbols[0]
        columns = [self.scm.latents.index(p) for p in self.scm.parents(child)]

        def at(u_values: np.ndarray) -> np.ndarray:
            # table parameters have no value away from the observed environments: NaN, read by no ancestor
            values = {s: np.full(len(u_values), np.nan) for s in self.parameter_symbols}
            return self._pushed(values | {u: np.asarray(u_values, float)}, len(u_values))[:, :, columns]

        return at


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
    points = ctx.scan_points(child)
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
    if within.is_empty:
        return None, head_within, bool(head_within.is_empty is False)
    return None, sp.Union(head_within, within), exact


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


def _without_jumps(ctx: _Context, jump: Jump, profile: ZeroProfile, parent: str,
                   child: str) -> tuple[ZeroProfile, list[int]]:
    """The profile with every zero of the derivative where g still jumps in the parent turned into a
    non-zero (the jump is the influence; witness: a point beside it), and those environments."""
    points, moved = ctx.points(child), ctx.moved_points(child, parent)
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
    points = ctx.points(child)
    profile = vanishing_profile(tested, parents, points, ctx.table, ctx.exact, tol=ctx.tol,
                                support=ctx.exact_support if ctx.moving_support else None)
    jump = _jump_test(ctx, parent, child)
    profile, jumps = _without_jumps(ctx, jump, profile, parent, child) if jump else (profile, [])
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
