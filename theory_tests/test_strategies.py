"""The strategies of `identcheck.testing` build what they claim: their ground truth is checked here with
plain numpy evaluations, never with the checker (SPEC §2 (iii), (iv-a); §5.6)."""

import networkx as nx
import numpy as np
import pytest
import sympy as sp
from hypothesis import find, given, settings
from hypothesis import strategies as st

from identcheck import from_dict
from identcheck.testing import (NOISE_FAMILIES, EnvironmentDesign, add_intercept, dags, duplicate_environment, examples,
                                expected_verdicts, keep_environments, noise_tables, relabel, reorder,
                                reparametrise_u, rescale_noise, scms)

RNG_POINTS = 48  # probe points per environment for the numeric zero test below


def _eta_matrix(scm) -> np.ndarray:
    """(E, 2ℓ) natural parameters of every environment, evaluated with numpy from the SCM's expressions."""
    table = scm.environment_table()
    count = scm.environments.count
    columns = []
    for latent in scm.latents:
        values = {}
        for name, expr in scm.noise_params[latent].items():
            symbols = sorted(expr.free_symbols, key=str)
            fn = sp.lambdify(symbols, expr, modules="numpy")
            values[name] = np.broadcast_to(np.asarray(fn(*(table[s] for s in symbols)), float), (count,))
        columns += list(scm.noise_family.natural(values))
    return np.column_stack(columns)


def _derivative_table(scm, parent: str, child: str, points: np.ndarray) -> np.ndarray:
    """|∂g_child/∂z_parent| at `points` (K, ℓ) in every environment: (E, K)."""
    expr = sp.diff(scm.mechanism(child), scm.symbol(parent))
    table = scm.environment_table()
    env_symbols = sorted(table, key=str)
    fn = sp.lambdify([*scm.latent_symbols, *env_symbols], expr, modules="numpy")
    out = np.empty((scm.environments.count, len(points)))
    for m in range(scm.environments.count):
        env_args = [np.full(len(points), table[s][m]) for s in env_symbols]
        out[m] = np.broadcast_to(np.abs(fn(*points.T, *env_args)), (len(points),))
    return out


@given(dags(min_nodes=1, max_nodes=6, max_parents=2))
def test_dags_are_acyclic_with_listed_order_causal_and_bounded_in_degree(graph):
    """A generated graph is a DAG (SPEC §1 Eq. 2), its listing order is a causal order, and every node has
    at most max_parents parents."""
    order = list(graph)
    assert nx.is_directed_acyclic_graph(graph)
    assert all(order.index(p) < order.index(c) for p, c in graph.edges)
    assert max(dict(graph.in_degree).values()) <= 2


def test_dags_shrink_to_a_single_root():
    """Shrinking removes nodes and edges: the simplest DAG is one root."""
    graph = find(dags(min_nodes=1, max_nodes=5), lambda g: True)
    assert list(graph) == ["z1"] and graph.number_of_edges() == 0


def test_scms_shrink_to_a_plain_switch():
    """Shrinking strips decorations: the simplest two-latent model with an edge is a plain switch, catalogue
    C1's g_2 = u·z_1 (or its segment form c(u)·z_1, C12a), without intercept or hidden zero."""
    case = find(scms(max_nodes=2, variability="sufficient"), lambda c: bool(c.scm.edges))
    assert case.spec["mechanisms"] in ({"z2": "u*z1"}, {"z2": "c_z1_z2*z1"})


@given(scms(max_nodes=4, variability="any", post_nonlinear=True, break_assumptions=True))
def test_generated_scm_has_exactly_the_constructed_edges(case):
    """The parents the SCM reads off the expressions are the parents of the construction: hidden-zero
    decorations and intercepts introduce no latent outside pa_i."""
    assert set(case.scm.edges) == set(case.edge_zeros)
    assert set(case.verdicts) == set(case.scm.latents)


@settings(max_examples=examples(60))
@given(scms(max_nodes=3, variability="any", kinds=("scalar", "segments"),
            families=NOISE_FAMILIES))
def test_constructed_rank_is_the_rank_of_L(case):
    """(iii): the rank known from the design equals the numerical rank of L = [η(u_m) − η(u_0)] (SPEC §2),
    computed here from the SCM's noise parameters with the family's natural parameters."""
    eta = _eta_matrix(case.scm)
    diffs = eta[1:] - eta[0]
    scale = max(1.0, float(np.abs(eta).max()))
    rank = int(np.linalg.matrix_rank(diffs, tol=1e-8 * scale)) if len(diffs) else 0
    assert rank == case.rank
    assert case.assumptions["iii"] == (rank == 2 * len(case.scm.latents))


@settings(max_examples=examples(60))
@given(scms(max_nodes=3, variability="sufficient", max_parents=2), st.integers(0, 2**32 - 1))
def test_constructed_zeros_are_where_the_influence_vanishes_identically(case, seed):
    """(iv-a): ∂g_i/∂z_j is zero at every probe point exactly in the environments the construction lists,
    and clearly non-zero at some probe point in every other environment (iv-b)."""
    points = np.random.default_rng(seed).uniform(-2, 2, size=(RNG_POINTS, len(case.scm.latents)))
    for (parent, child), zeros in case.edge_zeros.items():
        size = _derivative_table(case.scm, parent, child, points).max(axis=1)
        for m, value in enumerate(size):
            if m in zeros:
                assert value < 1e-9, (parent, child, m, value)
            else:
                assert value > 1e-3, (parent, child, m, value)


