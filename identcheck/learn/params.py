"""Validation of a learner's constructor arguments, done by `fit` (scikit-learn's rule: the constructor
stores, `fit` checks). One error names the argument and what it must be.

>>> from identcheck.learn import LatentCausalVAE
>>> check_params(dict(LatentCausalVAE(2).get_params(), epochs=0), n_envs=3, n_samples=100)
Traceback (most recent call last):
    ...
identcheck.errors.IdentcheckError: epochs must be an integer >= 1, got 0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from identcheck.errors import DataError, IdentcheckError
from identcheck.seeds import require_seed
from identcheck.sizes import MAX_EPOCHS, require_size

from .screens import ORDER_SEARCHES, ROTATION_DECISIONS

__all__ = ["check_params", "plain"]


def plain(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into Python numbers and lists, inside lists, tuples and
    dicts too: what `torch.load` with ``weights_only`` accepts, and what compares with ``==`` to one value.

    >>> plain({"lr": np.float64(0.5), "envs": np.array([0, 1]), "angles": (np.int64(3),)})
    {'lr': 0.5, 'envs': [0, 1], 'angles': (3,)}
    """
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, Mapping):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _number(key: str, value: Any, low: float, *, strict: bool, high: float = math.inf,
            optional: bool = False) -> None:
    """Raise unless ``value`` is a finite real number (numpy's too; not a bool) in the range: above ``low``
    (strictly with ``strict``) and below ``high``; None passes when ``optional``.

    >>> _number("lr", "1e-3", 0.0, strict=True)
    Traceback (most recent call last):
        ...
    identcheck.errors.IdentcheckError: lr must be a finite number > 0, got '1e-3'
    """
    if optional and value is None:
        return
    ok = (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
          and math.isfinite(value) and (value > low if strict else value >= low) and value < high)
    if not ok:
        bound = f"{'>' if strict else '>='} {low:g}" + (f" and < {high:g}" if high < math.inf else "")
        raise IdentcheckError(f"{key} must be {'None or ' if optional else ''}a finite number {bound}, "
                              f"got {value!r}")


