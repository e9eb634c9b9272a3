"""Does a Fig. 2 result hold across learner seeds, and does a learner option change it? Refits of stored runs.

A stored Fig. 2 run (``fig2_<method>[_node-pins].json`` from `bench_learner.py`) fixes the data, the split,
the pins and the learner's budget; its learner seed is the data seed. This script trains the same method on
the same data and split under other learner seeds (``--learner-seeds``; ``data`` is the data seed, as
stored), optionally with learner options set over the stored budget (``--set noise_floor=0.5``), and scores
every fit as `bench_learner.py` does: each node's matched correlation and parents' share, a **hit** when
every identifiable node reaches 0.9, a **clear split** when the violating node's share is above
`identcheck.verify.SHARE_MARGIN` and every identifiable node's is at most that.

    python benchmarks/refit_fig2.py benchmarks/results/learner/strength2_fig2/fig2_latent_mlp-greedy.json \\
        --learner-seeds 1 2 --set noise_floor=0.5 --set noise_floor_steps=6000

writes ``refit_<method>_<options>.json`` beside the stored file (``_base`` without options), one entry per
data seed and learner seed. It is saved after every fit, so a stopped run resumes where it stopped and
processes given different ``--seeds`` can share the file. Without options, learner seed ``data`` is the
stored run itself, read from the stored file rather than refitted (`diagnose_fig2_gaps.py` checks that a
refit reproduces it). With ``--against OTHER.json`` (an earlier output of this script) it prints the paired
comparison over the (data seed, learner seed) pairs that both hold: hits, clear splits, median
correlations, and how often the lowest identifiable correlation rose or fell by more than 0.01, with the
two-sided Wilcoxon p, and writes it with a drawing of the pairs beside the output
(``compare_<label>_vs_<label>.md`` and ``.png``).

With ``--keep-latents`` the output is ``refit_<method>_<options>_latents.json``: every fit is refitted (the
one under the stored seed and no options must reproduce the stored run, or the script stops), and each
keeps its held-out −log p(x|u), its restarts' validation objectives (``restart_val_losses_``) and, in the
folder of that name, its posterior means of the first `KEPT_ROWS` held-out rows. `select_restarts.py`
reads them; learner seeds ``data data+10 data+20`` give every data seed three distinct fits.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import wilcoxon

from bench_learner import RECOVERED, fig2_outcome, larger_share, node_recovery, plt
from diagnose_fig2_gaps import check_stored, model_nll, refit
from script_errors import run_script, stored_runs

TIE = 0.01  # lowest identifiable correlations closer than this count as unchanged in the paired comparison
KEPT_ROWS = 2000  # held-out rows whose posterior means --keep-latents stores: enough to compare fits to 0.01


def option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` read as a learner option, the value as JSON where it parses (numbers, true, null).

    >>> option("noise_floor=0.5"), option("order_search=greedy")
    (('noise_floor', 0.5), ('order_search', 'greedy'))
    """
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with KEY a learner option, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def learner_seed(text: str) -> int | str:
    """A learner seed: an integer, ``data`` for the data seed (the stored runs' choice), or ``data+K`` for the
    data seed plus K (distinct restarts on every data seed).

    >>> learner_seed("3"), learner_seed("data"), learner_seed("data+10")
    (3, 'data', 'data+10')
    """
    offset = text.removeprefix("data+")
    if text == "data" or (offset != text and offset.isdigit()):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a learner seed is an integer, 'data' or 'data+K', got {text!r}") from None


def seed_for(chosen: int | str, data_seed: int) -> int:
    """The learner seed that ``chosen`` (`learner_seed`) names on data seed ``data_seed``.

    >>> seed_for(3, 7), seed_for("data", 7), seed_for("data+10", 7)
    (3, 7, 17)
    """
    if isinstance(chosen, int):
        return chosen
    return data_seed + int(chosen.removeprefix("data").removeprefix("+") or 0)


