"""Does the rotation screen (``rotation_search_epochs``) turn misses into hits? Each fit measured twice.

For every data seed of a stored `bench_learner.py` run of ``latent_mlp:greedy`` (its data, split, pins and
budget), ``latent_mlp:rotated`` is fitted on the same data and split. That preset is ``latent_mlp:greedy``
followed by the rotation screen and the second full stage, so the state just before the screen *is* the
greedy fit, trained to the same bits. A hook records that state, and the script scores both on the held-out
rows as `bench_learner.py` does, with the held-out −log p(x|u) above the true model's (the **gap**, nats per
row), the rotation the screen chose, and the best rotation's **gain**: how far its short run's held-out
objective fell below the unrotated run's, in nats and, where recorded, in standard errors of the paired rows
(``rotation_gain_z``).

- A Fig. 2 run (``fig2_latent_mlp-greedy.json``): each node's matched correlation and parents' share, a
  **hit** when every identifiable node reaches 0.9, a **clear split** when the violating node's share is
  above `identcheck.verify.SHARE_MARGIN` and every identifiable node's is at most that.
  Each seed's **true n2's share** (`noise_share`, the violating node's true noise read as its latent: the
  theory's witness) says whether the data allow a clear split at all, and the table counts the splits on
  the seeds that allow one and on the others. **z2's price** (`recovery_price`) says how much the likelihood
  prefers that witness to the true z2 under the pins, in nats per row. ``--reference-segments K`` draws the
  data with λ = 0 in the first K segments instead of one (the pins follow), which raises the price and
  leaves z1, z2 and the witness's share as they were.
- A Fig. 1 run (``fig1_latent_mlp-greedy_l<ℓ>.json``): the MPC of z, per node, and the within-segment parents'
  share averaged over the non-root nodes (`bench_learner.segment_shares`; 0 for ẑ = z).

    python benchmarks/rotation_screen.py benchmarks/results/learner/fig2_seeds10/fig2_latent_mlp-greedy.json \\
        --seeds 0 2 4 6 8

writes ``rotation_screen_latent_mlp-rotated[_l<ℓ>][_full][_margin-M][_refs-K].json`` and the same name with ``.md``
beside the stored file: ``_full`` for ``--decision full``, ``_margin-M`` for a margin other than 0.05, so the
defaults (the learner's: full, 0.02) write ``_full_margin-0.02`` and stop 25's files, of the short rule at
0.05, keep their names. One entry per data seed/learner seed, saved after every fit, so a stopped run resumes
and processes given different ``--seeds`` share the file.

With ``--decision full`` both candidates, the unrotated run and the best rotation's, go through the second
full stage and the margin is applied there (``rotation_decision="full"``). Both are read, so the table also
shows what the short rule (short runs, margin 0.05) keeps in the same fit: the two rules compared on the
same data, the same short runs and the same second stages.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from bench_learner import (SHARE_MARGIN, VIOLATING, larger_share, node_recovery, partial_references, segment_shares,
                           split)
from diagnose_fig2_gaps import model_nll, refit_learner, stored_data
from diagnose_learner import truth_nll
from identcheck.learn import PRESETS, LatentCausalVAE, mpc
from identcheck.learn.screens import ROTATION_DECISIONS
from identcheck.simulate import Dataset
from refit_fig2 import learner_seed, outcome, save, score, seed_for
from script_errors import run_script, stored_runs

LEARNER_DEFAULTS = {k: p.default for k, p in inspect.signature(LatentCausalVAE).parameters.items()}
SHORT_MARGIN = 0.05  # rotation_decision="short"'s margin (the learner's default rule until stop 27)


def fig2_reading(data: Dataset, z_hat: np.ndarray) -> dict[str, Any]:
    """A Fig. 2 fit's held-out reading: per node, correlation and share; the lowest identifiable, hit, split."""
    return score(node_recovery(data, z_hat)[1])


