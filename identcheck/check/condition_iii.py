"""Assumption (iii), sufficient variability of the noise (SPEC §2 (iii), §5 "Checking (iii)").

(iii) holds iff the stacked natural parameters eta(u_m) of the observed environments are affinely spanning:
rank [eta(u_m) - eta(u_b)]_m = 2ℓ. The certificate is 2ℓ+1 environments whose square matrix
L = [eta(u_k) - eta(u_b)]_k is invertible, picked by pivoted QR to keep cond(L) small.

>>> from identcheck import load_example
>>> result = check_noise_variability(load_example("C1"))
>>> result.status, result.details["rank"], result.details["required"]
('holds', 4, 4)
>>> check_noise_variability(load_example("C15b")).details["null_directions"]
['the std of z1 and z2 is constant across environments (only the mean changes)']
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence, cast

import numpy as np
import scipy.linalg
import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix
from sympy.printing.pycode import SymPyPrinter

from ..families import LatentFamily
from ..scm import SCM
from ..spec.expressions import numeric_function
from .results import AssumptionResult

__all__ = [
    "RankCertificate",
    "natural_parameter_table",
    "exact_natural_parameter_table",
    "distinct_rows",
    "affine_rank",
    "exact_affine_rank",
    "rank_certificate",
    "check_noise_variability",
]

#: Relative rank tolerance for natural parameters computed from given tables or formulas (SPEC §5).
DEFAULT_RTOL = 1e-9
#: cond(L) above this is reported as numerically fragile (SPEC §5).
ILL_CONDITIONED = 1e6
#: Exact rational arithmetic is used only while it is cheap.
_EXACT_MAX_COLUMNS = 12
_EXACT_MAX_ENVIRONMENTS = 256
#: Candidate bases: every environment while M * (2ℓ)^2 * M stays under this many flops, else a handful.
_ALL_BASES_BUDGET = 5e7
_HANDFUL = 8


@dataclass(frozen=True)
class RankCertificate:
    """A witness of (iii): base row `base` and rows `columns` of the table whose differences form the square L.

    `condition_number` is cond(L) in the units of eta; `condition_number_normalized` is cond(L) after scaling
    every row of L to unit length (the eta entries have different units, SPEC §5).
    """

    base: int
    columns: tuple[int, ...]
    condition_number: float
    condition_number_normalized: float

    @property
    def rows(self) -> tuple[int, ...]:
        """The 2ℓ+1 table rows of the certificate, base first."""
        return (self.base, *self.columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the certificate."""
        return {"base": self.base, "columns": list(self.columns), "condition_number": self.condition_number,
                "condition_number_normalized": self.condition_number_normalized}

    def __str__(self) -> str:
        return (f"base row {self.base}, rows {list(self.columns)}: cond(L) = {self.condition_number:.3g} "
                f"({self.condition_number_normalized:.3g} with normalised rows)")


# -- the table of natural parameters ---------------------------------------------------------------------


def _arguments(scm: SCM) -> tuple[list[sp.Symbol], list[np.ndarray]]:
    """The environment and parameter symbols with their per-environment values, in one fixed order."""
    table = scm.environment_table()
    symbols = list(table)
    return symbols, [np.asarray(table[s], dtype=float) for s in symbols]


def _parameter_values(scm: SCM) -> dict[str, dict[str, np.ndarray]]:
    """Every latent's user-facing noise parameters in every environment (one vectorised evaluation)."""
    symbols, values = _arguments(scm)
    keys = [(latent, p) for latent in scm.latents for p in scm.noise_family.params]
    fn = numeric_function(symbols, [scm.noise_params[latent][p] for latent, p in keys])
    count = scm.environments.count
    out: dict[str, dict[str, np.ndarray]] = {latent: {} for latent in scm.latents}
    for (latent, p), column in zip(keys, fn(*values)):
        out[latent][p] = np.broadcast_to(np.asarray(column, dtype=float), (count,))
    return out


def natural_parameter_table(scm: SCM) -> np.ndarray:
    """The (M, 2ℓ) table of stacked natural parameters eta(u_m), component-major (eta_11, eta_12, eta_21, ...).

    >>> from identcheck import load_example
    >>> natural_parameter_table(load_example("C1")).shape
    (5, 4)
    """
    return _natural_from_values(scm.noise_family, _parameter_values(scm), scm.latents)


