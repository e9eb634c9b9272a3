"""Does the rotation screen (``rotation_search_epochs``) turn Fig. 2 misses into hits? Each fit measured twice.

For every data seed of a stored Fig. 2 run (``fig2_latent_mlp-greedy.json`` from `bench_learner.py`: the data,
the split, the pins and the budget), ``latent_mlp:rotated`` is fitted on the same data and split. That
preset is ``latent_mlp:greedy`` followed by the rotation screen and a second full stage, so the state just
before the screen *is* the greedy fit, trained to the same bits. A hook records that state, and the
script scores both on the held-out rows as `bench_learner.py` does: each node's matched correlation and
parents' share, a **hit** when every identifiable node reaches 0.9, a **clear split** when the violating
node's share is above `identcheck.verify.SHARE_MARGIN` and every identifiable node's is at most that, and
the held-out −log p(x|u) above the true model's (the **gap**, nats per row). It also keeps the rotation
the screen chose.

    python benchmarks/rotation_screen.py benchmarks/results/learner/fig2_seeds10/fig2_latent_mlp-greedy.json \\
        --seeds 0 2 4 6 8

writes ``rotation_screen_latent_mlp-rotated[_margin-M].json`` (``--margin M`` other than the learner's
0.05; one entry per data seed/learner seed; saved after every fit, so a
stopped run resumes and processes given different ``--seeds`` share the file) and the same name with ``.md``
beside the stored file.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench_learner import node_recovery
from diagnose_fig2_gaps import model_nll, refit_learner
from diagnose_learner import truth_nll
from identcheck.learn import PRESETS
from refit_fig2 import learner_seed, save, score, seed_for


def fit_twice(seed: int, fit_seed: int, settings: dict[str, Any], margin: float) -> dict[str, Any]:
    """Fit ``latent_mlp:rotated`` (the stored greedy budget, plus the screen the ``rotated`` preset adds to
    ``greedy``, with ``rotation_margin`` = ``margin``) on data seed ``seed`` (learner seed ``fit_seed``), and
    score the greedy fit it passes through (``before``) and the final fit (``after``) on the held-out rows."""
    screen_options = {k: v for k, v in PRESETS["rotated"].items() if k not in PRESETS["greedy"]}
    learner, fitted, scored = refit_learner("latent_mlp:greedy", seed, settings, fit_seed, **screen_options,
                                            rotation_margin=margin)
    before: dict[str, Any] = {}
    screen = learner._search_rotations

    def recording(module: Any, *args: Any) -> dict[str, list]:  # the greedy fit, scored before the screen
        x, env = learner._tensors(scored.x, scored.u)
        with torch.no_grad():
            z_hat = module.structure.push(module.noise_mean(x, env), env).double().numpy()  # as transform
            before["nll"] = float(module.neg_log_likelihood(x, env).double().mean())
        before["nodes"] = node_recovery(scored, z_hat)[1]
        return screen(module, *args)

    learner._search_rotations = recording
    start = time.perf_counter()
    learner.fit(fitted.x, fitted.u)
    seconds = time.perf_counter() - start
    truth = truth_nll(scored, learner.x_mean_, learner.x_scale_)
    after = node_recovery(scored, learner.transform(scored.x, scored.u))[1]
    return {"before": {**score(before["nodes"]), "gap": before["nll"] - truth},
            "after": {**score(after), "gap": model_nll(learner, scored) - truth},
            "rotation": learner.history_["rotation"],
            "rotation_val_loss": learner.history_["rotation_val_loss"], "seconds": seconds}


def table(runs: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown: one row per fit (correlations and shares before and after the screen, the rotation kept,
    the gaps), then the counts and medians."""
    lines = ["| data seed/learner seed | before: z1 / z2 / z3, share z2 / z3 | after | rotation kept (a, b, °) "
             "| gap before → after | s |", "|---|---|---|---|---|---|"]

    def cell(r: dict[str, Any]) -> str:
        c, s = r["correlation"], r["share"]
        mark = "**" if r["hit"] else ""
        return (f"{mark}{' / '.join(f'{v:.3f}' for v in c.values())}{mark}, {s['z2']:.3f} / {s['z3']:.3f}"
                + (" (split)" if r["clear_split"] else ""))

    keys = sorted(runs, key=lambda k: tuple(map(int, k.split("/"))))
    for k in keys:
        r = runs[k]
        a, b, deg = r["rotation"]
        rotation = "none" if deg == 0 else f"{a}, {b}, {deg:g}"
        lines.append(f"| {k} | {cell(r['before'])} | {cell(r['after'])} | {rotation} | "
                     f"{r['before']['gap']:.3f} → {r['after']['gap']:.3f} | {r['seconds']:.0f} |")
    lines.append("")
    for when in ("before", "after"):
        rs = [runs[k][when] for k in keys]
        medians = " / ".join(f"{np.median([r['correlation'][n] for r in rs]):.3f}" for n in rs[0]["correlation"])
        lines.append(f"- {when}: hits {sum(r['hit'] for r in rs)} of {len(rs)}, clear splits "
                     f"{sum(r['clear_split'] for r in rs)}, median z1 / z2 / z3 {medians}, median share z2 / z3 "
                     + " / ".join(f"{np.median([r['share'][n] for r in rs]):.3f}" for n in ("z2", "z3"))
                     + f", median gap {np.median([r['gap'] for r in rs]):.3f}")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stored", type=Path, help="a fig2_latent_mlp-greedy.json written by bench_learner.py")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="data seeds (default: every stored one)")
    p.add_argument("--learner-seeds", type=learner_seed, nargs="+", default=["data"],
                   help="integers, 'data' for the data seed or 'data+K' for it plus K (default: data)")
    p.add_argument("--margin", type=float, default=0.05,
                   help="rotation_margin: what a rotation's short run must win by (default 0.05, the learner's)")
    args = p.parse_args()
    torch.set_num_threads(1)
    payload = json.loads(args.stored.read_text())
    settings, runs = payload["settings"], payload["runs"]
    if settings.get("likelihood") != "exact" or settings.get("order_search") != "greedy":
        raise SystemExit(f"{args.stored} is not a latent_mlp:greedy run: the screen follows that preset's fit")
    suffix = "" if args.margin == 0.05 else f"_margin-{args.margin:g}"
    out = args.stored.with_name(f"rotation_screen_latent_mlp-rotated{suffix}.json")
    kept = json.loads(out.read_text()) if out.exists() else {}
    options = {"rotation_search_epochs": 30, "rotation_margin": args.margin}
    if kept.get("settings") != settings or kept.get("options") != options:
        kept = {"settings": settings, "options": options, "source": args.stored.name, "runs": {}}
    seeds = args.seeds if args.seeds is not None else sorted(int(k.rpartition("/")[2]) for k in runs)
    for seed in seeds:
        for chosen in args.learner_seeds:
            key = f"{seed}/{seed_for(chosen, seed)}"
            if key not in kept["runs"]:
                kept["runs"][key] = fit_twice(seed, seed_for(chosen, seed), settings, args.margin)
                save(out, kept)
            r = kept["runs"][key]
            print(f"{key}: before {r['before']['lowest_identifiable']:.3f} (hit {r['before']['hit']}) after "
                  f"{r['after']['lowest_identifiable']:.3f} (hit {r['after']['hit']}) rotation {r['rotation']} "
                  f"{r['seconds']:.0f} s", flush=True)
    kept = json.loads(out.read_text())
    out.with_suffix(".md").write_text("\n".join(table(kept["runs"])) + "\n")
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