def fig1_reading(data: Dataset, z_hat: np.ndarray) -> dict[str, Any]:
    """A Fig. 1 fit's held-out reading: the MPC of z, per node, and the mean within-segment parents' share."""
    matched = mpc(data.z, z_hat)
    shares = segment_shares(data, z_hat[:, matched.assignment])
    return {"mpc": matched.value, "mpc_per_node": matched.per_node.tolist(),
            "segment_parent_share": float(np.mean(list(shares.values())))}


def fit_twice(seed: int, fit_seed: int, settings: dict[str, Any], margin: float,
              latents: int | None = None, decision: str = "full") -> dict[str, Any]:
    """Fit ``latent_mlp:rotated`` (the stored greedy budget, plus the screen the ``rotated`` preset adds to
    ``greedy``, with ``rotation_margin`` = ``margin`` and ``rotation_decision`` = ``decision``) on data seed
    ``seed`` (learner seed ``fit_seed``) of Fig. 2, or of Fig. 1 at ℓ = ``latents``, and read the greedy fit
    it passes through (``before``) and the final fit (``after``) on the held-out rows. With ``decision``
    "full", also both candidates' second full stages (``candidates``: "unrotated" and "rotated")."""
    screen_options = {k: v for k, v in PRESETS["rotated"].items() if k not in PRESETS["greedy"]}
    learner, fitted, scored = refit_learner("latent_mlp:greedy", seed, settings, fit_seed, latents=latents,
                                            **screen_options, rotation_margin=margin, rotation_decision=decision)
    read = fig2_reading if latents is None else fig1_reading
    truth: list[float] = []

    def reading(module: Any) -> dict[str, Any]:  # a state on the way, as `transform` and `model_nll` read it
        xs, es = learner._tensors(scored.x, scored.u)
        if not truth:
            truth.append(truth_nll(scored, learner.x_mean_, learner.x_scale_))
        with torch.no_grad():
            z_hat = module.structure.push(module.noise_mean(xs, es), es).double().cpu().numpy()
            nll = float(module.neg_log_likelihood(xs, es).double().mean())
        return {**read(scored, z_hat), "gap": nll - truth[0]}

    seen: dict[str, Any] = {}
    screen, stage = learner._search_rotations, learner._second_stage

    def recording_screen(module: Any, *args: Any) -> Any:  # the greedy fit, read before the screen
        seen["before"] = reading(module)
        return screen(module, *args)

    def recording_stage(module: Any, which: str, *args: Any) -> Any:  # each candidate's second stage
        out = stage(module, which, *args)
        seen.setdefault("candidates", {})[which] = reading(module)
        return out

    learner._search_rotations, learner._second_stage = recording_screen, recording_stage
    start = time.perf_counter()
    learner.fit(fitted.x, fitted.u)
    seconds = time.perf_counter() - start
    after = read(scored, learner.transform(scored.x, scored.u))
    history = learner.history_
    out = {"before": seen["before"], "after": {**after, "gap": model_nll(learner, scored) - truth[0]},
           "rotation": history["rotation"], "rotation_val_loss": history["rotation_val_loss"],
           "rotation_gain_z": history["rotation_gain_z"], "seconds": seconds}
    if decision == "full":
        out.update(candidates=seen["candidates"], rotation_full_val_loss=history["rotation_full_val_loss"])
    return out


def data_readings(settings: dict[str, Any], seed: int) -> dict[str, float]:
    """What the data of Fig. 2's seed ``seed`` allow, read on its held-out rows without a fit:
    - ``noise_share``: the parents' share of the violating node's true noise n (`bench_learner.node_recovery`'s).
      That is what a fit recovering Theorem 2.5(b)'s witness ẑ = n would show, so the data allow a clear split
      only where it is above ``SHARE_MARGIN``;
    - ``recovery_price``: how much more likely that witness is than the true z under the run's pins
      (`recovery_price`), that is how much the likelihood prefers the split."""
    data = stored_data(settings, seed)
    _, scored = split(data, settings.get("held_out", 0.0), seed)
    (node,) = VIOLATING
    pins = partial_references(data, settings.get("pins", "global"))
    pinned = pins.get(data.latents.index(node), ()) if isinstance(pins, dict) else pins
    return {"noise_share": node_recovery(scored, scored.z)[1][node]["noise_share"],
            "recovery_price": recovery_price(scored, pinned, node)}


