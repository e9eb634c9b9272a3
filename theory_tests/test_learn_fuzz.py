"""Learners fuzzed with odd arguments and tiny data: every learner by name either fits (and its transform is
finite) or raises one IdentcheckError naming the problem; never a torch, numpy or Python error, and no
numpy warning. A one-off probe of this kind found complex arrays cast with a warning, environment indices
that sized the learner's tables (10^9), seeds numpy refuses, CUDA devices this machine lacks and graph
thresholds that were not numbers; each also has its own test in test_learn_api.py.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from identcheck.errors import IdentcheckError
from identcheck.learn import LEARNERS, make_learner
from identcheck.testing import examples

# one argument set to something odd, or nothing (None): most must be refused, some are fine
_ARGUMENTS = st.one_of(st.none(), st.sampled_from([
    ("latent_dim", 0), ("latent_dim", 2.5), ("hidden", 0), ("layers", 0), ("epochs", 0), ("lr", 0.0),
    ("lr", float("nan")), ("batch_size", 0), ("batch_size", 1), ("sparsity", -1.0), ("reference_envs", [7]),
    ("reference_envs", [-1]), ("reference_envs", "a"), ("reference_envs", {5: [0]}), ("device", "tpu"),
    ("device", "meta"), ("device", "cuda:99"), ("seed", -1), ("seed", 2**70), ("seed", True),
    ("validation_fraction", 0.0), ("validation_fraction", 1.0), ("validation_fraction", 0.99), ("restarts", 0),
    ("restarts", 2), ("n_jobs", 0), ("threads", 0), ("likelihood", "exact"), ("likelihood", "nope"),
    ("patience", 0), ("obs_var", 0.0), ("beta", float("inf")), ("schedule", "nope"), ("clip_grad", -1.0),
    ("order_search", "nope"), ("pretrain_epochs", -1), ("noise_floor", -1.0), ("rotation_angles", []),
    ("rotation_margin", float("nan")), ("early_stopping", False)]))
# what is wrong with the data, if anything
_DAMAGE = st.sampled_from([None, None, None, "nan in x", "complex x", "huge x", "u beyond the rows", "u of floats",
                           "u one-hot", "u negative", "u too short"])


@st.composite
def fits(draw: st.DrawFn) -> tuple[str, dict, np.ndarray, np.ndarray]:
    """A learner name, its arguments (tiny budget, at most one odd value) and data (x, u), maybe damaged."""
    name = draw(st.sampled_from(sorted(LEARNERS)))
    rows, features, envs = draw(st.integers(1, 24)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    params = {"latent_dim": draw(st.integers(1, 3)), "epochs": 2, "hidden": 4, "progress": False}
    argument = draw(_ARGUMENTS)
    if argument is not None:
        params[argument[0]] = argument[1]
    rng = np.random.default_rng(draw(st.integers(0, 3)))
    x, u = rng.normal(size=(rows, features)), np.arange(rows) % envs
    damage = draw(_DAMAGE)
    if damage == "nan in x":
        x[0, 0] = np.nan
    elif damage == "complex x":
        x = x + 1j
    elif damage == "huge x":
        x[0, 0] = 1e300
    elif damage == "u beyond the rows":
        u = u.copy()
        u[0] = 10**9
    elif damage == "u of floats":
        u = u + 0.5
    elif damage == "u one-hot":
        u = np.eye(envs, dtype=int)[u]
    elif damage == "u negative":
        u = u - 1
    elif damage == "u too short":
        u = u[:-1]
    return name, params, x, u


@settings(max_examples=examples(300))
@given(fits())
def test_a_learner_fits_or_raises_one_identcheck_error(case):
    name, params, x, u = case
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            learner = make_learner(name, **params).fit(x, u)
        except IdentcheckError as error:
            assert "\n" not in str(error)
            return
        z = learner.transform(x, u)
    assert z.shape == (len(x), params["latent_dim"]) and np.all(np.isfinite(z))
