"""The paper's data sets (SPEC §6): the synthetic recipe of App. F, its partial-identifiability variant
(Fig. 2), and the semi-synthetic fMRI setting.

The synthetic generators write their model as a spec dict (so `identcheck check` sees the same truth as
`dataset.scm`) and sample it with `identcheck.simulate`. The ranges lost from App. F are SuaVE's defaults
(SPEC §6, §7 item 12): noise mean μ ~ U(−2, 2) and std σ ~ U(0.1, 2) per segment and latent; causal
weights λ ~ ±U(0.2, 1) with a random sign per segment; an ER lower-triangular DAG; an MLP mixing with
3 layers and d = ℓ. The mechanisms are small tanh networks modulated by λ(u), the model class of Eq. (6):

    g_i(pa_i, u) = Σ_k a_k · tanh( Σ_j w_kj · λ_ji(u) · z_j + b_k ),

with a_k ~ ±U(0.5, 1.5) times `strength` (1 by default), w_kj ~ ±U(0.5, 1) times `gain` (1 by default) and
b_k ~ U(−0.5, 0.5). `strength` scales how far z_i lies from its noise; `gain` scales how far the tanh units
saturate over the parents' range, that is how far g_i is from linear within a segment (with Gaussian noise and
linear mechanisms the model is not identifiable, `identcheck.check.linear_gaussian`).

By default every λ vanishes in a reference segment, so g_i is constant there: (iv-N) holds on an observed
segment (SPEC §2). The literal recipe draws λ uniformly in every segment, so (iv) fails almost surely;
`paper_literal=True` reproduces it and says so in the spec's description (SPEC §7 item 6).

>>> data = synthetic(latents=3, segments=7, samples_per_segment=20, seed=0)
>>> data.x.shape, data.reference_envs, data.scm.environments.kind
((140, 3), (0,), 'segments')
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import DataError
from ..families import observation_family
from ..seeds import require_seed
from ..simulate import Dataset, simulate
from ..simulate.mixing import random_mlp
from ..sizes import MAX_HIDDEN_UNITS, MAX_SEGMENTS, require_integer, require_memory, require_size
from ..spec import from_dict

__all__ = ["synthetic", "partial", "fmri", "read_table"]

#: Mixes into the seed of the model draws (graph, tables, weights) so they are independent of
#: `simulate`'s streams, which spawn from SeedSequence(seed).
_MODEL_STREAM = 0x5EC


def synthetic(latents: int = 5, segments: int = 50, samples_per_segment: int = 1000, seed: int = 0, *,
              edge_prob: float = 0.5, reference_segment: int | Sequence[int] = 0, paper_literal: bool = False,
              hidden: int = 3, strength: float = 1.0, gain: float = 1.0) -> Dataset:
    """App. F's synthetic data: `segments` one-hot segments × `samples_per_segment` rows, ℓ = `latents`.

    Every latent after z1 gets at least one parent (so the DAG is connected); edge j -> i (j < i) is
    drawn with probability `edge_prob`. λ vanishes in `reference_segment`, one segment or a list of them
    (recorded in `reference_envs`), unless `paper_literal`, which draws λ in every segment and records none.
    `strength` multiplies every mechanism's output weights a_k (1: App. F's recipe as above): the same
    draws otherwise, so z_i leans further from its noise n_i as it grows (the true n scores MPC 0.82-0.97
    against z at ℓ = 5, seeds 0-2, at strength 1 and 0.61-0.88 at strength 2). `gain` multiplies the input
    weights w_kj inside the tanh units, again keeping every other draw: larger gains make each mechanism less
    linear within a segment.

    >>> data = synthetic(latents=4, segments=9, samples_per_segment=5, seed=2)
    >>> data.latents, data.reference_envs, float(data.scm.parameters["lam_z1_z2"][0])
    (('z1', 'z2', 'z3', 'z4'), (0,), 0.0)
    """
    ell, (count, refs) = require_integer(latents, "latents", 1), _segments(segments, reference_segment)
    scale, inner = _factor(strength, "strength"), _factor(gain, "gain")
    rng, units = _model_rng(seed), _hidden(hidden)
    edges = _er_lower_triangular(rng, ell, _probability(edge_prob))
    model = _segment_model(rng, _names(ell), edges, count, () if paper_literal else refs, set(), units, scale,
                           inner)
    mode = ("PAPER-LITERAL: lambda is drawn in every segment, so (iv) fails on the observed segments "
            "(SPEC §6)" if paper_literal else f"lambda = 0 in {_reference_words(refs)}, so (iv-N) holds there")
    spec = _spec("synthetic", f"App. F synthetic data with SuaVE defaults; {mode}{_scale_note(scale, inner)}",
                 model, ell)
    data = simulate(from_dict(spec, source="<synthetic>"), samples_per_segment, seed)
    return replace(data, reference_envs=() if paper_literal else refs)


def partial(latents: int = 3, segments: int = 50, samples_per_segment: int = 1000, seed: int = 0, *,
            invariant_edges: Iterable[tuple[str, str]] = (("z1", "z2"),), edge_prob: float = 0.5,
            reference_segment: int | Sequence[int] = 0, hidden: int = 3, strength: float = 1.0,
            gain: float = 1.0) -> Dataset:
    """The partial-identifiability recipe (Fig. 2): as `synthetic`, but λ on `invariant_edges` is one
    non-zero constant in every segment, so (iv) fails for those edges and, by Theorem 2.5(b), their
    children are unidentifiable; every other latent stays identifiable.

    λ vanishes in `reference_segment` (one segment or a list) on every other edge, so those segments are the
    node-wise references of every identifiable non-root node; they are not references of the invariant edges'
    children, so
    `reference_envs` is empty (no environment has every causal weight at 0), unless `invariant_edges` is empty
    (then every weight vanishes there, as in `synthetic`). Pin a learner node by node
    with the checker's references, `identcheck.verify.node_pins`. `strength` and `gain` are `synthetic`'s.

    >>> data = partial(segments=7, samples_per_segment=5)
    >>> ("z1", "z2") in data.edges, len(set(data.scm.parameters["lam_z1_z2"])), data.reference_envs
    (True, 1, ())
    """
    ell, (count, refs) = require_integer(latents, "latents", 1), _segments(segments, reference_segment)
    scale, inner = _factor(strength, "strength"), _factor(gain, "gain")
    names = _names(ell)
    invariant = {_forward_edge(edge, names) for edge in invariant_edges}
    rng, units = _model_rng(seed), _hidden(hidden)
    edges = sorted(set(_er_lower_triangular(rng, ell, _probability(edge_prob))) | invariant)
    model = _segment_model(rng, names, edges, count, refs, invariant, units, scale, inner)
    arrows = ", ".join(f"{names[j]}->{names[i]}" for j, i in sorted(invariant)) or "none"
    spec = _spec("partial", f"partial identifiability (Fig. 2): invariant edges {arrows}; lambda = 0 in "
                            f"{_reference_words(refs)} on every other edge{_scale_note(scale, inner)}", model, ell)
    data = simulate(from_dict(spec, source="<partial>"), samples_per_segment, seed)
    return replace(data, reference_envs=() if invariant else refs)


# -- the shared model -----------------------------------------------------------------------------------
def _segments(segments: Any, reference_segment: Any) -> tuple[int, tuple[int, ...]]:
    """The number of segments and the reference segments: `reference_segment` is one index or a non-empty
    sequence of distinct ones."""
    count = require_size(require_integer(segments, "segments", 1), "segments", MAX_SEGMENTS)
    given = reference_segment if isinstance(reference_segment, (list, tuple, range, np.ndarray)) \
        else [reference_segment]
    refs = tuple(require_integer(r, "reference_segment", 0) for r in given)
    if not refs or len(set(refs)) < len(refs) or max(refs) >= count:
        raise DataError(f"reference_segment must be one of the {count} segments 0..{count - 1} or a non-empty "
                        f"list of distinct ones, got {reference_segment!r}")
    return count, refs


def _hidden(hidden: Any) -> int:
    """The tanh units per mechanism: 1 to `MAX_HIDDEN_UNITS` (DataError otherwise)."""
    return require_size(require_integer(hidden, "hidden", 1), "hidden", MAX_HIDDEN_UNITS)


def _reference_words(refs: tuple[int, ...]) -> str:
    """'reference segment 0', or 'reference segments 0, 1, 2' for several."""
    return f"reference segment {refs[0]}" if len(refs) == 1 else f"reference segments {', '.join(map(str, refs))}"


#: `strength` and `gain` lie in [1/_MAX_FACTOR, _MAX_FACTOR], so that the scaled weights stay normal floats.
_MAX_FACTOR = 1e300


def _factor(value: Any, name: str) -> float:
    """`strength` or `gain`: a positive number within a factor 1e300 of 1 (else DataError)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 / _MAX_FACTOR <= value <= _MAX_FACTOR:
        raise DataError(f"{name} must be a positive number in [1e-300, 1e300], got {value!r}")
    return float(value)


