"""Whether a post-nonlinear map ḡ(t) is invertible on the real line (SPEC §1, Eq. 5; Corollary 3.1).

ḡ is accepted when it is a continuous, strictly monotone map of ℝ onto an interval: defined, finite and real
everywhere, without a jump, its derivative never changing sign and not 0 on an interval. The derivative may
fail to exist at isolated points: a kink (`Max(t, 2*t)`, slope 1 then 2) or a vertical tangent
(`sign(t)*Abs(t)**(1/3)`, the inverse of t**3, which is accepted too) leaves ḡ′ ≠ 0 almost everywhere, which
is what Corollary 3.1 asks (∂g̃_i/∂ž_j = ∂g_i/∂z_j · ḡ_j′(ž_j)). A jump is refused, increasing or not: x would
be a discontinuous function of ž = ḡ⁻¹(z), outside the continuous injective mixing of assumption (i), and a
downward jump (`t - 2*Heaviside(t)`) is not even injective.

Where the map switches (the zeros of the argument of a Heaviside or sign, the boundaries of a Piecewise's
conditions) ḡ is compared exactly with its one-sided limits (each switch replaced by what it takes just
beside the point); where sympy finds a singularity, or cannot evaluate such a limit, two steps beside the
point at 200 digits decide. Elsewhere ḡ and ḡ′ are scanned on `GRID`. A switch or singularity that repeats
without end (`Heaviside(sin(t))`, tan's poles) is checked at its points in [-50, 50].

>>> import sympy as sp
>>> t = sp.Symbol("t", real=True)
>>> [why_not_invertible(g, t) for g in (t**3, sp.Max(t, 2*t))]
[None, None]
>>> why_not_invertible(t + sp.Heaviside(t - sp.Rational(13, 100000)), t)
'is not continuous: it jumps at t = 13/100000'
"""
from __future__ import annotations

from typing import Iterable

import mpmath
import numpy as np
import sympy as sp
from sympy.core.evalf import PrecisionExhausted

from .expressions import mpmath_function, numeric_function, switch_arguments

#: Where ḡ and ḡ′ are scanned: [-50, 50] in steps of 0.005, log-spaced from 1e-12 to 50 on each side of 0
#: (where t**9 - t and t**3 - 1e-9*t turn back), and 240 points per side log-spaced from 50 out to 1e6.
GRID = np.unique(np.concatenate([
    np.linspace(-50.0, 50.0, 20001), *(sign * np.logspace(-12.0, np.log10(50.0), 2001) for sign in (-1.0, 1.0)),
    *(sign * np.logspace(np.log10(50.0), 6.0, 241)[1:] for sign in (-1.0, 1.0))]))
#: A rational ḡ′ of higher degree is scanned rather than factored (sympy's square-free split grows with it).
MAX_EXACT_DEGREE = 200
#: The most switch or singularity points checked for continuity (those nearest 0 where they repeat).
MAX_BREAKPOINTS = 100
#: A switch set that repeats without end (an ImageSet over the integers, n -> p(n)) is also checked at its
#: points n = ±2^k and ±(2^k + 1), k = 1..FAR_DOUBLINGS, far beyond those nearest 0: a jump switched on only
#: beyond them (Heaviside(t - 30)*Heaviside(sin(10*t))), or in any window of width ratio 2 up to about 10^12
#: periods, is found.
FAR_DOUBLINGS = 40
#: Digits of the continuity check, and its two one-sided steps: a jump leaves |ḡ(b ± h) - ḡ(b)| as it is
#: when h shrinks from 1e-20 to 1e-60, a continuous ḡ shrinks it (by 1e-40 with a finite slope, by 0.4 for
#: a Hölder exponent as small as 0.01).
CONTINUITY_DIGITS = 200
_STEPS = (sp.Rational(1, 10**20), sp.Rational(1, 10**60))
#: How far beside a switch point its one-sided branch is read, the most nested switches followed, and the
#: most digits sympy may use to tell an exact number from 0.
_BESIDE = sp.Rational(1, 10**60)
_MAX_NESTING = 8
_MAXN = 1000
#: Functions that jump wherever their argument crosses an integer: ḡ may not hold them.
_INTEGER_STEPS = (sp.floor, sp.ceiling, sp.frac)


