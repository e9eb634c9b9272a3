"""The paper's method: a latent additive-noise (optionally post-nonlinear) causal VAE, SPEC §6 Eqs. (6)-(8).

Mechanisms in the fixed order 1..ℓ: ĝ_i(ẑ_<i, u) = MLP_i(λ_i(u) ⊙ ẑ_<i), with the masks λ(u) the output
of an MLP of u. Where λ_i(u) = 0 the mechanism is the constant MLP_i(0), so a pinned reference
environment realises (iv-N).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x, u = rng.normal(size=(300, 2)), rng.integers(0, 5, size=300)
>>> learner = LatentCausalVAE(2, reference_envs=[0], epochs=2, progress=False).fit(x, u)
>>> float(np.abs(learner.causal_weights()[0]).max())
0.0
>>> learner.graph().shape
(2, 2)
"""

from __future__ import annotations

import torch
from torch import nn

from .causal import CausalLearner
from .model import EdgeMaskedStructure, References
from .nets import mlp

__all__ = ["MLPMechanisms", "LatentCausalVAE"]


class MLPMechanisms(EdgeMaskedStructure):
    """ĝ_i = MLP_i(λ_i(u) ⊙ ẑ_<i), λ = MLP(u) restricted to the edges j < i and pinned at the references."""

    def __init__(self, latent_dim: int, n_envs: int, *, hidden: int, layers: int,
                 reference_envs: References = (), post_nonlinear: bool = False):
        super().__init__(latent_dim, n_envs, hidden=hidden, layers=layers, reference_envs=reference_envs,
                         post_nonlinear=post_nonlinear)
        self.mechs = nn.ModuleList(mlp(i, 1, hidden=hidden, layers=layers) for i in range(1, latent_dim))

    def node_mechanism(self, i: int, z_before: torch.Tensor, coeffs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.mechs[i - 1](coeffs[0][:, :i, i] * z_before).squeeze(1)


class LatentCausalVAE(CausalLearner):
    """Latent causal VAE with MLP mechanisms gated by u-dependent masks (registry name ``latent_mlp``).

    See `LatentLearner` for the parameters, shared by every learner. Pass the reference environments of
    the data (where the true causal influences vanish) as ``reference_envs``: the theory covers only an
    estimator that shares them (SPEC §2, C12a).

    >>> LatentCausalVAE(3, reference_envs=[0]).get_params()["reference_envs"]
    [0]
    """

    name = "latent_mlp"

    def _make_structure(self, n_envs: int) -> MLPMechanisms:
        return MLPMechanisms(self.latent_dim, n_envs, hidden=self.hidden, layers=self.layers,
                             reference_envs=self._reference_envs(), post_nonlinear=self.post_nonlinear)
