"""Why a stored Fig. 2 run misses an identifiable node: its gap to the truth's likelihood and what its slots hold.

For every seed of one stored Fig. 2 method file (the ``fig2_<method>[_node-pins].json`` that
`bench_learner.py` wrote; its settings give the data's strength, the pins, the split and the learner's
budget), the run is refitted: learner seed = data seed, deterministic on CPU. Its per-node correlations must
equal the stored ones to 1e-6, or the script stops. A refit is the stored run, not a new draw. Per seed:

- **gap**: the refit's held-out −log p(x|u) minus the true model's, in nats per sample. Both are taken in the
  learner's standardised x. The truth's value is `diagnose_learner.truth_nll`. The gap covers the whole fit
  (the flow's fit of the mixing and of the noise as well as the latents): on the stored ten-seed runs the
  fits that recover every identifiable node sit −0.02 to 0.44 nats above the truth and the misses 0.05 to
  0.58, so a gap alone does not say whether a node was missed (docs/learner_notes.md, "Fig. 2 misses").
- **slots**: |corr| of each learned latent, in the learner's causal order (slot 0 is its root), with every
  true z_i and n_i, read on the held-out rows. It shows which true node took the root slot and what the
  others hold.

    python benchmarks/diagnose_fig2_gaps.py benchmarks/results/learner/strength2_fig2/fig2_latent_mlp-greedy.json

Writes ``diagnose_gaps_<method>[_node-pins].json`` beside the stored file, one object per seed, written after
each seed so that an interrupted run keeps its work; prints a markdown table. An exact-likelihood method
(d = ℓ) is required, since the ELBO learners have no −log p(x|u) to compare.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from identcheck.datasets import partial, synthetic
from identcheck.learn import make_learner
from identcheck.simulate import Dataset

from bench_learner import data_recipe, node_recovery, partial_references, split
from diagnose_learner import truth_nll
from script_errors import run_script, stored_runs

#: Stored settings that are constructor arguments of the learner (the rest describe the data and the split).
LEARNER_KEYS = ("likelihood", "epochs", "lr", "restarts", "pretrain_epochs", "pretrain_lr", "order_search_epochs",
                "order_search")
TOLERANCE = 1e-6  # how far a refit's per-node correlation may be from the stored one


def stored_data(settings: dict[str, Any], seed: int, latents: int | None = None) -> Dataset:
    """The Fig. 2 data of seed ``seed`` as the stored ``settings`` drew them (strength and gain 1 when absent;
    λ = 0 in the first ``reference_segments`` segments, 1 when absent); with ``latents``, Fig. 1's
    (`synthetic` with ℓ = ``latents``) instead."""
    sizes = (settings["segments"], settings["samples_per_segment"], seed)
    if latents is not None:
        return synthetic(latents, *sizes, **data_recipe(settings))
    return partial(settings["partial_latents"], *sizes, **data_recipe(settings))


def refit_learner(method: str, seed: int, settings: dict[str, Any], learner_seed: int | None = None, *,
                  latents: int | None = None, **options: Any) -> tuple[Any, Dataset, Dataset]:
    """The learner of the stored run ``method/seed``, not yet fitted, with the rows it is fitted on and the
    held-out rows it is scored on; ``learner_seed`` and ``options`` as for `refit`. With ``latents``, the
    Fig. 1 run ``method/latents/seed`` (`synthetic` data and their reference environments, as
    `bench_learner.py` fits them) instead of a Fig. 2 one."""
    data = stored_data(settings, seed, latents)
    fitted, scored = split(data, settings.get("held_out", 0.0), seed)
    budget = {key: settings[key] for key in LEARNER_KEYS if key in settings}
    references = list(data.reference_envs) if latents is not None else partial_references(scored, settings["pins"])
    learner = make_learner(method.split(":")[0], latent_dim=len(data.latents),
                           seed=seed if learner_seed is None else learner_seed, progress=False,
                           reference_envs=references, **{**budget, **options})
    return learner, fitted, scored


def refit(method: str, seed: int, settings: dict[str, Any], learner_seed: int | None = None,
          **options: Any) -> tuple[Any, Any]:
    """The stored run ``method/seed`` trained again: the fitted learner and the held-out rows it is scored on.
    With the defaults it is the stored run; ``learner_seed`` (default: the data seed) and learner ``options``
    (constructor arguments, over the stored budget) train another run on the same data and split."""
    learner, fitted, scored = refit_learner(method, seed, settings, learner_seed, **options)
    return learner.fit(fitted.x, fitted.u), scored


def model_nll(learner: Any, data: Dataset) -> float:
    """The fitted exact-likelihood ``learner``'s mean −log p(x|u) on ``data``, in nats per row of its
    standardised x (the truth's counterpart is `diagnose_learner.truth_nll`)."""
    x, env = learner._tensors(data.x, data.u)
    with torch.no_grad():
        return float(learner.module_.neg_log_likelihood(x, env).double().mean())


def check_stored(correlation: dict[str, float], stored: dict[str, Any], name: str) -> None:
    """Stop when a refit's per-node ``correlation`` is not the ``stored`` run's (`bench_learner.py`'s run
    record): every node must match to `TOLERANCE`."""
    drift = max(abs(correlation[k] - stored["nodes"][k]["correlation"]) for k in correlation)
    if drift > TOLERANCE:
        raise SystemExit(f"{name}: the refit is not the stored run (a correlation moved by {drift:.2g})")


def slot_contents(z_hat: np.ndarray, z: np.ndarray, n: np.ndarray) -> np.ndarray:
    """|corr| of every learned slot (rows) with every true z_i, then every n_i (columns).

    >>> z = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # uncorrelated columns
    >>> slot_contents(z[:, ::-1], z, 2 * z).round(6).tolist()
    [[0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0]]
    """
    ell = z_hat.shape[1]
    return np.abs(np.corrcoef(np.c_[z_hat, z, n].T)[:ell, ell:])


def diagnose(method: str, seed: int, stored: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """One stored run refitted and read: its gap to the truth, per-node recovery and slots (module docstring).
    Stops (SystemExit) for a learner without a likelihood, before fitting, and for a refit that is not ``stored``."""
    if settings.get("likelihood") != "exact":
        raise SystemExit(f"{method} is not an exact-likelihood learner: it has no -log p(x|u) to compare")
    learner, data = refit(method, seed, settings)
    z_hat = learner.transform(data.x, data.u)
    _, nodes = node_recovery(data, z_hat)
    check_stored({k: v["correlation"] for k, v in nodes.items()}, stored, f"{method}/{seed}")
    nll = model_nll(learner, data)
    truth = truth_nll(data, learner.x_mean_, learner.x_scale_)
    return {"seed": seed, "nll": nll, "truth_nll": truth, "gap": nll - truth,
            "correlation": {k: nodes[k]["correlation"] for k in nodes},
            "share": {k: nodes[k]["share"] for k in nodes},
            "slots": slot_contents(z_hat, data.z, data.n).round(3).tolist(),
            "slot_order": learner.history_.get("slot_order")}


def table(rows: list[dict[str, Any]], latents: list[str]) -> list[str]:
    """One markdown row per seed: the gap, each node's correlation, and the true node each slot holds most."""
    lines = ["| seed | gap (nats) | " + " | ".join(latents) + " | slots (root first): best true z, |corr| |",
             "|---|---|" + "---|" * len(latents) + "---|"]
    for row in rows:
        slots = ", ".join(f"{latents[int(np.argmax(s[:len(latents)]))]} {max(s[:len(latents)]):.2f}"
                          for s in row["slots"])
        lines.append(f"| {row['seed']} | {row['gap']:.3f} | "
                     + " | ".join(f"{row['correlation'][k]:.3f}" for k in latents) + f" | {slots} |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stored", type=Path, help="a fig2_<method>[_node-pins].json written by bench_learner.py")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds to refit (default: every stored one)")
    args = p.parse_args()
    torch.set_num_threads(1)
    settings, runs = stored_runs(args.stored)
    method = next(iter(runs)).rpartition("/")[0]
    seeds = args.seeds if args.seeds is not None else sorted(int(k.rpartition("/")[2]) for k in runs)
    out = args.stored.with_name(args.stored.name.replace("fig2_", "diagnose_gaps_", 1))
    kept = json.loads(out.read_text()) if out.exists() else {}
    if kept.get("settings") != settings:
        kept = {"settings": settings, "source": args.stored.name, "runs": {}}
    for seed in seeds:
        if str(seed) not in kept["runs"]:
            kept["runs"][str(seed)] = diagnose(method, seed, runs[f"{method}/{seed}"], settings)
            out.write_text(json.dumps(kept, indent=1))
            print(f"{method}/{seed}: gap {kept['runs'][str(seed)]['gap']:.3f} nats", flush=True)
    rows = [kept["runs"][str(seed)] for seed in seeds]
    print("\n".join(table(rows, list(rows[0]["correlation"]))))


if __name__ == "__main__":
    run_script(main)