def recovery_price(data: Dataset, pinned: Sequence[int], node: str) -> float:
    """How many nats per row of ``data`` a model whose latents are the true z falls short of Theorem 2.5(b)'s
    witness ẑ_i = n_i (as likely as the truth) when ``node``'s mechanism is pinned to a constant in the
    environments ``pinned``. There ẑ_i = z_i must be Gaussian and independent of its parents: the best such
    density, N(mean, Var(z_i | u)), falls short of the truth's N(g_i(pa_i) + mean of n_i, Var(n_i | u)) by
    ½ log(Var(z_i | u) / Var(n_i | u)) nats per row of u (Gaussian noise; sample moments, so the identity is
    exact on the rows). Averaged over all rows: 0 without pins, and small where the pinned segments are few
    or the parents weigh little there.

    >>> from types import SimpleNamespace  # any Dataset: its latents, u, z and n
    >>> rng = np.random.default_rng(0); u = np.repeat([0, 1], 50_000); z1 = rng.normal(size=100_000)
    >>> n2 = rng.normal(size=100_000); z = np.column_stack([z1, z1 + n2])  # Var(z2 | u) = 2 Var(n2 | u)
    >>> data = SimpleNamespace(u=u, z=z, n=np.column_stack([z1, n2]), latents=("z1", "z2"))
    >>> round(recovery_price(data, [0], "z2"), 2), recovery_price(data, [], "z2")  # ½ · ½ log 2
    (0.17, 0.0)
    """
    i = data.latents.index(node)
    return float(sum(0.5 * np.log(np.var(data.z[data.u == e, i]) / np.var(data.n[data.u == e, i]))
                     * np.mean(data.u == e) for e in pinned))


def paired_table(runs: dict[str, dict[str, Any]], heading: str, cell: Callable[[dict[str, Any]], str],
                 summary: Callable[[list[dict[str, Any]]], str],
                 data: Sequence[tuple[str, Callable[[dict[str, Any]], str]]] = ()) -> list[str]:
    """Markdown: one row per fit (``cell`` of its reading before and after the screen, the rotation kept, the
    best rotation's gain, the gaps, the seconds; first a column per (heading, cell of the run) in ``data``),
    then a ``summary`` line of the readings before and one after."""
    column = ("".join(f" {heading} |" for heading, _ in data), "---|" * len(data))
    lines = [f"| data seed/learner seed |{column[0]} before: {heading} | after | rotation kept (a, b, °) "
             "| best rotation's gain | gap before → after | s |", f"|---|{column[1]}---|---|---|---|---|---|"]
    keys = sorted(runs, key=lambda k: tuple(map(int, k.split("/"))))
    for k in keys:
        r = runs[k]
        a, b, degrees = r["rotation"]
        rotation = "none" if degrees == 0 else f"{a}, {b}, {degrees:g}"
        scores = r["rotation_val_loss"]
        gain = f"{scores[0] - min(scores[1:]):.3f}" + (f" (z {r['rotation_gain_z']:.1f})" if "rotation_gain_z" in r else "")
        first = "".join(f" {read(r)} |" for _, read in data)
        lines.append(f"| {k} |{first} {cell(r['before'])} | {cell(r['after'])} | {rotation} | {gain} | "
                     f"{r['before']['gap']:.3f} → {r['after']['gap']:.3f} | {r['seconds']:.0f} |")
    lines.append("")
    for when in ("before", "after"):
        rs = [runs[k][when] for k in keys]
        lines.append(f"- {when}: {summary(rs)}, median gap {np.median([r['gap'] for r in rs]):.3f}")
    if all("candidates" in runs[k] for k in keys):
        lines += [""] + decision_table(runs, keys, cell, summary)
    return lines


