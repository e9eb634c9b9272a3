"""Which of several fits of one Fig. 2 data seed to keep when the truth is unknown: selection rules compared.

The input is an output of ``refit_fig2.py --keep-latents``: several learner seeds per data seed (say
``--learner-seeds data data+10 data+20``), each with its held-out −log p(x|u) and its posterior means of the
first held-out rows. Per data seed, each rule keeps one fit, and the kept fits are scored as
`bench_learner.py` scores a Fig. 2 run (hits, clear splits, per-node medians):

- **one seed**: the fits of one learner seed alone (``data``, ``data+10``, ...): what a single fit gives;
- **likelihood**: the fit with the lowest held-out −log p(x|u), the learner's own ``restarts`` rule;
- **agreement**: the fit whose latents agree most with the other fits' on the kept rows, the medoid of
  `identcheck.learn.agreement` (mean MPC with the others). Identifiability makes every fit that reaches the
  likelihood's maximum hold each identifiable latent up to scale and offset, so such fits agree with each other;
- **oracle**: the fit with the highest lowest-identifiable correlation. It reads the truth, so it is the
  ceiling that no rule can pass, not a rule.

Neither rule reads the truth: both see only x, u and the fits. How much the likelihood's result hangs on which
restarts came is measured by `draws`: for every k, the kept fit averaged over every draw of k of the fits.

    python benchmarks/select_restarts.py \\
        benchmarks/results/learner/fig2_seeds10/refit_latent_mlp-greedy_base_latents.json

prints and writes ``select_<...>.md`` (the rules' table, one row per data seed, then the draws' table) and
``select_<...>.png`` (every fit's lowest identifiable correlation and violating-node share, the kept ones
marked, and the expected hits against k) beside the input.
Data seeds without every learner seed of the others are left out, and named.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from identcheck import IdentcheckError
from identcheck.learn import agreement
from identcheck.verify import SHARE_MARGIN

from bench_learner import RECOVERED, VIOLATING, plt
from script_errors import run_script

Rule = Callable[[list[dict[str, Any]]], int]
TIE = 0.01  # lowest identifiable correlations this close count as the same fit's
DRAW_SAMPLES = 20_000  # joint draws behind `in_median`: its standard error is at most 0.004


def by_likelihood(fits: list[dict[str, Any]]) -> int:
    """The fit with the lowest held-out −log p(x|u)."""
    return int(np.argmin([f["nll"] for f in fits]))


def mean_agreement(fits: list[dict[str, Any]]) -> np.ndarray:
    """Each fit's mean `agreement` with the other fits."""
    return (agreement([f["latents"] for f in fits]).sum(1) - 1) / (len(fits) - 1)


def by_agreement(fits: list[dict[str, Any]]) -> int:
    """The medoid: the fit with the highest mean `agreement` with the others."""
    return int(np.argmax(mean_agreement(fits)))


def by_oracle(fits: list[dict[str, Any]]) -> int:
    """The fit with the highest lowest-identifiable correlation (reads the truth: the ceiling)."""
    return int(np.argmax([f["lowest_identifiable"] for f in fits]))


def offset_name(offset: int) -> str:
    """``data`` or ``data+K``, as `refit_fig2.learner_seed` reads a learner seed ``K`` above the data seed."""
    return "data" if offset == 0 else f"data+{offset}"


def grouped(payload: dict[str, Any], latents: Path) -> tuple[dict[int, list[dict[str, Any]]], list[int]]:
    """The fits per data seed, ordered by learner seed, each with its latents and ``offset`` (learner seed minus
    data seed); only data seeds holding every offset that any holds. Returns them and the left-out seeds."""
    seeds: dict[int, list[dict[str, Any]]] = {}
    for key, run in payload["runs"].items():
        data_seed, fit_seed = map(int, key.split("/"))
        seeds.setdefault(data_seed, []).append({**run, "offset": fit_seed - data_seed,
                                                "latents": np.load(latents / f"{data_seed}_{fit_seed}.npy")})
    offsets = sorted({f["offset"] for fits in seeds.values() for f in fits})
    complete = {s: sorted(fits, key=lambda f: f["offset"]) for s, fits in sorted(seeds.items())
                if sorted(f["offset"] for f in fits) == offsets}
    return complete, sorted(set(seeds) - set(complete))