def why_not_invertible(expr: sp.Expr, t: sp.Symbol) -> str | None:
    """Why ḡ(t) = ``expr`` is not a continuous, strictly monotone map of the real line (the words after
    "gbar(t) = ... "), or None when it is.

    >>> import sympy as sp
    >>> t = sp.Symbol("t", real=True)
    >>> why_not_invertible(t**2, t)
    'is not invertible (its derivative changes sign, or is 0 on an interval)'
    >>> why_not_invertible(t + sp.Heaviside(t)*t, t), why_not_invertible(sp.exp(sp.exp(t)), t)
    (None, None)
    """
    if any(t in f.free_symbols for f in expr.atoms(*_INTEGER_STEPS)):
        return "is not continuous: it holds floor, ceiling or frac of t, which jump where their argument " \
               "crosses an integer"
    points = _breakpoints(expr, t)
    if isinstance(points, str):
        return points
    for b in points:
        if (where := _discontinuity(expr, t, b)) is not None:
            return where
    with np.errstate(all="ignore"):
        values = np.broadcast_to(np.asarray(numeric_function([t], expr)(GRID), dtype=float), GRID.shape)
    if (where := _not_finite(expr, t, values)) is not None:
        return f"is not a finite real number at t = {where}"
    derivative = sp.diff(expr, t).replace(sp.DiracDelta, lambda *args: sp.S.Zero)  # no jump: no point mass
    exact = _rational_sign_change(derivative, t)
    if exact == "pole":
        return "is not continuous: its derivative has a pole"
    with np.errstate(all="ignore"):
        d = np.array(np.broadcast_to(np.asarray(numeric_function([t], derivative)(GRID), dtype=float),
                                     GRID.shape))
    if isinstance(unknown := _fill_runs_of_nan(derivative, t, d), str):
        return unknown
    finite = d[np.isfinite(d)]
    scale = max(float(np.max(np.abs(finite))) if finite.size else 0.0, 1e-300)
    constant = not np.isinf(d).any() and bool(np.all(np.abs(finite) <= 1e-12 * scale))
    if constant or exact == "sign change" or (
            exact is None and (_flat_piece(derivative, t, d) or _sign_change(derivative, t, d))):
        return "is not invertible (its derivative changes sign, or is 0 on an interval)"
    return None


def _breakpoints(expr: sp.Expr, t: sp.Symbol) -> list[sp.Expr] | str:
    """The real points where ḡ may not be continuous: where the argument of a Heaviside or sign is 0, where a
    Piecewise's condition turns, and sympy's singularities; a reason when they cannot be located."""
    zero_of = switch_arguments(expr, kinks=False)  # Abs, Max and Min bend but do not jump
    sets = []
    for a in zero_of:
        if t not in a.free_symbols:
            continue
        try:
            sets.append(sp.solveset(a, t, domain=sp.S.Reals))
        except (NotImplementedError, ValueError, TypeError):
            sets.append(sp.ConditionSet(t, sp.Eq(a, 0), sp.S.Reals))
        if isinstance(sets[-1], sp.ConditionSet):
            return f"is not known to be continuous: the zeros of {a}, where it switches, cannot be located"
    try:
        sets.append(sp.singularities(expr, t, sp.S.Reals))
    except (NotImplementedError, ValueError, TypeError):  # sympy's singularities covers few functions
        pass
    points: set[sp.Expr] = set()
    far: set[sp.Expr] = set()
    for s in sets:
        points |= _points_near_zero(s)
        far |= _points_far_out(s)
    nearest = sorted(points, key=lambda p: (abs(float(p)), float(p)))[:MAX_BREAKPOINTS]
    return nearest + sorted(far - set(nearest), key=lambda p: (abs(float(p)), float(p)))