def short_rule(run: dict[str, Any]) -> str:
    """The candidate ``rotation_decision="short"`` keeps: the best rotation's if its short run beats the
    unrotated one's by more than that rule's margin (`SHORT_MARGIN`), else the unrotated run.

    >>> short_rule({"rotation_val_loss": [1.0, 0.99, 0.9]}), short_rule({"rotation_val_loss": [1.0, 0.97]})
    ('rotated', 'unrotated')
    """
    scores = run["rotation_val_loss"]
    return "rotated" if min(scores[1:]) < scores[0] - SHORT_MARGIN else "unrotated"


def decision_table(runs: dict[str, dict[str, Any]], keys: list[str], cell: Callable[[dict[str, Any]], str],
                   summary: Callable[[list[dict[str, Any]]], str]) -> list[str]:
    """Markdown for fits with ``--decision full``: both candidates after the second full stage, the gains on
    the short runs and after the stage, and the candidate each rule keeps; a ``summary`` line per rule."""
    lines = ["| data seed/learner seed | short-run gain | gain after the stage | unrotated, after the stage "
             "| rotated, after the stage | short rule keeps | full rule keeps |", "|---|---|---|---|---|---|---|"]
    for k in keys:
        r = runs[k]
        scores, (unrotated, rotated) = r["rotation_val_loss"], r["rotation_full_val_loss"]
        full = "unrotated" if r["rotation"][2] == 0 else "rotated"
        lines.append(f"| {k} | {scores[0] - min(scores[1:]):.3f} | {unrotated - rotated:.3f} "
                     f"| {cell(r['candidates']['unrotated'])} | {cell(r['candidates']['rotated'])} "
                     f"| {short_rule(r)} | {full} |")
    lines.append("")
    short = [runs[k]["candidates"][short_rule(runs[k])] for k in keys]
    lines.append(f"- short rule (margin {SHORT_MARGIN:g} on the short runs): {summary(short)}, "
                 f"median gap {np.median([r['gap'] for r in short]):.3f}")
    lines.append("- full rule: the line 'after' above")
    return lines


def fig2_table(runs: dict[str, dict[str, Any]]) -> list[str]:
    """`paired_table` of Fig. 2 fits: per node correlation, the shares of z2 and z3; hits and splits; the true
    n2's share per seed (`noise_share`) and the splits where it allows one (`allowance`)."""

    def cell(r: dict[str, Any]) -> str:
        c, s = r["correlation"], r["share"]
        mark = "**" if r["hit"] else ""
        return (f"{mark}{' / '.join(f'{v:.3f}' for v in c.values())}{mark}, {s['z2']:.3f} / {s['z3']:.3f}"
                + (" (split)" if r["clear_split"] else ""))

    def summary(rs: list[dict[str, Any]]) -> str:
        medians = " / ".join(f"{np.median([r['correlation'][n] for r in rs]):.3f}" for n in rs[0]["correlation"])
        return (f"hits {sum(r['hit'] for r in rs)} of {len(rs)}, clear splits {sum(r['clear_split'] for r in rs)}, "
                f"median z1 / z2 / z3 {medians}, median share z2 / z3 "
                + " / ".join(f"{np.median([r['share'][n] for r in rs]):.3f}" for n in ("z2", "z3"))
                + f"; {larger_share([outcome(r) for r in rs])}")

    lines = paired_table(runs, "z1 / z2 / z3, share z2 / z3", cell, summary,
                         [("true n2's share", lambda r: f"{r['noise_share']:.3f}"),
                          ("z2's price", lambda r: f"{r['recovery_price']:.4f}")])
    return lines + allowance(runs)