def test_expected_verdicts_on_the_catalogue_shapes():
    """The SPEC §5.6 rule reproduces C7 (invariant edge), C8 (Remark 2.7 under (iv-N)) and C10
    (edge-wise zeros with identified parents)."""
    assert expected_verdicts(nx.DiGraph([("z1", "z3"), ("z2", "z3")]),
                             {("z1", "z3"): frozenset({0}), ("z2", "z3"): frozenset()})["z3"] == "unidentifiable"
    c8 = expected_verdicts(nx.DiGraph([("z1", "z2"), ("z2", "z3")]),
                           {("z1", "z2"): frozenset(), ("z2", "z3"): frozenset({0})})
    assert c8 == {"z1": "identifiable", "z2": "unidentifiable", "z3": "identifiable"}
    c10 = expected_verdicts(nx.DiGraph([("z1", "z2"), ("z1", "z3"), ("z2", "z3")]),
                            {("z1", "z2"): frozenset({0}), ("z2", "z3"): frozenset({0}),
                             ("z1", "z3"): frozenset({1})})
    assert c10["z3"] == "identifiable"


def test_failed_assumptions_give_no_guarantee_for_every_node():
    """SPEC §3 subtle point 1: without (i)-(iii) no node has a guarantee, roots included."""
    graph = nx.DiGraph([("z1", "z2")])
    assert set(expected_verdicts(graph, {("z1", "z2"): frozenset({0})}, assumptions_hold=False).values()) \
        == {"no_guarantee"}


def test_sufficient_variability_needs_enough_environments():
    """(iii) cannot hold with fewer than 2ℓ+1 environments, so the strategy refuses to promise it."""
    with pytest.raises(ValueError, match="at least 5"):
        find(noise_tables(["z1", "z2"], EnvironmentDesign("segments", (0, 1, 2)), variability="sufficient"),
             lambda d: True)


@given(scms(max_nodes=3, variability="sufficient", kinds=("scalar",)),
       st.sampled_from((2, -1, 0.5, 3)), st.sampled_from((1, -2, 0.5, 0)))
def test_reparametrised_u_describes_the_same_environments(case, scale, shift):
    """u -> a·u + b with the formulas rewritten gives the same mechanism and noise values in every
    environment (evaluated numerically at random latent values)."""
    before, after = case.scm, from_dict(reparametrise_u(case.spec, scale, shift))
    assert np.allclose(_eta_matrix(before), _eta_matrix(after), rtol=1e-9, atol=1e-12)
    points = np.random.default_rng(0).uniform(-2, 2, size=(8, len(before.latents)))
    for parent, child in before.edges:
        assert np.allclose(_derivative_table(before, parent, child, points),
                           _derivative_table(after, parent, child, points), rtol=1e-9, atol=1e-12)


def test_relabel_and_reorder_keep_the_graph_up_to_names():
    """Renaming and re-listing latents keeps the same edges under the new names."""
    case = find(scms(min_nodes=3, variability="sufficient"), lambda c: len(c.scm.edges) >= 2)
    renamed = from_dict(relabel(case.spec, {"z1": "a", "z2": "b", "z3": "c"}))
    names = {"z1": "a", "z2": "b", "z3": "c"}
    assert set(renamed.edges) == {(names[p], names[c]) for p, c in case.scm.edges}
    reordered = from_dict(reorder(case.spec, ["z3", "z1", "z2"]))
    assert reordered.latents == ("z3", "z1", "z2") and set(reordered.edges) == set(case.scm.edges)


def test_environment_rewrites_keep_tables_aligned():
    """Duplicating or dropping environments rewrites every per-environment table consistently."""
    case = find(scms(variability="sufficient", kinds=("segments",)), lambda c: bool(c.scm.parameters))
    count = case.scm.environments.count
    doubled = from_dict(duplicate_environment(case.spec, 1))
    assert doubled.environments.count == count + 1
    assert all(np.array_equal(v[[1]], v[[-1]]) for v in doubled.parameters.values())
    kept = from_dict(keep_environments(case.spec, [0, 2]))
    assert kept.environments.count == 2
    assert all(np.array_equal(kept.parameters[k], v[[0, 2]]) for k, v in case.scm.parameters.items())


def test_rescaled_noise_and_intercepts_keep_the_graph():
    """Rescaling a noise changes only its parameters; a u-only intercept adds no parent."""
    case = find(scms(variability="sufficient", kinds=("segments",)), lambda c: bool(c.scm.edges))
    scaled = from_dict(rescale_noise(case.spec, "z1", 2.5))
    assert np.allclose(scaled.parameters["z1.std"], 2.5 * case.scm.parameters["z1.std"])
    shifted = from_dict(add_intercept(case.spec, "z2", "b_new", table=[0.5] * case.scm.environments.count))
    assert shifted.edges == case.scm.edges
