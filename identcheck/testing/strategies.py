"""Hypothesis strategies for latent causal models whose identifiability is KNOWN by construction.

Every strategy fixes the theory's answer while it builds the model, so a property test can compare the
checker with a ground truth that never came from the checker:

- `dags` draws a DAG over z1..zk whose edges go from lower to higher index (spec order is causal order);
- `environment_designs` draws the observed environments: scalar u values (possibly with a declared
  ``domain``), one-hot segments, or (opt-in, kind "vector") points u = (u1, u2, ...);
- `coefficients` draws the u-dependence c(u) of one causal influence with a chosen set of zeros: observed
  environments, and for a scalar u with a declared domain also unobserved points of the domain
  (`Unobserved` keys: extrapolated zeros, SPEC §2 "Must u' be observed?", catalogue C13_extrapolated);
  a vector c(u) vanishes exactly at chosen observed points (lines, hyperbolas, C13b_vector);
- `mechanisms` draws g_i of one node; where ∂g_i/∂z_j vanishes identically in the parents (SPEC §2 (iv-a))
  is known for every parent z_j;
- `noise_tables` draws the noise parameters of every environment with a known rank of L (SPEC §2 (iii));
- `scms` assembles them into an `SCM` (built through `identcheck.spec.from_dict`) with the per-node verdicts
  of the SPEC §5.6 rule (`expected_verdicts`) and the nodes whose verdict rests on an unobserved zero
  (`extrapolated_nodes`), both computed from the construction.

All draws shrink toward the simplest model: fewer nodes, no edges, the first environments, no domain, the
first form of every choice (a plain switch ``(u - a)*z_j``, no intercept, no hidden zero).

>>> from hypothesis import find
>>> sorted(find(dags(min_nodes=2, max_nodes=4), lambda g: g.number_of_edges() > 0).edges)
[('z1', 'z2')]
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Literal, Mapping, Sequence

import networkx as nx
import numpy as np
import yaml
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..families import LATENT_FAMILIES
from ..scm import SCM
from ..spec import from_dict

__all__ = [
    "VERDICTS",
    "FORMS",
    "SIMPLE_FORMS",
    "INFLUENCES",
    "NOISE_FAMILIES",
    "ENVIRONMENT_KINDS",
    "VARIABILITY",
    "EnvironmentDesign",
    "Unobserved",
    "Coefficient",
    "Mechanism",
    "NoiseDesign",
    "GeneratedSCM",
    "expected_verdicts",
    "extrapolated_nodes",
    "dags",
    "environment_designs",
    "coefficients",
    "mechanisms",
    "noise_tables",
    "scms",
]

#: Per-node verdicts of CONTRACT §2 that a generated model can have (never "undecided": every zero built
#: here is decidable).
VERDICTS = ("identifiable", "unidentifiable", "contested", "no_guarantee")

#: Functions h(z_j) through which a parent acts; their derivatives 1, sech², cos, 3z² are pairwise not
#: proportional and vanish on no open set, so c(u)·h'(z_j) ≡ 0 exactly when c(u) = 0.
FORMS = ("{z}", "tanh({z})", "sin({z})", "{z}**3")
#: Forms that keep simulated data tame (bounded growth), for learner properties.
SIMPLE_FORMS = ("{z}", "tanh({z})")

#: How a parent may act on its child (see `mechanisms`).
INFLUENCES = ("shared", "own", "invariant", "wiggle", "product")
#: Kinds of environment design (see `environment_designs`).
ENVIRONMENT_KINDS = ("scalar", "segments", "vector")
#: What `scms` and `noise_tables` may ask of assumption (iii).
VARIABILITY = ("sufficient", "insufficient", "any")

# Observed u values (and coordinates of a vector u); the first entries are 0, 1, 2, ... so shrinking gives
# consecutive integers. All values here and below are dyadic, so sums and products of them are exact.
_U_GRID = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, -1, 0.5, 1.5, 2.5, -0.5, -2, 3.5)
# Roots placed off the grid. Without a declared domain (the observed values alone) a zero there does not count
# (C13b); inside a declared domain it is an extrapolated zero (C13_extrapolated), outside it does not count.
_OFF_GRID = (0.25, -0.75, 1.25, 20.25)
# How far a declared domain reaches below the smallest and above the largest observed u.
_MARGINS = (0, 1, 0.5, 2)
# Zero sets of a vector coefficient through an observed point a: (u_k - a_k), u1 + u2 = a1 + a2,
# u1*u2 = a1*a2; the fallback "point" (sum of squares) vanishes at a alone.
_VECTOR_SHAPES = ("axis", "line", "hyperbola")
_SCALES = (1, 2, 0.5, -1, 1.5, -0.7)
_NONZERO = (1, 0.5, -0.8, 1.2, 2, -1.5)

# Exact noise designs. Per family: a grid of eta_1 values, a grid of the parameter that alone sets eta_2
# (Gaussian std, Gamma rate, inverse-Gamma scale, Beta b), and the map to the user-facing parameters. All
# grid values are dyadic (exact in binary and in decimal), so every relation a design builds between natural
# parameters holds exactly for the numbers in the spec, whether a checker reads them as floats or rationals.
_ETA1_GRID: dict[str, tuple[float, ...]] = {
    "gaussian": (0.0, 0.25, -0.25, 0.5, -0.5, 0.75, -0.75, 1.0),
    "gamma": (1.0, 1.5, 0.5, 2.0, 0.25, 2.5, 3.0),
    "inverse_gamma": (-3.0, -3.5, -2.5, -4.0, -2.0, -4.5),
    "beta": (1.0, 1.5, 0.5, 2.0, 2.5, 3.0),
}
_SECOND_GRID: dict[str, tuple[float, ...]] = {
    "gaussian": (1.0, 0.75, 1.25, 0.5, 1.5, 0.875, 1.125, 0.625),
    "gamma": (1.0, 1.5, 0.5, 2.0, 2.5, 0.75),
    "inverse_gamma": (1.0, 1.5, 0.5, 2.0, 2.5, 0.75),
    "beta": (2.0, 1.5, 2.5, 3.0, 1.25, 3.5),
}
_PARAMS: dict[str, Callable[[float, float], dict[str, float]]] = {
    "gaussian": lambda eta1, std: {"mean": eta1 * std * std, "std": std},
    "gamma": lambda eta1, rate: {"shape": eta1 + 1, "rate": rate},
    "inverse_gamma": lambda eta1, scale: {"shape": -eta1 - 1, "scale": scale},
    "beta": lambda eta1, b: {"a": eta1 + 1, "b": b},
}
#: Families `noise_tables` can design exactly.
NOISE_FAMILIES = tuple(_PARAMS)


def _require(condition: bool, message: str) -> None:
    """Raise Hypothesis's `InvalidArgument` with ``message`` unless ``condition`` holds (a strategy's
    arguments are checked when it is first drawn from, as Hypothesis's own strategies do)."""
    if not condition:
        raise InvalidArgument(message)


