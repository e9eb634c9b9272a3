"""The two screens of the exact-likelihood learners: slot orders of the no-edge solution and rotations of pairs
of fitted latents (a learner's ``order_search_epochs`` and ``rotation_search_epochs``).

A screen trains short runs of one model, each from one start state moved by one candidate, scores each run by
its best held-out objective, and leaves the model where the full stage goes on from. It changes only the
model it was given; which candidate a learner keeps is the learner's business (`LatentLearner._train`).

>>> import torch
>>> from identcheck.learn.flows import SmoothLeakyFlow
>>> from identcheck.learn.model import ConditionalPrior, LatentFlow
>>> from identcheck.learn.training import TrainSettings
>>> model = LatentFlow(ConditionalPrior(2, 2, hidden=8, layers=2),
...                    SmoothLeakyFlow(2, depth=1, generator=torch.Generator().manual_seed(0)))
>>> x, env = torch.randn(200, 2, generator=torch.Generator().manual_seed(1)), torch.arange(200) % 2
>>> settings = TrainSettings(epochs=50, lr=1e-3, batch_size=64, schedule="cosine", clip_grad=5.0,
...     early_stopping=True, patience=5, validation_fraction=0.2, progress=False, seed=0,
...     beta=1.0, obs_var=0.01, sparsity=0.0)
>>> found, candidates = search_rotations(model, x, env, short_runs(settings, 2, lr=3e-3), [90.0])
>>> found["searched_rotations"], sorted(candidates)
([[0, 1, 0.0], [0, 1, 90.0]], ['rotated', 'unrotated'])
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from math import copysign, factorial, inf, sqrt
from typing import Any

import torch
from tqdm.auto import tqdm

from .model import LatentFlow
from .training import EVAL_BATCH, TrainSettings, snapshot, split_rows, train

__all__ = ["ORDER_SEARCHES", "ROTATION_ANGLES", "ROTATION_DECISIONS", "Candidate", "order_search_runs",
           "short_runs", "search_orders", "search_rotations", "paired_gain_z"]

ORDER_SEARCHES = ("exhaustive", "greedy", "fixed")  # the values of ``order_search``
ROTATION_DECISIONS = ("short", "full")  # the values of ``rotation_decision``
ROTATION_ANGLES = (30.0, 60.0, 90.0, 120.0, 150.0)  # degrees screened by ``rotation_search_epochs``

# a rotation screen's candidate: its short run's best held-out objective, its rotation [a, b, degrees], its state
Candidate = tuple[float, tuple[int, int, float], dict[str, torch.Tensor]]


def order_search_runs(latent_dim: int, order_search: str) -> int:
    """How many short runs ``order_search`` screens at ℓ = ``latent_dim``: ℓ! for "exhaustive",
    ℓ + (ℓ-1)(ℓ-2)/2 for "greedy" (each slot tries every latent not yet placed; the order kept so far is not
    run again), 1 for "fixed" (the no-edge stage's own order).

    >>> order_search_runs(5, "exhaustive"), order_search_runs(5, "greedy"), order_search_runs(5, "fixed")
    (120, 11, 1)
    """
    if order_search == "fixed":
        return 1
    if order_search == "exhaustive":
        return factorial(latent_dim)
    return latent_dim + (latent_dim - 1) * (latent_dim - 2) // 2


def short_runs(settings: TrainSettings, epochs: int, lr: float) -> TrainSettings:
    """The screens' short runs: ``epochs`` at the constant ``lr``, never stopped early (the best state is kept).

    From the no-edge solution the coefficients stay near 0 for tens of epochs at the full stage's lr 1e-3, a
    plateau on which early stopping ended the runs and every order scored the no-edge objective
    (docs/learner_notes.md, "The no-edge plateau"); the learners pass the no-edge stage's lr.

    >>> settings = TrainSettings(epochs=200, lr=1e-3, batch_size=64, schedule="cosine", clip_grad=5.0,
    ...     early_stopping=True, patience=5, validation_fraction=0.2, progress=True, seed=0,
    ...     beta=1.0, obs_var=0.01, sparsity=0.0)
    >>> short = short_runs(settings, 30, lr=3e-3)
    >>> short.epochs, short.lr, short.schedule, short.patience, short.progress, short.seed
    (30, 0.003, 'constant', 30, False, 0)
    """
    return replace(settings, epochs=epochs, lr=lr, schedule="constant", early_stopping=True, patience=epochs,
                   progress=False)


def search_orders(module: LatentFlow, x: torch.Tensor, env: torch.Tensor, short: TrainSettings,
                  order_search: str, *, progress: bool = False, desc: str = "") -> dict[str, list]:
    """Screen slot orders of the no-edge solution in ``module`` by ``short`` runs of the full model, as
    ``order_search`` says ("exhaustive", "greedy" or "fixed", see `order_search_runs`), and leave ``module`` in
    the best order's screened state. Return, for the learner's history, the order kept (``slot_order``),
    every order screened in the order they ran (``searched_orders``) and each one's best held-out objective
    (``order_val_loss``). Relabelling slots (`LatentFlow.permute_slots`) leaves the no-edge likelihood
    unchanged, so only the short runs tell the orders apart.

    >>> from identcheck.learn.flows import SmoothLeakyFlow
    >>> from identcheck.learn.latent_mlp import MLPMechanisms
    >>> model = LatentFlow(MLPMechanisms(2, 2, hidden=8, layers=2),
    ...                    SmoothLeakyFlow(2, depth=1, generator=torch.Generator().manual_seed(0)))
    >>> x, env = torch.randn(200, 2, generator=torch.Generator().manual_seed(1)), torch.arange(200) % 2
    >>> settings = TrainSettings(epochs=50, lr=1e-3, batch_size=64, schedule="cosine", clip_grad=5.0,
    ...     early_stopping=True, patience=5, validation_fraction=0.2, progress=False, seed=0,
    ...     beta=1.0, obs_var=0.01, sparsity=0.0)
    >>> found = search_orders(model, x, env, short_runs(settings, 2, lr=3e-3), "exhaustive")
    >>> found["searched_orders"], found["slot_order"] in found["searched_orders"], len(found["order_val_loss"])
    ([[0, 1], [1, 0]], True, 2)
    """
    start = snapshot(module)
    ell = module.structure.latent_dim
    bar = tqdm(total=order_search_runs(ell, order_search), desc=f"{desc} (slot orders)", unit="order",
               disable=not progress, leave=False)
    scores: dict[tuple[int, ...], float] = {}
    screened: dict[tuple[int, ...], dict[str, torch.Tensor]] = {}

    def objective(order: tuple[int, ...]) -> float:
        if order not in scores:
            module.load_state_dict(start)
            module.permute_slots(order)
            run: dict[str, list[float]] = {}
            kept = train(module, x, env, short, run)
            scores[order] = run["val_loss"][kept - 1]
            screened[order] = snapshot(module)
            for worse in [o for o in screened if scores[o] > min(scores.values())]:  # only a best can be kept
                del screened[worse]
            bar.update()
        return scores[order]

    if order_search == "fixed":
        best = tuple(range(ell))
        objective(best)
    elif order_search == "exhaustive":
        best = min(itertools.permutations(range(ell)), key=objective)
    else:
        best = tuple(range(ell))
        for k in range(ell - 1):  # slot k gets the latent whose short run is best there
            best = min((best[:k] + (c,) + tuple(r for r in best[k:] if r != c) for c in best[k:]), key=objective)
    bar.close()
    module.load_state_dict(screened[best])  # the full stage goes on from the best short run
    return {"slot_order": list(best), "searched_orders": [list(o) for o in scores],
            "order_val_loss": list(scores.values())}


def search_rotations(module: LatentFlow, x: torch.Tensor, env: torch.Tensor, short: TrainSettings,
                     angles: Sequence[float], *, progress: bool = False, desc: str = ""
                     ) -> tuple[dict[str, Any], dict[str, Candidate]]:
    """Screen rotations of pairs of the fitted latents in ``module``: for every pair of slots a < b and every
    angle in ``angles`` (degrees), latents a and b, each scaled by its standard deviation on ``x``, are
    rotated in their plane (`LatentFlow.rotate_slots`, determinant 1) and a ``short`` run trains from there;
    the unrotated model gets the same run, as rotation [0, 1, 0].

    Return, for the learner's history, every rotation screened (``searched_rotations``), each one's best
    held-out objective (``rotation_val_loss``) and `paired_gain_z` of the best rotation against the
    unrotated run (``rotation_gain_z``); and the two candidates a learner chooses from, "unrotated" and
    "rotated" (the best rotation; the first of equal objectives), each a `Candidate`. ``module`` is left in
    the rotated candidate's state.

    >>> from identcheck.learn.flows import SmoothLeakyFlow
    >>> from identcheck.learn.model import ConditionalPrior, LatentFlow
    >>> model = LatentFlow(ConditionalPrior(2, 2, hidden=8, layers=2),
    ...                    SmoothLeakyFlow(2, depth=1, generator=torch.Generator().manual_seed(0)))
    >>> x, env = torch.randn(200, 2, generator=torch.Generator().manual_seed(1)), torch.arange(200) % 2
    >>> settings = TrainSettings(epochs=50, lr=1e-3, batch_size=64, schedule="cosine", clip_grad=5.0,
    ...     early_stopping=True, patience=5, validation_fraction=0.2, progress=False, seed=0,
    ...     beta=1.0, obs_var=0.01, sparsity=0.0)
    >>> found, candidates = search_rotations(model, x, env, short_runs(settings, 2, lr=3e-3), [45.0, 90.0])
    >>> found["searched_rotations"], len(found["rotation_val_loss"]), candidates["unrotated"][1]
    ([[0, 1, 0.0], [0, 1, 45.0], [0, 1, 90.0]], 3, (0, 1, 0.0))
    """
    start = snapshot(module)
    with torch.no_grad():
        scale = module.flow(x)[0].std(0).clamp_min(1e-12)
    pairs = itertools.combinations(range(module.structure.latent_dim), 2)
    rotations = [(0, 1, 0.0)] + [(a, b, float(deg)) for (a, b), deg in itertools.product(pairs, angles)]
    scores: list[float] = []
    kept: dict[str, Candidate] = {}
    for a, b, degrees in tqdm(rotations, desc=f"{desc} (rotations)", unit="rotation", disable=not progress,
                              leave=False):
        module.load_state_dict(start)
        module.rotate_slots(a, b, degrees, scale)
        run: dict[str, list[float]] = {}
        epoch = train(module, x, env, short, run)
        scores.append(run["val_loss"][epoch - 1])
        which = "rotated" if degrees else "unrotated"
        if which not in kept or scores[-1] < kept[which][0]:  # the first of equal objectives is kept
            kept[which] = (scores[-1], (a, b, degrees), snapshot(module))
    _, val_rows, _ = split_rows(x.shape[0], short)
    val_rows = val_rows.to(x.device)
    gain_z = paired_gain_z(module, kept["unrotated"][2], kept["rotated"][2], x[val_rows], env[val_rows],
                           short.sparsity)
    return {"searched_rotations": [list(r) for r in rotations], "rotation_val_loss": scores,
            "rotation_gain_z": gain_z}, kept


def paired_gain_z(module: LatentFlow, baseline: Mapping[str, torch.Tensor], candidate: Mapping[str, torch.Tensor],
                  x: torch.Tensor, env: torch.Tensor, sparsity: float) -> float:
    """How far the ``candidate`` state's objective on the rows (x, env) lies below the ``baseline`` state's, in
    standard errors of the rows' paired differences: each row's −log p(x|u) plus the sparsity penalty under
    each state, the baseline's minus the candidate's, their mean over their standard error (0 where every
    difference is 0). Leaves ``module`` in the ``candidate`` state.

    >>> import torch
    >>> from identcheck.learn.flows import SmoothLeakyFlow
    >>> from identcheck.learn.model import ConditionalPrior
    >>> model = LatentFlow(ConditionalPrior(2, 2, hidden=8, layers=2),
    ...                    SmoothLeakyFlow(2, depth=1, generator=torch.Generator().manual_seed(0)))
    >>> x, env = torch.randn(200, 2, generator=torch.Generator().manual_seed(1)), torch.arange(200) % 2
    >>> fitted, blurred = snapshot(model), {k: v * 0.5 for k, v in snapshot(model).items()}
    >>> paired_gain_z(model, fitted, fitted, x, env, 0.0)
    0.0
    >>> paired_gain_z(model, fitted, blurred, x, env, 0.0) == -paired_gain_z(model, blurred, fitted, x, env, 0.0)
    True
    """
    rows = []
    for state in (baseline, candidate):
        module.load_state_dict(state)
        module.eval()
        with torch.no_grad():
            nll = torch.cat([module.neg_log_likelihood(x[i:i + EVAL_BATCH], env[i:i + EVAL_BATCH])
                             for i in range(0, x.shape[0], EVAL_BATCH)])
            rows.append(nll.double() + sparsity * float(module.structure.penalty()))
    diff = rows[0] - rows[1]
    spread = float(diff.std()) if diff.shape[0] > 1 else 0.0
    mean = float(diff.mean())
    if spread == 0.0:
        return 0.0 if mean == 0.0 else copysign(inf, mean)
    return mean / (spread / sqrt(diff.shape[0]))
