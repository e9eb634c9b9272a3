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
  it is close to the tolerance, and a zero still unproven at 200-5000 digits). "simplify did not return 0"
  is never read as non-zero without a witness.

Where the support moves with the environment (noise on a half-line or an interval), a zero that holds on the
support only is proven with the variables written through the noise (`psi.latents_exact`).

>>> import sympy as sp
>>> u, z = sp.Symbol("u", real=True), sp.Symbol("z1", real=True)
>>> s = separate(sp.cos(z) + u, [z])
>>> sorted(map(str, s.factors)), sorted(map(str, s.coefficients))
(['1', 'cos(z1)'], ['1', 'u'])
"""

from __future__ import annotations

import functools
import math
import signal
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, TypeVar

import mpmath
import numpy as np
import sympy as sp

from ..families import simple_points
from ..spec.expressions import mpmath_function, numeric_function

T = TypeVar("T")

__all__ = [
    "Separation",
    "ZeroProfile",
    "ZeroProof",
    "separate",
    "independent",
    "probe_points",
    "is_zero_exact",
    "zero_proof",
    "vanishing_profile",
    "real_zero_set",
    "scan_zero_set",
    "too_large_to_expand",
]

#: Expressions larger than this (sympy count_ops) are not handed to `simplify` (too slow to be useful).
SIMPLIFY_MAX_OPS = 120
#: Wall-clock seconds one call of sympy's simplify (or of equals, which simplifies) may take in an exact zero
#: test (`within_seconds`); one cut short proves nothing, and the zero rests on the other evidence.
SIMPLIFY_SECONDS = 5.0
#: A relative residual above this is a clear non-zero; between `tol` and this, mpmath re-checks it.
CLEAR_NONZERO = 1e-6
#: A float non-zero this much smaller than the same expression's largest value over the environments may be
#: the rounding of an exact zero (sin(pi*u) at u = 1 is 1.2e-16 in float64): it is tried exactly first.
ROUNDING_SUSPECT = 1e-8
#: So may a float non-zero this small in absolute size, whatever the other environments give: sin(pi*u) is
#: about 1e-16 at every integer u, so no environment stands out (it is 1e-13 at u = 1000, 1e-10 times a
#: probe point of 1e6). Trying a genuine small non-zero exactly costs a substitution, and decides the same.
ABSOLUTE_SUSPECT = 1e-8
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
#: Digits of the check of float64's rounding where numpy has no long double loop (scipy.special).
EXTENDED_DIGITS = 30
#: Relative size of the 50-digit rounding, with a margin: below it a residual is no evidence at all.
MP_ROUNDING = 1e-45
#: Environments at which one derivative's slow test may fail before the rest are left to the cheaper
#: evidence: sympy's simplify, the proof on the support, the look at 200-5000 digits.
SIMPLIFY_FAILURES = 3
#: Digits at which a zero that 50 digits cannot tell from a non-zero is looked at again, and the probe points
#: per environment tried there (1 - tanh(z1)**2 needs about 0.87*z1 digits: z1 = 5000 is 1.6e-4341).
DEEP_DIGITS = (200, 1000, 5000)
DEEP_TRIES = 3
#: Wall-clock seconds that the looks at DEEP_DIGITS may take for one expression (in `vanishing_profile`, and
#: again in a domain scan). A look whose cost, predicted from the slowest evaluation at fewer digits times the
#: square of the ratio of digits, would pass it is not made, and the zero stays numeric, unproven: tanh costs
#: 0.01 s at 5000 digits, but mpmath's besselk(0, x) takes 0.8 s at 200 digits, 7 s at 1000 and over a
#: minute at 2000, and 5000-digit looks at besselk(0, u + 1)*tanh(z1 + 100*u)**2 ran for minutes.
DEEP_SECONDS = 10.0
#: Functions of the sign of their argument: an expression with them may vanish on a support only.
SIGN_DEPENDENT = (sp.Heaviside, sp.Piecewise, sp.sign, sp.Abs, sp.Max, sp.Min, sp.floor, sp.ceiling)
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
    neither: undecided (the expression could not be evaluated at enough points, or `cut_short`).
    cut_short: the environments of a numeric zero whose look at DEEP_DIGITS did not fit in `DEEP_SECONDS`
    (undecided: a non-zero below 50 digits' rounding may be there).
    simplify_cut_short: the environments of a zero left unproven (zero, not proven) where sympy's simplify (or
    equals) was cut short after `SIMPLIFY_SECONDS` in an exact test: the proof was tried and ran out of time.
    """

    zero: np.ndarray
    proven: np.ndarray
    nonzero: np.ndarray
    witness: np.ndarray
    separation: Separation | None
    cut_short: tuple[int, ...] = ()
    simplify_cut_short: tuple[int, ...] = ()

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
    # the coefficients of one factor are gathered and summed once: adding them one by one re-sorts the
    # growing sum each time, quadratic in the terms ((u1 + u2 - 1)**40*z1 has 861 terms)
    grouped: dict[sp.Expr, list[sp.Expr]] = {}
    for term in _terms(expr):
        coefficient, factor = term.as_independent(*wanted, as_Add=False)
        if factor.free_symbols - wanted:
            return None
        grouped.setdefault(factor, []).append(coefficient)
    summed = ((f, sp.Add(*cs)) for f, cs in grouped.items())
    kept = sorted(((f, c) for f, c in summed if c != 0), key=lambda fc: sp.default_sort_key(fc[0]))
    return Separation(tuple(c for _, c in kept), tuple(f for f, _ in kept))


def independent(factors: Sequence[sp.Expr], variables: Sequence[sp.Symbol], points: np.ndarray) -> bool:
    """True when the functions are linearly independent, shown by a full-rank sample matrix [phi_k(p_m)]
    (columns normalised; relative singular-value tolerance 1e-9). A single function counts as independent
    when it is finite and non-zero somewhere among the points (not NaN everywhere, as an unevaluated
    derivative is). Points (E, K, dim), one support per environment, must show independence in each.

    >>> z = sp.Symbol("z1", real=True)
    >>> pts = probe_points((-np.inf, np.inf), 1)
    >>> independent([sp.sin(z)**2, sp.cos(z)**2, sp.Integer(1)], [z], pts)
    False
    >>> steps = [sp.Integer(1), sp.Heaviside(z - 1)]
    >>> independent(steps, [z], pts), independent(steps, [z], np.stack([pts, np.abs(pts) + 1]))
    (True, False)
    """
    if not factors:
        return True
    stacked = points.reshape(-1, points.shape[-1])
    columns = [stacked[:, k] for k in range(stacked.shape[1])]
    evaluate = _evaluator(list(factors), list(variables))
    values = np.stack(evaluate(columns), axis=1)
    # rows where float64 has lost the factors to cancellation (1/(cosh(z) - sinh(z)) at z = 14) would show
    # two equal functions as independent: they disagree with an evaluation at extended precision, and go
    extended = np.stack(evaluate(columns, dtype=np.longdouble), axis=1)
    with np.errstate(all="ignore"):
        lost = np.abs(values - extended) > 1e-9 * np.abs(extended)
    values = np.where(lost.any(axis=1, keepdims=True), np.nan, values)
    matrices = values.reshape(*points.shape[:-1], len(factors))
    return all(_full_column_rank(m) for m in (matrices if points.ndim == 3 else [matrices]))


def _full_column_rank(matrix: np.ndarray) -> bool:
    matrix = matrix[np.all(np.isfinite(matrix), axis=1)]
    if matrix.shape[0] < matrix.shape[1]:
        return False
    largest = np.max(np.abs(matrix), axis=0)  # first, so that the norms of values near 1e200 do not overflow
    if np.any(largest == 0):
        return False
    matrix = matrix / largest
    singular = np.linalg.svd(matrix / np.linalg.norm(matrix, axis=0), compute_uv=False)
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
        draws = [rng.uniform(-3, 3, (third, dim)), rng.normal(0, 10, (third, dim)),
                 rng.normal(0, 1, (count - 2 * third, dim))]
    elif np.isinf(high):
        draws = [low + rng.uniform(0, 3, (third, dim)), low + np.exp(rng.normal(0, 2, (third, dim))),
                 low + np.exp(rng.normal(0, 0.5, (count - 2 * third, dim)))]
    else:
        width = high - low
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
    return np.concatenate([simple_points(support, dim), *draws])


