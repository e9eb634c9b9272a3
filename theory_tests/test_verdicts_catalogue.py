"""The SPEC §4 catalogue, row by row: verdicts AND witnesses (vanishes_at, nonzero_at, violating_parents,
extrapolated flag, alternative models) of `identcheck.check` on the built-in examples."""

from __future__ import annotations

from functools import lru_cache

import pytest

from identcheck import from_dict, load_example
from identcheck.check import check
from identcheck.check.condition_iv import analyse_iv
from identcheck.check.results import AssumptionResult
from identcheck.check.verdicts import node_verdicts
from identcheck.report import Report


@lru_cache(maxsize=None)
def report(name: str) -> Report:
    return check(load_example(name))


def verdicts(name: str) -> dict[str, str]:
    return {z: node.verdict for z, node in report(name).nodes.items()}


def edge(name: str, parent: str, child: str):
    return next(e for e in report(name).assumptions["iv"].edges if (e.parent, e.child) == (parent, child))


def test_C1_changing_coefficient_with_a_zero_identifies_both_nodes():
    assert verdicts("C1") == {"z1": "identifiable", "z2": "identifiable"}
    e = edge("C1", "z1", "z2")
    assert (e.status, e.vanishes_at, e.nonzero_at, e.extrapolated) == ("holds", (0,), 1, False)
    assert report("C1").nodes["z1"].reason.startswith("root")


def test_C2_coefficient_bounded_away_from_zero_leaves_the_child_unidentifiable():
    assert verdicts("C2") == {"z1": "identifiable", "z2": "unidentifiable"}
    node = report("C2").nodes["z2"]
    assert node.violating_parents == ("z1",)
    assert edge("C2", "z1", "z2").vanishes_at == ()
    assert node.alternative.startswith("z2_hat = z2 - z1, with g_z2_hat(z1, u) = u**2*z1")


def test_C3_nonlinear_mechanism_scaled_by_u_is_identifiable():
    assert verdicts("C3")["z2"] == "identifiable"
    assert edge("C3", "z1", "z2").vanishes_at == (0,)


def test_C4_invariant_nonlinear_part_makes_the_child_unidentifiable():
    assert verdicts("C4")["z2"] == "unidentifiable"
    assert report("C4").nodes["z2"].alternative.startswith("z2_hat = z2 - sin(z1)")


def test_C5_intercept_does_not_change_the_derivative():
    assert verdicts("C5")["z2"] == "identifiable"
    assert edge("C5", "z1", "z2").vanishes_at == (0,)


def test_C6_pointwise_zero_in_the_parent_is_irrelevant():
    assert verdicts("C6")["z2"] == "identifiable"
    e = edge("C6", "z1", "z2")
    assert (e.vanishes_at, e.nonzero_at, e.nonzero_point) == ((0,), 1, {"z1": 1.0})


def test_C7_one_invariant_edge_suffices_to_lose_the_child():
    assert verdicts("C7") == {"z1": "identifiable", "z2": "identifiable", "z3": "unidentifiable"}
    node = report("C7").nodes["z3"]
    assert node.violating_parents == ("z2",)
    assert edge("C7", "z1", "z3").status == "holds" and edge("C7", "z2", "z3").status == "fails"
    assert node.alternative.startswith("z3_hat = z3 - 0.8*z2")


def test_C8_child_of_an_unidentifiable_node_is_identifiable_by_its_node_wise_zero():
    assert verdicts("C8") == {"z1": "identifiable", "z2": "unidentifiable", "z3": "identifiable"}
    assert report("C8").nodes["z3"].reference_environments == (0,)
    assert "Remark 2.7" in report("C8").nodes["z3"].reason


def test_C9_edge_wise_zeros_without_common_zero_and_an_unidentifiable_parent_are_contested():
    assert verdicts("C9") == {"z1": "identifiable", "z2": "unidentifiable", "z3": "contested"}
    assert edge("C9", "z2", "z3").vanishes_at == (0,) and edge("C9", "z1", "z3").vanishes_at == (1,)
    assert report("C9").nodes["z3"].reference_environments == ()


