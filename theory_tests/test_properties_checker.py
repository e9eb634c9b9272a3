"""Property suite: the checker agrees with the theory on generated models whose answer is known by
construction (`identcheck.testing.scms`; SPEC §2, §3, §5.6). A failing example prints the whole spec."""

import networkx as nx
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from identcheck import check
from identcheck.testing import NOISE_FAMILIES, examples, scms


ALL_KINDS = ("scalar", "segments", "vector")


def _verdicts(report) -> dict:
    return {name: node["verdict"] for name, node in report.to_dict()["nodes"].items()}


def _flagged(report) -> tuple[set, set]:
    """The nodes and the edges the report flags as extrapolated."""
    out = report.to_dict()
    return ({name for name, node in out["nodes"].items() if node["extrapolated"]},
            {(e["parent"], e["child"]) for e in out["assumptions"]["iv"]["edges"] if e["extrapolated"]})


THEOREM_2_5_MODELS = scms(max_nodes=3, min_edges=1, variability="sufficient", post_nonlinear=True, kinds=ALL_KINDS,
                          domains=None)


@settings(max_examples=examples(300))  # with the 100 of the extrapolated-zero property below: 400 models
@given(THEOREM_2_5_MODELS)
def test_per_node_verdicts_follow_theorem_2_5_under_i_to_iii(case):
    """Under (i)-(iii), a node is identifiable iff it is a root or (iv) holds for every parent (node-wise common
    zero, or edge-wise zeros with identified parents), unidentifiable when an influence never vanishes, and
    contested otherwise (Theorem 2.5, Remark 2.7, SPEC §5.6; rare here, the C9-shape property below draws
    them) — also through hidden zero-equivalences, u-only intercepts, post-nonlinear maps (Cor. 3.3), vector
    u, and zeros of a formula in u that lie in the declared domain but at no observed u, which count and are
    flagged extrapolated (SPEC §2 "Must u' be observed?"), on the edge and on every node whose verdict rests
    on one."""
    report = check(case.scm)
    assert _verdicts(report) == dict(case.verdicts)
    assert _flagged(report) == (set(case.extrapolated), set(case.extrapolated_edges))


def test_the_theorem_2_5_models_hold_every_case_its_property_names():
    """A control on the draws of the property above, at its budget and with a fixed seed: the cases its
    docstring names are drawn. Left to `dags` alone, 156 of its 300 models had no edge and 7 an extrapolated
    flag (found in a review, stop 44). With at least one edge, at seed 0: every model has an edge, 9 an
    extrapolated node (3 required), 158 a post-nonlinear map, every kind of u. Contested nodes are rare here
    (none at seed 0): the C9-shape property below draws them (65 of its 150 at seed 0)."""
    drawn: list = []

    @seed(0)
    @settings(max_examples=examples(300), database=None)
    @given(THEOREM_2_5_MODELS)
    def draw(case):
        drawn.append(case)

    draw()
    verdicts = [v for case in drawn for v in case.verdicts.values()]
    assert all(case.scm.edges for case in drawn)
    assert {"identifiable", "unidentifiable"} <= set(verdicts)
    assert sum(bool(case.extrapolated) for case in drawn) >= 3
    assert sum(bool(case.spec.get("post_nonlinear")) for case in drawn) >= 3
    assert {case.scm.environments.kind for case in drawn} == set(ALL_KINDS)


C9_SHAPE = nx.DiGraph([("z1", "z2"), ("z1", "z3"), ("z2", "z3")])


@settings(max_examples=examples(100))
@given(scms(graphs=st.just(C9_SHAPE), variability="sufficient", kinds=("scalar",), domains=True,
            influences={"z2": ("shared", "own", "invariant"), "z3": ("shared", "own")}, hidden_zeros=False))
