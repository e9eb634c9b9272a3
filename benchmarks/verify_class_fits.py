"""Does `identcheck verify`'s learner land among the exact fits of a linear Gaussian spec?

With Gaussian noise and mechanisms linear in the parents, a learner whose mechanisms all vanish at the pinned
environment u_p fits p(x|u) exactly with ẑ = R Σ(u_p)^(-1/2) z for every rotation R
(`identcheck.check.linear_gaussian.pinned_class_witness`), whether or not the true mechanisms vanish there.
Those fits have two marks that the truth need not have: their latents are linear in z, and uncorrelated
within u_p. This script fits the learner exactly as `verify` does (same simulation, split, budget, pins and
seed) and reads both marks off the held-out rows:

- **linear R²**: of each learned latent on z and a constant (1 for every exact fit of the family);
- **largest |corr| within each environment**: between two learned latents, beside the same for the true
  latents. A learner in the family is near 0 at u_p; away from u_p nothing is predicted.

An exact fit is as likely as the truth, so the script also gives the learner's held-out −log p(x|u) minus the
true model's (nats per row of the learner's standardised x; `diagnose_learner.truth_nll`, for an MLP mixing
with Gaussian ε and an exact-likelihood learner). It also prints the matched correlations `verify` reports
and the witness's bound for each node. Writes
``class_fits_<spec>.json`` into ``--out`` (default ``benchmarks/results/verify``).

    python benchmarks/verify_class_fits.py --example C9 --seeds 0 1 2 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import identcheck
from identcheck.errors import IdentcheckError
from identcheck.learn.base import LatentLearner
from identcheck.learn.metrics import _r2
from identcheck.simulate import Dataset
from identcheck.verify import (BUDGETS, Budget, Pins, _fit, _matched_correlations, _split, choose_method,
                               choose_pins, learner_class_caveat)
from script_errors import run_script

from diagnose_fig2_gaps import model_nll
from diagnose_learner import truth_nll

OUT = Path(__file__).resolve().parent / "results" / "verify"


def largest_offdiagonal(z: np.ndarray, u: np.ndarray) -> list[float]:
    """Per environment, the largest |corr| between two different columns of ``z`` on that environment's rows.

    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((4000, 2)); u = np.repeat([0, 1], 2000); z[u == 1, 1] += z[u == 1, 0]
    >>> [round(v, 1) for v in largest_offdiagonal(z, u)]
    [0.0, 0.7]
    """
    off = ~np.eye(z.shape[1], dtype=bool)
    return [float(np.abs(np.corrcoef(z[u == e].T)[off]).max()) for e in np.unique(u)]


def linear_r2(z_hat: np.ndarray, z: np.ndarray) -> list[float]:
    """R² of each column of ``z_hat`` on ``z`` and a constant (least squares, as `parent_share` takes it)."""
    return [_r2(column, z) for column in z_hat.T]


def likelihood_gap(learner: LatentLearner, data: Dataset) -> float | None:
    """``learner``'s mean −log p(x|u) on ``data`` minus the true model's, or None when one of them is not
    available (a learner without the exact likelihood, a mixing given by expressions, non-Gaussian ε)."""
    scm = data.scm
    if (getattr(learner, "likelihood", None) != "exact" or scm.mixing.kind != "mlp"
            or scm.observation_noise.family.name != "gaussian"):
        return None
    return model_nll(learner, data) - truth_nll(data, learner.x_mean_, learner.x_scale_)


def one_seed(scm: identcheck.SCM, seed: int, budget: Budget, pins: Pins, method: str, jobs: int) -> dict[str, Any]:
    """Simulate, fit and compare as `verify` does for ``seed``, and read the family's two marks."""
    data = identcheck.simulate(scm, budget.samples_per_env, seed=seed)
    train, test = _split(len(data.u), seed)
    learner = _fit(data, train, seed, budget, pins, method, {"n_jobs": jobs}, progress=False)
    held_out = replace(data, x=data.x[test], u=data.u[test], z=data.z[test], n=data.n[test])
    z, u = held_out.z, np.asarray(held_out.u)
    z_hat = learner.transform(held_out.x, u)
    correlation, _, best = _matched_correlations(scm, z, z_hat)
    return {"seed": seed, "method": method, "pins": list(pins.environments),
            "nll_gap": likelihood_gap(learner, held_out),
            "matched": dict(zip(scm.latents, map(float, correlation))),
            "best": dict(zip(scm.latents, map(float, best))), "linear_r2": linear_r2(z_hat, z),
            "within_learned": largest_offdiagonal(z_hat, u), "within_true": largest_offdiagonal(z, u)}


def table(scm: identcheck.SCM, rows: list[dict[str, Any]], bound: dict[str, float] | None) -> list[str]:
    """A markdown table: one row per seed."""
    names = scm.latents
    lines = [f"| seed | matched ({', '.join(names)}) | linear R² of learned latents | within u_p: learned / true "
             "| largest within other environments: learned / true | −log p(x|u) gap to the truth |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        pinned = row["pins"][0] if row["pins"] else 0
        others = [e for e in range(len(row["within_true"])) if e != pinned]
        gap = "-" if row["nll_gap"] is None else f"{row['nll_gap']:.3f}"
        matched = " / ".join(f"{row['matched'][n]:.3f}" for n in names)
        linear = " / ".join(f"{v:.3f}" for v in row["linear_r2"])
        lines.append(f"| {row['seed']} | {matched} | {linear} | "
                     f"{row['within_learned'][pinned]:.3f} / {row['within_true'][pinned]:.3f} | "
                     f"{max(row['within_learned'][e] for e in others):.3f} / "
                     f"{max(row['within_true'][e] for e in others):.3f} | {gap} |")
    if bound:
        lines += ["", "Exact fits of the pinned class exist in which no learned latent correlates with the node "
                  "above: " + ", ".join(f"{n} {v:.3f}" for n, v in bound.items())]
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("spec", nargs="?", type=Path, help="a spec file")
    source.add_argument("--example", help="a built-in example (identcheck examples)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--jobs", type=int, default=1, help="restarts trained in this many processes")
    p.add_argument("--samples-per-env", type=int, default=BUDGETS[False].samples_per_env)
    p.add_argument("--epochs", type=int, default=BUDGETS[False].epochs)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    try:
        scm = identcheck.load_example(args.example) if args.example else identcheck.load_spec(args.spec)
        pins, method = choose_pins(scm, identcheck.check(scm)), choose_method(scm, "auto")[0]
        witness = learner_class_caveat(scm, pins.environments, method)
        if witness is None:
            raise IdentcheckError(f"{scm.name}: not a linear Gaussian spec with at most one pinned environment, "
                                  "so the learner's class has no family of exact fits to look for")
        default = BUDGETS[False]
        budget = Budget(args.samples_per_env, args.epochs, default.hidden, default.restarts)
        rows = [one_seed(scm, seed, budget, pins, method, args.jobs) for seed in args.seeds]
    except IdentcheckError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    lines = table(scm, rows, witness.correlations)
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"spec": scm.name, "samples_per_env": budget.samples_per_env, "epochs": budget.epochs,
               "bound": witness.correlations, "runs": rows}
    (args.out / f"class_fits_{scm.name}.json").write_text(json.dumps(payload, indent=1) + "\n")


if __name__ == "__main__":
    run_script(main)