def check_params(params: Mapping[str, Any], n_envs: int, n_samples: int) -> None:
    """Raise `IdentcheckError` for the first invalid argument in ``params`` (a learner's `get_params`), and
    `DataError` where the arguments do not fit data of ``n_samples`` rows in ``n_envs`` environments (no rows
    left to train on, a reference environment the data lack)."""
    p = SimpleNamespace(**params)
    positive_ints = ("latent_dim", "hidden", "layers", "epochs", "batch_size", "patience", "restarts")
    for key in positive_ints:
        value = getattr(p, key)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise IdentcheckError(f"{key} must be an integer >= 1, got {value!r}")
    require_seed(p.seed)
    if p.threads is not None and (isinstance(p.threads, bool) or not isinstance(p.threads, (int, np.integer))
                                     or p.threads < 1):
        raise IdentcheckError(f"threads must be None or an integer >= 1, got {p.threads!r}")
    if isinstance(p.n_jobs, bool) or not isinstance(p.n_jobs, (int, np.integer)) \
            or not (p.n_jobs >= 1 or p.n_jobs == -1):
        raise IdentcheckError(f"n_jobs must be an integer >= 1, or -1 for every CPU core, got {p.n_jobs!r}")
    for key in ("lr", "obs_var", "clip_grad"):
        _number(key, getattr(p, key), 0.0, strict=True)
    for key in ("obs_var_final", "pretrain_lr"):
        _number(key, getattr(p, key), 0.0, strict=True, optional=True)
    for key in ("beta", "sparsity", "rotation_margin", "noise_floor"):
        _number(key, getattr(p, key), 0.0, strict=False)
    _number("validation_fraction", p.validation_fraction, 0.0, strict=False, high=1.0)
    for key in ("post_nonlinear", "early_stopping", "progress"):
        if not isinstance(getattr(p, key), (bool, np.bool_)):
            raise IdentcheckError(f"{key} must be True or False, got {getattr(p, key)!r}")
    for key in ("pretrain_epochs", "order_search_epochs", "rotation_search_epochs"):
        value = getattr(p, key)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise IdentcheckError(f"{key} must be an integer >= 0, got {value!r}")
    for key in ("epochs", "pretrain_epochs", "order_search_epochs", "rotation_search_epochs"):
        require_size(int(getattr(p, key)), key, MAX_EPOCHS, IdentcheckError)  # integers: checked above
    if p.order_search not in ORDER_SEARCHES:
        raise IdentcheckError(f"order_search must be one of {', '.join(map(repr, ORDER_SEARCHES))}, "
                              f"got {p.order_search!r}")
    if p.order_search_epochs and not (p.likelihood == "exact" and p.pretrain_epochs):
        raise IdentcheckError("order_search_epochs screens the no-edge solution of the exact likelihood: "
                              "it needs likelihood='exact' and pretrain_epochs >= 1")
    if p.rotation_search_epochs and p.likelihood != "exact":
        raise IdentcheckError("rotation_search_epochs rotates the latents of the exact likelihood's flow: it "
                              "needs likelihood='exact'")
    angles = plain(p.rotation_angles)  # a numpy array of degrees as a list
    if isinstance(angles, (str, bytes)) or not isinstance(angles, Sequence) or not angles or not all(
            isinstance(a, (int, float)) and not isinstance(a, bool) and 0 < a < 180 for a in angles):
        raise IdentcheckError(f"rotation_angles must be a non-empty list of degrees strictly between 0 and "
                              f"180, got {angles!r}")
    if p.rotation_decision not in ROTATION_DECISIONS:
        raise IdentcheckError(f"rotation_decision must be one of {', '.join(map(repr, ROTATION_DECISIONS))}, "
                              f"got {p.rotation_decision!r}")
    steps = p.noise_floor_steps
    least = 1 if p.noise_floor else 0
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < least:
        raise IdentcheckError(f"noise_floor_steps must be an integer >= {least} "
                              f"(with noise_floor {p.noise_floor!r}), got {steps!r}")
    if p.likelihood not in ("elbo", "exact"):
        raise IdentcheckError(f"likelihood must be 'elbo' or 'exact', got {p.likelihood!r}")
    if p.likelihood == "exact" and p.post_nonlinear:
        raise IdentcheckError("likelihood='exact' does not support post_nonlinear=True (the maps ḡ_i would "
                              "need an inverse): use likelihood='elbo'")
    if p.schedule not in ("cosine", "constant"):
        raise IdentcheckError(f"schedule must be 'cosine' or 'constant', got {p.schedule!r}")
    n_val = int(round(p.validation_fraction * n_samples))
    if (p.early_stopping or p.restarts > 1 or p.order_search_epochs or p.rotation_search_epochs) \
            and n_val == 0:
        raise IdentcheckError("early_stopping, restarts, order_search_epochs and rotation_search_epochs need a "
                              "validation split: raise validation_fraction or the sample size")
    if n_samples - n_val < 2:  # one row has no spread: the edge strengths divide by standard deviations
        raise DataError(f"{n_samples} sample(s) leave {n_samples - n_val} to train on after the validation "
                        f"split; a fit needs at least 2")
    references = () if p.reference_envs is None else p.reference_envs
    sets = list(references.values()) if isinstance(references, Mapping) else [references]
    if not all(isinstance(envs, Iterable) and not isinstance(envs, (str, bytes, Iterator)) for envs in sets):
        raise IdentcheckError(f"reference_envs must be a list of environment indices or a mapping from node "
                              f"slots to such lists (not a one-shot iterator, which the first look would "
                              f"use up), got {p.reference_envs!r}")
    for slot in references if isinstance(references, Mapping) else ():
        if isinstance(slot, bool) or not isinstance(slot, (int, np.integer)) or not 0 <= slot < p.latent_dim:
            raise IdentcheckError(f"reference_envs maps node slot {slot!r}, but the slots are the "
                                  f"integers 0..{p.latent_dim - 1}")
    for envs in sets:
        for env in envs:
            if isinstance(env, bool) or not isinstance(env, (int, np.integer)) or not 0 <= env < n_envs:
                raise DataError(f"reference environment {env!r} is not an environment index of the data "
                                f"(an integer in 0..{n_envs - 1})")