def summary(kept: list[dict[str, Any]]) -> dict[str, Any]:
    """Hits, clear splits, and the median correlation and share of every node over the ``kept`` fits."""
    names = list(kept[0]["correlation"])
    return {"hits": sum(f["hit"] for f in kept), "clear_splits": sum(f["clear_split"] for f in kept),
            "correlation": {n: float(np.median([f["correlation"][n] for f in kept])) for n in names},
            "share": {n: float(np.median([f["share"][n] for f in kept])) for n in names}}


def choices(seeds: dict[int, list[dict[str, Any]]]) -> dict[str, list[int]]:
    """Per rule (and per single learner seed), the index of the fit it keeps on each data seed."""
    fits = list(seeds.values())
    chosen = {f"one seed: {offset_name(f['offset'])}": [i] * len(fits) for i, f in enumerate(fits[0])}
    rules: dict[str, Rule] = {"likelihood": by_likelihood, "agreement": by_agreement,
                              "oracle (reads the truth)": by_oracle}
    return {**chosen, **{name: [rule(f) for f in fits] for name, rule in rules.items()}}


def draws(seeds: dict[int, list[dict[str, Any]]], rule: Rule, k: int, samples: int = DRAW_SAMPLES) -> dict[str, float]:
    """What ``rule`` gives when only ``k`` of each data seed's fits had been drawn, over every draw of ``k`` of
    them: the expected hits and clear splits over the data seeds; the share of (data seed, draw) pairs where the
    kept fit's lowest identifiable correlation is within `TIE` of the draw's best; and how often both halves of
    the Fig. 2 target hold in the median over the data seeds (`in_median`), from ``samples`` joint draws (one
    draw per data seed, seeded, so the same every run).

    The fits are one sample of learner seeds, so this resamples them without replacement: it says how much the
    rule's result hangs on which ``k`` restarts came, not what another sample of fits would give.
    """
    hits = splits = best = 0.0
    kept_per_seed = []
    for fits in seeds.values():
        subsets = [[fits[i] for i in pick] for pick in combinations(range(len(fits)), k)]
        kept = [subset[rule(subset)] for subset in subsets]
        hits += np.mean([f["hit"] for f in kept])
        splits += np.mean([f["clear_split"] for f in kept])
        best += np.mean([f["lowest_identifiable"] >= max(g["lowest_identifiable"] for g in subset) - TIE
                         for f, subset in zip(kept, subsets)])
        kept_per_seed.append(kept)
    return {"hits": float(hits), "clear_splits": float(splits), "keeps_best": float(best / len(seeds)),
            "in_median": in_median(kept_per_seed, samples)}


def in_median(kept_per_seed: list[list[dict[str, Any]]], samples: int) -> float:
    """The share of ``samples`` joint draws (one kept fit per data seed, uniformly among its draws' kept fits)
    whose medians over the data seeds meet both halves of the Fig. 2 target: every identifiable node at least
    ``RECOVERED``, the violating node's share above `SHARE_MARGIN` and every identifiable one's at most that."""
    names = list(kept_per_seed[0][0]["correlation"])
    violating = np.isin(names, sorted(VIOLATING))
    rng = np.random.default_rng(0)
    picks = [rng.integers(len(kept), size=samples) for kept in kept_per_seed]  # one joint draw per row

    def medians(key: str) -> np.ndarray:  # (samples, nodes): the median over the data seeds of each draw
        values = [np.array([[f[key][n] for n in names] for f in kept])[pick]
                  for kept, pick in zip(kept_per_seed, picks)]
        return np.median(np.stack(values, axis=1), axis=1)

    corr, share = medians("correlation"), medians("share")
    holds = ((corr[:, ~violating] >= RECOVERED).all(1) & (share[:, violating] > SHARE_MARGIN).all(1)
             & (share[:, ~violating] <= SHARE_MARGIN).all(1))
    return float(holds.mean())


