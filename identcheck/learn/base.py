"""The estimator shared by every learner (scikit-learn style, STYLE.md) and its causal extension.

A learner's constructor only stores its arguments; `fit(x, u)` validates, builds the torch model, trains
it with the one loop of `training.py` and returns ``self``; learned attributes end in ``_``. Learners
differ only in `_make_structure` (the prior and the mechanisms, `model.py`), so all of them share one
constructor signature and one interface: a benchmark loops over names, never over special cases.
Arguments that a learner has no use for (``reference_envs``, ``sparsity`` and ``post_nonlinear`` on the
learners without mechanisms) are accepted and ignored.

>>> import numpy as np
>>> from identcheck.learn import IVAE
>>> rng = np.random.default_rng(0)
>>> x, u = rng.normal(size=(200, 2)), rng.integers(0, 4, size=200)
>>> learner = IVAE(2, epochs=2, progress=False).fit(x, u)
>>> learner.transform(x, u).shape
(200, 2)
"""

from __future__ import annotations

import inspect
import itertools
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from math import copysign, factorial, inf, sqrt
from os import PathLike
from typing import Any, ClassVar

import numpy as np
import torch
from tqdm.auto import tqdm

from identcheck.errors import DataError, IdentcheckError, NotFittedError, TrainingError

from .flows import SmoothLeakyFlow
from .inputs import as_env_index, as_features
from .model import CausalStructure, ConditionalPrior, LatentFlow, LatentVAE, References, Structure
from .training import EVAL_BATCH, TrainSettings, snapshot, split_rows, train

__all__ = ["LatentLearner", "CausalLearner", "order_search_runs", "paired_gain_z"]

FILE_FORMAT = "identcheck-learner"
STRENGTH_SAMPLES = 5000
ORDER_SEARCHES = ("exhaustive", "greedy", "fixed")  # the values of ``order_search``
ROTATION_DECISIONS = ("short", "full")  # the values of ``rotation_decision``
ROTATION_ANGLES = (30.0, 60.0, 90.0, 120.0, 150.0)  # degrees screened by ``rotation_search_epochs``


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


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise IdentcheckError(f"device must be 'auto', 'cpu' or 'cuda[:k]', got {device!r}") from None


@dataclass
class Restart:
    """One restart's outcome: its model in the kept state, its history, the kept epoch and that epoch's held-out
    objective; or the `TrainingError` that stopped it, with the model in its last good state, that state's
    epoch and no objective (NaN)."""

    module: LatentVAE | LatentFlow
    history: dict[str, list[float]]
    best_epoch: int
    val_loss: float
    error: TrainingError | None = None


