"""How linear the identifiable children's mechanisms are in stored Fig. 2 data, against whether the run missed.

With Gaussian noise and mechanisms linear in the parents, the latents R Σ(u*)^(-1/2) z are another model of
the learner's class with the same p(x|u) (`identcheck.check.linear_gaussian`; README, "Where Step I fails
exactly"), so a parent and its child are not identified. `partial`'s tanh mechanisms are not linear, but
within a segment they can be close to it, and then that rotation is nearly as likely as the truth. This
script measures that closeness on the data of every stored seed (no fit; the data are regenerated from the
stored settings):

- **linearity** of a node: R² of its mechanism output g_i = z_i − n_i on its true parents and a constant,
  fitted within each segment and averaged over segments, weighted by rows. Segments where g_i is constant
  (its pinned reference) are left out. 1 means linear in every segment.
- per seed, the largest linearity over the identifiable non-root nodes (the stored run's non-violating
  nodes with parents), beside whether the stored run recovered every identifiable node (≥ 0.9: a hit).

It prints a table and the rank statistic P(a miss is more linear than a hit) with its one-sided
Mann-Whitney p-value, and writes ``fig2_linearity_<method>[_node-pins].json`` beside the stored file.

    python benchmarks/fig2_linearity.py benchmarks/results/learner/fig2_seeds10/fig2_latent_mlp-greedy.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

from identcheck.datasets import partial
from identcheck.simulate import Dataset

THRESHOLD = 0.9  # an identifiable node is recovered when its matched correlation reaches this


def mechanism_linearity(data: Dataset, node: int) -> float:
    """Row-weighted mean over segments of the R² of z_node − n_node on the node's true parents (module
    docstring); segments where the mechanism output is constant are left out; nan for a root.

    >>> from identcheck.datasets import partial
    >>> data = partial(3, 6, 400, 0)
    >>> 0 < mechanism_linearity(data, 2) <= 1, bool(np.isnan(mechanism_linearity(data, 0)))
    (True, True)
    """
    parents = np.flatnonzero(data.adjacency[:, node])
    if not parents.size:
        return float("nan")
    output = data.z[:, node] - data.n[:, node]
    r2, weights = [], []
    for env in range(data.n_envs):
        rows = data.u == env
        y = output[rows]
        if np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())):
            continue  # constant here: the pinned reference
        design = np.c_[np.ones(rows.sum()), data.z[rows][:, parents]]
        fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
        r2.append(1.0 - np.var(y - fitted) / np.var(y))
        weights.append(rows.sum())
    return float(np.average(r2, weights=weights))


def seed_row(seed: int, stored: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """One stored run: each identifiable non-root node's linearity, their maximum, and whether it was a hit."""
    data = partial(settings["partial_latents"], settings["segments"], settings["samples_per_segment"], seed,
                   strength=settings.get("strength", 1.0))
    nodes = stored["nodes"]
    identifiable = [k for k, v in nodes.items() if not v["violating"]]
    linearity = {k: mechanism_linearity(data, data.latents.index(k)) for k in identifiable if nodes[k]["parents"]}
    return {"seed": seed, "linearity": linearity, "most_linear": max(linearity.values(), default=float("nan")),
            "correlation": {k: nodes[k]["correlation"] for k in identifiable},
            "hit": all(nodes[k]["correlation"] >= THRESHOLD for k in identifiable)}


def rank_test(rows: list[dict[str, Any]]) -> dict[str, float] | None:
    """P(a miss's most_linear > a hit's), ties counted half, and the one-sided Mann-Whitney p-value; None
    without both hits and misses."""
    hits = [r["most_linear"] for r in rows if r["hit"]]
    misses = [r["most_linear"] for r in rows if not r["hit"]]
    if not hits or not misses:
        return None
    test = mannwhitneyu(misses, hits, alternative="greater")
    return {"p_miss_more_linear": float(test.statistic) / (len(hits) * len(misses)), "p_value": float(test.pvalue),
            "hits": len(hits), "misses": len(misses)}


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
    for path, payload in payloads.items():
        runs = payload["runs"]
        rows = [seed_row(int(key.rpartition("/")[2]), run, payload["settings"])
                for key, run in sorted(runs.items(), key=lambda item: int(item[0].rpartition("/")[2]))]
        summary = rank_test(rows)
        out = path.with_name(path.name.replace("fig2_", "fig2_linearity_", 1))
        out.write_text(json.dumps({"source": path.name, "settings": payload["settings"], "rows": rows,
                                   "rank_test": summary}, indent=1))
        print(f"{path}: strength {payload['settings'].get('strength', 1.0)}")
        print("| seed | recovered | most linear identifiable child (R² within segments) | correlations |")
        print("|---|---|---|---|")
        for r in sorted(rows, key=lambda r: r["most_linear"]):
            corr = ", ".join(f"{k} {v:.3f}" for k, v in r["correlation"].items())
            print(f"| {r['seed']} | {'hit' if r['hit'] else 'miss'} | {r['most_linear']:.3f} | {corr} |")
        if summary:
            print(f"P(a miss is more linear than a hit) = {summary['p_miss_more_linear']:.2f} "
                  f"({summary['misses']} misses, {summary['hits']} hits; one-sided Mann-Whitney p = "
                  f"{summary['p_value']:.3g})\n")


if __name__ == "__main__":
    main()
