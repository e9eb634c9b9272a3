"""An exact counterexample to the per-node verdicts where Step I of the paper's proof fails: Gaussian noise
and mechanisms linear in the parents (SPEC §7.4).

With Gaussian noise and every g_i affine in the parents (coefficients may depend on u), z given u is Gaussian,
z | u ~ N(m(u), Σ(u)). Say every edge vanishes at one observed environment u* and nowhere else observed, so
the estimator pins every mechanism there. Then Σ(u*) is diagonal, and for every rotation R the latents
ẑ = A z with A = R Σ(u*)^(-1/2) (on two nodes, the others left alone) give another model in the same class:
- each environment's Gaussian N(A m(u), A Σ(u) Aᵀ) factorises in the true causal order as Gaussian noise
  plus mechanisms linear in the earlier latents (regression coefficients β̂(u));
- at u* the covariance is diagonal, so every β̂(u*) = 0, the reference the class shares;
- the mixing f∘A⁻¹ is as smooth and injective as f, and p(x|u) is unchanged.

So the pair's latents are not recovered up to scale and offset, although Theorem 2.5 calls them identifiable:
the theorem's Step I applies iVAE's argument to the u-dependent map n ↦ f(ψ_u(n)), and here n̂ is not a
component-wise function of n. Nonlinear mechanisms make z | u non-Gaussian, and this construction then fails.
The checker keeps SPEC's verdicts and reports the witness beside them (`Report.caveats`).

>>> from identcheck import load_example
>>> from identcheck.check import check_condition_iv
>>> witness = rotation_witness(load_example("C1"), check_condition_iv(load_example("C1")).edges)
>>> witness.pair, witness.reference, [round(c, 2) for c in witness.correlations]
(('z1', 'z2'), 0, [0.76, 0.99])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import sympy as sp

from ..report import EdgeResult, jsonable
from ..scm import SCM
from .condition_iii import _arguments, _parameter_values

__all__ = ["RotationWitness", "rotation_witness"]

#: The rotation the witness uses, in the reference environment's whitened coordinates.
ANGLE = np.pi / 4
#: Relative size below which a regression coefficient at the reference counts as zero (it is 0 in exact
#: arithmetic; this absorbs rounding).
ZERO_TOL = 1e-9


@dataclass(frozen=True)
class RotationWitness:
    """Another model in the class with the same p(x|u) whose latents mix ``pair`` (module docstring).

    reference: the environment label u* where every mechanism vanishes; angle: the rotation in u*'s whitened
    coordinates; coefficients: the alternative's influence of its first latent on its second, per
    environment (0 at u*); correlations: |corr| of the alternative's two latents with the true pair, pooled
    over equally weighted environments (1 would mean recovered up to scale and offset).
    """

    pair: tuple[str, str]
    reference: Any
    angle: float
    coefficients: tuple[float, ...]
    correlations: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        """The caveat object of the JSON report (an addition to CONTRACT §2)."""
        return jsonable({"kind": "linear_gaussian_rotation", "pair": self.pair, "reference": self.reference,
                         "angle": self.angle, "coefficients": self.coefficients,
                         "correlations": self.correlations, "reason": str(self)})

    def __str__(self) -> str:
        a, b = self.pair
        return (f"Gaussian noise and mechanisms linear in their parents, all vanishing at u = {self.reference} "
                f"only: for any rotation R the latents R·Σ(u*)^(-1/2)·z are another model of the class with the "
                f"same p(x|u) and the same reference, so {a} and {b} are not identified up to scale and offset, "
                "whatever the verdicts above say (they are Theorem 2.5's, whose Step I fails here; SPEC §7.4). "
                f"At {self.angle:.2f} rad the alternative's latents correlate {self.correlations[0]:.3f} with {a} "
                f"and {self.correlations[1]:.3f} with {b}")


def _affine_parts(scm: SCM) -> tuple[list[sp.Expr], list[sp.Expr]] | None:
    """For every latent in spec order, the coefficients of each latent and the intercept of its mechanism,
    or None when a mechanism is not affine in the latents."""
    symbols = scm.latent_symbols
    coefficients, intercepts = [], []
    for name in scm.latents:
        g = sp.expand(scm.mechanism(name))
        try:
            poly = sp.Poly(g, *symbols)
        except sp.PolynomialError:
            return None
        if poly.total_degree() > 1:
            return None
        coefficients += [sp.diff(g, s) for s in symbols]
        intercepts.append(g.subs({s: 0 for s in symbols}))
    return coefficients, intercepts


def _gaussian_moments(scm: SCM, parts: tuple[list[sp.Expr], list[sp.Expr]]) -> tuple[np.ndarray, np.ndarray]:
    """Per environment, the mean (E, ℓ) and covariance (E, ℓ, ℓ) of z given u."""
    ell, count = len(scm.latents), scm.environments.count
    symbols, values = _arguments(scm)
    fn = sp.lambdify(symbols, [*parts[0], *parts[1]], modules="numpy")
    columns = [np.broadcast_to(np.asarray(c, dtype=float), (count,)) for c in fn(*values)]
    weights = np.stack(columns[:ell * ell], axis=1).reshape(count, ell, ell)  # B[i, j] = dg_i/dz_j
    intercept = np.stack(columns[ell * ell:], axis=1)
    noise = _parameter_values(scm)
    mean = np.stack([noise[n]["mean"] for n in scm.latents], axis=1) + intercept
    var = np.stack([noise[n]["std"] for n in scm.latents], axis=1) ** 2
    inverse = np.linalg.inv(np.eye(ell) - weights)  # z = (I - B)^-1 (n + c)
    return (np.einsum("eij,ej->ei", inverse, mean),
            np.einsum("eij,ej,ekj->eik", inverse, var, inverse))


def _regressions(cov: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """(E, ℓ, ℓ) coefficients of each latent on the latents before it in ``order`` (the Gaussian's causal
    factorisation in that order)."""
    out = np.zeros_like(cov)
    for k in range(1, len(order)):
        before, node = list(order[:k]), order[k]
        solved = np.linalg.solve(cov[:, before][:, :, before], cov[:, before, node][..., None])[..., 0]
        out[:, node, before] = solved
    return out


def rotation_witness(scm: SCM, edges: Sequence[EdgeResult]) -> RotationWitness | None:
    """The rotated alternative of the module docstring for the first edge's parent and child, or None when
    the model is outside the construction's reach: non-Gaussian or post-nonlinear noise, a mechanism not
    affine in the latents, no edge, or edges that do not all vanish at exactly one shared observed
    environment (then the alternative could break a reference the class shares)."""
    if scm.noise_family.name != "gaussian" or scm.post_nonlinear or not edges:
        return None
    zeros = {tuple(e.vanishing_environments) for e in edges}
    if len(zeros) != 1 or len(next(iter(zeros))) != 1 or any(e.status != "holds" for e in edges):
        return None
    parts = _affine_parts(scm)
    if parts is None:
        return None
    reference = next(iter(zeros))[0]
    mean, cov = _gaussian_moments(scm, parts)
    index = {name: k for k, name in enumerate(scm.latents)}
    a, b = index[edges[0].parent], index[edges[0].child]
    transform = np.eye(len(scm.latents))
    rotation = np.array([[np.cos(ANGLE), -np.sin(ANGLE)], [np.sin(ANGLE), np.cos(ANGLE)]])
    transform[np.ix_([a, b], [a, b])] = rotation / np.sqrt(np.diag(cov[reference])[[a, b]])
    rotated = transform @ cov @ transform.T
    beta = _regressions(rotated, [index[name] for name in scm.order])
    if np.abs(beta[reference]).max() > ZERO_TOL * max(1.0, float(np.abs(beta).max())):
        return None
    centred = mean - mean.mean(axis=0)  # pooled over equally weighted environments
    pooled = cov.mean(axis=0) + centred.T @ centred / len(mean)
    cross, own = transform @ pooled, transform @ pooled @ transform.T
    correlations = tuple(float(abs(cross[k, k]) / np.sqrt(own[k, k] * pooled[k, k])) for k in (a, b))
    coefficients = beta[:, b, a]
    coefficients[reference] = 0.0  # checked above to be zero up to rounding
    return RotationWitness(pair=(scm.latents[a], scm.latents[b]),
                           reference=scm.environments.labels[reference], angle=float(ANGLE),
                           coefficients=tuple(float(c) for c in coefficients), correlations=correlations)