def test_C10_edge_wise_zeros_suffice_when_every_parent_is_identified():
    assert verdicts("C10") == {"z1": "identifiable", "z2": "identifiable", "z3": "identifiable"}
    assert "Theorem 2.1" in report("C10").nodes["z3"].reason
    assert report("C10").nodes["z3"].reference_environments == ()


def test_C11_product_mechanism_has_a_common_zero():
    assert verdicts("C11")["z3"] == "identifiable"
    assert report("C11").nodes["z3"].reference == (0,)


def test_C12a_segment_zero_identifies_only_if_the_learner_pins_segment_0():
    assert verdicts("C12a")["z2"] == "identifiable"
    assert edge("C12a", "z1", "z2").vanishes_at == (0,)
    node = report("C12a").nodes["z2"]
    assert node.reference_environments == (0,) and "pin segment 0" in node.reason


def test_C12b_invariant_segment_weight_is_unidentifiable():
    """lam = 0.8 in every segment: the witness z2 - 0.8*z1 is its own noise in every segment (its mechanism
    read "z1*(lam - 0.8), which vanishes at segment 0" before stop 44's review)."""
    assert verdicts("C12b")["z2"] == "unidentifiable"
    node = report("C12b").nodes["z2"]
    assert node.violating_parents == ("z1",)
    assert node.alternative.startswith("z2_hat = z2 - 0.8*z1, with g_z2_hat = 0: z2_hat is its own noise")


def test_C12c_no_zero_among_observed_segments_is_unidentifiable():
    assert verdicts("C12c")["z2"] == "unidentifiable"
    assert report("C12c").nodes["z2"].alternative.startswith("z2_hat = z2 - 0.5*z1")


def test_C12c_rigid_declared_rigid_form_gives_an_extrapolated_zero():
    assert verdicts("C12c_rigid")["z2"] == "identifiable"
    e = edge("C12c_rigid", "z1", "z2")
    assert e.extrapolated and e.extrapolated_zeros == (-1.0,) and e.vanishes_at == ()
    node = report("C12c_rigid").nodes["z2"]
    assert node.extrapolated and node.extrapolated_reference == (-1.0,)


def test_C13_solved_zero_is_observed():
    assert verdicts("C13")["z2"] == "identifiable"
    e = edge("C13", "z1", "z2")
    assert (e.vanishes_at, e.extrapolated) == ((0.3,), False)
    assert report("C13").nodes["z2"].reference_environments == (1,)
    assert not report("C13").nodes["z2"].extrapolated


def test_C13_extrapolated_unobserved_zero_in_the_domain_is_flagged():
    assert verdicts("C13_extrapolated")["z2"] == "identifiable"
    e = edge("C13_extrapolated", "z1", "z2")
    assert e.extrapolated and e.extrapolated_zeros == (0.6,)
    node = report("C13_extrapolated").nodes["z2"]
    assert node.extrapolated and node.reason.startswith("EXTRAPOLATED")


def test_C13b_zero_outside_the_domain_does_not_count():
    assert verdicts("C13b")["z2"] == "unidentifiable"
    assert "outside the declared domain" in edge("C13b", "z1", "z2").reason


def test_C13b_vector_hyperbola_of_zeros_through_an_observed_point():
    assert verdicts("C13b_vector")["z2"] == "identifiable"
    e = edge("C13b_vector", "z1", "z2")
    assert e.vanishes_at == ((2, 0.5),) and e.zero_set == "u1*u2 - 1 = 0"


def test_C14_post_nonlinear_node_is_identified_up_to_an_invertible_map():
    node = report("C14").nodes["z2"]
    assert node.verdict == "identifiable" and node.up_to == "invertible_componentwise"
    assert report("C14").nodes["z1"].up_to == "scale_offset"


