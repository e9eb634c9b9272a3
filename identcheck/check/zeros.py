"""Zero-testing: does an expression vanish *identically in some variables* at each environment? (SPEC §2 (iv-a))

Assumption (iv) asks whether d(p, u) = dg_i/dz_j vanishes for every parent value p in the support, at a
given u -- not at a point. Zero-equivalence is undecidable in general (SPEC §5, Richardson), so the tests
here combine three kinds of evidence and say which one decided:

- *separation* (SPEC §5 "Checking (iv)", step 3): write d = sum_k c_k(u) phi_k(p) by grouping the
  p-dependent factors of the expanded terms; when the phi_k are linearly independent (checked by the rank of
  [phi_k(p_m)] over probe points), d(., u) == 0 iff every c_k(u) = 0, a question about numbers (exact at the
  observed environments, solvable in u for a formula);
- *exact proof* of a candidate zero with sympy (`is_zero_exact`), only where the numbers say "zero";
- a *numeric probe* over ALL environments at once (one lambdified, vectorised evaluation): a point where
  |d| exceeds tol * sum|additive terms| is a witness of non-zero (re-evaluated with 50-digit mpmath when
  it is close to the tolerance). "simplify did not return 0" is never read as non-zero without a witness.

>>> import sympy as sp
>>> u, z = sp.Symbol("u", real=True), sp.Symbol("z1", real=True)
>>> s = separate(sp.cos(z) + u, [z])
>>> sorted(map(str, s.factors)), sorted(map(str, s.coefficients))
(['1', 'cos(z1)'], ['1', 'u'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp

from ..spec.expressions import numeric_function

__all__ = [
    "Separation",
    "ZeroProfile",
    "separate",
    "independent",
    "probe_points",
    "is_zero_exact",
    "vanishing_profile",
    "real_zero_set",
    "scan_zero_set",
]

#: Expressions larger than this (sympy count_ops) are not handed to `simplify` (too slow to be useful).
SIMPLIFY_MAX_OPS = 120
#: A relative residual above this is a clear non-zero; between `tol` and this, mpmath re-checks it.
CLEAR_NONZERO = 1e-6
#: Fewer finite probe values than this in an environment leave it undecided.
MIN_FINITE_PROBES = 8
#: Relative tolerance of the 50-digit recheck of a numeric zero (SPEC §5 step 2c, "evaluated with mpmath at
#: 50 digits", and Pitfalls "use high precision and a relative tolerance"). A spec's decimal numbers carry
#: 15-16 significant digits, so a residual below ~1e-15 of the magnitude of the terms that cancel may be an
#: artefact of how the numbers were written (0.3333333333333333*3 - 1); 1e-12 leaves a margin of 1000 for
#: that, while a genuine non-zero such as (u - 1.0000000001) at u = 1 (relative 5e-11) is still a witness.
MP_RELATIVE_TOL = 1e-12
#: Digits of the mpmath recheck (SPEC §5 step 2c).
MP_DIGITS = 50
#: Relative size of the 50-digit rounding, with a margin: below it a residual is no evidence at all.
MP_ROUNDING = 1e-45
#: Large-magnitude probe points (+-10**U(0, 6)) added to the other scales: a derivative that is zero on a
#: half-line far out (0.8*Heaviside(z1 - 60)) is not identically zero (SPEC §5 Pitfalls).
LARGE_PROBES = 6


@dataclass(frozen=True)
class Separation:
    """expr == sum_k coefficients[k] * factors[k]: the coefficients are free of the variables, the factors
    depend on the variables only (SPEC §5, "group the pa-dependent factors of the expanded terms").

    >>> u, z = sp.symbols("u z1", real=True)
    >>> separate(2*u*z**2 + u + 3, [z]).coefficients
    (u + 3, 2*u)
    """

    coefficients: tuple[sp.Expr, ...]
    factors: tuple[sp.Expr, ...]


@dataclass(frozen=True, eq=False)
class ZeroProfile:
    """Per observed environment m: does expr(., u_m) vanish identically in the variables?

    zero[m]: it does (proven[m] says whether exactly; otherwise numerically, unproven);
    nonzero[m]: it does not, and witness[m] is a variable point where expr(., u_m) != 0 (nan row when the
    decision came from an exactly non-zero coefficient and no probe point showed it);
    neither: undecided (the expression could not be evaluated at enough points).
    """

    zero: np.ndarray
    proven: np.ndarray
    nonzero: np.ndarray
    witness: np.ndarray
    separation: Separation | None

    @property
    def undecided(self) -> np.ndarray:
        """Environments where neither a zero nor a non-zero was established."""
        return ~(self.zero | self.nonzero)


def separate(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> Separation | None:
    """Split expr into sum_k c_k * phi_k(variables) with c_k free of the variables, or None when some
    expanded term mixes the variables with other symbols inside one factor (e.g. tanh(u*z1)).

    >>> u, z = sp.symbols("u z1", real=True)
    >>> separate(sp.tanh(u*z), [z]) is None
    True
    """
    wanted = set(variables)
    grouped: dict[sp.Expr, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(expr)):
        coefficient, factor = term.as_independent(*wanted, as_Add=False)
        if factor.free_symbols - wanted:
            return None
        grouped[factor] = grouped.get(factor, sp.Integer(0)) + coefficient
    kept = sorted(((f, c) for f, c in grouped.items() if c != 0), key=lambda fc: sp.default_sort_key(fc[0]))
    return Separation(tuple(c for _, c in kept), tuple(f for f, _ in kept))


def independent(factors: Sequence[sp.Expr], variables: Sequence[sp.Symbol], points: np.ndarray) -> bool:
    """True when the functions are linearly independent, shown by a full-rank sample matrix [phi_k(p_m)]
    (columns normalised; relative singular-value tolerance 1e-9). A single function counts as independent
    when it is finite and non-zero somewhere among the points (not NaN everywhere, as an unevaluated
    derivative is).

    >>> z = sp.Symbol("z1", real=True)
    >>> pts = probe_points((-np.inf, np.inf), 1)
    >>> independent([sp.sin(z)**2, sp.cos(z)**2, sp.Integer(1)], [z], pts)
    False
    """
    if not factors:
        return True
    values = _evaluate(list(factors), list(variables), [points[:, k] for k in range(points.shape[1])])
    matrix = np.stack(values, axis=1)
    matrix = matrix[np.all(np.isfinite(matrix), axis=1)]
    if matrix.shape[0] < len(factors):
        return False
    norms = np.linalg.norm(matrix, axis=0)
    if np.any(norms == 0):
        return False
    singular = np.linalg.svd(matrix / norms, compute_uv=False)
    return bool(singular[-1] > 1e-9 * singular[0])


def probe_points(support: tuple[float, float], dim: int, count: int = 64, seed: int = 0) -> np.ndarray:
    """Probe points (rows) inside the open box support**dim: a few simple points first (so that witnesses
    read well), then `count` random points at several scales (SPEC §5: U(-3,3) and N(0, 10^2) on the real
    line; log-normal and uniform on (0, inf); uniform and logistic on (0, 1)), then `LARGE_PROBES` points of
    magnitude 10**U(0, 6) on an unbounded support (SPEC §5 Pitfalls: probes must cover the whole support).

    >>> probe_points((-np.inf, np.inf), 2, count=64).shape
    (78, 2)
    >>> bool(np.all(probe_points((0.0, np.inf), 1) > 0))
    True
    """
    rng = np.random.default_rng(seed)
    low, high = support
    third = max(count // 3, 1)
    if np.isinf(low) and np.isinf(high):
        simple = [1.0, -1.0, 0.5, 2.0, -2.0, 1.5, -0.5, 3.0]
        draws = [rng.uniform(-3, 3, (third, dim)), rng.normal(0, 10, (third, dim)),
                 rng.normal(0, 1, (count - 2 * third, dim))]
    elif np.isinf(high):
        simple = [1.0, 0.5, 2.0, 1.5, 3.0, 0.25, 4.0, 0.75]
        draws = [low + rng.uniform(0, 3, (third, dim)), low + np.exp(rng.normal(0, 2, (third, dim))),
                 low + np.exp(rng.normal(0, 0.5, (count - 2 * third, dim)))]
    else:
        width = high - low
        simple = [low + width * f for f in (0.5, 0.25, 0.75, 0.1, 0.9, 0.4, 0.6, 0.3)]
        draws = [low + width * rng.uniform(0, 1, (2 * third, dim)),
                 low + width / (1 + np.exp(-rng.normal(0, 3, (count - 2 * third, dim))))]
    # far out, so that half-lines like z1 > 60 are covered (drawn last: the other draws stay as they were)
    if np.isinf(high):
        far = 10.0 ** rng.uniform(0, 6, (LARGE_PROBES, dim))
        if np.isinf(low):
            far *= rng.choice([-1.0, 1.0], (LARGE_PROBES, dim))
        else:
            far += low
        draws.append(far)
    # simple points: the diagonal (p, ..., p), with the sign pattern varied across coordinates
    pattern = np.array([[s if (k + r) % 2 == 0 or low > -np.inf else -s for k in range(dim)]
                        for r, s in enumerate(simple)])
    return np.concatenate([pattern, *draws])


def is_zero_exact(expr: sp.Expr) -> bool | None:
    """Exact zero test: True if proven zero, False if proven non-zero (only possible for a number),
    None when undecided. Never calls `simplify` on large expressions.

    >>> z = sp.Symbol("z1", real=True)
    >>> is_zero_exact(sp.sin(z)**2 + sp.cos(z)**2 - 1), is_zero_exact(sp.Rational(1, 3) - sp.Rational(1, 3))
    (True, True)
    >>> is_zero_exact(sp.sqrt(2) - 1), is_zero_exact(sp.cos(z) + 2)
    (False, None)
    """
    if expr == 0:
        return True
    if not expr.free_symbols:
        known = expr.is_zero
        if known is not None:
            return bool(known)
        equal = expr.equals(0)
        return None if equal is None else bool(equal)
    if _too_large(expr):
        return None
    if sp.expand(expr) == 0:
        return True
    if sp.count_ops(expr) <= SIMPLIFY_MAX_OPS and sp.simplify(expr) == 0:
        return True
    return None


def _too_large(expr: sp.Expr) -> bool:
    """Expressions whose expansion can explode: large integer powers of sums, or huge rationals."""
    if any(r.q > 10**12 or abs(r.p) > 10**15 for r in expr.atoms(sp.Rational)):
        return True
    return any(p.exp.is_Integer and abs(int(p.exp)) > 16 and p.base.is_Add for p in expr.atoms(sp.Pow))


def _evaluator(exprs: list[sp.Expr], symbols: list[sp.Symbol]
               ) -> Callable[[list[np.ndarray], tuple[int, ...] | None], list[np.ndarray]]:
    """One lambdified numpy function for several expressions, to call many times (SPEC §5: lambdify once):
    ``evaluator(arrays, shape=None)`` broadcasts the arrays to one shape and returns one array per expression
    (NaN where the evaluation fails; `numeric_function` makes complex values NaN)."""
    fn = numeric_function(symbols, exprs)

    def evaluate(arrays: list[np.ndarray], shape: tuple[int, ...] | None = None) -> list[np.ndarray]:
        if shape is None:
            shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
        inputs = [np.broadcast_to(np.asarray(a, dtype=float), shape) for a in arrays]
        with np.errstate(all="ignore"):
            try:
                out = fn(*inputs)
            except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, NameError):
                return [np.full(shape, np.nan) for _ in exprs]
        return [np.broadcast_to(np.asarray(v, dtype=float), shape) for v in out]

    return evaluate


def _evaluate(exprs: list[sp.Expr], symbols: list[sp.Symbol], arrays: list[np.ndarray],
              shape: tuple[int, ...] | None = None) -> list[np.ndarray]:
    """Evaluate several expressions once with one lambdified numpy function; arrays broadcast to one shape."""
    return _evaluator(exprs, symbols)(arrays, shape)


def _terms_residual(terms: list[sp.Expr], symbols: list[sp.Symbol], arrays: list[np.ndarray],
                    shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """|sum of terms| / sum |terms| (the relative residual of SPEC §5 step 2c) and a finiteness mask."""
    values = np.stack(_evaluate(terms, symbols, arrays, shape)) if terms else np.zeros((1, *shape))
    with np.errstate(all="ignore"):
        total, scale = np.sum(values, axis=0), np.sum(np.abs(values), axis=0)
        finite = np.isfinite(total) & np.isfinite(scale)
        relative = np.where(scale > 0, np.abs(total) / np.where(scale > 0, scale, 1.0), 0.0)
    return np.where(finite, relative, np.nan), finite


def _mpmath_relative(terms: list[sp.Expr], symbols: list[sp.Symbol], values: Sequence[float]) -> float:
    """The relative residual at one point, evaluated with 50-digit mpmath (SPEC §5: cancellation)."""
    fn = sp.lambdify(symbols, terms, modules="mpmath")
    with mpmath.workdps(50):
        try:
            parts = [mpmath.mpf(0) + v for v in fn(*(mpmath.mpf(float(x)) for x in values))]
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return float("nan")
        if any(not mpmath.isfinite(p) or isinstance(p, mpmath.mpc) for p in parts):
            return float("nan")
        scale = sum(abs(p) for p in parts)
        return 0.0 if scale == 0 else float(abs(sum(parts)) / scale)


def vanishing_profile(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
    points: np.ndarray,
    table: Mapping[sp.Symbol, np.ndarray],
    exact: Mapping[sp.Symbol, Sequence[sp.Expr]],
    *,
    tol: float = 1e-9,
) -> ZeroProfile:
    """Decide, for every environment m at once, whether expr(., u_m) vanishes identically in `variables`.

    `points` (K, len(variables)) are probe points inside the support; `table` maps every other symbol of
    expr to its value in each environment (arrays of length E); `exact` the same values as exact sympy
    numbers (used to prove the zeros the numbers suggest).

    >>> u, z = sp.symbols("u z1", real=True)
    >>> us = [0, 1, 2]
    >>> prof = vanishing_profile(u*z, [z], probe_points((-np.inf, np.inf), 1),
    ...                          {u: np.array(us, float)}, {u: [sp.Integer(v) for v in us]})
    >>> prof.zero.tolist(), prof.proven.tolist(), prof.nonzero.tolist()
    ([True, False, False], [True, False, False], [False, True, True])
    """
    variables = list(variables)
    count = len(next(iter(table.values()))) if table else 1
    others = sorted((s for s in expr.free_symbols if s not in set(variables)), key=str)
    missing = [s for s in others if s not in table]
    if missing:
        raise ValueError(f"no environment values for {missing}")
    witness = np.full((count, len(variables)), np.nan)
    if expr == 0:
        return ZeroProfile(np.ones(count, bool), np.ones(count, bool), np.zeros(count, bool), witness,
                           Separation((), ()))

    # 1. the numeric probe, all environments x all points in one vectorised evaluation
    shape = (count, points.shape[0])
    symbols = variables + others
    arrays = [points[None, :, k] for k in range(len(variables))] + [np.asarray(table[s])[:, None] for s in others]
    terms = list(sp.Add.make_args(sp.expand(expr)))
    relative, finite = _terms_residual(terms, symbols, arrays, shape)
    enough = finite.sum(axis=1) >= MIN_FINITE_PROBES
    row = np.where(finite, relative, -1.0)
    clear = row > CLEAR_NONZERO
    # the witness: the first clearly non-zero probe point (simple points come first), else the largest
    pick = np.where(clear.any(axis=1), np.argmax(clear, axis=1), np.argmax(row, axis=1))
    largest = row[np.arange(count), pick]
    nonzero = enough & (largest > tol)
    for m in np.flatnonzero(nonzero & ~clear.any(axis=1)):  # grey zone: cancellation? re-check at 50 digits
        values = [*points[pick[m]], *(float(table[s][m]) for s in others)]
        nonzero[m] = _mpmath_relative(terms, symbols, values) > tol
    witness[nonzero] = points[pick[nonzero]]

    # 2. separation: exact decisions from the coefficients c_k(u_m)
    separation = separate(expr, variables)
    if separation is not None and not independent(separation.factors, variables, points):
        separation = None
    if separation is not None:
        coefficient_nonzero, coefficient_zero, coefficient_proven = _coefficient_profile(
            separation.coefficients, others, table, exact, count, tol)
        # an exact zero overrides the probe; otherwise either kind of evidence of non-zero counts
        proven = coefficient_proven
        nonzero = (nonzero | coefficient_nonzero) & ~proven
        zero = coefficient_zero & ~nonzero
    else:
        candidates = enough & ~nonzero
        zero = candidates
        proven = _prove_at(expr, others, exact, np.flatnonzero(candidates), count)
    # 3. a numeric zero (no float witness, no exact proof) is re-checked at 50 digits on the UNEXPANDED
    # expression: float64 cancellation (u - u*tanh(50 + 502*z1)**2, tanh**2 == 1.0) hides real non-zeros
    suspects = np.flatnonzero(zero & ~proven)
    if len(suspects):
        high = _mp_witnesses(expr, variables, others, points, exact, table, suspects)
        for env_index, point_index in high.items():
            zero[env_index], nonzero[env_index] = False, True
            witness[env_index] = points[point_index]
    return ZeroProfile(zero, proven, nonzero, witness, separation)


def _magnitude(expr: sp.Expr, variables: set[sp.Symbol], spec_only: bool) -> sp.Expr:
    """The magnitude of the additive terms of expr, nested: sum |terms| for a sum, the product of the factors'
    magnitudes for a product (and for a positive integer power), |expr| otherwise (SPEC §5 step 2c:
    "tol * sum |additive terms|"). With `spec_only`, a sum inside a product counts through its terms only when
    it is free of the variables (numbers of the spec that may cancel, u - 1.0000000001); a sum that depends
    on the variables (1 - tanh(50 + 502*z1)**2) counts by its value, since that cancellation is real."""
    if expr.is_Add:
        return sp.Add(*(_magnitude(a, variables, spec_only) for a in expr.args))
    if expr.is_Mul:
        return sp.Mul(*(_inner(a, variables, spec_only) for a in expr.args))
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        return _inner(expr.base, variables, spec_only) ** expr.exp
    return sp.Abs(expr)


def _inner(expr: sp.Expr, variables: set[sp.Symbol], spec_only: bool) -> sp.Expr:
    if spec_only and expr.is_Add and expr.free_symbols & variables:
        return sp.Abs(expr)
    return _magnitude(expr, variables, spec_only)


def _mp_number(value: object, fallback: float) -> mpmath.mpf:
    """An environment value as an mpmath number at the working precision (exact when sympy can give it)."""
    try:
        return mpmath.mpf(str(sp.N(sp.sympify(value), MP_DIGITS + 10)))
    except (TypeError, ValueError, sp.SympifyError):
        return mpmath.mpf(fallback)


def _mp_witnesses(expr: sp.Expr, variables: list[sp.Symbol], others: list[sp.Symbol], points: np.ndarray,
                  exact: Mapping[sp.Symbol, Sequence[sp.Expr]], table: Mapping[sp.Symbol, np.ndarray],
                  environments: np.ndarray) -> dict[int, int]:
    """{environment m: index of the first probe point where |expr| > MP_RELATIVE_TOL * magnitude at 50 digits}
    for the environments where some probe shows a non-zero. Points where mpmath fails are skipped (no
    evidence either way); identical environment values are tested once."""
    try:
        wanted = set(variables)
        fn = sp.lambdify(variables + others, [expr, _magnitude(expr, wanted, True), _magnitude(expr, wanted, False)],
                         modules="mpmath")
    except (TypeError, ValueError, SyntaxError, NameError):
        return {}
    found: dict[int, int] = {}
    cache: dict[tuple, int | None] = {}
    with mpmath.workdps(MP_DIGITS):
        mp_points = [[mpmath.mpf(float(x)) for x in row] for row in points]
        for m in environments.tolist():
            key = tuple(exact[s][m] if s in exact else float(table[s][m]) for s in others)
            if key not in cache:
                env = [_mp_number(exact[s][m] if s in exact else table[s][m], float(table[s][m])) for s in others]
                cache[key] = _first_mp_nonzero(fn, mp_points, env)
            hit = cache[key]
            if hit is not None:
                found[m] = hit
    return found


def _first_mp_nonzero(fn: Callable, mp_points: list[list[mpmath.mpf]], env: list[mpmath.mpf]) -> int | None:
    """The first point where |value| > MP_RELATIVE_TOL * (magnitude of the spec's cancelling numbers) and
    |value| > MP_ROUNDING * (magnitude of all the terms): the second bound keeps the 50-digit rounding of an
    unsimplified identity (z1*(sin(z1)**2 + cos(z1)**2 - 1)) from counting as a witness."""
    for k, row in enumerate(mp_points):
        try:
            parts = [mpmath.mpmathify(v) for v in fn(*row, *env)]
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, NameError):
            continue
        if any(isinstance(v, mpmath.mpc) and mpmath.im(v) != 0 for v in parts):
            continue
        value, spec_scale, full_scale = (mpmath.re(v) for v in parts)
        if not all(mpmath.isfinite(v) for v in (value, spec_scale, full_scale)) or full_scale == 0:
            continue
        if abs(value) > MP_RELATIVE_TOL * spec_scale and abs(value) > MP_ROUNDING * full_scale:
            return k
    return None


def _coefficient_profile(coefficients: Sequence[sp.Expr], others: list[sp.Symbol],
                         table: Mapping[sp.Symbol, np.ndarray], exact: Mapping[sp.Symbol, Sequence[sp.Expr]],
                         count: int, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per environment: some coefficient is non-zero / all vanish / all vanish exactly."""
    flat: list[sp.Expr] = []
    owners: list[int] = []
    for k, c in enumerate(coefficients):
        for term in sp.Add.make_args(sp.expand(c)):
            flat.append(term)
            owners.append(k)
    symbols = sorted({s for c in coefficients for s in c.free_symbols}, key=str)
    values = np.stack(_evaluate(flat, symbols, [np.asarray(table[s], float) for s in symbols], (count,))) \
        if flat else np.zeros((0, count))
    owner = np.array(owners, dtype=int)
    totals = np.zeros((len(coefficients), count))
    scales = np.zeros((len(coefficients), count))
    np.add.at(totals, owner, values)
    np.add.at(scales, owner, np.abs(values))
    finite = np.isfinite(totals) & np.isfinite(scales)
    small = finite & (np.abs(totals) <= tol * scales)
    clearly_nonzero = np.any(finite & ~small, axis=0)
    candidate = np.all(small, axis=0)
    nonzero = clearly_nonzero.copy()
    proven = np.zeros(count, bool)
    # exact confirmation at the (few) candidate environments; identical environment values are tested once
    cache: dict[tuple, bool | None] = {}
    for m in np.flatnonzero(candidate).tolist():
        key = tuple(exact[s][m] for s in symbols)
        if key not in cache:
            subs = dict(zip(symbols, key))
            verdicts = [is_zero_exact(sp.sympify(c).xreplace(subs)) for c in coefficients]
            cache[key] = False if False in verdicts else (True if all(verdicts) else None)
        if cache[key] is False:
            nonzero[m], candidate[m] = True, False
        elif cache[key]:
            proven[m] = True
    return nonzero, candidate, proven


def _prove_at(expr: sp.Expr, others: list[sp.Symbol], exact: Mapping[sp.Symbol, Sequence[sp.Expr]],
              indices: np.ndarray, count: int) -> np.ndarray:
    """Exact proof of expr(., u_m) == 0 at the candidate environments (identical values tested once)."""
    proven = np.zeros(count, bool)
    cache: dict[tuple, bool] = {}
    for m in indices:
        key = tuple(exact[s][m] for s in others)
        if key not in cache:
            cache[key] = is_zero_exact(expr.xreplace(dict(zip(others, key)))) is True
        proven[m] = cache[key]
    return proven


def real_zero_set(exprs: Sequence[sp.Expr], symbol: sp.Symbol) -> sp.Set | None:
    """The common real zeros {u in R : e(u) = 0 for every e} of expressions in one symbol, or None when
    sympy cannot solve them. The simplest expression is solved; the others only filter its roots.

    >>> u = sp.Symbol("u", real=True)
    >>> real_zero_set([u - sp.Rational(3, 10), 2*u**2 - u*sp.Rational(3, 5)], u)
    {3/10}
    >>> real_zero_set([1 + u**2], u)
    EmptySet
    """
    if not exprs:
        return sp.S.Reals
    ordered = sorted(exprs, key=sp.count_ops)
    try:
        solution = sp.solveset(ordered[0], symbol, sp.S.Reals)
    except (NotImplementedError, ValueError, TypeError):
        return None
    if solution.has(sp.ConditionSet):
        return None
    for other in ordered[1:]:
        if solution.is_empty:
            return sp.S.EmptySet
        if isinstance(solution, sp.FiniteSet):
            keep = []
            for root in solution:
                decided = is_zero_exact(other.xreplace({symbol: root}))
                if decided is None:
                    return None
                if decided:
                    keep.append(root)
            solution = sp.FiniteSet(*keep)
            continue
        try:
            more = sp.solveset(other, symbol, sp.S.Reals)
        except (NotImplementedError, ValueError, TypeError):
            return None
        if more.has(sp.ConditionSet):
            return None
        solution = sp.Intersection(solution, more)
    return solution


def scan_zero_set(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
    symbol: sp.Symbol,
    interval: tuple[float, float],
    points: np.ndarray,
    *,
    tol: float = 1e-9,
    grid: int = 801,
    tracked: int = 4,
    max_candidates: int = 20,
) -> tuple[sp.Set, bool]:
    """Numeric fallback (SPEC §5 step 3): the u in [low, high] where expr(., u) vanishes identically in the
    variables, when sympy cannot solve for them.

    One vectorised evaluation on a grid of u x probe points gives (a) the grid values where every probe
    vanishes (runs of them are intervals of zeros, e.g. Max(u, 0)) and (b) the sign changes and small local
    minima of u -> expr(p, u) for a few tracked probe points p, refined by root finding / bounded
    minimisation. A candidate u* counts only if expr(., u*) is negligible at ALL probe points (compared
    with its terms at the neighbouring grid values); it is rationalised with nsimplify and proven exactly
    when sympy can. Returns (set, proven): proven when the set is non-empty and every point was confirmed
    exactly (finding nothing proves nothing).

    >>> u, z = sp.symbols("u z1", real=True)
    >>> scan_zero_set(u*(1 - sp.tanh(u*z)**2), [z], u, (-1.0, 2.0), probe_points((-np.inf, np.inf), 1))
    ({0}, True)
    """
    from scipy.optimize import brentq, minimize_scalar

    variables = list(variables)
    terms = list(sp.Add.make_args(sp.expand(expr)))
    numeric = _evaluator(terms, variables + [symbol])  # lambdified once: root finding calls it many times

    def evaluate(u_values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(relative residual over all probes, values, sum of |terms|) at the probes; rows = u values."""
        shape = (len(u_values), points.shape[0])
        arrays = [points[None, :, k] for k in range(len(variables))] + [np.asarray(u_values, float)[:, None]]
        values = np.stack(numeric(arrays, shape))
        with np.errstate(all="ignore"):
            total, scale = values.sum(axis=0), np.abs(values).sum(axis=0)
            relative = np.where(scale > 0, np.abs(total) / np.where(scale > 0, scale, 1.0), 0.0)
        finite = np.isfinite(relative)
        enough = finite.sum(axis=1) >= MIN_FINITE_PROBES
        worst = np.where(enough, np.max(np.where(finite, relative, 0.0), axis=1), np.inf)
        return worst, total, np.where(np.isfinite(scale), scale, 0.0)

    def vanishes_near(x: float, j: int) -> bool:
        """expr(., x) is tiny at every probe compared with the terms at the neighbouring grid values of u
        (a relative residual at x itself would not do: at a root of u*h(p, u) every term vanishes too)."""
        _, at_x, _ = evaluate(np.array([x]))
        reference = float(scale[max(j - 1, 0):j + 2].max())
        finite = np.isfinite(at_x)
        return finite.sum() >= MIN_FINITE_PROBES and float(np.abs(at_x[finite]).max()) <= 1e-8 * max(reference, 1e-300)

    us = np.linspace(*interval, grid)
    worst, total, scale = evaluate(us)
    pieces: list[sp.Set] = []
    proven = True
    for a, b in _runs(worst <= tol):  # grid zeros: isolated hits, or an interval (e.g. Max(u, 0))
        if b > a:
            pieces.append(sp.Interval(sp.nsimplify(us[a]), sp.nsimplify(us[b])))
            proven = False
        else:
            pieces.append(sp.FiniteSet(sp.nsimplify(us[a])))
    candidates: dict[float, int] = {}
    usable = [k for k in range(points.shape[0]) if np.all(np.isfinite(total[:, k]))][:tracked]
    for k in usable:
        v = total[:, k]
        for j in np.flatnonzero(np.sign(v[:-1]) * np.sign(v[1:]) < 0)[:max_candidates]:
            root = brentq(lambda x: float(evaluate(np.array([x]))[1][0, k]), us[j], us[j + 1], xtol=1e-15)
            candidates[root] = int(j)
        # even-order roots do not change sign: refine the deepest local minima of |v|
        size = np.abs(v)
        inner = np.arange(1, grid - 1)
        minima = inner[(size[inner] <= size[inner - 1]) & (size[inner] <= size[inner + 1]) & (size[inner] > 0)]
        depth = size[minima] / np.maximum(size[minima - 1], size[minima + 1])
        for j in minima[np.argsort(depth)][:max_candidates]:
            found = minimize_scalar(lambda x: abs(float(evaluate(np.array([x]))[1][0, k])),
                                    bounds=(us[j - 1], us[j + 1]), method="bounded", options={"xatol": 1e-14})
            candidates[float(found.x)] = int(j)
    for x, j in sorted(candidates.items()):
        # a root of one probe's u -> expr(p, u) must vanish at every probe point to be a zero identically
        if not vanishes_near(x, j) or any(piece.contains(sp.Float(x)) == sp.true for piece in pieces):
            continue
        guesses = [g for g in (sp.nsimplify(sp.Float(x), tolerance=1e-9, rational=True),
                               sp.nsimplify(sp.Float(x), tolerance=1e-9, rational=False),
                               sp.nsimplify(sp.Float(x), [sp.pi, sp.E], tolerance=1e-9)) if _simple(g)]
        exact = next((g for g in guesses if is_zero_exact(expr.xreplace({symbol: g}))), None)
        if exact is not None:
            pieces.append(sp.FiniteSet(exact))
        else:
            pieces.append(sp.FiniteSet(sp.Float(x, 12)))
            proven = False
    return (sp.Union(*pieces), proven) if pieces else (sp.S.EmptySet, False)


def _simple(number: sp.Expr) -> bool:
    """A guess worth an exact proof: few operations and moderate integers (no 10**12-sized rationals)."""
    return sp.count_ops(number) <= 8 and all(abs(r.p) < 10**6 and r.q < 10**6 for r in number.atoms(sp.Rational))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs [a, b] of True in a boolean array."""
    runs, start = [], None
    for k, flag in enumerate([*mask, False]):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            runs.append((start, k - 1))
            start = None
    return runs