def _require_count(name: str, value: object, minimum: int) -> None:
    """``value`` must be an integer (not a bool) of at least ``minimum``."""
    _require(isinstance(value, (int, np.integer)) and not isinstance(value, bool) and bool(value >= minimum),
             f"{name} must be an integer >= {minimum}, got {value!r}")


def _require_choices(name: str, values: object, allowed: Sequence[str]) -> None:
    """``values`` must be a non-empty sequence (not a string) drawn from ``allowed``."""
    if not isinstance(values, Sequence) or isinstance(values, str) or not values:
        raise InvalidArgument(f"{name} must be a non-empty sequence of {', '.join(map(repr, allowed))}; got {values!r}")
    unknown = [v for v in values if v not in allowed]
    _require(not unknown, f"{name}: unknown {', '.join(map(repr, unknown))} (known: {', '.join(allowed)})")


def _num(value: float) -> str:
    """A number as spec text: integers without a decimal point."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _shift(symbol: str, value: float) -> str:
    """The factor (u - a) as readable text (``symbol`` may be a product such as u1*u2, not a sum)."""
    if value == 0:
        return symbol
    return f"({symbol} - {_num(value)})" if value > 0 else f"({symbol} + {_num(-value)})"


def _plain(value: float) -> int | float:
    """A number for a spec: integers as int."""
    return int(value) if float(value).is_integer() else float(value)


@dataclass(frozen=True, order=True)
class Unobserved:
    """Key of an unobserved point u* of the declared domain in a zero set.

    Zero sets (`Coefficient.zeros`, `Mechanism.zeros`, `GeneratedSCM.edge_zeros`) hold the index m of each
    observed environment where an influence vanishes, and ``Unobserved(u*)`` for each zero of a formula in a
    scalar u that lies inside the declared domain at no observed value: an extrapolated zero, which counts for
    (iv) like an observed one (SPEC §2 "Must u' be observed?", §7 item 2). Two influences share a reference
    exactly when their sets share a key, observed or not.

    >>> frozenset({0, Unobserved(0.25)}) & frozenset({Unobserved(0.25)})
    frozenset({Unobserved(0.25)})
    """

    u: float

    def __repr__(self) -> str:
        return f"Unobserved({_num(self.u)})"


def _order(key: int | Unobserved) -> tuple[int, float]:
    """Sort key of a zero-set entry: observed indices first, then unobserved points by value."""
    return (0, key) if isinstance(key, int) else (1, key.u)


def _observed(zeros: frozenset) -> frozenset[int]:
    """The observed environment indices of a zero set."""
    return frozenset(k for k in zeros if isinstance(k, int))


# ---------------------------------------------------------------------------------------------------
# Ground truth


def expected_verdicts(graph: nx.DiGraph, edge_zeros: Mapping[tuple[str, str], frozenset[int]], *,
                      assumptions_hold: bool = True) -> dict[str, str]:
    """Per-node verdicts of the SPEC §5.6 rule from the zero sets of the causal influences.

    ``edge_zeros[(j, i)]`` is where ∂g_i/∂z_j ≡ 0 in the parents: the indices of observed environments, and
    an `Unobserved` key for each zero inside the declared domain at no observed u (an extrapolated zero counts
    like an observed one, SPEC §2 "Must u' be observed?"; the same key in two sets is one common reference).
    In causal order: a root is identifiable; a node whose influences share a zero (iv-N) is identifiable; a
    node with an influence that never vanishes is unidentifiable (Theorem 2.5b); a node whose influences
    vanish at different points is identifiable when all its parents are (the Step III induction), contested
    otherwise (C9). When (i), (ii) or (iii) fails every node has no guarantee (SPEC §3, subtle point 1).

    >>> g = nx.DiGraph([("z1", "z2"), ("z1", "z3"), ("z2", "z3")])
    >>> expected_verdicts(g, {("z1", "z2"): frozenset(), ("z2", "z3"): frozenset({0}),
    ...                       ("z1", "z3"): frozenset({1})})          # catalogue C9
    {'z1': 'identifiable', 'z2': 'unidentifiable', 'z3': 'contested'}
    >>> expected_verdicts(g, {("z1", "z2"): frozenset({Unobserved(0.6)}), ("z2", "z3"): frozenset({0}),
    ...                       ("z1", "z3"): frozenset({1})})          # z2 as in C13_extrapolated
    {'z1': 'identifiable', 'z2': 'identifiable', 'z3': 'identifiable'}
    """
    if not assumptions_hold:
        return {node: "no_guarantee" for node in graph}
    rank = {node: k for k, node in enumerate(graph)}
    verdicts: dict[str, str] = {}
    for node in nx.lexicographical_topological_sort(graph, key=rank.__getitem__):
        zero_sets = [edge_zeros[(parent, node)] for parent in graph.predecessors(node)]
        if not zero_sets or frozenset.intersection(*zero_sets):
            verdicts[node] = "identifiable"
        elif not all(zero_sets):
            verdicts[node] = "unidentifiable"
        elif all(verdicts[parent] == "identifiable" for parent in graph.predecessors(node)):
            verdicts[node] = "identifiable"
        else:
            verdicts[node] = "contested"
    return {node: verdicts[node] for node in graph}


def extrapolated_nodes(graph: nx.DiGraph, edge_zeros: Mapping[tuple[str, str], frozenset],
                       verdicts: Mapping[str, str]) -> frozenset[str]:
    """The identifiable nodes whose verdict rests on a zero that no environment observes (flagged
    *extrapolated*, SPEC §2 "Must u' be observed?"; §7 item 2).

    A verdict rests on an unobserved zero when the same rule with the `Unobserved` keys dropped from every
    zero set (only the observed environments) would not call the node identifiable: its only common reference
    is unobserved, or an edge vanishes only off the observed environments, or the Step III induction needs a
    parent that is itself identifiable only by extrapolation. ``verdicts`` are the node verdicts (from
    `expected_verdicts`); a node without the verdict "identifiable" is never flagged.

    >>> g = nx.DiGraph([("z1", "z2"), ("z1", "z3"), ("z2", "z3")])
    >>> zeros = {("z1", "z2"): frozenset({Unobserved(0.6)}), ("z2", "z3"): frozenset({0}),
    ...          ("z1", "z3"): frozenset({1})}
    >>> sorted(extrapolated_nodes(g, zeros, expected_verdicts(g, zeros)))
    ['z2', 'z3']
    """
    observed_only = expected_verdicts(graph, {edge: _observed(zeros) for edge, zeros in edge_zeros.items()})
    return frozenset(node for node in graph
                     if verdicts[node] == "identifiable" and observed_only[node] != "identifiable")


# ---------------------------------------------------------------------------------------------------
# Graphs and environments


def _capacity(count: int, max_parents: int) -> int:
    """The most edges a DAG over ``count`` ordered nodes with at most ``max_parents`` parents each can have."""
    return sum(min(max_parents, k) for k in range(count))


@st.composite
def dags(draw: st.DrawFn, min_nodes: int = 1, max_nodes: int = 4, max_parents: int = 2,
         min_edges: int = 0) -> nx.DiGraph:
    """A DAG over ``z1..zk`` (min_nodes <= k <= max_nodes) with at most ``max_parents`` parents per node and
    at least ``min_edges`` edges.

    Edges only go from a lower to a higher index, so the spec order is a causal order; shrinking removes
    nodes and edges. Left free, about half the draws have no edge at all (Hypothesis favours short lists):
    a property about edges asks for ``min_edges=1``.

    >>> from hypothesis import find
    >>> find(dags(max_nodes=3), lambda g: any(g.in_degree(n) == 2 for n in g)).edges
    OutEdgeView([('z1', 'z3'), ('z2', 'z3')])
    >>> find(dags(min_edges=1), lambda g: True).edges
    OutEdgeView([('z1', 'z2')])
    """
    _require_count("min_nodes", min_nodes, 0)
    _require_count("max_parents", max_parents, 0)
    _require_count("min_edges", min_edges, 0)
    _require(_capacity(max_nodes, max_parents) >= min_edges,
             f"min_edges={min_edges} is more than {max_nodes} nodes with at most {max_parents} parents can have")
    smallest = next(k for k in range(min_nodes, max_nodes + 1) if _capacity(k, max_parents) >= min_edges)
    count = draw(st.integers(smallest, max_nodes))
    names = [f"z{k + 1}" for k in range(count)]
    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    for k, child in enumerate(names[1:], start=1):
        room = min(max_parents, k)
        # at least what the later nodes cannot hold of the edges still missing
        later = _capacity(count, max_parents) - _capacity(k + 1, max_parents)
        least = max(0, min_edges - graph.number_of_edges() - later)
        parents = draw(st.lists(st.sampled_from(names[:k]), unique=True, min_size=min(least, room), max_size=room))
        graph.add_edges_from((parent, child) for parent in sorted(parents, key=names.index))
    return graph


@dataclass(frozen=True)
class EnvironmentDesign:
    """The observed environments: scalar u values, ``count`` one-hot segments (values 0..E-1), or vector u
    values (``values`` a tuple of equal-length tuples; symbols u1, u2, ...). ``domain``: the declared
    interval [low, high] of a scalar u (None: the observed values alone, SPEC §2).

    >>> env = EnvironmentDesign("scalar", (0, 1, 2), domain=(0, 3))
    >>> env.spec(), env.unobserved_points(), env.zero_key(1), env.zero_key(0.25), env.zero_key(-1)
    ({'values': [0, 1, 2], 'domain': [0, 3]}, (0.5, 1.5, 3), 1, Unobserved(0.25), None)
    """

    kind: Literal["scalar", "segments", "vector"]
    values: tuple[Any, ...]
    domain: tuple[float, float] | None = None

    @property
    def count(self) -> int:
        """Number of observed environments E."""
        return len(self.values)

    @property
    def width(self) -> int:
        """Number of components of u (1 for a scalar u, 0 for segments)."""
        return len(self.values[0]) if self.kind == "vector" else int(self.kind == "scalar")

    @property
    def consecutive(self) -> bool:
        """True for scalar u = 0, 1, ..., E-1 (where the catalogue noise table NT_ℓ has a known rank)."""
        return self.kind == "scalar" and self.values == tuple(range(self.count))

    def spec(self) -> dict[str, Any]:
        """The ``environments`` entry of a spec."""
        if self.kind == "segments":
            return {"segments": self.count}
        if self.kind == "vector":
            return {"values": [[_plain(v) for v in point] for point in self.values]}
        out: dict[str, Any] = {"values": [_plain(v) for v in self.values]}
        if self.domain is not None:
            out["domain"] = [_plain(v) for v in self.domain]
        return out

    def zero_key(self, root: float) -> int | Unobserved | None:
        """How a root u* of a formula in a scalar u counts for (iv) (SPEC §2 "Must u' be observed?"): the
        index of the observed environment at u*, an `Unobserved` key when u* lies in the declared domain but is
        not observed (an extrapolated zero), None when it lies outside the domain (it does not count)."""
        if self.kind != "scalar":
            raise ValueError(f"roots of a formula in u are graded for a scalar u only, not {self.kind}")
        if root in self.values:
            return self.values.index(root)
        if self.domain is not None and self.domain[0] <= root <= self.domain[1]:
            return Unobserved(root)
        return None

    def unobserved_points(self) -> tuple[float, ...]:
        """Points of the declared domain that no environment observes, where an extrapolated reference can
        be put: the midpoints between neighbouring observed values, then the ends of the domain when they
        are not observed (dyadic when the values are). Empty without a domain."""
        if self.kind != "scalar" or self.domain is None:
            return ()
        ordered = sorted(set(self.values))
        middles = [(a + b) / 2 for a, b in zip(ordered, ordered[1:])]
        ends = [v for v in self.domain if v not in self.values]
        return tuple(_plain(v) for v in middles + ends)


@st.composite
def environment_designs(draw: st.DrawFn, min_envs: int = 1, max_envs: int = 9,
                        kinds: Sequence[str] = ("scalar", "segments"), *, domains: bool | None = False,
                        widths: Sequence[int] = (2, 3)) -> EnvironmentDesign:
    """Observed environments: distinct scalar u values from a grid of integers and halves (shrinking to
    0, 1, ..., E-1), one-hot segments, or (kind "vector", opt-in) distinct points u = (u1, .., um) with m
    from ``widths`` and coordinates from the same grid. A scalar design may declare a domain [low, high]
    reaching a margin of 0 to 2 beyond the observed values (where the checker must look for unobserved zeros,
    which costs time, hence opt-in): never with ``domains`` False (the default), always with True, and by a
    draw with None (drawn last: shrinking drops it).

    >>> from hypothesis import find
    >>> find(environment_designs(min_envs=3, kinds=("scalar",), domains=None), lambda e: True)
    EnvironmentDesign(kind='scalar', values=(0, 1, 2), domain=None)
    >>> find(environment_designs(min_envs=2, kinds=("vector",)), lambda e: True).spec()
    {'values': [[0, 0], [0, 1]]}
    """
    _require_count("min_envs", min_envs, 1)
    _require_choices("kinds", kinds, ENVIRONMENT_KINDS)
    _require(domains in (True, False, None), f"domains must be True, False or None, got {domains!r}")
    if "vector" in kinds:
        _require(isinstance(widths, Sequence) and len(widths) > 0,
                 f"widths must be a non-empty sequence, got {widths!r}")
        for width in widths:
            _require_count("each of widths", width, 1)
    kind = draw(st.sampled_from(tuple(kinds)))
    count = draw(st.integers(min_envs, max_envs))
    if kind == "segments":
        return EnvironmentDesign("segments", tuple(range(count)))
    if kind == "vector":
        width = draw(st.sampled_from(tuple(widths)))
        point = st.tuples(*[st.sampled_from(_U_GRID)] * width)
        return EnvironmentDesign("vector", tuple(draw(st.lists(point, min_size=count, max_size=count, unique=True))))
    values = tuple(draw(st.lists(st.sampled_from(_U_GRID), min_size=count, max_size=count, unique=True)))
    domain = None
    if domains or (domains is None and draw(st.booleans())):
        low = min(values) - draw(st.sampled_from(_MARGINS))
        high = max(values) + draw(st.sampled_from(_MARGINS))
        domain = (_plain(low), _plain(high if high > low else low + 1))  # a domain is an interval, low < high
    return EnvironmentDesign("scalar", values, domain)


# ---------------------------------------------------------------------------------------------------
# Mechanisms


@dataclass(frozen=True)
class Coefficient:
    """A u-dependent coefficient c(u) as spec text; ``zeros`` is its zero set as (iv) counts it: the observed
    environments where c = 0, and an `Unobserved` key for each zero in the declared domain at no observed u."""

    text: str
    zeros: frozenset
    parameters: Mapping[str, tuple[float, ...]]


def _vector_factor(shape: str, point: Sequence[float],
                   axis: int = 0) -> tuple[str, Callable[[Sequence[Fraction]], Fraction]]:
    """A factor of a vector coefficient that vanishes at ``point``, as text and as an exact function of a point
    with Fraction coordinates (``shape`` from `_VECTOR_SHAPES`, or "point": a sum of squares)."""
    a = [Fraction(v) for v in point]
    if shape == "axis":
        return _shift(f"u{axis + 1}", float(a[axis])), lambda q: q[axis] - a[axis]
    if shape == "line":
        total = a[0] + a[1]
        text = f"(u1 + u2 - {_num(float(total))})" if total > 0 else (
            f"(u1 + u2 + {_num(float(-total))})" if total < 0 else "(u1 + u2)")
        return text, lambda q: q[0] + q[1] - total
    if shape == "hyperbola":
        product = a[0] * a[1]
        return _shift("u1*u2", float(product)), lambda q: q[0] * q[1] - product
    squares = " + ".join(f"{_shift(f'u{k + 1}', float(v))}**2" for k, v in enumerate(a))
    return f"({squares})", lambda q: sum((x - v) ** 2 for x, v in zip(q, a))


@st.composite
def _vector_formula(draw: st.DrawFn, env: EnvironmentDesign, zeros: frozenset[int]) -> str:
    """A product of factors of u = (u1, u2, ..) that vanishes at exactly the observed points ``zeros``.

    Each zero point a gets a drawn factor ((u_k - a_k), a line or a hyperbola through a); a factor that would
    also vanish at an observed point outside ``zeros`` (checked exactly with Fractions) is replaced by the sum
    of squares, zero at a alone. Without zeros: a constant, 1 + |u|², or a line or hyperbola that misses every
    observed point (a zero set that does not count: no domain is declared for a vector u)."""
    points = [tuple(Fraction(v) for v in point) for point in env.values]
    elsewhere = [q for m, q in enumerate(points) if m not in zeros]
    factors = []
    for m in sorted(zeros):
        shape = draw(st.sampled_from(_VECTOR_SHAPES))
        axis = draw(st.integers(0, env.width - 1))  # drawn for every shape, so that (u1 - a1) shrinks first
        text, value = _vector_factor(shape, env.values[m], axis)
        if any(value(q) == 0 for q in elsewhere):
            text, value = _vector_factor("point", env.values[m])
        factors.append(text)
    if factors:
        return "*".join(factors)
    shape = draw(st.sampled_from(("constant", "positive", "outside")))
    if shape == "outside":
        off = draw(st.sampled_from(_OFF_GRID))
        line = draw(st.sampled_from(("axis", "hyperbola")))
        text, value = _vector_factor(line, (off, 1), 0)  # u1 = off, or u1*u2 = off
        if not any(value(q) == 0 for q in points):
            return text
        shape = "positive"
    if shape == "positive":
        return "(1 + " + " + ".join(f"u{k + 1}**2" for k in range(env.width)) + ")"
    return "1"


@st.composite
def coefficients(draw: st.DrawFn, env: EnvironmentDesign, zeros: frozenset, *, name: str = "c",
                 hidden_zeros: bool = True) -> Coefficient:
    """A coefficient c(u) that vanishes at exactly the observed environments in ``zeros`` (and is non-zero at
    every other observed environment, so (iv-b) holds whenever ``zeros`` leaves one out), and at the
    unobserved points u* of the declared domain given as ``Unobserved(u*)`` keys (scalar u only).

    Scalar u: a formula ``k*(u - a)*(u - b)`` through the zeros, or, without zeros, a constant, ``k*(1 + u**2)``
    or ``k*(u - b)`` with b off the observed values: no zero without a declared domain (C13b), an extrapolated
    zero when the domain contains b (C13_extrapolated; then ``zeros`` of the result holds ``Unobserved(b)``),
    none when it does not (C13b); or, without `Unobserved` keys, a per-environment table named ``name`` (the
    only option for segments: C12a-c; tables never give extrapolated zeros). Vector u: a product with one
    factor per zero point a, ``(u_k - a_k)``, the line u1 + u2 = a1 + a2 or the hyperbola u1*u2 = a1*a2
    (C13b_vector), replaced by the sum of squares Σ(u_k − a_k)² where it would also vanish at an observed point
    outside ``zeros`` (checked in exact arithmetic); without zeros a constant, 1 + |u|², or a line or hyperbola
    through no observed point; or a table. With ``hidden_zeros`` a formula may carry a term that is
    identically zero, ``sin(u)**2 + cos(u)**2 - 1``, or a factor equal to 1.

    >>> from hypothesis import find
    >>> find(coefficients(EnvironmentDesign("scalar", (0, 1, 2)), frozenset({1})), lambda c: True).text
    '(u - 1)'
    >>> env = EnvironmentDesign("scalar", (0, 1, 2), domain=(0, 2))
    >>> find(coefficients(env, frozenset({Unobserved(0.5)})), lambda c: True).text
    '(u - 0.5)'
    >>> find(coefficients(EnvironmentDesign("vector", ((0, 0), (2, 0.5))), frozenset({1})),
    ...      lambda c: "u1*u2" in c.text).text
    '(u1*u2 - 1)'
    """
    observed = _observed(zeros)
    unobserved = sorted(k.u for k in zeros if not isinstance(k, int))
    if len(observed) >= env.count and env.count:
        raise ValueError("a coefficient must be non-zero in at least one observed environment")
    if unobserved and (env.kind != "scalar" or any(env.zero_key(u) != Unobserved(u) for u in unobserved)):
        raise ValueError(f"unobserved zeros {unobserved} must lie in the declared domain of a scalar u, off the "
                         f"observed values")
    use_table = env.kind == "segments" or (not unobserved and draw(st.booleans()))
    if use_table:
        entries = [0.0 if m in zeros else float(draw(st.sampled_from(_NONZERO))) for m in range(env.count)]
        return Coefficient(name, frozenset(zeros), {name: tuple(entries)})
    scale = draw(st.sampled_from(_SCALES))
    prefix = "" if scale == 1 else f"{_num(scale)}*"
    found = frozenset(zeros)
    if env.kind == "vector":
        text = draw(_vector_formula(env, observed))
        text = _num(scale) if text == "1" else prefix + text
    elif zeros:
        text = prefix + "*".join(_shift("u", r) for r in [env.values[m] for m in sorted(observed)] + unobserved)
    else:
        shape = draw(st.sampled_from(("constant", "positive", "outside")))
        roots = [b for b in _OFF_GRID if b not in env.values]
        if shape == "constant":
            text = _num(scale)
        elif shape == "positive" or not roots:
            text = f"{prefix}(1 + u**2)"
        else:
            root = draw(st.sampled_from(roots))
            text = prefix + _shift("u", root)
            key = env.zero_key(root)  # inside a declared domain: an extrapolated zero (SPEC §2)
            found = frozenset() if key is None else frozenset({key})
    if hidden_zeros:
        u = "u1" if env.kind == "vector" else "u"
        disguise = draw(st.sampled_from((None, f"{{c}}*(sin({u})**2 + cos({u})**2)",
                                         f"({{c}} + sin({u})**2 + cos({u})**2 - 1)")))
        if disguise is not None:
            text = disguise.format(c=f"({text})")
    return Coefficient(text, found, {})


@dataclass(frozen=True)
class Mechanism:
    """g_i of one node as spec text, with the known zero set of each influence ∂g_i/∂z_j.

    ``zeros[j]``: where ∂g_i/∂z_j ≡ 0 in the parents: observed environment indices, and `Unobserved` keys for
    zeros in the declared domain at no observed u; ``kinds[j]``: how the influence was built (shared, own,
    invariant, wiggle or product); ``parameters``: the per-environment tables that ``text`` uses.
    """

    child: str
    text: str | None
    zeros: Mapping[str, frozenset]
    kinds: Mapping[str, str]
    parameters: Mapping[str, tuple[float, ...]]


_INTERCEPTS = ("3", "cos(u)", "0.5*u", "u**2")
_VECTOR_INTERCEPTS = ("3", "cos(u1)", "0.5*u2", "u1*u2")


def _reference(draw: st.DrawFn, env: EnvironmentDesign) -> int | Unobserved:
    """A reference point for a zero: an observed environment, or (drawn after it, so shrinking drops it) an
    unobserved point of the declared domain."""
    at = draw(st.integers(0, env.count - 1))
    points = env.unobserved_points()
    if bool(points) and draw(st.booleans()):
        return Unobserved(draw(st.sampled_from(points)))
    return at


@st.composite
def mechanisms(draw: st.DrawFn, env: EnvironmentDesign, child: str, parents: Sequence[str], *,
               forms: Sequence[str] = FORMS, influences: Sequence[str] = INFLUENCES, hidden_zeros: bool = True,
               intercepts: bool = True) -> Mechanism:
    """g_i(pa_i, u) for ``child`` with a known zero set for every parent (SPEC §2 (iv-a)).

    Additive form: one term c_j(u)·h_j(z_j) per parent, each of a kind:
    ``shared`` (c_j vanishes at the node's reference: a node-wise common zero, (iv-N)),
    ``own`` (c_j vanishes at a point of its own: edge-wise only, (iv-E)),
    ``invariant`` (c_j never vanishes on the observed environments, like 0.8·z_j in C7; its formula may still
    vanish at an unobserved point of a declared domain, which then counts, C13_extrapolated), or
    ``wiggle`` (k·h(z_j) + c(u)·h'(z_j) with c vanishing at the reference: the derivative never vanishes
    identically, C4). Product form (``product``, two or more parents): c(u)·∏ h_j(z_j), one zero set for all
    parents (C11). With a declared domain the reference (and an own zero) may be an unobserved point of the
    domain, so that every shared influence vanishes at the same unobserved u* (an extrapolated (iv-N)
    reference). ``influences`` restricts the kinds drawn; with one environment only the kinds without a
    zero are possible, since a zero needs another environment where the influence is present (iv-b).
    Decorations that must not change any verdict: a u-only intercept (C5) and, with ``hidden_zeros``, a
    term k·(sin(z_j)**2 + cos(z_j)**2 − 1)·h(z_j) that is identically zero.
    A root gets at most an intercept (``text`` None when it has none).

    >>> from hypothesis import find
    >>> m = find(mechanisms(EnvironmentDesign("scalar", (0, 1, 2)), "z2", ["z1"]), lambda m: True)
    >>> m.text, dict(m.zeros)
    ('u*z1', {'z1': frozenset({0})})
    """
    _require_choices("forms", forms, FORMS)
    _require_choices("influences", influences, INFLUENCES)
    formulas = {"scalar": _INTERCEPTS, "vector": _VECTOR_INTERCEPTS}.get(env.kind)
    intercept, tables = None, {}
    if intercepts and draw(st.booleans()):
        if formulas is None or draw(st.booleans()):
            name = f"b_{child}"
            tables[name] = tuple(float(draw(st.sampled_from(_NONZERO))) for _ in range(env.count))
            intercept = name
        else:
            intercept = draw(st.sampled_from(formulas))
    if not parents:
        return Mechanism(child, intercept, {}, {}, tables)

    count = env.count
    reference = _reference(draw, env)
    can_vanish = count >= 2  # a zero needs another environment where the influence is present (iv-b)
    options = tuple(k for k in influences if k != "product" and (can_vanish or k in ("invariant", "wiggle")))
    if not options:
        options = ("invariant",)
    hs = {p: draw(st.sampled_from(tuple(forms))).format(z=p) for p in parents}

    def coefficient(zeros: frozenset[int | Unobserved], name: str) -> Coefficient:
        return draw(coefficients(env, zeros, name=name, hidden_zeros=hidden_zeros))

    terms, zeros, kinds = [], {}, {}
    if "product" in influences and len(parents) >= 2 and draw(st.booleans()) and draw(st.booleans()):
        node_zeros = frozenset({reference}) if can_vanish and draw(st.booleans()) else frozenset()
        coef = coefficient(node_zeros, f"c_{child}")
        tables.update(coef.parameters)
        terms.append(f"{coef.text}*" + "*".join(hs[p] for p in parents))
        zeros = {p: coef.zeros for p in parents}
        kinds = {p: "product" for p in parents}
    else:
        for parent in parents:
            kind = draw(st.sampled_from(options))
            name = f"c_{parent}_{child}"
            if kind in ("shared", "own"):
                at = reference if kind == "shared" else _reference(draw, env)
                extra = draw(st.integers(0, count - 1)) if count >= 3 and draw(st.booleans()) else at
                edge_zeros = frozenset({at, extra})
                if len(_observed(edge_zeros)) >= count:
                    edge_zeros = frozenset({at})
                coef = coefficient(edge_zeros, name)
                edge_zeros = coef.zeros
                term = f"{coef.text}*{hs[parent]}"
            elif kind == "invariant":
                coef = coefficient(frozenset(), name)
                edge_zeros = coef.zeros  # empty, or an extrapolated zero of an off-grid root in the domain
                term = f"{coef.text}*{hs[parent]}"
            else:
                edge_zeros = frozenset()
                other = next(f for f in FORMS if f.format(z=parent) != hs[parent]).format(z=parent)
                base = draw(st.sampled_from(_NONZERO))
                coef = coefficient(frozenset({reference}) if can_vanish else frozenset(), name)
                term = f"{_num(base)}*{other} + {coef.text}*{hs[parent]}"
            tables.update(coef.parameters)
            terms.append(term)
            zeros[parent], kinds[parent] = edge_zeros, kind
    if hidden_zeros and draw(st.booleans()):
        parent = draw(st.sampled_from(tuple(parents)))
        terms.append(f"{_num(draw(st.sampled_from(_SCALES)))}*(sin({parent})**2 + cos({parent})**2 - 1)*{hs[parent]}")
    if intercept is not None:
        terms.append(intercept)
    return Mechanism(child, " + ".join(terms), zeros, kinds, tables)


# ---------------------------------------------------------------------------------------------------
# Noise


@dataclass(frozen=True)
class NoiseDesign:
    """Noise parameters of every latent (spec ``noise.params``) and the rank of L they give by construction.

    ``design``: ``formula`` (the catalogue table NT_ℓ, SPEC §4), ``axis`` (each of the first 2ℓ environments
    moves one natural parameter), ``drop`` (some natural parameters never move: mean-only or scale-only
    modulation, C15b-c), ``duplicate`` (two components with the same trajectory, C15d) or ``line``
    (all environments on one line in η-space, C15e). (iii) holds iff ``rank == required`` (= 2ℓ).
    """

    family: str
    params: Mapping[str, Mapping[str, Any]]
    rank: int
    required: int
    design: str

    @property
    def holds(self) -> bool:
        """Whether assumption (iii) holds for this table."""
        return self.rank == self.required


def _nt_formulas(latents: Sequence[str]) -> dict[str, dict[str, str]]:
    """NT_ℓ of SPEC §4: mean_i = 1.5 sin(1.7u + 0.9i), std_i = exp(0.6 cos(1.3u + 2.1i))."""
    return {name: {"mean": f"1.5*sin(1.7*u + {_num(round(0.9 * i, 10))})",
                   "std": f"exp(0.6*cos(1.3*u + {_num(round(2.1 * i, 10))}))"}
            for i, name in enumerate(latents, start=1)}


@st.composite
def noise_tables(draw: st.DrawFn, latents: Sequence[str], env: EnvironmentDesign, *, family: str = "gaussian",
                 variability: Literal["sufficient", "insufficient", "any"] = "any") -> NoiseDesign:
    """Noise parameters per environment with a known rank of L = [η(u_m) − η(u_0)] (SPEC §2 (iii)).

    Natural parameters come in rows (η_{i,1}, η_{i,2}) per latent (component-major, SPEC §2); a design says
    which rows move across environments. ``axis``: environment m = 1..r moves row m−1 alone, later
    environments spread the moving rows over the grid; ``drop``: some rows never move (mean-only or scale-only
    modulation, C15b-c); ``duplicate``: one latent repeats another's parameters (C15d); ``line``: every η_1 row
    moves along one direction, the η_2 rows stay (C15e). Rank by construction: ``axis`` min(2ℓ, E−1);
    ``drop`` with D fixed rows min(2ℓ − |D|, E−1); ``duplicate`` min(2ℓ − 2, E−1); ``line`` min(1, E−1);
    ``formula`` (NT_ℓ of SPEC §4, Gaussian, u = 0..E−1) min(2ℓ, E−1) (SPEC §4 gives full rank at E = 2ℓ+1;
    smaller E were checked with numpy for ℓ ≤ 5). Table values are dyadic, so each relation holds exactly.
    ``variability`` asks for (iii) to hold (needs E ≥ 2ℓ+1), to fail, or either.

    >>> from hypothesis import find
    >>> designs = noise_tables(["z1"], EnvironmentDesign("segments", (0, 1, 2)))
    >>> [(d.rank, d.required) for d in (find(designs, lambda d: d.design == k) for k in ("axis", "line"))]
    [(2, 2), (1, 2)]
    """
    _require(family in _PARAMS, f"no exact noise design for family {family!r} (known: {', '.join(NOISE_FAMILIES)})")
    _require(variability in VARIABILITY, f"variability must be one of {', '.join(VARIABILITY)}; got {variability!r}")
    ell, count = len(latents), env.count
    required = 2 * ell
    _require(not (variability == "sufficient" and count < required + 1),
             f"(iii) needs at least {required + 1} environments, got {count}")
    designs = ["axis", "drop", "duplicate", "line"] if ell >= 2 else ["axis", "drop", "line"]
    if family == "gaussian" and env.consecutive:
        designs.insert(1, "formula")
    if variability == "sufficient":
        designs = [d for d in designs if d in ("axis", "formula")]
    elif variability == "insufficient" and count >= required + 1:
        designs = [d for d in designs if d not in ("axis", "formula")]
    design = draw(st.sampled_from(designs))
    if design == "formula":
        return NoiseDesign(family, _nt_formulas(latents), min(required, count - 1), required, design)

    grids = (_ETA1_GRID[family], _SECOND_GRID[family])
    level = st.integers(0, min(len(g) for g in grids) - 1)
    # values[r, m]: row r (η_1 or the η_2-setting parameter of latent r // 2) in environment m
    base = [grids[r % 2][draw(level)] for r in range(required)]
    values = np.array([base] * count, dtype=float).T
    moving = list(range(required))
    spread = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if design == "drop":
        fixed = draw(st.lists(st.sampled_from(moving), min_size=1, max_size=required, unique=True))
        moving = [r for r in moving if r not in fixed]
    elif design == "duplicate":
        source, copy_ = draw(st.lists(st.integers(0, ell - 1), min_size=2, max_size=2, unique=True))
        moving = [r for r in moving if r // 2 != copy_]
    if design == "line":
        direction = [draw(st.sampled_from((0.25, -0.25, 0.5, -0.5))) for _ in range(ell)]
        steps = 2 ** int(np.ceil(np.log2(max(count - 1, 1))))
        for m in range(1, count):
            values[0::2, m] = np.array(base[0::2]) + np.array(direction) * m / steps
        rank = min(1, count - 1)
    else:
        for m in range(1, count):
            if m <= len(moving):  # the axis columns: exactly one row differs from the base
                row = moving[m - 1]
                values[row, m] = draw(st.sampled_from([v for v in grids[row % 2] if v != base[row]]))
            else:  # spread over the grid (a seeded draw: Hypothesis would shrink every level to the base)
                for row in moving:
                    values[row, m] = grids[row % 2][spread.integers(len(grids[row % 2]))]
        rank = min(len(moving), count - 1)
        if design == "duplicate":
            values[2 * copy_:2 * copy_ + 2] = values[2 * source:2 * source + 2]
    table = {}
    for i, name in enumerate(latents):
        per_env = [_PARAMS[family](float(values[2 * i, m]), float(values[2 * i + 1, m])) for m in range(count)]
        table[name] = {key: [p[key] for p in per_env] for key in LATENT_FAMILIES[family].params}
    return NoiseDesign(family, table, rank, required, design)


# ---------------------------------------------------------------------------------------------------
# Whole models


@dataclass(frozen=True)
class GeneratedSCM:
    """A generated model and what the theory says about it, known from the construction alone.

    ``spec``: the dict given to `identcheck.spec.from_dict`; ``verdicts``: the expected per-node verdicts
    (SPEC §5.6); ``edge_zeros[(j, i)]``: where ∂g_i/∂z_j ≡ 0 (observed environment indices, and `Unobserved`
    keys for extrapolated zeros); ``rank`` and ``required``: rank of L and 2ℓ; ``assumptions``: whether (i),
    (ii) and (iii) hold; ``kinds``: how each influence was built; ``extrapolated``: the nodes whose verdict
    rests on an unobserved zero (`extrapolated_nodes`), which the checker must flag.
    """

    scm: SCM
    spec: Mapping[str, Any]
    verdicts: Mapping[str, str]
    edge_zeros: Mapping[tuple[str, str], frozenset]
    rank: int
    required: int
    assumptions: Mapping[str, bool]
    kinds: Mapping[tuple[str, str], str]
    extrapolated: frozenset[str] = frozenset()

    @property
    def extrapolated_edges(self) -> frozenset[tuple[str, str]]:
        """The edges that satisfy (iv) only through zeros no environment observes (flagged extrapolated)."""
        return frozenset(edge for edge, zeros in self.edge_zeros.items() if zeros and not _observed(zeros))

    def __repr__(self) -> str:
        zeros = {f"{p}->{c}": sorted(z, key=_order) for (p, c), z in self.edge_zeros.items()}
        return (f"GeneratedSCM(expected={dict(self.verdicts)}, extrapolated={sorted(self.extrapolated)}, "
                f"edge_zeros={zeros}, rank={self.rank}/{self.required}, assumptions={dict(self.assumptions)})\n"
                + yaml.safe_dump(dict(self.spec), sort_keys=False, width=120))

    __str__ = __repr__


@st.composite
def scms(draw: st.DrawFn, *, min_nodes: int = 1, max_nodes: int = 3, max_parents: int = 2, min_edges: int = 0,
         min_extra_envs: int = 0, max_extra_envs: int = 2, kinds: Sequence[str] = ("scalar", "segments"),
         domains: bool | None = False, families: Sequence[str] = ("gaussian",),
         variability: Literal["sufficient", "insufficient", "any"] = "any", forms: Sequence[str] = FORMS,
         influences: Sequence[str] | Mapping[str, Sequence[str]] = INFLUENCES, hidden_zeros: bool = True,
         intercepts: bool = True, post_nonlinear: bool = False, break_assumptions: bool = False,
         graphs: st.SearchStrategy[nx.DiGraph] | None = None) -> GeneratedSCM:
    """A whole model (an `SCM` built through `identcheck.spec.from_dict`) with its expected verdicts.

    The DAG comes from `dags` (``min_edges`` as there), the environments from `environment_designs` (2ℓ+1 plus between
    ``min_extra_envs`` and ``max_extra_envs``; with ``variability`` "insufficient" or "any", possibly fewer;
    ``kinds`` and ``domains`` as there: add "vector" for vector u, C13b_vector; ``domains`` None or True for
    declared domains and extrapolated zeros, C13_extrapolated),
    the mechanisms from `mechanisms` (``forms`` and ``influences`` restrict them; ``influences`` may also map a
    node to its own kinds), the noise from `noise_tables`. ``graphs`` replaces `dags` by another strategy of
    DAGs (nodes named as latents, listed in a causal order). ``post_nonlinear`` may add an invertible ḡ_i
    (verdicts are unchanged, Corollary 3.3); ``break_assumptions`` may make (i) fail (Fejér observation
    noise, C16) or (ii) fail (x = (z_1, .., z_k², ..), C17, with z_k a latent that takes both signs).
    Expected verdicts: `expected_verdicts` (SPEC §5.6); extrapolated flags: `extrapolated_nodes` and
    `GeneratedSCM.extrapolated_edges`.

    >>> from hypothesis import find
    >>> case = find(scms(variability="sufficient", kinds=("scalar",)),
    ...             lambda c: len(c.scm.latents) == 2 and c.scm.edges)
    >>> case.spec["mechanisms"], dict(case.verdicts)
    ({'z2': 'u*z1'}, {'z1': 'identifiable', 'z2': 'identifiable'})
    """
    _require_count("min_nodes", min_nodes, 1)
    _require_count("min_extra_envs", min_extra_envs, 0)
    _require_choices("families", families, NOISE_FAMILIES)
    _require_choices("forms", forms, FORMS)
    for node, kinds_here in (influences.items() if isinstance(influences, Mapping) else [("", influences)]):
        _require_choices(f"influences{f'[{node!r}]' if node else ''}", kinds_here, INFLUENCES)
    _require(variability in VARIABILITY, f"variability must be one of {', '.join(VARIABILITY)}; got {variability!r}")
    _require(graphs is None or isinstance(graphs, st.SearchStrategy),
             f"graphs must be a strategy of networkx DiGraphs (or None), got {graphs!r}")
    graph = draw(graphs if graphs is not None else dags(min_nodes, max_nodes, max_parents, min_edges))
    _require(isinstance(graph, nx.DiGraph) and nx.is_directed_acyclic_graph(graph) and len(graph) > 0,
             f"graphs drew {graph!r}: expected a non-empty acyclic networkx DiGraph")
    latents = list(graph)
    needed = 2 * len(latents) + 1  # environments that (iii) needs
    few = variability != "sufficient" and draw(st.booleans()) and (variability == "insufficient" or draw(st.booleans()))
    low, high = (1, needed - 1) if few else (needed + min_extra_envs, needed + max(min_extra_envs, max_extra_envs))
    env = draw(environment_designs(low, high, kinds, domains=domains))
    family = draw(st.sampled_from(tuple(families)))
    noise = draw(noise_tables(latents, env, family=family, variability=variability))

    spec: dict[str, Any] = {"identcheck": 1, "name": "generated", "latents": latents,
                            "environments": env.spec()}
    parameters: dict[str, list[float]] = {}
    mechanism_text: dict[str, str] = {}
    edge_zeros: dict[tuple[str, str], frozenset] = {}
    edge_kinds: dict[tuple[str, str], str] = {}
    for child in latents:
        parents = list(graph.predecessors(child))
        kinds_here = influences.get(child, INFLUENCES) if isinstance(influences, Mapping) else influences
        mech = draw(mechanisms(env, child, parents, forms=forms, influences=kinds_here, hidden_zeros=hidden_zeros,
                               intercepts=intercepts))
        if mech.text is not None:
            mechanism_text[child] = mech.text
        parameters.update({k: list(v) for k, v in mech.parameters.items()})
        edge_zeros.update({(p, child): z for p, z in mech.zeros.items()})
        edge_kinds.update({(p, child): k for p, k in mech.kinds.items()})
    if parameters:
        spec["parameters"] = parameters
    spec["noise"] = {"family": family, "params": copy.deepcopy(dict(noise.params))}
    if mechanism_text:
        spec["mechanisms"] = mechanism_text
    pnl = {}
    if post_nonlinear:
        pnl = {z: draw(st.sampled_from(("t**3", "t + t**3", "exp(t)"))) for z in latents if draw(st.booleans())}
        if pnl:
            spec["post_nonlinear"] = pnl
    holds = {"i": True, "ii": True, "iii": noise.holds}
    if break_assumptions:
        # z -> z**2 is not injective on the support of a latent that takes both signs: Gaussian noise and no
        # post-nonlinearity onto (0, inf) (exp(t) would make z**2 injective there)
        real_line = [z for z in latents if family == "gaussian" and pnl.get(z) != "exp(t)"]
        broken = draw(st.sampled_from((None, "i", "ii") if real_line else (None, "i")))
        if broken == "i":
            spec["observation_noise"] = {"family": "sinc2", "scale": 0.01}
        elif broken == "ii":
            folded = draw(st.sampled_from(real_line))
            spec["mixing"] = {"kind": "expression", "x": [f"{z}**2" if z == folded else z for z in latents]}
        if broken:
            holds[broken] = False
    verdicts = expected_verdicts(graph, edge_zeros, assumptions_hold=all(holds.values()))
    scm = from_dict(copy.deepcopy(spec), source="<hypothesis>")
    return GeneratedSCM(scm, spec, verdicts, edge_zeros, noise.rank, noise.required, holds, edge_kinds,
                        extrapolated_nodes(graph, edge_zeros, verdicts))