def test_zeros_in_the_declared_domain_count_and_are_flagged_extrapolated(case):
    """SPEC §2 "Must u' be observed?" and §7 item 2 (C13, C13_extrapolated, C13b): a zero of a formula in u
    inside the declared domain counts for (iv) though no environment observes it, also as a node-wise common
    reference of several parents; a zero outside the domain does not count. The flag marks every edge that
    holds only through such zeros and every node whose verdict rests on one, also through Step III (the
    verdict the observed zeros alone would not give). Drawn on the triangle z1 -> z2 -> z3, z1 -> z3 with
    influences that carry zeros, the smallest graph where z3 can rest on z2's extrapolated zero or have
    observed edge-wise zeros besides an unobserved common one (hidden zeros, which make the checker scan the
    domain numerically, are drawn with domains in the Theorem 2.5 property above)."""
    report = check(case.scm)
    assert _verdicts(report) == dict(case.verdicts)
    assert _flagged(report) == (set(case.extrapolated), set(case.extrapolated_edges))


@settings(max_examples=examples(200))
@given(scms(max_nodes=3, variability="any", break_assumptions=True, families=NOISE_FAMILIES))
def test_no_node_has_a_guarantee_unless_i_ii_and_iii_hold(case):
    """SPEC §3 subtle point 1: each verdict presupposes (i)-(iii); when one fails, every node (roots
    included) has no guarantee, and otherwise the verdicts are those of Theorem 2.5, for every noise family."""
    assert _verdicts(check(case.scm)) == dict(case.verdicts)


@settings(max_examples=examples(200))
@given(scms(max_nodes=3, variability="any", families=NOISE_FAMILIES))
def test_rank_of_L_is_the_rank_of_the_construction(case):
    """(iii): the reported rank of L = [η(u_m) − η(u_0)] equals the rank the noise design has, against 2ℓ."""
    iii = check(case.scm).to_dict()["assumptions"]["iii"]
    assert (iii["status"] == "holds") == case.assumptions["iii"]
    assert iii["required"] == case.required
    if "rank" in iii:
        assert iii["rank"] == case.rank


@settings(max_examples=examples(200))
@given(scms(max_nodes=3, min_edges=1, variability="sufficient", kinds=ALL_KINDS, domains=None))
def test_each_edge_vanishes_exactly_where_the_influence_is_switched_off(case):
    """(iv-a) per edge: the observed environments where ∂g_i/∂z_j ≡ 0 in the parents are exactly the zeros
    put into c(u), and the unobserved zeros inside the declared domain are exactly the roots put there; an
    edge with neither fails (iv), one with some holds (SPEC §2, §5 steps 2-3)."""
    labels = case.scm.environments.labels
    for edge in check(case.scm).to_dict()["assumptions"]["iv"]["edges"]:
        zeros = case.edge_zeros[(edge["parent"], edge["child"])]
        observed = sorted(m for m in zeros if isinstance(m, int))
        assert edge["status"] == ("holds" if zeros else "fails"), edge
        assert edge["vanishing_environments"] == observed, edge
        assert edge["vanishes_at"] == [labels[m] if case.scm.environments.kind != "vector" else list(labels[m])
                                       for m in observed], edge
        assert sorted(edge.get("extrapolated_zeros", [])) == sorted(k.u for k in zeros if not isinstance(k, int))


@settings(max_examples=examples(150))
@given(scms(graphs=st.just(C9_SHAPE), variability="sufficient",
            influences={"z2": ("invariant", "wiggle", "shared"), "z3": ("own",)}))
def test_edgewise_zeros_without_a_common_zero_are_contested_below_an_unidentifiable_parent(case):
    """Remark 2.7 holds under (iv-N) only: when z3's influences vanish at different environments, z3 is
    identifiable if its parents are, and contested (C9) when a parent is not (SPEC §3, §5.6)."""
    assert _verdicts(check(case.scm)) == dict(case.verdicts)


@pytest.mark.slow
@settings(max_examples=examples(1500))
@given(scms(min_nodes=2, max_nodes=5, max_parents=3, max_extra_envs=3, variability="any",
            post_nonlinear=True, break_assumptions=True, families=NOISE_FAMILIES))
def test_verdicts_follow_the_theory_on_larger_models(case):
    """The slow tier: Theorem 2.5 and SPEC §3 subtle point 1 on graphs of up to 5 nodes with up to 3
    parents, more environments, every noise family."""
    assert _verdicts(check(case.scm)) == dict(case.verdicts)
