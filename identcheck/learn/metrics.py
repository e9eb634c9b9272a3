"""Metrics comparing recovered latents and graphs with the truth (SPEC §6); numpy and scipy only.

>>> import numpy as np
>>> z = np.random.default_rng(0).normal(size=(500, 3))
>>> round(mpc(z, -2 * z[:, [2, 0, 1]] + 1).value, 6)
1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata

from identcheck.errors import DataError

from .inputs import as_env_index, as_real_array, on_host

__all__ = ["MPC", "SHD", "ParentShare", "mpc", "agreement", "shd", "shd_curve", "parent_share"]


def _matrix(a: ArrayLike, name: str, n_rows: int | None = None) -> np.ndarray:
    arr = as_real_array(a, name, "(N, k)")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise DataError(f"{name} must have shape (N, k) with N >= 2 and k >= 1, got {np.shape(a)}")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise DataError(f"{name} has {arr.shape[0]} rows, expected {n_rows}")
    if not np.isfinite(arr).all():
        raise DataError(f"{name} contains NaN/inf")
    return arr


def _column(a: ArrayLike, name: str, n_rows: int | None = None) -> np.ndarray:
    """One variable as an (N,) array: a vector, or a matrix of one column."""
    arr = _matrix(a, name, n_rows)
    if arr.shape[1] != 1:
        raise DataError(f"{name} must be one variable, shape (N,) or (N, 1), got {np.shape(a)}")
    return arr[:, 0]


@dataclass(frozen=True)
class MPC:
    """Mean of the matched absolute correlations between true and recovered latents.

    ``value``: the mean; ``per_node[i]``: matched |corr| of TRUE node i; ``assignment[i]``: the recovered
    component matched to true node i; ``matrix[i, k]``: |corr(z_i, ẑ_k)|; ``method``: pearson or spearman.
    """

    value: float
    per_node: np.ndarray
    assignment: np.ndarray
    matrix: np.ndarray
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "per_node": self.per_node.tolist(), "assignment": self.assignment.tolist(),
                "matrix": self.matrix.tolist(), "method": self.method}

    def __str__(self) -> str:
        pairs = enumerate(zip(self.assignment, self.per_node))
        nodes = ", ".join(f"z{i + 1}->{int(k) + 1}: {c:.3f}" for i, (k, c) in pairs)
        return f"MPC ({self.method}) = {self.value:.3f} [{nodes}]"


def mpc(z_true: np.ndarray, z_hat: np.ndarray, method: str = "pearson") -> MPC:
    """Mean correlation after the best one-to-one matching (SuaVE's MPC, SPEC §6).

    ``C = |corr(z_true, z_hat)|`` (ℓ × k, k ≥ ℓ), matched by the Hungarian method on −C
    (scipy.optimize.linear_sum_assignment). Use ``method="spearman"`` (rank correlation) for post-nonlinear
    models, whose latents are recovered only up to monotone maps. A constant column correlates 0.

    >>> z = np.random.default_rng(1).normal(size=(1000, 2))
    >>> result = mpc(z, z[:, ::-1] * [3.0, -0.5])
    >>> result.assignment.tolist(), round(result.value, 6)
    ([1, 0], 1.0)
    """
    if method not in ("pearson", "spearman"):
        raise DataError(f"method must be 'pearson' or 'spearman', got {method!r}")
    zt = _matrix(z_true, "z_true")
    zh = _matrix(z_hat, "z_hat", n_rows=zt.shape[0])
    if zh.shape[1] < zt.shape[1]:
        raise DataError(f"z_hat has {zh.shape[1]} components, fewer than the {zt.shape[1]} true latents")
    if method == "spearman":
        zt, zh = rankdata(zt, axis=0), rankdata(zh, axis=0)
    zt, zh = _centred(zt), _centred(zh)
    norms = np.outer(np.linalg.norm(zt, axis=0), np.linalg.norm(zh, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.abs(zt.T @ zh) / norms
    corr = np.clip(np.nan_to_num(corr, nan=0.0, posinf=0.0), 0.0, 1.0)
    rows, cols = linear_sum_assignment(-corr)
    per_node = corr[rows, cols]
    return MPC(value=float(per_node.mean()), per_node=per_node, assignment=cols.astype(np.int64), matrix=corr,
               method=method)


def _centred(a: np.ndarray) -> np.ndarray:
    """Columns centred and divided by their largest absolute value, so that norms neither overflow (values of
    1e200) nor underflow (1e-200). A constant column is exactly 0, so it correlates 0 with every column:
    the rounding of its mean would leave equal non-zero values (0.1 - mean = -1.4e-17 at N = 1000), scaled
    to -1 here, and two such columns would correlate 1.

    >>> _centred(np.array([[1e200, 0.1], [-1e200, 0.1], [3e200, 0.1]])).tolist()
    [[0.0, 0.0], [-1.0, 0.0], [1.0, 0.0]]
    """
    centred = np.where((a == a[:1]).all(0), 0.0, a - a.mean(0))
    peak = np.abs(centred).max(0)
    return centred / np.where(peak > 0, peak, 1.0)


def agreement(fits: Sequence[np.ndarray], method: str = "pearson") -> np.ndarray:
    """How far fits agree with each other, without the truth: entry (a, b) is the MPC between fit a's and fit
    b's latents on the same rows (`mpc` with fit a in the truth's place; 1 on the diagonal).

    Identifiability says that every fit that reaches the model's likelihood holds each identifiable latent up
    to scale and offset, so such fits agree on it. The converse fails: fits stuck in one local optimum agree
    with each other too, so the medoid (the row with the highest mean off the diagonal) is not a way to pick
    a restart. On the Fig. 2 data the misses share one optimum and the medoid is worse than the most likely
    fit (docs/learner_benchmark.md, "Choosing among restarts"). What the matrix does say is how reproducible
    a fit is.

    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(1000, 2))
    >>> fits = [z, 2 * z[:, ::-1] - 1, rng.normal(size=(1000, 2))]  # the first two agree, up to order and scale
    >>> matrix = agreement(fits)
    >>> matrix.round(2).tolist()
    [[1.0, 1.0, 0.03], [1.0, 1.0, 0.03], [0.03, 0.03, 1.0]]
    >>> int(np.argmax(matrix.sum(1)))  # the medoid
    0
    """
    if len(fits) < 2:
        raise DataError(f"agreement needs at least 2 fits, got {len(fits)}")
    matrix = np.eye(len(fits))
    for a in range(len(fits)):
        for b in range(a + 1, len(fits)):
            matrix[a, b] = matrix[b, a] = mpc(fits[a], fits[b], method).value
    return matrix


@dataclass(frozen=True)
class SHD:
    """Structural Hamming distance: ``value = missing + extra + reversed`` (a reversal counts once)."""

    value: int
    missing: int
    extra: int
    reversed: int

    def to_dict(self) -> dict[str, int]:
        return {"value": self.value, "missing": self.missing, "extra": self.extra, "reversed": self.reversed}

    def __str__(self) -> str:
        return f"SHD = {self.value} (missing {self.missing}, extra {self.extra}, reversed {self.reversed})"


def _adjacency(a: object, name: str) -> np.ndarray:
    """A square matrix whose non-zero entries are edges (bool, or numbers without NaN)."""
    arr = np.asarray(on_host(a))
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise DataError(f"{name} must be a square adjacency matrix, got shape {arr.shape}")
    if arr.dtype != bool and not (np.issubdtype(arr.dtype, np.number) and not np.iscomplexobj(arr)
                                  and np.isfinite(arr).all()):
        raise DataError(f"{name} must hold booleans or finite numbers (non-zero: an edge), got {arr.dtype} "
                        "values" + (" with NaN/inf" if np.issubdtype(arr.dtype, np.floating) else ""))
    return arr.astype(bool)


def _relabel(true_adj: np.ndarray, learned: np.ndarray, assignment: object) -> np.ndarray:
    raw = np.asarray(on_host(assignment))
    if raw.size and not np.issubdtype(raw.dtype, np.integer):
        raise DataError(f"assignment must hold integer indices, got {raw.dtype} values")
    perm = raw.astype(np.int64)
    if perm.shape != (true_adj.shape[0],) or len(set(perm.tolist())) != perm.size:
        raise DataError(f"assignment must give a distinct learned index for each of the {true_adj.shape[0]} true nodes")
    if perm.size and (perm.min() < 0 or perm.max() >= learned.shape[0]):
        raise DataError(f"assignment indices must lie in 0..{learned.shape[0] - 1}")
    return learned[np.ix_(perm, perm)]


def shd(true_adj: np.ndarray, learned_adj: np.ndarray, assignment: np.ndarray) -> SHD:
    """SHD between the true graph and the learned one relabelled by the MPC matching (SPEC §6).

    ``A[j, i]`` = edge j → i in both graphs; ``assignment[i]`` = learned node matched to true node i (as in
    `MPC.assignment`). Each unordered pair counts once: missing (true edge, none learned), extra (learned
    edge, none true) or reversed (both have the edge, in opposite directions). Any other disagreement on a
    pair (for instance a 2-cycle) counts as extra. A learned graph with more nodes than the true one is
    compared on the matched nodes only: edges at learned nodes that no true node is matched to do not count.

    >>> true = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]], bool)      # 1 -> 2 -> 3
    >>> learned = np.array([[0, 0, 0], [1, 0, 0], [1, 0, 0]], bool)   # 2 -> 1, 1 -> 3
    >>> str(shd(true, learned, [0, 1, 2]))
    'SHD = 3 (missing 1, extra 1, reversed 1)'
    """
    true = _adjacency(true_adj, "true_adj")
    learned = _relabel(true, _adjacency(learned_adj, "learned_adj"), assignment)
    missing = extra = reversed_ = 0
    size = true.shape[0]
    for a in range(size):
        extra += int(learned[a, a] and not true[a, a])
        missing += int(true[a, a] and not learned[a, a])
        for b in range(a + 1, size):
            t, h = (true[a, b], true[b, a]), (learned[a, b], learned[b, a])
            if t == h:
                continue
            if not any(h):
                missing += 1
            elif not any(t):
                extra += 1
            elif t == h[::-1]:
                reversed_ += 1
            else:
                extra += 1
    return SHD(value=missing + extra + reversed_, missing=missing, extra=extra, reversed=reversed_)


def shd_curve(true_adj: np.ndarray, strengths: np.ndarray, assignment: np.ndarray,
              thresholds: np.ndarray | list[float]) -> np.ndarray:
    """SHD of the graphs ``strengths > τ`` for each τ in ``thresholds`` (an int array, one per τ).

    >>> true = np.array([[0, 1], [0, 0]], bool)
    >>> shd_curve(true, np.array([[0, 0.3], [0.05, 0]]), [0, 1], [0.01, 0.1, 0.5]).tolist()
    [1, 0, 1]
    """
    strength = as_real_array(strengths, "strengths", "(ℓ, ℓ)")
    try:
        taus = np.asarray(thresholds, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"thresholds must be numbers: {exc}") from None
    if taus.ndim != 1 or not np.isfinite(taus).all() or not np.isfinite(strength).all():
        raise DataError("thresholds must be a list of finite numbers, and strengths finite")
    return np.array([shd(true_adj, strength > tau, assignment).value for tau in taus], dtype=np.int64)


@dataclass(frozen=True)
class ParentShare:
    """How much of a recovered latent the true parents explain beyond the true node itself.

    ``share = r2_full − r2_node``: r2_node is the R² of ẑ_i regressed on z_i alone, r2_full on z_i and the
    true parents together (least squares with intercept, standardised regressors). It is the fraction of
    Var(ẑ_i) that only the parents explain: ≈ 0 for an identified node (ẑ_i = s z_i + c), large for a node
    that absorbed a function of its parents (Theorem 2.5b, Remark 2.8).
    """

    share: float
    r2_full: float
    r2_node: float

    def to_dict(self) -> dict[str, float]:
        return {"share": self.share, "r2_full": self.r2_full, "r2_node": self.r2_node}

    def __str__(self) -> str:
        return f"parent share = {self.share:.3f} (R² full {self.r2_full:.3f}, node only {self.r2_node:.3f})"


def _r2(target: np.ndarray, regressors: np.ndarray) -> float:
    """R² of ``target`` on ``regressors`` (least squares with intercept). Every column is first `_centred`
    (scaled by its largest deviation), so R² does not depend on scale: at 1e-200 the squares underflowed and
    R² read 0, at 1e200 they overflowed."""
    y = _centred(target[:, None])[:, 0]
    design = _centred(regressors)
    std = design.std(0)
    design = np.column_stack([np.ones(len(y)), design / np.where(std > 0, std, 1.0)])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    total = (y ** 2).sum()
    return float(1.0 - (residual ** 2).sum() / total) if total > 0 else 0.0


def parent_share(z_hat_i: np.ndarray, z_true_i: np.ndarray, z_true_parents: np.ndarray,
                 u: np.ndarray | None = None, method: str = "pearson") -> ParentShare:
    """R² decomposition of a recovered latent on its true node and the node's true parents (SPEC §6).

    ``z_hat_i``, ``z_true_i``: (N,); ``z_true_parents``: (N, p), p may be 0 (a root: share 0). With ``u``
    (N,) environment indices, both R² are computed within each environment and averaged, weighted by rows.
    ``method="spearman"`` regresses ranks (of every column, over all rows): a post-nonlinear node is
    recovered only up to a monotone map h (Cor. 3.1), and ẑ = h(z_i) has a linear share of the parents as
    large as the part of h that is not linear (0.35 for ẑ = log(z_i) on C14b), but a rank share of 0.
    A mechanism whose weights change sign between environments averages out of the pooled regression: the
    true noise of `identcheck.datasets.synthetic` (ℓ = 5, seeds 0-2), read as ẑ, has a pooled share of at
    most 0.035 but 0.09-0.34 within segments.

    >>> rng = np.random.default_rng(0)
    >>> z1 = rng.normal(size=2000); z2 = 0.8 * z1 + rng.normal(size=2000)
    >>> round(parent_share(z2 - 0.8 * z1, z2, z1[:, None]).share, 2)   # unidentified: absorbed its parent
    0.4
    >>> round(parent_share(3 * z2, z2, z1[:, None]).share, 6)
    0.0
    >>> u = np.repeat([0, 1], 1000); w = np.where(u == 0, 0.8, -0.8)   # the weight flips sign with u
    >>> z2 = w * z1 + rng.normal(size=2000); n2 = z2 - w * z1
    >>> round(parent_share(n2, z2, z1[:, None]).share, 2), round(parent_share(n2, z2, z1[:, None], u=u).share, 2)
    (0.0, 0.4)
    >>> z2 = np.exp(0.8 * z1 + rng.normal(size=2000))   # post-nonlinear; recovered as log(z2), monotone
    >>> [round(parent_share(np.log(z2), z2, z1[:, None], method=m).share, 3) for m in ("pearson", "spearman")]
    [0.2, 0.0]
    """
    if method not in ("pearson", "spearman"):
        raise DataError(f"method must be 'pearson' or 'spearman', got {method!r}")
    target = _column(z_hat_i, "z_hat_i")
    node = _column(z_true_i, "z_true_i", n_rows=target.size)[:, None]
    parents = as_real_array(z_true_parents, "z_true_parents", f"({target.size}, p)")
    if parents.ndim == 1:
        parents = parents[:, None]
    if parents.ndim != 2 or parents.shape[0] != target.size:
        raise DataError(f"z_true_parents must have shape ({target.size}, p), got {np.shape(z_true_parents)}")
    if not np.isfinite(parents).all():
        raise DataError("z_true_parents contains NaN/inf")
    if method == "spearman":
        target, node, parents = rankdata(target), rankdata(node, axis=0), rankdata(parents, axis=0)
    groups = [np.arange(target.size)] if u is None else _environment_rows(u, target.size)
    weights = np.array([len(rows) for rows in groups]) / target.size
    r2_node = float(weights @ [_r2(target[rows], node[rows]) for rows in groups])
    r2_full = (float(weights @ [_r2(target[rows], np.column_stack([node[rows], parents[rows]])) for rows in groups])
               if parents.shape[1] else r2_node)
    return ParentShare(share=max(r2_full - r2_node, 0.0), r2_full=r2_full, r2_node=r2_node)


def _environment_rows(u: np.ndarray, n_rows: int) -> list[np.ndarray]:
    """The row indices of each environment in ``u``: indices (N,) or a one-hot matrix (N, E)."""
    shape = np.asarray(on_host(u)).shape
    if shape[:1] != (n_rows,):
        raise DataError(f"u must have one environment per row ({n_rows}), got shape {shape}")
    arr = np.asarray(on_host(u))
    try:  # as many environments as the indices name: a few held-out rows may carry index 49 (not a fit's u)
        width = arr.shape[1] if arr.ndim == 2 else int(arr.max()) + 1
    except (TypeError, ValueError, OverflowError):  # not numbers, NaN: as_env_index names the problem
        width = None
    env, _ = as_env_index(u, n_samples=n_rows, n_envs=width)  # as the learners take it: indices or one-hot
    return [np.flatnonzero(env == e) for e in np.unique(env)]
