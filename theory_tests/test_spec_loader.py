"""The spec layer (CONTRACT §1): YAML, dicts and networkx graphs become the same validated SCM."""

from __future__ import annotations

import re

import networkx as nx
import numpy as np
import pytest
import sympy as sp
import yaml

import identcheck
from identcheck.check.condition_iv import check_edge
from identcheck.errors import SpecError
from identcheck.spec import from_dict, from_graph, from_text

NOISE2 = {"family": "gaussian", "params": {
    "z1": {"mean": "sin(u)", "std": "exp(0.3*cos(u))"},
    "z2": {"mean": "cos(u)", "std": "exp(0.5*sin(u))"}}}


def spec(**overrides):
    base = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": [0, 1, 2, 3, 4]},
            "noise": NOISE2, "mechanisms": {"z2": "u*z1"}}
    base.update(overrides)
    return base


def test_parents_are_the_latents_a_mechanism_depends_on():
    scm = from_dict(spec(mechanisms={"z2": "u*tanh(z1) + sin(u)"}))
    assert scm.parents("z2") == ("z1",) and scm.is_root("z1")
    assert scm.adjacency().tolist() == [[False, True], [False, False]]


def test_latent_order_is_the_users_and_causal_order_is_topological():
    scm = from_dict(spec(latents=["b", "a"], mechanisms={"b": "u*a"},
                         noise={"family": "gaussian", "params": {"a": NOISE2["params"]["z1"],
                                                                 "b": NOISE2["params"]["z2"]}}))
    assert scm.latents == ("b", "a") and scm.order == ("a", "b")


def test_floats_become_exact_rationals_so_zero_tests_are_exact():
    scm = from_dict(spec(mechanisms={"z2": "(u - 0.3)*z1"}))
    u = scm.environments.symbols[0]
    assert sp.diff(scm.mechanisms["z2"], scm.symbol("z1")).subs(u, sp.Rational(3, 10)) == 0


def test_vector_environments_get_numbered_symbols():
    scm = from_dict(spec(environments={"values": [[0, 1], [1, 2], [2, 0.5], [3, 3], [1, 1]]},
                         noise={"family": "gaussian", "params": {
                             "z1": {"mean": "u1", "std": "exp(u2/5)"}, "z2": {"mean": "u2", "std": 1}}},
                         mechanisms={"z2": "(u1*u2 - 1)*z1"}))
    assert [s.name for s in scm.environments.symbols] == ["u1", "u2"]
    assert scm.environments.values.shape == (5, 2) and scm.environments.labels[2] == (2, 0.5)


def test_noise_tables_become_per_environment_parameters():
    scm = from_dict(spec(environments={"segments": 3}, parameters={"lam": [0, 1, 2]},
                         noise={"family": "gaussian", "params": {
                             "z1": {"mean": [0, 1, 2], "std": [1, 2, 3]},
                             "z2": {"mean": 0.5, "std": [1, 1, 2]}}},
                         mechanisms={"z2": "lam*z1"}))
    assert np.allclose(scm.parameters["z1.std"], [1, 2, 3])
    assert scm.environments.kind == "segments" and scm.environments.symbols == ()


def test_from_graph_equals_from_dict():
    graph = nx.DiGraph([("z1", "z2")])
    a = from_graph(graph, {"z2": "u*z1"}, environments={"values": [0, 1, 2, 3, 4]}, noise=NOISE2)
    b = from_dict(spec())
    assert a.edges == b.edges and a.mechanisms == b.mechanisms and a.noise_params == b.noise_params


def test_from_graph_rejects_a_parent_the_expression_ignores():
    graph = nx.DiGraph([("z1", "z2")])
    with pytest.raises(SpecError, match=r"mechanisms\.z2.*parents"):
        from_graph(graph, {"z2": "u"}, environments={"values": [0, 1, 2, 3, 4]}, noise=NOISE2)


@pytest.mark.parametrize("edges, problem", [
    ([("z1", "z2"), ("z2", "z1")], "the graph has a cycle: z1 -> z2 -> z1"),
    ([("z1", "z2"), ("z2", "z2")], "the graph has a cycle: z2 -> z2")])
def test_from_graph_names_a_cycle_of_the_graph(edges, problem):
    """Found in a review: a cyclic graph whose mechanisms leave the cycle out was refused as "mechanisms.z1: the
    graph gives parents ['z2'] but the expression depends on []", a self-loop likewise; the graph is named."""
    with pytest.raises(SpecError, match=re.escape(f"<graph>: {problem}")):
        from_graph(nx.DiGraph(edges), {"z2": "u*z1"}, environments={"values": [0, 1, 2, 3, 4]}, noise=NOISE2)