def test_C14b_post_nonlinear_invariant_edge_is_unidentifiable_even_up_to_invertible_maps():
    node = report("C14b").nodes["z2"]
    assert node.verdict == "unidentifiable" and "Corollary 3.3(b)" in node.reason
    assert node.alternative.startswith("z2_hat = log(z2) - 0.8*z1")


@pytest.mark.parametrize("name", ["C15a", "C15b", "C15c", "C15d", "C15e"])
def test_C15_failure_of_iii_gives_no_guarantee_for_every_node(name):
    assert report(name).assumptions["iii"].status == "fails"
    assert set(verdicts(name).values()) == {"no_guarantee"}
    assert report(name).nodes["z2"].conditional_verdict == "identifiable"


def test_C15f_fifty_random_segments_satisfy_iii():
    assert report("C15f").assumptions["iii"].status == "holds"
    assert verdicts("C15f") == {"z1": "identifiable", "z2": "identifiable"}


def test_C16_sinc2_observation_noise_fails_i_and_gives_no_guarantee():
    assert report("C16").assumptions["i"].status == "fails"
    assert set(verdicts("C16").values()) == {"no_guarantee"}


def test_C17_non_injective_mixing_fails_ii_and_gives_no_guarantee():
    assert report("C17").assumptions["ii"].status == "fails"
    assert set(verdicts("C17").values()) == {"no_guarantee"}


# -- the verdict rule beyond the catalogue (SPEC §5 rule 6, subtle point 1) ---------------------------------

def three_latents(mechanisms: dict) -> Report:
    noise = {z: {"mean": f"1.5*sin(1.7*u + {0.9 * k})", "std": f"exp(0.6*cos(1.3*u + {2.1 * k}))"}
             for k, z in enumerate(["z1", "z2", "z3"], 1)}
    return check(from_dict({"identcheck": 1, "latents": ["z1", "z2", "z3"], "environments": {"values": list(range(7))},
                            "noise": {"family": "gaussian", "params": noise}, "mechanisms": mechanisms}))


def test_declared_parent_without_influence_does_not_block_identifiability():
    r = three_latents({"z3": "u*z1 + tanh(z2) - (exp(2*z2) - 1)/(exp(2*z2) + 1)"})
    assert r.nodes["z3"].verdict == "identifiable" and "no influence" in r.nodes["z3"].reason
    assert r.assumptions["iv"].status == "fails"


def test_interaction_present_in_every_environment_violates_both_edges():
    """u*z1 + (u - 2)*z2 + z1*z2: each derivative keeps the other parent at every u (never identically 0)."""
    r = three_latents({"z3": "u*z1 + (u - 2)*z2 + z1*z2"})
    assert r.nodes["z3"].verdict == "unidentifiable" and r.nodes["z3"].violating_parents == ("z1", "z2")


def test_undecided_edge_gives_an_undecided_node():
    """d = u*Derivative(floor(z1), z1), which sympy leaves unevaluated, cannot be evaluated anywhere; no
    environment shows a zero, so nothing decides. (g = z1/u, the earlier example, is undefined at u = 0 and
    now a spec error.)"""
    r = three_latents({"z2": "u*floor(z1)"})
    assert r.assumptions["iv"].edges[0].status == "undecided"
    assert r.nodes["z2"].verdict == "undecided"


def test_unknown_premise_makes_every_verdict_undecided_but_keeps_the_conditional_one():
    scm = load_example("C2")
    premises = {"i": AssumptionResult("holds", ""), "ii": AssumptionResult("unknown", "probe inconclusive"),
                "iii": AssumptionResult("holds", "")}
    nodes = node_verdicts(scm, analyse_iv(scm), premises)
    assert {n.verdict for n in nodes.values()} == {"undecided"}
    assert nodes["z2"].conditional_verdict == "unidentifiable" and "(ii) is unknown" in nodes["z2"].reason