def score(nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One fit's summary: per-node correlation and share, the lowest identifiable correlation, hit and split
    (`bench_learner.fig2_outcome`)."""
    outcome = fig2_outcome(nodes)
    return {"correlation": {k: v["correlation"] for k, v in nodes.items()},
            "share": {k: v["share"] for k, v in nodes.items()},
            **{k: outcome[k] for k in ("lowest_identifiable", "hit", "clear_split")}}


def outcome(reading: dict[str, Any]) -> dict[str, Any]:
    """`bench_learner.fig2_outcome` of a stored reading (`score`'s: per-node correlation and share).

    >>> outcome({"correlation": {"z1": 0.99, "z2": 0.8}, "share": {"z1": 0.0, "z2": 0.3}})["clear_split"]
    True
    """
    return fig2_outcome({n: {"correlation": c, "share": reading["share"][n]}
                         for n, c in reading["correlation"].items()})


def shared_runs(base: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """The ``data seed/learner seed`` keys both outputs hold, in seed order; stops when there are none."""
    keys = sorted(set(base["runs"]) & set(other["runs"]), key=lambda k: tuple(map(int, k.split("/"))))
    if not keys:
        raise SystemExit("the two files share no (data seed, learner seed) run")
    return keys


def compare(base: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """Markdown lines: ``other`` against ``base`` over the runs both hold (module docstring)."""
    keys = shared_runs(base, other)
    a = [base["runs"][k] for k in keys]
    b = [other["runs"][k] for k in keys]
    names = list(a[0]["correlation"])
    lines = [f"{len(keys)} paired runs (data seed/learner seed): {', '.join(keys)}", "",
             "| | " + " | ".join(f"median {n}" for n in names) + " | hits | clear splits |",
             "|---|" + "---|" * len(names) + "---|---|"]
    for label, runs in ((base["label"], a), (other["label"], b)):
        medians = " | ".join(f"{np.median([r['correlation'][n] for r in runs]):.3f}" for n in names)
        lines.append(f"| {label} | {medians} | {sum(r['hit'] for r in runs)} | "
                     f"{sum(r['clear_split'] for r in runs)} |")
    if all("share" in r for r in a + b):  # runs stored before the shares were kept have none
        lines += [""] + [f"- {label}: {larger_share([outcome(r) for r in runs])}" for label, runs in
                         ((base["label"], a), (other["label"], b))]
    diff = np.array([y["lowest_identifiable"] - x["lowest_identifiable"] for x, y in zip(a, b)])
    p = wilcoxon(diff).pvalue if np.any(diff) else 1.0
    lines += ["", f"lowest identifiable correlation, {other['label']} against {base['label']}: higher by more "
                  f"than {TIE} on {int((diff > TIE).sum())}, lower on {int((diff < -TIE).sum())}, within on "
                  f"{int((np.abs(diff) <= TIE).sum())}; median change {np.median(diff):+.3f}; two-sided "
                  f"Wilcoxon p = {p:.3g}"]
    return lines


def plot_pairs(base: dict[str, Any], other: dict[str, Any], path: Path) -> None:
    """The lowest identifiable correlation of each shared run, ``base`` across and ``other`` up, one marker per
    learner seed (the data seed's runs together), with the diagonal and the 0.9 lines."""
    keys = shared_runs(base, other)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    groups: dict[str, list[str]] = {}
    for k in keys:
        data_seed, seed = k.split("/")
        groups.setdefault("learner seed = data seed" if seed == data_seed else f"learner seed {seed}", []).append(k)
    for name, mine in sorted(groups.items()):
        ax.scatter([base["runs"][k]["lowest_identifiable"] for k in mine],
                   [other["runs"][k]["lowest_identifiable"] for k in mine], label=name)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.axhline(RECOVERED, color="grey", lw=0.5)
    ax.axvline(RECOVERED, color="grey", lw=0.5)
    ax.set(xlim=(0, 1.02), ylim=(0, 1.02))
    ax.set_xlabel(f"{base['label'].replace('_', ' ')}:\nlowest identifiable correlation", fontsize=8)
    ax.set_ylabel(f"{other['label'].replace('_', ' ')}:\nlowest identifiable correlation", fontsize=8)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save(out: Path, kept: dict[str, Any]) -> None:
    """Write ``kept`` to ``out``, keeping the runs that other processes (other ``--seeds``) wrote there
    meanwhile under the same settings and options; the file is locked while it is read and rewritten."""
    with open(out, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read()
        on_disk = json.loads(text) if text else {}
        if (on_disk.get("settings"), on_disk.get("options")) == (kept["settings"], kept["options"]):
            kept["runs"] = {**on_disk["runs"], **kept["runs"]}
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(kept, indent=1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stored", type=Path, help="a fig2_<method>[_node-pins].json written by bench_learner.py")
    p.add_argument("--learner-seeds", type=learner_seed, nargs="+", default=[1, 2],
                   help="integers, 'data' for the data seed or 'data+K' for it plus K (default: 1 2)")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="data seeds (default: every stored one); one the file does not hold is fitted on data "
                        "redrawn from its settings")
    p.add_argument("--set", type=option, action="append", default=[], metavar="KEY=VALUE",
                   help="a learner option over the stored budget; repeat for several")
    p.add_argument("--against", type=Path, default=None, help="an earlier output of this script to compare with")
    p.add_argument("--keep-latents", action="store_true",
                   help=f"refit the stored run too, and keep each fit's held-out -log p(x|u), its restarts' "
                        f"validation objectives and its posterior means of the first {KEPT_ROWS} held-out rows "
                        f"(for select_restarts.py)")
    args = p.parse_args()
    torch.set_num_threads(1)
    settings, runs = stored_runs(args.stored)
    method = next(iter(runs)).rpartition("/")[0]
    options = dict(args.set)
    label = "_".join(f"{k}-{v}" for k, v in options.items()) or "base"
    suffix = f"_{label}_latents" if args.keep_latents else f"_{label}"
    out = args.stored.with_name(args.stored.name.replace("fig2_", "refit_", 1).replace(".json", f"{suffix}.json"))
    latents = out.with_suffix("")
    kept = json.loads(out.read_text()) if out.exists() else {}
    if kept.get("settings") != settings or kept.get("options") != options:
        kept = {"settings": settings, "options": options, "source": args.stored.name, "label": label, "runs": {}}
    seeds = args.seeds if args.seeds is not None else sorted(int(k.rpartition("/")[2]) for k in runs)
    for seed in seeds:
        for chosen in args.learner_seeds:
            fit_seed = seed_for(chosen, seed)
            key = f"{seed}/{fit_seed}"
            if key in kept["runs"]:
                continue
            stored = runs.get(f"{method}/{seed}")  # None for a data seed the file does not hold: refitted
            is_stored = fit_seed == seed and not options and stored is not None  # the stored run's seed and budget
            if is_stored and not args.keep_latents:  # the stored run itself
                kept["runs"][key] = {**score(stored["nodes"]), "seconds": stored["seconds"], "stored": True}
            else:
                start = time.perf_counter()
                learner, data = refit(method, seed, settings, fit_seed, **options)
                z_hat = learner.transform(data.x, data.u)
                _, nodes = node_recovery(data, z_hat)
                kept["runs"][key] = {**score(nodes), "seconds": time.perf_counter() - start,
                                     "platform": platform.platform()}
                if args.keep_latents:
                    if is_stored:
                        check_stored(kept["runs"][key]["correlation"], stored, key)
                    kept["runs"][key]["nll"] = model_nll(learner, data) if settings["likelihood"] == "exact" else None
                    kept["runs"][key]["val_losses"] = learner.restart_val_losses_  # each restart's, own rows
                    latents.mkdir(exist_ok=True)
                    np.save(latents / f"{seed}_{fit_seed}.npy", z_hat[:KEPT_ROWS].astype(np.float32))
            save(out, kept)
            r = kept["runs"][key]
            print(f"{method} {label} {key}: " + " ".join(f"{k} {v:.3f}" for k, v in r["correlation"].items())
                  + f"  hit {r['hit']}  split {r['clear_split']}  {r['seconds']:.0f} s", flush=True)
    if args.against is not None:
        base = json.loads(args.against.read_text())
        lines, name = compare(base, kept), f"compare_{base['label']}_vs_{label}"
        print("\n".join(lines))
        out.with_name(f"{name}.md").write_text("\n".join(lines) + "\n")
        plot_pairs(base, kept, out.with_name(f"{name}.png"))


if __name__ == "__main__":
    run_script(main)
