"""Benchmark of `identcheck.check` on random DAGs (the performance goal of the (iv) checker).

Random DAGs over l latents in which every non-root node has 1-3 parents, 2l+1 scalar environments
u = 0..2l, Gaussian noise tables (SuaVE ranges), and nonlinear mechanisms mixing
terms that satisfy (iv) at an observed u, at an extrapolated u, or not at all. Goal on one core:
10 latents < 1 s, 60 latents < 10 s, 100 latents < 30 s.

    python benchmarks/bench_check.py                      # l = 10, 60, 100
    python benchmarks/bench_check.py --latents 10 30 --repeats 3 --seed 1

Writes a markdown table to stdout and to benchmarks/results/check.md. BLAS runs single-threaded (set
OMP_NUM_THREADS etc. to override).
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import time
from pathlib import Path

# one core, as the goal states: BLAS threads oversubscribe a shared machine and make timings erratic
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402  (after the thread settings)

import identcheck  # noqa: E402
from identcheck.check import check, check_noise_variability  # noqa: E402
from identcheck.check.condition_iv import analyse_iv  # noqa: E402
from identcheck.cli.common import at_least  # noqa: E402
from script_errors import run_script  # noqa: E402

#: Edge terms: (template, whether it vanishes identically in z_j at u = a). `a` is a random observed u.
TEMPLATES = (
    "(u - {a})*tanh({z})",
    "(u - {a})*{z}**2",
    "(u - {a})*sin({z})*{w}",
    "(u - {a})*exp(-{z}**2)",
    "0.8*sin({z})",
    "(u**2 + 1)*{z}",
    "log(1 + u)*{z}*cos({z})",
)


def random_spec(latents: int, rng: np.random.Generator) -> dict:
    """A random spec dict: every node k >= 1 gets 1-3 parents among the earlier nodes."""
    names = [f"z{k + 1}" for k in range(latents)]
    envs = 2 * latents + 1
    mechanisms = {}
    for k in range(1, latents):
        parents = rng.choice(k, size=min(k, int(rng.integers(1, 4))), replace=False)
        terms = []
        for j in parents:
            template = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
            other = names[int(rng.choice(parents))]
            terms.append(template.format(a=int(rng.integers(envs)), z=names[j], w=other))
        mechanisms[names[k]] = " + ".join(terms)
    return {"identcheck": 1, "name": f"random-{latents}", "latents": names,
            "environments": {"values": list(range(envs))},
            "noise": random_noise(names, envs, rng), "mechanisms": mechanisms}


def random_noise(names: list[str], envs: int, rng: np.random.Generator) -> dict:
    """Gaussian noise tables mu ~ U(-2, 2), sigma ~ U(0.1, 2) per environment (SuaVE defaults, SPEC §6)."""
    return {"family": "gaussian", "params": {
        name: {"mean": rng.uniform(-2, 2, envs).round(4).tolist(), "std": rng.uniform(0.1, 2, envs).round(4).tolist()}
        for name in names}}


def random_table_spec(latents: int, rng: np.random.Generator) -> dict:
    """A random spec over 2l+1 one-hot segments in the style of the paper's synthetic data (SPEC §6):
    g_i = sum_k a_k tanh(sum_j w_kj lam_ji z_j + b_k) with per-segment weights lam_ji (tables) that vanish in
    segment 0, except for some invariant edges (lam = 0.8 everywhere). Not separable in the parents."""
    names = [f"z{k + 1}" for k in range(latents)]
    envs = 2 * latents + 1
    parameters, mechanisms = {}, {}
    for k in range(1, latents):
        parents = rng.choice(k, size=min(k, int(rng.integers(1, 4))), replace=False)
        for j in parents:
            lam = rng.choice([-1, 1], envs) * rng.uniform(0.2, 1.0, envs)
            lam[0] = 0.0
            parameters[f"lam_{j + 1}_{k + 1}"] = [0.8] * envs if rng.uniform() < 0.15 else lam.round(4).tolist()
        units = [" + ".join(f"{rng.uniform(0.5, 1.5):.2f}*lam_{j + 1}_{k + 1}*{names[j]}" for j in parents)
                 for _ in range(2)]
        mechanisms[names[k]] = " + ".join(f"{rng.uniform(0.5, 2):.2f}*tanh({unit} + {rng.uniform(-1, 1):.2f})"
                                          for unit in units)
    return {"identcheck": 1, "name": f"random-tables-{latents}", "latents": names,
            "environments": {"segments": envs}, "parameters": parameters,
            "noise": random_noise(names, envs, rng), "mechanisms": mechanisms}


def random_domain_spec(latents: int, rng: np.random.Generator) -> dict:
    """Every edge term tanh((u - a)*z_j + 0.1*u), not separable, vanishing only at an unobserved a = k + 1/2
    inside the declared domain [-1, 2l + 1]: the zero sets come from the numeric scan of the domain."""
    spec = random_spec(latents, rng)
    names, envs = spec["latents"], 2 * latents + 1
    for k in range(1, latents):
        parents = rng.choice(k, size=min(k, int(rng.integers(1, 3))), replace=False)
        spec["mechanisms"][names[k]] = " + ".join(f"tanh((u - {int(rng.integers(envs - 1)) + 0.5})*{names[j]} + 0.1*u)"
                                                  for j in parents)
    spec["environments"]["domain"] = [-1, envs]
    return spec | {"name": f"random-domain-{latents}"}


def random_gamma_spec(latents: int, rng: np.random.Generator) -> dict:
    """`random_spec`'s mechanisms with Gamma noise (shape ~ U(1.5, 4), rate ~ U(0.5, 2) per environment): the
    parents' supports move with u, so the probes go through psi_u of every environment."""
    spec = random_spec(latents, rng)
    envs = spec["environments"]["values"]
    spec["noise"] = {"family": "gamma", "params": {
        name: {"shape": rng.uniform(1.5, 4, len(envs)).round(4).tolist(),
               "rate": rng.uniform(0.5, 2, len(envs)).round(4).tolist()} for name in spec["latents"]}}
    return spec | {"name": f"random-gamma-{latents}"}