def _scaled(weight: float, factor: float) -> float:
    """``factor * weight`` for the spec text: to 4 decimals, or, for a factor < 1, to as many more decimals as
    keep the weight's own 4 (strength 1e-5 turns 0.7312 into 7.312e-06, not 0.0, which deleted the edge).
    At factors >= 1 this is round(factor * weight, 4), as before.

    >>> _scaled(0.7312, 1e-5), _scaled(-1.2345, 2.0)
    (7.312e-06, -2.469)
    """
    return round(factor * weight, max(4, 4 - math.floor(math.log10(factor))))


def _scale_note(strength: float, gain: float) -> str:
    """The spec description's word on a strength or gain other than App. F's 1."""
    return (("" if strength == 1 else f"; mechanisms' output weights times {strength:g}")
            + ("" if gain == 1 else f"; mechanisms' input weights times {gain:g}"))


def _probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise DataError(f"edge_prob must be a number in [0, 1], got {value!r}")
    return float(value)


def _model_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([require_seed(seed, "seed", DataError), _MODEL_STREAM])


def _names(ell: int) -> list[str]:
    return [f"z{k + 1}" for k in range(ell)]


def _forward_edge(edge: Any, names: list[str]) -> tuple[int, int]:
    if not (isinstance(edge, (tuple, list)) and len(edge) == 2 and all(e in names for e in edge)):
        raise DataError(f"invariant edge {edge!r} must be a pair of latents among {', '.join(names)}")
    j, i = names.index(edge[0]), names.index(edge[1])
    if j >= i:
        raise DataError(f"invariant edge {edge[0]}->{edge[1]} must point forward in the order "
                        f"{', '.join(names)} (the DAG is lower triangular)")
    return j, i


