"""Benchmark of the learners on the paper's synthetic data (SPEC §6): Fig. 1 and Fig. 2 of the paper.

Fig. 1 (full identifiability): for ℓ in --latents and each seed, `identcheck.datasets.synthetic(ℓ,
--segments, --samples-per-segment, seed)` is fitted by every learner in --methods with the same budget
(--epochs, learners' defaults otherwise); we report the MPC of z and of n (Pearson, posterior means,
on the fitted rows by default; with --held-out F, fitted on a random 1 − F of the rows and scored on the
other F, the fitted rows' MPC of z stored beside it as ``mpc_fitted``), the SHD of the learned graph at
τ = 0.1 after the MPC relabelling (learners with mechanisms), the wall time of the whole fit (all restarts)
and the training throughput of the kept run (training samples × epochs / second), and per non-root node the
parents' share of the matched latent within each segment, beside the true noise n's (`segment_shares`).
Every learner gets the data's reference environments (the learners without mechanisms ignore them).
--strength S draws both figures' data with `strength=S` (the mechanisms' output weights times S; default 1,
App. F's recipe), which pulls z away from n; --gain G with `gain=G` (the tanh units' input weights times G,
default 1), which makes each mechanism less linear within a segment; --reference-segments K with λ = 0 in the
first K segments instead of the first one (every edge but Fig. 2's invariant one; the pins follow).
A method written ``<name>:<preset>`` is that learner with the arguments of `identcheck.learn.PRESETS`, all on
the exact likelihood (an invertible flow x -> ẑ instead of the ELBO; d = ℓ): ``:exact`` from a random start,
with its own budget (--exact-epochs, --exact-lr, --exact-restarts); ``:pretrained`` started from its no-edge
(iVAE) solution, with a fixed budget (one restart); ``:ordered`` adds the search over slot orders of that
solution (ℓ! short runs); ``:greedy`` screens the orders greedily from the root slot down instead
(ℓ + (ℓ-1)(ℓ-2)/2 runs, 11 at ℓ = 5). Runs of the last two record the order chosen (``slot_order``).

Fig. 2 (partial identifiability): `identcheck.datasets.partial(--partial-latents, ...)` keeps the edge
z1 -> z2 invariant, so z2 violates (iv) and Theorem 2.5 makes it unidentifiable while the other nodes stay
identifiable. For --partial-methods we report each node's matched correlation and the parents' share
(`identcheck.learn.parent_share`: R² of the matched ẑ_i on (z_i, z_pa(i)) minus R² on z_i alone), pooled and
within segments, beside the true noise n_i's (what a learner that recovers n_i would show), and per seed
whether each half of the target is met (`fig2_seed_table`). The learner's pins come from the checker: one
set for every node as `identcheck verify` does (--pins global, the default), or node-wise references that
leave the violating node unpinned (--pins node).

Targets (2-core CPU): `latent_mlp` median MPC >= 0.9 at ℓ = 5 on 50 × 1000; >= 0.05 above iVAE and 0.15
above VAE / β-VAE; one ℓ = 5 fit under 10 minutes; identifiable nodes >= 0.9 in Fig. 2 with a clearly larger
parents' share for the violating node.

    python benchmarks/bench_learner.py --quick            # a smoke run, about a minute
    python benchmarks/bench_learner.py --latents 5 --methods latent_mlp:exact ivae:exact latent_mlp:pretrained \
        --partial-methods latent_mlp:exact ivae:exact latent_mlp:pretrained --epochs 100   # about 1.5 h, 2 cores
    nohup python benchmarks/bench_learner.py > bench.log 2>&1 &   # the full run, hours on 2 cores

Writes benchmarks/results/learner/{fig1_<method>_l<ℓ>.json, fig2_<method>.json, results.md, fig1_mpc.png,
fig2_partial.png} (or under --out; with --pins node: fig2_<method>_node-pins.json, results_node-pins.md,
fig2_partial_node-pins.png). Runs already stored with the same settings are reused, so an
interrupted run resumes. --jobs N runs N fits side by side (one torch thread each; the same fits as one after
another). Each figure, method and ℓ has its own JSON, so processes may also split the work by --latents,
--methods or --skip-fig1 / --skip-fig2; rerun with --skip-fig1 --skip-fig2 to rebuild the
tables and plots from everything stored.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from statistics import median
from typing import Any, Iterator, Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import binomtest  # noqa: E402

from identcheck import check  # noqa: E402
from identcheck.cli.common import at_least  # noqa: E402
from identcheck.datasets import partial, synthetic  # noqa: E402
from identcheck.learn import (LEARNERS, MPC, PRESETS, CausalLearner, make_learner, mpc,  # noqa: E402
                              parent_share, shd, shd_curve)
from identcheck.learn.model import References  # noqa: E402
from identcheck.simulate import Dataset  # noqa: E402
from identcheck.verify import _split as held_out_rows  # noqa: E402  (verify's own train / held-out split)
from identcheck.verify import SHARE_MARGIN, choose_pins, node_pins  # noqa: E402
from script_errors import run_script  # noqa: E402

OUT = Path(__file__).parent / "results" / "learner"
THRESHOLDS = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
#: ``<name>:<preset>`` trains that learner with the arguments of `identcheck.learn.PRESETS` (the ``exact``
#: preset's epochs, lr and restarts come from --exact-epochs, --exact-lr and --exact-restarts).
METHODS = sorted(LEARNERS) + [f"{name}:{preset}" for preset in PRESETS for name in sorted(LEARNERS)]
VIOLATING = {"z2"}  # the child of the invariant edge z1 -> z2 in `partial`'s default
RECOVERED = 0.9  # Fig. 2's target: an identifiable node is recovered at this matched correlation


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny smoke run: l = 2, 3; 10 x 200 samples; 2 seeds; 20 epochs (each unless given)")
    p.add_argument("--latents", type=at_least(1), nargs="+", default=None, metavar="L",
                   help="the l of Fig. 1 (default 2 3 4 5)")
    p.add_argument("--seeds", type=at_least(1), default=None,
                   help="number of seeds (data and learner), 0..k-1 (default 3)")
    p.add_argument("--methods", nargs="+", default=sorted(LEARNERS), choices=METHODS, metavar="METHOD",
                   help="learner names (default: the six learners); <name>:<preset> trains that learner with "
                        f"a preset of identcheck.learn.PRESETS ({', '.join(PRESETS)}), on the exact likelihood")
    p.add_argument("--segments", type=at_least(1), default=None, help="segments of the data (default 50)")
    p.add_argument("--samples-per-segment", type=at_least(2), default=None, help="rows per segment (default 1000)")
    p.add_argument("--epochs", type=at_least(1), default=None, help="epoch budget for every learner (default: theirs)")
    p.add_argument("--restarts", type=at_least(1), default=1, help="restarts per fit, for every learner (default 1)")
    p.add_argument("--exact-epochs", type=at_least(1), default=300, help="epochs of the :exact methods (default 300)")
    p.add_argument("--exact-lr", type=float, default=3e-3, help="lr of the :exact methods (default 3e-3)")
    p.add_argument("--exact-restarts", type=at_least(1), default=2,
                   help="restarts of the :exact methods, kept by held-out likelihood (default 2)")
    p.add_argument("--partial-latents", type=at_least(2), default=3, help="l of Fig. 2's data (default 3)")
    p.add_argument("--partial-methods", nargs="+", default=["latent_mlp", "ivae"], choices=METHODS, metavar="METHOD",
                   help="the Fig. 2 methods, written as for --methods (default latent_mlp ivae)")
    p.add_argument("--pins", choices=["global", "node"], default="global",
                   help="Fig. 2 pinning from the checker: one set for every node, as `identcheck verify` does "
                        "(global, the default), or each node in its own references, leaving the violating "
                        "node unpinned (node)")
    p.add_argument("--strength", type=float, default=1.0,
                   help="the data's mechanism strength (`synthetic` and `partial`; default 1, App. F's recipe): "
                        "larger pulls z away from its noise n, so MPC of z tells recovering z from recovering n")
    p.add_argument("--gain", type=float, default=1.0,
                   help="the data's mechanism gain (`synthetic` and `partial`; default 1, App. F's recipe): "
                        "larger makes the tanh units saturate, so each mechanism is less linear within a segment")
    p.add_argument("--reference-segments", type=int, default=1, metavar="K",
                   help="λ = 0 in the first K segments (`synthetic` and `partial`; default 1, App. F's recipe): "
                        "more pinned segments make the likelihood prefer Fig. 2's witness to the true z2 more")
    p.add_argument("--held-out", type=float, default=0.0,
                   help="fraction of the rows held out of the fit and scored (default 0: score the fitted "
                        "rows, as the stored tables do)")
    p.add_argument("--jobs", type=int, default=1,
                   help="fits run side by side in this many processes, one torch thread each (default 1); each "
                        "run is stored as it ends, and the fits are the same as in one process")
    p.add_argument("--skip-fig1", action="store_true")
    p.add_argument("--skip-fig2", action="store_true")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    # --quick's sizes, or the full benchmark's, for whatever was not given
    defaults = {"latents": [2, 3], "segments": 10, "samples_per_segment": 200, "seeds": 2, "epochs": 20} \
        if args.quick else {"latents": [2, 3, 4, 5], "segments": 50, "samples_per_segment": 1000, "seeds": 3}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.quick:
        args.out = args.out / "quick"
    if not 0 <= args.held_out < 1:
        p.error(f"--held-out must be in [0, 1), got {args.held_out}")
    for name in ("strength", "gain", "exact_lr"):
        if not 0 < getattr(args, name) < float("inf"):
            p.error(f"--{name.replace('_', '-')} must be a positive number, got {getattr(args, name)}")
    if args.jobs < 1:
        p.error(f"--jobs must be a positive integer, got {args.jobs}")
    if not 1 <= args.reference_segments <= args.segments:
        p.error(f"--reference-segments must be in 1..{args.segments} (the segments), got {args.reference_segments}")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        p.error(f"cannot create --out {args.out} ({exc.strerror or type(exc).__name__})")
    return args


def reproduce(args: argparse.Namespace, results: dict[str, Any]) -> str:
    """The command line that computes every run of the tables (in one process); a figure without runs is
    skipped."""
    parts = ["python benchmarks/bench_learner.py", f"--latents {' '.join(map(str, args.latents))}",
             f"--seeds {args.seeds}", f"--methods {' '.join(args.methods)}", f"--segments {args.segments}",
             f"--samples-per-segment {args.samples_per_segment}", f"--restarts {args.restarts}",
             f"--partial-methods {' '.join(args.partial_methods)}", f"--pins {args.pins}"]
    parts += [f"--epochs {args.epochs}"] if args.epochs is not None else []
    parts += [f"--held-out {args.held_out}"] if args.held_out else []
    parts += [f"--strength {args.strength:g}"] if args.strength != 1 else []
    parts += [f"--gain {args.gain:g}"] if args.gain != 1 else []
    parts += [f"--reference-segments {args.reference_segments}"] if args.reference_segments != 1 else []
    if any(m.endswith(":exact") for m in args.methods + args.partial_methods):
        parts += [f"--exact-epochs {args.exact_epochs} --exact-lr {args.exact_lr} "
                  f"--exact-restarts {args.exact_restarts}"]
    parts += [f"--out {args.out}"] if args.out != OUT else []
    parts += [f"--skip-{fig_name}" for fig_name in ("fig1", "fig2") if not results[fig_name]]
    return " ".join(parts)


def budget(method: str, args: argparse.Namespace) -> dict[str, Any]:
    """The learner arguments a method's runs are trained with (stored with its runs)."""
    preset = method.partition(":")[2]
    if preset == "exact":
        return {**PRESETS["exact"], "epochs": args.exact_epochs, "lr": args.exact_lr, "restarts": args.exact_restarts}
    if preset:
        return dict(PRESETS[preset])
    return {"restarts": args.restarts, **({} if args.epochs is None else {"epochs": args.epochs})}


