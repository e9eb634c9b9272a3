"""The one training loop of every learner: Adam, gradient clipping, cosine schedule, early stopping on the
held-out objective, and a NaN/inf guard that restores the last good state (SPEC §6, App. G).

>>> import torch
>>> from identcheck.learn.model import LatentVAE, StandardPrior
>>> model = LatentVAE(2, 1, 2, StandardPrior(2, 1), hidden=8, layers=2, encoder_uses_u=False)
>>> history = {}
>>> settings = TrainSettings(epochs=2, lr=1e-3, batch_size=32, schedule="constant", clip_grad=5.0,
...     early_stopping=False, patience=1, validation_fraction=0.2, progress=False, seed=0,
...     beta=1.0, obs_var=0.01, sparsity=0.0)
>>> best_epoch = train(model, torch.randn(100, 2), torch.zeros(100, dtype=torch.long), settings, history)
>>> len(history["train_loss"]), len(history["val_loss"])
(2, 2)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from identcheck.errors import TrainingError

from .model import LatentFlow, LatentVAE

__all__ = ["TrainSettings", "train", "snapshot", "split_rows", "EVAL_BATCH"]

EVAL_BATCH = 8192


@dataclass(frozen=True)
class TrainSettings:
    """Everything the loop needs besides the model and the data (the learners' constructor arguments)."""

    epochs: int
    lr: float
    batch_size: int
    schedule: str
    clip_grad: float
    early_stopping: bool
    patience: int
    validation_fraction: float
    progress: bool
    seed: int
    beta: float
    obs_var: float
    sparsity: float
    obs_var_final: float | None = None
    #: Seed of the validation split and of the held-out objective's noise draw (None: ``seed``). Restarts
    #: share it, so that their held-out objectives are measured on the same rows and compare.
    split_seed: int | None = None

    @property
    def held_out_seed(self) -> int:
        """The seed of the validation split and of its noise draw."""
        return self.seed if self.split_seed is None else self.split_seed

    @property
    def anneal_epochs(self) -> int:
        """Epochs over which the decoder variance moves from ``obs_var`` to ``obs_var_final`` (0: no annealing)."""
        return 0 if self.obs_var_final is None else max(1, self.epochs // 2)

    def obs_var_at(self, epoch: int) -> float:
        """Decoder variance of ``epoch`` (1-based): geometric from obs_var to obs_var_final over the first half
        of the epochs, then constant."""
        if self.obs_var_final is None:
            return self.obs_var
        span = self.anneal_epochs - 1
        progress = 1.0 if span <= 0 else min(1.0, (epoch - 1) / span)
        return self.obs_var * (self.obs_var_final / self.obs_var) ** progress


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``model``'s state that later training does not change (restore it with ``load_state_dict``).

    >>> layer = torch.nn.Linear(2, 1)
    >>> saved = snapshot(layer)
    >>> with torch.no_grad():
    ...     _ = layer.weight.add_(1.0)
    >>> bool(torch.equal(saved["weight"] + 1.0, layer.weight)), sorted(saved)
    (True, ['bias', 'weight'])
    """
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def split_rows(n_rows: int, settings: TrainSettings) -> tuple[torch.Tensor, torch.Tensor, torch.Generator]:
    """The rows `train` trains on and the rows it holds out for validation (index tensors on the CPU), drawn
    with ``settings.held_out_seed``, and the generator that goes on to shuffle the training rows every epoch
    (seeded with ``settings.seed``).

    >>> settings = TrainSettings(epochs=1, lr=1e-3, batch_size=8, schedule="constant", clip_grad=5.0,
    ...     early_stopping=False, patience=1, validation_fraction=0.2, progress=False, seed=0,
    ...     beta=1.0, obs_var=0.01, sparsity=0.0)
    >>> fit_rows, val_rows, _ = split_rows(10, settings)
    >>> len(fit_rows), len(val_rows), sorted(fit_rows.tolist() + val_rows.tolist()) == list(range(10))
    (8, 2, True)
    """
    generator = torch.Generator().manual_seed(settings.held_out_seed)
    order = torch.randperm(n_rows, generator=generator)
    n_val = int(round(settings.validation_fraction * n_rows))
    if settings.held_out_seed != settings.seed:  # a later restart: the shared split, its own shuffling
        generator = torch.Generator().manual_seed(settings.seed)
    return order[n_val:], order[:n_val], generator


def _evaluate(model: LatentVAE | LatentFlow, x: torch.Tensor, env: torch.Tensor, settings: TrainSettings,
              obs_var: float) -> float:
    """Held-out objective with a fixed noise draw, so that epochs are compared on the same sample."""
    generator = torch.Generator(device=x.device).manual_seed(settings.held_out_seed + 2)
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, x.shape[0], EVAL_BATCH):
            xb, eb = x[start:start + EVAL_BATCH], env[start:start + EVAL_BATCH]
            loss = model.objective(xb, eb, beta=settings.beta, obs_var=obs_var,
                                   sparsity=settings.sparsity, generator=generator)
            total += float(loss) * xb.shape[0]
    return total / x.shape[0]


def train(model: LatentVAE | LatentFlow, x: torch.Tensor, env: torch.Tensor, settings: TrainSettings,
          history: dict[str, list[float]], *, desc: str = "fit") -> int:
    """Fit ``model`` in place on (x, env); fill ``history`` per epoch and return the epoch kept.

    The data are split once (seeded) into training and validation parts. With early stopping, training
    stops after ``patience`` epochs without a better validation objective and the best state is kept;
    otherwise the final state is kept. With ``obs_var_final`` the decoder variance anneals over the first
    half of the epochs, and early stopping only compares epochs after that. A non-finite loss stops
    training, restores the state after the last complete finite epoch and raises `TrainingError` naming the
    epoch.

    >>> from identcheck.learn.model import LatentVAE, StandardPrior
    >>> model = LatentVAE(2, 1, 2, StandardPrior(2, 1), hidden=8, layers=2, encoder_uses_u=False)
    >>> settings = TrainSettings(epochs=2, lr=1e-3, batch_size=32, schedule="cosine", clip_grad=5.0,
    ...     early_stopping=True, patience=1, validation_fraction=0.2, progress=False, seed=0,
    ...     beta=1.0, obs_var=0.01, sparsity=0.0)
    >>> history = {}
    >>> kept = train(model, torch.randn(200, 2), torch.zeros(200, dtype=torch.long), settings, history)
    >>> kept in (1, 2), sorted(history), len(history["val_loss"]) <= 2
    (True, ['seconds', 'train_loss', 'val_loss'], True)
    """
    train_idx, val_idx, cpu_gen = split_rows(x.shape[0], settings)
    train_idx, val_idx, n_val = train_idx.to(x.device), val_idx.to(x.device), val_idx.shape[0]
    noise_gen = torch.Generator(device=x.device).manual_seed(settings.seed + 1)
    x_val, env_val = x[val_idx], env[val_idx]
    history.update(train_loss=[], val_loss=[], seconds=[])

    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=settings.epochs)
             if settings.schedule == "cosine" else None)
    last_good = best_state = snapshot(model)
    best, best_epoch, waited = float("inf"), 0, 0
    start_time = time.perf_counter()
    bar = tqdm(range(1, settings.epochs + 1), desc=desc, unit="epoch", disable=not settings.progress, leave=False)
    for epoch in bar:
        model.train()
        obs_var = settings.obs_var_at(epoch)
        perm = train_idx[torch.randperm(train_idx.shape[0], generator=cpu_gen).to(x.device)]
        total = torch.zeros((), device=x.device)
        for batch, start in enumerate(range(0, perm.shape[0], settings.batch_size)):
            idx = perm[start:start + settings.batch_size]
            loss = model.objective(x[idx], env[idx], beta=settings.beta, obs_var=obs_var,
                                   sparsity=settings.sparsity, generator=noise_gen)
            if not torch.isfinite(loss):
                model.load_state_dict(last_good)
                bar.close()
                raise TrainingError(
                    f"the training loss became {float(loss.detach())} in epoch {epoch} (batch {batch + 1}); "
                    f"the learner keeps its state after epoch {epoch - 1}. Try a smaller lr.")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip_grad)
            opt.step()
            total += loss.detach() * idx.shape[0]
        train_loss = float(total) / perm.shape[0]
        val = _evaluate(model, x_val, env_val, settings, obs_var) if n_val else float("nan")
        # without a validation split, the epoch's last batch checks that the updated state is still finite
        probe = val if n_val else _evaluate(model, x[idx], env[idx], settings, obs_var)
        if not torch.isfinite(torch.tensor(probe)):
            model.load_state_dict(last_good)
            bar.close()
            raise TrainingError(f"the {'validation' if n_val else 'training'} loss became {probe} after epoch "
                                f"{epoch}; the learner keeps its state after epoch {epoch - 1}. Try a smaller lr.")
        history["train_loss"].append(train_loss)  # the three lists hold the complete, finite epochs only
        history["val_loss"].append(val)
        history["seconds"].append(time.perf_counter() - start_time)
        last_good = snapshot(model)
        bar.set_postfix(train=f"{train_loss:.3f}", val=f"{val:.3f}", refresh=False)  # drawn at tqdm's pace
        if settings.early_stopping:
            # while the decoder variance anneals, objectives of different epochs are not comparable: keep the
            # latest state and start comparing once the variance is final
            if epoch <= settings.anneal_epochs or best == float("inf") or val < best - 1e-4 * max(1.0, abs(best)):
                best, best_epoch, best_state, waited = val, epoch, last_good, 0
            else:
                waited += 1
                if waited >= settings.patience:
                    break
        if sched is not None:
            sched.step()
    bar.close()
    if settings.early_stopping:
        model.load_state_dict(best_state)
        return best_epoch
    return len(history["train_loss"])