SPECS = {"formula": random_spec, "tables": random_table_spec, "domain": random_domain_spec,
         "gamma": random_gamma_spec}


def measure(latents: int, repeats: int, seed: int, kind: str = "formula") -> dict:
    """Best-of-`repeats` wall time of check() and of the (iv) analysis alone, on one random spec."""
    scm = identcheck.from_dict(SPECS[kind](latents, np.random.default_rng(seed)))
    full, iv_only, iii_only = [], [], []
    start = time.perf_counter()
    check(scm)
    cold = time.perf_counter() - start  # first call on this SCM: no sympy cache hits for its expressions
    for _ in range(repeats):
        start = time.perf_counter()
        analyse_iv(scm)
        iv_only.append(time.perf_counter() - start)
        start = time.perf_counter()
        check_noise_variability(scm)
        iii_only.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = check(scm)
        full.append(time.perf_counter() - start)
    verdicts = collections.Counter(node.verdict for node in report.nodes.values())
    return {"kind": kind, "latents": latents, "edges": len(scm.edges), "environments": scm.environments.count,
            "cold_s": cold, "check_s": min(full), "iv_s": min(iv_only), "iii_s": min(iii_only),
            "verdicts": ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latents", type=at_least(1), nargs="+", default=[10, 60, 100])
    parser.add_argument("--repeats", type=at_least(1), default=1)
    parser.add_argument("--seed", type=at_least(0), default=0)
    parser.add_argument("--kinds", nargs="+", choices=sorted(SPECS), default=list(SPECS),
                        help="formula: u in the mechanisms (separable); tables: segments with weight tables; "
                             "domain: zeros found by scanning a declared domain; gamma: formula with Gamma noise")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "check.md")
    args = parser.parse_args()
    goal = {10: 1.0, 60: 10.0, 100: 30.0}
    rows = [measure(n, args.repeats, args.seed, kind) for kind in args.kinds for n in args.latents]
    lines = [f"# identcheck check benchmark ({platform.processor() or platform.machine()}, "
             f"Python {platform.python_version()}, one process, BLAS threads {os.environ['OMP_NUM_THREADS']})", "",
             f"Random DAGs (1-3 parents per node), 2l+1 environments, seed {args.seed}, best of "
             f"{args.repeats}. formula: scalar u in nonlinear separable terms; tables: one-hot segments, "
             f"tanh units of weight tables (not separable); domain: tanh((u - a)*z + 0.1*u) terms whose zeros "
             f"a scan of the declared domain finds; gamma: formula's mechanisms with Gamma noise.", "",
             "| kind | latents | edges | environments | first check() s | check() s | (iv) only s | (iii) only s "
             "| goal s | verdicts |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['kind']} | {r['latents']} | {r['edges']} | {r['environments']} | {r['cold_s']:.2f} | "
                     f"{r['check_s']:.2f} | {r['iv_s']:.2f} | {r['iii_s']:.2f} | {goal.get(r['latents'], '-')} | "
                     f"{r['verdicts']} |")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    run_script(main)
