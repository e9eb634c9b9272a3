"""Learners by name (CONTRACT §5 ``methods``): `LEARNERS` and `make_learner`.

>>> make_learner("ivae", latent_dim=2, epochs=5).epochs
5
>>> sorted(LEARNERS)
['beta_vae', 'ivae', 'latent_linear', 'latent_mlp', 'latent_polynomial', 'vae']
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from identcheck.errors import IdentcheckError

from .base import LatentLearner
from .baselines import IVAE, VAE, BetaVAE, LatentLinearVAE, LatentPolynomialVAE
from .latent_mlp import LatentCausalVAE

__all__ = ["LEARNERS", "make_learner"]

LEARNERS: Mapping[str, type[LatentLearner]] = MappingProxyType(
    {cls.name: cls for cls in (LatentCausalVAE, VAE, BetaVAE, IVAE, LatentLinearVAE, LatentPolynomialVAE)})


def make_learner(name: str, **params: Any) -> LatentLearner:
    """Construct the learner registered as ``name`` with the given constructor arguments.

    Unknown names and unknown arguments raise `IdentcheckError`.
    """
    try:
        cls = LEARNERS[name]
    except KeyError:
        raise IdentcheckError(f"unknown learner {name!r}; choose one of {', '.join(sorted(LEARNERS))}") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise IdentcheckError(f"bad arguments for learner {name!r}: {exc}") from None