def draw_curves(seeds: dict[int, list[dict[str, Any]]]) -> dict[str, list[dict[str, float]]]:
    """`draws` for k = 1 … the number of fits, for the likelihood and the oracle."""
    ks = range(1, len(next(iter(seeds.values()))) + 1)
    return {name: [draws(seeds, rule, k) for k in ks] for name, rule in (("likelihood", by_likelihood),
                                                                          ("oracle", by_oracle))}


def draws_report(seeds: dict[int, list[dict[str, Any]]], curves: dict[str, list[dict[str, float]]]) -> list[str]:
    """Markdown: per number of restarts ``k``, the likelihood's and the oracle's `draw_curves`."""
    n = len(next(iter(seeds.values())))
    lines = [f"Had only k of the {n} fits been drawn: over every draw of k fits per data seed, the expected hits "
             f"and clear splits (of {len(seeds)}) when the likelihood keeps one, and when the oracle does; how "
             f"often the likelihood's fit is within {TIE} of the draw's best lowest identifiable correlation; and "
             f"how often both halves of the target hold in the median over the data seeds ({DRAW_SAMPLES} joint "
             "draws, one per data seed)", "",
             "| k | likelihood: hits | clear splits | keeps the draw's best | both halves in the median "
             "| oracle: hits | clear splits | both halves in the median |",
             "|---|---|---|---|---|---|---|---|"]
    for k, (mine, ceiling) in enumerate(zip(curves["likelihood"], curves["oracle"]), start=1):
        lines.append(f"| {k} | {mine['hits']:.2f} | {mine['clear_splits']:.2f} | {mine['keeps_best']:.0%} | "
                     f"{mine['in_median']:.0%} | {ceiling['hits']:.2f} | {ceiling['clear_splits']:.2f} | "
                     f"{ceiling['in_median']:.0%} |")
    return lines


def report(seeds: dict[int, list[dict[str, Any]]], chosen: dict[str, list[int]]) -> list[str]:
    """Markdown: the rules' table, then per data seed every fit's lowest identifiable correlation, violating
    share, −log p(x|u) and mean agreement, with the rules' choices."""
    fits = list(seeds.values())
    names = list(fits[0][0]["correlation"])
    lines = [f"{len(seeds)} data seeds, {len(fits[0])} fits each (learner seeds "
             f"{', '.join(offset_name(f['offset']) for f in fits[0])}); a hit: every identifiable node ≥ "
             f"{RECOVERED}; a clear split: the violating node's share > {SHARE_MARGIN}, every identifiable one's ≤",
             "",
             "| rule | hits | clear splits | " + " | ".join(f"median {n}" for n in names) + " | "
             + " | ".join(f"median share {n}" for n in names) + " |",
             "|---|---|---|" + "---|" * 2 * len(names)]
    for rule, picks in chosen.items():
        s = summary([f[i] for f, i in zip(fits, picks)])
        lines.append(f"| {rule} | {s['hits']} | {s['clear_splits']} | "
                     + " | ".join(f"{s['correlation'][n]:.3f}" for n in names) + " | "
                     + " | ".join(f"{s['share'][n]:.3f}" for n in names) + " |")
    violating = " + ".join(sorted(VIOLATING))
    lines += ["", f"Per data seed, each fit (learner seed): lowest identifiable correlation / {violating}'s share / "
                  "held-out −log p(x|u) (nats per row) / mean agreement with the other fits; L and A mark the "
                  "likelihood's and the agreement's choice", "",
              "| data seed | " + " | ".join(offset_name(f["offset"]) for f in fits[0]) + " |",
              "|---|" + "---|" * len(fits[0])]
    for (seed, mine), by_l, by_a in zip(seeds.items(), chosen["likelihood"], chosen["agreement"]):
        cells = [f"{f['lowest_identifiable']:.3f} / {violating_share(f):.3f} / {f['nll']:.3f} / {m:.3f}"
                 f"{' L' if i == by_l else ''}{' A' if i == by_a else ''}"
                 for i, (f, m) in enumerate(zip(mine, mean_agreement(mine)))]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    return lines