def _er_lower_triangular(rng: np.random.Generator, ell: int, edge_prob: float) -> list[tuple[int, int]]:
    """Edges (j, i), j < i, each with probability edge_prob; a latent after the first with no parent
    gets one uniformly among its predecessors."""
    require_memory(9 * ell**2, f"latents = {ell} (the ℓ x ℓ edge draws)")
    draws = rng.random((ell, ell)) < edge_prob
    edges: list[tuple[int, int]] = []
    for i in range(1, ell):
        parents = [j for j in range(i) if draws[j, i]] or [int(rng.integers(i))]
        edges.extend((j, i) for j in parents)
    return edges


def _segment_model(rng: np.random.Generator, names: list[str], edges: list[tuple[int, int]], segments: int,
                   references: tuple[int, ...], invariant: set[tuple[int, int]], hidden: int,
                   strength: float, gain: float = 1.0) -> dict[str, Any]:
    """The spec keys environments, parameters, noise and mechanisms of a λ-modulated tanh-MLP model over
    one-hot segments; λ is zero in `references` (empty: nowhere) except on `invariant` edges.
    DataError before anything is drawn when its tables (a Python float, 32 bytes, per segment and per mean,
    std and edge) exceed the machine's memory."""
    ell = len(names)
    require_memory(32 * segments * (2 * ell + len(edges)), f"{segments} segments x {ell} latents and "
                                                           f"{len(edges)} edges (the model's tables)")
    mean, std = rng.uniform(-2, 2, (ell, segments)), rng.uniform(0.1, 2, (ell, segments))
    parameters = {}
    for j, i in edges:
        if (j, i) in invariant:
            lam = np.full(segments, rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 1))
        else:
            lam = rng.choice([-1.0, 1.0], segments) * rng.uniform(0.2, 1, segments)
            lam[list(references)] = 0.0
        parameters[f"lam_{names[j]}_{names[i]}"] = _numbers(lam)
    mechanisms = {}
    for i in sorted({i for _, i in edges}):
        parents = [j for j, c in edges if c == i]
        units = []
        for _ in range(hidden):
            a, b = _scaled(_signed(rng, 0.5, 1.5), strength), round(float(rng.uniform(-0.5, 0.5)), 4)
            inner = " + ".join(f"{_scaled(_signed(rng, 0.5, 1.0), gain)}*lam_{names[j]}_{names[i]}*{names[j]}"
                               for j in parents)
            units.append(f"{a}*tanh({inner} + {b})")
        mechanisms[names[i]] = " + ".join(units).replace("+ -", "- ")
    noise = {name: {"mean": _numbers(mean[k]), "std": _numbers(std[k])} for k, name in enumerate(names)}
    return {"environments": {"segments": segments}, "parameters": parameters,
            "noise": {"family": "gaussian", "params": noise}, "mechanisms": mechanisms}


