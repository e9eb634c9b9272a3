"""The baselines of the paper's Fig. 1, on the shared loop; they differ from the method only in the structure.

- `VAE`: standard normal prior, encoder q(z|x);
- `BetaVAE`: the same with β = 4 by default;
- `IVAE`: conditional factorial Gaussian prior p(z|u), encoder q(z|x,u), no causal structure;
- `LatentLinearVAE`: weight-variant linear SCM ĝ_i = Σ_j λ_ji(u) ẑ_j (SuaVE, the linear paper);
- `LatentPolynomialVAE`: ĝ_i a degree-2 polynomial in ẑ_<i with u-dependent coefficients (polynomial paper).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x, u = rng.normal(size=(300, 3)), rng.integers(0, 5, size=300)
>>> LatentLinearVAE(3, reference_envs=[0], epochs=2, progress=False).fit(x, u).causal_weights().shape
(5, 3, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import LatentLearner
from .causal import CausalLearner
from .model import CausalStructure, ConditionalPrior, EdgeMaskedStructure, References, StandardPrior, Structure
from .nets import edge_mask, mlp, pair_mask
from .screens import ROTATION_ANGLES

__all__ = ["VAE", "BetaVAE", "IVAE", "LatentLinearVAE", "LatentPolynomialVAE", "LinearMechanisms",
           "PolynomialMechanisms"]


class VAE(LatentLearner):
    """Standard VAE: p(z) = N(0, I), q(z|x) ignores u (registry name ``vae``).

    >>> VAE(2).beta
    1.0
    """

    name = "vae"
    encoder_uses_u = False

    def _make_structure(self, n_envs: int) -> Structure:
        return StandardPrior(self.latent_dim, n_envs)


class BetaVAE(VAE):
    """β-VAE: a VAE whose KL term has weight ``beta`` = 4 by default (registry name ``beta_vae``).

    >>> BetaVAE(2).beta
    4.0
    """

    name = "beta_vae"

    def __init__(self, latent_dim: int, *, hidden: int = 64, layers: int = 3, sparsity: float = 0.01,
                 reference_envs: References | None = None, post_nonlinear: bool = False, beta: float = 4.0,
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
        super().__init__(latent_dim, hidden=hidden, layers=layers, sparsity=sparsity, reference_envs=reference_envs,
                         post_nonlinear=post_nonlinear, beta=beta, obs_var=obs_var, obs_var_final=obs_var_final,
                         epochs=epochs, lr=lr,
                         batch_size=batch_size, schedule=schedule, clip_grad=clip_grad,
                         early_stopping=early_stopping, patience=patience,
                         validation_fraction=validation_fraction, restarts=restarts, n_jobs=n_jobs, device=device,
                         seed=seed, progress=progress, threads=threads, likelihood=likelihood,
                         pretrain_epochs=pretrain_epochs, pretrain_lr=pretrain_lr,
                         order_search_epochs=order_search_epochs, order_search=order_search,
                         noise_floor=noise_floor, noise_floor_steps=noise_floor_steps,
                         rotation_search_epochs=rotation_search_epochs, rotation_angles=rotation_angles,
                         rotation_margin=rotation_margin, rotation_decision=rotation_decision)


class IVAE(LatentLearner):
    """iVAE: p(z|u) = Π N(z_i; μ_i(u), σ_i²(u)), q(z|x,u), no causal structure (registry name ``ivae``).

    >>> IVAE(2).encoder_uses_u
    True
    """

    name = "ivae"

    def _make_structure(self, n_envs: int) -> Structure:
        return ConditionalPrior(self.latent_dim, n_envs, hidden=self.hidden, layers=self.layers)


class LinearMechanisms(EdgeMaskedStructure):
    """ĝ_i = Σ_{j<i} λ_ji(u) ẑ_j with λ = MLP(u), pinned at the reference environments."""

    def node_mechanism(self, i: int, z_before: torch.Tensor, coeffs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return (coeffs[0][:, :i, i] * z_before).sum(1)


class PolynomialMechanisms(CausalStructure):
    """ĝ_i = Σ_{j<i} a_ji(u) ẑ_j + Σ_{j≤k<i} b_jki(u) ẑ_j ẑ_k, coefficients from an MLP of u, pinned."""

    mask: torch.Tensor  # buffer (ℓ, ℓ), `edge_mask`
    pairs: torch.Tensor  # buffer (ℓ, ℓ, ℓ), `pair_mask`

    def __init__(self, latent_dim: int, n_envs: int, *, hidden: int, layers: int,
                 reference_envs: References = (), post_nonlinear: bool = False):
        super().__init__(latent_dim, n_envs, hidden=hidden, layers=layers, reference_envs=reference_envs,
                         post_nonlinear=post_nonlinear)
        self.lambda_net = mlp(n_envs, latent_dim ** 2 + latent_dim ** 3, hidden=hidden, layers=layers)
        self.register_buffer("mask", edge_mask(latent_dim))
        self.register_buffer("pairs", pair_mask(latent_dim))

    def coefficients(self) -> tuple[torch.Tensor, ...]:
        l = self.latent_dim
        raw = self.lambda_net(self.eye)
        linear = raw[:, : l * l].view(self.n_envs, l, l) * self.mask
        quadratic = raw[:, l * l:].view(self.n_envs, l, l, l) * self.pairs
        return self._pinned(linear), self._pinned(quadratic)

    def node_mechanism(self, i: int, z_before: torch.Tensor, coeffs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        linear, quadratic = coeffs
        return ((linear[:, :i, i] * z_before).sum(1)
                + torch.einsum("bj,bk,bjk->b", z_before, z_before, quadratic[:, :i, :i, i]))

    def edge_weights(self) -> torch.Tensor:
        """Edge j → i: root-sum-square of the coefficients of the monomials of ĝ_i that contain ẑ_j (≥ 0)."""
        linear, quadratic = self.coefficients()
        sq = quadratic.pow(2)
        with_j = sq.sum(2) + sq.sum(1) - torch.diagonal(sq, dim1=1, dim2=2).transpose(1, 2)
        return (linear.pow(2) + with_j).sqrt()


class LatentLinearVAE(CausalLearner):
    """Latent weight-variant linear causal VAE, SuaVE-style (registry name ``latent_linear``).

    >>> LatentLinearVAE(2).name
    'latent_linear'
    """

    name = "latent_linear"

    def _make_structure(self, n_envs: int) -> Structure:
        return LinearMechanisms(self.latent_dim, n_envs, hidden=self.hidden, layers=self.layers,
                                reference_envs=self._reference_envs(), post_nonlinear=self.post_nonlinear)


class LatentPolynomialVAE(CausalLearner):
    """Latent polynomial (degree 2) causal VAE (registry name ``latent_polynomial``).

    >>> LatentPolynomialVAE(2).name
    'latent_polynomial'
    """

    name = "latent_polynomial"

    def _make_structure(self, n_envs: int) -> Structure:
        return PolynomialMechanisms(self.latent_dim, n_envs, hidden=self.hidden, layers=self.layers,
                                    reference_envs=self._reference_envs(), post_nonlinear=self.post_nonlinear)