def _points_near_zero(points: sp.Set) -> set[sp.Expr]:
    """A set of real points as up to `MAX_BREAKPOINTS` of them; one that repeats without end (an ImageSet
    over the integers) by its points in [-50, 50]."""
    if isinstance(points, sp.FiniteSet):
        return {p for p in points if p.is_real}
    try:
        window = sp.Intersection(points, sp.Interval(-50, 50))
    except (OverflowError, MemoryError, ValueError, TypeError, NotImplementedError):
        # sympy lists the n of log(2*n*pi) in the window as a range of about e^50 integers: OverflowError, an
        # internal error in the CLI (t + Heaviside(sin(exp(t)))), or MemoryError (2**50 of them for sin(2**t),
        # which the CLI read as a request too large); the points at |n| <= MAX_BREAKPOINTS / 2
        return {p for p in _integer_images(points, range(-MAX_BREAKPOINTS // 2, MAX_BREAKPOINTS // 2 + 1))
                if abs(float(p)) <= 50}
    return set(window) if isinstance(window, sp.FiniteSet) else {
        p for piece in getattr(window, "args", ()) if isinstance(piece, sp.FiniteSet) for p in piece}


def _integer_images(points: sp.Set, numbers: Iterable[int]) -> set[sp.Expr]:
    """Of each ImageSet over the integers in ``points`` (alone or in a union), its real points at these n."""
    pieces = points.args if isinstance(points, sp.Union) else (points,)
    found: set[sp.Expr] = set()
    for piece in pieces:
        if not (isinstance(piece, sp.ImageSet) and piece.base_sets == (sp.S.Integers,)
                and len(piece.lamda.variables) == 1):
            continue
        for n in numbers:
            p = piece.lamda(n)
            if p.is_real:
                found.add(p)
    return found


def _points_far_out(points: sp.Set) -> set[sp.Expr]:
    """Of each ImageSet over the integers in ``points`` (alone or in a union), its real points at n = ±2^k and
    ±(2^k + 1), k = 1..`FAR_DOUBLINGS` (`_breakpoints` checks these beside those nearest 0).

    >>> n = sp.Symbol("n", integer=True)
    >>> sorted(_points_far_out(sp.ImageSet(sp.Lambda(n, 2*n), sp.S.Integers)))[-2:]
    [2199023255552, 2199023255554]
    """
    return _integer_images(points, [n for k in range(1, FAR_DOUBLINGS + 1)
                                    for n in (2**k, -2**k, 2**k + 1, -2**k - 1)])


def _discontinuity(expr: sp.Expr, t: sp.Symbol, b: sp.Expr) -> str | None:
    """Why ḡ is not continuous at b, or None when it is: not a finite real number there, or, beside a switch
    at b, a one-sided limit that differs from ḡ(b) (`_one_sided`, compared exactly: a jump of 1e-300
    counts). Where no switch is at b (a singularity sympy names) or sympy cannot evaluate the one-sided limit
    (exp(-1/t) at 0), a one-sided difference that does not shrink with the step (`_STEPS`, at
    `CONTINUITY_DIGITS`) is a jump."""
    shown = sp.nsimplify(b) if b.is_Float else b
    at = expr.subs(t, b)
    if not _finite_real(at):
        return f"is not a finite real number at t = {shown}"
    for side in (-1, 1):
        beside = _one_sided(expr, t, b, side)
        if beside is None:
            return f"is not known to be continuous at t = {shown}: where it switches there cannot be decided"
        if beside != expr and _finite_real(limit := beside.subs(t, b)):
            if _nonzero(limit - at):
                return f"is not continuous: it jumps at t = {shown}"
            continue
        wide, narrow = (abs(sp.N(expr.subs(t, b + side * h) - at, CONTINUITY_DIGITS)) for h in _STEPS)
        if not (wide.is_Number and narrow.is_Number):
            return f"is not known to be continuous at t = {shown}: it cannot be evaluated beside it"
        if wide > 0 and narrow > wide / 2:
            return f"is not continuous: it jumps at t = {shown}"
    return None


def _one_sided(expr: sp.Expr, t: sp.Symbol, b: sp.Expr, side: int) -> sp.Expr | None:
    """ḡ just beside b (side -1: left, 1: right) without its switches there: every Heaviside or sign whose
    argument is 0 at b replaced by the value it takes at b + side·1e-60, every Piecewise by the branch it
    takes there; None when a condition there cannot be decided. Its value at b is the one-sided limit."""
    probe = b + side * _BESIDE
    for _ in range(_MAX_NESTING):
        switches: dict[sp.Expr, sp.Expr] = {}
        for f in expr.atoms(sp.Heaviside, sp.sign):
            a = f.args[0]
            if t in a.free_symbols and not _nonzero(a.subs(t, b)):
                value = sp.N(a.subs(t, probe), 30, maxn=_MAXN)
                if value.is_zero is False:
                    switches[f] = (sp.S.One if value > 0 else sp.S.Zero) if f.func is sp.Heaviside else sp.sign(value)
        for f in expr.atoms(sp.Piecewise):
            for branch, condition in f.args:
                holds = condition.subs(t, probe)
                if holds not in (sp.true, sp.false):
                    return None
                if holds is sp.true:
                    switches[f] = branch
                    break
        if not switches:
            return expr
        expr = expr.xreplace(switches)
    return None


def _nonzero(value: sp.Expr) -> bool:
    """Whether an exact number is not 0: sympy tells it apart from 0 within `_MAXN` digits."""
    if value.is_zero is not None:
        return not value.is_zero
    try:
        return sp.N(value, 15, maxn=_MAXN, strict=True) != 0
    except PrecisionExhausted:
        return False


def _finite_real(value: sp.Expr) -> bool:
    """Whether an exact value is a finite real number: sympy evaluates it to one (not Heaviside(zoo), the
    value of Heaviside(1/t) at 0, nor atan(1/t)'s AccumBounds(-pi/2, pi/2), which sympy calls finite)."""
    v = sp.N(value, 30)
    return bool(v.is_Number and v.is_real and v.is_finite)


def _not_finite(expr: sp.Expr, t: sp.Symbol, values: np.ndarray) -> str | None:
    """Where ḡ is not a finite real number, confirmed at 50 digits at up to nine of the grid points where
    float64 says so (an overflow, exp(exp(t)) at t = 10, is finite); None when there is no such point."""
    bad = np.flatnonzero(~np.isfinite(values) & (np.isnan(values) | (np.abs(GRID) <= 50.0)))
    picks = {int(k) for k in bad[np.linspace(0, bad.size - 1, 9).astype(int)]} if bad.size else set()
    for k in sorted(picks, key=lambda k: abs(GRID[k])):
        v = sp.N(expr.subs(t, sp.Rational(GRID[k])), 50)
        if not (v.is_real and v.is_finite):
            return f"{GRID[k]:g}"
    return None


def _fill_runs_of_nan(derivative: sp.Expr, t: sp.Symbol, d: np.ndarray, limit: int = 2000) -> str | None:
    """ḡ′ where float64 gives NaN next to another NaN (inf/inf in an overflow: 1000·e^(-1000t)/(1 +
    e^(-1000t))² below t = -0.71), filled in place at 30 digits, in mpmath (or sympy for up to ``limit`` points
    mpmath cannot evaluate); an isolated NaN (a kink's or a vertical tangent's point) is left out of the sign
    tests. A reason when more points are left, or one is not a real number."""
    nan = np.isnan(d)
    beside = np.concatenate([[False], nan[:-1]]) | np.concatenate([nan[1:], [False]])
    runs = np.flatnonzero(nan & beside)
    if runs.size and (fn := mpmath_function([t], derivative)) is not None:
        with mpmath.workdps(30):
            for k in runs:
                try:
                    v = mpmath.mpmathify(fn(mpmath.mpf(float(GRID[k]))))
                except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, NameError):
                    continue
                if isinstance(v, mpmath.mpc) and v.imag != 0:
                    return f"is not known to be invertible: its derivative is not a real number at t = {GRID[k]:g}"
                if isinstance(v, (mpmath.mpf, mpmath.mpc)) and not mpmath.isnan(v.real):
                    d[k] = float(v.real)  # inf beyond the float range, with its sign
    left = runs[np.isnan(d[runs])]
    if left.size > limit:
        return f"is not known to be invertible: its derivative is not a number in floats at {left.size} points"
    for k in left:
        v = sp.N(derivative.subs(t, sp.Rational(GRID[k])), 30)
        if not v.is_real:
            return f"is not known to be invertible: its derivative is not a real number at t = {GRID[k]:g}"
        d[k] = float(v) if v.is_finite else (np.inf if v.is_positive else -np.inf)
    return None


def _rational_sign_change(derivative: sp.Expr, t: sp.Symbol) -> str | None:
    """For ḡ′ = p/q with rational coefficients: "pole" when q has a real root (ḡ′ is undefined there),
    "sign change" when p has a real root of odd multiplicity (9*t**8 - 1, from t**9 - t, at 9**(-1/8)),
    "monotone" otherwise (p = 0 is a constant ḡ, refused by the caller); None when ḡ′ is not such a ratio.

    >>> t = sp.Symbol("t", real=True)
    >>> [_rational_sign_change(sp.diff(g, t), t) for g in (t**9 - t, t**3, t + 1/t, t + sp.sin(t))]
    ['sign change', 'monotone', 'pole', None]
    """
    numerator, denominator = sp.fraction(sp.together(derivative))
    try:
        p, q = sp.Poly(numerator, t), sp.Poly(denominator, t)
    except sp.PolynomialError:
        return None
    if any(f.domain not in (sp.ZZ, sp.QQ) or f.degree() > MAX_EXACT_DEGREE for f in (p, q)):
        return None
    if q.count_roots() > 0:
        return "pole"
    if p.is_zero:
        return "monotone"
    _, factors = p.sqf_list()
    return "sign change" if any(k % 2 and f.count_roots() > 0 for f, k in factors) else "monotone"


def _sign_change(derivative: sp.Expr, t: sp.Symbol, d: np.ndarray) -> bool:
    """ḡ′ takes both signs on `GRID`: some point where float64 says d < 0 and one where it says d > 0, each
    confirmed at 50 digits (`_has_sign`). Any strict sign change counts, however small against the largest
    |ḡ′| (t**7 - 0.001*t)."""
    return _has_sign(derivative, t, d, -1) and _has_sign(derivative, t, d, 1)


def _has_sign(derivative: sp.Expr, t: sp.Symbol, d: np.ndarray, sign: int) -> bool:
    """Whether sympy confirms ḡ′ has ``sign`` at one of up to nine grid points where float64 says so (the
    most extreme one and eight spread over them)."""
    where = np.flatnonzero(sign * d > 0)
    if where.size == 0:
        return False
    picks = {int(where[np.argmax(sign * d[where])]), *where[np.linspace(0, where.size - 1, 8).astype(int)].tolist()}
    for k in sorted(picks):
        value = sp.N(derivative.subs(t, sp.Rational(GRID[k])), 50)
        if (value.is_negative if sign < 0 else value.is_positive):
            return True
    return False


def _flat_piece(derivative: sp.Expr, t: sp.Symbol, d: np.ndarray) -> bool:
    """ḡ′ is 0 on an interval, so ḡ is not injective there (Max(t, 0) for t < 0, Max(t, 100) below 100): a
    run of grid points where float64 gives exactly 0, confirmed by sympy at the exact points of up to three
    neighbouring pairs per run. An isolated zero (t**3 at 0) is allowed, and so is a derivative that only
    underflows (tanh beyond |t| ~ 19: sympy shows 1 - tanh(20)**2 is not 0, or cannot say)."""
    pairs = np.concatenate([[False], (d[:-1] == 0) & (d[1:] == 0), [False]])
    edges = np.flatnonzero(np.diff(pairs.astype(int)))  # pair runs [start, end) of pair indices
    for start, end in zip(edges[::2], edges[1::2]):
        for k in sorted({int(start), int((start + end - 1) // 2), int(end - 1)}):
            if all(derivative.subs(t, sp.Rational(GRID[j])).is_zero for j in (k, k + 1)):
                return True
    return False