def _signed(rng: np.random.Generator, low: float, high: float) -> float:
    return round(float(rng.choice([-1.0, 1.0]) * rng.uniform(low, high)), 4)


def _numbers(values: np.ndarray) -> list[float]:
    """Plain Python floats (YAML-safe), rounded to 4 decimals to keep the spec readable."""
    return [round(float(v), 4) for v in values]


def _spec(name: str, description: str, model: dict[str, Any], ell: int) -> dict[str, Any]:
    return {"identcheck": 1, "name": name, "description": description, "latents": _names(ell), **model,
            "mixing": {"kind": "mlp", "observed_dim": ell, "layers": 3},
            "observation_noise": {"family": "gaussian", "scale": 0.01}}


# -- fMRI ---------------------------------------------------------------------------------------------
def fmri(path: str | Path, *, days_per_segment: int = 1, standardize: bool = True,
         observed_dim: int | None = None, layers: int = 3, noise_scale: float = 0.01,
         edges: Iterable[tuple[str, str]] = (), seed: int = 0) -> Dataset:
    """The semi-synthetic fMRI setting: a table (one row per day, one column per region; CSV or TSV,
    header optional, blank lines and `#` comments skipped) gives the latents z; consecutive groups of
    `days_per_segment` days form the segments u; x = f(z) + ε with a random injective MLP f
    (`observed_dim`, default ℓ; `layers`) and Gaussian ε of std `noise_scale`.

    z is z-scored per region by default: identifiability is up to scale and offset anyway, and the MLP
    (without biases) needs centred inputs to be non-linear on the data. No data ship with identcheck, and
    the true graph is unknown: `edges` (pairs of column names) fills `adjacency` when the user knows one.
    The noise n is unknown (None) and `scm` is None. DataError for a missing, ragged, non-numeric or NaN
    table, or a bad argument (a noise_scale so large that x overflows among them).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "days.csv")
    >>> _ = open(path, "w").write("CA1,CA3\\n0.1,0.5\\n0.3,0.2\\n-0.2,0.9\\n0.4,0.1\\n")
    >>> data = fmri(path, days_per_segment=2)
    >>> data.latents, data.u.tolist(), data.x.shape
    (('CA1', 'CA3'), [0, 0, 1, 1], (4, 2))
    """
    group = require_integer(days_per_segment, "days_per_segment", 1)
    names, table = read_table(path)
    ell = len(names)
    dim = ell if observed_dim is None else require_integer(observed_dim, "observed_dim", 1)
    if dim < ell:
        raise DataError(f"observed_dim {dim} < {ell} regions: the mixing cannot be injective")
    if isinstance(noise_scale, bool) or not isinstance(noise_scale, (int, float)) or not 0 <= noise_scale < np.inf:
        raise DataError(f"noise_scale must be a finite number >= 0, got {noise_scale!r}")
    z = _zscore(table, path) if standardize else table
    mixing_seed, noise_seed = np.random.SeedSequence(require_seed(seed, "seed", DataError)).spawn(2)
    mixing = random_mlp(np.random.default_rng(mixing_seed), ell, dim, require_integer(layers, "layers", 1))
    with np.errstate(all="ignore"):
        x = mixing(z) + observation_family("gaussian").sample(np.random.default_rng(noise_seed), noise_scale,
                                                                (len(z), dim))
    if not np.all(np.isfinite(x)):
        raise DataError(f"noise_scale = {noise_scale:g} makes x non-finite (overflow): give a smaller noise_scale")
    u = np.arange(len(z)) // group
    adjacency = np.zeros((ell, ell), dtype=bool)
    for edge in edges:
        if not (isinstance(edge, (tuple, list)) and len(edge) == 2 and all(e in names for e in edge)):
            raise DataError(f"edge {edge!r} must be a pair of column names among {', '.join(names)}")
        if edge[0] == edge[1]:
            raise DataError(f"edge {edge!r} is a self-loop: the true graph is a DAG")
        adjacency[names.index(edge[0]), names.index(edge[1])] = True
    _require_acyclic(adjacency, names)
    segments = int(u[-1]) + 1
    return Dataset(x=x, u=u, z=z, n=None, latents=tuple(names), env_values=np.zeros((segments, 0)),
                   env_labels=tuple(range(segments)), adjacency=adjacency, scm=None, seed=int(seed),
                   name=Path(path).stem, mixing_params=mixing.weights)


