"""What the identifiable children's mechanisms look like in stored Fig. 2 data, against whether the run missed.

No fit: the data of every stored seed are regenerated from the stored settings, and for every identifiable
non-root node i (the stored run's non-violating nodes with parents) two numbers are read, each within a
segment and then averaged over segments, weighted by rows, leaving out the segments where the mechanism
output g_i = z_i − n_i is constant (its pinned reference):

- **mechanism share**: Var(g_i) / Var(z_i), how much of the child its parents decide. Near 1 the child is
  nearly a function of its parents, its own noise a thin layer around that function.
- **linearity**: R² of g_i on the node's true parents and a constant. 1 means linear in every segment. With
  Gaussian noise and linear mechanisms the model is not identifiable at all
  (`identcheck.check.linear_gaussian`).

Per seed, the largest value over those nodes is set beside whether the stored run recovered every
identifiable node (≥ 0.9: a hit). For each quantity the script prints P(a miss has the larger value than a
hit) with its one-sided Mann-Whitney p-value, per file and pooled over all the files given (one learner
at several strengths or gains, say). It writes ``fig2_mechanisms_<method>[_node-pins].json`` beside each
stored file, and checks every input before writing anything (exit status 2 otherwise).

    python benchmarks/fig2_mechanisms.py benchmarks/results/learner/fig2_seeds10/fig2_latent_mlp-greedy.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy.stats import mannwhitneyu

from identcheck.simulate import Dataset

from bench_learner import RECOVERED, lowest_identifiable
from diagnose_fig2_gaps import stored_data
from script_errors import run_script

QUANTITIES = ("mechanism_share", "linearity")
Statistic = Callable[[np.ndarray, np.ndarray, np.ndarray], float]


def _within_segments(data: Dataset, node: int, statistic: Statistic) -> float:
    """Row-weighted mean over segments of ``statistic(g, z_node, parents)``; segments where the mechanism
    output g is constant are left out; nan for a root."""
    parents = np.flatnonzero(data.adjacency[:, node])
    if not parents.size:
        return float("nan")
    output = data.z[:, node] - data.n[:, node]
    values, weights = [], []
    for env in range(data.n_envs):
        rows = data.u == env
        g = output[rows]
        if np.ptp(g) <= 1e-12 * max(1.0, float(np.abs(g).max())):
            continue  # constant here: the pinned reference
        values.append(statistic(g, data.z[rows, node], data.z[rows][:, parents]))
        weights.append(rows.sum())
    return float(np.average(values, weights=weights))


def mechanism_share(data: Dataset, node: int) -> float:
    """Within-segment Var(z_node − n_node) / Var(z_node), averaged over segments (module docstring).

    >>> from identcheck.datasets import partial
    >>> data = partial(3, 6, 400, 0)
    >>> 0 < mechanism_share(data, 2) < 1, bool(np.isnan(mechanism_share(data, 0)))
    (True, True)
    """
    return _within_segments(data, node, lambda g, z, parents: float(np.var(g) / np.var(z)))


def mechanism_linearity(data: Dataset, node: int) -> float:
    """Within-segment R² of z_node − n_node on the node's true parents and a constant, averaged over
    segments (module docstring).

    >>> from identcheck.datasets import partial
    >>> data = partial(3, 6, 400, 0)
    >>> 0 < mechanism_linearity(data, 2) <= 1, bool(np.isnan(mechanism_linearity(data, 0)))
    (True, True)
    """
    def r2(g: np.ndarray, z: np.ndarray, parents: np.ndarray) -> float:
        design = np.c_[np.ones(len(g)), parents]
        return float(1.0 - np.var(g - design @ np.linalg.lstsq(design, g, rcond=None)[0]) / np.var(g))
    return _within_segments(data, node, r2)


def seed_row(seed: int, stored: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """One stored run: both quantities per identifiable non-root node, their maxima, and whether it was a hit."""
    data = stored_data(settings, seed)
    nodes = stored["nodes"]
    identifiable = [k for k, v in nodes.items() if not v["violating"]]
    children = [k for k in identifiable if nodes[k]["parents"]]
    row: dict[str, Any] = {"seed": seed}
    for name, measure in (("mechanism_share", mechanism_share), ("linearity", mechanism_linearity)):
        row[name] = {k: measure(data, data.latents.index(k)) for k in children}
        row[f"largest_{name}"] = max(row[name].values(), default=float("nan"))
    row["correlation"] = {k: nodes[k]["correlation"] for k in identifiable}
    row["hit"] = lowest_identifiable(nodes) >= RECOVERED
    return row


def rank_test(rows: list[dict[str, Any]], quantity: str) -> dict[str, float] | None:
    """P(a miss's largest ``quantity`` exceeds a hit's), ties counted half, and the one-sided Mann-Whitney
    p-value; None without both hits and misses."""
    hits = [r[f"largest_{quantity}"] for r in rows if r["hit"]]
    misses = [r[f"largest_{quantity}"] for r in rows if not r["hit"]]
    if not hits or not misses:
        return None
    test = mannwhitneyu(misses, hits, alternative="greater")
    return {"p_miss_larger": float(test.statistic) / (len(hits) * len(misses)), "p_value": float(test.pvalue),
            "hits": len(hits), "misses": len(misses)}


def _summary(label: str, rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for quantity in QUANTITIES:
        test = rank_test(rows, quantity)
        if test:
            lines.append(f"{label}: P(a miss has the larger {quantity.replace('_', ' ')} than a hit) = "
                         f"{test['p_miss_larger']:.2f} ({test['misses']} misses, {test['hits']} hits; one-sided "
                         f"Mann-Whitney p = {test['p_value']:.3g})")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stored", type=Path, nargs="+", help="fig2_<method>[_node-pins].json files of bench_learner.py")
    args = p.parse_args()
    payloads = {}
    for path in args.stored:  # every input is read and checked before anything is written
        try:
            payloads[path] = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            p.error(f"cannot read {path}: {error}")
        if "runs" not in payloads[path] or "settings" not in payloads[path]:
            p.error(f"{path} is not a stored Fig. 2 method file (no 'runs'/'settings'): pass fig2_<method>.json")
    pooled = []
    for path, payload in payloads.items():
        runs, settings = payload["runs"], payload["settings"]
        rows = [seed_row(int(key.rpartition("/")[2]), run, settings)
                for key, run in sorted(runs.items(), key=lambda item: int(item[0].rpartition("/")[2]))]
        pooled += rows
        out = path.with_name(path.name.replace("fig2_", "fig2_mechanisms_", 1))
        out.write_text(json.dumps({"source": path.name, "settings": settings, "rows": rows,
                                   "rank_tests": {q: rank_test(rows, q) for q in QUANTITIES}}, indent=1))
        print(f"{path}: strength {settings.get('strength', 1.0):g}, gain {settings.get('gain', 1.0):g}")
        print("| seed | recovered | largest mechanism share | largest linearity | correlations |")
        print("|---|---|---|---|---|")
        for r in sorted(rows, key=lambda r: r["largest_mechanism_share"]):
            corr = ", ".join(f"{k} {v:.3f}" for k, v in r["correlation"].items())
            print(f"| {r['seed']} | {'hit' if r['hit'] else 'miss'} | {r['largest_mechanism_share']:.3f} | "
                  f"{r['largest_linearity']:.3f} | {corr} |")
        print("\n".join(_summary("this file", rows)) + "\n")
    if len(payloads) > 1:
        print("\n".join(_summary(f"pooled over the {len(payloads)} files", pooled)))


if __name__ == "__main__":
    run_script(main)
