"""Assumptions (i), deconvolvable observation noise, and (ii), injective mixing (SPEC §2, §5).

(i) is read off the registry of observation-noise families (the zero set of the characteristic function);
(ii) is a structural certificate for the leaky-ReLU MLP class and, for a mixing given by expressions, a
Jacobian rank probe plus a global collision probe (numpy only, fixed seed).

>>> from identcheck import load_example
>>> check_deconvolvability(load_example("C16")).status
'fails'
>>> check_injectivity(load_example("C1")).details["method"]
'structural'
>>> result = check_injectivity(load_example("C17"))
>>> result.status, result.details["method"]
('fails', 'probe')
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from functools import lru_cache, reduce
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.spatial
import sympy as sp
from sympy.polys.matrices import DomainMatrix
from sympy.polys.rings import ring

from ..psi import latents_at
from ..scm import SCM
from ..spec.expressions import jacobian, mpmath_function, numeric_function, switch_arguments
from .results import AssumptionResult, Status
from .zeros import MP_DIGITS

__all__ = ["check_deconvolvability", "check_injectivity", "DEFAULT_SCALES", "DEFAULT_SAMPLES"]

#: Noise scales of the probe: n = s * (a standard draw on the family's support), for each s.
DEFAULT_SCALES = (1.0, 3.0, 10.0)
#: Number of probe samples of z (over all scales and environments together).
DEFAULT_SAMPLES = 4096
#: A Jacobian with sigma_min / sigma_max below this at a sample is reported as numerically rank-deficient.
RANK_RATIO_TOL = 1e-10
_NEIGHBOURS = 4
_CANDIDATES = 64
_NEWTON_STEPS = 40
_MP_NEWTON_STEPS = 30  # Gauss-Newton steps at 50 digits that confirm a float collision (`_mp_refiner`)
_MP_CHECKS = 5  # float collisions confirmed at 50 digits before the probe gives up
#: The highest degree of a polynomial along a line (a switch argument, det J) whose roots are solved: for far
#: folds along the axes (`fold_scales`) and for the 50-digit fold check along the axes and diagonals
#: (`_exact_fold`).
_MAX_DEGREE = 8
#: The highest bound D on the degree of det J along a line (the smaller of the sums of the degrees of J's rows and
#: of its columns there) for which a determinant of degree <= `_MAX_DEGREE` below it is looked for: D + 1 exact
#: determinants each (`_polynomial_determinant`). A chain of quadratic couplings z_k + z_(k-1)**2/2 under a linear
#: map has D = ℓ + 1 and det J of degree 2.
_MAX_DEGREE_BOUND = 32
#: The most diagonals z = t·(1, ±1, ..., ±1) along which `_exact_fold` restricts det J, besides the ℓ axes
#: (`_lines`): all 2^(ℓ-1) of them up to ℓ = 6 latents, the first 32 in a fixed order beyond.
_MAX_DIAGONALS = 32
_NOT_SMOOTH = (sp.Abs, sp.Max, sp.Min, sp.Piecewise, sp.Heaviside, sp.sign, sp.floor, sp.ceiling)

_ZERO_SETS: dict[str, tuple[Status, str]] = {
    "none": ("holds", "never vanishes"),
    "countable": ("holds", "vanishes only on a countable, hence Lebesgue-null, set"),
    "positive_measure": ("fails", "vanishes on a set of positive Lebesgue measure"),
}


def check_deconvolvability(scm: SCM) -> AssumptionResult:
    """Assumption (i): the characteristic function of eps vanishes only on a null set. eps has independent
    coordinates from one family, so its zero set is a union of slabs and (i) holds iff one coordinate's
    zero set is null (SPEC §5 "Checking (i)").

    >>> from identcheck import load_example
    >>> r = check_deconvolvability(load_example("C1"))
    >>> r.status, r.details["cf_zeros"]
    ('holds', 'none')
    """
    noise = scm.observation_noise
    family = noise.family
    status, fact = _ZERO_SETS.get(family.cf_zeros, ("unknown", "has a zero set of unknown measure"))
    scaled = "no observation noise" if family.name == "none" else \
        f"{family.name} observation noise (scale {noise.scale:g})"
    reason = (f"{scaled}: its characteristic function {fact} "
              f"({family.cf_description})")
    return AssumptionResult(status, reason, {"family": family.name, "cf_zeros": family.cf_zeros})


# -- (ii) ---------------------------------------------------------------------------------------------------


def check_injectivity(scm: SCM, *, samples: int = DEFAULT_SAMPLES, scales: Sequence[float] = DEFAULT_SCALES,
                      seed: int = 0) -> AssumptionResult:
    """Assumption (ii), f injective, with (ii+): f is C² with a Jacobian of full column rank ℓ (SPEC §2).

    A leaky-ReLU MLP gets a structural certificate. A mixing given by expressions is probed at `samples`
    points z drawn from the model's own support (noise at each of `scales`, pushed through the SCM in every
    environment): the Jacobian's smallest sigma_min/sigma_max, and a collision search (KD-tree neighbours
    in x-space with far-apart z, refined by Gauss-Newton to an exact collision f(z) = f(z')). A probe is
    evidence, not a proof; a collision is a proof of failure.

    >>> from identcheck import from_dict, load_example
    >>> spec = load_example("C17").spec | {"mixing": {"kind": "expression", "x": ["z1 + z2**3", "z2"]}}
    >>> check_injectivity(from_dict(spec)).status
    'holds'
    """
    if scm.mixing.kind == "mlp":
        return _mlp_certificate(scm)
    return _expression_probe(scm, samples, tuple(scales), seed)


def _mlp_certificate(scm: SCM) -> AssumptionResult:
    ell, dim, layers = len(scm.latents), scm.mixing.observed_dim, scm.mixing.layers
    first = (f"a first layer ℝ^ℓ -> ℝ^d of full column rank ℓ (d = {dim} > ℓ = {ell})" if dim > ell
             else f"an invertible square first layer (d = ℓ = {ell})")
    reason = (f"structural certificate: a leaky-ReLU MLP with {layers} layers, {first}, the other layers "
              "square invertible, and LeakyReLU (slope > 0) strictly monotone, so f is injective and its "
              "Jacobian has full column rank ℓ wherever it exists; caveat: LeakyReLU is piecewise linear, not "
              "C² at 0, so (ii+) holds only almost everywhere")
    return AssumptionResult("holds", reason, {"method": "structural", "observed_dim": dim, "layers": layers,
                                              "c2": False})


def fold_scales(exprs: Sequence[sp.Expr], symbols: Sequence[sp.Symbol], scales: tuple[float, ...],
                  most: int = 4) -> tuple[float, ...]:
    """Noise scales to add to ``scales`` so that the probe reaches where f may fold: where the argument of
    an Abs, Heaviside or sign, the difference of a Max's or Min's arguments, or a Piecewise's condition is 0
    (f switches there), and, for a square f, where det J is 0 (`_line_determinants`), each along one latent's
    axis (the other latents at 0); twice that distance from 0, for each such point beyond the largest scale
    (at most ``most``, the farthest kept). Only a polynomial of degree <= `_MAX_DEGREE` in that latent is
    solved.

    >>> z1, z2 = sp.symbols("z1 z2", real=True)
    >>> fold_scales([z1 - 2*sp.Max(z1 - 80, 0), z2], [z1, z2], (1.0, 3.0, 10.0))
    (160.0,)
    >>> fold_scales([z1 - z1**3/30000, z2], [z1, z2], (1.0, 3.0, 10.0))
    (200.0,)
    """
    axes = _axes(len(symbols))
    polynomials = [poly for e in exprs for a in switch_arguments(e) for _, poly in _line_polynomials(a, symbols, axes)]
    polynomials += [poly for _, poly in _line_determinants(exprs, symbols, axes)]
    distances = set()
    for poly in polynomials:
        distances |= _real_root_distances(poly.all_coeffs())
    beyond = sorted({2.0 * d for d in distances if np.isfinite(d) and 2.0 * d > max(scales)})
    return tuple(beyond[-most:])


@lru_cache(maxsize=64)
def _jacobian(exprs: tuple[sp.Expr, ...], symbols: tuple[sp.Symbol, ...]) -> sp.Matrix:
    """J = ∂f/∂z, computed once per mixing for the probe, det J and the 50-digit checks (`jacobian`: a Max of
    20 terms took sympy 8 s)."""
    return jacobian(exprs, symbols)


def _real_root_distances(coefficients: Sequence[sp.Expr]) -> set[float]:
    """|r| for the real roots r of the polynomial with these numeric coefficients (highest degree first),
    from the eigenvalues of its companion matrix (numpy's roots): sympy's nroots raises NoConvergence on
    ill-scaled ones (z1 - 1e-30*z1**3, a product of cubes of four latents). Nothing for coefficients beyond
    the float range; a root counts as real when its imaginary part is below 1e-9 of its size, and |r| is
    rounded to 12 digits (the two roots of 1 - z1**2/30000 give one distance).

    >>> sorted(_real_root_distances([sp.Rational(-3, 10**30), 0, 3, 0]))
    [0.0, 1000000000000000.0]
    >>> _real_root_distances([1, 0, 1]), _real_root_distances([sp.Integer(10)**400, 1])
    (set(), set())
    """
    with np.errstate(all="ignore"):
        try:
            c = np.array([complex(v) for v in coefficients])
        except (OverflowError, TypeError):
            return set()
        if not np.all(np.isfinite(c)):
            return set()
        try:
            roots = np.roots(c)
        except np.linalg.LinAlgError:  # the companion matrix overflows: 1e300*z1**9 - 1e-300*z1**3 + z1
            return set()
    return {float(f"{abs(r.real):.12g}") for r in roots if np.isfinite(r) and abs(r.imag) <= 1e-9 * max(abs(r), 1.0)}


def _noise_draws(rng: np.random.Generator, support: tuple[float, float], scale: np.ndarray) -> np.ndarray:
    """Noise spread over the family's open support, one draw per entry of `scale`: N(0, s²) on ℝ,
    lo + s*Exp(1) on a half-line, uniform on a bounded interval (where scale does not apply)."""
    low, high = support
    if np.isfinite(low) and np.isfinite(high):
        return rng.uniform(low, high, scale.shape)
    if np.isfinite(low):
        return low + rng.exponential(scale)
    return rng.normal(0.0, scale)


def _latent_samples(scm: SCM, rng: np.random.Generator, samples: int, scales: tuple[float, ...]) -> np.ndarray:
    """z = psi_u(n) in every environment (SPEC §1): samples from the support of z, rows with any non-finite
    coordinate dropped. Each mechanism is lambdified once and evaluated on all samples and environments."""
    table = scm.environment_table()
    count = scm.environments.count
    per_env = max(1, -(-samples // (len(scales) * count)))
    rows = per_env * count * len(scales)
    values = {s: np.tile(np.repeat(np.asarray(v, dtype=float), per_env), len(scales)) for s, v in table.items()}
    noise_scale = np.repeat(np.asarray(scales, dtype=float), per_env * count)
    noise = np.zeros((rows, len(scm.latents)))
    for name in scm.order:  # drawn in causal order, as the probe always has been
        noise[:, scm.latents.index(name)] = _noise_draws(rng, scm.noise_family.support, noise_scale)
    z = latents_at(scm, noise, values)
    return z[np.all(np.isfinite(z), axis=1)]


def _vectorised(symbols: Sequence[sp.Symbol], exprs: Sequence[sp.Expr]) -> Callable[[np.ndarray], np.ndarray]:
    """One lambdified function of the rows of z returning an (N, len(exprs)) array."""
    fn = numeric_function(list(symbols), list(exprs))

    def evaluate(z: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            columns = fn(*z.T)
        return np.column_stack([np.broadcast_to(np.asarray(c, dtype=float), (len(z),)) for c in columns])

    return evaluate


def _rank_ratios(jacobian: np.ndarray) -> np.ndarray:
    """sigma_min / sigma_max of every (d, ℓ) Jacobian in the stack (0 where J = 0)."""
    sigma = np.linalg.svd(jacobian, compute_uv=False)
    return np.where(sigma[:, 0] > 0, sigma[:, -1] / np.where(sigma[:, 0] > 0, sigma[:, 0], 1.0), 0.0)


def _gauss_newton(f: Callable, jac: Callable, target: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Solve f(w) = target from `start`, row by row in one batch (least squares steps, d >= ℓ)."""
    w = start.copy()
    for _ in range(_NEWTON_STEPS):
        residual, jacobian = f(w) - target, jac(w)
        # a step may overflow the mixing (exp, ...): freeze those rows instead of inverting a NaN Jacobian
        finite = np.all(np.isfinite(jacobian), axis=(1, 2)) & np.all(np.isfinite(residual), axis=1)
        step = np.zeros_like(w)
        step[finite] = np.einsum("nij,nj->ni", np.linalg.pinv(jacobian[finite]), residual[finite])
        w = np.where(np.isfinite(step), w - step, w)
    return w


def _mp_refiner(symbols: Sequence[sp.Symbol], exprs: Sequence[sp.Expr]) -> Callable[[np.ndarray, np.ndarray],
                                                                                     np.ndarray | None]:
    """A check of a float collision at 50 digits: given z and the float z' with f(z') ≈ f(z), Gauss-Newton
    from z' towards f(z) in mpmath; the refined z' when it converges (residual below 1e-40 of |f(z)|), None
    when it does not. In float64 an extremely sensitive bijection (two shears of strength 1e4, |x| ≈ 3e8)
    shows z' with f(z') = f(z) to 1e-9 that 50 digits take back to z. Without an mpmath form of f, z' is
    returned as it is (the float evidence stands)."""
    functions: list[Callable[..., Any] | None] = []

    def lambdified() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
        if not functions:  # once, at the first float collision: most probes find none to check
            try:
                functions.extend([mpmath_function(list(symbols), list(exprs), cse=False),
                                  mpmath_function(list(symbols), _jacobian(tuple(exprs), tuple(symbols)), cse=False)])
            except Exception:  # as mpmath_function's None: no mpmath form, the float evidence stands
                functions.extend([None, None])
        f, jac = functions
        return None if f is None or jac is None else (f, jac)

    def refine(z: np.ndarray, w: np.ndarray) -> np.ndarray | None:
        pair = lambdified()
        if pair is None:  # no mpmath printer for some function: keep the float evidence
            return w
        f, jac = pair
        with mpmath.workdps(MP_DIGITS):
            try:
                target = mpmath.matrix(f(*(mpmath.mpf(float(v)) for v in z)))
                tol = mpmath.mpf(10) ** (10 - MP_DIGITS) * (1 + mpmath.norm(target))
                v = mpmath.matrix([mpmath.mpf(float(c)) for c in w])
                size = mpmath.norm(mpmath.matrix(f(*v)) - target)
                for _ in range(_MP_NEWTON_STEPS):
                    if size <= tol:
                        return np.array([float(c) for c in v])
                    j = mpmath.matrix(jac(*v))
                    step = mpmath.lu_solve(j.T * j, j.T * (mpmath.matrix(f(*v)) - target))
                    for halving in range(40):  # damped: a step must bring f nearer the target
                        trial = v - step * mpmath.mpf(2) ** -halving
                        trial_size = mpmath.norm(mpmath.matrix(f(*trial)) - target)
                        if trial_size < size:
                            v, size = trial, trial_size
                            break
                    else:
                        return None
            except (ZeroDivisionError, ValueError, TypeError, OverflowError):  # singular J, no value there
                return w
        return None

    return refine


def _collision(f: Callable, jac: Callable, z: np.ndarray, x: np.ndarray,
               refine: Callable[[np.ndarray, np.ndarray], np.ndarray | None]) -> dict[str, list[float]] | None:
    """A pair z != z' with f(z) = f(z'), or None. Candidates: x-space nearest neighbours whose z are far
    apart (largest ||z - z'|| / ||x - x'||); each is refined by Gauss-Newton from z' towards f(z) and kept only
    if it converges to an exact collision that stays nearer the sampled z' than z, and stays apart from z
    when `refine` takes it to 50 digits (the first of at most `_MP_CHECKS` such pairs that do)."""
    distance, neighbour = scipy.spatial.cKDTree(x).query(x, k=_NEIGHBOURS + 1)
    a = np.repeat(np.arange(len(x)), _NEIGHBOURS)
    b = neighbour[:, 1:].ravel()
    dx = distance[:, 1:].ravel()
    # huge x (exp of a large z) overflow the squared distances: the tree then reports no neighbour (index
    # len(x), distance inf); such pairs carry no evidence either way
    usable = (b < len(x)) & np.isfinite(dx)
    a, b, dx = a[usable], b[usable], dx[usable]
    dz = np.linalg.norm(z[a] - z[b], axis=1)
    score = dz / (dx + 1e-12 * (1.0 + np.linalg.norm(x[a], axis=1)))
    order = np.argsort(-score, kind="stable")
    order = order[dz[order] > 1e-6 * (1.0 + np.linalg.norm(z[a[order]], axis=1))][:_CANDIDATES]
    if not len(order):
        return None
    a, b = a[order], b[order]
    with np.errstate(all="ignore"):
        w = _gauss_newton(f, jac, x[a], z[b])
        fw = f(w)
        residual = np.linalg.norm(fw - x[a], axis=1)
        # scale-aware: every coordinate of f(w) must agree with x to relative precision; the absolute test
        # alone, 1e-9*(1 + |x|), accepts exp(-71) == exp(-116) (x ~ 1e-13), a false collision of an injective map
        agree = np.all(np.abs(fw - x[a]) <= 1e-9 * np.maximum(np.abs(fw), np.abs(x[a])), axis=1)
    apart = np.linalg.norm(w - z[a], axis=1)
    found = np.flatnonzero((residual <= 1e-9 * (1.0 + np.linalg.norm(x[a], axis=1))) & agree
                           & (apart >= 1e-3 * (1.0 + np.linalg.norm(z[a], axis=1)))
                           & (np.linalg.norm(w - z[b], axis=1) < apart))
    for k in found[:_MP_CHECKS]:
        exact = refine(z[a[k]], w[k])
        if exact is not None and np.linalg.norm(exact - z[a[k]]) >= 1e-3 * (1.0 + np.linalg.norm(z[a[k]])):
            return {"z": z[a[k]].tolist(), "z_prime": exact.tolist(), "x": x[a[k]].tolist()}
    return None


#: |det J| below this fraction of its Hadamard bound (the product of J's row norms) has no reliable sign: the
#: rounding of a determinant grows with that bound (a twist map has det J = 1 and rows of norm 1e5).
FOLD_TOL = 1e-8


def _fold(jacobian: np.ndarray, z: np.ndarray) -> dict[str, Any] | None:
    """Two samples where the square Jacobian's determinant has opposite signs, each clearly away from 0
    (beyond `FOLD_TOL` of its own Hadamard bound), or None. ``x = (z1*z2, z2)`` has det J = z2 and maps the
    line z2 = 0 to one point; the collision probe rarely draws two points of that line."""
    with np.errstate(all="ignore"):
        det = np.linalg.det(jacobian)
        bound = np.prod(np.linalg.norm(jacobian, axis=2), axis=1)
    clear = np.isfinite(det) & np.isfinite(bound) & (np.abs(det) > FOLD_TOL * bound)
    plus, minus = clear & (det > 0), clear & (det < 0)
    if not (plus.any() and minus.any()):
        return None
    a, b = int(np.argmax(np.where(plus, det, -np.inf))), int(np.argmin(np.where(minus, det, np.inf)))
    return {"z_plus": z[a].tolist(), "det_plus": float(det[a]), "z_minus": z[b].tolist(), "det_minus": float(det[b])}


#: Relative steps either side of a root r of det J on a line at which `_exact_fold` compares signs (the first
#: tells the two points apart in a reason's 4 digits; the second is for roots closer than that), and the
#: offset from the line (generic numbers: f is differentiable there almost surely).
_ROOT_STEPS = (1e-3, 1e-6, 1e-1)
_OFF_AXIS = 1e-3
#: At 50 digits a determinant's rounding is near 1e-50 of its Hadamard bound; a sign counts beyond this.
_MP_FOLD_TOL = 1e-30


def _odd_real_roots(poly: sp.Poly) -> list[sp.Rational]:
    """The non-zero real roots of odd multiplicity (where the polynomial changes sign) of a polynomial with
    rational coefficients, ascending, each as the exact midpoint of an isolating interval of relative width
    <= 1e-20; [] for other coefficients. Exact, whatever the size: 1 - 3*10**-700*z**2 has roots near 5.8e349,
    beyond floats.

    >>> z = sp.Symbol("z", real=True)
    >>> [float(r) for r in _odd_real_roots(sp.Poly((z - 2)**2*(z + 3)*z, z))]
    [-3.0]
    """
    domain = poly.get_domain()
    if not (domain.is_ZZ or domain.is_QQ):
        return []
    roots: list[sp.Rational] = []
    for factor, multiplicity in poly.sqf_list()[1]:
        t = factor.gen
        if multiplicity % 2 == 0 or factor.degree() < 1:
            continue
        if factor.eval(0) == 0:  # square-free: 0 is a simple root, left out
            factor = factor.exquo(sp.Poly(t, t, domain=factor.get_domain()))
            if factor.degree() < 1:
                continue
        roots += _positive_roots(factor)
        roots += [-r for r in _positive_roots(factor.compose(sp.Poly(-t, t)))]
    return sorted(roots)


#: The most interval splits `_positive_roots` makes for one polynomial (roots it has not separated by then
#: are left out: they only cost `_exact_fold` a line to look at).
_MAX_SPLITS = 2000


def _positive_roots(factor: sp.Poly) -> list[sp.Rational]:
    """The positive roots of a square-free polynomial with rational coefficients and no root at 0, isolated by
    Sturm's theorem between Cauchy's bounds (splitting at powers of 2 while the bounds are far apart) and
    refined by `_bisected`. sympy's intervals took 77 s on t**8 - 10**300*t**7 + 1 (this takes milliseconds).

    >>> t = sp.Symbol("t")
    >>> [float(r) for r in _positive_roots(sp.Poly((t**2 - 2)*(t - 10**300)*(t + 1), t))]
    [1.4142135623730951, 1e+300]
    """
    coefficients = [abs(sp.Rational(c)) for c in factor.all_coeffs()]
    upper = 1 + max(coefficients[1:]) / coefficients[0]  # every root |r| < upper, and 1 / |r| < 1 / lower
    lower = 1 / (1 + max(coefficients[:-1]) / coefficients[-1])
    sequence = sp.sturm(factor)

    def changes(x: sp.Rational) -> int:
        signs = [v for v in (sp.sign(q.eval(x)) for q in sequence) if v != 0]
        return sum(1 for a, b in zip(signs, signs[1:]) if a != b)

    low, high = sp.Rational(2) ** (_exponent(lower) - 1), sp.Rational(2) ** (_exponent(upper) + 1)
    pending, found, splits = [(low, high, changes(low), changes(high))], [], 0
    while pending:
        a, b, at_a, at_b = pending.pop()
        count = at_a - at_b  # roots in (a, b]
        if count == 1:
            found.append(b if factor.eval(b) == 0 else _bisected(factor, a, b))
        elif count > 1 and splits < _MAX_SPLITS:
            splits += 1
            middle = _middle(a, b)
            at_middle = changes(middle)
            pending += [(a, middle, at_a, at_middle), (middle, b, at_middle, at_b)]
    return sorted(found)


def _middle(a: sp.Rational, b: sp.Rational) -> sp.Rational:
    """A point between 0 < a < b: 2 to the mean of their binary exponents while b > 2a (a few steps cross
    10^±300), else the midpoint."""
    if b > 2 * a:
        middle = sp.Rational(2) ** ((_exponent(a) + _exponent(b)) // 2)
        if a < middle < b:
            return middle
    return (a + b) / 2


def _bisected(factor: sp.Poly, a: sp.Rational, b: sp.Rational) -> sp.Rational:
    """The midpoint of an interval of relative width <= 1e-20 around the one root of the square-free ``factor``
    in (a, b), 0 < a < b, p(b) != 0, by bisection on the exact sign (`_middle`).

    >>> t = sp.Symbol("t")
    >>> float(_bisected(sp.Poly(t**2 - 2, t), sp.Rational(1), sp.Rational(10**40)))
    1.4142135623730951
    """
    sign_b = sp.sign(factor.eval(b))
    while b - a > a / 10**20:
        middle = _middle(a, b)
        sign_middle = sp.sign(factor.eval(middle))
        if sign_middle == 0:
            return middle
        a, b = (a, middle) if sign_middle == sign_b else (middle, b)
    return (a + b) / 2


def _exponent(r: sp.Rational) -> int:
    """About log2(r) of a positive rational (within 1)."""
    return int(r.p).bit_length() - int(r.q).bit_length()


def _in_one_support(scm: SCM, points: Sequence[Sequence[mpmath.mpf]]) -> bool:
    """True when every point (latents in spec order) lies in the support of z in one observed environment,
    checked at 50 digits: ψ_u is a bijection of ℝ^ℓ (SPEC §1, Lemma B.1), so with noise on ℝ every point does;
    on a half-line or an interval, n = ψ_u⁻¹(z), n_i = z_i - g_i(pa_i, u), must lie in the noise support. A
    post-nonlinear latent lives in the image of ḡ, which is not computed here: False."""
    low, high = scm.noise_family.support
    if scm.post_nonlinear:
        return False
    if np.isinf(low) and np.isinf(high):
        return True
    table = scm.environment_table()
    inputs = list(scm.latent_symbols) + list(table)
    mechanisms = mpmath_function(inputs, [scm.mechanism(name) for name in scm.latents])
    if mechanisms is None:
        return False
    with mpmath.workdps(MP_DIGITS):
        for e in range(scm.environments.count):
            environment = [mpmath.mpf(float(v[e])) for v in table.values()]
            try:
                inside = all(low < z - g < high for point in points
                             for z, g in zip(point, mechanisms(*point, *environment)))
            except (TypeError, ValueError, ZeroDivisionError, OverflowError):  # complex or undefined there
                inside = False
            if inside:
                return True
    return False


def _in_support_only(scm: SCM, refine: Callable[[np.ndarray, np.ndarray], np.ndarray | None]
                     ) -> Callable[[np.ndarray, np.ndarray], np.ndarray | None]:
    """``refine``, that also refutes a collision whose z' lies in the support of z of no observed environment
    (`_in_one_support`; checked only for noise on a half-line or an interval and no post-nonlinear latent):
    Gauss-Newton may leave it, and f need be injective only there (z1**3 - 3*z1 under Beta noise, z1 in (0, 1),
    collided at z1' = 1.04)."""
    low, high = scm.noise_family.support
    if scm.post_nonlinear or (np.isinf(low) and np.isinf(high)):
        return refine

    def refine_in_support(z: np.ndarray, w: np.ndarray) -> np.ndarray | None:
        exact = refine(z, w)
        if exact is None or not _in_one_support(scm, [[mpmath.mpf(float(c)) for c in exact]]):
            return None
        return exact

    return refine_in_support


def _plain(value: mpmath.mpf) -> float | str:
    """A float where it holds the value, else the value's 17 digits as text (5.8e349 overflows a float)."""
    number = float(value)
    return number if np.isfinite(number) and (number != 0 or value == 0) else mpmath.nstr(value, 17)


#: The parameter t of a line z = t·v, and the polynomials in it with rational coefficients.
_T = sp.Dummy("t", real=True)
_RATIONAL_POLYNOMIALS = ring([_T], sp.QQ)[0]


def _axes(count: int) -> list[tuple[int, ...]]:
    """Directions of the latents' axes (`fold_scales` restricts switch arguments and det J to them)."""
    return [tuple(int(j == k) for j in range(count)) for k in range(count)]


def _lines(count: int) -> list[tuple[int, ...]]:
    """Directions of the lines through 0 along which `_exact_fold` restricts det J: each latent's axis, then
    the diagonals, vectors of ±1 up to their sign (first entry 1), fewest -1 first (the all-ones diagonal, then
    those with one -1 from the last latent to the second, then two, ...), at most `_MAX_DIAGONALS` of them:
    all 2^(ℓ-1) up to ℓ = 6 latents; of ℓ = 12, the all-ones one, the 11 with one -1 and 20 of the 55 with two.

    >>> _lines(3)
    [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1), (1, 1, -1), (1, -1, 1), (1, -1, -1)]
    >>> lines = _lines(12)
    >>> len(lines), lines[-1]
    (44, (1, 1, 1, 1, 1, 1, 1, 1, -1, -1, 1, 1))
    """
    diagonals = (tuple(-1 if k in flipped else 1 for k in range(count)) for flips in range(count)
                 for flipped in itertools.combinations(range(count - 1, 0, -1), flips))
    return _axes(count) + list(itertools.islice(diagonals, _MAX_DIAGONALS if count > 1 else 0))


def _line_polynomials(expr: sp.Expr, symbols: Sequence[sp.Symbol], directions: Sequence[tuple[int, ...]]
                      ) -> list[tuple[tuple[int, ...], sp.Poly]]:
    """(v, expr at z = t·v as a polynomial in t) for each direction v along which expr is a polynomial of
    degree 1 to `_MAX_DEGREE` with numeric coefficients.

    >>> z1, z2 = sp.symbols("z1 z2", real=True)
    >>> [(v, p.all_coeffs()) for v, p in _line_polynomials(z1**2*z2 + z2 - 2 + sp.exp(z1), [z1, z2], _axes(2))]
    [((0, 1), [1, -1])]
    """
    found = []
    for v in directions:
        along = _restricted(expr, _on_line(symbols, v))
        if along is not None:
            try:
                poly = sp.Poly(along, _T)
            except sp.PolynomialError:
                continue
            if _solvable(poly):
                found.append((v, poly))
    return found


def _on_line(symbols: Sequence[sp.Symbol], direction: tuple[int, ...]) -> dict[sp.Basic, sp.Basic]:
    """The substitution z = t·v (`_T`), the memo that `_restricted` starts from."""
    return {z: c * _T for z, c in zip(symbols, direction)}


def _restricted(expr: sp.Expr, memo: dict[sp.Basic, sp.Basic]) -> sp.Expr | None:
    """expr at z = t·v, where that is a polynomial in t (`_T`), else None. ``memo`` starts as `_on_line`'s
    substitution and keeps each subexpression's restriction: the entries of a Jacobian share most of theirs
    (two tanh layers of 8 latents: 0.16 s a line with sympy's xreplace, which redoes each, 0.03 s so)."""
    if expr.has(sp.Derivative):  # unevaluated (floor's): no polynomial, and setting its variable raises
        return None
    along = _substituted(expr, memo)
    # structural, where Poly expands first (seconds on an MLP's det J)
    return along if along.is_polynomial(_T) else None


#: Functions whose value at an argument that varies along the line sympy turns into a polynomial only through an
#: inverse function in it (tanh(atanh(t)), exp(2*log(t))): `_substituted` leaves them unevaluated there, where
#: that holds none (sympy's tanh(a) asks its assumptions about a: the 40 lines of two tanh layers of 8 latents
#: took 2.7 s, 0.5 s so).
_ANALYTIC = (sp.exp, sp.sin, sp.cos, sp.tan, sp.sinh, sp.cosh, sp.tanh)
_INVERSES = (sp.log, sp.asin, sp.acos, sp.atan, sp.asinh, sp.acosh, sp.atanh)


def _substituted(expr: sp.Basic, memo: dict[sp.Basic, sp.Basic]) -> sp.Basic:
    """expr with its subexpressions replaced as ``memo`` says, rebuilt as xreplace does (an `_ANALYTIC`
    function of t unevaluated), each new one kept."""
    done = memo.get(expr)
    if done is None:
        args = [_substituted(a, memo) for a in expr.args]
        if all(a is b for a, b in zip(args, expr.args)):
            done = expr
        elif isinstance(expr, _ANALYTIC) and args[0].has(_T) and not args[0].has(*_INVERSES):
            done = expr.func(*args, evaluate=False)
        else:
            done = expr.func(*args)
        memo[expr] = done
    return done


def _solvable(poly: sp.Poly) -> bool:
    """Whether `_exact_fold` and `fold_scales` solve the polynomial: numeric coefficients, degree 1 to
    `_MAX_DEGREE`."""
    return 1 <= poly.degree() <= _MAX_DEGREE and all(c.is_number for c in poly.coeffs())


def _line_determinants(exprs: Sequence[sp.Expr], symbols: Sequence[sp.Symbol], directions: Sequence[tuple[int, ...]]
                       ) -> list[tuple[tuple[int, ...], sp.Poly]]:
    """(v, det J at z = t·v as a polynomial in t) for each direction v along which that is a polynomial of degree
    1 to `_MAX_DEGREE` with numeric coefficients (`_line_determinant`); nothing for a non-square f.

    >>> z1, z2 = sp.symbols("z1 z2", real=True)
    >>> f = [z1 - z1**3, z2 + sp.tanh(z1) + sp.tanh(z2)]  # det J = (1 - 3 z1²)(2 - tanh(z2)²)
    >>> [(v, p.all_coeffs()) for v, p in _line_determinants(f, [z1, z2], _lines(2))]
    [((1, 0), [-6, 0, 2])]
    """
    if len(exprs) != len(symbols):
        return []
    found = [(v, _line_determinant(tuple(exprs), tuple(symbols), v)) for v in directions]
    return [(v, poly) for v, poly in found if poly is not None and _solvable(poly)]


@lru_cache(maxsize=1024)
def _line_determinant(exprs: tuple[sp.Expr, ...], symbols: tuple[sp.Symbol, ...], direction: tuple[int, ...]
                      ) -> sp.Poly | None:
    """det J at z = t·v as a polynomial in t, or None where it may not be one or its degree passes `_MAX_DEGREE`
    (`_polynomial_determinant`). J's entries are restricted to the line first, and the determinant is taken of
    that matrix of polynomials in t: for x = z + z**3/10 + A z with a dense A, sympy's det J and its restriction
    to the 40 lines of 8 latents took 7 s, and more than 5 minutes for the 44 of 12, these 0.07 s and 0.23 s.
    An entry that is not a polynomial on the line (a tanh, a Heaviside's DiracDelta) is left out when it takes
    part in no term of the determinant (no perfect matching of the non-zero entries passes through it: f = (z1 -
    z1**3, z2 + tanh(z1)) has det J = 1 - 3 z1²), else the line is: a determinant that is a polynomial only
    where such entries cancel is not seen."""
    entries, matching = _nonzero_entries(exprs, symbols)
    if matching is None:  # det J = 0 by J's zeros alone
        return None
    memo, jacobian = _on_line(symbols, direction), dict(entries)
    # first the entries of one term of det J: where all are non-zero on the line and one is no polynomial, the
    # line is done without restricting the others
    term = [_restricted(jacobian[i, j], memo) for i, j in enumerate(matching)]
    if None in term and all(e is None or e != 0 for e in term):
        return None
    along = {ij: _restricted(e, memo) for ij, e in entries}
    nonzero = np.zeros((len(symbols), len(symbols)), dtype=bool)
    for ij, e in along.items():
        nonzero[ij] = e is None or e != 0
    for (i, j), e in along.items():
        if e is None and _matching(np.delete(np.delete(nonzero, i, axis=0), j, axis=1)) is not None:
            return None
    return _polynomial_determinant({ij: e for ij, e in along.items() if e is not None and e != 0}, len(symbols))


@lru_cache(maxsize=64)
def _nonzero_entries(exprs: tuple[sp.Expr, ...], symbols: tuple[sp.Symbol, ...]
                     ) -> tuple[tuple[tuple[tuple[int, int], sp.Expr], ...], list[int] | None]:
    """J's non-zero entries ((row, column), entry), and a perfect matching of them (`_matching`) or None."""
    rows = _jacobian(exprs, symbols).tolist()
    entries = tuple(((i, j), e) for i, row in enumerate(rows) for j, e in enumerate(row) if e != 0)
    pattern = np.zeros((len(rows), len(symbols)), dtype=bool)
    for ij, _ in entries:
        pattern[ij] = True
    return entries, _matching(pattern)


def _matching(pattern: np.ndarray) -> list[int] | None:
    """A perfect matching of the square 0/1 pattern, row i to column matching[i] (a term of its determinant
    that is not 0 by the pattern alone), or None; the empty pattern has one."""
    if not pattern.size:
        return []
    matched = scipy.sparse.csgraph.maximum_bipartite_matching(scipy.sparse.csr_matrix(pattern), perm_type="column")
    return matched.tolist() if np.all(matched >= 0) else None


def _polynomial_determinant(entries: dict[tuple[int, int], sp.Expr], n: int) -> sp.Poly | None:
    """The determinant of the n x n matrix of polynomials in t (`_T`) with these non-zero entries, as a
    polynomial in t, or None where its degree passes `_MAX_DEGREE` or may (its bound D passes
    `_MAX_DEGREE_BOUND`). With rational coefficients (a spec's numbers are rationals): D, the smaller of the sums
    of the rows' and of the columns' degrees, bounds the degree, which is D where the matrix of the entries of top
    degree in each row (or column) is regular; else the determinant's values at t = 0, 1, ..., D
    (`_sparse_determinant`) are interpolated (`_interpolated`). sympy's fraction-free det over QQ[t] took 0.3 s a
    line for 12 latents and a coefficient 1e-300, this 10 ms. With other coefficients (pi), sympy's det.

    >>> t = _T
    >>> _polynomial_determinant({(0, 0): 1 - t**2/3, (0, 1): t, (1, 0): t**3, (1, 1): sp.Integer(2)}, 2).all_coeffs()
    [-1, 0, -2/3, 0, 2]
    >>> _polynomial_determinant({(k, k): 1 + t**2 for k in range(5)}, 5) is None  # degree 10
    True
    """
    try:
        dense = {ij: _RATIONAL_POLYNOMIALS.from_expr(e).to_dense() for ij, e in entries.items()}
    except ValueError:  # a coefficient that is no rational number
        matrix = DomainMatrix.from_list_sympy(n, n, [[entries.get((i, j), 0) for j in range(n)] for i in range(n)])
        return sp.Poly(matrix.domain.to_sympy(matrix.det()), _T)
    coefficients = {ij: [Fraction(c.numerator, c.denominator) for c in reversed(d)] for ij, d in dense.items()}
    rows, columns = [0] * n, [0] * n
    for (i, j), c in coefficients.items():
        rows[i], columns[j] = max(rows[i], len(c) - 1), max(columns[j], len(c) - 1)
    degrees, axis = (rows, 0) if sum(rows) <= sum(columns) else (columns, 1)
    top: list[dict[int, Fraction]] = [{} for _ in range(n)]
    for (i, j), c in coefficients.items():
        if len(c) - 1 == degrees[(i, j)[axis]]:
            top[i][j] = c[-1]
    if sum(degrees) > _MAX_DEGREE and (sum(degrees) > _MAX_DEGREE_BOUND or _sparse_determinant(top)):
        return None  # _sparse_determinant(top) is the coefficient of t^D
    values = []
    for x in range(sum(degrees) + 1):
        at: list[dict[int, Fraction]] = [{} for _ in range(n)]
        for (i, j), c in coefficients.items():
            value = reduce(lambda v, a: v * x + a, reversed(c))  # Horner
            if value:
                at[i][j] = value
        values.append(_sparse_determinant(at))
    return sp.Poly([sp.Rational(c.numerator, c.denominator) for c in reversed(_interpolated(values))], _T)


def _sparse_determinant(rows: list[dict[int, Fraction]]) -> Fraction:
    """The determinant of a square matrix given by its rows' non-zero entries ({column: value}), exactly, by
    Gaussian elimination that takes column after column and, as pivot, the sparsest row non-zero there: a
    triangular or banded J (a chain of latents) fills in little, where Bareiss's fraction-free form updates
    every entry at every step.

    >>> _sparse_determinant([{1: Fraction(2), 2: Fraction(1)}, {0: Fraction(3), 1: Fraction(1)}, {0: Fraction(1),
    ...                      1: Fraction(1), 2: Fraction(1)}])
    Fraction(-4, 1)
    """
    rows, remaining, det = [dict(row) for row in rows], list(range(len(rows))), Fraction(1)
    for k in range(len(rows)):
        candidates = [i for i in remaining if k in rows[i]]
        if not candidates:
            return Fraction(0)
        p = min(candidates, key=lambda i: len(rows[i]))
        # row p moves to the front of the rows left: as many transpositions as rows it passes
        det *= rows[p][k] if remaining.index(p) % 2 == 0 else -rows[p][k]
        remaining.remove(p)
        for i in candidates:
            if i != p:
                factor = rows[i].pop(k) / rows[p][k]
                for j, v in rows[p].items():
                    if j != k:
                        rows[i][j] = rows[i].get(j, 0) - factor * v
                        if not rows[i][j]:
                            del rows[i][j]
    return det


def _interpolated(values: Sequence[Fraction]) -> list[Fraction]:
    """The coefficients (lowest degree first) of the polynomial p of degree < len(values) with p(x) = values[x]
    at x = 0, 1, ... (Newton's forward differences: p(t) = sum of Δ^k p(0) · t(t-1)...(t-k+1)/k!).

    >>> _interpolated([Fraction(1), Fraction(2), Fraction(5), Fraction(10)])  # 1 + t**2
    [Fraction(1, 1), Fraction(0, 1), Fraction(1, 1), Fraction(0, 1)]
    """
    differences, coefficients, falling = list(values), [Fraction(0)] * len(values), [Fraction(1)]
    for k in range(len(values)):
        for j, c in enumerate(falling):
            coefficients[j] += differences[0] * c
        differences = [b - a for a, b in zip(differences, differences[1:])]
        # t(t-1)...(t-k)/(k+1)! from t(t-1)...(t-k+1)/k!: times (t - k)/(k + 1)
        falling = [(lower - k * c) / (k + 1) for c, lower in zip([*falling, Fraction(0)], [Fraction(0), *falling])]
    return coefficients
def _exact_fold(scm: SCM) -> dict[str, Any] | None:
    """A fold beside a root of det J on a line through 0, decided at 50 digits, or None. For a square f, det J
    is restricted to z = t·v along each latent's axis and `_MAX_DIAGONALS` diagonals at most (`_lines`,
    `_line_determinant`); where that is a polynomial in t with rational coefficients, each real root r of odd
    multiplicity (isolated exactly, any size) gives two points r(1 ± δ)·v, moved off the line by a small
    generic offset (`_OFF_AXIS`, so that f is differentiable there). Where det J has opposite signs at them
    (beyond `_MP_FOLD_TOL` of its Hadamard bound), f and J are finite, and both lie in the support of z of one
    environment, f folds (`_fold`'s argument). The float probe cannot reach a root where f overflows (z1 -
    1e-300*z1**3 folds at 5.8e149, where z1**3 is beyond floats) or that is beyond floats itself (1e-700),
    nor a fold whose det J vanishes only far off the axes (a circle around (300, 300)).

    >>> from identcheck import from_dict, load_example
    >>> spec = load_example("C17").spec | {"mixing": {"kind": "expression", "x": ["z1 - 1e-300*z1**3", "z2"]}}
    >>> _exact_fold(from_dict(spec))["root"]
    {'direction': [1, 0], 'at': -5.773502691896258e+149, 'latent': 'z1'}
    """
    exprs, symbols = tuple(scm.mixing.expressions), tuple(scm.latent_symbols)
    roots = [(v, root) for v, poly in _line_determinants(exprs, symbols, _lines(len(symbols)))
             for root in _odd_real_roots(poly)]
    if not roots:
        return None
    evaluate = mpmath_function(list(symbols), [list(exprs), _jacobian(exprs, symbols).tolist()])
    if evaluate is None:
        return None
    with mpmath.workdps(MP_DIGITS):
        generic = [(-1) ** k * _OFF_AXIS * mpmath.sqrt(k + 2) for k in range(len(symbols))]  # irrational
        for v, root in roots:
            # the offset with its component along v taken out: off the line, and for an axis 0 on the axis
            along = mpmath.fsum(o * c for o, c in zip(generic, v)) / sum(c * c for c in v)
            offset = [o - along * c for o, c in zip(generic, v)]
            at = mpmath.mpf(sp.Float(root, MP_DIGITS + 10)._mpf_)
            for step in _ROOT_STEPS:
                points = [[at * (1 + side * step) * c + o for c, o in zip(v, offset)] for side in (1, -1)]
                first, second = (_clear_determinant(evaluate, p) for p in points)
                if first is None or second is None or first * second >= 0:
                    continue
                if not _in_one_support(scm, points):
                    break  # this root's sides are not both data; another root may be
                dets = [first, second]
                plus, minus = (0, 1) if first > 0 else (1, 0)
                line = {"direction": list(v), "at": _plain(at)}
                if sum(map(abs, v)) == 1:
                    line["latent"] = str(symbols[v.index(1)])
                return {"z_plus": [_plain(c) for c in points[plus]], "det_plus": _plain(dets[plus]),
                        "z_minus": [_plain(c) for c in points[minus]], "det_minus": _plain(dets[minus]),
                        "root": line, "digits": MP_DIGITS}
    return None


def _clear_determinant(evaluate: Callable[..., Any], point: Sequence[mpmath.mpf]) -> mpmath.mpf | None:
    """det J at the point (50 digits, `_mp_determinant` of J with its rows scaled to norm 1) when f and J are
    finite and real there and |det J| is beyond `_MP_FOLD_TOL` of its Hadamard bound (the product of the row
    norms), else None."""
    try:
        values, rows = evaluate(*point)
        if any(isinstance(v, mpmath.mpc) or not mpmath.isfinite(v)  # constants are ints
               for v in [*values, *(v for row in rows for v in row)]):
            return None
        norms = [mpmath.sqrt(mpmath.fsum(mpmath.mpf(v)**2 for v in row)) for row in rows]
        if not all(norms):
            return None
        scaled = _mp_determinant([[v / norm for v in row] for row, norm in zip(rows, norms)])
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return scaled * mpmath.fprod(norms) if abs(scaled) > _MP_FOLD_TOL else None


def _mp_determinant(rows: list[list[mpmath.mpf]]) -> mpmath.mpf:
    """The determinant at the working precision, by Gaussian elimination with partial pivoting (mpmath's det
    took 16 ms for 12 latents, in its matrix class).

    >>> _mp_determinant([[mpmath.mpf(0), mpmath.mpf(2)], [mpmath.mpf(3), mpmath.mpf(1)]])
    mpf('-6.0')
    """
    a, det = [list(row) for row in rows], mpmath.mpf(1)
    for k in range(len(a)):
        pivot = max(range(k, len(a)), key=lambda i: abs(a[i][k]))
        if a[pivot][k] == 0:
            return mpmath.mpf(0)
        if pivot != k:
            a[k], a[pivot], det = a[pivot], a[k], -det
        det *= a[k][k]
        for i in range(k + 1, len(a)):
            factor = a[i][k] / a[k][k]
            a[i] = [*a[i][:k + 1], *(x - factor * y for x, y in zip(a[i][k + 1:], a[k][k + 1:]))]
    return det


def _point(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


def _folded(fold: dict[str, Any], details: dict[str, Any]) -> AssumptionResult:
    """The "fails" result of a fold: det J of opposite signs at two points of the support (`_fold`,
    `_exact_fold`)."""
    def number(v: float | str) -> str:
        return f"{v:.3g}" if isinstance(v, float) else mpmath.nstr(mpmath.mpf(v), 3)

    def point(values: Sequence[float | str]) -> str:
        return "(" + ", ".join(f"{v:.4g}" if isinstance(v, float) else mpmath.nstr(mpmath.mpf(v), 4)
                               for v in values) + ")"

    where = ""
    if "root" in fold:
        root = fold["root"]
        line = (f"the root {root['latent']} = {number(root['at'])} of det J along the {root['latent']} axis"
                if "latent" in root else f"the root t = {number(root['at'])} of det J along the line z = t·"
                f"({', '.join(map(str, root['direction']))})")
        where = f" (found at {fold['digits']} digits either side of {line})"
    return AssumptionResult("fails", f"f is not injective: det J(z) = {number(fold['det_plus'])} at z = "
                            f"{point(fold['z_plus'])} but {number(fold['det_minus'])} at z = "
                            f"{point(fold['z_minus'])}{where}; a continuous injective map of the (connected) "
                            f"support keeps one sign of det J wherever it is non-zero (its local degree), so "
                            f"f folds between them", details)


def _expression_probe(scm: SCM, samples: int, scales: tuple[float, ...], seed: int) -> AssumptionResult:
    exprs, symbols = scm.mixing.expressions, scm.latent_symbols
    f = _vectorised(symbols, exprs)
    jac_flat = _vectorised(symbols, list(_jacobian(tuple(exprs), tuple(symbols))))
    shape = (len(exprs), len(symbols))

    def jac(z: np.ndarray) -> np.ndarray:
        return jac_flat(z).reshape(len(z), *shape)

    scales = scales + fold_scales(exprs, symbols, scales)
    z = _latent_samples(scm, np.random.default_rng(seed), samples, scales)
    x, jacobian = f(z), jac(z)
    details: dict[str, Any] = {"method": "probe", "samples": len(z), "scales": list(scales), "seed": seed}
    undefined = ~(np.all(np.isfinite(x), axis=1) & np.all(np.isfinite(jacobian), axis=(1, 2)))
    if np.any(undefined):
        exact = _exact_fold(scm)  # beyond floats the probe sees nothing; a fold decided at 50 digits still does
        if exact is not None:
            return _folded(exact, details | {"fold": exact})
        at = z[np.argmax(undefined)]
        details["undefined_at"] = at.tolist()
        return AssumptionResult("unknown", f"f or its Jacobian is not finite at z = {_point(at)} in the support "
                                           "of z, so injectivity cannot be probed", details)
    ratios = _rank_ratios(jacobian)
    worst = int(np.argmin(ratios))
    details.update(jacobian_min_ratio=float(ratios[worst]), jacobian_min_ratio_at=z[worst].tolist())
    smooth = not any(e.has(*_NOT_SMOOTH) for e in exprs)
    details["c2"] = smooth
    caveat = "" if smooth else "; caveat: f contains a non-smooth function (Abs, Max, ...), so (ii+) may fail"
    jacobian_text = f"min σ_min/σ_max of the Jacobian over the samples = {ratios[worst]:.2g}"
    with np.errstate(all="ignore"):  # huge x overflow norms; such pairs are dropped inside
        witness = _collision(f, jac, z, x, _in_support_only(scm, _mp_refiner(symbols, exprs)))
    details["collision"] = witness
    if witness is not None:
        return AssumptionResult("fails", f"f is not injective: f(z) = f(z') = {_point(witness['x'])} at "
                                f"z = {_point(witness['z'])} and z' = {_point(witness['z_prime'])} (collision "
                                f"probe: KD-tree neighbours refined by Gauss-Newton); the Jacobian probe alone "
                                f"only shows {jacobian_text}", details)
    folded = _fold(jacobian, z) if shape[0] == shape[1] else None
    if folded is None and shape[0] == shape[1]:
        folded = _exact_fold(scm)
    details["fold"] = folded
    if folded is not None:
        return _folded(folded, details)
    if ratios[worst] < RANK_RATIO_TOL:
        # not a failure: an injective map can approach singularity (exp(z1) as z1 -> -inf); collisions decide
        caveat += (f"; warning: the Jacobian is numerically rank-deficient at z = {_point(z[worst])}, so (ii+) "
                   "may fail there")
    return AssumptionResult("holds", f"probe (evidence, not a proof): no collision f(z) = f(z') among {len(z)} "
                            f"samples of z at noise scales {', '.join(f'{s:g}' for s in scales)}; Jacobian "
                            f"probe: {jacobian_text}{caveat}", details)