def four_latents(mechanisms: dict) -> Report:
    names = ["z1", "z2", "z3", "z4"]
    noise = {z: {"mean": f"1.5*sin(1.7*u + {0.9 * k})", "std": f"exp(0.6*cos(1.3*u + {2.1 * k}))"}
             for k, z in enumerate(names, 1)}
    return check(from_dict({"identcheck": 1, "latents": names, "environments": {"values": list(range(9))},
                            "noise": {"family": "gaussian", "params": noise}, "mechanisms": mechanisms}))


def test_edge_wise_zeros_below_a_contested_parent_are_contested():
    """C9 with a grandchild z4 = u*z3 + (u - 1)*z1: z4's edges vanish at u = 0 and u = 1, never together, and
    its parent z3 is contested, not identifiable, so Step III cannot identify z4 (SPEC §5 rule 6): contested,
    not identifiable (a contested parent counted as identified would make z4 identifiable)."""
    r = four_latents({"z2": "z1", "z3": "u*z2 + (u - 1)*z1", "z4": "u*z3 + (u - 1)*z1"})
    assert [r.nodes[z].verdict for z in ("z2", "z3", "z4")] == ["unidentifiable", "contested", "contested"]
    assert "z3 are not identifiable" in r.nodes["z4"].reason


def test_an_unidentifiable_parent_makes_edge_wise_zeros_contested_beside_an_undecided_one():
    """z4 = u*z2 + (u - 1)*z3 has edge-wise zeros only (u = 0 and u = 1); its parent z3 = 0.8*z1 is
    unidentifiable and its parent z2 (u*floor(z1), undecided) may be either: z3 alone rules out Step III, so
    z4 is contested whatever z2 turns out to be (SPEC §5 rule 6). It read 'undecided', with a reason that
    called z3's status undecided too."""
    r = four_latents({"z2": "u*floor(z1)", "z3": "0.8*z1", "z4": "u*z2 + (u - 1)*z3"})
    assert (r.nodes["z2"].verdict, r.nodes["z3"].verdict) == ("undecided", "unidentifiable")
    node = r.nodes["z4"]
    assert node.verdict == "contested"
    assert "parent(s) z3 are not identifiable" in node.reason and "z2 is undecided" in node.reason


def test_edge_wise_zeros_with_only_undecided_parents_stay_undecided():
    """Guard for the test above: when every parent that is not identifiable is undecided, Step III might still
    apply, so z4 (edge-wise zeros at u = 0 and u = 1) is undecided."""
    r = four_latents({"z2": "u*floor(z1)", "z4": "u*z2 + (u - 1)*z1"})
    assert r.nodes["z4"].verdict == "undecided" and "z2 is undecided" in r.nodes["z4"].reason


def test_a_failing_edge_beside_an_undecided_one_fails_iv_in_every_reading():
    """One edge fails (0.8*z1 never vanishes) and one is undecided (u*floor(z1)): (iv) fails whatever the
    undecided edge turns out to be, in its status and in the three readings; 'unknown' would hide a sure
    failure."""
    iv = three_latents({"z2": "u*floor(z1)", "z3": "0.8*z1"}).assumptions["iv"]
    assert [e.status for e in iv.edges] == ["undecided", "fails"]
    assert iv.status == "fails" and dict(iv.readings) == {"edge": "fails", "node": "fails", "global": "fails"}


def test_an_undecided_edge_is_not_reported_as_without_influence():
    """u*floor(z1): no environment decides, so nothing shows that z1 has no influence; the flag that makes the
    verdicts ignore a parent ((iv-b) fails) must stay off."""
    iv = three_latents({"z2": "u*floor(z1)"}).assumptions["iv"]
    assert iv.edges[0].status == "undecided" and iv.edges[0].no_influence is False
    assert "no influence" not in iv.reason