def fit(method: str, data: Dataset, seed: int, args: argparse.Namespace,
        references: References) -> tuple[Any, float]:
    learner = make_learner(method.split(":")[0], latent_dim=len(data.latents), reference_envs=references,
                           seed=seed, progress=False, **budget(method, args))
    start = time.perf_counter()
    learner.fit(data.x, data.u)
    return learner, time.perf_counter() - start


def data_recipe(options: Mapping[str, Any]) -> dict[str, Any]:
    """The data arguments both figures share, from the command's options or a stored run's settings (which omit
    App. F's values): strength, gain and, when not App. F's one, the first ``reference_segments`` segments.

    >>> data_recipe({"gain": 2.0, "reference_segments": 3})
    {'strength': 1.0, 'gain': 2.0, 'reference_segment': (0, 1, 2)}
    """
    references = options.get("reference_segments", 1)
    return {"strength": options.get("strength", 1.0), "gain": options.get("gain", 1.0),
            **({"reference_segment": tuple(range(references))} if references != 1 else {})}


def fig1_run(method: str, ell: int, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    fitted, data = split(synthetic(ell, args.segments, args.samples_per_segment, seed, **data_recipe(vars(args))),
                         args.held_out, seed)
    learner, seconds = fit(method, fitted, seed, args, list(data.reference_envs))
    z_hat = learner.transform(data.x, data.u)
    z_score = mpc(data.z, z_hat)
    epochs = len(learner.history_["train_loss"])
    n_train = round((1 - learner.validation_fraction) * len(fitted.x))
    row = {"mpc": z_score.value, "mpc_per_node": z_score.per_node.tolist(),
           "mpc_noise": mpc(data.n, learner.noise(data.x, data.u)).value, "seconds": seconds, "epochs": epochs,
           "best_epoch": learner.best_epoch_, "restart_val_objectives": learner.restart_val_losses_,
           "samples_per_second": n_train * epochs / learner.history_["seconds"][-1],  # kept run's training
           "segment_parent_share": segment_shares(data, z_hat[:, z_score.assignment]),
           "noise_segment_parent_share": segment_shares(data, data.n), **fitted_rows_mpc(learner, fitted, args)}
    if isinstance(learner, CausalLearner):
        row["shd"] = shd(data.adjacency, learner.graph(0.1), z_score.assignment).to_dict()
        row["shd_curve"] = dict(zip(map(str, THRESHOLDS),
                                    shd_curve(data.adjacency, learner.edge_strengths_, z_score.assignment,
                                              THRESHOLDS).tolist()))
    return {**row, **slot_order(learner)}


def fig2_run(method: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    fitted, data = split(partial(args.partial_latents, args.segments, args.samples_per_segment, seed,
                                 **data_recipe(vars(args))), args.held_out, seed)
    learner, seconds = fit(method, fitted, seed, args, partial_references(data, args.pins))
    score, nodes = node_recovery(data, learner.transform(data.x, data.u))
    return {"mpc": score.value, "nodes": nodes, "seconds": seconds,
            "restart_val_objectives": learner.restart_val_losses_, **slot_order(learner),
            **fitted_rows_mpc(learner, fitted, args)}


Job = tuple[str, str, int | None, int]  # figure, method, ℓ (Fig. 1 only), seed


def run_key(fig_name: str, method: str, ell: int | None, seed: int) -> str:
    """A run's key in its figure's stored runs."""
    return f"{method}/{ell}/{seed}" if fig_name == "fig1" else f"{method}/{seed}"


def run_job(job: Job, args: argparse.Namespace) -> dict[str, Any]:
    """One fit of a figure and its readings."""
    fig_name, method, ell, seed = job
    return fig1_run(method, ell, seed, args) if fig_name == "fig1" else fig2_run(method, seed, args)


def run_all(jobs: list[Job], args: argparse.Namespace) -> Iterator[tuple[Job, dict[str, Any]]]:
    """Every job with its run, in order with ``--jobs 1``, else as each of ``--jobs`` processes ends one. Each fit
    seeds itself and uses one torch thread, so a process gives the fit the main process would."""
    if args.jobs == 1 or len(jobs) < 2:
        yield from ((job, run_job(job, args)) for job in jobs)
        return
    # spawn, not fork: a forked child can hang in an OpenMP pool the parent's torch already started
    pool = ProcessPoolExecutor(min(args.jobs, len(jobs)), mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(run_job, job, args): job for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:  # on an error or an interrupt, fits not yet started never start
        pool.shutdown(wait=False, cancel_futures=True)


def split(data: Dataset, held_out: float, seed: int) -> tuple[Dataset, Dataset]:
    """The rows to fit and the rows to score: all rows twice without a held-out fraction, else a random
    ``held_out`` of the rows (drawn with ``seed``) to score and the rest to fit."""
    if not held_out:
        return data, data

    def rows(r: np.ndarray) -> Dataset:
        return replace(data, x=data.x[r], u=data.u[r], z=data.z[r], n=data.n[r])

    fit_rows, score_rows = held_out_rows(len(data.u), seed, held_out)
    return rows(fit_rows), rows(score_rows)


def fitted_rows_mpc(learner: Any, fitted: Dataset, args: argparse.Namespace) -> dict[str, float]:
    """With --held-out, the MPC of z on the rows the learner was fitted on (``mpc_fitted``), to set beside the
    held-out one; nothing otherwise (the two would be the same rows)."""
    return {"mpc_fitted": mpc(fitted.z, learner.transform(fitted.x, fitted.u)).value} if args.held_out else {}


def segment_shares(data: Dataset, z_hat: np.ndarray) -> dict[str, float]:
    """Per non-root node, the parents' share of ``z_hat``'s column for it within each segment
    (`parent_share` with ``u``): 0 for a learner that recovers z, what the true noise n scores for one that
    recovers n, which MPC of z hardly tells apart on these data."""
    return {name: parent_share(z_hat[:, i], data.z[:, i], data.z[:, np.flatnonzero(data.adjacency[:, i])],
                               u=data.u).share
            for i, name in enumerate(data.latents) if data.adjacency[:, i].any()}


def slot_order(learner: Any) -> dict[str, list[int]]:
    """The slot order a searching learner chose (``order_search_epochs``), for its run's record."""
    return {"slot_order": learner.history_["slot_order"]} if "slot_order" in learner.history_ else {}


def node_recovery(data: Dataset, z_hat: np.ndarray) -> tuple[MPC, dict[str, dict[str, Any]]]:
    """The MPC matching of ``z_hat`` to the true latents, and per true node its matched correlation and the
    parents' share of its matched latent (`parent_share`), pooled and within segments (``segment_share``),
    beside the true noise n_i's, read as ẑ_i (``noise_share``, ``noise_segment_share``): what a learner that
    recovers n_i would show, the scale against which the violating node's share is read."""
    score = mpc(data.z, z_hat)
    nodes = {}
    for i, name in enumerate(data.latents):
        columns = np.flatnonzero(data.adjacency[:, i])
        parents, matched = data.z[:, columns], z_hat[:, score.assignment[i]]
        nodes[name] = {"correlation": float(score.per_node[i]), "violating": name in VIOLATING,
                       "parents": [data.latents[j] for j in columns],
                       **parent_share(matched, data.z[:, i], parents).to_dict(),
                       "segment_share": parent_share(matched, data.z[:, i], parents, u=data.u).share,
                       "noise_share": parent_share(data.n[:, i], data.z[:, i], parents).share,
                       "noise_segment_share": parent_share(data.n[:, i], data.z[:, i], parents, u=data.u).share}
    return score, nodes


def partial_references(data: Dataset, pins: str) -> References:
    """The learner's reference environments on `partial` data, from the checker: ``node``, each non-root
    node in its own node-wise references (`node_pins`; the violating node stays unpinned); ``global``, one
    set for every node (`choose_pins`, as `identcheck verify` does; the violating node is pinned where its
    true mechanism does not vanish)."""
    report = check(data.scm)
    return node_pins(data.scm, report) if pins == "node" else list(choose_pins(data.scm, report).environments)


def store(out: Path, fig_name: str, method: str, ell: int | None, pins: str) -> Path:
    """One JSON file per figure, method and ℓ (``fig1_latent_mlp_l5.json``, ``fig2_ivae.json``,
    ``fig2_ivae_node-pins.json``), so that several processes can share the work."""
    name = method.replace(":", "-")
    if ell is not None:
        return out / f"{fig_name}_{name}_l{ell}.json"
    return out / (f"{fig_name}_{name}.json" if pins == "global" else f"{fig_name}_{name}_{pins}-pins.json")


def method_settings(settings: dict[str, Any], fig_name: str, method: str, args: argparse.Namespace) -> dict[str, Any]:
    """The settings stored with a method's runs: the shared ones, plus the budget of an :exact or :pretrained
    method, plus the pinning of Fig. 2."""
    stored = {**settings, **budget(method, args)} if ":" in method else dict(settings)
    return {**stored, "pins": args.pins} if fig_name == "fig2" else stored


def load(out: Path, settings: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Stored runs, dropped when their settings differ, the machines they were fitted on (``stored_on``), and
    each kept file's own machine field (``file_machines``), which a resumed file keeps."""
    results: dict[str, Any] = {"settings": settings, "fig1": {}, "fig2": {}, "stored_on": set(), "file_machines": {}}
    files = [("fig1", m, ell) for m in args.methods for ell in args.latents]
    files += [("fig2", m, None) for m in args.partial_methods]
    for fig_name, method, ell in files:
        path = store(out, fig_name, method, ell, args.pins)
        stored = json.loads(path.read_text()) if path.exists() else {}
        if stored.get("settings") == method_settings(settings, fig_name, method, args) and stored["runs"]:
            results[fig_name].update(stored["runs"])
            machine = results["file_machines"][path] = stored.get("machine", {})
            # a run fitted since runs named their machine carries its own platform; older ones the file's
            older = machine.get("platform", "an unrecorded machine")
            results["stored_on"] |= {run.get("platform", older) for run in stored["runs"].values()}
    return results


def save(out: Path, fig_name: str, method: str, ell: int | None, results: dict[str, Any],
         args: argparse.Namespace) -> None:
    prefix = f"{method}/{ell}/" if ell is not None else f"{method}/"
    runs = {k: v for k, v in results[fig_name].items() if k.startswith(prefix)}
    path = store(out, fig_name, method, ell, args.pins)
    # the file's machine is the one its first runs were fitted on; every run names its own platform
    payload = {"settings": method_settings(results["settings"], fig_name, method, args),
               "machine": results["file_machines"].get(path, results["machine"]), "runs": runs}
    path.write_text(json.dumps(payload, indent=1))


def fig1_table(results: dict[str, Any], args: argparse.Namespace) -> list[str]:
    lines = ["## Fig. 1: MPC of z (median over seeds [min, max]), ℓ = number of latents", "",
             "| method | " + " | ".join(f"ℓ={ell}" for ell in args.latents)
             + " | median s/fit at max ℓ | samples/s |",
             "|---|" + "---|" * (len(args.latents) + 2)]
    for method in args.methods:
        cells, last = [], []
        for ell in args.latents:
            runs = [results["fig1"].get(f"{method}/{ell}/{s}") for s in range(args.seeds)]
            runs = [r for r in runs if r]
            last = runs or last
            vals = [r["mpc"] for r in runs]
            cells.append(f"{median(vals):.3f} [{min(vals):.3f}, {max(vals):.3f}]" if vals else "–")
        secs = f"{median(r['seconds'] for r in last):.0f}" if last else "–"
        sps = f"{median(r['samples_per_second'] for r in last):.0f}" if last else "–"
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {secs} | {sps} |")
    shd_rows = [(m, ell, [results["fig1"][k]["shd"]["value"] for k in results["fig1"]
                          if k.startswith(f"{m}/{ell}/") and "shd" in results["fig1"][k]])
                for m in args.methods for ell in args.latents]
    shd_rows = [(m, ell, v) for m, ell, v in shd_rows if v]
    gaps = [r["mpc"] - r["mpc_fitted"] for r in results["fig1"].values() if "mpc_fitted" in r]
    if gaps:
        lines += ["", f"Scored on the held-out {args.held_out:g} of the rows; the same fits' MPC on their fitted "
                      f"rows differs by {min(gaps):+.4f} to {max(gaps):+.4f} (held-out minus fitted, "
                      f"{len(gaps)} fits)."]
    if shd_rows:
        lines += ["", "SHD at τ = 0.1 after MPC relabelling (median over seeds):", "",
                  "| method | ℓ | SHD |", "|---|---|---|"]
        lines += [f"| {m} | {ell} | {median(v):.1f} |" for m, ell, v in shd_rows]
    return lines + share_table(results, args)


def share_table(results: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """Fig. 1's within-segment parents' share (`segment_shares`, mean over the non-root nodes, median over
    seeds, then per seed in seed order), beside the true noise n's."""
    rows = []
    for m in args.methods:
        for ell in args.latents:
            runs = [r for s in range(args.seeds)  # in seed order, whichever order --jobs stored them in
                    if "segment_parent_share" in (r := results["fig1"].get(f"{m}/{ell}/{s}", {}))]
            if runs:
                learned, noise = ([float(np.mean(list(r[key].values()))) for r in runs]
                                  for key in ("segment_parent_share", "noise_segment_parent_share"))
                rows.append(f"| {m} | {ell} | {median(learned):.3f} ({' / '.join(f'{v:.3f}' for v in learned)}) | "
                            f"{median(noise):.3f} |")
    if not rows:
        return []
    return ["", "Parents' share within segments (mean over non-root nodes; median (per seed)), and the true noise "
                "n's, read as ẑ: 0 means z recovered, the n column means n recovered:", "",
            "| method | ℓ | recovered | true n |", "|---|---|---|---|"] + rows


def fig2_table(results: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """Fig. 2's medians over seeds per method and node; runs that record the shares within segments and the
    true noise's (`node_recovery`) add those columns and a table per seed (`fig2_seed_table`)."""
    stored = results["fig2"]
    by_method = {m: runs for m in args.partial_methods
                 if (runs := {s: stored[f"{m}/{s}"] for s in range(args.seeds) if f"{m}/{s}" in stored})}
    noise = all("noise_share" in node for runs in by_method.values() for r in runs.values()
                for node in r["nodes"].values())
    keys = ("correlation", "share") + (("segment_share", "noise_share", "noise_segment_share") if noise else ())
    extra = " within segments | true n (pooled / within) |" if noise else ""
    lines = [f"## Fig. 2: partial identifiability (z1 -> z2 invariant, so z2 violates (iv)); {args.pins} pins", "",
             "| method | node | violating | correlation (median) | parents' share (median) |" + extra,
             "|---|---|---|---|---|" + ("---|---|" if noise else "")]
    for method, runs in by_method.items():
        for node in next(iter(runs.values()))["nodes"]:
            cells = [median(r["nodes"][node][key] for r in runs.values()) for key in keys]
            row = f"| {method} | {node} | {'yes' if node in VIOLATING else 'no'} | {cells[0]:.3f} | {cells[1]:.3f} |"
            lines.append(row + (f" {cells[2]:.3f} | {cells[3]:.3f} / {cells[4]:.3f} |" if noise else ""))
    return lines + (fig2_seed_table(by_method) if noise else [])


def lowest_identifiable(nodes: dict[str, dict[str, Any]]) -> float:
    """The lowest matched correlation among a Fig. 2 run's identifiable nodes (every node but ``VIOLATING``);
    the run is a hit when it reaches ``RECOVERED``."""
    return min(v["correlation"] for n, v in nodes.items() if n not in VIOLATING)


def fig2_outcome(nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One Fig. 2 run (`node_recovery`'s nodes) read against the target: the identifiable nodes' lowest
    correlation and largest parents' share, the violating node's share (pooled), a **hit** (every
    identifiable node >= ``RECOVERED``) and a **clear split** (`identcheck verify`'s rule: the violating share
    above ``SHARE_MARGIN``, every identifiable share at most that)."""
    low = lowest_identifiable(nodes)
    top = max(v["share"] for n, v in nodes.items() if n not in VIOLATING)
    share = min(v["share"] for n, v in nodes.items() if n in VIOLATING)
    return {"lowest_identifiable": low, "largest_identifiable_share": top, "violating_share": share,
            "hit": low >= RECOVERED, "clear_split": bool(share > SHARE_MARGIN >= top)}


def larger_share(outcomes: list[dict[str, Any]]) -> str:
    """Markdown: over runs (`fig2_outcome`s, one per seed), on how many the violating node's parents' share is
    above every identifiable node's, with a one-sided sign test (each run a coin flip if the two were alike)
    and the two medians. Fig. 2's second half read across seeds: a fit that recovers the violating node shows
    it about as often as an identified one, where the per-run clear split (``SHARE_MARGIN``) also asks each
    share to pass a fixed size the data allow on some seeds only.

    >>> larger_share([{"violating_share": 0.2, "largest_identifiable_share": 0.01}] * 9
    ...              + [{"violating_share": 0.0, "largest_identifiable_share": 0.01}])
    'violating share above every identifiable one on 9 of 10 (one-sided sign test p = 0.011; medians 0.200 / 0.010)'
    """
    above = sum(o["violating_share"] > o["largest_identifiable_share"] for o in outcomes)
    p = binomtest(above, len(outcomes), alternative="greater").pvalue
    medians = [median(o[key] for o in outcomes) for key in ("violating_share", "largest_identifiable_share")]
    return (f"violating share above every identifiable one on {above} of {len(outcomes)} (one-sided sign test "
            f"p = {p:.2g}; medians {medians[0]:.3f} / {medians[1]:.3f})")


def fig2_seed_table(by_method: dict[str, dict[int, dict[str, Any]]]) -> list[str]:
    """Per method and seed: the identifiable nodes' lowest correlation, and the parents' share of the violating
    node against the largest of the identifiable nodes' and against the true noise's (pooled shares). The
    split is clear when it is `identcheck verify`'s: the violating share above ``SHARE_MARGIN`` (told apart
    from an identified recovery), every identifiable one at most that. The data allow it where the true
    noise's share is above the margin. Then how many seeds meet each half of the target."""
    lines = ["", f"Fig. 2 per seed (pooled parents' shares; identifiable = every node but the violating one; clear: "
                 f"violating share > {SHARE_MARGIN:g} >= every identifiable share, as `identcheck verify` tells "
                 f"them apart):", "",
             "| method | seed | lowest identifiable correlation | violating share | largest identifiable share "
             "| true n's share (violating) | clear |", "|---|---|---|---|---|---|---|"]
    summary = []
    for method, runs in by_method.items():
        met_corr = clear = both = allowed = clear_allowed = 0
        outcomes = []
        for seed, r in runs.items():
            o = fig2_outcome(r["nodes"])
            outcomes.append(o)
            low, top, split = o["lowest_identifiable"], o["largest_identifiable_share"], o["clear_split"]
            share = o["violating_share"]
            ceiling = min(v["noise_share"] for n, v in r["nodes"].items() if n in VIOLATING)
            met_corr, clear, both = met_corr + o["hit"], clear + split, both + (split and o["hit"])
            allowed += ceiling > SHARE_MARGIN
            clear_allowed += split and ceiling > SHARE_MARGIN
            lines.append(f"| {method} | {seed} | {low:.3f} | {share:.3f} | {top:.3f} | {ceiling:.3f} | "
                         f"{'yes' if split else 'no'} |")
        summary.append(f"- {method}: every identifiable node >= 0.9 on {met_corr} of {len(runs)} seeds; a clear "
                       f"split on {clear} of {len(runs)}, {clear_allowed} of the {allowed} where the true noise's "
                       f"share is above {SHARE_MARGIN:g}; both halves on {both} of {len(runs)}; "
                       f"{larger_share(outcomes)}.")
    return lines + [""] + summary


def plot(results: dict[str, Any], args: argparse.Namespace) -> None:
    if results["fig1"]:
        fig, ax = plt.subplots(figsize=(7, 4))
        for k, method in enumerate(args.methods):
            labelled = False
            for ell in args.latents:
                vals = [results["fig1"][f"{method}/{ell}/{s}"]["mpc"] for s in range(args.seeds)
                        if f"{method}/{ell}/{s}" in results["fig1"]]
                if vals:
                    xs = ell + (k - len(args.methods) / 2) * 0.1
                    label, labelled = (None if labelled else method), True
                    ax.scatter([xs] * len(vals), vals, s=12, color=f"C{k}", label=label)
                    ax.plot([xs - 0.04, xs + 0.04], [median(vals)] * 2, color=f"C{k}")
        ax.set(xlabel="number of latents ℓ", ylabel="MPC of z", title="Fig. 1: identifiable synthetic data",
               xticks=args.latents, ylim=(0, 1.02))
        ax.legend(fontsize=7, loc="lower left")
        fig.tight_layout()
        fig.savefig(args.out / "fig1_mpc.png", dpi=120)
        plt.close(fig)
    if results["fig2"]:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        width = 0.8 / len(args.partial_methods)  # one group per node, one bar per method
        for k, method in enumerate(args.partial_methods):
            runs = [results["fig2"][f"{method}/{s}"] for s in range(args.seeds) if f"{method}/{s}" in results["fig2"]]
            if not runs:
                continue
            names = list(runs[0]["nodes"])
            for ax, key in zip(axes, ("correlation", "share")):
                vals = [median(r["nodes"][n][key] for r in runs) for n in names]
                ax.bar(np.arange(len(names)) + width * (k - (len(args.partial_methods) - 1) / 2), vals,
                       width=width, color=f"C{k}", label=method)
                labels = [n + (" (violates iv)" if n in VIOLATING else "") for n in names]
                ax.set_xticks(np.arange(len(names)), labels, fontsize=7)
        axes[0].set(title="matched correlation", ylim=(0, 1.02))
        axes[1].set(title="parents' share of Var(ẑ_i)")
        axes[1].legend(fontsize=7, loc="upper left")
        fig.suptitle(f"Fig. 2: partial identifiability ({args.pins} pins)")
        fig.tight_layout()
        fig.savefig(args.out / ("fig2_partial.png" if args.pins == "global" else f"fig2_partial_{args.pins}-pins.png"),
                    dpi=120)
        plt.close(fig)


def main() -> None:
    args = parse_args()
    settings = {"segments": args.segments, "samples_per_segment": args.samples_per_segment, "epochs": args.epochs,
                "restarts": args.restarts, "partial_latents": args.partial_latents,
                # held_out absent at 0, strength, gain and reference_segments at 1, as in the runs stored before
                # they existed
                **({"held_out": args.held_out} if args.held_out else {}),
                **({"strength": args.strength} if args.strength != 1 else {}),
                **({"gain": args.gain} if args.gain != 1 else {}),
                **({"reference_segments": args.reference_segments} if args.reference_segments != 1 else {})}
    results = load(args.out, settings, args)
    results["machine"] = {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                          "torch": torch.__version__, "cuda": torch.cuda.is_available()}
    jobs = [] if args.skip_fig1 else [("fig1", m, ell, s) for ell in args.latents for s in range(args.seeds)
                                      for m in args.methods]
    jobs += [] if args.skip_fig2 else [("fig2", m, None, s) for s in range(args.seeds) for m in args.partial_methods]
    pending = [job for job in jobs if run_key(*job) not in results[job[0]]]
    for (fig_name, method, ell, seed), row in run_all(pending, args):
        key = run_key(fig_name, method, ell, seed)
        results[fig_name][key] = row | {"platform": results["machine"]["platform"]}
        save(args.out, fig_name, method, ell, results, args)
        print(f"{fig_name} {key}: MPC {row['mpc']:.3f} in {row['seconds']:.0f} s", flush=True)
    strength = (f"strength {args.strength:g}, " if args.strength != 1 else "") + (
        f"gain {args.gain:g}, " if args.gain != 1 else "") + (
        f"{args.reference_segments} reference segments, " if args.reference_segments != 1 else "")
    # the tables may be rebuilt from runs fitted elsewhere: name every machine behind them
    machines = results["stored_on"] | ({results["machine"]["platform"]} if pending else set())
    lines = [f"# Learner benchmark ({args.segments} segments x {args.samples_per_segment} samples, {strength}"
             f"epochs {args.epochs or 'default'}, restarts {args.restarts}, {args.seeds} seeds; "
             f"{', '.join(sorted(machines or {results['machine']['platform']}))}, "
             f"{results['machine']['cpu_count']} CPUs, one torch thread per fit)", "",
             f"Reproduce: `{reproduce(args, results)}`", ""]
    lines += fig1_table(results, args)
    lines += [""] + fig2_table(results, args) if results["fig2"] else []
    (args.out / ("results.md" if args.pins == "global" else f"results_{args.pins}-pins.md")).write_text(
        "\n".join(lines) + "\n")
    plot(results, args)
    print("\n".join(lines))


if __name__ == "__main__":
    run_script(main)
