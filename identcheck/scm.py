"""The SCM object: one latent additive-noise (or post-nonlinear) causal model class, as SPEC §1 defines it.

An `SCM` is what every layer consumes: the checker reads its sympy expressions, the simulator lambdifies
them once. It is built by `identcheck.spec` (from YAML, a dict, or a networkx graph) and never changed.

>>> from identcheck import load_example
>>> scm = load_example("C1")
>>> scm.latents, scm.parents("z2"), scm.environments.count
(('z1', 'z2'), ('z1',), 5)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import networkx as nx
import numpy as np
import sympy as sp

from .errors import IdentcheckError
from .families import LatentFamily, ObservationFamily

__all__ = ["Environments", "Mixing", "ObservationNoise", "SCM", "PNL_SYMBOL", "require_scm"]

#: The argument of a post-nonlinear map gbar_i(t).
PNL_SYMBOL = sp.Symbol("t", real=True)


@dataclass(frozen=True, eq=False)
class Environments:
    """The observed environments u_0..u_{E-1}.

    kind: "scalar" (u a number), "vector" (u = (u1..um)) or "segments" (one-hot labels, no u symbol).
    values: (E, m) float array of the u values (m = 0 for segments).
    labels: each environment as written in the spec (a number, a list, or the segment index).
    domain: the declared interval of a scalar u, or None (then only the observed values are in the domain).
    """

    kind: Literal["scalar", "vector", "segments"]
    symbols: tuple[sp.Symbol, ...]
    values: np.ndarray
    labels: tuple[Any, ...]
    domain: tuple[float, float] | None = None

    @property
    def count(self) -> int:
        """Number of observed environments E."""
        return len(self.labels)


@dataclass(frozen=True, eq=False)
class Mixing:
    """The mixing f: a random leaky-ReLU MLP with invertible square layers, or explicit expressions in z."""

    kind: Literal["mlp", "expression"]
    observed_dim: int
    layers: int = 3
    expressions: tuple[sp.Expr, ...] = ()


@dataclass(frozen=True, eq=False)
class ObservationNoise:
    """Observation noise eps: a family from `identcheck.families.OBSERVATION_FAMILIES` and a scale."""

    family: ObservationFamily
    scale: float


@dataclass(frozen=True, eq=False)
class SCM:
    """A latent causal model class: z_i = g_i(pa_i, u) + n_i (or gbar_i of it), x = f(z) + eps.

    Expressions are sympy objects over real symbols: latents (`symbol(name)`), the environment symbols
    (`environments.symbols`) and the per-environment parameters (`parameters`, one value per environment;
    a noise parameter given as a table becomes a parameter named "<latent>.<param>").

    >>> import identcheck
    >>> scm = identcheck.load_example("C8")
    >>> scm.latents, scm.edges, scm.parents("z3"), scm.mechanism("z3"), scm.environments.count
    (('z1', 'z2', 'z3'), (('z1', 'z2'), ('z2', 'z3')), ('z2',), u*z2, 7)
    """

    name: str
    latents: tuple[str, ...]
    environments: Environments
    parameters: dict[str, np.ndarray]
    noise_family: LatentFamily
    noise_params: dict[str, dict[str, sp.Expr]]
    mechanisms: dict[str, sp.Expr]
    post_nonlinear: dict[str, sp.Expr]
    mixing: Mixing
    observation_noise: ObservationNoise
    spec: dict[str, Any] = field(default_factory=dict)  # the validated spec dict (YAML round-trip)
    source: str = "<dict>"

    # -- symbols -------------------------------------------------------------------------------------
    def symbol(self, latent: str) -> sp.Symbol:
        """The real sympy symbol of a latent."""
        return sp.Symbol(latent, real=True)

    @cached_property
    def latent_symbols(self) -> tuple[sp.Symbol, ...]:
        """Symbols of the latents, in spec order."""
        return tuple(self.symbol(name) for name in self.latents)

    @cached_property
    def parameter_symbols(self) -> dict[str, sp.Symbol]:
        """Symbols of the per-environment parameters."""
        return {name: sp.Symbol(name, real=True) for name in self.parameters}

    def environment_table(self) -> dict[sp.Symbol, np.ndarray]:
        """For every environment symbol and parameter symbol, its value in each environment (arrays of length E)."""
        table = {s: self.environments.values[:, k] for k, s in enumerate(self.environments.symbols)}
        table.update({self.parameter_symbols[k]: v for k, v in self.parameters.items()})
        return table

    # -- graph ---------------------------------------------------------------------------------------
    @cached_property
    def graph(self) -> nx.DiGraph:
        """The DAG: an edge j -> i for every latent z_j that the mechanism g_i depends on."""
        graph = nx.DiGraph()
        graph.add_nodes_from(self.latents)
        for child, expr in self.mechanisms.items():
            graph.add_edges_from((parent, child) for parent in self._parents_of(expr))
        return graph

    def _parents_of(self, expr: sp.Expr) -> tuple[str, ...]:
        free = expr.free_symbols
        return tuple(name for name, s in zip(self.latents, self.latent_symbols) if s in free)

    def parents(self, latent: str) -> tuple[str, ...]:
        """Parents of a latent, in spec order."""
        expr = self.mechanisms.get(latent)
        return () if expr is None else self._parents_of(expr)

    @cached_property
    def edges(self) -> tuple[tuple[str, str], ...]:
        """All edges (parent, child), ordered by child then parent in spec order."""
        return tuple((p, c) for c in self.latents for p in self.parents(c))

    @cached_property
    def order(self) -> tuple[str, ...]:
        """A causal (topological) order, ties broken by spec order."""
        rank = {name: k for k, name in enumerate(self.latents)}
        return tuple(nx.lexicographical_topological_sort(self.graph, key=rank.__getitem__))

    def adjacency(self) -> np.ndarray:
        """Boolean (l, l) adjacency in spec order: A[j, i] is True for an edge z_j -> z_i."""
        index = {name: k for k, name in enumerate(self.latents)}
        adj = np.zeros((len(self.latents),) * 2, dtype=bool)
        for parent, child in self.edges:
            adj[index[parent], index[child]] = True
        return adj

    def mechanism(self, latent: str) -> sp.Expr:
        """g_i(pa_i, u); zero for a root without a declared mechanism."""
        return self.mechanisms.get(latent, sp.Integer(0))

    def is_root(self, latent: str) -> bool:
        """True when the latent has no parents."""
        return not self.parents(latent)

    def __str__(self) -> str:
        lines = [f"SCM '{self.name}': {len(self.latents)} latents, {self.environments.count} environments "
                 f"({self.environments.kind}), {self.noise_family.name} noise"]
        for name in self.latents:
            g = self.mechanisms.get(name)
            rhs = f"{g} + n_{name}" if g is not None else f"n_{name}"
            if name in self.post_nonlinear:
                rhs = f"gbar({rhs}), gbar(t) = {self.post_nonlinear[name]}"
            lines.append(f"  {name} = {rhs}")
        return "\n".join(lines)


def require_scm(value: Any, caller: str) -> SCM:
    """`value` itself if it is an SCM, else an IdentcheckError saying where an SCM comes from.

    >>> require_scm("C1", "check")
    Traceback (most recent call last):
        ...
    identcheck.errors.IdentcheckError: check needs an SCM (from load_spec, from_dict, from_graph or load_example), got str
    """
    if not isinstance(value, SCM):
        raise IdentcheckError(f"{caller} needs an SCM (from load_spec, from_dict, from_graph or load_example), "
                              f"got {type(value).__name__}")
    return value
