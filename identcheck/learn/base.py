"""The estimator shared by every learner (scikit-learn style, STYLE.md).

A learner's constructor only stores its arguments; `fit(x, u)` validates, builds the torch model, trains
it with the one loop of `training.py` and returns ``self``; learned attributes end in ``_``. Learners
differ only in `_make_structure` (the prior and the mechanisms, `model.py`), so all of them share one
constructor signature and one interface: a benchmark loops over names, never over special cases.
Arguments that a learner has no use for (``reference_envs``, ``sparsity`` and ``post_nonlinear`` on the
learners without mechanisms) are accepted, checked as every learner checks them, and have no effect.
Beside it: `params` checks the arguments, `screens` holds the exact likelihood's slot-order and rotation
screens, and `causal` adds the learned graph.

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
import multiprocessing
import os
import warnings
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from os import PathLike
from typing import Any, ClassVar, cast

import numpy as np
import torch
from tqdm.auto import tqdm

from identcheck.errors import DataError, IdentcheckError, IdentcheckWarning, NotFittedError, TrainingError
from identcheck.files import write_atomically

from .flows import SmoothLeakyFlow
from .inputs import as_env_index, as_features
from .model import CausalStructure, ConditionalPrior, LatentFlow, LatentVAE, References, Structure
from .params import check_params, plain
from .screens import ROTATION_ANGLES, Candidate, search_orders, search_rotations, short_runs
from .training import EVAL_BATCH, TrainSettings, snapshot, train

__all__ = ["LatentLearner", "torch_threads"]

FILE_FORMAT = "identcheck-learner"


def _resolve_device(device: str) -> torch.device:
    """The torch device of a learner's ``device`` argument; IdentcheckError for another kind of device, or
    a CUDA device this machine does not have (so the error comes before any work, not from torch)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        resolved = None
    if resolved is None or resolved.type not in ("cpu", "cuda"):
        raise IdentcheckError(f"device must be 'auto', 'cpu' or 'cuda[:k]', got {device!r}")
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (resolved.index or 0) >= count:
            raise IdentcheckError(f"device {device!r} is not on this machine ({count} CUDA device(s)); use 'auto' "
                                  "or 'cpu' (for a saved learner: LatentLearner.load(path, device='cpu'))")
    return resolved


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
    with torch_threads(learner.threads or 1):
        return learner._restart(x, env, n_envs, seed)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run torch's CPU ops on ``threads`` threads inside the block and restore the previous setting after."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _warn_of_empty_environments(env: np.ndarray, n_envs: int, reference_envs: References | None) -> None:
    """An `IdentcheckWarning` when some of the environments 0..n_envs-1 have no rows (their prior parameters
    learn nothing), naming any that ``reference_envs`` pins: a pin without rows constrains nothing."""
    empty = np.flatnonzero(np.bincount(env, minlength=n_envs) == 0)
    if empty.size == 0:
        return
    references = () if reference_envs is None else reference_envs
    sets = references.values() if isinstance(references, Mapping) else [references]
    pinned = sorted(set(int(e) for envs in sets for e in envs) & set(empty.tolist()))
    shown = ", ".join(str(e) for e in empty[:10]) + (f", ... ({empty.size} in all)" if empty.size > 10 else "")
    which = f"environment {shown} has" if empty.size == 1 else f"environments {shown} have"
    also = f"; the reference environments {pinned} among them, so their pins constrain nothing" if pinned else ""
    warnings.warn(f"{which} no rows in u (indices 0..{n_envs - 1}){also}", IdentcheckWarning, stacklevel=3)


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
            held-out objective, measured for every restart on the same held-out rows (drawn with ``seed``)
            and the same noise draw; each restart has its own initial model and shuffling. A run can settle
            with the learned order 1..ℓ inconsistent with the true causal order (SPEC §3, subtle point 3);
            such runs fit worse, and restarts avoid them. A restart whose loss becomes NaN/inf does not stop
            the others: the best of those that did not fail is kept, with an `IdentcheckWarning` naming the
            failures (its objective in ``restart_val_losses_`` is NaN); `TrainingError` when every one fails.
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
    unrotated run's, `screens.paired_gain_z`; with ``rotation_decision="full"`` also ``rotation_full_val_loss``, the
    unrotated and the best rotated candidate's best held-out objectives after their second full stages),
    ``best_epoch_``,
    ``restart_val_losses_`` (held-out objective of each restart's kept state; NaN for a restart that
    failed), ``device_``.
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
    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, by name, as given (scikit-learn's convention; ``deep`` has no effect:
        a learner holds no nested estimators).

        >>> from identcheck.learn import IVAE
        >>> IVAE(2, epochs=5).get_params()["epochs"]
        5
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> LatentLearner:
        """Set constructor arguments by name and return ``self`` (scikit-learn's convention: the values are
        stored as given and checked by `fit`); an unknown name is an `IdentcheckError` before anything is set.

        >>> from identcheck.learn import IVAE
        >>> IVAE(2).set_params(epochs=5, hidden=8)
        IVAE(latent_dim=2, hidden=8, epochs=5)
        """
        names = self._param_names()
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise IdentcheckError(f"{type(self).__name__} has no parameter(s) {', '.join(map(repr, unknown))}; "
                                  f"valid: {', '.join(names)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()}
        shown = [f"{k}={v!r}" for k, v in self.get_params().items()
                 if k == "latent_dim" or not _same(v, defaults[k])]
        return f"{type(self).__name__}({', '.join(shown)})"

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
                             validation_fraction=self.validation_fraction, progress=self.progress, seed=int(seed),
                             beta=self.beta, obs_var=self.obs_var, sparsity=self.sparsity,
                             obs_var_final=self.obs_var_final, split_seed=int(self.seed))

    # ----------------------------------------------------------------- model
    def _make_structure(self, n_envs: int) -> Structure:
        raise NotImplementedError

    def _build(self, n_features: int, n_envs: int, device: torch.device, seed: int) -> LatentVAE | LatentFlow:
        # the CPU generator alone, restored after: torch.manual_seed would also reseed the caller's CUDA
        # generators, which no part of a fit draws from (training draws from generators of its own)
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(int(seed))
            structure = self._make_structure(n_envs)
            if self.likelihood == "exact":
                flow = SmoothLeakyFlow(self.latent_dim, self.layers, torch.Generator().manual_seed(int(seed)))
                return LatentFlow(structure, flow).to(device)
            model = LatentVAE(n_features, n_envs, self.latent_dim, structure, hidden=self.hidden,
                              layers=self.layers, encoder_uses_u=self.encoder_uses_u)
        return model.to(device)

    # ----------------------------------------------------------------- fit / transform
    def fit(self, x: np.ndarray, u: np.ndarray) -> LatentLearner:
        """Learn from observations ``x`` (N, d) and environments ``u`` (indices (N,) or one-hot (N, E)).

        Returns ``self``. Raises `DataError` for unusable data, `IdentcheckError` for invalid arguments and
        `TrainingError` when the loss becomes NaN/inf in every restart (the learner then keeps its last good
        state).

        >>> import numpy as np
        >>> from identcheck.learn import IVAE
        >>> rng = np.random.default_rng(0)
        >>> x, u = rng.normal(size=(200, 2)), rng.integers(0, 4, size=200)
        >>> learner = IVAE(2, epochs=2, hidden=8, progress=False)
        >>> learner.fit(x, u) is learner, learner.n_envs_, learner.n_features_in_
        (True, 4, 2)
        """
        x_arr = as_features(x)
        env, n_envs = as_env_index(u, n_samples=x_arr.shape[0])
        check_params(self.get_params(), n_envs, x_arr.shape[0])
        _warn_of_empty_environments(env, n_envs, self.reference_envs)
        if self.likelihood == "exact" and x_arr.shape[1] != self.latent_dim:
            raise DataError(f"likelihood='exact' needs as many observed features as latents (an invertible "
                            f"map x -> ẑ), got {x_arr.shape[1]} features for latent_dim={self.latent_dim}; "
                            f"use likelihood='elbo'")
        with torch_threads(self.threads):
            self._fit(x_arr, env, n_envs)
        return self

    def _fit(self, x_arr: np.ndarray, env: np.ndarray, n_envs: int) -> None:
        self.device_ = _resolve_device(self.device)
        self.n_envs_ = n_envs
        self.n_features_in_ = x_arr.shape[1]
        # in float64: float32 would lose an offset of 1e8 to rounding and overflow squaring values of 1e20
        self.x_mean_ = x_arr.mean(0)
        self.x_scale_ = np.maximum(x_arr.std(0), 1e-8)
        if not (np.isfinite(self.x_mean_).all() and np.isfinite(self.x_scale_).all()):
            raise DataError("x is too large to standardise: its per-feature mean or standard deviation overflows")
        xt, et = self._tensors(x_arr, env)
        self.restart_val_losses_: list[float] = []
        kept: int | None = None  # the index of the best restart that did not fail
        failed: list[tuple[int, TrainingError]] = []
        with closing(self._restarts(xt, et, n_envs)) as runs:  # an error shuts the pool down at once
            for k, run in enumerate(runs):
                self.restart_val_losses_.append(run.val_loss)  # NaN for a failed restart
                if run.error is not None:
                    failed.append((k, run.error))
                    if kept is None:  # nothing better yet: keep this run's last good state
                        self.module_, self.history_, self.best_epoch_ = run.module, run.history, run.best_epoch
                elif kept is None or run.val_loss < self.restart_val_losses_[kept]:
                    self.module_, self.history_, self.best_epoch_ = run.module, run.history, run.best_epoch
                    kept = k
        self._after_fit(xt, et)  # the kept model's derived attributes match it, also when every restart failed
        if failed:
            self._report_failed(failed, kept)

    def _report_failed(self, failed: list[tuple[int, TrainingError]], kept: int | None) -> None:
        """Raise `TrainingError` when every restart failed (one restart: its own error), else warn."""
        if kept is None and self.restarts == 1:
            raise failed[0][1]
        named = "; ".join(f"restart {k} (seed {int(self.seed) + k}): {error}" for k, error in failed)
        if kept is None:
            raise TrainingError(f"every restart (0..{self.restarts - 1}) failed, and restart 0's last good state "
                                f"is kept: {named}") from failed[0][1]
        warnings.warn(f"{len(failed)} of {self.restarts} restarts failed and restart {kept} (seed "
                      f"{int(self.seed) + kept}), the best of the others, is kept: {named}", IdentcheckWarning,
                      stacklevel=4)  # the caller of fit

    def _restarts(self, x: torch.Tensor, env: torch.Tensor, n_envs: int) -> Generator[Restart, None, None]:
        """Every restart's outcome in seed order: trained here one after another, or, with ``n_jobs`` > 1 on
        the CPU, in a pool of that many processes (at most one per restart). Each restart seeds its own model
        and shuffling (the split is shared), so both give the same fits; a restart's `TrainingError` comes back
        in its outcome.
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
        floored = module.structure if isinstance(module.structure, ConditionalPrior) and self.noise_floor > 0 else None
        if floored is not None:
            floored.anneal_floor(self.noise_floor, self.noise_floor_steps)
        try:
            best_epoch = self._train(module, x, env, seed, history)
        except TrainingError as error:
            return Restart(module, history, len(history["train_loss"]), float("nan"), error)  # its last good epoch
        finally:
            if floored is not None:
                floored.anneal_floor(0.0, 0)  # the fitted model's prior is the learned one
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
            if self.order_search_epochs:  # check_params: it needs likelihood="exact", so a LatentFlow
                searched.update(self._search_order(cast(LatentFlow, module), x, env, settings, desc))
        best_epoch = stage(settings, desc)
        if self.rotation_search_epochs:
            flow = cast(LatentFlow, module)  # check_params: rotation_search_epochs needs likelihood="exact"
            found, candidates = self._search_rotations(flow, x, env, settings, desc)
            epoch, run, decided = self._decide_rotation(flow, x, env, settings, desc, candidates, history)
            best_epoch = len(history["train_loss"]) + epoch
            _append(history, run)
            searched.update(found, **decided)
        history.update(searched)
        return best_epoch

    def _decide_rotation(self, module: LatentFlow, x: torch.Tensor, env: torch.Tensor, settings: TrainSettings,
                         desc: str, candidates: dict[str, Candidate],
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

    def _search_order(self, module: LatentFlow, x: torch.Tensor, env: torch.Tensor, settings: TrainSettings,
                      desc: str) -> dict[str, list]:
        """`screens.search_orders` with this learner's ``order_search_epochs`` and ``order_search``."""
        short = short_runs(settings, self.order_search_epochs, lr=self.pretrain_lr or self.lr)
        return search_orders(module, x, env, short, self.order_search, progress=self.progress, desc=desc)

    def _search_rotations(self, module: LatentFlow, x: torch.Tensor, env: torch.Tensor, settings: TrainSettings,
                          desc: str) -> tuple[dict[str, Any], dict[str, Candidate]]:
        """`screens.search_rotations` with this learner's ``rotation_search_epochs`` and ``rotation_angles``."""
        short = short_runs(settings, self.rotation_search_epochs, lr=self.pretrain_lr or self.lr)
        return search_rotations(module, x, env, short, self.rotation_angles, progress=self.progress, desc=desc)

    def _after_fit(self, x: torch.Tensor, env: torch.Tensor) -> None:
        """Hook run on the kept state at the end of `fit` (causal learners read off edge strengths)."""

    def _tensors(self, x: np.ndarray, env: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardised ``x`` (in float64, then cast to float32) and ``env`` as tensors on ``device_``."""
        xs = ((np.asarray(x, dtype=np.float64) - self.x_mean_) / self.x_scale_).astype(np.float32)
        if not np.isfinite(xs).all():
            raise DataError("x lies beyond the float32 range once standardised with the fitted mean and scale")
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
        with torch.no_grad(), torch_threads(self.threads):
            for start in range(0, x.shape[0], EVAL_BATCH):
                xb, eb = x[start:start + EVAL_BATCH], env[start:start + EVAL_BATCH]
                mean = self.module_.noise_mean(xb, eb)
                out.append(self.module_.structure.push(mean, eb) if push else mean)
        return torch.cat(out).cpu().numpy().astype(np.float64)

    def transform(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Recovered latents ẑ = ψ̂_u(E[n | x, u]), (N, ℓ): the posterior mean of n pushed through ψ̂_u.

        >>> import numpy as np
        >>> from identcheck.learn import LatentLinearVAE
        >>> rng = np.random.default_rng(0)
        >>> x, u = rng.normal(size=(200, 2)), rng.integers(0, 4, size=200)
        >>> learner = LatentLinearVAE(2, reference_envs=[0], epochs=2, hidden=8, progress=False).fit(x, u)
        >>> z = learner.transform(x, u)
        >>> z.shape, z.dtype, bool(np.isfinite(z).all())
        ((200, 2), dtype('float64'), True)
        """
        return self._posterior_mean(*self._inputs(x, u), push=True)

    def fit_transform(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """`fit` on ``x``, ``u`` and return `transform` of the same data (scikit-learn's convention).

        >>> import numpy as np
        >>> from identcheck.learn import IVAE
        >>> rng = np.random.default_rng(0)
        >>> x, u = rng.normal(size=(200, 2)), rng.integers(0, 4, size=200)
        >>> IVAE(2, epochs=2, progress=False).fit_transform(x, u).shape
        (200, 2)
        """
        return self.fit(x, u).transform(x, u)

    def noise(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Recovered noise: the posterior mean of n, (N, ℓ); equal to `transform` for learners without mechanisms.

        >>> import numpy as np
        >>> from identcheck.learn import IVAE
        >>> rng = np.random.default_rng(0)
        >>> x, u = rng.normal(size=(200, 2)), rng.integers(0, 4, size=200)
        >>> learner = IVAE(2, epochs=2, hidden=8, progress=False).fit(x, u)
        >>> n = learner.noise(x, u)
        >>> n.shape, bool(np.allclose(n, learner.transform(x, u)))
        ((200, 2), True)
        """
        return self._posterior_mean(*self._inputs(x, u), push=False)

    # ----------------------------------------------------------------- persistence
    def _fitted_state(self) -> dict[str, Any]:
        return {"n_envs_": self.n_envs_, "n_features_in_": self.n_features_in_, "best_epoch_": self.best_epoch_,
                "restart_val_losses_": self.restart_val_losses_,
                "x_mean_": torch.as_tensor(self.x_mean_), "x_scale_": torch.as_tensor(self.x_scale_),
                "history_": self.history_}

    def save(self, path: str | PathLike) -> None:
        """Write the parameters and the fitted state to ``path`` (a torch file; reload with `load`). The file
        appears whole or not at all; DataError when it cannot be written. `load`'s example is the round
        trip; an unfitted learner has nothing to save:

        >>> from identcheck.learn import IVAE
        >>> IVAE(2).save("never-written.pt")
        Traceback (most recent call last):
        ...
        identcheck.errors.NotFittedError: this IVAE is not fitted yet: call fit(x, u) first
        """
        self._check_fitted()
        params = dict(self.get_params())
        if params["reference_envs"] is not None:
            params["reference_envs"] = self._reference_envs()
        params = plain(params)  # numpy scalars and arrays as Python values: `load` reads with weights_only
        payload = {"format": FILE_FORMAT, "learner": self.name, "params": params, "fitted": self._fitted_state(),
                   "state_dict": {k: v.cpu() for k, v in self.module_.state_dict().items()}}
        write_atomically(path, lambda stream: torch.save(payload, stream))

    @classmethod
    def load(cls, path: str | PathLike, *, device: str | None = None) -> LatentLearner:
        """Rebuild a learner written by `save`; transform then gives the same output as before saving.

        device: where to put it ("auto", "cpu", "cuda[:k]"); None keeps the saved learner's ``device``
        argument, so a learner saved with device="cuda" loads on a machine without CUDA with device="cpu".
        A file that `save` did not write, or a damaged one, is a `DataError` that says which.

        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from identcheck.learn import IVAE
        >>> rng = np.random.default_rng(0)
        >>> x, u = rng.normal(size=(200, 2)), rng.integers(0, 4, size=200)
        >>> learner = IVAE(2, epochs=2, hidden=8, progress=False).fit(x, u)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "ivae.pt"
        ...     learner.save(path)
        ...     loaded = IVAE.load(path)
        >>> type(loaded).__name__, loaded.epochs, bool(np.allclose(loaded.transform(x, u), learner.transform(x, u)))
        ('IVAE', 2, True)
        """
        payload = _read_payload(path)
        if device is not None and isinstance(payload.get("params"), dict):
            payload["params"]["device"] = device
        learner_cls = _learner_class(payload.get("learner"))
        if not issubclass(learner_cls, cls):
            article = "an" if learner_cls.__name__[0] in "AEIOU" else "a"
            raise DataError(f"{path} holds {article} {learner_cls.__name__}, not a {cls.__name__}")
        try:
            return learner_cls._from_payload(payload)
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:  # a damaged payload
            raise DataError(f"{path} is a damaged identcheck learner file ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _from_payload(cls, payload: dict[str, Any]) -> LatentLearner:
        """The learner of a payload `_read_payload` accepted, with its fitted state and weights."""
        learner = cls(**payload["params"])
        fitted = payload["fitted"]
        learner.device_ = _resolve_device(learner.device)
        learner.n_envs_ = int(fitted["n_envs_"])
        learner.n_features_in_ = int(fitted["n_features_in_"])
        learner.best_epoch_ = int(fitted["best_epoch_"])
        learner.x_mean_ = fitted["x_mean_"].numpy()
        learner.x_scale_ = fitted["x_scale_"].numpy()
        shape = (learner.n_features_in_,)
        if learner.x_mean_.shape != shape or learner.x_scale_.shape != shape \
                or not np.isfinite(learner.x_mean_).all() or not (learner.x_scale_ > 0).all():
            raise ValueError(f"its standardisation is not {learner.n_features_in_} finite means and positive scales")
        try:  # parameters as fit checks them (a row count large enough for any validation split)
            check_params(learner.get_params(), learner.n_envs_, n_samples=2**62)
        except IdentcheckError as exc:
            raise ValueError(f"its parameters: {exc}") from None
        learner.history_ = fitted["history_"]
        learner.restart_val_losses_ = fitted["restart_val_losses_"]
        learner.module_ = learner._build(learner.n_features_in_, learner.n_envs_, torch.device("cpu"), learner.seed)
        learner.module_.load_state_dict(payload["state_dict"])
        learner.module_.to(learner.device_)
        learner._restore_extra(fitted)
        return learner

    def _restore_extra(self, fitted: dict[str, Any]) -> None:
        """Hook for subclasses with more fitted attributes."""


def _same(value: Any, default: Any) -> bool:
    """Whether an argument equals its default, also for numpy arrays (whose ``==`` is elementwise).

    >>> _same(np.array([0, 1]), None), _same(np.float64(1.0), 1.0)
    (False, True)
    """
    try:
        return bool(plain(value) == plain(default))
    except (TypeError, ValueError):
        return False


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


def _read_payload(path: str | PathLike) -> dict[str, Any]:
    """The dict `LatentLearner.save` wrote to ``path``; a `DataError` naming the problem for anything else."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about the pickle protocol of files it did not write
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise DataError(f"cannot read a learner from {path}: {exc.strerror or exc}") from None
    except EOFError:
        raise DataError(f"cannot read a learner from {path}: the file is empty or cut short") from None
    except Exception as exc:  # foreign bytes fail in torch.load in many ways: unpickling, zip, magic number
        raise DataError(f"{path} is not an identcheck learner file, or is damaged (torch.load: "
                        f"{type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise DataError(f"{path} is not an identcheck learner file")
    return payload


def _learner_class(name: object) -> type[LatentLearner]:
    pending, seen = [LatentLearner], []
    while pending:
        klass = pending.pop()
        seen.append(klass)
        if klass.name == name:
            return klass
        pending.extend(klass.__subclasses__())
    raise DataError(f"unknown learner {name!r} in file; known: {sorted(k.name for k in seen if k.name)}")
