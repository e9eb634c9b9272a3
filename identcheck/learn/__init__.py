"""Learners for latent causal models and the metrics that compare them with the truth (SPEC §6).

Torch only; nothing here imports sympy, YAML or the other identcheck layers (only `identcheck.errors`).

Where things are, in the order a fit meets them: `registry` (learners by name), `base` (the estimator:
`fit`, restarts, stages, `transform`, save / load) with `params` (its argument checks) and `inputs` (its array
checks), `model`, `nets` and `flows` (the torch model), `training` (the one loop), `screens` (the exact
likelihood's slot-order and rotation screens), `causal` (the learned graph), `latent_mlp` (the paper's method),
`baselines`, and `metrics` (MPC, SHD, parent share).

>>> from identcheck.learn import make_learner, mpc
>>> make_learner("latent_mlp", latent_dim=3, reference_envs=[0])
LatentCausalVAE(latent_dim=3, reference_envs=[0])
"""

from .base import LatentLearner
from .baselines import IVAE, VAE, BetaVAE, LatentLinearVAE, LatentPolynomialVAE
from .causal import CausalLearner
from .latent_mlp import LatentCausalVAE
from .metrics import MPC, SHD, ParentShare, agreement, mpc, parent_share, shd, shd_curve
from .registry import LEARNERS, PRESETS, make_learner

__all__ = [
    "LatentLearner", "CausalLearner", "LatentCausalVAE", "VAE", "BetaVAE", "IVAE", "LatentLinearVAE",
    "LatentPolynomialVAE", "LEARNERS", "PRESETS", "make_learner", "MPC", "SHD", "ParentShare", "mpc", "agreement",
    "shd", "shd_curve", "parent_share",
]
