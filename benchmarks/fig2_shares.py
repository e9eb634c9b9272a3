"""Fig. 2's second half read across seeds, as a picture: per stored fit, the violating node's parents' share
against the largest identifiable node's, one panel per file, with `bench_learner.larger_share`'s sign test in
each panel's title. Reads the runs of bench_learner.py (fig2_<method>.json), rotation_screen.py (the reading
after the screen) and refit_fig2.py; fits nothing.

    cd benchmarks/results/learner && python ../../fig2_shares.py \\
        fig2_seeds10/rotation_screen_latent_mlp-rotated_full_margin-0.02.json \\
        fig2_seeds10/refit_latent_mlp-greedy_rotation_search_epochs-30.json fig2_refs1/fig2_ivae-exact.json \\
        --out fig2_shares.png

A point above the diagonal is a seed where the violating node carries more of its parents than any identifiable
node carries of its own; a filled point is a hit (every identifiable node >= 0.9). The dotted line is the margin that `identcheck verify`
asks of one fit's violating share before it calls the split clear."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from bench_learner import RECOVERED, SHARE_MARGIN, fig2_outcome, larger_share, plt
from identcheck import IdentcheckError
from refit_fig2 import outcome
from script_errors import run_script, stored_runs

#: Shares below this are drawn on a linear scale, above it on a log scale (they span 1e-7 to 1).
LINEAR_BELOW = 1e-3


def outcomes(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """A label and the `fig2_outcome` of every Fig. 2 run a stored file holds: bench_learner.py's (``nodes``
    per run; the label is its method), rotation_screen.py's (the reading ``after`` the screen) or
    refit_fig2.py's (the reading itself); IdentcheckError for a file with no Fig. 2 run."""
    _, runs = stored_runs(path)
    found, labels = [], set()
    for key, run in runs.items():
        if isinstance(run.get("nodes"), dict):
            found.append(fig2_outcome(run["nodes"]))
            labels.add(key.rpartition("/")[0])
        elif isinstance(run.get("after"), dict) and "share" in run["after"]:
            found.append(outcome(run["after"]))
            labels.add("latent_mlp:rotated")
        elif "share" in run and "correlation" in run:
            found.append(outcome(run))
            labels.add("latent_mlp:rotated, refitted" if "rotation_search_epochs" in path.name else "refitted")
    if not found or len(labels) != 1:
        raise IdentcheckError(f"{path}: no Fig. 2 runs of one method (bench_learner.py's fig2_<method>.json, or "
                              f"the output of rotation_screen.py or refit_fig2.py)")
    return labels.pop(), found


def draw(panels: list[tuple[str, list[dict[str, Any]]]], path: Path) -> None:
    """One scatter per (label, outcomes): largest identifiable share across, violating share up."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    for ax, (label, found) in zip(axes[0], panels):
        x = np.array([o["largest_identifiable_share"] for o in found])
        y = np.array([o["violating_share"] for o in found])
        hit = np.array([o["hit"] for o in found])
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, zorder=0)
        ax.axhline(SHARE_MARGIN, color="0.6", lw=1, ls=":", zorder=0, label=f"verify's clear split: > {SHARE_MARGIN:g}")
        ax.scatter(x[hit], y[hit], s=22, color="C0", label=f"hit (identifiable ≥ {RECOVERED:g})")
        ax.scatter(x[~hit], y[~hit], s=22, facecolors="none", edgecolors="C3", label="miss")
        for axis in (ax.set_xscale, ax.set_yscale):
            axis("symlog", linthresh=LINEAR_BELOW)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="largest identifiable node's parents' share",
               ylabel="violating node's parents' share")
        test = larger_share(found).replace("violating share above every identifiable one on ", "above on ")
        ax.set_title(label + "\n" + test.replace("; medians", ";\nmedians"), fontsize=8)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("Fig. 2 across seeds: the violating node against the identifiable ones", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stored", type=Path, nargs="+", help="stored Fig. 2 runs, one panel each")
    p.add_argument("--out", type=Path, required=True, help="the PNG to write")
    args = p.parse_args()
    panels = [outcomes(path) for path in args.stored]
    for label, found in panels:
        print(f"{label}: {larger_share(found)}")
    draw(panels, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_script(main)