@dataclass(frozen=True)
class ZeroProof:
    """The outcome of an exact zero test (`zero_proof`). zero: True when proven zero, False when proven
    non-zero (only possible for a number), None when undecided; cut_short: sympy's simplify (or equals, which
    simplifies) was stopped after `SIMPLIFY_SECONDS` on the way, so an undecided test may be a proof that more
    time would have finished, rather than one beyond sympy's reach.

    >>> ZeroProof(None, cut_short=True)
    ZeroProof(zero=None, cut_short=True)
    """

    zero: bool | None
    cut_short: bool = False


def zero_proof(expr: sp.Expr, simplify: bool = True) -> ZeroProof:
    """Exact zero test of expr, saying whether sympy's simplify (or equals) was cut short (`within_seconds`,
    `SIMPLIFY_SECONDS`). Never calls `simplify` on large expressions, nor at all with simplify=False (a number
    is still tried with `equals`).

    >>> z = sp.Symbol("z1", real=True)
    >>> zero_proof(sp.sin(z)**2 + sp.cos(z)**2 - 1), zero_proof(sp.cos(z) + 2)
    (ZeroProof(zero=True, cut_short=False), ZeroProof(zero=None, cut_short=False))
    """
    if expr == 0:
        return ZeroProof(True)
    if not expr.free_symbols:
        known = expr.is_zero
        if known is not None:
            return ZeroProof(bool(known))
        finished, equal = within_seconds(lambda: expr.equals(0), SIMPLIFY_SECONDS)  # it simplifies, too
        return ZeroProof(None if not finished or equal is None else bool(equal), cut_short=not finished)
    if _too_large(expr):
        return ZeroProof(None)
    if sp.expand(expr) == 0:
        return ZeroProof(True)
    if simplify and sp.count_ops(expr) <= SIMPLIFY_MAX_OPS:
        finished, simplified = within_seconds(lambda: sp.simplify(expr), SIMPLIFY_SECONDS)
        return ZeroProof(True if finished and simplified == 0 else None, cut_short=not finished)
    return ZeroProof(None)


def is_zero_exact(expr: sp.Expr, simplify: bool = True) -> bool | None:
    """Exact zero test: True if proven zero, False if proven non-zero (only possible for a number),
    None when undecided (`zero_proof` also says whether sympy's simplify was cut short on the way). Never
    calls `simplify` on large expressions, nor at all with simplify=False.

    >>> z = sp.Symbol("z1", real=True)
    >>> is_zero_exact(sp.sin(z)**2 + sp.cos(z)**2 - 1), is_zero_exact(sp.Rational(1, 3) - sp.Rational(1, 3))
    (True, True)
    >>> is_zero_exact(sp.sqrt(2) - 1), is_zero_exact(sp.cos(z) + 2)
    (False, None)
    """
    return zero_proof(expr, simplify).zero


class _OutOfTime(BaseException):
    """Raised by `within_seconds`'s alarm; a BaseException, so that no ``except Exception`` in sympy
    swallows it."""


def within_seconds(compute: Callable[[], T], seconds: float) -> tuple[bool, T | None]:
    """(True, compute()) when it returns within ``seconds`` of wall-clock time, (False, None) when it is cut
    short there. sympy's simplify has no bound of its own: on sinh(w)**9*cosh(w)**7 - tanh(w)**5*sinh(3*w)**4
    + cosh(2*w)**6 times a hidden zero (16 operations, far below `SIMPLIFY_MAX_OPS`) it ran for over five
    minutes. The bound is a SIGALRM timer, which Python offers only in the main thread on POSIX; elsewhere (a
    worker thread, Windows) ``compute`` runs unbounded, as before. An alarm already set by someone else, or a
    SIGALRM handler installed from C (Python could not put it back), is left alone (unbounded too). The alarm
    repeats every 0.1 s until ``compute`` has stopped, in case sympy catches the first one.

    >>> within_seconds(lambda: 6 * 7, 1.0)
    (True, 42)
    """
    bounded = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
               and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
               and signal.getsignal(signal.SIGALRM) is not None)  # None: a handler set from C, not restorable
    if not bounded:
        return True, compute()
    active = [True]

    def alarm(number: int, frame: Any) -> None:
        if active[0]:
            raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
        try:
            return True, compute()
        finally:
            active[0] = False  # first: an alarm from here on is ignored
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _OutOfTime:
        return False, None
    finally:
        signal.signal(signal.SIGALRM, previous)


def _terms(expr: sp.Expr) -> list[sp.Expr]:
    """The additive terms of expr expanded, or expr alone when expanding could explode (`too_large_to_expand`:
    (z1 + u + 1)**999 has half a million terms): it is then read as one term, unexpanded.

    >>> z = sp.Symbol("z1", real=True)
    >>> sorted(_terms((z + 1)**2), key=str), _terms((z**2 + z + 1)**999) == [(z**2 + z + 1)**999]
    ([1, 2*z1, z1**2], True)
    """
    return [expr] if too_large_to_expand(expr) else list(sp.Add.make_args(sp.expand(expr)))


def _too_large(expr: sp.Expr) -> bool:
    """Expressions too large for an exact proof: integer powers of sums beyond 16, or huge rationals."""
    if any(r.q > 10**12 or abs(r.p) > 10**15 for r in expr.atoms(sp.Rational)):
        return True
    return any(p.exp.is_Integer and abs(int(p.exp)) > 16 and p.base.is_Add for p in expr.atoms(sp.Pow))


#: Terms an expansion may make before an expression is read unexpanded instead.
MAX_EXPANDED_TERMS = 10**4


def too_large_to_expand(expr: sp.Basic) -> bool:
    """Whether expanding expr makes more than MAX_EXPANDED_TERMS terms, by the multinomial count of its
    integer powers of sums (inside functions too, which `expand` also expands).

    >>> z, u = sp.symbols("z1 u")
    >>> too_large_to_expand((z + u + 1)**100), too_large_to_expand((z + u + 1)**999 * (z - u)**999)
    (False, True)
    """
    return _expanded_terms(expr) > MAX_EXPANDED_TERMS


def _expanded_terms(expr: sp.Basic) -> int:
    """An upper bound on the terms of expr expanded (for a function: the most its arguments make)."""
    if expr.is_Add:
        return sum(_expanded_terms(a) for a in expr.args)
    if expr.is_Mul:
        return math.prod(_expanded_terms(a) for a in expr.args)
    if expr.is_Pow and expr.exp.is_Integer and int(expr.exp) > 1:
        k = _expanded_terms(expr.base)
        return math.comb(int(expr.exp) + k - 1, k - 1) if k > 1 else 1
    return max((_expanded_terms(a) for a in expr.args), default=1)


Evaluator = Callable[..., list[np.ndarray]]


def _evaluator(exprs: list[sp.Expr], symbols: list[sp.Symbol]) -> Evaluator:
    """One lambdified numpy function for several expressions, to call many times (SPEC §5: lambdify once):
    ``evaluator(arrays, shape=None, dtype=np.float64)`` broadcasts the arrays to one shape and returns one
    array per expression (NaN where the evaluation fails; `numeric_function` makes complex values NaN), in
    float64 or, for a check of float64's rounding, in ``np.longdouble``. scipy.special's functions (erf,
    gamma, Bessel) have float64 loops only and refuse long doubles; such expressions are checked at
    `EXTENDED_DIGITS` with mpmath instead, point by point, and rounded to the nearest float64, as good for
    telling float64's cancellation from the value as extended precision itself.

    >>> z = sp.Symbol("z1", real=True)
    >>> evaluate = _evaluator([sp.log(1 - sp.erf(z)), sp.log(sp.erfc(z))], [z])
    >>> six = [np.array(6.0)]
    >>> [round(float(v), 4) for v in evaluate(six)], [round(float(v), 4) for v in evaluate(six, dtype=np.longdouble)]
    ([-inf, -38.3776], [-38.3776, -38.3776])
    """
    fn = numeric_function(symbols, exprs)
    precise: list[Callable | None] = []  # the mpmath function, made on first need

    def evaluate(arrays: list[np.ndarray], shape: tuple[int, ...] | None = None,
                 dtype: type = np.float64) -> list[np.ndarray]:
        if shape is None:
            shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
        inputs: list[np.ndarray] = [np.broadcast_to(np.asarray(a, dtype=dtype), shape) for a in arrays]
        with np.errstate(all="ignore"):
            try:
                out = fn(*inputs)
            except TypeError:
                if dtype is not np.longdouble:
                    return [np.full(shape, np.nan) for _ in exprs]
                if not precise:  # no long double loop: mpmath instead
                    precise.append(mpmath_function(symbols, exprs))
                return _mp_evaluate(precise[0], inputs, shape, len(exprs))
            except (ValueError, ZeroDivisionError, OverflowError, AttributeError, NameError):
                return [np.full(shape, np.nan) for _ in exprs]
        return [np.broadcast_to(np.asarray(v, dtype=dtype), shape) for v in out]

    return evaluate


