"""Learners by name (CONTRACT §5 ``methods``): `LEARNERS`, `PRESETS` and `make_learner`.

A method is a learner name, optionally with a preset after a colon: ``latent_mlp:ordered`` is
`LatentCausalVAE` with the arguments of ``PRESETS["ordered"]`` (arguments given to `make_learner` win).

>>> make_learner("ivae", latent_dim=2, epochs=5).epochs
5
>>> sorted(LEARNERS)
['beta_vae', 'ivae', 'latent_linear', 'latent_mlp', 'latent_polynomial', 'vae']
>>> learner = make_learner("latent_mlp:ordered", latent_dim=3, epochs=50)
>>> learner.likelihood, learner.order_search_epochs, learner.epochs
('exact', 30, 50)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from identcheck.errors import IdentcheckError

from .base import LatentLearner
from .baselines import IVAE, VAE, BetaVAE, LatentLinearVAE, LatentPolynomialVAE
from .latent_mlp import LatentCausalVAE

__all__ = ["LEARNERS", "PRESETS", "make_learner", "resolve_method"]

LEARNERS: Mapping[str, type[LatentLearner]] = MappingProxyType(
    {cls.name: cls for cls in (LatentCausalVAE, VAE, BetaVAE, IVAE, LatentLinearVAE, LatentPolynomialVAE)})

_NO_EDGE_START = {"likelihood": "exact", "pretrain_epochs": 300, "pretrain_lr": 3e-3, "epochs": 200, "lr": 1e-3,
                  "restarts": 1, "order_search_epochs": 30}
#: The budgets measured in the README's learner benchmark, all on the exact likelihood (d = ℓ):
#: ``exact``, from a random start, best of 2 restarts; ``pretrained``, up to 300 no-edge (iVAE) epochs at
#: lr 3e-3, a 30-epoch run of the full model at that lr in the order the no-edge stage returned (off the
#: no-edge plateau), then up to 200 epochs of the full model; ``ordered``, the same with every slot order of
#: the no-edge solution screened by 30-epoch runs (ℓ! of them); ``greedy``, the same screen filled greedily
#: from the root slot down (ℓ + (ℓ-1)(ℓ-2)/2 runs); ``rotated``, ``greedy`` and then the rotation screen
#: (``rotation_search_epochs`` = 30, ℓ(ℓ-1)/2 · 5 + 1 short runs) and a second full stage from the unrotated
#: run and from the best rotation's, keeping the rotation if it ends 0.02 nats ahead. Learners without
#: mechanisms ignore the no-edge stage and the order screen.
PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "exact": MappingProxyType({"likelihood": "exact", "epochs": 300, "lr": 3e-3, "restarts": 2}),
    "pretrained": MappingProxyType({**_NO_EDGE_START, "order_search": "fixed"}),
    "ordered": MappingProxyType(_NO_EDGE_START),  # order_search: the default, "exhaustive"
    "greedy": MappingProxyType({**_NO_EDGE_START, "order_search": "greedy"}),
    "rotated": MappingProxyType({**_NO_EDGE_START, "order_search": "greedy", "rotation_search_epochs": 30}),
})


def resolve_method(method: str) -> tuple[type[LatentLearner], dict[str, Any]]:
    """The learner class and the preset arguments of ``method`` (``name`` or ``name:preset``).

    >>> cls, params = resolve_method("ivae:exact")
    >>> cls.__name__, params["likelihood"]
    ('IVAE', 'exact')
    """
    name, colon, preset = str(method).partition(":")
    if name not in LEARNERS:
        raise IdentcheckError(f"unknown learner {name!r}; choose one of {', '.join(sorted(LEARNERS))}")
    if colon and preset not in PRESETS:
        raise IdentcheckError(f"unknown preset {preset!r} in {method!r}; choose one of {', '.join(PRESETS)} "
                              f"(written {name}:<preset>)")
    return LEARNERS[name], dict(PRESETS[preset]) if preset else {}


def make_learner(method: str, **params: Any) -> LatentLearner:
    """Construct the learner ``method`` names (``name`` or ``name:preset``, see `PRESETS`) with the given
    constructor arguments, which override the preset's.

    Unknown names, presets and arguments raise `IdentcheckError`.

    >>> learner = make_learner("latent_mlp:exact", latent_dim=2, epochs=2, hidden=8, progress=False)
    >>> type(learner).__name__, learner.likelihood, learner.epochs, learner.restarts
    ('LatentCausalVAE', 'exact', 2, 2)
    >>> make_learner("ivae", latent_dim=2, colour="red")
    Traceback (most recent call last):
    ...
    identcheck.errors.IdentcheckError: bad arguments for learner 'ivae': ...
    """
    cls, preset = resolve_method(method)
    try:
        return cls(**{**preset, **params})
    except TypeError as exc:
        raise IdentcheckError(f"bad arguments for learner {method!r}: {exc}") from None
