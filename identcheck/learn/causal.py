"""Learners with causal mechanisms (SPEC §6): what they add to `LatentLearner` is the learned graph, read as
the u-dependent coefficients λ(u) (`causal_weights`) and as scale-free edge strengths (`edge_strengths`,
`graph`).

>>> import numpy as np
>>> from identcheck.learn import LatentLinearVAE
>>> rng = np.random.default_rng(0)
>>> x, u = rng.normal(size=(300, 2)), rng.integers(0, 4, size=300)
>>> learner = LatentLinearVAE(2, reference_envs=[0], epochs=2, progress=False).fit(x, u)
>>> learner.causal_weights([0, 1]).shape, learner.graph(threshold=0.1).dtype
((2, 2, 2), dtype('bool'))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch

from identcheck.errors import DataError, IdentcheckError

from .base import LatentLearner, torch_threads
from .inputs import as_env_index
from .model import CausalStructure

__all__ = ["CausalLearner", "STRENGTH_SAMPLES"]

STRENGTH_SAMPLES = 5000  # training rows on which `fit` reads off ``edge_strengths_``


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
        return cast(CausalStructure, self.module_.structure)  # built by a causal learner's `_make_structure`

    def causal_weights(self, u: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """The u-dependent edge coefficients λ(u) as an (E, ℓ, ℓ) array; ``[e, j, i]`` is edge j → i.

        Only j < i can be nonzero (the fixed learned order). ``u`` lists environments (indices or one-hot);
        None means all 0..n_envs_-1. Entries of pinned reference environments are exactly 0.

        >>> from identcheck.learn import LatentLinearVAE
        >>> rng = np.random.default_rng(0)
        >>> x, u = rng.normal(size=(200, 2)), rng.integers(0, 4, size=200)
        >>> learner = LatentLinearVAE(2, reference_envs=[0], epochs=2, hidden=8, progress=False).fit(x, u)
        >>> weights = learner.causal_weights()
        >>> weights.shape, bool((weights[0] == 0).all()), bool((weights[:, 1, 0] == 0).all())
        ((4, 2, 2), True, True)
        """
        self._check_fitted()
        if u is None:
            env = np.arange(self.n_envs_)
        else:
            env, _ = as_env_index(u, n_samples=np.shape(u)[0] if np.ndim(u) else 0, n_envs=self.n_envs_)
        with torch.no_grad():
            weights = self._structure.edge_weights()
        return weights.cpu().numpy().astype(np.float64)[env]

    def _strengths(self, x: torch.Tensor, env: torch.Tensor) -> np.ndarray:
        with torch_threads(self.threads):
            return self._strengths_unthreaded(x, env)

    def _strengths_unthreaded(self, x: torch.Tensor, env: torch.Tensor) -> np.ndarray:
        l = int(self.latent_dim)  # a numpy integer would make retain_graph a numpy bool
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
        # per-environment sums as a product with the one-hot u: repeatable on CUDA, where index_add_'s atomic
        # adds sum in a different order on every call
        one_hot = torch.nn.functional.one_hot(env, self.n_envs_).to(per_sample.dtype)
        sums = (one_hot.T @ per_sample.reshape(x.shape[0], l * l)).reshape(self.n_envs_, l, l)
        counts = one_hot.sum(0)
        present = counts > 0
        per_env = sums[present] / counts[present].view(-1, 1, 1)
        return per_env.mean(0).cpu().numpy().astype(np.float64)  # mean, never min, over environments

    def edge_strengths(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Scale-free edge strengths (ℓ, ℓ) on the given data (SPEC §6 "Graph read-off").

        ``s[j, i]`` = mean over environments e of mean_{samples in e} |∂ĝ_i/∂ẑ_j| · std(ẑ_j) / std(ĝ_i + n_i)
        at ẑ from posterior means. The mean over environments (never the min) keeps true edges that
        vanish in the reference environments.

        >>> from identcheck.learn import LatentLinearVAE
        >>> rng = np.random.default_rng(0)
        >>> x, u = rng.normal(size=(200, 2)), rng.integers(0, 4, size=200)
        >>> learner = LatentLinearVAE(2, reference_envs=[0], epochs=2, hidden=8, progress=False).fit(x, u)
        >>> s = learner.edge_strengths(x, u)
        >>> s.shape, bool((s >= 0).all()), bool(s[1, 0] == 0)
        ((2, 2), True, True)
        """
        x_t, env = self._inputs(x, u)
        if x_t.shape[0] < 2:
            raise DataError(f"edge_strengths needs at least 2 rows (it divides by standard deviations), got "
                            f"{x_t.shape[0]}")
        return self._strengths(x_t, env)

    def graph(self, threshold: float = 0.1) -> np.ndarray:
        """Learned adjacency (ℓ, ℓ), bool, ``A[j, i]`` = edge j → i, from ``edge_strengths_ > threshold``
        (a number >= 0).

        >>> from identcheck.learn import LatentLinearVAE
        >>> rng = np.random.default_rng(0)
        >>> x, u = rng.normal(size=(200, 2)), rng.integers(0, 4, size=200)
        >>> learner = LatentLinearVAE(2, reference_envs=[0], epochs=2, hidden=8, progress=False).fit(x, u)
        >>> a = learner.graph(threshold=0.1)
        >>> a.shape, a.dtype, bool(a[1, 0]), bool(a[0, 0])
        ((2, 2), dtype('bool'), False, False)
        >>> bool(learner.graph(threshold=float("inf")).any())
        False
        """
        self._check_fitted()
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or not threshold >= 0:
            raise IdentcheckError(f"threshold must be a number >= 0, got {threshold!r}")
        return self.edge_strengths_ > threshold