def _require_acyclic(adjacency: np.ndarray, names: Sequence[str]) -> None:
    """DataError naming a cycle of ``adjacency`` (A[j, i] for z_j -> z_i), as a spec's cycle is named."""
    import networkx as nx

    graph = nx.DiGraph([(names[j], names[i]) for j, i in zip(*np.nonzero(adjacency))])
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    raise DataError(f"the edges form a cycle: {' -> '.join([cycle[0][0], *(child for _, child in cycle)])}; "
                    "the true graph is a DAG")


def read_table(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Read a numeric CSV/TSV table (header optional) into column names and a (rows, cols) float array.

    The delimiter is a tab when the first data line has one, else a comma. A first row with no numeric
    cell is a header; its names are made identifiers (other characters become "_"); without a header the
    columns are z1..zk.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.tsv")
    >>> _ = open(path, "w").write("1\\t2\\n3\\t4\\n")
    >>> read_table(path)
    (['z1', 'z2'], array([[1., 2.],
           [3., 4.]]))
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the file ({type(exc).__name__})") from None
    lines = [(k + 1, line) for k, line in enumerate(text.splitlines())
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise DataError(f"{path}: the table is empty")
    delimiter = "\t" if "\t" in lines[0][1] else ","
    rows = [(k, [cell.strip() for cell in next(csv.reader(io.StringIO(line), delimiter=delimiter))])
            for k, line in lines]
    first = rows[0][1]
    header = not any(_is_number(cell) for cell in first)
    names = _identifiers(first, path) if header else [f"z{k + 1}" for k in range(len(first))]
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{path}: the table has a header but no data rows")
    values = np.empty((len(body), len(names)))
    for r, (line, cells) in enumerate(body):
        if len(cells) != len(names):
            raise DataError(f"{path}: line {line} has {len(cells)} values, expected {len(names)}")
        for c, cell in enumerate(cells):
            if not _is_number(cell):
                raise DataError(f"{path}: line {line}, column {c + 1}: {cell!r} is not a number")
            values[r, c] = float(cell)
    bad = ~np.isfinite(values)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{path}: line {body[r][0]}, column {c + 1}: value is NaN or infinite")
    return names, values


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _identifiers(cells: list[str], path: Path) -> list[str]:
    names = []
    for cell in cells:
        name = re.sub(r"\W", "_", cell) or "column"
        names.append(name if name.isidentifier() else f"r_{name}")
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise DataError(f"{path}: duplicate column name {sorted(duplicates)[0]!r} in the header")
    return names


def _zscore(table: np.ndarray, path: str | Path) -> np.ndarray:
    # z-scores do not change when a column is divided by its largest magnitude first, which keeps the
    # variance of values near 1e308 from overflowing
    magnitude = np.abs(table).max(axis=0)
    scaled = table / np.where(magnitude > 0, magnitude, 1.0)
    std = scaled.std(axis=0)
    if np.any(std == 0):
        raise DataError(f"{path}: column {int(np.argmin(std)) + 1} is constant and cannot be standardised")
    return (scaled - scaled.mean(axis=0)) / std
