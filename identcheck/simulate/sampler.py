"""Sample a data set from an SCM (SPEC §1): n ~ p(n|u) (Eq. 1), z_i = ḡ_i(g_i(pa_i, u) + n_i) in causal
order (Eqs. 2 and 5), x = f(z) + ε (Eq. 3).

Every expression is lambdified once and evaluated on all rows of all environments at once; the rows are
sorted by environment (N rows of environment 0, then N of environment 1, ...). Randomness comes from three
independent streams spawned from one `SeedSequence(seed)`: the noise n, the mixing weights, the observation
noise ε. So the same seed gives the same bytes, and the mixing f does not depend on the sample count.

>>> from identcheck import load_example
>>> data = simulate(load_example("C1"), samples_per_env=100, seed=0)
>>> data.x.shape, data.u.shape, data.z.shape, data.n.shape
((500, 2), (500,), (500, 2), (500, 2))
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import sympy as sp

from ..errors import DataError, IdentcheckWarning
from ..psi import latents_at
from ..scm import SCM, require_scm
from ..seeds import require_seed
from ..sizes import require_integer, require_memory
from ..spec.expressions import numeric_function
from .dataset import Dataset
from .mixing import Mixing, MLPMixing, mixing_for

__all__ = ["simulate", "require_memory_for", "sample_noise", "latents_from_noise", "require_integer"]

_NOISE, _MIXING, _OBSERVATION = range(3)


def simulate(scm: SCM, samples_per_env: int, seed: int = 0) -> Dataset:
    """Draw `samples_per_env` rows in every environment of `scm`; see the module docstring.

    Raises DataError for a sample count < 1, a negative seed, or a mechanism, post-nonlinear map, mixing
    or observation noise that overflows or gives NaN (the message names the node and the environment).

    >>> from identcheck import load_example
    >>> a = simulate(load_example("C12a"), 10, seed=3)
    >>> b = simulate(load_example("C12a"), 10, seed=3)
    >>> bool((a.x == b.x).all()), a.u[:12].tolist()
    (True, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    """
    require_scm(scm, "simulate")
    count = require_integer(samples_per_env, "samples_per_env", 1)
    require_memory_for(scm, count)
    seeds = np.random.SeedSequence(require_seed(seed, "seed", DataError)).spawn(3)
    streams = [np.random.default_rng(s) for s in seeds]
    u = np.repeat(np.arange(scm.environments.count), count)
    n = sample_noise(scm, u, streams[_NOISE])
    z = latents_from_noise(scm, n, u)
    mixing = mixing_for(scm, streams[_MIXING])
    x = _observe(scm, _mix(scm, mixing, z, u), u, streams[_OBSERVATION])
    return Dataset(
        x=x, u=u, z=z, n=n, latents=scm.latents, env_values=scm.environments.values,
        env_labels=scm.environments.labels, adjacency=scm.adjacency(), scm=scm, seed=int(seed),
        name=scm.name, mixing_params=mixing.weights if isinstance(mixing, MLPMixing) else (),
    )


def require_memory_for(scm: SCM, samples_per_env: int) -> None:
    """DataError when simulating ``samples_per_env`` rows per environment of ``scm`` needs more memory than
    this machine has (`simulation_bytes`): checked by `simulate`, and by `verify` and `sweep` before any work."""
    what = f"{scm.environments.count} environments x {samples_per_env} samples per environment"
    d = scm.mixing.observed_dim if scm.mixing.kind == "mlp" else len(scm.mixing.expressions)
    if d > len(scm.latents):  # the rows and the mixing's d x d weights grow with d: say so beside the samples
        what += f" of {d} observed dimensions ({'mixing.observed_dim' if scm.mixing.kind == 'mlp' else 'mixing.x'})"
    require_memory(simulation_bytes(scm, samples_per_env), what)


def simulation_bytes(scm: SCM, samples_per_env: int) -> int:
    """About the memory `simulate` needs (a Python int: a request of 10**22 rows does not overflow): n and z
    (ℓ columns each) with a temporary, x and the observation noise with two MLP temporaries (d columns each),
    u, the mixing's d × d weights with their QR, and what the observation noise's sampler holds besides
    (`ObservationFamily.sampler_bytes`: sinc2's rejection sampler needs about 10 values' worth per value).

    >>> from identcheck import load_example
    >>> simulation_bytes(load_example("C1"), 1000)  # 5 environments, ℓ = d = 2: 8 bytes x 5000 rows x 15
    600288
    """
    ell = len(scm.latents)
    mlp = scm.mixing.kind == "mlp"
    d = scm.mixing.observed_dim if mlp else len(scm.mixing.expressions)
    rows = scm.environments.count * int(samples_per_env)
    weights = 3 * scm.mixing.layers * d * max(d, ell) if mlp else 0
    return 8 * (rows * (3 * ell + 4 * d + 1) + weights) + rows * d * scm.observation_noise.family.sampler_bytes


def sample_noise(scm: SCM, u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw n (len(u), ℓ), row r from p(n | u_{u[r]}) (Eq. 1), latents in spec order.

    >>> from identcheck import load_example
    >>> n = sample_noise(load_example("C15b"), np.repeat(np.arange(4), 1000), np.random.default_rng(0))
    >>> n.shape, round(float(n[:1000, 0].std()), 1)
    ((4000, 2), 1.0)
    """
    u = _environment_indices(u, scm.environments.count)
    table = scm.environment_table()
    columns = []
    for latent in scm.latents:
        per_env = {p: _per_environment(expr, table, scm.environments.count)
                   for p, expr in scm.noise_params[latent].items()}
        with np.errstate(all="ignore"):
            column = scm.noise_family.sample(rng, {p: v[u] for p, v in per_env.items()}, (len(u),))
        if not np.all(np.isfinite(column)):
            _fail_at(scm, ~np.isfinite(column), u, f"the noise of {latent} overflows")
        _warn_on_the_edge(scm, latent, column)
        columns.append(column)
    return np.stack(columns, axis=1)


def _warn_on_the_edge(scm: SCM, latent: str, column: np.ndarray) -> None:
    """An `IdentcheckWarning` when draws lie exactly on the edge of the family's open support: float64 rounds
    a draw closer to the edge than its spacing there onto it (beta(1, 0.01) puts most draws at 1.0), where
    the density, and a mechanism such as log(n), may be infinite. The draws are kept: the edge is their
    nearest float (`_on_the_edge` names them when a mechanism fails on them)."""
    low, high = scm.noise_family.support
    for edge in (low, high):
        count = int(np.count_nonzero(column == edge))
        if count:
            warnings.warn(f"{scm.source}: {count} of {len(column)} draws of the noise of {latent} "
                          f"({scm.noise_family.name}) are exactly {edge:g}, the edge of its open support "
                          f"({low:g}, {high:g}), where float64 rounds draws closer to it than its spacing",
                          IdentcheckWarning, stacklevel=4)


def latents_from_noise(scm: SCM, n: np.ndarray, u: np.ndarray) -> np.ndarray:
    """ψ_u: solve z_i = ḡ_i(g_i(pa_i, u) + n_i) in causal order (SPEC §1, "Derived objects").

    >>> from identcheck import load_example
    >>> latents_from_noise(load_example("C1"), np.array([[1.0, 0.5], [1.0, 0.5]]), np.array([0, 2])).tolist()
    [[1.0, 0.5], [1.0, 2.5]]
    """
    u = _environment_indices(u, scm.environments.count)
    n = np.asarray(n, dtype=float)
    if n.shape != (len(u), len(scm.latents)):
        raise DataError(f"n must have shape ({len(u)}, {len(scm.latents)}): one row per entry of u, one column "
                        f"per latent; got {n.shape}")
    table = scm.environment_table()
    return latents_at(scm, n, {s: v[u] for s, v in table.items()},
                      on_failure=lambda bad, problem: _fail_at(scm, bad, u, problem, _on_the_edge(scm, n, u, bad)))


def _on_the_edge(scm: SCM, n: np.ndarray, u: np.ndarray, bad: np.ndarray) -> str:
    """Why a mechanism may fail on valid noise: a draw exactly on the edge of the family's open support. numpy's
    gamma and beta samplers return 0.0 (or 1.0) when the true draw is below float64's smallest number (shape
    0.01: about 1 in 1600 gamma draws), where log(n) is -inf. Such draws are reported, not moved inside: a
    nudged value would be as arbitrary as the 0 (and beta(1, 0.01) puts most draws at 1.0)."""
    low, high = scm.noise_family.support
    edge = bad[:, None] & ((n <= low) | (n >= high))
    if not edge.any():
        return ""
    row, k = (int(i) for i in np.argwhere(edge)[0])
    latent, m = scm.latents[k], int(u[row])
    table = scm.environment_table()
    params = ", ".join(f"{p} = {_per_environment(e, table, scm.environments.count)[m]:g}"
                       for p, e in scm.noise_params[latent].items())
    return (f", where the noise of {latent} ({scm.noise_family.name}, {params}) is {n[row, k]:g}, the edge of its "
            f"open support ({low:g}, {high:g}), where float64 draws underflow: choose larger parameters")


def _mix(scm: SCM, mixing: Mixing, z: np.ndarray, u: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        x = mixing(z)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        part = f"mixing.x[{col}]" if scm.mixing.kind == "expression" else "the mixing MLP"
        raise DataError(f"{scm.source}: {part} gives non-finite values (overflow or NaN) in environment "
                        f"{scm.environments.labels[u[row]]!r}")
    return x


def _observe(scm: SCM, x: np.ndarray, u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """x = f(z) + eps (Eq. 3); DataError naming the observation noise when a huge scale makes x non-finite."""
    obs = scm.observation_noise
    with np.errstate(all="ignore"):
        x = x + obs.family.sample(rng, obs.scale, x.shape)
    bad = ~np.isfinite(x)
    if bad.any():
        _fail_at(scm, bad.any(axis=1), u, f"observation_noise.scale = {obs.scale:g} ({obs.family.name} noise) "
                                          "makes x non-finite (overflow)")
    return x


def _per_environment(expr: sp.Expr, table: dict[sp.Symbol, np.ndarray], count: int) -> np.ndarray:
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    return _evaluate(expr, symbols, [table[s] for s in symbols], count)


def _evaluate(expr: sp.Expr, symbols: list[sp.Symbol], args: list[np.ndarray], size: int) -> np.ndarray:
    function = numeric_function(symbols, expr)
    return np.broadcast_to(np.asarray(function(*args), dtype=float), (size,))


def _fail_at(scm: SCM, bad: np.ndarray, u: np.ndarray, problem: str, note: str = "") -> None:
    """DataError naming the first environment among the `bad` rows (then `note`, if any)."""
    envs = np.unique(u[bad])
    label = scm.environments.labels[envs[0]]
    more = f" (and {len(envs) - 1} more)" if len(envs) > 1 else ""
    raise DataError(f"{scm.source}: {problem} in environment {label!r}{more}{note}")


def _environment_indices(u: Any, count: int) -> np.ndarray:
    """``u`` as a 1-D integer array of environment indices in 0..count-1, else DataError (a -1 would wrap to
    the last environment)."""
    arr = np.asarray(u)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise DataError(f"u must be a 1-D array of integer environment indices, got dtype {arr.dtype}, "
                        f"shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= count):
        raise DataError(f"u holds environment indices outside 0..{count - 1}: {int(arr.min())}..{int(arr.max())}")
    return arr