def violating_share(fit: dict[str, Any]) -> float:
    """The violating node's parents' share in a scored fit (the smallest, were there several)."""
    return min(fit["share"][n] for n in VIOLATING)


def plot(seeds: dict[int, list[dict[str, Any]]], chosen: dict[str, list[int]],
         curves: dict[str, list[dict[str, float]]], path: Path) -> None:
    """Per data seed, every fit's lowest identifiable correlation (left) and violating share (middle) as grey
    dots, the likelihood's and the agreement's choices marked, with the 0.9 and share-margin lines; right, the
    expected hits when only k fits had been drawn (`draw_curves`), the likelihood's choice against the oracle's."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), gridspec_kw={"width_ratios": [3, 3, 2]})
    x = np.arange(len(seeds))
    for ax, read, line, title in ((axes[0], lambda f: f["lowest_identifiable"], RECOVERED,
                                   "lowest identifiable correlation"),
                                  (axes[1], violating_share, SHARE_MARGIN,
                                   f"{' + '.join(sorted(VIOLATING))}'s parents' share (violates iv)")):
        values = np.array([[read(f) for f in fits] for fits in seeds.values()])
        ax.scatter(np.repeat(x, values.shape[1]), values.ravel(), color="lightgrey", label="every fit", zorder=1)
        for rule, marker, shift in (("likelihood", "v", -0.12), ("agreement", "^", 0.12)):
            ax.scatter(x + shift, values[x, chosen[rule]], marker=marker, label=f"{rule}'s choice", zorder=2)
        ax.axhline(line, color="grey", lw=0.5)
        ax.set_xticks(x, [str(s) for s in seeds], fontsize=8)
        ax.set(xlabel="data seed", title=title)
        ax.title.set_fontsize(9)
    axes[0].set_ylim(0, 1.02)
    axes[0].legend(loc="lower left", fontsize=7)
    ks = np.arange(1, len(curves["likelihood"]) + 1)
    for rule, style, name in (("likelihood", "o-", "likelihood's choice"),
                              ("oracle", "x--", "oracle's (reads the truth)")):
        axes[2].plot(ks, [d["hits"] for d in curves[rule]], style, label=name)
    axes[2].axhline(len(seeds), color="grey", lw=0.5)
    axes[2].set_xticks(ks)
    axes[2].set_ylim(0, len(seeds) + 0.5)
    axes[2].set(xlabel="fits drawn per data seed (k)", ylabel="expected hits",
                title=f"hits of {len(seeds)}, averaged over draws of k fits")
    axes[2].title.set_fontsize(9)
    axes[2].legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("refits", type=Path, help="a refit_<method>_<label>_latents.json from refit_fig2.py --keep-latents")
    args = p.parse_args()
    payload = json.loads(args.refits.read_text())
    runs = payload.get("runs") if isinstance(payload, dict) else None
    if not isinstance(runs, dict) or not all(isinstance(k, str) and re.fullmatch(r"\d+/\d+", k) for k in runs):
        raise IdentcheckError(f"{args.refits}: not an output of refit_fig2.py --keep-latents (a 'runs' mapping of "
                              "'data seed/learner seed' to fits)")
    seeds, left_out = grouped(payload, args.refits.with_suffix(""))
    if len(seeds) == 0 or len(next(iter(seeds.values()))) < 3:
        raise SystemExit(f"{args.refits.name}: no data seed holds 3 or more fits to choose among")
    if any(f["nll"] is None for fits in seeds.values() for f in fits):
        raise SystemExit(f"{args.refits.name}: the fits have no -log p(x|u) (not an exact-likelihood learner)")
    chosen, curves = choices(seeds), draw_curves(seeds)
    lines = report(seeds, chosen) + [""] + draws_report(seeds, curves)
    if left_out:
        lines += ["", f"Left out (not every learner seed fitted yet): data seeds {', '.join(map(str, left_out))}"]
    print("\n".join(lines))
    name = args.refits.stem.replace("refit_", "select_", 1)
    args.refits.with_name(f"{name}.md").write_text("\n".join(lines) + "\n")
    plot(seeds, chosen, curves, args.refits.with_name(f"{name}.png"))


if __name__ == "__main__":
    run_script(main)