@pytest.mark.parametrize("graph, mechanisms, problem", [
    (nx.Graph([("z1", "z2")]), {"z2": "u*z1"}, "expected a networkx DiGraph, got Graph"),
    ([("z1", "z2")], {"z2": "u*z1"}, "expected a networkx DiGraph, got list"),
    (nx.DiGraph([("z1", "z2")]), None, "mechanisms: expected a mapping of latent -> expression, got NoneType")])
def test_from_graph_names_a_graph_or_mechanisms_of_the_wrong_kind(graph, mechanisms, problem):
    """An undirected graph, a plain edge list or no mechanisms raised AttributeError or TypeError."""
    with pytest.raises(SpecError, match=problem):
        from_graph(graph, mechanisms, environments={"values": [0, 1, 2, 3, 4]}, noise=NOISE2)


@pytest.mark.parametrize("overrides, key, problem", [
    ({"identcheck": 2}, "identcheck", "unsupported format version"),
    ({"identcheck": True}, "identcheck", "unsupported format version"),  # YAML's true equals 1 in Python
    ({"latents": ["z1", "z1"]}, "latents[1]", "duplicate latent"),
    ({"colour": "red"}, "colour", "unknown key"),
    ({"mechanisms": {"z2": "u*w"}}, "mechanisms.z2", "unknown symbol 'w'"),
    ({"mechanisms": {"z2": "u*z1", "z1": "z2"}}, "mechanisms", "cycle"),
    ({"mechanisms": {"z2": "u*z1 +"}}, "mechanisms.z2", "cannot parse"),
    ({"environments": {"values": [0, 1], "segments": 2}}, "environments", "exactly one"),
    ({"parameters": {"lam": [1, 2]}}, "parameters.lam", "expected 5 values"),
    ({"noise": {"family": "gaussian", "params": {"z1": {"mean": 0, "std": "u - 1"},
                                                 "z2": NOISE2["params"]["z2"]}}},
     "noise.params.z1.std", "must be > 0"),
    ({"noise": {"family": "cauchy", "params": {}}}, "noise.family", "unknown family"),
    ({"post_nonlinear": {"z2": "t**2"}}, "post_nonlinear.z2", "not invertible"),
    ({"mixing": {"kind": "mlp", "observed_dim": 1}}, "mixing.observed_dim", "cannot be injective"),
    ({"observation_noise": {"family": "gaussian", "scale": -1}}, "observation_noise.scale", "scale > 0"),
    ({"observation_noise": {"family": "gaussian", "scale": 0}}, "observation_noise.scale", "scale > 0"),
    ({"observation_noise": {"family": "none", "scale": 0.3}}, "observation_noise.scale", "takes no scale"),
    ({"noise": 5}, "noise", "expected a mapping, got int"),
    ({"noise": {"params": NOISE2["params"]}}, "noise.family", "missing required key"),
    ({"latents": ["z1", "t"]}, "latents[1]", "not a valid name"),
    ({"latents": ["z1", "2z"]}, "latents[1]", "not a valid name"),
    ({"latents": []}, "latents", "expected a non-empty list of names"),
    ({"name": ""}, "name", "expected a non-empty string"),
    ({"environments": {"values": [0, 1, 2, 3, 4], "symbol": "z1"}}, "environments.symbol", "also a latent name"),
    ({"environments": {"segments": 0}}, "environments.segments", "expected a positive integer"),
    ({"environments": {"segments": 5, "domain": [0, 1]}}, "environments.domain", "only meaningful for scalar u"),
    ({"environments": {"values": []}}, "environments.values", "expected a non-empty list"),
    ({"environments": {"values": [0, 1, float("nan"), 3, 4]}}, "environments.values[2]", "finite number"),
    ({"environments": {"values": [[0, 1], [1]]}}, "environments.values", "lists of one equal length"),
    ({"environments": {"values": [[0, 1], [1, 0]], "domain": [0, 1]}}, "environments.domain",
     "only supported for scalar u"),
    ({"latents": ["z1", "u1"], "mechanisms": {}, "noise": {"family": "gaussian", "params": {
        "z1": NOISE2["params"]["z1"], "u1": NOISE2["params"]["z2"]}},
      "environments": {"values": [[0, 1], [1, 0]]}}, "environments.symbol", "'u1' is also a latent name"),
    ({"environments": {"values": [0, 1, 2, 3, 4], "domain": [0]}}, "environments.domain", "expected [low, high]"),
    ({"environments": {"values": [0, 1, 2, 3, 4], "domain": [5, 0]}}, "environments.domain", "expected low < high"),
    ({"environments": {"values": [0, 1, 2, 3, 4], "domain": [1, 1]}}, "environments.domain", "expected low < high"),
    ({"parameters": {"lam": 3}}, "parameters.lam", "expected a list of 5 numbers, got int"),
    ({"parameters": [1, 2]}, "parameters", "expected a mapping of name -> list of values"),
    ({"parameters": {"z1": [1, 2, 3, 4, 5]}}, "parameters.z1", "already a latent or environment symbol"),
    ({"post_nonlinear": {"z2": "t + sqrt(Abs(t))"}}, "post_nonlinear.z2", "not invertible"),
    ({"post_nonlinear": {"z2": "log(t)"}}, "post_nonlinear.z2", "not a finite real number at t = 0"),
    # increasing on each side of its one pole (t = 1/3, between grid points), and not injective across it
    ({"post_nonlinear": {"z2": "t - 1/(3*t - 1)"}}, "post_nonlinear.z2", "not a finite real number at t = 1/3"),
    ({"mixing": {"kind": "mlp", "x": ["z1", "z2"]}}, "mixing.x", "only for kind: expression"),
    ({"mixing": {"kind": "mlp", "layers": 0}}, "mixing.layers", "expected a positive integer"),
    ({"mixing": {"kind": "expression", "layers": 2, "x": ["z1", "z2"]}}, "mixing.layers", "only for kind: mlp"),
    ({"mixing": {"kind": "expression", "x": []}}, "mixing.x", "non-empty list of expressions"),
    ({"mixing": {"kind": "expression", "x": ["z1 + z2"]}}, "mixing.x", "1 components < 2 latents"),
    ({"mixing": {"kind": "spline"}}, "mixing.kind", "unknown kind 'spline'"),
    # expressions that parse but cannot be evaluated, or hold numbers no float can (found by fuzzing the loader)
    ({"mechanisms": {"z2": "DiracDelta(z1)*u"}}, "mechanisms.z2", "DiracDelta, a distribution"),
    ({"mechanisms": {"z2": "expint(1, z1)"}}, "mechanisms.z2", "function 'expint' has no numerical"),
    ({"mechanisms": {"z2": "Derivative(z1**2, z1)"}}, "mechanisms.z2", "an unevaluated Derivative"),
    ({"mechanisms": {"z2": "Integral(z1, (u, 0, 1))"}}, "mechanisms.z2", "an unevaluated Integral"),
    ({"mechanisms": {"z2": "Sum(z1**2, (u, 0, 3))"}}, "mechanisms.z2", "an unevaluated Sum"),
    ({"mechanisms": {"z2": "1e400*z1"}}, "mechanisms.z2", "beyond the floating-point range"),
    ({"noise": {"family": "gaussian", "params": {"z1": {"mean": 0, "std": float("inf")},
                                                 "z2": NOISE2["params"]["z2"]}}},
     "noise.params.z1.std", "inf is not a finite number"),
    ({"noise": {"family": "gaussian", "params": {"z1": {"mean": "zeta(u) - DiracDelta(u)", "std": 1},
                                                 "z2": NOISE2["params"]["z2"]}}},
     "noise.params.z1.mean", "DiracDelta, a distribution"),
    ({"post_nonlinear": {"z2": "exp_polar(t)"}}, "post_nonlinear.z2", "function 'exp_polar' has no numerical"),
    ({"environments": {"values": [0, 1, 2, 3, 4], "domain": [float("-inf"), 5]}}, "environments.domain[0]",
     "a domain is a bounded interval, which the checker scans for zeros (a wide one such as [-1e6, 1e6]"),
    ({"mixing": {"kind": "expression", "x": ["z1", "Derivative(z2, z2)"]}}, "mixing.x[1]",
     "an unevaluated Derivative"),
])
def test_each_malformed_spec_names_key_and_problem(overrides, key, problem):
    with pytest.raises(SpecError) as info:
        from_dict(spec(**overrides), source="bad.yaml")
    assert info.value.key == key and problem in info.value.problem
    assert str(info.value).startswith(f"bad.yaml: {key}: ")