def allowance(runs: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown: on how many seeds the data allow a clear split (`noise_share` above ``SHARE_MARGIN``), and the
    clear splits on those seeds and on the others: before the screen, after it and, for ``--decision full``
    fits, under the short rule.

    >>> run = {"before": {"clear_split": False}, "after": {"clear_split": True}}
    >>> allowance({"0/0": {**run, "noise_share": 0.3}, "1/1": {**run, "noise_share": 0.05}})[0]
    "- the data allow a clear split (true n2's share > 0.1) on 1 of 2 seeds (median share 0.175); ..."
    """
    readings = {"before": lambda r: r["before"], "after": lambda r: r["after"]}
    if all("candidates" in r for r in runs.values()):
        readings["short rule"] = lambda r: r["candidates"][short_rule(r)]
    allowed = [r for r in runs.values() if r["noise_share"] > SHARE_MARGIN]
    others = [r for r in runs.values() if r["noise_share"] <= SHARE_MARGIN]

    def splits(rs: list[dict[str, Any]]) -> str:
        return ", ".join(f"{when} {sum(read(r)['clear_split'] for r in rs)}" for when, read in readings.items())

    median = np.median([r["noise_share"] for r in runs.values()])
    return [f"- the data allow a clear split (true n2's share > {SHARE_MARGIN:g}) on {len(allowed)} of {len(runs)} "
            f"seeds (median share {median:.3f}); clear splits there: {splits(allowed)}; on the other "
            f"{len(others)}: {splits(others)}"]


def fig1_table(runs: dict[str, dict[str, Any]]) -> list[str]:
    """`paired_table` of Fig. 1 fits: MPC, per node, and the mean within-segment parents' share."""

    def cell(r: dict[str, Any]) -> str:
        return (f"{r['mpc']:.3f} ({' / '.join(f'{v:.3f}' for v in r['mpc_per_node'])}), "
                f"{r['segment_parent_share']:.3f}")

    def summary(rs: list[dict[str, Any]]) -> str:
        return (f"median MPC {np.median([r['mpc'] for r in rs]):.3f}, median lowest node "
                f"{np.median([min(r['mpc_per_node']) for r in rs]):.3f}, median share "
                f"{np.median([r['segment_parent_share'] for r in rs]):.3f}")

    return paired_table(runs, "MPC (per node), share", cell, summary)


def moved(old: dict[str, Any], new: dict[str, Any]) -> float:
    """The largest change between two fits' readings (correlations, MPC, shares and gaps, before and after).

    >>> old = {"before": {"gap": 0.5, "mpc_per_node": [0.9, 0.8]}, "after": {"gap": 0.4, "mpc_per_node": [0.9, 0.9]}}
    >>> moved(old, {**old, "after": {"gap": 0.4, "mpc_per_node": [0.9, 0.7]}})
    0.2...
    """
    def numbers(value: Any) -> list[float]:
        if isinstance(value, dict):
            return [v for k in sorted(value) for v in numbers(value[k])]
        if isinstance(value, list):
            return [v for item in value for v in numbers(item)]
        return [float(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else []

    pairs = zip(numbers([old["before"], old["after"]]), numbers([new["before"], new["after"]]))
    return max((abs(a - b) for a, b in pairs), default=0.0)


def stored_latents(runs: dict[str, Any]) -> int | None:
    """ℓ of a stored Fig. 1 file (run keys ``method/ℓ/seed``), None for Fig. 2 (``method/seed``).

    >>> stored_latents({"latent_mlp:greedy/5/0": {}}), stored_latents({"latent_mlp:greedy/0": {}})
    (5, None)
    """
    sizes = {int(k.split("/")[1]) for k in runs if k.count("/") == 2}
    if len(sizes) > 1:
        raise SystemExit(f"the stored runs mix ℓ = {sorted(sizes)}: one bench_learner.py file holds one ℓ")
    return sizes.pop() if sizes else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stored", type=Path,
                   help="a fig2_latent_mlp-greedy.json or fig1_latent_mlp-greedy_l<ℓ>.json written by bench_learner.py")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="data seeds (default: every stored one)")
    p.add_argument("--learner-seeds", type=learner_seed, nargs="+", default=["data"],
                   help="integers, 'data' for the data seed or 'data+K' for it plus K (default: data)")
    p.add_argument("--margin", type=float, default=LEARNER_DEFAULTS["rotation_margin"],
                   help="rotation_margin: what a rotation must win by (default: the learner's, %(default)s)")
    p.add_argument("--decision", choices=ROTATION_DECISIONS, default=LEARNER_DEFAULTS["rotation_decision"],
                   help="rotation_decision: compare the candidates after both have gone through the second full "
                        "stage ('full', the learner's default: the table then reads both, and what the short "
                        "runs with margin 0.05 would have kept) or on their short runs ('short')")
    p.add_argument("--reference-segments", type=int, default=None, metavar="K",
                   help="Fig. 2 only: draw the data with λ = 0 in the first K segments on every edge but the "
                        "invariant one, instead of the stored recipe's first segment (recorded in the settings "
                        "and the file name, _refs-K); the global pins then hold in all K")
    p.add_argument("--again", action="store_true",
                   help="fit the runs the output already holds once more and replace them (to record what a run of "
                        "an older version lacks); prints how far each reading moved")
    args = p.parse_args()
    torch.set_num_threads(1)
    settings, runs = stored_runs(args.stored)
    if settings.get("likelihood") != "exact" or settings.get("order_search") != "greedy":
        raise SystemExit(f"{args.stored} is not a latent_mlp:greedy run: the screen follows that preset's fit")
    latents = stored_latents(runs)
    references = args.reference_segments
    if references is not None:
        if latents is not None or not 1 <= references <= settings["segments"]:
            p.error(f"--reference-segments needs a Fig. 2 run and 1 <= K <= {settings['segments']} segments")
        settings = {**settings, "reference_segments": references}
    suffix = ("" if latents is None else f"_l{latents}") + ("" if args.decision == "short" else "_full") \
        + ("" if args.margin == SHORT_MARGIN else f"_margin-{args.margin:g}") \
        + ("" if references is None else f"_refs-{references}")
    out = args.stored.with_name(f"rotation_screen_latent_mlp-rotated{suffix}.json")
    kept = json.loads(out.read_text()) if out.exists() else {}
    options = {"rotation_search_epochs": 30, "rotation_margin": args.margin}
    if args.decision != "short":  # stop 25's files, of the short rule, keep their options
        options["rotation_decision"] = args.decision
    if kept.get("settings") != settings or kept.get("options") != options:
        kept = {"settings": settings, "options": options, "source": args.stored.name, "runs": {}}
    seeds = args.seeds if args.seeds is not None else sorted(int(k.rpartition("/")[2]) for k in runs)
    reading = "lowest_identifiable" if latents is None else "mpc"
    for seed in seeds:
        for chosen in args.learner_seeds:
            key = f"{seed}/{seed_for(chosen, seed)}"
            if key not in kept["runs"] or args.again:
                old = kept["runs"].get(key)
                kept["runs"][key] = fit_twice(seed, seed_for(chosen, seed), settings, args.margin, latents,
                                              args.decision)
                save(out, {**kept, "runs": {key: kept["runs"][key]}})  # the others' runs on disk stay theirs
                if old is not None:
                    print(f"{key}: fitted again; the readings moved by at most {moved(old, kept['runs'][key]):.2g}")
            r = kept["runs"][key]
            print(f"{key}: {reading} before {r['before'][reading]:.3f} after {r['after'][reading]:.3f} "
                  f"rotation {r['rotation']} {r['seconds']:.0f} s", flush=True)
    kept = json.loads(out.read_text())
    if latents is None:  # the data's allowance, for runs that lack it (of older versions): no fit
        missing = {k: {**r, **data_readings(settings, int(k.partition("/")[0]))}
                   for k, r in kept["runs"].items() if not {"noise_share", "recovery_price"} <= r.keys()}
        if missing:
            save(out, {**kept, "runs": missing})
            kept = json.loads(out.read_text())
    table = fig2_table if latents is None else fig1_table
    out.with_suffix(".md").write_text("\n".join(table(kept["runs"])) + "\n")
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    run_script(main)
