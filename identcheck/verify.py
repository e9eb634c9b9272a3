"""`verify`: check a spec, simulate it, fit a learner that shares the checker's references, and compare the
recovered latents with the truth node by node (CONTRACT §4).

The theory predicts, per node (Theorem 2.5 / Corollary 3.3, under (i)-(iii)):

- identifiable: a learner that fits the data and shares the node's reference environment recovers z_i up
  to scale and offset (an invertible map for post-nonlinear nodes). Tested: the matched correlation
  (|Pearson|, Spearman for post-nonlinear nodes, on held-out samples, posterior means) reaches
  ``threshold``.
  On a linear Gaussian spec the learner's class, pinned in at most one environment, holds a family of exact
  fits, some of which match a node poorly (`learner_class_caveat`); a node they match below ``threshold``
  can be missed without a learning failure, and its note says so. The verdict is still judged.
- unidentifiable: some influence of a parent never vanishes, so the data also fit other models (Theorem
  2.5b); a learner whose mechanisms must vanish at the pinned environment cannot represent z_i exactly, and
  the model it can fit exactly is the witness z_i − g_i(pa_i, u*), which carries a function of the parents.
  Measured: the parents' share of the recovered latent (R² on z_i and its parents minus R² on z_i alone,
  `identcheck.learn.parent_share`). A share above ``share_margin`` is distinguishable from an identified
  recovery (whose share is ≈ 0) and confirms the prediction (consistent True), provided the same fit
  recovers every identifiable node it covers: a fit that misses one (an untrained learner's latents carry
  anything) says nothing about other solutions, and its share is inconclusive too. A smaller share is
  inconclusive (consistent None): non-identifiability says that other solutions exist, not that a learner
  finds them, and a learner may fit z_i approximately (SPEC §7.10: assert only what the theory guarantees).
  Also reported, not judged: the same share within each environment (``segment_parent_share``). The noise
  n_i can be in the learner's class as well (a node without mechanism); it carries the parents through
  g_i(pa_i, u), which averages out of the pooled regression when the mechanism changes sign across
  environments, but not out of each environment's. A learned latent's within-environment share also grows
  with its learning error, and no margin has been calibrated for it, so the note names it without a verdict.
- no_guarantee, contested, undecided: the theory predicts nothing, so ``consistent`` is None (null in JSON).
  A learner that succeeds anyway does not contradict it (SPEC §7.10).

>>> import identcheck
>>> report = identcheck.verify(identcheck.load_example("C1"), quick=True, samples_per_env=100, epochs=2)
>>> sorted(report.to_dict())[:4]
['check', 'consistent', 'epochs', 'identcheck']
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
from scipy import stats
from scipy.optimize import linear_sum_assignment

from .check import check
from .check.linear_gaussian import PinnedClassWitness, pinned_class_witness
from .errors import DataError, IdentcheckError, SpecError
from .report import Report, jsonable
from .scm import SCM, require_scm
from .seeds import SEED_LIMIT, require_seed
from .simulate import Dataset, require_memory_for, simulate
from .sizes import MAX_EPOCHS, require_size
from .files import write_atomically

if TYPE_CHECKING:
    from matplotlib.artist import Artist

    from .learn.base import LatentLearner

__all__ = ["verify", "VerifyReport", "NodeVerification", "Budget", "BUDGETS", "choose_pins", "node_pins", "Pins",
           "choose_method", "check_method", "learner_class_caveat", "plot_format"]

#: Fraction of the simulated rows held out for the comparison (never seen by the learner).
HELD_OUT = 0.2
#: The fewest held-out rows a comparison may rest on: at 10 rows a |correlation| of 0.9 has p < 0.001 under
#: independence; at 2 rows every correlation is 1.
MIN_HELD_OUT = 10
#: Parent share above which a recovery is distinguishable from an identified one. An identified recovery has
#: share ≈ 0 up to learning error; identifiable nodes recovered near the 0.9 threshold showed shares up to 0.09
#: on the 20-segment test models of theory_tests/test_verify.py.
SHARE_MARGIN = 0.1


@dataclass(frozen=True)
class Budget:
    """Samples per environment, training epochs, network width and training restarts of one verification run
    (the learner keeps the restart with the best held-out objective)."""

    samples_per_env: int
    epochs: int
    hidden: int
    restarts: int


#: The default budget and the quick one (keys: the value of ``quick``). Three restarts: a single fit often
#: settles in a poor optimum (a generated ℓ = 2 model: z1 recovered at 0.38 with one fit, 0.99 with three).
BUDGETS: dict[bool, Budget] = {False: Budget(samples_per_env=2000, epochs=300, hidden=64, restarts=3),
                               True: Budget(samples_per_env=500, epochs=100, hidden=32, restarts=2)}


# ---------------------------------------------------------------------------------------------------
# Choosing the learner


def choose_method(scm: SCM, method: str = "auto") -> tuple[str, str]:
    """The learner `verify` fits for ``method`` and why: any method but ``"auto"`` is taken as given.

    ``"auto"`` (the default of `verify`) picks the estimator the theory's "a learner that fits the data"
    is closest to on this model. With as many observed features as latents (d = ℓ) it is the exact
    likelihood started from the no-edge solution, with the slot-order search: every order up to ℓ = 3
    (``latent_mlp:ordered``, ℓ! short runs), the greedy search beyond (``latent_mlp:greedy``,
    ℓ + (ℓ-1)(ℓ-2)/2 short runs). Measured on docs/specs (README, Verify): it recovers every identifiable
    node of the ℓ = 3 specs at 0.996-0.999, where the ELBO learner stays at 0.60-0.89. Post-nonlinear nodes
    too: the flow absorbs the maps ḡ_i, which Corollary 3.1 leaves unidentified anyway. With d ≠ ℓ no flow
    can invert the mixing, and it is the paper's ELBO learner, ``latent_mlp``.

    >>> import identcheck
    >>> choose_method(identcheck.load_example("C1"))[0]
    'latent_mlp:ordered'
    >>> choose_method(identcheck.load_example("C1"), "ivae")
    ('ivae', 'chosen by the caller')
    """
    if method != "auto":
        return method, "chosen by the caller"
    ell, d = len(scm.latents), scm.mixing.observed_dim
    if d != ell:
        return "latent_mlp", (f"auto: d = {d} observed features for ℓ = {ell} latents, so the ELBO learner "
                              "(the exact likelihood needs d = ℓ)")
    from .learn import make_learner
    from .learn.screens import order_search_runs

    method = "latent_mlp:ordered" if ell <= 3 else "latent_mlp:greedy"
    search = make_learner(method, latent_dim=ell).order_search  # the preset's, or the learner's default
    return method, (f"auto: d = ℓ = {ell}, so the exact likelihood from the no-edge solution, "
                    f"slot orders screened: {search} ({order_search_runs(ell, search)} short runs)")


def check_method(method: str, scm: SCM | None = None, params: Mapping[str, Any] | None = None) -> None:
    """Raise `IdentcheckError` unless ``method`` is ``"auto"`` or a learner name with an optional preset
    (`identcheck.learn.registry.resolve_method`), before any work is done; with ``scm``, also when the
    method's likelihood (``params`` win over the preset's) is the exact one and the spec's observed
    dimension d differs from its ℓ latents (no flow inverts such a mixing).

    >>> check_method("auto"); check_method("latent_mlp:ordered")
    >>> import identcheck
    >>> wide = identcheck.load_example("C1").spec | {"mixing": {"kind": "mlp", "observed_dim": 3}}
    >>> check_method("ivae:exact", identcheck.from_dict(wide))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    identcheck.errors.IdentcheckError: ivae:exact fits the exact likelihood, ... d = 3 for ℓ = 2 (use an ELBO ...
    """
    from .learn.registry import resolve_method

    preset = {} if method == "auto" else resolve_method(method)[1]  # auto fits the ELBO where d != ℓ
    likelihood = {"likelihood": "elbo", **preset, **(params or {})}["likelihood"]
    if scm is not None and likelihood == "exact" and scm.mixing.observed_dim != len(scm.latents):
        raise IdentcheckError(f"{method} fits the exact likelihood, which needs as many observed features as "
                              f"latents; the spec has d = {scm.mixing.observed_dim} for ℓ = {len(scm.latents)} "
                              f"(use an ELBO learner, e.g. the preset-free name)")


def _stage_epochs(preset: Mapping[str, Any], epochs: int) -> dict[str, int]:
    """A preset's no-edge, order-search and rotation-search stages scaled with the budget's ``epochs`` (which
    set the full stage): unchanged at the default budget's 300 epochs (where the README measured them), in proportion
    otherwise, at least one epoch each, so ``--quick`` and ``--epochs`` shorten every stage.

    >>> _stage_epochs({"pretrain_epochs": 300, "order_search_epochs": 30, "rotation_search_epochs": 30}, 100)
    {'pretrain_epochs': 100, 'order_search_epochs': 10, 'rotation_search_epochs': 10}
    """
    scale = epochs / BUDGETS[False].epochs
    return {key: max(1, round(preset[key] * scale))
            for key in ("pretrain_epochs", "order_search_epochs", "rotation_search_epochs") if preset.get(key)}


# ---------------------------------------------------------------------------------------------------
# Pinning the references (SPEC §2, quantifier order)


@dataclass(frozen=True)
class Pins:
    """The environments pinned in the learner and which latents they serve.

    ``environments``: 0-based indices where every learned causal coefficient is fixed to 0; ``covered``:
    latents whose prediction applies to this learner (roots, and nodes whose node-wise references include
    every pinned environment); ``reason``: how they were chosen.
    """

    environments: tuple[int, ...]
    covered: frozenset[str]
    reason: str


def choose_pins(scm: SCM, report: Report) -> Pins:
    """Choose the learner's reference environments from the checker's node-wise references (iv-N).

    `verify` pins one set of environments for all the learner's mechanisms (a global reference, (iv-G);
    `node_pins` gives the node-wise alternative the learner also accepts). A node's
    mechanism may only be pinned where the true one is constant in all its parents, so the pins are the
    environments shared by the node-wise references of every non-root node that has one. When no
    environment is shared, the environment serving the most such nodes is pinned (ties: the first); the
    nodes it does not serve are not covered, since the theorem only speaks about an estimator that shares
    the node's reference (SPEC §3 subtle point 2, C12a). Unidentifiable nodes impose nothing: whatever is
    pinned, their true mechanism is not constant there, which is exactly what makes them testable. Nodes
    identifiable through edge-wise zeros alone (C10) have no node-wise reference and are not covered.

    >>> import identcheck
    >>> scm = identcheck.load_example("C8")
    >>> choose_pins(scm, identcheck.check(scm)).environments
    (0,)
    """
    children = [name for name in scm.latents if not scm.is_root(name)]
    if not children:
        return Pins((), frozenset(scm.latents), "no edges: nothing to pin")
    refs = {name: frozenset(report.nodes[name].reference_environments) for name in children}
    constrained = {name: r for name, r in refs.items() if r}
    roots = frozenset(name for name in scm.latents if scm.is_root(name))
    if not constrained:
        return Pins((0,), roots, "no node has an observed node-wise reference; environment 0 pinned")
    shared = frozenset.intersection(*constrained.values())
    if shared:
        return Pins(tuple(sorted(shared)), roots | frozenset(constrained),
                    "environments where every mechanism with a node-wise zero vanishes")
    count = {e: sum(e in r for r in constrained.values()) for e in sorted(frozenset.union(*constrained.values()))}
    best = max(count, key=lambda e: (count[e], -e))
    covered = frozenset(name for name, r in constrained.items() if best in r)
    return Pins((best,), roots | covered, f"no environment is a reference of every node; environment {best} "
                "serves the most nodes, the others are not covered")


def node_pins(scm: SCM, report: Report) -> dict[int, tuple[int, ...]]:
    """The learner's node-wise references (`identcheck.learn.model.References`): slot k, the k-th latent
    of ``scm.order``, is pinned in that latent's node-wise reference environments (iv-N) from the checker.
    Roots have no mechanism to pin; a node without a node-wise reference (an unidentifiable one, whose true
    mechanism is constant in no environment) is left unpinned, so the true model stays in the learner's
    class and only the theorem's ambiguity remains.

    >>> import identcheck
    >>> scm = identcheck.load_example("C8")   # z2 violates (iv); z3's mechanism vanishes in environment 0
    >>> node_pins(scm, identcheck.check(scm))
    {1: (), 2: (0,)}
    """
    return {k: tuple(report.nodes[name].reference_environments) for k, name in enumerate(scm.order)
            if not scm.is_root(name)}


def learner_class_caveat(scm: SCM, reference_envs: Sequence[int] | Mapping[int, Sequence[int]] | None,
                         method: str) -> PinnedClassWitness | None:
    """Exact fits of a linear Gaussian spec in the class of the learner ``method`` pinned at
    ``reference_envs`` (as the learner takes them) that recover a node poorly
    (`identcheck.check.linear_gaussian.pinned_class_witness`), or None.

    They exist for a learner with mechanisms (latent_mlp, latent_linear, latent_polynomial) whose pins use at
    most one environment, whether or not the true mechanisms vanish there: with nothing pinned, the fits
    whitened at environment 0 are in the class too. Baselines without mechanisms, and pins in two or more
    environments, are outside the construction (None).

    >>> import identcheck
    >>> scm = identcheck.load_example("C9")
    >>> caveat = learner_class_caveat(scm, choose_pins(scm, identcheck.check(scm)).environments, "latent_mlp")
    >>> caveat.reference, caveat.correlations["z1"] < 0.8   # z1: a root, and identifiable by Theorem 2.5
    (0, True)
    """
    from .learn.causal import CausalLearner
    from .learn.registry import resolve_method

    pinned = sorted({int(e) for envs in (reference_envs or {}).values() for e in envs}
                    if isinstance(reference_envs, Mapping) else {int(e) for e in reference_envs or ()})
    if not issubclass(resolve_method(method)[0], CausalLearner) or len(pinned) > 1:
        return None
    return pinned_class_witness(scm, pinned[0] if pinned else 0)


# ---------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class NodeVerification:
    """The comparison for one latent.

    correlation: matched |Pearson| (Spearman for post-nonlinear nodes), mean over seeds (per_seed: each
    seed's); ci: its 95% t-interval over seeds (None for one seed); parent_share, r2_full, r2_node:
    `identcheck.learn.parent_share`
    of the matched recovered latent on the true node and its parents (means over seeds; per_seed_share: each
    seed's share); distinguishable:
    parent_share > share_margin (the recovery carries a function of the parents); covered: the learner
    shared the node's reference; consistent: True/False where the theory's prediction was tested, None
    where it predicts nothing or the run is inconclusive (see the module docstring; ``note`` says which);
    matched: the learned component matched to this node (first seed); best_correlation: the node's largest
    correlation with any learned component, matched or not (mean over seeds). It exceeds ``correlation``
    when the matching, which maximises the total over all nodes, gave the component closest to this node to
    another one, typically an unidentifiable child that is largely a function of it; segment_parent_share:
    the parents' share within each environment (``parent_share(..., u=u)``, mean over seeds), reported and
    not judged (module docstring).
    """

    latent: str
    verdict: str
    correlation: float
    consistent: bool | None
    correlation_method: str
    parent_share: float
    r2_full: float
    r2_node: float
    distinguishable: bool
    covered: bool
    matched: int
    note: str
    per_seed: tuple[float, ...]
    per_seed_share: tuple[float, ...] = ()
    ci: tuple[float, float] | None = None
    best_correlation: float | None = None
    segment_parent_share: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """CONTRACT §4 node object (verdict, correlation, consistent) plus the added evidence."""
        return jsonable({"verdict": self.verdict, "correlation": self.correlation, "consistent": self.consistent,
                         "correlation_method": self.correlation_method, "ci": self.ci,
                         "parent_share": self.parent_share, "r2_full": self.r2_full, "r2_node": self.r2_node,
                         "distinguishable": self.distinguishable, "covered": self.covered,
                         "matched": self.matched, "best_correlation": self.best_correlation,
                         "segment_parent_share": self.segment_parent_share,
                         "per_seed": self.per_seed,
                         "per_seed_share": self.per_seed_share, "note": self.note})

    def __str__(self) -> str:
        ci = f" [{self.ci[0]:.3f}, {self.ci[1]:.3f}]" if self.ci else ""
        word = {True: "consistent", False: "INCONSISTENT", None: "no prediction"}[self.consistent]
        return (f"{self.latent:<8} {self.verdict:<15} corr {self.correlation:.3f}{ci}  parent share "
                f"{self.parent_share:.3f}  {word}: {self.note}")


@dataclass(frozen=True)
class VerifyReport:
    """Everything `identcheck verify` reports (CONTRACT §4): the check report, the overall MPC and one
    `NodeVerification` per latent, with the settings that produced them: ``method`` is the learner fitted
    (``"auto"`` resolved by `choose_method`; ``method_reason`` says why), ``learner_settings`` its constructor
    arguments (the first seed's, without ``seed`` and ``progress``), ``class_caveat`` the exact fits of a
    linear Gaussian spec in that learner's class (`learner_class_caveat`; None where it does not apply).

    >>> import identcheck
    >>> report = identcheck.verify(identcheck.load_example("C8"), samples_per_env=60, epochs=2, method="ivae")
    >>> report.method, report.pins.environments, report.to_dict()["nodes"]["z3"]["verdict"]
    ('ivae', (0,), 'identifiable')
    >>> str(report).splitlines()[0]
    'identcheck verify: C8: ivae, 3 latents, 60 samples/env, 2 epochs, seeds 0'
    """

    check: Report
    nodes: Mapping[str, NodeVerification]
    mpc: float
    mpc_per_seed: tuple[float, ...]
    threshold: float
    share_margin: float
    seeds: tuple[int, ...]
    method: str
    samples_per_env: int
    epochs: int
    quick: bool
    pins: Pins
    learner_order: tuple[str, ...]
    true_edges: tuple[tuple[str, str], ...]
    learned_edges: tuple[tuple[str, str], ...] | None
    shd: int | None
    timings: Mapping[str, float] = field(default_factory=dict)
    method_reason: str = "chosen by the caller"
    learner_settings: Mapping[str, Any] = field(default_factory=dict)
    class_caveat: PinnedClassWitness | None = None

    @property
    def consistent(self) -> bool:
        """True when every node with a prediction is consistent with it."""
        return all(node.consistent is not False for node in self.nodes.values())

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `identcheck verify --format json` (CONTRACT §4 plus added fields)."""
        return jsonable({
            "identcheck": 1, "check": self.check.to_dict(), "mpc": self.mpc,
            "nodes": {name: node.to_dict() for name, node in self.nodes.items()},
            "consistent": self.consistent, "threshold": self.threshold, "share_margin": self.share_margin,
            "seeds": self.seeds, "mpc_per_seed": self.mpc_per_seed, "method": self.method,
            "method_reason": self.method_reason, "learner_settings": dict(self.learner_settings),
            "samples_per_env": self.samples_per_env, "epochs": self.epochs, "quick": self.quick,
            "reference_envs": self.pins.environments, "pinning": self.pins.reason,
            "learner_order": self.learner_order, "true_edges": self.true_edges,
            "learned_edges": self.learned_edges, "shd": self.shd, "timings": dict(self.timings),
            "learner_class_caveat": self.class_caveat.to_dict() if self.class_caveat else None,
        })

    def _header(self) -> list[str]:
        pins = ", ".join(str(e) for e in self.pins.environments) or "none"
        seeds = ", ".join(map(str, self.seeds))
        graph = ("-" if self.learned_edges is None else
                 (", ".join(f"{p}->{c}" for p, c in self.learned_edges) or "no edges") + f" (SHD {self.shd})")
        return [f"identcheck verify: {self.check.name}: {self.method}, {len(self.nodes)} latents, "
                f"{self.samples_per_env} samples/env, {self.epochs} epochs, seeds {seeds}"
                + (" (quick)" if self.quick else ""),
                f"learner choice: {self.method_reason}",
                f"pinned reference environments: {pins} ({self.pins.reason}); learner order "
                f"{', '.join(self.learner_order)}",
                f"MPC = {self.mpc:.3f}; threshold {self.threshold:g} (identifiable), parent-share margin "
                f"{self.share_margin:g} (unidentifiable)",
                f"learned graph: {graph}; true graph: "
                + (", ".join(f"{p}->{c}" for p, c in self.true_edges) or "no edges"),
                *([f"caveat: {self.class_caveat}"] if self.class_caveat else [])]

    def __str__(self) -> str:
        verdict = ("consistent with the theory" if self.consistent
                   else "NOT consistent with the theory for " + ", ".join(
                       n for n, v in self.nodes.items() if v.consistent is False))
        if all(node.consistent is None for node in self.nodes.values()):  # consistent, but vacuously
            verdict = "nothing to compare: no node has a prediction this run could test"
        seconds = self.timings.get("total")
        return "\n".join([*self._header(), "", *(str(node) for node in self.nodes.values()), "",
                          f"result: {verdict}" + (f" ({seconds:.1f} s)" if seconds is not None else "")])

    def to_markdown(self) -> str:
        """The report as markdown: the settings, then one table row per latent."""
        def cell(value: Any) -> str:
            return str(value).replace("|", "\\|")

        lines = [f"# identcheck verify: {cell(self.check.name)}", "", *(f"- {cell(h)}" for h in self._header()),
                 f"- consistent with the theory: **{self.consistent}**", "",
                 "| latent | verdict | correlation | 95% CI | parent share | consistent | note |",
                 "|---|---|---|---|---|---|---|"]
        for node in self.nodes.values():
            ci = f"{node.ci[0]:.3f}-{node.ci[1]:.3f}" if node.ci else "-"
            consistent = "-" if node.consistent is None else str(node.consistent)
            lines.append(f"| {node.latent} | {node.verdict} | {node.correlation:.3f} | {ci} | "
                         f"{node.parent_share:.3f} | {consistent} | {cell(node.note)} |")
        return "\n".join(lines) + "\n"

    def plot(self, path: str | Path) -> None:
        """Draw the predicted verdict (bar colour) against the recovered correlation per node, hatching the
        inconsistent ones, and the learned graph against the true one (green: found, grey: missed, red:
        extra), into an image file whose suffix names the format (.png, .pdf, .svg, ...; none: PNG). The file
        appears whole or not at all; DataError for an unknown format or a path that cannot be written."""
        fmt = plot_format(path)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        colours = {"identifiable": "tab:green", "unidentifiable": "tab:red", "contested": "tab:orange",
                   "undecided": "tab:gray", "no_guarantee": "tab:gray"}
        names = list(self.nodes)
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        values = [self.nodes[n].correlation for n in names]
        errors = np.array([[v - (self.nodes[n].ci or (v, v))[0], (self.nodes[n].ci or (v, v))[1] - v]
                           for n, v in zip(names, values)]).T
        inconsistent = [self.nodes[n].consistent is False for n in names]
        left.bar(names, values, yerr=errors, color=[colours[self.nodes[n].verdict] for n in names],
                 hatch=["//" if bad else "" for bad in inconsistent], edgecolor="black", linewidth=0.5)
        left.axhline(self.threshold, color="black", linestyle="--", linewidth=1)
        for k, n in enumerate(names):  # the parent share above each bar (and its interval)
            left.text(k, min(values[k] + errors[1, k] + 0.02, 0.98), f"share {self.nodes[n].parent_share:.2f}",
                      ha="center", va="bottom", fontsize=8)
        left.set_ylim(0, 1.05)
        left.set_ylabel("recovered correlation")
        left.set_title("predicted verdict vs recovery")
        shown = dict.fromkeys(self.nodes[n].verdict for n in names)
        handles: list[Artist] = [Patch(facecolor=colours[v], edgecolor="black", linewidth=0.5, label=v) for v in shown]
        if any(inconsistent):
            handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="inconsistent"))
        handles.append(Line2D([], [], color="black", linestyle="--", label=f"threshold {self.threshold:g}"))
        left.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.12), ncol=len(handles), fontsize=8,
                    frameon=False)
        size = len(names)
        grid = np.ones((size, size, 3))
        true = {(names.index(p), names.index(c)) for p, c in self.true_edges}
        learned = {(names.index(p), names.index(c)) for p, c in self.learned_edges or ()}
        kinds = (("found", true & learned, (0.2, 0.7, 0.2)), ("missed", true - learned, (0.6, 0.6, 0.6)),
                 ("extra", learned - true, (0.85, 0.2, 0.2)))
        for _, edges, colour in kinds:
            for j, i in edges:
                grid[j, i] = colour
        right.imshow(grid)
        right.set_xticks(range(size), names)
        right.set_yticks(range(size), names)
        right.set_xlabel("child")
        right.set_ylabel("parent")
        right.set_title("learned vs true graph" if self.learned_edges is not None
                        else "true graph (the learner has none)")
        right.legend(handles=[Patch(facecolor=c, edgecolor="black", linewidth=0.5, label=f"{k} edge")
                              for k, _, c in kinds], loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
        fig.tight_layout()
        image = io.BytesIO()
        fig.savefig(image, format=fmt, bbox_inches="tight")
        plt.close(fig)
        write_atomically(path, lambda stream: stream.write(image.getvalue()))


def plot_format(path: str | Path) -> str:
    """The image format `VerifyReport.plot` will write to `path` (from its suffix; PNG without one), checked
    before any work: DataError for a format matplotlib cannot write, a missing folder or a folder as path.

    >>> plot_format("verify.svg"), plot_format("verify")
    ('svg', 'png')
    """
    from matplotlib.backend_bases import FigureCanvasBase

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    known = FigureCanvasBase.get_supported_filetypes()
    if fmt not in known:
        raise DataError(f"cannot write {path}: unknown image format '{fmt}' (known: {', '.join(sorted(known))})")
    if path.is_dir():
        raise DataError(f"cannot write {path}: it is a folder")
    if not path.parent.is_dir():
        raise DataError(f"cannot write {path}: no folder {path.parent}")
    return fmt


# ---------------------------------------------------------------------------------------------------
# The run


def held_out_rows(rows: int, fraction: float = HELD_OUT) -> int:
    """How many of `rows` rows `_split` holds out (``fraction`` of them, at least one).

    >>> held_out_rows(10), held_out_rows(500)
    (2, 100)
    """
    return max(1, int(round(fraction * rows)))


def require_held_out(samples_per_env: int, environments: int) -> None:
    """IdentcheckError when the held-out split would be smaller than `MIN_HELD_OUT` rows."""
    held = held_out_rows(samples_per_env * environments)
    if held < MIN_HELD_OUT:
        least = math.ceil(MIN_HELD_OUT / (HELD_OUT * environments) - 1e-9)
        raise IdentcheckError(
            f"samples_per_env = {samples_per_env} holds out {held} row(s) over {environments} environments; "
            f"the comparison needs at least {MIN_HELD_OUT} (samples_per_env >= {least}): on fewer rows a "
            "correlation says nothing")


def _split(count: int, seed: int, fraction: float = HELD_OUT) -> tuple[np.ndarray, np.ndarray]:
    """Train and held-out row indices (``fraction`` of the rows, at least one, drawn with `seed`)."""
    order = np.random.default_rng(seed).permutation(count)
    cut = count - held_out_rows(count, fraction)
    return np.sort(order[:cut]), np.sort(order[cut:])


def _matched_correlations(scm: SCM, z_true: np.ndarray,
                          z_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per true node, the best one-to-one matched |correlation|, the matched learned component, and the
    largest |correlation| with any component (matched or not).

    Rows of post-nonlinear nodes use Spearman (they are recovered up to a monotone map, Cor. 3.1), the others
    |Pearson|; the matching is the Hungarian method on the whole matrix, as in MPC (SPEC §6).
    """
    from .learn import mpc

    matrix = mpc(z_true, z_hat, "pearson").matrix
    pnl = [k for k, name in enumerate(scm.latents) if name in scm.post_nonlinear]
    if pnl:
        matrix[pnl] = mpc(z_true, z_hat, "spearman").matrix[pnl]
    rows, cols = linear_sum_assignment(-matrix)
    return matrix[rows, cols], cols, matrix.max(axis=1)


def _fit(data: Dataset, train: np.ndarray, seed: int, budget: Budget, pins: Pins, method: str,
         params: Mapping[str, Any], progress: bool) -> LatentLearner:
    """``method`` fitted to the rows ``train`` of ``data`` as `verify` fits it: the budget's width, epochs and
    restarts, the preset's stages scaled to the epochs, ``pins``, seeded with ``seed``; ``params`` win."""
    from .learn import make_learner
    from .learn.registry import resolve_method

    settings = {"hidden": budget.hidden, "epochs": budget.epochs, "restarts": budget.restarts, "seed": seed,
                "progress": progress, "reference_envs": list(pins.environments) or None,
                **_stage_epochs(resolve_method(method)[1], budget.epochs), **params}
    learner = make_learner(method, latent_dim=data.z.shape[1], **settings)
    return learner.fit(data.x[train], data.u[train])


def _one_seed(scm: SCM, seed: int, budget: Budget, pins: Pins, method: str, params: Mapping[str, Any],
              progress: bool) -> dict[str, Any]:
    """Simulate with `seed`, fit with `seed`, compare on the held-out rows."""
    from .learn import parent_share, shd

    start = time.perf_counter()
    data: Dataset = simulate(scm, budget.samples_per_env, seed=seed)
    if np.abs(data.x).max() > np.finfo(np.float32).max:  # the model, not the learner: name the spec
        raise SpecError(f"the simulated x reaches {np.abs(data.x).max():.3g}, beyond the float32 range the "
                        f"learners train in ({np.finfo(np.float32).max:.3g}): a mechanism or the mixing scales "
                        f"the latents that far", source=scm.source)
    simulated = time.perf_counter()
    train, test = _split(len(data.u), seed)
    learner = _fit(data, train, seed, budget, pins, method, params, progress)
    fitted = time.perf_counter()
    z_true, z_hat = data.z[test], learner.transform(data.x[test], data.u[test])
    correlation, matched, best = _matched_correlations(scm, z_true, z_hat)
    index = {name: k for k, name in enumerate(scm.latents)}
    parents = [z_true[:, [index[p] for p in scm.parents(name)]] for name in scm.latents]
    ranks = ["spearman" if name in scm.post_nonlinear else "pearson" for name in scm.latents]  # up to h (Cor. 3.1)
    shares = [parent_share(z_hat[:, matched[k]], z_true[:, k], parents[k], method=ranks[k])
              for k in range(len(scm.latents))]
    segment_shares = [parent_share(z_hat[:, matched[k]], z_true[:, k], parents[k], u=data.u[test],
                                   method=ranks[k]).share for k in range(len(scm.latents))]
    learned_edges, distance = None, None
    if hasattr(learner, "graph"):
        learned = np.asarray(learner.graph())[np.ix_(matched, matched)]  # relabelled to true nodes
        learned_edges = tuple((scm.latents[j], scm.latents[i]) for j, i in zip(*np.nonzero(learned)))
        distance = shd(scm.adjacency(), learner.graph(), matched).value
    fitted_settings = {k: v for k, v in learner.get_params().items() if k not in ("seed", "progress")}
    return {"correlation": correlation, "matched": matched, "best": best, "shares": shares,
            "segment_shares": segment_shares,
            "learned_edges": learned_edges, "settings": fitted_settings, "shd": distance,
            "simulate": simulated - start, "fit": fitted - simulated, "compare": time.perf_counter() - fitted}


def _interval(values: Sequence[float] | np.ndarray) -> tuple[float, float] | None:
    """95% t-interval of the mean over seeds, clipped to [0, 1]; None for a single seed."""
    if len(values) < 2:
        return None
    mean, sem = float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(len(values)))
    half = float(stats.t.ppf(0.975, len(values) - 1)) * sem
    return max(0.0, mean - half), min(1.0, mean + half)


def _judge(verdict: str, correlation: float, share: float, covered: bool, threshold: float, margin: float,
           best: float | None = None, segment_share: float | None = None) -> tuple[bool | None, str]:
    """`consistent` and its explanation for one node (module docstring); ``best`` is the node's largest
    correlation with any learned component, named when the matched one misses the threshold and it does not;
    ``segment_share``, the within-environment parents' share, is named when it exceeds ``margin`` while the
    pooled ``share`` of an unidentifiable node does not. Neither changes `consistent`.

    >>> _judge("identifiable", 0.38, 0.0, True, 0.9, 0.1, best=0.98)[1]  # doctest: +ELLIPSIS
    'identifiable: correlation < threshold 0.9; ... (0.980) was matched to another node ...'
    >>> _judge("unidentifiable", 0.95, 0.01, True, 0.9, 0.1, segment_share=0.4)  # doctest: +ELLIPSIS
    (None, '...; within each environment the parents explain 0.400 of it, ...')
    """
    if verdict == "identifiable" and not covered:
        return None, ("reference environment not shared with the learner (it pins one set for all nodes): "
                      "the theorem does not cover this estimator")
    if verdict == "identifiable":
        ok = correlation >= threshold
        note = f"identifiable: correlation {'>=' if ok else '<'} threshold {threshold:g}"
        if not ok and best is not None and best >= threshold:
            note += (f"; the learned component closest to it ({best:.3f}) was matched to another node (the "
                     "matching maximises the total over all nodes; an unidentifiable child that is largely a "
                     "function of this node can take it)")
        return ok, note
    if verdict == "unidentifiable":
        if share > margin:
            return True, (f"unidentifiable: parent share {share:.3f} > {margin:g}, distinguishable from an "
                          "identified recovery")
        note = (f"unidentifiable: parent share {share:.3f} <= {margin:g}, not distinguishable from an "
                "identified recovery in this run (inconclusive: other solutions exist, the learner need not "
                "find them)")
        if segment_share is not None and segment_share > margin:
            note += (f"; within each environment the parents explain {segment_share:.3f} of it, as they do "
                     "of the noise n_i when the mechanism changes with u (not judged: that share also grows "
                     "with learning error)")
        return None, note
    return None, f"{verdict}: the theory predicts nothing for this node"


def _require_fraction(name: str, value: object, *, zero: bool) -> None:
    """IdentcheckError unless ``value`` is a real number in (0, 1], or [0, 1] with ``zero``."""
    real = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not (real and (0 <= value if zero else 0 < value) and value <= 1):  # type: ignore[operator]
        raise IdentcheckError(f"{name} must be a number in {'[' if zero else '('}0, 1], got {value!r}")


def verify(scm: SCM, *, seed: int = 0, samples_per_env: int | None = None, epochs: int | None = None,
           seeds: int = 1, threshold: float = 0.9, quick: bool = False, method: str = "auto",
           share_margin: float = SHARE_MARGIN, learner_params: Mapping[str, Any] | None = None,
           progress: bool = False) -> VerifyReport:
    """Check ``scm``, simulate it, fit ``method`` with the pinned references, and compare (CONTRACT §4).

    samples_per_env (at least 2: a fifth of the rows are held out, and every environment needs rows to train
    on), epochs: default to `BUDGETS[quick]` (which also sets the width and the restarts);
    seeds: repeat the whole run (simulation and fit) with seeds seed, seed+1, ..., and report a 95% interval
    per node; threshold: the correlation an identifiable node must reach; share_margin: the parent share
    above which an unidentifiable node's recovery is distinguishable; learner_params: extra constructor
    arguments of the learner, overriding the budget's (e.g. ``{"hidden": 32, "restarts": 1}``); method:
    ``"auto"`` (the default: `choose_method` picks the learner from the model), a learner name, or
    ``name:preset`` with a preset of `identcheck.learn.PRESETS` (e.g. ``latent_mlp:ordered``). The budget's
    epochs and restarts replace the preset's, and its no-edge, order-search and rotation-search stages scale
    with the epochs (`_stage_epochs`: as measured at the default 300, shorter with ``quick`` or fewer epochs).

    Pinning (SPEC §2 quantifier order): see `choose_pins`. The learner fixes the causal order 1..ℓ; its
    slot k stands for the k-th latent of ``scm.order`` (``learner_order`` in the report). verify pins
    one set of environments for every slot, so this mapping (or the slot-order search of the ``ordered``
    and ``greedy`` presets) does not change the pins; the learned graph is read back through the correlation
    matching, which also undoes the permutation of Theorem 2.1.

    >>> import identcheck
    >>> r = verify(identcheck.load_example("C7"), samples_per_env=100, epochs=2)
    >>> r.nodes["z3"].verdict, r.pins.environments, r.nodes["z1"].correlation <= 1
    ('unidentifiable', (0,), True)
    """
    require_scm(scm, "verify")
    require_seed(seed)
    for key, value, low in (("seeds", seeds, 1), ("samples_per_env", samples_per_env, 2), ("epochs", epochs, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low):
            raise IdentcheckError(f"{key} must be an integer >= {low}, got {value!r}")
    if seed + seeds - 1 >= SEED_LIMIT:  # each run fits with its own seed: refuse before the first fit
        raise IdentcheckError(f"the seeds {seed}..{seed + seeds - 1} must lie in [0, 2**32): they seed the learner")
    if learner_params is not None and not (isinstance(learner_params, Mapping)
                                           and all(isinstance(k, str) for k in learner_params)):
        raise IdentcheckError(f"learner_params must be a mapping of argument names to values, got {learner_params!r}")
    if learner_params and "latent_dim" in learner_params:
        raise IdentcheckError("learner_params cannot set latent_dim: verify fits as many latents as the spec has")
    if learner_params and "reference_envs" in learner_params:  # the report judges the pins it chose
        raise IdentcheckError("learner_params cannot set reference_envs: verify pins the environments its check "
                              "found (choose_pins) and judges each node by them; to fit other pins, fit the "
                              "learner directly")
    _require_fraction("threshold", threshold, zero=False)
    _require_fraction("share_margin", share_margin, zero=True)
    check_method(method, scm, learner_params)  # an unknown learner or preset fails before any work
    method, reason = choose_method(scm, method)
    default = BUDGETS[bool(quick)]
    budget = Budget(default.samples_per_env if samples_per_env is None else samples_per_env,
                    default.epochs if epochs is None else epochs, default.hidden, default.restarts)
    require_held_out(budget.samples_per_env, scm.environments.count)
    require_size(budget.epochs, "epochs", MAX_EPOCHS, IdentcheckError)  # before the check and the simulation
    require_memory_for(scm, budget.samples_per_env)
    start = time.perf_counter()
    report = check(scm)
    checked = time.perf_counter()
    pins = choose_pins(scm, report)
    params = dict(learner_params or {})
    caveat = learner_class_caveat(scm, pins.environments, method)
    runs = [_one_seed(scm, seed + k, budget, pins, method, params, progress) for k in range(seeds)]
    correlations = np.array([r["correlation"] for r in runs])  # (seeds, ℓ)
    shares = [r["shares"] for r in runs]  # per seed, one ParentShare per latent
    nodes = {}
    for k, name in enumerate(scm.latents):
        verdict = report.nodes[name].verdict
        corr = float(correlations[:, k].mean())
        share = float(np.mean([s[k].share for s in shares]))
        covered = name in pins.covered
        best = float(np.mean([r["best"][k] for r in runs]))
        segment_share = float(np.mean([r["segment_shares"][k] for r in runs]))
        consistent, note = _judge(verdict, corr, share, covered, threshold, share_margin, best, segment_share)
        if consistent is False and caveat and caveat.correlations[name] < threshold:
            note += (f"; this linear Gaussian spec has exact fits in the learner's class in which no learned latent "
                     f"correlates above {caveat.correlations[name]:.3f} with {name} (learner_class_caveat), so "
                     "a learner can miss this node without a learning failure")
        elif consistent is False and report.caveats:
            note += ("; the check's caveat gives an exact alternative model with the same p(x|u) for this linear "
                     "Gaussian spec, so a learner can miss this node without a learning failure")
        nodes[name] = NodeVerification(
            latent=name, verdict=verdict, correlation=corr, consistent=consistent,
            correlation_method="spearman" if name in scm.post_nonlinear else "pearson", parent_share=share,
            r2_full=float(np.mean([s[k].r2_full for s in shares])),
            r2_node=float(np.mean([s[k].r2_node for s in shares])), distinguishable=share > share_margin,
            covered=covered, matched=int(runs[0]["matched"][k]), note=note,
            per_seed=tuple(float(c) for c in correlations[:, k]),
            per_seed_share=tuple(float(s[k].share) for s in shares), ci=_interval(correlations[:, k]),
            best_correlation=best, segment_parent_share=segment_share)
    missed = [name for name, node in nodes.items() if node.verdict == "identifiable" and node.consistent is False]
    for name, node in nodes.items():
        if missed and node.verdict == "unidentifiable" and node.consistent:
            nodes[name] = replace(node, consistent=None, note=node.note + (
                f"; not counted: the same fit misses the identifiable node(s) {', '.join(missed)}, and a fit that "
                "does not recover what the theory guarantees shows nothing about other solutions"))
    timings = {"check": checked - start,
               **{key: float(sum(r[key] for r in runs)) for key in ("simulate", "fit", "compare")},
               "total": time.perf_counter() - start}
    return VerifyReport(
        check=report, nodes=nodes, mpc=float(correlations.mean()),
        mpc_per_seed=tuple(float(c) for c in correlations.mean(axis=1)), threshold=threshold,
        share_margin=share_margin, seeds=tuple(seed + k for k in range(seeds)), method=method,
        samples_per_env=budget.samples_per_env, epochs=budget.epochs, quick=bool(quick), pins=pins,
        learner_order=scm.order, true_edges=scm.edges, learned_edges=runs[0]["learned_edges"],
        shd=runs[0]["shd"], timings=timings, method_reason=reason, learner_settings=runs[0]["settings"],
        class_caveat=caveat)
