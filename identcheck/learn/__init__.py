"""Learners for latent causal models and the metrics that compare them with the truth (SPEC §6).

Torch only; nothing here imports sympy, YAML or the other identcheck layers (only `identcheck.errors`).

>>> from identcheck.learn import make_learner, mpc
>>> make_learner("latent_mlp", latent_dim=3, reference_envs=[0])
LatentCausalVAE(latent_dim=3, reference_envs=[0])
"""

from .base import LatentLearner
from .causal import CausalLearner
from .baselines import IVAE, VAE, BetaVAE, LatentLinearVAE, LatentPolynomialVAE
from .latent_mlp import LatentCausalVAE
from .metrics import MPC, SHD, ParentShare, agreement, mpc, parent_share, shd, shd_curve
from .registry import LEARNERS, PRESETS, make_learner

__all__ = [
    "LatentLearner", "CausalLearner", "LatentCausalVAE", "VAE", "BetaVAE", "IVAE", "LatentLinearVAE",
    "LatentPolynomialVAE", "LEARNERS", "PRESETS", "make_learner", "MPC", "SHD", "ParentShare", "mpc", "agreement",
    "shd", "shd_curve", "parent_share",
]