def _mp_evaluate(fn: Callable | None, inputs: list[np.ndarray], shape: tuple[int, ...],
                 count: int) -> list[np.ndarray]:
    """The expressions of `fn` (from `mpmath_function`) at every point of the broadcast inputs, at
    `EXTENDED_DIGITS`, rounded to float64 (NaN where mpmath fails or the value is not real)."""
    out = np.full((count, *shape), np.nan)
    if fn is None:
        return list(out)
    flat = [np.ravel(a) for a in inputs]
    values = out.reshape(count, -1)
    with mpmath.workdps(EXTENDED_DIGITS):
        for index in range(values.shape[1]):
            try:
                parts = fn(*(mpmath.mpf(float(a[index])) for a in flat))
            except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, NameError):
                continue
            values[:, index] = [float(p) if isinstance(mpmath.mpmathify(p), mpmath.mpf) else np.nan
                                for p in parts]
    return list(out)


def _evaluate(exprs: list[sp.Expr], symbols: list[sp.Symbol], arrays: list[np.ndarray],
              shape: tuple[int, ...] | None = None) -> list[np.ndarray]:
    """Evaluate several expressions once with one lambdified numpy function; arrays broadcast to one shape."""
    return _evaluator(exprs, symbols)(arrays, shape)


def _terms_residual(evaluate: Evaluator, arrays: list[np.ndarray], shape: tuple[int, ...],
                    dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """|sum of terms| / sum |terms| (the relative residual of SPEC §5 step 2c), a finiteness mask and
    |sum of terms| (0 where not finite), the terms evaluated by ``evaluate`` (from `_evaluator`) in ``dtype``."""
    values = np.stack(evaluate(arrays, shape, dtype))
    with np.errstate(all="ignore"):
        total, scale = np.sum(values, axis=0), np.sum(np.abs(values), axis=0)
        finite = np.isfinite(total) & np.isfinite(scale)
        relative = np.where(scale > 0, np.abs(total) / np.where(scale > 0, scale, 1.0), 0.0)
    return np.where(finite, relative, np.nan), finite, np.where(finite, np.abs(total), 0.0)


def _mpmath_relative(terms: list[sp.Expr], symbols: list[sp.Symbol]) -> Callable[[Sequence[float]], float]:
    """values -> the relative residual at that point, evaluated with 50-digit mpmath (SPEC §5: cancellation);
    NaN where mpmath cannot evaluate it. Lambdified once, for many points."""
    fn = mpmath_function(symbols, terms)
    if fn is None:
        return lambda values: float("nan")

    def relative(values: Sequence[float]) -> float:
        with mpmath.workdps(50):
            try:
                parts = [mpmath.mpf(0) + v for v in fn(*(mpmath.mpf(float(x)) for x in values))]
            except (TypeError, ValueError, ZeroDivisionError, OverflowError, NotImplementedError):
                return float("nan")
            if any(not mpmath.isfinite(p) or isinstance(p, mpmath.mpc) for p in parts):
                return float("nan")
            scale = sum(abs(p) for p in parts)
            return 0.0 if scale == 0 else float(abs(sum(parts)) / scale)

    return relative


def vanishing_profile(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
    points: np.ndarray,
    table: Mapping[sp.Symbol, np.ndarray],
    exact: Mapping[sp.Symbol, Sequence[sp.Expr]],
    *,
    tol: float = 1e-9,
    support: Callable[[int], Mapping[sp.Symbol, sp.Expr]] | None = None,
) -> ZeroProfile:
    """Decide, for every environment m at once, whether expr(., u_m) vanishes identically in `variables`.

    `points` (K, len(variables)) are probe points inside the support, or (E, K, len(variables)) when the
    support changes with the environment (row m: points inside the support in environment m); `table` maps
    every other symbol of expr to its value in each environment (arrays of length E); `exact` the same
    values as exact sympy numbers (used to prove the zeros the numbers suggest). `support(m)`, when the
    support moves with the environment, gives the variables in environment m as exact functions of noise
    symbols (`psi.latents_exact`): a zero that holds on the support only (Heaviside(2 - z1) where z1 > 5) is
    proven after that substitution.

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
    grid = points if points.ndim == 3 else np.broadcast_to(points[None], (count, *points.shape))
    if expr == 0:
        return ZeroProfile(np.ones(count, bool), np.ones(count, bool), np.zeros(count, bool), witness,
                           Separation((), ()))

    # 1. the numeric probe, all environments x all points in one vectorised evaluation
    shape = grid.shape[:2]
    symbols = variables + others
    arrays = [grid[:, :, k] for k in range(len(variables))] + [np.asarray(table[s])[:, None] for s in others]
    terms = _terms(expr)
    evaluate_terms = _evaluator(terms, symbols)  # once, for float64 and for the extended check below
    relative, finite, size = _terms_residual(evaluate_terms, arrays, shape)
    enough = finite.sum(axis=1) >= MIN_FINITE_PROBES
    row = np.where(finite, relative, -1.0)
    clear = row > CLEAR_NONZERO
    # the witness: the first clearly non-zero probe point (simple points come first), else the largest
    pick = np.where(clear.any(axis=1), np.argmax(clear, axis=1), np.argmax(row, axis=1))
    largest = row[np.arange(count), pick]
    nonzero = enough & (largest > tol)
    # a clear witness that an evaluation at extended precision reads much smaller is float64 cancellation inside
    # a factor (1/(cosh(z1) - sinh(z1)) at z1 = 14): it joins the grey zone's 50-digit recheck
    picked = np.flatnonzero(nonzero & clear.any(axis=1))
    at_pick = [grid[picked, pick[picked], k] for k in range(len(variables))] + [np.asarray(table[s])[picked]
                                                                              for s in others]
    extended, _, _ = _terms_residual(evaluate_terms, at_pick, (len(picked),), np.longdouble)
    unstable = np.zeros(count, bool)
    unstable[picked] = np.isfinite(extended) & (extended <= 0.1 * largest[picked])
    grey = np.flatnonzero(nonzero & (~clear.any(axis=1) | unstable))
    mp_relative = _mpmath_relative(terms, symbols) if len(grey) else None
    for m in grey:  # grey zone: cancellation? re-check at 50 digits
        values = [*grid[m, pick[m]], *(float(table[s][m]) for s in others)]
        nonzero[m] = mp_relative is not None and mp_relative(values) > tol
    witness[nonzero] = grid[np.flatnonzero(nonzero), pick[nonzero]]
    largest_size = size.max(axis=1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an environment without a finite probe: NaN
        typical_size = np.nanmedian(np.where(finite, size, np.nan), axis=1)  # large probes inflate the largest
    small = np.flatnonzero(nonzero & (typical_size <= ABSOLUTE_SUSPECT))  # a decaying factor is small too:
    rounded = np.zeros(count, bool)  # only an exact zero of a factor in u makes it a suspect
    rounded[small] = _zero_factor_in_u(expr, set(variables), others, exact, small)
    suspect = nonzero & ((largest_size <= ROUNDING_SUSPECT * largest_size.max())  # sin(pi*u) at u = 1
                         | rounded)
    # too few finite probes (float64 overflow, exp(800*u) at u = 1): a 50-digit witness may still decide
    starved = np.flatnonzero(~enough)
    if len(starved):
        for env_index, point_index in _mp_witnesses(expr, variables, others, points, exact, table, starved).items():
            nonzero[env_index], witness[env_index] = True, grid[env_index, point_index]

    # 2. separation: exact decisions from the coefficients c_k(u_m)
    separation = separate(expr, variables)
    if separation is not None and not independent(separation.factors, variables, points):
        separation = None
    if separation is not None:
        coefficient_nonzero, coefficient_zero, coefficient_proven, timed_out = _coefficient_profile(
            separation.coefficients, others, table, exact, count, tol)
        # an exact zero overrides the probe; otherwise either kind of evidence of non-zero counts
        proven = coefficient_proven  # it tried the coefficients' rounding suspects exactly
        nonzero = (nonzero | coefficient_nonzero) & ~proven
        zero = coefficient_zero & ~nonzero
        suspects = np.flatnonzero(zero & ~proven)
    else:
        # an environment that floats cannot read (exp(1000)*(u - 1) at u = 1) may still be an exact zero
        # and a float non-zero far below the other environments' values may be the rounding of an exact zero
        unread = ~enough & ~nonzero
        proven, timed_out = _prove_at(expr, others, exact, np.flatnonzero((enough & ~nonzero) | unread | suspect),
                                      count, simplify=False)  # expand: cheap
        nonzero &= ~proven
        zero = (enough & ~nonzero) | (unread & proven)
        suspects = np.flatnonzero(zero & ~proven)
    witness[proven] = np.nan  # a float witness that an exact zero overrode
    # 3. a numeric zero (no float witness, no exact proof) is re-checked at 50 digits on the UNEXPANDED
    # expression: float64 cancellation (u - u*tanh(50 + 502*z1)**2, tanh**2 == 1.0) hides real non-zeros
    if len(suspects):
        high = _mp_witnesses(expr, variables, others, points, exact, table, suspects)
        for env_index, point_index in high.items():
            zero[env_index], nonzero[env_index] = False, True
            witness[env_index] = grid[env_index, point_index]
    # timed_out: an exact test cut short there (SIMPLIFY_SECONDS); it proves nothing, but it was tried
    if separation is None:  # simplify last: it is slow, and a 50-digit witness makes it moot
        more, cut = _prove_at(expr, others, exact, np.flatnonzero(zero & ~proven), count)
        proven, timed_out = proven | more, timed_out | cut
    if support is not None:  # a zero on the support only: proven with the variables written through the noise
        more, cut = _prove_on_support(expr, others, exact, np.flatnonzero(zero & ~proven), count, support)
        proven, timed_out = proven | more, timed_out | cut
    # 4. a zero still unproven may be a non-zero below 50 digits (1 - tanh(z1)**2 at z1 = 101 is 1.5e-87,
    # where the parent's support lies far out): looked for again at more digits
    refused: list[int] = []
    for env_index, point_index in _deep_witnesses(expr, variables, others, grid, exact, table,
                                                  np.flatnonzero(zero & ~proven), refused).items():
        zero[env_index], nonzero[env_index] = False, True
        witness[env_index] = grid[env_index, point_index]
    zero[refused] = False  # not looked at with the digits it needs: undecided
    return ZeroProfile(zero, proven, nonzero, witness, separation, tuple(refused),
                       tuple(np.flatnonzero(timed_out & zero & ~proven).tolist()))


def _magnitude(expr: sp.Expr, variables: set[sp.Symbol], spec_only: bool) -> sp.Expr:
    """The magnitude of the additive terms of expr, nested: sum |terms| for a sum, the product of the factors'
    magnitudes for a product, |expr| otherwise (SPEC §5 step 2c: "tol * sum |additive terms|"); a positive
    integer power b**n counts as |b|**(n - 1) times the magnitude of b, so that b**n is as far from its
    rounding as b is (with the magnitude of b to the n-th, (u - 0.3)**400 at u = 1 was 1e-108 of it, below
    any tolerance, and tanh(u*z1)*(u - 0.3)**400 read 'no influence'). With `spec_only`, a sum inside a
    product counts through its terms only when it is free of the variables (numbers of the spec that may
    cancel, u - 1.0000000001); a sum that depends on the variables (1 - tanh(50 + 502*z1)**2) counts by its
    value, since that cancellation is real."""
    if expr.is_Add:
        return sp.Add(*(_magnitude(a, variables, spec_only) for a in expr.args))
    if expr.is_Mul:
        return sp.Mul(*(_inner(a, variables, spec_only) for a in expr.args))
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        return sp.Abs(expr.base) ** (expr.exp - 1) * _inner(expr.base, variables, spec_only)
    return sp.Abs(expr)


def _inner(expr: sp.Expr, variables: set[sp.Symbol], spec_only: bool) -> sp.Expr:
    if spec_only and expr.is_Add and expr.free_symbols & variables:
        return sp.Abs(expr)
    return _magnitude(expr, variables, spec_only)


def _mp_number(value: object, fallback: float, digits: int = MP_DIGITS) -> mpmath.mpf:
    """An environment value as an mpmath number at `digits` (exact when sympy can give it)."""
    try:
        return mpmath.mpf(str(sp.N(sp.sympify(value), digits + 10)))
    except (TypeError, ValueError, sp.SympifyError):
        return mpmath.mpf(fallback)


def _mp_witnesses(expr: sp.Expr, variables: list[sp.Symbol], others: list[sp.Symbol], points: np.ndarray,
                  exact: Mapping[sp.Symbol, Sequence[sp.Expr]], table: Mapping[sp.Symbol, np.ndarray],
                  environments: np.ndarray) -> dict[int, int]:
    """{environment m: index of the first probe point where |expr| > MP_RELATIVE_TOL * magnitude at 50 digits}
    for the environments where some probe shows a non-zero. Points where mpmath fails are skipped (no
    evidence either way); with shared points (K, dim), identical environment values are tested once, with
    points (E, K, dim) each environment on its own rows."""
    fn = _mp_function(expr, variables, others)
    if fn is None:
        return {}
    found: dict[int, int] = {}
    cache: dict[tuple, int | None] = {}
    per_environment = points.ndim == 3
    with mpmath.workdps(MP_DIGITS):
        shared = None if per_environment else _mp_rows(points)
        for m in environments.tolist():
            key = (m if per_environment else -1,
                   *(exact[s][m] if s in exact else float(table[s][m]) for s in others))
            if key not in cache:
                env = [_mp_number(exact[s][m] if s in exact else table[s][m], float(table[s][m])) for s in others]
                cache[key] = _first_mp_nonzero(fn, _mp_rows(points[m]) if shared is None else shared, env)
            hit = cache[key]
            if hit is not None:
                found[m] = hit
    return found


def _mp_rows(points: np.ndarray) -> list[list[mpmath.mpf]]:
    """Probe points as mpmath numbers (non-finite coordinates kept; `_first_mp_nonzero` skips their rows)."""
    return [[mpmath.mpf(float(x)) for x in row] for row in points]


def _rounding(digits: int) -> mpmath.mpf:
    """The relative size of the rounding at `digits`, with MP_ROUNDING's margin (10**5): an mpmath number,
    since a float 10.0**(5 - 1000) underflows to 0.0."""
    return mpmath.mpf(10) ** (5 - digits)


def _first_mp_nonzero(fn: Callable, mp_points: list[list[mpmath.mpf]], env: list[mpmath.mpf],
                      rounding: float | mpmath.mpf = MP_ROUNDING, budget: _DeepBudget | None = None) -> int | None:
    """The first point where |value| > MP_RELATIVE_TOL * (magnitude of the spec's cancelling numbers) and
    |value| > rounding * (magnitude of all the terms): the second bound keeps the 50-digit rounding of an
    unsimplified identity (z1*(sin(z1)**2 + cos(z1)**2 - 1)) from counting as a witness. With a `budget`,
    every evaluation is timed into it, and one beyond MP_DIGITS that it does not allow ends the look (None)."""
    for k, row in enumerate(mp_points):
        if budget is not None and mpmath.mp.dps > MP_DIGITS and not budget.allows():
            return None
        if not all(mpmath.isfinite(x) for x in row):  # no evidence: sympy's mpmath Heaviside(nan) is 1
            continue
        start = time.perf_counter()
        try:
            parts = [mpmath.mpmathify(v) for v in fn(*row, *env)]
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, NameError):
            continue
        finally:
            if budget is not None:
                budget.record(time.perf_counter() - start)
        if any(isinstance(v, mpmath.mpc) and mpmath.im(v) != 0 for v in parts):
            continue
        value, spec_scale, full_scale = (mpmath.re(v) for v in parts)
        if not all(mpmath.isfinite(v) for v in (value, spec_scale, full_scale)) or full_scale == 0:
            continue
        if abs(value) > MP_RELATIVE_TOL * spec_scale and abs(value) > rounding * full_scale:
            return k
    return None


def _deep_witnesses(expr: sp.Expr, variables: list[sp.Symbol], others: list[sp.Symbol], grid: np.ndarray,
                    exact: Mapping[sp.Symbol, Sequence[sp.Expr]], table: Mapping[sp.Symbol, np.ndarray],
                    environments: np.ndarray, refused: list[int] | None = None) -> dict[int, int]:
    """{environment m: index of a probe point where expr is non-zero} found by `_first_mp_nonzero` at
    DEEP_DIGITS (the first DEEP_TRIES points of grid[m]), for zeros that 50 digits cannot tell apart from a
    non-zero: 1 - tanh(z1)**2 at z1 = 600 is 1e-520. The rounding bound scales with the digits, as at 50.
    After `SIMPLIFY_FAILURES` environments without a witness the rest are left as they are (at 5000 digits
    each failure costs a few hundredths of a second for tanh), and a look that `DEEP_SECONDS` does not allow
    is not made (mpmath's Bessel K takes minutes at 5000 digits): the environments where one was refused
    before any witness are appended to `refused`, when given.

    >>> z, u = sp.symbols("z1 u", real=True)
    >>> grid = np.full((2, 3, 1), 600.0)
    >>> _deep_witnesses(u*(1 - sp.tanh(z)**2), [z], [u], grid, {u: [sp.Integer(0), sp.Integer(1)]},
    ...                 {u: np.array([0.0, 1.0])}, np.array([0, 1]))
    {1: 0}
    """
    fn = _mp_function(expr, variables, others) if len(environments) else None
    if fn is None:
        return {}
    found: dict[int, int] = {}
    budget = _DeepBudget()  # seeded with the cost of one evaluation at MP_DIGITS
    first = int(environments[0])
    with mpmath.workdps(MP_DIGITS):
        _first_mp_nonzero(fn, _mp_rows(grid[first, :1]),
                          [_mp_number(exact[s][first], float(table[s][first])) for s in others], budget=budget)
    # neighbouring environments need about as many digits: start where the last one hit
    failures = start = refusals = 0
    for m in environments.tolist():
        if failures >= SIMPLIFY_FAILURES:
            break
        for level in range(start, len(DEEP_DIGITS)):
            digits = DEEP_DIGITS[level]
            with mpmath.workdps(digits):
                env = [_mp_number(exact[s][m], float(table[s][m]), digits) for s in others]
                hit = _first_mp_nonzero(fn, _mp_rows(grid[m, :DEEP_TRIES]), env,
                                        rounding=_rounding(digits), budget=budget)
            if hit is not None:
                found[m], start = hit, level
                break
        if m in found:
            continue
        if budget.refusals > refusals:  # not looked at with all the digits: no evidence either way
            refusals = budget.refusals
            if refused is not None:
                refused.append(m)
        else:
            failures += 1
    return found


def _coefficient_profile(coefficients: Sequence[sp.Expr], others: list[sp.Symbol],
                         table: Mapping[sp.Symbol, np.ndarray], exact: Mapping[sp.Symbol, Sequence[sp.Expr]],
                         count: int, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per environment: some coefficient is non-zero / all vanish / all vanish exactly / an exact test of a
    coefficient was cut short (`SIMPLIFY_SECONDS`) and proved nothing."""
    flat: list[sp.Expr] = []
    owners: list[int] = []
    for k, c in enumerate(coefficients):
        for term in _terms(c):
            flat.append(term)
            owners.append(k)
    symbols = sorted({s for c in coefficients for s in c.free_symbols}, key=str)
    values = np.stack(_evaluate(flat, symbols, [np.asarray(table[s], float) for s in symbols], (count,))) \
        if flat else np.zeros((0, count))
    owner = np.array(owners, dtype=int)
    totals = np.zeros((len(coefficients), count))
    scales = np.zeros((len(coefficients), count))
    with np.errstate(all="ignore"):  # inf - inf is NaN: not finite, read below
        np.add.at(totals, owner, values)
        np.add.at(scales, owner, np.abs(values))
    finite = np.isfinite(totals) & np.isfinite(scales)
    small = finite & (np.abs(totals) <= tol * scales)
    # a value far below the coefficient's largest may be the rounding of an exact zero (sin(pi*u) at u = 1)
    largest = np.where(finite, np.abs(totals), 0.0).max(axis=1, keepdims=True)
    suspect = finite & ~small & ((np.abs(totals) <= ROUNDING_SUSPECT * largest)
                                 | (np.abs(totals) <= ABSOLUTE_SUSPECT))
    clearly_nonzero = np.any(finite & ~small & ~suspect, axis=0)
    candidate = np.all(small, axis=0)
    recheck = ~clearly_nonzero & np.all(small | suspect, axis=0) & ~candidate
    # float64 overflow (exp(800*(u - 2)**2) expanded into exp(3200)*...): the exact numbers may still decide
    unknown = ~clearly_nonzero & ~candidate & np.any(~finite, axis=0)
    nonzero = clearly_nonzero | recheck  # a suspect stays non-zero unless the exact numbers prove it zero
    proven, cut_short = np.zeros(count, bool), np.zeros(count, bool)
    # exact confirmation at the (few) candidate environments; identical environment values are tested once
    cache: dict[tuple, tuple[bool | None, bool]] = {}
    for m in np.flatnonzero(candidate | unknown | recheck).tolist():
        key = tuple(exact[s][m] for s in symbols)
        if key not in cache:
            subs = dict(zip(symbols, key))
            proofs = [zero_proof(sp.sympify(c).xreplace(subs)) for c in coefficients]
            verdicts = [p.zero for p in proofs]
            cache[key] = (False if False in verdicts else (True if all(verdicts) else None),
                          any(p.cut_short for p in proofs))
        verdict, cut_short[m] = cache[key]
        if verdict is False:
            nonzero[m], candidate[m] = True, False
        elif verdict:
            proven[m] = candidate[m] = True
            nonzero[m] = False
    return nonzero, candidate, proven, cut_short


def _zero_factor_in_u(expr: sp.Expr, variables: set[sp.Symbol], others: list[sp.Symbol],
                      exact: Mapping[sp.Symbol, Sequence[sp.Expr]], indices: np.ndarray) -> np.ndarray:
    """Per environment of ``indices``: whether a largest subexpression of expr free of the variables (and not
    constant) is exactly 0 there once its symbols take their exact values, with sympy's automatic evaluation
    only (sin(pi*u) at u = 4). Such an environment's tiny float value may be that zero's rounding; a small
    value of a decaying factor (sech(z1)**2) is not tried exactly, which would cost a substitution into the
    whole expression for many environments.

    >>> z, u = sp.symbols("z1 u", real=True)
    >>> _zero_factor_in_u(sp.sin(sp.pi*u)*sp.exp(u*z), {z}, [u], {u: [sp.Integer(4), sp.Rational(1, 3)]},
    ...                   np.array([0, 1])).tolist()
    [True, False]
    """
    def parts(node: sp.Basic) -> list[sp.Basic]:
        if not node.free_symbols & variables:
            return [node] if node.free_symbols else []
        return [p for arg in node.args for p in parts(arg)]

    out = np.zeros(len(indices), bool)
    if not len(indices):  # the common case: no tiny value to explain
        return out
    pieces = list(dict.fromkeys(parts(expr)))
    for k, m in enumerate(indices.tolist()):
        values = {s: exact[s][m] for s in others}
        out[k] = any(piece.xreplace(values) == 0 for piece in pieces)
    return out


def _prove_at(expr: sp.Expr, others: list[sp.Symbol], exact: Mapping[sp.Symbol, Sequence[sp.Expr]],
              indices: np.ndarray, count: int, simplify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Exact proof of expr(., u_m) == 0 at the candidate environments (identical values tested once): the
    environments proven, and those where sympy's simplify (or equals) was cut short (`SIMPLIFY_SECONDS`). With
    `simplify`, sympy's simplify is tried until it has failed at `SIMPLIFY_FAILURES` environments: the same
    expression at other numbers rarely fares better, and each try may take a tenth of a second."""
    proven, cut_short = np.zeros(count, bool), np.zeros(count, bool)
    cache: dict[tuple, ZeroProof] = {}
    failures = 0
    for m in indices:
        key = tuple(exact[s][m] for s in others)
        if key not in cache:
            cache[key] = zero_proof(expr.xreplace(dict(zip(others, key))), simplify and failures < SIMPLIFY_FAILURES)
            failures += cache[key].zero is not True
        proven[m], cut_short[m] = cache[key].zero is True, cache[key].cut_short
    return proven, cut_short


def _prove_on_support(expr: sp.Expr, others: list[sp.Symbol], exact: Mapping[sp.Symbol, Sequence[sp.Expr]],
                      indices: np.ndarray, count: int,
                      support: Callable[[int], Mapping[sp.Symbol, sp.Expr]]) -> tuple[np.ndarray, np.ndarray]:
    """Exact proof that expr(., u_m) vanishes on the support of the variables in environment m: the variables
    are replaced by support(m), their exact forms in positive noise symbols, and the result expanded
    (Heaviside(2 - z1) is 0 once z1 = 5 + t with t > 0). Only where expr holds a function of the sign of its
    argument (an analytic expression that vanishes on an open set vanishes everywhere it is analytic, which
    the proof without the support already tried), and until it has failed at `SIMPLIFY_FAILURES` environments.
    Returns the environments proven, and those where sympy's equals (tried on a number) was cut short.

    >>> z, u, t = sp.Symbol("z1", real=True), sp.Symbol("u", real=True), sp.Symbol("t", positive=True)
    >>> proven, cut_short = _prove_on_support(u - sp.Heaviside(2 - z), [u], {u: [0, 1]}, np.array([0, 1]), 2,
    ...                                       lambda m: {z: 5 + t})
    >>> proven.tolist(), cut_short.tolist()
    ([True, False], [False, False])
    """
    proven, cut_short = np.zeros(count, bool), np.zeros(count, bool)
    if not expr.has(*SIGN_DEPENDENT):
        return proven, cut_short
    failures = 0
    for m in indices.tolist():
        if failures >= SIMPLIFY_FAILURES:
            break
        at = expr.xreplace({s: exact[s][m] for s in others}).xreplace(dict(support(m)))
        proof = zero_proof(at, simplify=False)
        proven[m], cut_short[m] = proof.zero is True, proof.cut_short
        failures += not proven[m]
    return proven, cut_short


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
    points: np.ndarray | Callable[[np.ndarray], np.ndarray],
    *,
    tol: float = 1e-9,
    grid: int = 801,
    tracked: int = 4,
    max_candidates: int = 20,
    refused: list[float] | None = None,
    simplify_cut_short: list[float] | None = None,
) -> tuple[sp.Set, bool]:
    """Numeric fallback (SPEC §5 step 3): the u in [low, high] where expr(., u) vanishes identically in the
    variables, when sympy cannot solve for them.

    One vectorised evaluation on a grid of u x probe points gives (a) the grid values where every probe
    vanishes (runs of them are intervals of zeros, e.g. Max(u, 0)) and (b) the sign changes and small local
    minima of u -> expr(p, u) for a few tracked probe points p, refined (all at once) by bisection and by
    golden-section search; where float64 gives 0.0 over a stretch of u (underflow), the sign change across it
    is looked for at 50 digits. A candidate u* counts only if expr(., u*) is negligible at ALL probe points (compared
    with its terms at the neighbouring grid values); it is rationalised with nsimplify and proven exactly
    when sympy can. Returns (set, proven): proven when the set is non-empty and every point was confirmed
    exactly (finding nothing proves nothing). `points` (K, dim) are the probes at every u, or a function of
    the u values giving (len(u), K, dim) probes inside the support at each u. A grid value whose look at
    DEEP_DIGITS did not fit in `DEEP_SECONDS` is no zero, and is appended to `refused` when given; a zero kept
    unproven where sympy's simplify was cut short (`SIMPLIFY_SECONDS`) in its proof, to `simplify_cut_short`.

    >>> u, z = sp.symbols("u z1", real=True)
    >>> scan_zero_set(u*(1 - sp.tanh(u*z)**2), [z], u, (-1.0, 2.0), probe_points((-np.inf, np.inf), 1))
    ({0}, True)
    """
    variables = list(variables)
    terms = _terms(expr)
    numeric = _evaluator(terms, variables + [symbol])  # lambdified once: root finding calls it many times
    direct = _evaluator([expr], variables + [symbol])  # unexpanded: no cancellation between terms near a root

    def arrays_at(u_values: np.ndarray) -> tuple[list[np.ndarray], tuple[int, int]]:
        at_u = points(u_values) if callable(points) else points[None]
        shape = (len(u_values), at_u.shape[1])
        return [at_u[:, :, k] for k in range(len(variables))] + [np.asarray(u_values, float)[:, None]], shape

    def evaluate(u_values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(relative residual over all probes, values, sum of |terms|) at the probes; rows = u values."""
        values = np.stack(numeric(*arrays_at(u_values)))
        with np.errstate(all="ignore"):
            total, scale = values.sum(axis=0), np.abs(values).sum(axis=0)
            relative = np.where(scale > 0, np.abs(total) / np.where(scale > 0, scale, 1.0), 0.0)
        finite = np.isfinite(relative)
        enough = finite.sum(axis=1) >= MIN_FINITE_PROBES
        worst = np.where(enough, np.max(np.where(finite, relative, 0.0), axis=1), np.inf)
        return worst, total, np.where(np.isfinite(scale), scale, 0.0)

    us = np.linspace(*interval, grid)
    worst, total, scale = evaluate(us)
    pieces: list[sp.Set] = []
    proven = True
    mp_expr = _mp_function(expr, variables, [symbol])  # one mpmath function for every 50-digit look below
    clean = _mp_clean(mp_expr, points)
    deep_clean = _mp_clean(mp_expr, points, deep=True, refused=refused)
    # grid zeros: an interval (e.g. Max(u, 0)), confirmed at 50 digits (a float64 zero may be an exponentially
    # small value, (u + 2)*(1 - tanh(52*z2 + 5)**2) for large u), or isolated hits, candidates as the refined
    # roots below are (the grid's float u may sit 1e-14 off the exact zero, 301/2)
    hits: list[int] = []
    for grid_run in _runs(worst <= tol):
        for a, b in _confirmed(*grid_run, lambda j: deep_clean(us[j])) if grid_run[1] > grid_run[0] else [grid_run]:
            if b > a:
                pieces.append(sp.Interval(sp.nsimplify(us[a]), sp.nsimplify(us[b])))
                proven = False
            else:
                hits.append(a)
    # refine, all at once, the sign changes and the deepest local minima (even-order roots do not change
    # sign) of u -> expr(p, u) for a few tracked probes p, on the unexpanded expression (rounding between
    # expanded terms makes sign changes of its own)
    value = direct(*arrays_at(us))[0]
    usable = [k for k in range(value.shape[1]) if np.all(np.isfinite(value[:, k]))][:tracked]
    # a lone grid value where the unexpanded expression is 0.0 at every probe is a candidate as well: the
    # rounding of the expanded terms leaves a single term its full size (tanh((u - 1/10)**2*z1) at the float
    # 0.1: 1.7e-18*z1 inside the tanh, relative residual 1), and an even-order zero neither changes sign nor
    # is a local minimum of a size above 0
    finite_value = np.isfinite(value)
    flat = np.all(np.where(finite_value, value, 0.0) == 0, axis=1) & (finite_value.sum(axis=1) >= MIN_FINITE_PROBES)
    lone = flat & ~np.concatenate([[False], flat[:-1]]) & ~np.concatenate([flat[1:], [False]])
    hits += [j for j in np.flatnonzero(lone).tolist() if worst[j] > tol]
    crossings = [(k, j) for k in usable
                 for j in np.flatnonzero(np.sign(value[:-1, k]) * np.sign(value[1:, k]) < 0)[:max_candidates]]
    stretches = [(k, a, b) for k in usable for a, b in _zero_stretches(value[:, k])[:max_candidates]]
    dips = [(k, j) for k in usable for j in _deepest_minima(np.abs(value[:, k]), max_candidates)]

    def at_probe(probes: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return lambda x: direct(*arrays_at(x))[0][np.arange(len(x)), probes]

    found: list[tuple[np.ndarray, np.ndarray]] = [(us[hits], np.array(hits, int))]
    if crossings:
        k, j = np.array(crossings).T
        found.append((_bisect(at_probe(k), us[j], us[j + 1]), j))
    # across a stretch of float64 zeros (an underflow: (u - 383/2)*(1 - tanh(u/10 + z1*(u - 383/2))**2) is 0.0
    # for u near 191, whatever the sign of u - 383/2), the sign change only 50 digits show
    deep = [(root, a) for k, a, b in stretches if mp_expr is not None
            and (root := _mp_sign_change(mp_expr, points, us[a], us[b], k)) is not None]
    if deep:
        found.append((np.array([r for r, _ in deep]), np.array([j for _, j in deep], int)))
    if dips:
        k, j = np.array(dips).T
        dip_value = at_probe(k)
        found.append((_golden_minimum(lambda x: np.abs(dip_value(x)), us[j - 1], us[j + 1]), j))
    xs, js = (np.concatenate(parts) for parts in zip(*found))
    xs, first = np.unique(xs, return_index=True)
    js = js[first]
    # a root of one probe's u -> expr(p, u) must vanish at every probe point to be a zero identically: tiny
    # at every probe compared with the terms at the neighbouring grid values of u (a relative residual at x
    # itself would not do: at a root of u*h(p, u) every term vanishes too)
    at_x = evaluate(xs)[1] if len(xs) else np.empty((0, 0))
    reference = np.array([scale[max(j - 1, 0):j + 2].max() for j in js])
    finite = np.isfinite(at_x)
    size = np.where(finite, np.abs(at_x), 0.0).max(axis=1, initial=0.0)
    vanishes = (finite.sum(axis=1) >= MIN_FINITE_PROBES) & (size <= 1e-8 * np.maximum(reference, 1e-300))
    tried: dict[tuple[sp.Expr, bool], ZeroProof] = {}  # each guess's proof, once (`_first_zero`)
    for x, near in zip(xs[vanishes].tolist(), reference[vanishes].tolist()):
        if any(piece.contains(sp.Float(x)) == sp.true for piece in pieces):
            continue
        guesses = [g for g in (sp.nsimplify(sp.Float(x), tolerance=1e-9, rational=True),
                               sp.nsimplify(sp.Float(x), tolerance=1e-9, rational=False),
                               sp.nsimplify(sp.Float(x), [sp.pi, sp.E], tolerance=1e-9)) if _simple(g)]
        exact, cut = _first_zero(expr, symbol, guesses, False, tried)
        if exact is None:
            # a 50-digit look first (cheap; the root finder's x may sit 1e-7 off a rational root), so that
            # sympy's slow simplify runs only where a zero may be real
            guesses = [g for g in guesses if clean(float(g))]
            if not guesses and not clean(x):
                # no closed form (a zero of besselj(0, u) at 2.4048...): the float x is 1e-16 off the root,
                # which 50 digits show; the root itself, refined at 50 digits, must vanish at every probe
                root = _mp_common_root(mp_expr, points, x, near)
                if root is None:
                    continue
                x = root
            # after SIMPLIFY_FAILURES proofs cut short, the other candidates are not simplified: each would
            # cost the whole bound again, and one that is not tried is as unproven as one cut short
            timed_out = sum(proof.cut_short for proof in tried.values())
            exact, cut_later = _first_zero(expr, symbol, guesses, timed_out < SIMPLIFY_FAILURES, tried)
            cut |= cut_later or timed_out >= SIMPLIFY_FAILURES
        if exact is not None:
            pieces.append(sp.FiniteSet(exact))
        else:  # unproven, but no probe shows a non-zero at 50 digits
            shown = sp.Float(float(guesses[0]) if guesses else x, 12)
            pieces.append(sp.FiniteSet(shown))
            proven = False
            if cut and simplify_cut_short is not None:
                simplify_cut_short.append(float(shown))
    return (sp.Union(*pieces), proven) if pieces else (sp.S.EmptySet, False)


def _first_zero(expr: sp.Expr, symbol: sp.Symbol, guesses: Sequence[sp.Expr], simplify: bool,
                tried: dict[tuple[sp.Expr, bool], ZeroProof] | None = None) -> tuple[sp.Expr | None, bool]:
    """The first guess g where expr(g) is proven zero (`zero_proof`; None when at none), and whether an exact
    test was cut short (`SIMPLIFY_SECONDS`) on the way. `tried` remembers each (guess, simplify)'s proof across
    calls: the scan's neighbouring candidates near one root round to the same guesses (1/3 from 0.33333333 and
    0.33333334), and a simplify cut short costs its whole bound each time it is asked again.

    >>> u, z = sp.symbols("u z1", real=True)
    >>> _first_zero((u - 1)*z, u, [sp.Integer(2), sp.Integer(1)], simplify=False)
    (1, False)
    """
    tried = {} if tried is None else tried
    cut_short = False
    for guess in dict.fromkeys(guesses):  # nsimplify's three readings of x often agree
        if (guess, simplify) not in tried:
            tried[guess, simplify] = zero_proof(expr.xreplace({symbol: guess}), simplify)
        proof = tried[guess, simplify]
        if proof.zero:
            return guess, cut_short
        cut_short |= proof.cut_short
    return None, cut_short


def _deepest_minima(size: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` deepest interior local minima of size > 0 (depth: size over its larger
    neighbour)."""
    inner = np.arange(1, len(size) - 1)
    minima = inner[(size[inner] <= size[inner - 1]) & (size[inner] <= size[inner + 1]) & (size[inner] > 0)]
    depth = size[minima] / np.maximum(size[minima - 1], size[minima + 1])
    return minima[np.argsort(depth, kind="stable")][:count]


def _bisect(f: Callable[[np.ndarray], np.ndarray], a: np.ndarray, b: np.ndarray,
            iterations: int = 64) -> np.ndarray:
    """Roots of f (vectorised: f(x)[i] belongs to bracket i) in brackets [a_i, b_i] where f changes sign,
    by bisection to float resolution, every bracket at once.

    >>> roots = _bisect(lambda x: x**2 - np.array([2.0, 3.0]), np.array([1.0, 1.0]), np.array([2.0, 2.0]))
    >>> bool(np.abs(roots - np.sqrt([2.0, 3.0])).max() < 1e-15)
    True
    """
    a, b = np.array(a, float), np.array(b, float)
    sign_a = np.sign(f(a))
    for _ in range(iterations):
        mid = 0.5 * (a + b)
        sign_mid = np.sign(f(mid))
        left = sign_mid * sign_a <= 0  # the sign changes in [a, mid] (or mid is a root: b moves onto it)
        a, b, sign_a = np.where(left, a, mid), np.where(left, mid, b), np.where(left, sign_a, sign_mid)
        if np.all(b - a <= 4 * np.spacing(np.maximum(np.abs(a), np.abs(b)))):
            break
    return 0.5 * (a + b)


def _golden_minimum(f: Callable[[np.ndarray], np.ndarray], a: np.ndarray, b: np.ndarray,
                    xtol: float = 1e-14) -> np.ndarray:
    """Minimisers of f (vectorised as in `_bisect`) on [a_i, b_i], by golden-section search, all at once.

    >>> _golden_minimum(lambda x: np.abs(x - np.array([0.3, -0.2])), np.array([0.0, -1.0]), np.ones(2)).round(10)
    array([ 0.3, -0.2])
    """
    ratio = (np.sqrt(5.0) - 1) / 2
    a, b = np.array(a, float), np.array(b, float)
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(200):  # 0.618**200: any float bracket is resolved long before
        if not np.any(b - a > np.maximum(xtol, 4 * np.spacing(np.maximum(np.abs(a), np.abs(b))))):
            break
        left = ~(fd < fc)  # the minimum lies in [a, d] (ties and NaN: keep the left part)
        a, b = np.where(left, a, c), np.where(left, d, b)
        new = np.where(left, b - ratio * (b - a), a + ratio * (b - a))
        f_new = f(new)
        c, d, fc, fd = (np.where(left, new, d), np.where(left, c, new),
                        np.where(left, f_new, fd), np.where(left, fc, f_new))
    return np.where(fc <= fd, c, d)


class _DeepBudget:
    """The time left to the looks at DEEP_DIGITS of one expression (`DEEP_SECONDS`): `allows()` before an
    evaluation at the current mpmath precision, `record(seconds)` after it. The cost of an evaluation at d
    digits is the slowest one recorded at d, else predicted from the nearest precision c below d with one
    recorded, as cost(c) * (d / c)**2 (an evaluation at MP_DIGITS seeds it); with nothing recorded up to d,
    the evaluation is allowed while time is left.

    >>> budget = _DeepBudget()
    >>> with mpmath.workdps(50):
    ...     budget.record(0.5)
    >>> with mpmath.workdps(200):
    ...     budget.allows()  # 0.5 * 16 = 8 s predicted, 10 s left
    True
    >>> with mpmath.workdps(1000):
    ...     budget.allows()  # 0.5 * 400 = 200 s predicted
    False
    """

    def __init__(self, seconds: float = DEEP_SECONDS):
        self.seconds = seconds
        self.deadline: float | None = None  # from the first evaluation timed: a scan's other work is not charged
        self.cost: dict[int, float] = {}
        self.refusals = 0

    def allows(self) -> bool:
        """Whether an evaluation at the current precision is predicted to end within the budget (a refusal
        is counted in `refusals`)."""
        if self.deadline is None:  # nothing timed yet: nothing to predict from
            return True
        digits = mpmath.mp.dps
        nearest = max((d for d in self.cost if d <= digits), default=None)  # from far below, fixed costs weigh
        predicted = 0.0 if nearest is None else self.cost[nearest] * (digits / nearest) ** 2
        allowed = time.perf_counter() + predicted <= self.deadline
        self.refusals += not allowed
        return allowed

    def record(self, seconds: float) -> None:
        """The time one evaluation took at the current precision."""
        if self.deadline is None:
            self.deadline = time.perf_counter() - seconds + self.seconds
        digits = mpmath.mp.dps
        self.cost[digits] = max(self.cost.get(digits, 0.0), seconds)


def _mp_clean(fn: Callable | None, points: np.ndarray | Callable[[np.ndarray], np.ndarray],
              deep: bool = False, refused: list[float] | None = None) -> Callable[[float], bool]:
    """x -> True when no probe point shows expr(., x) != 0 at 50 digits (the test of `_first_mp_nonzero`; fn
    from `_mp_function`, u last); always True when mpmath cannot evaluate expr (fn None: no evidence). With
    `deep`, a clean x is also looked at with DEEP_DIGITS at the first DEEP_TRIES probes, as `_deep_witnesses`
    does: for an x that is exact as given (a grid value), not for a float approximation of a root, which more
    digits always show to be off the root. The deep looks share one `_DeepBudget`; an x whose look it refuses
    is not clean (no evidence of a zero), and is appended to `refused` when given."""

    budget = _DeepBudget()  # one for every x of the scan

    def clean(x: float) -> bool:
        if fn is None:
            return True
        rows = _mp_rows(points(np.array([x]))[0] if callable(points) else points)
        with mpmath.workdps(MP_DIGITS):
            if _first_mp_nonzero(fn, rows, [mpmath.mpf(float(x))], budget=budget if deep else None) is not None:
                return False
        for digits in DEEP_DIGITS if deep else ():
            before = budget.refusals
            with mpmath.workdps(digits):
                if _first_mp_nonzero(fn, rows[:DEEP_TRIES], [mpmath.mpf(float(x))],
                                     rounding=_rounding(digits), budget=budget) is not None:
                    return False
            if budget.refusals > before:
                if refused is not None:
                    refused.append(float(x))
                return False
        return True

    return clean


def _mp_common_root(fn: Callable | None, points: np.ndarray | Callable[[np.ndarray], np.ndarray], x: float,
                    reference: float, tries: int = 3) -> float | None:
    """A root of u -> expr(p, u) near x (fn from `_mp_function`, u last) refined at 50 digits by mpmath's
    findroot from x, for one of the first `tries` probes p, when expr vanishes at that root at EVERY probe to
    10**(10 - 50) times `reference` (the size of the terms at the neighbouring grid values); else None. A root
    of one probe's function that the others do not share is no zero of the expression.

    >>> u, z = sp.symbols("u z1", real=True)
    >>> fn = _mp_function(sp.besselj(0, u)*z, [z], [u])
    >>> round(_mp_common_root(fn, np.array([[0.5], [2.0]]), 2.404825557695773, 1.0), 12)
    2.404825557696
    >>> _mp_common_root(_mp_function((u - z)*z, [z], [u]), np.array([[0.5], [2.0]]), 0.5, 1.0) is None
    True
    """
    if fn is None:
        return None
    rows = _mp_rows(points(np.array([x]))[0] if callable(points) else points)
    failures = (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, NameError)
    with mpmath.workdps(MP_DIGITS):
        bound = mpmath.mpf(10) ** (10 - MP_DIGITS) * mpmath.mpf(reference)
        for row in rows[:tries]:
            try:
                root = mpmath.findroot(lambda t: mpmath.re(mpmath.mpmathify(fn(*row, t)[0])), mpmath.mpf(x),
                                       verify=False)  # an even-order root converges slowly: judged below
                values = [mpmath.mpmathify(fn(*other, root)[0]) for other in rows]
            except failures:
                continue
            if not isinstance(root, mpmath.mpf) or abs(root - x) > 1e-6 * max(1.0, abs(x)):
                continue
            if all(mpmath.isfinite(v) and abs(v) <= bound for v in values):
                return float(root)
    return None


def _zero_stretches(values: np.ndarray) -> list[tuple[int, int]]:
    """The runs of exact zeros in `values`, each widened by one index on either side (within the array).

    >>> _zero_stretches(np.array([1.0, 0.0, 0.0, -2.0, 0.0]))
    [(0, 3), (3, 4)]
    """
    last = len(values) - 1
    return [(max(a - 1, 0), min(b + 1, last)) for a, b in _runs(values == 0)]


def _mp_function(expr: sp.Expr, variables: Sequence[sp.Symbol], others: Sequence[sp.Symbol]) -> Callable | None:
    """expr and its two magnitudes (as `_first_mp_nonzero` reads them) lambdified for mpmath, arguments the
    variables and then the others; None when there is no mpmath printer for expr. Made once per expression:
    the 50-digit witnesses, the deeper look and the domain scan of one derivative share it."""
    return _mp_lambdified(expr, tuple(variables), tuple(others))


@functools.lru_cache(maxsize=1024)
def _mp_lambdified(expr: sp.Expr, variables: tuple[sp.Symbol, ...], others: tuple[sp.Symbol, ...]) -> Callable | None:
    wanted = set(variables)
    try:  # the spec's floats are printed as their exact binary values, the same at every precision
        return sp.lambdify(variables + others, [expr, _magnitude(expr, wanted, True), _magnitude(expr, wanted, False)],
                           modules="mpmath", cse=True)  # the three share their functions (tanh at 5000 digits)
    except (TypeError, ValueError, SyntaxError, NameError, NotImplementedError):
        return None


def _mp_sign_change(fn: Callable, points: np.ndarray | Callable[[np.ndarray], np.ndarray], low: float,
                    high: float, probe: int) -> float | None:
    """A root of u -> expr(p, u) in [low, high] (fn from `_mp_function`, u last), p the probe with index
    `probe`, whose 50-digit values at the ends have opposite signs, bisected at 50 digits to float resolution;
    None when the signs do not differ at 50 digits."""

    def sign(x: float) -> int:
        at = points(np.array([x]))[0] if callable(points) else points
        with mpmath.workdps(MP_DIGITS):
            try:
                value = mpmath.mpmathify(fn(*(mpmath.mpf(float(v)) for v in at[probe]), mpmath.mpf(x))[0])
            except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, NameError):
                return 0
            return int(mpmath.sign(value)) if isinstance(value, mpmath.mpf) and mpmath.isfinite(value) else 0

    left = sign(low)
    if left * sign(high) >= 0:
        return None
    a, b = low, high
    while b - a > 4 * np.spacing(max(abs(a), abs(b))):
        mid = 0.5 * (a + b)
        at_mid = sign(mid)
        if at_mid == 0:
            return mid
        a, b = (a, mid) if at_mid != left else (mid, b)
    return 0.5 * (a + b)


def _confirmed(a: int, b: int, clean: Callable[[int], bool], checks: int = 9) -> list[tuple[int, int]]:
    """The parts of the grid run [a, b] that survive a 50-digit check at up to `checks` evenly spaced grid
    points (the ends included): a grid point stays when it lies between two neighbouring checked points that
    are both clean, a clean checked point stays (alone, when its neighbours are not: an isolated zero inside
    a run of float64 near-zeros), and between a clean and an unclean checked point the boundary is bisected
    on the grid (a run of float zeros that goes on past the true interval, Max(u - 1, 0)*sech(z + 100*u)**2,
    keeps [0, 1], not [0, 0.9]).

    >>> _confirmed(0, 16, lambda j: j <= 10)
    [(0, 10)]
    >>> _confirmed(0, 16, lambda j: j == 8)
    [(8, 8)]
    """
    checked = np.unique(np.linspace(a, b, min(b - a + 1, checks)).round().astype(int))
    flags = [clean(int(j)) for j in checked]
    keep = np.zeros(b - a + 1, bool)
    keep[checked[np.array(flags, bool)] - a] = True
    for (j0, f0), (j1, f1) in zip(zip(checked, flags), zip(checked[1:], flags[1:])):
        if f0 and f1:
            keep[j0 - a:j1 - a + 1] = True
        elif f0 or f1:
            good, bad = (j0, j1) if f0 else (j1, j0)
            while abs(bad - good) > 1:
                mid = (good + bad) // 2
                good, bad = (mid, bad) if clean(int(mid)) else (good, mid)
            low, high = sorted((j0 if f0 else j1, good))
            keep[low - a:high - a + 1] = True
    return [(a + s, a + e) for s, e in _runs(keep)]


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