def _natural_from_values(family: LatentFamily, values: dict[str, dict[str, np.ndarray]],
                         latents: Sequence[str]) -> np.ndarray:
    return np.column_stack([np.asarray(eta, dtype=float) for latent in latents
                            for eta in family.natural(values[latent])])


class _ExactPrinter(SymPyPrinter):
    """Prints rationals as `Fraction(p, q)`, so a lambdified rational function stays exact."""

    def _print_Rational(self, expr: sp.Rational) -> str:
        return f"Fraction({expr.p}, {expr.q})"

    _print_Half = _print_Rational


def _exactly_rational(expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> bool:
    """Whether `expr` is built from the symbols and rational numbers by +, -, *, / and integer powers only
    (so it evaluates exactly in Fractions; sqrt(2), E or cos(1) are constant but not rational)."""
    return (expr.is_rational_function(*symbols) and not expr.atoms(sp.Function, sp.NumberSymbol, sp.Float)
            and all(power.exp.is_Integer for power in expr.atoms(sp.Pow)))


def exact_natural_parameter_table(scm: SCM) -> list[list[Fraction]] | None:
    """The natural-parameter table in exact rationals, or None when some eta is not a rational function of
    u and the parameters (then only the numeric path applies). Numbers of the spec are read as the decimals
    written there (0.3 -> 3/10).

    >>> from identcheck import load_example
    >>> table = exact_natural_parameter_table(load_example("C12a"))
    >>> table[0][1] == -1 / (2 * Fraction("0.738667") ** 2)  # eta_12 = -1/(2 std^2) of z1 in segment 0
    True
    >>> exact_natural_parameter_table(load_example("C1")) is None
    True
    """
    symbols, values = _arguments(scm)
    family = scm.noise_family
    etas = [eta for latent in scm.latents for eta in family.natural(scm.noise_params[latent])]
    if not all(_exactly_rational(sp.sympify(eta), symbols) for eta in etas):
        return None
    fn = sp.lambdify(symbols, etas, modules=[{"Fraction": Fraction}], printer=_ExactPrinter)
    exact_args = [np.array([Fraction(str(float(v))) for v in column], dtype=object) for column in values]
    count = scm.environments.count
    columns = [np.broadcast_to(np.asarray(c, dtype=object), (count,)) for c in fn(*exact_args)]
    return [[Fraction(columns[j][m]) for j in range(len(columns))] for m in range(count)]


# -- rank and certificate ---------------------------------------------------------------------------------


def _scaled(table: np.ndarray) -> np.ndarray:
    """Divide each natural parameter by its largest magnitude, so tolerances are relative per parameter."""
    scale = np.max(np.abs(table), axis=0)
    return table / np.where(scale > 0, scale, 1.0)


def distinct_rows(table: np.ndarray, rtol: float = 1e-12) -> np.ndarray:
    """Indices of the first occurrence of every distinct row (equal within `rtol` relative per column), in
    order: identical eta vectors count as one environment (SPEC §5).

    >>> distinct_rows(np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]])).tolist()
    [0, 1]
    """
    keys = np.round(_scaled(np.asarray(table, dtype=float)) / rtol).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    return np.sort(first)


def _rank(matrix: np.ndarray, rtol: float) -> int:
    # the entries are scaled to magnitude <= 1, so the threshold is relative to max(sigma_max, 1)
    if matrix.size == 0:
        return 0
    sigma = np.linalg.svd(matrix, compute_uv=False)
    return int(np.sum(sigma > rtol * max(float(sigma[0]), 1.0)))


def _differences(table: np.ndarray, base: int = 0) -> np.ndarray:
    """H_b = [eta(u_m) - eta(u_b)]_{m != b}, shape (2ℓ, M-1)."""
    return (np.delete(table, base, axis=0) - table[base]).T


def affine_rank(table: np.ndarray, rtol: float = DEFAULT_RTOL) -> int:
    """rank [eta(u_m) - eta(u_0)]_m, each natural parameter scaled by its magnitude first and singular values
    below `rtol` (relative) counted as zero. (iii) holds iff this equals 2ℓ.

    >>> affine_rank(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    2
    >>> affine_rank(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]))
    1
    """
    return _rank(_differences(_scaled(np.asarray(table, dtype=float))), rtol)


def exact_affine_rank(table: Sequence[Sequence[Fraction]]) -> int:
    """rank [eta(u_m) - eta(u_0)]_m in exact rational arithmetic.

    >>> exact_affine_rank([[Fraction(0), Fraction(0)], [Fraction(1, 3), Fraction(2, 3)], [Fraction(1), Fraction(2)]])
    1
    """
    base = table[0]
    rows = [[QQ(x.numerator, x.denominator) - QQ(b.numerator, b.denominator) for x, b in zip(row, base)]
            for row in table[1:]]
    if not rows:
        return 0
    return DomainMatrix(rows, (len(rows), len(base)), QQ).rank()


def _candidate_bases(table: np.ndarray) -> np.ndarray:
    """All rows while cheap; otherwise the handful nearest the centroid (in per-parameter scaled units),
    which in experiments gave the best-conditioned certificates of the cheap heuristics."""
    count, width = table.shape
    if count * width**2 * count <= _ALL_BASES_BUDGET:
        return np.arange(count)
    scaled = _scaled(table)
    distance = np.linalg.norm(scaled - scaled.mean(axis=0), axis=1)
    return np.sort(np.argsort(distance, kind="stable")[:_HANDFUL])


def _certificate_at(table: np.ndarray, base: int) -> tuple[float, int, np.ndarray, np.ndarray]:
    """cond(L), the base, the chosen rows and L for one base."""
    differences = _differences(table, base)
    others = np.delete(np.arange(len(table)), base)
    # pivoted QR picks the 2ℓ most independent difference columns greedily (SPEC §5)
    _, _, pivots = scipy.linalg.qr(differences, mode="economic", pivoting=True)
    chosen = np.sort(pivots[: table.shape[1]])  # column order does not change cond(L); keep the spec's order
    square = differences[:, chosen]
    return float(np.linalg.cond(square)), int(base), others[chosen], square


def rank_certificate(table: np.ndarray, bases: Sequence[int] | None = None) -> RankCertificate:
    """The best-conditioned square L found: for each candidate base (all rows while cheap, else a handful;
    or the given `bases`), pivoted QR chooses 2ℓ difference columns; the smallest cond(L) wins. Needs at
    least 2ℓ+1 rows; the result is meaningful only when the affine rank is 2ℓ.

    >>> from identcheck import load_example
    >>> table = natural_parameter_table(load_example("C1"))
    >>> round(rank_certificate(table, bases=[0]).condition_number, 1)
    19.2
    >>> print(rank_certificate(table))
    base row 3, rows [0, 1, 2, 4]: cond(L) = 17.3 (10.2 with normalised rows)
    """
    table = np.asarray(table, dtype=float)
    candidates = _candidate_bases(table) if bases is None else bases
    cond, base, columns, square = min((_certificate_at(table, b) for b in candidates), key=lambda c: c[0])
    norms = np.linalg.norm(square, axis=1, keepdims=True)
    normalised = float(np.linalg.cond(square / np.where(norms > 0, norms, 1.0)))
    return RankCertificate(base, tuple(int(k) for k in columns), cond, normalised)


# -- explaining a failure ----------------------------------------------------------------------------------

#: Pairwise component tests run batched while the stacked (pairs, 4, M-1) array stays this small.
_PAIR_BUDGET = 2e7
_LISTED = 5


def _dependence(family: LatentFamily) -> list[tuple[str, ...]]:
    """For each natural parameter of the family, the user-facing parameters it depends on."""
    symbols = {p: sp.Symbol(p, positive=True) for p in family.params}
    return [tuple(p for p in family.params if symbols[p] in sp.sympify(eta).free_symbols)
            for eta in family.natural(symbols)]


def _names(latents: Sequence[str]) -> str:
    return latents[0] if len(latents) == 1 else ", ".join(latents[:-1]) + " and " + latents[-1]


def _constant(values: np.ndarray) -> bool:
    return bool(np.ptp(values) <= 1e-12 * max(float(np.max(np.abs(values))), 1e-300))


def _batched_rank(stack: np.ndarray, rtol: float) -> np.ndarray:
    sigma = np.linalg.svd(stack, compute_uv=False)
    return np.sum(sigma > rtol * np.maximum(sigma[..., :1], 1.0), axis=-1)


def _constant_parameters(scm: SCM, params: dict[str, dict[str, np.ndarray]], flat: np.ndarray) -> list[str]:
    """Natural parameters that do not move: e.g. a constant std (mean-only modulation, cf. iVAE Prop. 1)."""
    family, depends, findings = scm.noise_family, _dependence(scm.noise_family), []
    for j in range(2):
        stuck = [z for i, z in enumerate(scm.latents) if flat[2 * i + j]]
        if not stuck:
            continue
        if len(depends[j]) == 1:
            moving = [p for p in family.params if p != depends[j][0]
                      and not all(_constant(params[z][p]) for z in stuck)]
            what, note = f"the {depends[j][0]}", f" (only the {moving[0]} changes)" if moving else ""
        else:
            what, note = f"the natural parameter η_{j + 1} (a function of {' and '.join(depends[j])})", ""
        findings.append(f"{what} of {_names(stuck)} is constant across environments{note}")
    return findings


def _self_related(scm: SCM, params: dict[str, dict[str, np.ndarray]], differences: np.ndarray,
                  components: list[int], rtol: float) -> tuple[list[int], list[str]]:
    """Components whose two natural parameters are affinely related (Gaussian: e.g. a constant mean)."""
    if not components:
        return [], []
    rows = np.array([[2 * i, 2 * i + 1] for i in components])
    ranks = _batched_rank(differences[rows], rtol)
    related = [i for i, r in zip(components, ranks) if r < min(2, differences.shape[1])]
    location = scm.noise_family.location_param
    fixed = [scm.latents[i] for i in related if location and _constant(params[scm.latents[i]][location])]
    moving = [scm.latents[i] for i in related if scm.latents[i] not in fixed]
    findings = [f"the two natural parameters of {_names(group)} are affinely related{note}"
                for group, note in ((fixed, f" (constant {location})"), (moving, "")) if group]
    return related, findings


def _pair_relations(latents: Sequence[str], differences: np.ndarray, components: list[int],
                    rtol: float) -> list[str]:
    """Groups of components with identical trajectories, then pairs whose four parameters are affinely related."""
    keys: dict[bytes, list[int]] = {}
    for i in components:
        keys.setdefault(np.round(differences[2 * i: 2 * i + 2] / rtol).tobytes(), []).append(i)
    findings = [f"{_names([latents[i] for i in group])} have identical parameter trajectories"
                for group in keys.values() if len(group) > 1]
    representatives = [group[0] for group in keys.values()]
    first, second = np.triu_indices(len(representatives), 1)
    columns = differences.shape[1]
    if not len(first) or len(first) * 4 * columns > _PAIR_BUDGET:
        return findings
    reps = np.array(representatives)
    rows = np.stack([2 * reps[first], 2 * reps[first] + 1, 2 * reps[second], 2 * reps[second] + 1], axis=1)
    deficient = np.flatnonzero(_batched_rank(differences[rows], rtol) < min(4, columns))
    pairs = [f"{latents[reps[first[k]]]} and {latents[reps[second[k]]]}" for k in deficient]
    if pairs:
        more = f" (and {len(pairs) - _LISTED} more pairs)" if len(pairs) > _LISTED else ""
        findings.append(f"the natural parameters of {'; of '.join(pairs[:_LISTED])} are affinely related{more}")
    return findings


def _generic_relation(latents: Sequence[str], differences: np.ndarray, rank: int) -> str:
    """The last left singular vector w of H as an affine relation w^T η(u) = const (scaled parameters)."""
    w = np.linalg.svd(differences)[0][:, -1]
    top = [k for k in np.argsort(-np.abs(w))[:_LISTED + 1] if abs(w[k]) > 0.05]
    terms = " ".join(f"{w[k]:+.2f}·η({latents[k // 2]})_{k % 2 + 1}" for k in top)
    return (f"{differences.shape[0] - rank} independent affine relations among the natural parameters (each "
            f"scaled by its magnitude), the weakest direction being {terms}{' ...' if len(top) > _LISTED else ''}"
            " = const")


def _failure_findings(scm: SCM, params: dict[str, dict[str, np.ndarray]], scaled: np.ndarray,
                      rank: int, rtol: float) -> list[str]:
    """The null directions of H in words (SPEC §2 (iii), necessary conditions); `scaled` holds distinct rows."""
    required, distinct = 2 * len(scm.latents), len(scaled)
    differences = _differences(scaled)
    findings = []
    if distinct < required + 1:
        findings.append(f"fewer than 2ℓ+1 = {required + 1} distinct environments ({distinct})")
    if rank == 1 and distinct > 2:
        return findings + ["all differences η(u_m) − η(u_0) are parallel (the natural parameters move "
                           "along one line)"]
    flat = np.linalg.norm(differences, axis=1) <= rtol
    structural = _constant_parameters(scm, params, flat)
    moving = [i for i in range(len(scm.latents)) if not (flat[2 * i] or flat[2 * i + 1])]
    related, found = _self_related(scm, params, differences, moving, rtol)
    structural += found
    structural += _pair_relations(scm.latents, differences, [i for i in moving if i not in related], rtol)
    if not structural and rank < min(required, distinct - 1):
        structural.append(_generic_relation(scm.latents, differences, rank))
    return findings + structural


def _intercept_caveat(scm: SCM, table: np.ndarray, rtol: float) -> dict[str, str] | None:
    """SPEC §5 intercept caveat: for a location family a u-dependent intercept of g_i can move into the noise
    mean, so (iii) holds for *some* representation iff the location-free natural parameters (Gaussian:
    the precisions) are affinely independent across components and M >= 2ℓ+1."""
    family = scm.noise_family
    if family.location_param is None:
        return None
    free = [j for j, params in enumerate(_dependence(family)) if family.location_param not in params]
    ell = len(scm.latents)
    # SPEC §5 "Deduplicate environments first": identical eta vectors count once
    count = int(np.unique(table, axis=0).shape[0]) if table.size else 0
    rows = [2 * i + j for i in range(ell) for j in free]
    rank = _rank(_differences(_scaled(table[:, rows])), rtol)
    if count >= 2 * ell + 1 and rank == len(rows):
        return {"status": "holds", "reason": f"the {len(rows)} location-free natural parameters "
                f"(precisions) are affinely independent across the {count} distinct environments, so moving a "
                "u-dependent intercept into the noise means can satisfy (iii)"}
    why = (f"only {count} distinct environments (need {2 * ell + 1})" if count < 2 * ell + 1 else
           f"the precisions have affine rank {rank} < {len(rows)}")
    return {"status": "fails", "reason": f"no representation satisfies (iii): {why}"}


def _domain_rank(scm: SCM, rtol: float) -> int | None:
    """Affine rank of eta on a grid of the declared scalar domain, when eta is a formula in u alone."""
    env = scm.environments
    if env.domain is None:
        return None
    u = env.symbols[0]
    etas = [eta for latent in scm.latents for eta in scm.noise_family.natural(scm.noise_params[latent])]
    if any(s != u for eta in etas for s in sp.sympify(eta).free_symbols):
        return None
    grid = np.linspace(env.domain[0], env.domain[1], 8 * len(scm.latents) + 16)
    fn = numeric_function([u], etas)
    with np.errstate(all="ignore"):
        table = np.column_stack([np.broadcast_to(np.asarray(c, dtype=float), grid.shape) for c in fn(grid)])
    if not np.all(np.isfinite(table)):
        return None
    return affine_rank(table, rtol)


# -- the check --------------------------------------------------------------------------------------------


def _label(label: Any) -> Any:
    return list(label) if isinstance(label, tuple) else label


def check_noise_variability(scm: SCM, *, rtol: float = DEFAULT_RTOL) -> AssumptionResult:
    """Assumption (iii) on the observed environments: rank, certificate (CONTRACT §2 fields plus
    `condition_number_normalized`, `base`, `method`, and `sufficient_statistics`, the T(n) whose natural
    parameters form L), the failure in words, and for Gaussian noise the status up to intercept
    re-parametrisation.

    `rtol` is the relative rank tolerance (1e-9 suits given tables; about 1e-3 suits estimated parameters).

    >>> from identcheck import load_example
    >>> r = check_noise_variability(load_example("C15f"))
    >>> r.status, r.details["method"], round(r.details["condition_number"], 1)
    ('holds', 'exact', 11.8)
    """
    ell, labels = len(scm.latents), scm.environments.labels
    required = 2 * ell
    params = _parameter_values(scm)
    table = _natural_from_values(scm.noise_family, params, scm.latents)
    overflow = np.flatnonzero(~np.all(np.isfinite(table), axis=1))
    if overflow.size:
        return AssumptionResult(
            "unknown", f"the natural parameters η(u) are not finite in floating point in environment "
            f"{labels[overflow[0]]!r} (noise parameters near the float range, e.g. a mean of 1e308 over a "
            "std of 1); rescale them", {"required": required, "sufficient_statistics":
                                       list(scm.noise_family.statistics)})
    keep = distinct_rows(table)
    scaled = _scaled(table[keep])
    rank = numeric_rank = _rank(_differences(scaled), rtol)
    method, exact = "numeric", None
    if required <= _EXACT_MAX_COLUMNS and scm.environments.count <= _EXACT_MAX_ENVIRONMENTS:
        exact = exact_natural_parameter_table(scm)
    if exact is not None:
        method, rank = "exact", exact_affine_rank(exact)
    details: dict[str, Any] = {"rank": rank, "required": required, "method": method,
                               "distinct_environments": len(keep), "numeric_rank": numeric_rank, "rtol": rtol,
                               "sufficient_statistics": list(scm.noise_family.statistics)}
    # the spec's decimals are exact, so the exact rank decides; a lower numeric rank says how fragile that is
    fragile = (f"; warning: numerically the rank is only {numeric_rank} at relative tolerance {rtol:g}, so the "
               "table has full rank only through differences below that tolerance and (iii) would fail for "
               "parameters known to that precision") if numeric_rank < rank else ""
    if rank == required:
        cert = rank_certificate(table[keep])
        chosen = [_label(labels[keep[k]]) for k in cert.rows]
        details.update(environments=chosen, condition_number=cert.condition_number,
                       condition_number_normalized=cert.condition_number_normalized, base=chosen[0])
        if scm.noise_family.location_param is not None:
            details["up_to_intercept"] = "holds"  # a full-rank table keeps full rank on any subset of rows
        reason = (f"the 2ℓ+1 = {required + 1} environments {', '.join(map(str, chosen))} (base first) give an "
                  f"invertible L: rank {rank} = 2ℓ ({method}), cond(L) = {cert.condition_number:.3g} "
                  f"({cert.condition_number_normalized:.3g} with normalised rows)")
        if cert.condition_number > ILL_CONDITIONED:
            reason += (f"; warning: cond(L) > {ILL_CONDITIONED:.0e}, the certificate is numerically fragile "
                       "and (iii) may fail for estimated parameters")
        return AssumptionResult("holds", reason + fragile, details)
    findings = _failure_findings(scm, params, scaled, rank, rtol)
    details["null_directions"] = findings
    tolerance = "" if method == "exact" else f", relative tolerance {rtol:g}"
    reason = f"rank {rank} < {required} ({method}{tolerance}): " + "; ".join(findings)
    domain_rank = _domain_rank(scm, rtol)
    if domain_rank is not None:
        details["domain_rank"] = domain_rank
        if domain_rank == required:
            low, high = cast("tuple[float, float]", scm.environments.domain)  # _domain_rank: not None
            reason += (f"; the declared domain [{low:g}, {high:g}] allows more: the natural parameters are "
                       "affinely independent functions of u there, so more observed environments would satisfy "
                       "(iii)")
    caveat = _intercept_caveat(scm, table, rtol)
    if caveat is not None:
        details["up_to_intercept"] = caveat["status"]
        reason += f"; up to intercept re-parametrisation: {caveat['status']} ({caveat['reason']})"
    return AssumptionResult("fails", reason, details)