def _restart_in_worker(learner: LatentLearner, x: torch.Tensor, env: torch.Tensor, n_envs: int,
                       seed: int) -> Restart:
    """`LatentLearner._restart` in a pool process, on ``threads`` torch threads (1 when None), without bars
    (``learner`` is the process's own copy; bars from several processes would interleave)."""
    learner.progress = False
    with _torch_threads(learner.threads or 1):
        return learner._restart(x, env, n_envs, seed)


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run torch's CPU ops on ``threads`` threads inside the block and restore the previous setting after."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class LatentLearner:
    """Base of all learners: a VAE over the noise n with a learner-specific structure (SPEC §6).

    Parameters (shared by every learner):
        latent_dim: ℓ, the number of latent variables (assumed known, SPEC §7.8).
        hidden, layers: width and number of linear maps of every MLP (encoder, decoder, u-nets, mechanisms).
        sparsity: γ, the weight of the L1 term mean_u Σ|λ(u)| on the causal coefficients.
        reference_envs: environment indices where the causal coefficients are pinned to exactly 0 (the shared
            reference of (iv), SPEC §2 "quantifier order"), the same for every node; or a mapping from a
            node's slot 0..ℓ-1 (the learner's causal order) to its own environments, the node-wise
            references of (iv-N), leaving the slots it omits unpinned (a node that violates (iv) has no
            environment where its true mechanism is constant, so pinning it would exclude the truth from
            the model). None pins nothing.
        post_nonlinear: add a learned monotone map ḡ_i after each additive mechanism (SPEC Eq. 5).
        beta: weight of the KL term (1 = the ELBO).
        obs_var: the decoder variance σ_x² on standardised x (SuaVE's 0.01).
        obs_var_final: when set, σ_x² anneals geometrically from ``obs_var`` to this value over the first half
            of the epochs and then stays there: a large variance early makes training easy, a small one at
            the end brings the ELBO closer to the likelihood, whose maximiser the theory identifies.
        epochs, lr, batch_size, schedule ("cosine" | "constant"), clip_grad: Adam settings.
        early_stopping, patience, validation_fraction: stop when the held-out objective has not improved
            for ``patience`` epochs, and keep the best state.
        restarts: train this many times (seeds ``seed``, ``seed + 1``, ...) and keep the run with the best
            held-out objective. A run can settle with the learned order 1..ℓ inconsistent with the true
            causal order (SPEC §3, subtle point 3); such runs fit worse, and restarts avoid them.
        n_jobs: train the restarts in a pool of this many processes (-1: one per CPU core; at most one per
            restart), each on ``threads`` torch threads (1 when None). Every restart seeds itself, so the fit
            is the one ``n_jobs=1`` gives, in the time of about ⌈restarts / n_jobs⌉ restarts on as many free
            cores (plus a few seconds to start the processes). The pool starts its processes with "spawn",
            so a script that calls `fit` with ``n_jobs`` > 1 needs the usual ``if __name__ == "__main__":``
            guard. On CUDA the restarts run one after another.
        device: "auto" (CUDA when available, else CPU), "cpu" or "cuda[:k]".
        seed: seeds initialisation, the split, shuffling and the reparametrisation noise (deterministic
            on CPU); the global torch RNG is left untouched.
        progress: show a tqdm bar with the live losses.
        threads: torch CPU threads used inside `fit`, `transform` and the other methods, restored on return
            (None keeps torch's setting). The nets are small, so one thread is the fastest: more threads
            mostly add synchronisation, and on a busy machine they slow training down by an order of magnitude.
        likelihood: "elbo" (the default) trains the VAE of SPEC Eqs. 7-8. "exact" needs d = ℓ and replaces
            the encoder and decoder by an invertible map x -> ẑ (`SmoothLeakyFlow`, ``layers`` smooth
            leaky-ReLU layers) trained on the exact log-likelihood (`LatentFlow`), under the learner's own
            structure; ``beta``, ``obs_var`` and ``obs_var_final`` then have nothing to act on, and
            ``post_nonlinear`` is not supported. There is no variational gap, and fits that come close to
            the true likelihood recover the latents; but many random starts stop well short of it, so use
            ``restarts`` (the README's learner benchmark has the numbers). It wants more epochs and a
            larger lr than the ELBO (we use 300 and 3e-3).
        pretrain_epochs, pretrain_lr: learners with mechanisms first train up to ``pretrain_epochs`` epochs
            (at ``pretrain_lr``, default ``lr``) with every causal coefficient held at 0, which is the iVAE
            model, and then start the coefficients from 0 for the ``epochs`` of the full model. 0 (the
            default) skips this stage; learners without mechanisms ignore it. Measured with
            ``likelihood="exact"`` (README, learner benchmark): from the iVAE solution the causal model
            reaches the truth's likelihood far more often than from a random start.
        order_search_epochs: with ``likelihood="exact"`` and a no-edge stage, choose which no-edge latent goes
            into which slot of the causal order before the full model trains. The no-edge solution is
            relabelled into each of the ℓ! slot orders (`LatentFlow.permute_slots`, which leaves its
            likelihood unchanged), the full model trains ``order_search_epochs`` epochs from each (at the
            constant ``pretrain_lr``, default ``lr``, without early stopping, keeping each run's best state),
            and the full ``epochs`` then go on from the short run with the best held-out objective. 0 (the
            default) keeps the order the no-edge stage returned and starts the full stage from the no-edge
            solution at ``lr``, where the coefficients can stay near 0 for tens of epochs (the no-edge
            plateau; ``order_search="fixed"`` avoids it without a search). Pins in ``reference_envs`` stay
            with their slots, not with the latents.
        order_search: which orders ``order_search_epochs`` screens. "exhaustive" (the default) runs all ℓ!
            (6 at ℓ = 3, 24 at ℓ = 4, 120 at ℓ = 5). "greedy" fills the slots from the root down: for slot
            k, every latent not yet placed is tried there (the others keep their current order) and the best
            short run decides; the order kept so far is not run again, so it costs ℓ + (ℓ-1)(ℓ-2)/2 short runs
            (4 at ℓ = 3, 11 at ℓ = 5, 46 at ℓ = 10) and may miss the best order. "fixed" runs only the
            order the no-edge stage returned: no search, but its short run still lifts the coefficients off
            the no-edge plateau before the full stage (docs/learner_notes.md, "The no-edge plateau").
        noise_floor, noise_floor_steps: during the first ``noise_floor_steps`` training steps of each restart
            (counted over all its stages) the prior's noise std σ is widened to (σ² + f²)^(1/2), with f
            falling linearly from ``noise_floor`` to 0; afterwards, and in the fitted model, the prior is as
            learned. 0 (the default) turns it off; learners without a conditional prior (VAE, β-VAE) ignore
            it. It smooths the likelihood early on, where a child that its parents nearly decide has a thin
            noise layer (docs/learner_notes.md, "Fig. 2 misses: a child its parent nearly decides").
        rotation_search_epochs, rotation_angles, rotation_margin, rotation_decision: with
            ``likelihood="exact"``, after the full stage screen rotations of pairs of latents and train the
            full stage once more. For every pair of slots a < b and every angle in ``rotation_angles``
            (degrees), the fitted model's latents a and b, each scaled by its standard deviation, are rotated
            in their plane (`LatentFlow.rotate_slots`, a map of determinant 1) and the model trains
            ``rotation_search_epochs`` epochs from there (at the constant ``pretrain_lr``, default ``lr``,
            without early stopping, keeping each run's best state); the unrotated model gets the same short
            run. That is ℓ(ℓ-1)/2 · len(rotation_angles) + 1 short runs (16 at ℓ = 3 with the five default
            angles, 51 at ℓ = 5). Two candidates remain, the unrotated run and the best rotation's.
            ``rotation_decision="full"`` (the default) trains the full ``epochs`` from each and keeps the
            rotated one if its best held-out objective beats the unrotated one's by more than
            ``rotation_margin`` (in the objective's units, nats per row for the exact likelihood; default
            0.02). "short" compares the short runs instead and trains the full stage once, from the rotation
            if it wins there by more than the margin (0.05 suits it), else from the unrotated run. A fit can
            settle with two latents mixed across two slots, a node and its parent or child, which gradient
            steps do not undo; on Fig. 2's misses one rotation leads out (docs/learner_notes.md, "Rotations
            out of a mixed pair"). A rotation that ends 0.015 nats ahead or less can cost a hit, so the
            margin; 30-epoch runs undersell some rotations that lead out (0.018–0.045 after 30 epochs,
            0.023–0.053 after the full stage), so "full", at the price of one more full stage ("Comparing
            after the second stage", stop 27). 0 (the default) skips the screen.

    Learned attributes: ``module_`` (the torch model), ``n_envs_``, ``n_features_in_``, ``x_mean_``,
    ``x_scale_`` (x is standardised per feature), ``history_`` (``train_loss``, ``val_loss``, ``seconds``
    per epoch, of the kept run; with ``order_search_epochs`` also ``slot_order``, the order chosen,
    ``searched_orders``, the orders screened, in the order they ran (lexicographic for "exhaustive"), and
    ``order_val_loss``, the best held-out objective of each one's short run; with ``rotation_search_epochs``
    also ``rotation``, the kept [a, b, degrees] (degrees 0: no rotation), ``searched_rotations``, every one
    screened, ``rotation_val_loss``, each one's best held-out objective, and ``rotation_gain_z``, one
    number: how many standard errors over the held-out rows the best rotation's objective lies below the
    unrotated run's, `paired_gain_z`; with ``rotation_decision="full"`` also ``rotation_full_val_loss``, the
    unrotated and the best rotated candidate's best held-out objectives after their second full stages),
    ``best_epoch_``,
    ``restart_val_losses_`` (held-out objective of each restart's kept state), ``device_``.
    """

    name: ClassVar[str] = ""
    encoder_uses_u: ClassVar[bool] = True

    def __init__(self, latent_dim: int, *, hidden: int = 64, layers: int = 3, sparsity: float = 0.01,
                 reference_envs: References | None = None, post_nonlinear: bool = False, beta: float = 1.0,
                 obs_var: float = 0.01, obs_var_final: float | None = None, epochs: int = 200, lr: float = 1e-3,
                 batch_size: int = 512,
                 schedule: str = "cosine", clip_grad: float = 5.0, early_stopping: bool = True,
                 patience: int = 20, validation_fraction: float = 0.1, restarts: int = 1, n_jobs: int = 1,
                 device: str = "auto", seed: int = 0, progress: bool = True, threads: int | None = 1,
                 likelihood: str = "elbo",
                 pretrain_epochs: int = 0, pretrain_lr: float | None = None, order_search_epochs: int = 0,
                 order_search: str = "exhaustive", noise_floor: float = 0.0, noise_floor_steps: int = 0,
                 rotation_search_epochs: int = 0, rotation_angles: Sequence[float] = ROTATION_ANGLES,
                 rotation_margin: float = 0.02, rotation_decision: str = "full"):
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.layers = layers
        self.sparsity = sparsity
        self.reference_envs = reference_envs
        self.post_nonlinear = post_nonlinear
        self.beta = beta
        self.obs_var = obs_var
        self.obs_var_final = obs_var_final
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.schedule = schedule
        self.clip_grad = clip_grad
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.restarts = restarts
        self.n_jobs = n_jobs
        self.device = device
        self.seed = seed
        self.progress = progress
        self.threads = threads
        self.likelihood = likelihood
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.order_search_epochs = order_search_epochs
        self.order_search = order_search
        self.noise_floor = noise_floor
        self.noise_floor_steps = noise_floor_steps
        self.rotation_search_epochs = rotation_search_epochs
        self.rotation_angles = rotation_angles
        self.rotation_margin = rotation_margin
        self.rotation_decision = rotation_decision

    # ----------------------------------------------------------------- parameters
    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, by name (scikit-learn's convention)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        defaults = {k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()}
        shown = [f"{k}={v!r}" for k, v in self.get_params().items() if k == "latent_dim" or v != defaults[k]]
        return f"{type(self).__name__}({', '.join(shown)})"

    def _check_params(self, n_envs: int, n_samples: int) -> None:
        positive_ints = ("latent_dim", "hidden", "layers", "epochs", "batch_size", "patience", "restarts")
        for key in positive_ints:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise IdentcheckError(f"{key} must be an integer >= 1, got {value!r}")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise IdentcheckError(f"threads must be None or an integer >= 1, got {self.threads!r}")
        if isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, (int, np.integer)) \
                or not (self.n_jobs >= 1 or self.n_jobs == -1):
            raise IdentcheckError(f"n_jobs must be an integer >= 1, or -1 for every CPU core, got {self.n_jobs!r}")
        for key in ("lr", "obs_var", "clip_grad"):
            if not getattr(self, key) > 0:
                raise IdentcheckError(f"{key} must be > 0, got {getattr(self, key)!r}")
        if self.obs_var_final is not None and not self.obs_var_final > 0:
            raise IdentcheckError(f"obs_var_final must be None or > 0, got {self.obs_var_final!r}")
        for key in ("beta", "sparsity"):
            if not getattr(self, key) >= 0:
                raise IdentcheckError(f"{key} must be >= 0, got {getattr(self, key)!r}")
        for key in ("pretrain_epochs", "order_search_epochs", "rotation_search_epochs"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise IdentcheckError(f"{key} must be an integer >= 0, got {value!r}")
        if self.order_search not in ORDER_SEARCHES:
            raise IdentcheckError(f"order_search must be one of {', '.join(map(repr, ORDER_SEARCHES))}, "
                                  f"got {self.order_search!r}")
        if self.order_search_epochs and not (self.likelihood == "exact" and self.pretrain_epochs):
            raise IdentcheckError("order_search_epochs screens the no-edge solution of the exact likelihood: "
                                  "it needs likelihood='exact' and pretrain_epochs >= 1")
        if self.rotation_search_epochs and self.likelihood != "exact":
            raise IdentcheckError("rotation_search_epochs rotates the latents of the exact likelihood's flow: it "
                                  "needs likelihood='exact'")
        angles = self.rotation_angles
        if isinstance(angles, (str, bytes)) or not isinstance(angles, Sequence) or not angles or not all(
                isinstance(a, (int, float)) and not isinstance(a, bool) and 0 < a < 180 for a in angles):
            raise IdentcheckError(f"rotation_angles must be a non-empty list of degrees strictly between 0 and "
                                  f"180, got {angles!r}")
        if isinstance(self.rotation_margin, bool) or not isinstance(self.rotation_margin, (int, float)) \
                or not 0 <= self.rotation_margin < float("inf"):
            raise IdentcheckError(f"rotation_margin must be a number >= 0, got {self.rotation_margin!r}")
        if self.rotation_decision not in ROTATION_DECISIONS:
            raise IdentcheckError(f"rotation_decision must be one of {', '.join(map(repr, ROTATION_DECISIONS))}, "
                                  f"got {self.rotation_decision!r}")
        if isinstance(self.noise_floor, bool) or not isinstance(self.noise_floor, (int, float)) \
                or not 0 <= self.noise_floor < float("inf"):
            raise IdentcheckError(f"noise_floor must be a number >= 0, got {self.noise_floor!r}")
        steps = self.noise_floor_steps
        least = 1 if self.noise_floor else 0
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < least:
            raise IdentcheckError(f"noise_floor_steps must be an integer >= {least} "
                                  f"(with noise_floor {self.noise_floor!r}), got {steps!r}")
        if self.pretrain_lr is not None and not self.pretrain_lr > 0:
            raise IdentcheckError(f"pretrain_lr must be None or > 0, got {self.pretrain_lr!r}")
        if self.likelihood not in ("elbo", "exact"):
            raise IdentcheckError(f"likelihood must be 'elbo' or 'exact', got {self.likelihood!r}")
        if self.likelihood == "exact" and self.post_nonlinear:
            raise IdentcheckError("likelihood='exact' does not support post_nonlinear=True (the maps ḡ_i would "
                                  "need an inverse): use likelihood='elbo'")
        if self.schedule not in ("cosine", "constant"):
            raise IdentcheckError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if not 0 <= self.validation_fraction < 1:
            raise IdentcheckError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        n_val = int(round(self.validation_fraction * n_samples))
        if (self.early_stopping or self.restarts > 1 or self.order_search_epochs or self.rotation_search_epochs) \
                and n_val == 0:
            raise IdentcheckError("early_stopping, restarts, order_search_epochs and rotation_search_epochs need a "
                                  "validation split: raise validation_fraction or the sample size")
        if n_samples - n_val < 1:
            raise DataError(f"{n_samples} sample(s) leave nothing to train on after the validation split")
        references = () if self.reference_envs is None else self.reference_envs
        sets = list(references.values()) if isinstance(references, Mapping) else [references]
        if not all(isinstance(envs, Iterable) and not isinstance(envs, (str, bytes)) for envs in sets):
            raise IdentcheckError(f"reference_envs must be a list of environment indices or a mapping from node "
                                  f"slots to such lists, got {self.reference_envs!r}")
        for slot in references if isinstance(references, Mapping) else ():
            if isinstance(slot, bool) or not isinstance(slot, (int, np.integer)) or not 0 <= slot < self.latent_dim:
                raise IdentcheckError(f"reference_envs maps node slot {slot!r}, but the slots are the "
                                      f"integers 0..{self.latent_dim - 1}")
        for envs in sets:
            for env in envs:
                if isinstance(env, bool) or not isinstance(env, (int, np.integer)) or not 0 <= env < n_envs:
                    raise DataError(f"reference environment {env!r} is not an environment index of the data "
                                    f"(0..{n_envs - 1})")

    def _reference_envs(self) -> References:
        """``reference_envs`` with plain ints (None: nothing pinned)."""
        if self.reference_envs is None:
            return ()
        if isinstance(self.reference_envs, Mapping):
            return {int(slot): [int(e) for e in envs] for slot, envs in self.reference_envs.items()}
        return [int(e) for e in self.reference_envs]

    def _settings(self, seed: int) -> TrainSettings:
        return TrainSettings(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, schedule=self.schedule,
                             clip_grad=self.clip_grad, early_stopping=self.early_stopping, patience=self.patience,
                             validation_fraction=self.validation_fraction, progress=self.progress, seed=seed,
                             beta=self.beta, obs_var=self.obs_var, sparsity=self.sparsity,
                             obs_var_final=self.obs_var_final)

    # ----------------------------------------------------------------- model
    def _make_structure(self, n_envs: int) -> Structure:
        raise NotImplementedError

    def _build(self, n_features: int, n_envs: int, device: torch.device, seed: int) -> LatentVAE | LatentFlow:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            structure = self._make_structure(n_envs)
            if self.likelihood == "exact":
                flow = SmoothLeakyFlow(self.latent_dim, self.layers, torch.Generator().manual_seed(seed))
                return LatentFlow(structure, flow).to(device)
            model = LatentVAE(n_features, n_envs, self.latent_dim, structure, hidden=self.hidden,
                              layers=self.layers, encoder_uses_u=self.encoder_uses_u)
        return model.to(device)

    # ----------------------------------------------------------------- fit / transform
    def fit(self, x: np.ndarray, u: np.ndarray) -> LatentLearner:
        """Learn from observations ``x`` (N, d) and environments ``u`` (indices (N,) or one-hot (N, E)).

        Returns ``self``. Raises `DataError` for unusable data, `IdentcheckError` for invalid arguments and
        `TrainingError` when the loss becomes NaN/inf (the learner then keeps its last good state).
        """
        x_arr = as_features(x)
        env, n_envs = as_env_index(u, n_samples=x_arr.shape[0])
        self._check_params(n_envs, x_arr.shape[0])
        if self.likelihood == "exact" and x_arr.shape[1] != self.latent_dim:
            raise DataError(f"likelihood='exact' needs as many observed features as latents (an invertible "
                            f"map x -> ẑ), got {x_arr.shape[1]} features for latent_dim={self.latent_dim}; "
                            f"use likelihood='elbo'")
        with _torch_threads(self.threads):
            self._fit(x_arr, env, n_envs)
        return self

    def _fit(self, x_arr: np.ndarray, env: np.ndarray, n_envs: int) -> None:
        self.device_ = _resolve_device(self.device)
        self.n_envs_ = n_envs
        self.n_features_in_ = x_arr.shape[1]
        self.x_mean_ = x_arr.mean(0)
        self.x_scale_ = np.maximum(x_arr.std(0), 1e-8).astype(np.float32)
        xt, et = self._tensors(x_arr, env)
        self.restart_val_losses_: list[float] = []
        with closing(self._restarts(xt, et, n_envs)) as runs:  # an error shuts the pool down at once
            for run in runs:
                if run.error is not None:
                    if not self.restart_val_losses_:  # nothing better to keep: keep this run's last good state
                        self.module_, self.history_, self.best_epoch_ = run.module, run.history, run.best_epoch
                        self._after_fit(xt, et)
                    raise run.error
                self.restart_val_losses_.append(run.val_loss)
                if len(self.restart_val_losses_) == 1 or run.val_loss < min(self.restart_val_losses_[:-1]):
                    self.module_, self.history_, self.best_epoch_ = run.module, run.history, run.best_epoch
        self._after_fit(xt, et)

    def _restarts(self, x: torch.Tensor, env: torch.Tensor, n_envs: int) -> Iterator[Restart]:
        """Every restart's outcome in seed order: trained here one after another, or, with ``n_jobs`` > 1 on
        the CPU, in a pool of that many processes (at most one per restart). Each restart seeds its own model,
        split and shuffling, so both give the same fits; a restart's `TrainingError` comes back in its outcome.
        """
        seeds = range(self.seed, self.seed + self.restarts)
        jobs = min(self.restarts, (os.cpu_count() or 1) if self.n_jobs == -1 else self.n_jobs)
        if jobs == 1 or self.device_.type != "cpu":
            for seed in seeds:
                yield self._restart(x, env, n_envs, seed)
            return
        train_one = partial(_restart_in_worker, self, x, env, n_envs)
        # spawn, not fork: a forked child can hang in an OpenMP pool the parent's torch already started
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
        try:
            futures = [pool.submit(train_one, seed) for seed in seeds]
            with tqdm(total=self.restarts, desc=f"{type(self).__name__} (restarts, {jobs} processes)",
                      unit="restart", disable=not self.progress) as bar:
                for future in futures:
                    try:
                        run = future.result()
                    except BrokenProcessPool:
                        raise IdentcheckError(
                            "a restart's process stopped before it returned; with n_jobs > 1 the processes import "
                            "the main script again, so call fit under 'if __name__ == \"__main__\":' there (or "
                            "use n_jobs=1)") from None
                    bar.update()
                    yield run
        finally:  # at the end, or when the caller stops early: restarts not yet started never start
            pool.shutdown(wait=False, cancel_futures=True)

    def _restart(self, x: torch.Tensor, env: torch.Tensor, n_envs: int, seed: int) -> Restart:
        """Build and train the model of one restart (seed ``seed``); a `TrainingError` is returned, not raised."""
        module = self._build(self.n_features_in_, n_envs, self.device_, seed)
        history: dict[str, list[float]] = {}
        floored = isinstance(module.structure, ConditionalPrior) and self.noise_floor > 0
        if floored:
            module.structure.anneal_floor(self.noise_floor, self.noise_floor_steps)
        try:
            best_epoch = self._train(module, x, env, seed, history)
        except TrainingError as error:
            return Restart(module, history, len(history["train_loss"]), float("nan"), error)  # its last good epoch
        finally:
            if floored:
                module.structure.anneal_floor(0.0, 0)  # the fitted model's prior is the learned one
        val_loss = history["val_loss"][best_epoch - 1] if history["val_loss"] else float("nan")
        return Restart(module, history, best_epoch, val_loss)

    def _train(self, module: LatentVAE | LatentFlow, x: torch.Tensor, env: torch.Tensor, seed: int,
               history: dict[str, list[float]]) -> int:
        """Train one restart: the no-edge stage and the slot-order screen when asked, the full stage, and the
        rotation screen with a second full stage when asked. The stages' histories are joined in ``history``
        (also when a stage fails) and the returned epoch counts from the first stage's first epoch."""
        settings, desc = self._settings(seed), type(self).__name__
        searched: dict[str, Any] = {}

        def stage(stage_settings: TrainSettings, stage_desc: str) -> int:
            run: dict[str, list[float]] = {}
            before = len(history.get("train_loss", []))
            try:
                return before + train(module, x, env, stage_settings, run, desc=stage_desc)
            finally:
                _append(history, run)

        if self.pretrain_epochs and isinstance(module.structure, CausalStructure):
            with module.structure.without_edges():
                stage(replace(settings, epochs=self.pretrain_epochs, lr=self.pretrain_lr or self.lr),
                      f"{desc} (no edges)")
            if self.order_search_epochs:
                searched.update(self._search_order(module, x, env, settings, desc))
        best_epoch = stage(settings, desc)
        if self.rotation_search_epochs:
            found, candidates = self._search_rotations(module, x, env, settings, desc)
            epoch, run, decided = self._decide_rotation(module, x, env, settings, desc, candidates, history)
            best_epoch = len(history["train_loss"]) + epoch
            _append(history, run)
            searched.update(found, **decided)
        history.update(searched)
        return best_epoch

    def _decide_rotation(self, module: LatentFlow, x: torch.Tensor, env: torch.Tensor, settings: TrainSettings,
                         desc: str, candidates: dict[str, tuple[float, tuple[int, int, float], dict]],
                         history: dict[str, list[float]]) -> tuple[int, dict[str, list[float]], dict[str, Any]]:
        """Train the second full stage from the rotation screen's ``candidates`` (the unrotated and the best
        rotated short run: objective, rotation, state) as ``rotation_decision`` says and leave ``module`` in
        the kept one's state. Return its kept epoch (counted within the stage), its history, and for the
        learner's history its ``rotation`` and, for "full", ``rotation_full_val_loss``. A failing stage's
        epochs join ``history`` before the error goes on."""
        (unrotated, *_), (rotated, *_) = candidates["unrotated"], candidates["rotated"]
        if self.rotation_decision == "short":
            kept = "rotated" if rotated < unrotated - self.rotation_margin else "unrotated"
            epoch, run = self._second_stage(module, kept, candidates[kept][2], x, env, settings, desc, history)
            return epoch, run, {"rotation": list(candidates[kept][1])}
        ends = {}
        for which in ("unrotated", "rotated"):
            epoch, run = self._second_stage(module, which, candidates[which][2], x, env, settings, desc,
                                            history)
            ends[which] = (run["val_loss"][epoch - 1], epoch, run, snapshot(module))
        full = [ends["unrotated"][0], ends["rotated"][0]]
        kept = "rotated" if full[1] < full[0] - self.rotation_margin else "unrotated"
        _, epoch, run, state = ends[kept]
        module.load_state_dict(state)
        return epoch, run, {"rotation": list(candidates[kept][1]), "rotation_full_val_loss": full}

    def _second_stage(self, module: LatentFlow, which: str, state: dict[str, torch.Tensor], x: torch.Tensor,
                      env: torch.Tensor, settings: TrainSettings, desc: str, history: dict[str, list[float]]
                      ) -> tuple[int, dict[str, list[float]]]:
        """The full stage once more, from the rotation screen's ``which`` candidate's ``state``: its kept epoch
        and its history (joined to ``history`` here only if it fails)."""
        module.load_state_dict(state)
        run: dict[str, list[float]] = {}
        suffix = "" if self.rotation_decision == "short" else f", {which}"
        try:
            return train(module, x, env, settings, run, desc=f"{desc} (after rotations{suffix})"), run
        except TrainingError:
            _append(history, run)
            raise

    def _short_runs(self, epochs: int, settings: TrainSettings) -> TrainSettings:
        """The screens' short runs: ``epochs`` at the no-edge stage's constant lr, never stopped early (the best
        state is kept)."""
        return replace(settings, epochs=epochs, lr=self.pretrain_lr or self.lr, schedule="constant",
                       early_stopping=True, patience=epochs, progress=False)

    def _search_order(self, module: LatentFlow, x: torch.Tensor, env: torch.Tensor, settings: TrainSettings,
                      desc: str) -> dict[str, list]:
        """Screen slot orders of the no-edge solution in ``module`` (see ``order_search_epochs`` and
        ``order_search``) and leave ``module`` in the best order's screened state; return the order and every
        screened order's held-out objective, for the history.

        The short runs use the no-edge stage's lr and never stop early: from the no-edge solution the
        coefficients stay near 0 for tens of epochs at the full stage's lr 1e-3, a plateau on which early
        stopping ended the runs and every order scored the no-edge objective (docs/learner_notes.md, "The
        no-edge plateau").
        """
        start = snapshot(module)
        short = self._short_runs(self.order_search_epochs, settings)
        ell = self.latent_dim
        bar = tqdm(total=order_search_runs(ell, self.order_search), desc=f"{desc} (slot orders)", unit="order",
                   disable=not self.progress, leave=False)
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

        if self.order_search == "fixed":
            best = tuple(range(ell))
            objective(best)
        elif self.order_search == "exhaustive":
            best = min(itertools.permutations(range(ell)), key=objective)
        else:
            best = tuple(range(ell))
            for k in range(ell - 1):  # slot k gets the latent whose short run is best there
                best = min((best[:k] + (c,) + tuple(r for r in best[k:] if r != c) for c in best[k:]),
                           key=objective)
        bar.close()
        module.load_state_dict(screened[best])  # the full stage goes on from the best short run
        return {"slot_order": list(best), "searched_orders": [list(o) for o in scores],
                "order_val_loss": list(scores.values())}

    def _search_rotations(self, module: LatentFlow, x: torch.Tensor, env: torch.Tensor, settings: TrainSettings,
                          desc: str) -> tuple[dict[str, Any], dict[str, tuple[float, tuple[int, int, float], dict]]]:
        """Screen rotations of pairs of the fitted latents (see ``rotation_search_epochs``). Return every
        screened one with its held-out objective and the paired z, for the history, and the two candidates
        `_decide_rotation` chooses from: "unrotated" and "rotated" (the best rotation), each with its short
        run's objective, its rotation and its kept state. Rotation [0, 1, 0] is the unrotated model's run."""
        start = snapshot(module)
        short = self._short_runs(self.rotation_search_epochs, settings)
        with torch.no_grad():
            scale = module.flow(x)[0].std(0).clamp_min(1e-12)
        pairs = itertools.combinations(range(self.latent_dim), 2)
        candidates = [(0, 1, 0.0)] + [(a, b, float(deg)) for (a, b), deg in
                                      itertools.product(pairs, self.rotation_angles)]
        scores: list[float] = []
        kept: dict[str, tuple[float, tuple[int, int, float], dict[str, torch.Tensor]]] = {}
        for a, b, degrees in tqdm(candidates, desc=f"{desc} (rotations)", unit="rotation", disable=not self.progress,
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
        return {"searched_rotations": [list(c) for c in candidates], "rotation_val_loss": scores,
                "rotation_gain_z": gain_z}, kept

    def _after_fit(self, x: torch.Tensor, env: torch.Tensor) -> None:
        """Hook run on the kept state at the end of `fit` (causal learners read off edge strengths)."""

    def _tensors(self, x: np.ndarray, env: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        xs = (x - self.x_mean_) / self.x_scale_
        return (torch.as_tensor(xs, dtype=torch.float32, device=self.device_),
                torch.as_tensor(env, dtype=torch.long, device=self.device_))

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(x, u) first")

    def _inputs(self, x: np.ndarray, u: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_fitted()
        x_arr = as_features(x, n_features=self.n_features_in_)
        env, _ = as_env_index(u, n_samples=x_arr.shape[0], n_envs=self.n_envs_)
        return self._tensors(x_arr, env)

    def _posterior_mean(self, x: torch.Tensor, env: torch.Tensor, *, push: bool) -> np.ndarray:
        self.module_.eval()
        out = []
        with torch.no_grad(), _torch_threads(self.threads):
            for start in range(0, x.shape[0], EVAL_BATCH):
                xb, eb = x[start:start + EVAL_BATCH], env[start:start + EVAL_BATCH]
                mean = self.module_.noise_mean(xb, eb)
                out.append(self.module_.structure.push(mean, eb) if push else mean)
        return torch.cat(out).cpu().numpy().astype(np.float64)

    def transform(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Recovered latents ẑ = ψ̂_u(E[n | x, u]), (N, ℓ): the posterior mean of n pushed through ψ̂_u."""
        return self._posterior_mean(*self._inputs(x, u), push=True)

    def noise(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Recovered noise: the posterior mean of n, (N, ℓ); equal to `transform` for learners without mechanisms."""
        return self._posterior_mean(*self._inputs(x, u), push=False)

    # ----------------------------------------------------------------- persistence
    def _fitted_state(self) -> dict[str, Any]:
        return {"n_envs_": self.n_envs_, "n_features_in_": self.n_features_in_, "best_epoch_": self.best_epoch_,
                "restart_val_losses_": self.restart_val_losses_,
                "x_mean_": torch.as_tensor(self.x_mean_), "x_scale_": torch.as_tensor(self.x_scale_),
                "history_": self.history_}

    def save(self, path: str | PathLike) -> None:
        """Write the parameters and the fitted state to ``path`` (a torch file; reload with `load`)."""
        self._check_fitted()
        params = dict(self.get_params())
        if params["reference_envs"] is not None:
            params["reference_envs"] = self._reference_envs()
        torch.save({"format": FILE_FORMAT, "learner": self.name, "params": params,
                    "fitted": self._fitted_state(),
                    "state_dict": {k: v.cpu() for k, v in self.module_.state_dict().items()}}, path)

    @classmethod
    def load(cls, path: str | PathLike) -> LatentLearner:
        """Rebuild a learner written by `save`; transform then gives the same output as before saving."""
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError) as exc:
            raise DataError(f"cannot read a learner from {path}: {exc}") from None
        if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
            raise DataError(f"{path} is not an identcheck learner file")
        learner_cls = _learner_class(payload["learner"])
        if not issubclass(learner_cls, cls):
            raise DataError(f"{path} holds a {learner_cls.__name__}, not a {cls.__name__}")
        learner = learner_cls(**payload["params"])
        fitted = payload["fitted"]
        learner.device_ = _resolve_device(learner.device)
        learner.n_envs_ = int(fitted["n_envs_"])
        learner.n_features_in_ = int(fitted["n_features_in_"])
        learner.best_epoch_ = int(fitted["best_epoch_"])
        learner.x_mean_ = fitted["x_mean_"].numpy()
        learner.x_scale_ = fitted["x_scale_"].numpy()
        learner.history_ = fitted["history_"]
        learner.restart_val_losses_ = fitted["restart_val_losses_"]
        learner.module_ = learner._build(learner.n_features_in_, learner.n_envs_, torch.device("cpu"), learner.seed)
        learner.module_.load_state_dict(payload["state_dict"])
        learner.module_.to(learner.device_)
        learner._restore_extra(fitted)
        return learner

    def _restore_extra(self, fitted: dict[str, Any]) -> None:
        """Hook for subclasses with more fitted attributes."""


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


def _append(history: dict[str, list[float]], run: dict[str, list[float]]) -> None:
    """Append a stage's ``run`` history to ``history``, its seconds offset by the time already spent.

    >>> history = {}
    >>> _append(history, {"train_loss": [3.0], "val_loss": [2.0], "seconds": [1.5]})
    >>> _append(history, {"train_loss": [1.0], "val_loss": [0.5], "seconds": [2.0]})
    >>> history
    {'seconds': [1.5, 3.5], 'train_loss': [3.0, 1.0], 'val_loss': [2.0, 0.5]}
    """
    spent = history["seconds"][-1] if history.get("seconds") else 0.0
    history["seconds"] = history.get("seconds", []) + [spent + t for t in run.get("seconds", [])]
    for key in ("train_loss", "val_loss"):
        history[key] = history.get(key, []) + run.get(key, [])


def _learner_class(name: str) -> type[LatentLearner]:
    pending, seen = [LatentLearner], []
    while pending:
        klass = pending.pop()
        seen.append(klass)
        if klass.name == name:
            return klass
        pending.extend(klass.__subclasses__())
    raise DataError(f"unknown learner {name!r} in file; known: {sorted(k.name for k in seen if k.name)}")


class CausalLearner(LatentLearner):
    """A learner with causal mechanisms: adds `causal_weights`, `edge_strengths` and `graph` (SPEC §6).

    Extra learned attribute: ``edge_strengths_`` (ℓ, ℓ), read off at the end of `fit` on up to
    5000 training samples (see `edge_strengths`).
    """

    def _after_fit(self, x: torch.Tensor, env: torch.Tensor) -> None:
        rng = np.random.default_rng(self.seed)
        keep = np.sort(rng.permutation(x.shape[0])[:STRENGTH_SAMPLES])
        keep_t = torch.as_tensor(keep, device=x.device)
        self.edge_strengths_ = self._strengths(x[keep_t], env[keep_t])

    def _fitted_state(self) -> dict[str, Any]:
        return {**super()._fitted_state(), "edge_strengths_": torch.as_tensor(self.edge_strengths_)}

    def _restore_extra(self, fitted: dict[str, Any]) -> None:
        self.edge_strengths_ = fitted["edge_strengths_"].numpy()

    @property
    def _structure(self) -> CausalStructure:
        return self.module_.structure

    def causal_weights(self, u: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """The u-dependent edge coefficients λ(u) as an (E, ℓ, ℓ) array; ``[e, j, i]`` is edge j → i.

        Only j < i can be nonzero (the fixed learned order). ``u`` lists environments (indices or one-hot);
        None means all 0..n_envs_-1. Entries of pinned reference environments are exactly 0.
        """
        self._check_fitted()
        if u is None:
            env = np.arange(self.n_envs_)
        else:
            env, _ = as_env_index(u, n_samples=len(u), n_envs=self.n_envs_)
        with torch.no_grad():
            weights = self._structure.edge_weights()
        return weights.cpu().numpy().astype(np.float64)[env]

    def _strengths(self, x: torch.Tensor, env: torch.Tensor) -> np.ndarray:
        with _torch_threads(self.threads):
            return self._strengths_unthreaded(x, env)

    def _strengths_unthreaded(self, x: torch.Tensor, env: torch.Tensor) -> np.ndarray:
        l = self.latent_dim
        self.module_.eval()
        with torch.no_grad():
            z, pre = self._structure.push(self.module_.noise_mean(x, env), env, return_pre=True)
        z = z.detach().requires_grad_(True)
        grads = torch.zeros(x.shape[0], l, l, device=x.device)  # [b, j, i] = ∂ĝ_i/∂ẑ_j at sample b
        with torch.enable_grad():
            g = self._structure.mechanisms(z, env)
            for i in range(1, l):
                grads[:, :, i] = torch.autograd.grad(g[:, i].sum(), z, retain_graph=i < l - 1)[0]
        # scale-free: |∂ĝ_i/∂ẑ_j| · std(ẑ_j) / std(ĝ_i + n_i), invariant to rescaling either latent
        scale = z.detach().std(0).unsqueeze(1) / pre.std(0).clamp_min(1e-12).unsqueeze(0)
        per_sample = grads.abs() * scale
        sums = torch.zeros(self.n_envs_, l, l, device=x.device).index_add_(0, env, per_sample)
        counts = torch.bincount(env, minlength=self.n_envs_)
        present = counts > 0
        per_env = sums[present] / counts[present].view(-1, 1, 1)
        return per_env.mean(0).cpu().numpy().astype(np.float64)  # mean, never min, over environments

    def edge_strengths(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Scale-free edge strengths (ℓ, ℓ) on the given data (SPEC §6 "Graph read-off").

        ``s[j, i]`` = mean over environments e of mean_{samples in e} |∂ĝ_i/∂ẑ_j| · std(ẑ_j) / std(ĝ_i + n_i)
        at ẑ from posterior means. The mean over environments (never the min) keeps true edges that
        vanish in the reference environments.
        """
        return self._strengths(*self._inputs(x, u))

    def graph(self, threshold: float = 0.1) -> np.ndarray:
        """Learned adjacency (ℓ, ℓ), bool, ``A[j, i]`` = edge j → i, from ``edge_strengths_ > threshold``."""
        self._check_fitted()
        return self.edge_strengths_ > threshold