def test_an_observed_value_outside_the_domain_counts_as_observed_with_a_warning():
    """CONTRACT §1's own example observes u = 6 with domain [-5, 5]; it was refused ("observed value 6 lies
    outside the domain", exit 2). An observed environment is data: its zero holds as observed, not extrapolated,
    and the domain still bounds the extrapolated zeros (stop 45)."""
    message = r"observed value 7 lies outside the declared domain \[0, 5\]"
    with pytest.warns(identcheck.IdentcheckWarning, match=message):
        scm = from_dict(spec(environments={"values": [0, 1, 2, 3, 7], "domain": [0, 5]},
                             mechanisms={"z2": "(u - 7)*z1"}))
    observed = check_edge(scm, "z1", "z2")
    assert (observed.status, observed.vanishes_at, observed.extrapolated) == ("holds", (7,), False)
    with pytest.warns(identcheck.IdentcheckWarning):
        scm = from_dict(spec(environments={"values": [0, 1, 2, 3, 7], "domain": [0, 5]},
                             mechanisms={"z2": "(u - 6)*z1"}))
    outside = check_edge(scm, "z1", "z2")  # u = 6: neither observed nor in the domain
    assert outside.status == "fails" and "outside the declared domain" in outside.reason


def test_a_name_left_empty_is_the_default_name():
    """CONTRACT §1: `name` is optional and defaults to the file's stem. `name:` with nothing after it (YAML
    null) was refused ("expected a non-empty string", exit 2) until stop 46; it is read as no name."""
    assert from_text(yaml.safe_dump({**spec(), "name": None}), default_name="chain").name == "chain"
    with pytest.raises(SpecError, match=r"^<dict>: name: expected a non-empty string"):
        from_dict({**spec(), "name": ""})


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(SpecError, match=r"^s\.yaml: YAML syntax error at line 3, column 6"):
        from_text("identcheck: 1\nlatents: [z1, z2\nnoise: 3\n", source="s.yaml")


def test_every_builtin_example_loads():
    for name in identcheck.example_names():
        assert identcheck.load_example(name).name == name


def test_special_functions_evaluate_in_every_layer():
    """erf, gamma, zeta and Bessel functions (scipy.special through `numeric_function`) work in the noise
    parameters, the mechanisms and the post-nonlinearity, from the checker to the simulator; with numpy
    alone they raised tracebacks there."""
    scm = from_dict(spec(
        noise={"family": "gaussian", "params": {"z1": {"mean": "erf(u - 2)", "std": "gamma(1 + u/4)"},
                                                "z2": {"mean": "zeta(u + 2)", "std": "E"}}},
        mechanisms={"z2": "(u - 2)*besselj(0, z1)"}, post_nonlinear={"z2": "t + erf(t)"}))
    report = identcheck.check(scm).to_dict()
    edge = report["assumptions"]["iv"]["edges"][0]
    assert edge["status"] == "holds" and edge["vanishes_at"] == [2]
    assert report["assumptions"]["iii"]["status"] == "fails"  # z2's std never changes: rank 3 < 4
    data = identcheck.simulate(scm, 2000, seed=0)
    assert data.x.shape == (10000, 2) and np.all(np.isfinite(data.x))
    # n2's mean is zeta(u + 2): 1.645 at u = 0, 1.017 at u = 4; 4 standard errors (std E, 2000 rows) is 0.24
    noise_means = [data.n[data.u == m, 1].mean() for m in (0, 4)]
    assert np.allclose(noise_means, [float(sp.zeta(2)), float(sp.zeta(6))], atol=4 * np.e / np.sqrt(2000))


@pytest.mark.parametrize("std", ["E", "pi/2", "cos(1)", "sqrt(2)"])
def test_irrational_constants_leave_the_exact_rank_path(std):
    """(iii)'s exact path evaluates η in Fractions; a constant such as E or cos(1) is a 'rational function'
    of u to sympy but has no exact rational value, and used to raise NameError there. It now takes the
    numeric path (sqrt(2) still squares to 2 in η = -1/(2 std²), so that one stays exact)."""
    from identcheck.check.condition_iii import exact_natural_parameter_table

    scm = from_dict(spec(noise={"family": "gaussian", "params": {
        "z1": {"mean": "u/(1 + u)", "std": "1 + u"}, "z2": {"mean": "u**2", "std": std}}}))
    assert (exact_natural_parameter_table(scm) is None) == (std != "sqrt(2)")
    iii = identcheck.check(scm).to_dict()["assumptions"]["iii"]
    assert iii["status"] == "fails" and iii["rank"] == 3  # z2's precision never changes
