"""Assumption (iv) per edge (SPEC §2 (iv), §5 "Checking (iv)"): zero-testing identically in the parents,
the grading of zeros (observed / extrapolated / outside), and the three readings (iv-E, iv-N, iv-G).

The probe is deterministic (seed 0 in every call); the numeric margin is the relative tolerance 1e-9 of
SPEC §5 step 2c.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from identcheck import check, from_dict, load_example
from identcheck.check.condition_iv import DEFAULT_PROBES, DEFAULT_TOL, _Context, analyse_iv, check_edge
from identcheck.check.zeros import is_zero_exact, probe_points, scan_zero_set, separate, vanishing_profile
from test_support_probes import spec

NOISE2 = {"z1": {"mean": "1.5*sin(1.7*u + 0.9)", "std": "exp(0.6*cos(1.3*u + 2.1))"},
          "z2": {"mean": "1.5*sin(1.7*u + 1.8)", "std": "exp(0.6*cos(1.3*u + 4.2))"}}
NOISE3 = {**NOISE2, "z3": {"mean": "1.5*sin(1.7*u + 2.7)", "std": "exp(0.6*cos(1.3*u + 6.3))"}}


def two_latents(mechanism: str, values=(0, 1, 2, 3, 4), domain=None, family="gaussian", noise=None):
    env = {"values": list(values)}
    if domain is not None:
        env["domain"] = list(domain)
    return from_dict({"identcheck": 1, "name": "t", "latents": ["z1", "z2"], "environments": env,
                      "noise": {"family": family, "params": noise or NOISE2}, "mechanisms": {"z2": mechanism}})


def test_zero_at_a_point_of_the_parents_is_not_a_zero_identically():
    """(iv-a) needs d(., u') == 0 for EVERY parent value: 2u*z1 vanishes at z1 = 0 for every u, yet only u = 0
    is a zero of the edge (catalogue C6)."""
    edge = check_edge(two_latents("u*z1**2"), "z1", "z2")
    assert edge.vanishes_at == (0,)
    assert edge.nonzero_at == 1 and edge.nonzero_point == {"z1": 1.0}


def test_derivative_vanishing_on_a_half_line_is_not_identically_zero():
    """SPEC §5 pitfalls: u*Max(z1, 0) + (u - 1)*Min(z1, 0) has d = Heaviside(-z1) at u = 0 and Heaviside(z1)
    at u = 1, each zero on a half-line only, so the edge has no zero anywhere."""
    edge = check_edge(two_latents("u*Max(z1, 0) + (u - 1)*Min(z1, 0)"), "z1", "z2")
    assert edge.status == "fails" and edge.vanishes_at == ()
    assert edge.zero_set == "no real u"


def test_half_line_zero_counts_where_the_support_is_the_half_line():
    """The support S_i decides (SPEC §5 pitfalls): d = u + Heaviside(-z1) is identically zero at u = 0 on
    (0, inf), the support of gamma noise, but not on the real line (Gaussian noise)."""
    gamma = {z: {"shape": f"2 + sin(u + {k})", "rate": f"1 + 0.5*cos(2*u + {k})"} for k, z in enumerate(["z1", "z2"])}
    on_half_line = check_edge(two_latents("u*z1 - Min(z1, 0)", family="gamma", noise=gamma), "z1", "z2")
    on_real_line = check_edge(two_latents("u*z1 - Min(z1, 0)"), "z1", "z2")
    assert on_half_line.vanishes_at == (0,)
    assert on_real_line.vanishes_at == ()


def test_hidden_zero_equivalence_is_proven_not_mistaken_for_a_change():
    """sin^2 + cos^2 - 1 is a non-canonical zero: the edge still vanishes identically at u = 0, proven exactly."""
    edge = check_edge(two_latents("u*z1 + (sin(z1)**2 + cos(z1)**2 - 1)*z1"), "z1", "z2")
    assert edge.status == "holds" and edge.vanishes_at == (0,)
    assert edge.method == "symbolic"


def test_floating_point_cancellation_at_large_parent_values_is_not_a_witness():
    """cosh^2 - sinh^2 - 1 == 0 cancels catastrophically near |z1| = 30 (terms ~ 1e25); the relative tolerance
    (SPEC §5 step 2c) keeps it a zero."""
    edge = check_edge(two_latents("u*z1 + z1*(cosh(z1)**2 - sinh(z1)**2 - 1)"), "z1", "z2")
    assert edge.vanishes_at == (0,)


def test_nonzero_witness_is_a_point_where_the_derivative_really_is_nonzero():
    """The reported (u'', p) is a real witness of (iv-b): evaluating d there exactly gives a non-zero number."""
    scm = two_latents("sin(z1) + u*z1")
    edge = check_edge(scm, "z1", "z2")
    u, z1 = sp.symbols("u z1", real=True)
    d = sp.diff(scm.mechanism("z2"), scm.symbol("z1"))
    value = d.subs({scm.environments.symbols[0]: edge.nonzero_at, scm.symbol("z1"): edge.nonzero_point["z1"]})
    assert abs(float(value)) > 1e-3


def test_declared_parent_without_influence_is_reported():
    """tanh(z2) - (exp(2 z2) - 1)/(exp(2 z2) + 1) is zero, but sympy keeps z2 as a free symbol: the edge
    z2 -> z3 fails (iv-b) everywhere and is flagged as having no influence."""
    scm = from_dict({"identcheck": 1, "latents": ["z1", "z2", "z3"], "environments": {"values": list(range(7))},
                     "noise": {"family": "gaussian", "params": NOISE3},
                     "mechanisms": {"z3": "u*z1 + tanh(z2) - (exp(2*z2) - 1)/(exp(2*z2) + 1)"}})
    edge = check_edge(scm, "z2", "z3")
    assert edge.status == "fails" and edge.no_influence
    assert "no influence" in edge.reason
    assert edge.vanishes_at == tuple(range(7))


def test_root_solved_in_u_is_graded_observed():
    """C13: the zero u* = 0.3 of (u - 0.3) is found by solving and matches an observed environment."""
    edge = check_edge(load_example("C13"), "z1", "z2")
    assert edge.status == "holds" and edge.vanishes_at == (0.3,) and not edge.extrapolated
    assert edge.zero_set == "u = 0.3"


def test_root_inside_the_declared_domain_but_unobserved_is_graded_extrapolated():
    """SPEC §2 'Must u' be observed?': a formula zero at an unobserved u of the declared domain counts, flagged."""
    edge = check_edge(load_example("C13_extrapolated"), "z1", "z2")
    assert edge.status == "holds" and edge.extrapolated
    assert edge.vanishes_at == () and edge.extrapolated_zeros == (0.6,)


def test_root_outside_the_declared_domain_does_not_count():
    """C13b: the only zero u = -2 of (u + 2) lies outside [0, 1]."""
    edge = check_edge(load_example("C13b"), "z1", "z2")
    assert edge.status == "fails" and edge.extrapolated_zeros == ()
    assert "outside the declared domain" in edge.reason


def test_unobserved_root_without_a_declared_domain_does_not_count():
    """With no domain the domain is the observed values alone: the zero u = 0.5 of (u - 0.5) is not in it."""
    edge = check_edge(two_latents("(u - 0.5)*z1"), "z1", "z2")
    assert edge.status == "fails"
    assert "no domain is declared" in edge.reason


def test_vector_environment_zero_set_is_a_curve_decided_exactly_at_observed_points():
    """C13b_vector: (u1*u2 - 1) vanishes on the hyperbola u1*u2 = 1, which passes through the observed (2, 0.5)."""
    edge = check_edge(load_example("C13b_vector"), "z1", "z2")
    assert edge.vanishes_at == ((2, 0.5),) and edge.method == "symbolic"
    assert edge.zero_set == "u1*u2 - 1 = 0"


def test_one_hot_segments_count_only_observed_zeros():
    """C12c: lam = [0.5, 1, 1.5, 2, 2.5] never vanishes on a segment; nothing is extrapolated between segments."""
    edge = check_edge(load_example("C12c"), "z1", "z2")
    assert edge.status == "fails" and not edge.extrapolated


def test_non_separable_zero_in_the_domain_is_found_by_the_numeric_scan():
    """tanh((u - 0.25)*z1) cannot be split into c(u)*phi(z1); its zero u = 1/4 in [0, 1] (unobserved) is found by
    the scan of SPEC §5 step 3 and verified exactly."""
    edge = check_edge(two_latents("tanh((u - 0.25)*z1)", values=(0, 0.5, 0.75, 1, 0.9), domain=(0, 1)),
                      "z1", "z2")
    assert edge.status == "holds" and edge.extrapolated
    assert edge.extrapolated_zeros == (0.25,)


def test_node_wise_reading_needs_a_common_zero_of_all_parent_edges():
    """C9: edge zeros at u = 0 (z2 -> z3) and u = 1 (z1 -> z3) never coincide: no node-wise zero for z3."""
    iv = analyse_iv(load_example("C9"))
    assert iv.edges[("z2", "z3")].result.vanishes_at == (0,)
    assert iv.edges[("z1", "z3")].result.vanishes_at == (1,)
    assert iv.nodes["z3"].observed == frozenset()


def test_edge_wise_reading_can_hold_while_node_wise_and_global_fail():
    """C10: every edge vanishes somewhere (iv-E), but z3 has no common zero (iv-N) and no u kills every edge (iv-G)."""
    readings = analyse_iv(load_example("C10")).result.readings
    assert readings == {"edge": "holds", "node": "fails", "global": "fails"}


def test_global_reading_holds_when_one_u_kills_every_edge():
    """C11: u*z1*z2 vanishes identically in both parents at u = 0 (iv-G)."""
    iv = analyse_iv(load_example("C11"))
    assert iv.result.readings["global"] == "holds" and iv.result.global_vanishes_at == (0,)


# -- the zero-testing primitives -------------------------------------------------------------------------

def test_separation_groups_the_parent_dependent_factors():
    u, z1, z2 = sp.symbols("u z1 z2", real=True)
    s = separate(u * sp.sin(z1) * z2 + 3 * sp.sin(z1) * z2 + u**2, [z1, z2])
    assert dict(zip(s.factors, s.coefficients)) == {z2 * sp.sin(z1): u + 3, sp.Integer(1): u**2}


def test_separation_refuses_a_factor_that_mixes_u_and_the_parents():
    u, z1 = sp.symbols("u z1", real=True)
    assert separate(sp.exp(u * z1), [z1]) is None


def test_exact_zero_test_never_calls_a_non_canonical_expression_nonzero():
    """Richardson: 'simplify did not return 0' must not mean non-zero; an undecided expression gives None."""
    z1 = sp.Symbol("z1", real=True)
    assert is_zero_exact(sp.cos(z1) + 2) is None
    assert is_zero_exact(sp.Rational(1, 3) - sp.Rational(2, 6)) is True


def test_profile_decides_every_environment_in_one_evaluation():
    u, z1 = sp.symbols("u z1", real=True)
    us = np.array([0.0, 1.0, 2.0, 0.0])
    profile = vanishing_profile(u * (u - 2) * sp.tanh(u * z1), [z1], probe_points((-np.inf, np.inf), 1),
                                {u: us}, {u: [sp.Integer(int(v)) for v in us]})
    assert profile.zero.tolist() == [True, False, True, True]
    assert profile.proven.tolist() == [True, False, True, True]


def test_scan_reports_an_interval_of_zeros():
    """Max(u, 0)*tanh(u*z1) vanishes for every u <= 0: the scan reports an interval, not a point."""
    u, z1 = sp.symbols("u z1", real=True)
    zeros, proven = scan_zero_set(sp.Max(u, 0) * sp.tanh(u * z1), [z1], u, (-1.0, 1.0),
                                  probe_points((-np.inf, np.inf), 1), grid=201)
    assert isinstance(zeros, sp.Interval) and zeros.inf == -1 and float(zeros.sup) == pytest.approx(0, abs=0.01)
    assert not proven


@pytest.mark.parametrize("mechanism", ["tanh((u - 0.25)**2*z1)", "tanh((u - 0.25)**2*z1) + (u - 0.25)**2*z1"])
def test_scan_finds_an_even_order_zero_that_does_not_change_sign(mechanism):
    """tanh((u - 0.25)^2 z1): d = (u - 1/4)^2 sech^2(...) touches zero at u = 1/4 without a sign change. Since
    stop 46 a power factor is tested through its base (u - 1/4), which does change sign; the second form's
    d = (u - 1/4)^2 (sech^2(...) + 1) is a sum, so only the scan's search of local minima finds its zero (a
    mutation audit found the first form passing without that search)."""
    edge = check_edge(two_latents(mechanism, domain=(-2, 5)), "z1", "z2")
    assert edge.status == "holds" and edge.extrapolated_zeros == (0.25,)


def test_scan_does_not_mistake_a_small_value_for_a_zero():
    """exp((u + 1) z1) spans many orders of magnitude over u; only u = -1 is a zero, and a derivative without
    any zero (tanh(u z1) + z1/2) is reported as failing, numerically (a scan that finds nothing proves nothing)."""
    assert check_edge(two_latents("exp((u + 1)*z1)", domain=(-2, 5)), "z1", "z2").extrapolated_zeros == (-1.0,)
    edge = check_edge(two_latents("tanh(u*z1) + 0.5*z1", domain=(-2, 5)), "z1", "z2")
    assert edge.status == "fails" and edge.method == "numeric"


def test_an_observed_zero_is_not_listed_among_the_extrapolated_zeros():
    """C13: (u - 0.3)*z1 is solved to u = 0.3 inside [0, 1], and u = 0.3 is observed: the edge holds at an
    observed environment, and its extrapolated zeros (the unobserved ones of the domain) are none."""
    edge = check_edge(load_example("C13"), "z1", "z2")
    assert (edge.vanishes_at, edge.extrapolated, edge.extrapolated_zeros) == ((0.3,), False, ())


def test_the_nonzero_witness_point_belongs_to_the_reported_environment():
    """d = u*(z1 - u) is non-zero at u = 1, 2, 3, 4 but vanishes at z1 = u in each, so the first simple probe
    point, z1 = 1, shows the non-zero at u = 4 and not at u = 1: the reported point must show it at the
    reported environment nonzero_at (not at another one's)."""
    edge = check_edge(two_latents("u*(z1**2/2 - u*z1)"), "z1", "z2")
    assert edge.status == "holds" and edge.vanishes_at == (0,)
    u, z1 = edge.nonzero_at, edge.nonzero_point["z1"]
    assert u * (z1 - u) != 0


def test_a_domain_scan_that_finds_nothing_is_numeric_though_a_factor_is_solved():
    """(u + 2)*(u + 1)*sech((u + 1)*z1)**2: the factor in u vanishes at -2 and -1 only, outside [0, 6], and the
    rest is not separable, so only the numeric scan says there is no zero in the domain: the failure rests on
    probes, and the method says so."""
    edge = check_edge(two_latents("(u + 2)*tanh(u*z1 + z1)", domain=(0, 6)), "z1", "z2")
    assert (edge.status, edge.method) == ("fails", "numeric")
    assert "[numeric: decided by probe points, not proven]" in edge.reason


def _scan(derivative: str, interval: tuple[float, float]) -> tuple[sp.Set, bool]:
    u, z1 = sp.symbols("u z1", real=True)
    expr = sp.sympify(derivative, locals={"u": u, "z1": z1})
    return scan_zero_set(expr, [z1], u, interval, probe_points((-np.inf, np.inf), 1))


@pytest.mark.parametrize("derivative, interval, zero", [
    ("tanh((u - 1/3)**2*z1)", (-1.0, 2.0), sp.Rational(1, 3)),  # between grid values, nearer the right one
    ("tanh((u - 1/3)**2*(2 + sin(100*u))*z1)", (-1.0, 2.0), sp.Rational(1, 3)),  # among ~50 shallow minima
    ("tanh((u - 201/2)**2*z1)", (0.0, 800.0), sp.Rational(201, 2)),  # halfway: two grid values share the minimum
])
def test_scan_finds_an_even_order_zero_between_grid_values_at_a_local_minimum(derivative: str,
                                                                             interval: tuple[float, float],
                                                                             zero: sp.Expr) -> None:
    """An even-order zero in u changes no sign: the scan finds it as the deepest local minimum of |d(p, .)| on
    its grid, refined between the two neighbouring grid values (SPEC §5 step 3). Called directly, as the
    checker's own route takes a power of a factor in u to its base (`without_powers`) and solves it; a mutation
    audit found the local-minimum search, its bracket and its ordering untested."""
    assert _scan(derivative, interval) == (sp.FiniteSet(zero), True)


@pytest.mark.parametrize("derivative", ["tanh((u - 1/10)**2*z1)", "tanh((u - 1/10)**2*z1) + (u - 1/10)**2*z1"])
def test_scan_keeps_an_even_order_zero_that_falls_on_a_grid_value(derivative: str) -> None:
    """At the grid value 0.1 of [0, 1] (the float nearest 1/10, not 1/10) both forms are 0.0 at every probe and
    change no sign. The sum's expanded terms cancel to a relative 1e-16 there, a grid zero, kept as a candidate
    without its own 50-digit look (which shows the float 0.1 off the root) and proven at 1/10. The single term
    was lost: the expanded terms' rounding (1.7e-18*z1 inside the tanh) leaves it its full size, so the grid
    test missed it, and a local minimum of size 0 is no candidate. Fixed: such a lone grid value is a
    candidate, proven exactly like the others."""
    assert np.linspace(0.0, 1.0, 801)[80] == 0.1
    assert _scan(derivative, (0.0, 1.0)) == (sp.FiniteSet(sp.Rational(1, 10)), True)


def test_scan_finds_a_zero_though_the_first_probes_vanish_for_every_u() -> None:
    """tanh((u - 1/3)*(z1 - 1)) is 0 for every u at the first two probe points (z1 = 1), so their curves in u
    show nothing; the other tracked probes find u = 1/3, which vanishes identically."""
    assert probe_points((-np.inf, np.inf), 1)[:2, 0].tolist() == [1.0, 1.0]
    assert _scan("tanh((u - 1/3)*(z1 - 1))", (-1.0, 2.0)) == (sp.FiniteSet(sp.Rational(1, 3)), True)


def test_scan_finds_a_sign_change_that_float64_underflows_at_50_digits() -> None:
    """(u - 383/2)*sech(u/10 + z1*(u - 383/2))**2 is 0.0 in float64 for u near 191 at every probe, whatever
    the sign of u - 383/2: the sign change across that stretch shows only at 50 digits."""
    assert _scan("(u - 383/2)*(1 - tanh(u/10 + z1*(u - 383/2))**2)", (0.0, 201.0)) == (
        sp.FiniteSet(sp.Rational(383, 2)), True)


@pytest.mark.parametrize("derivative, zero", [("tanh((u - 1 - sqrt(2))*z1)", 1 + sp.sqrt(2)),
                                              ("tanh((u - pi/4)*z1)", sp.pi / 4)])
def test_scan_proves_a_zero_with_a_short_closed_form(derivative: str, zero: sp.Expr) -> None:
    """A zero found by the scan is rationalised, or written with sqrt, pi or E (nsimplify), and proven
    exactly: the set is exact and the result proven."""
    assert _scan(derivative, (0.0, 3.0)) == (sp.FiniteSet(zero), True)


@pytest.mark.parametrize("mechanism, values, domain", [
    ("(u**2 - 1)/(u - 1)*z1", (0, 0.5, 2, 3, 4), (0, 4)),  # u + 1 away from u = 1, where it is 0/0
    ("sin(u)/u*z1", (-1, 0.5, 2, 2.5, 3), (-1, 3)),  # sinc: no zero in [-1, 3], 1 in the limit at u = 0
    ("tan(u)*cos(u)*z1", (1, 1.2, 1.4, 1.8, 2), (1, 2)),  # sin(u) away from the poles of tan: no zero in [1, 2]
    ("(u**2 - 1)/(u - 1)*tanh(u*z1)", (0.2, 0.5, 2, 3, 4), (0.2, 4)),  # the domain scan's factor in u alone
])
def test_a_zero_of_one_factor_where_another_has_a_pole_is_no_zero(mechanism: str, values: tuple[float, ...],
                                                                  domain: tuple[float, float]) -> None:
    """A zero of one factor of dg/dz1 in u counts only where the other factors are finite: (u**2 - 1)/(u - 1)
    is undefined at u = 1 (2 in the limit), so g_z2(., 1) is never constant in z1, and the edge has no zero in
    the domain. Each factor was solved on its own, and u = 1 (or 0, or pi/2) was read as an extrapolated zero:
    z2 identifiable instead of unidentifiable."""
    edge = check_edge(two_latents(mechanism, values=values, domain=domain), "z1", "z2")
    assert edge.status == "fails" and edge.extrapolated_zeros == ()


def test_a_removable_pole_leaves_the_other_zeros_of_the_factors() -> None:
    """u*log(u) is undefined at u = 0 (log(0)), but vanishes at u = 1: only u = 1 is an extrapolated zero."""
    edge = check_edge(two_latents("u*log(u)*z1", values=(0.5, 0.7, 1.5, 1.8, 2), domain=(0, 2)), "z1", "z2")
    assert edge.status == "holds" and edge.extrapolated_zeros == (1.0,)


# Probes beside the switches of a Heaviside, sign, Abs, Max, Min or Piecewise (SPEC §5 Pitfalls): a step that is
# on only in a window that no random probe reaches made the derivative read as identically 0 there, the edge
# "holds" and the node identifiable, though g is never constant in the parent (`_Context.switch_points`).

BETA2 = {"z1": {"a": "2 + sin(u)", "b": "2 + cos(u)"}, "z2": {"a": "2 + cos(u)", "b": "2 + sin(u)"}}


def _verdict(scm, node: str = "z2") -> str:
    return check(scm).nodes[node].verdict


@pytest.mark.parametrize("mechanism", [
    "u*z1 + Max(z1 - 10000000, 0)",  # d = u + Heaviside(z1 - 1e7): the large probes reach about 1e6
    "u*z1 + Heaviside(z1 - 10000000)*z1",
    "u*z1 + Abs(z1 + 10000000) - z1",  # d = u + sign(z1 + 1e7) - 1: -2 below -1e7 at u = 0
    "Piecewise((u*z1, z1 < 10000000), (u*z1 + z1**2, True))",
    "u*z1 + Max(z1 - 10000000*(u + 1), 0)",  # a switch that moves with u
])
def test_a_step_switched_on_beyond_every_random_probe_is_no_zero(mechanism: str) -> None:
    """Spec A: at u = 0 the derivative is 0 up to 1e7 and not beyond, so (iv) fails and z2 is unidentifiable;
    the witness lies beside the switch."""
    scm = two_latents(mechanism)
    edge = check_edge(scm, "z1", "z2")
    assert edge.status == "fails" and edge.vanishes_at == () and edge.extrapolated_zeros == ()
    assert edge.nonzero_at == 0 and abs(abs(edge.nonzero_point["z1"]) - 1e7) <= 1e4
    assert "non-zero beside a switch" in edge.reason and "u = 0 (z1 = " in edge.reason
    assert _verdict(scm) == "unidentifiable"


def test_a_step_switched_on_within_the_random_probes_stays_as_it_was() -> None:
    """The control of Spec A: Max(z1 - 1e5, 0) is on at the large probes, as before (fails, symbolic)."""
    edge = check_edge(two_latents("u*z1 + Max(z1 - 100000, 0)"), "z1", "z2")
    assert (edge.status, edge.method, edge.vanishes_at) == ("fails", "symbolic", ())
    assert "beside a switch" not in edge.reason


@pytest.mark.parametrize("mechanism", ["Max(z1 - 0.999, 0) + (u - 2)*z1",
                                       "Abs(z1 - 0.999) - (0.999 - z1) + (u - 2)*z1"])
def test_a_step_on_in_a_narrow_window_of_the_support_is_no_zero(mechanism: str) -> None:
    """Spec B: Beta noise, z1 in (0, 1). At u = 2 the derivative is Heaviside(z1 - 0.999) (or sign(z1 - 0.999)
    + 1), non-zero on (0.999, 1), inside the support: (iv) fails; the witness z1 = 0.999001 is in the window."""
    edge = check_edge(two_latents(mechanism, family="beta", noise=BETA2), "z1", "z2")
    assert edge.status == "fails" and edge.vanishes_at == ()
    assert "u = 2 (z1 = 0.999001)" in edge.reason


@pytest.mark.parametrize("mechanism", ["Max(z1 - 1, 0) + (u - 2)*z1", "Abs(z1 - 1) - (1 - z1) + (u - 2)*z1"])
def test_a_switch_outside_the_support_is_never_probed(mechanism: str) -> None:
    """The control of Spec B: the switch at z1 = 1 lies outside (0, 1); the points beside it (1.000001, ...) are
    not in the support and are not used: the edge vanishes at u = 2, proven."""
    scm = two_latents(mechanism, family="beta", noise=BETA2)
    edge = check_edge(scm, "z1", "z2")
    assert (edge.status, edge.vanishes_at, edge.method) == ("holds", (2,), "symbolic")
    ctx = _Context(scm, DEFAULT_TOL, 0, DEFAULT_PROBES)
    points = ctx.switch_points("z2", [sp.diff(scm.mechanism("z2"), scm.symbol("z1")), scm.mechanism("z2")])
    assert points is not None and np.all((points > 0) & (points < 1))


def test_a_jump_in_the_mechanism_beyond_every_random_probe_is_its_influence() -> None:
    """g = u*z1 + [z1 >= 1e7]: at u = 0 the derivative is 0 (the Piecewise's jump is dropped), but g jumps at
    1e7: the jump test reads the points beside the switch too."""
    edge = check_edge(two_latents("u*z1 + Piecewise((0, z1 < 10000000), (1, True))"), "z1", "z2")
    assert edge.status == "fails" and edge.vanishes_at == ()


def test_a_switch_on_a_moving_support_is_probed_where_the_support_reaches_it() -> None:
    """Beta noise, z2 = 2*z1 + n2 lives in (0, 3), and beyond 2.99 only where z1 > 0.995: the points beside
    the switch take the other latents from noise near the ends of its support too, and every point kept
    implies noise inside (0, 1). At u = 2 the derivative in z2 is Heaviside(z2 - 2.99): no zero."""
    scm = from_dict(spec("beta", {"z2": "2*z1", "z3": "(u - 2)*z2 + Max(z2 - 2.99, 0) + z1"}))
    edge = check_edge(scm, "z2", "z3")
    assert edge.status == "fails" and edge.vanishes_at == ()
    ctx = _Context(scm, DEFAULT_TOL, 0, DEFAULT_PROBES)
    points = ctx.switch_points("z3", [sp.diff(scm.mechanism("z3"), scm.symbol("z2"))])
    z1, z2 = points[..., 0], points[..., 1]
    assert np.all((z1 > 0) & (z1 < 1) & (z2 - 2 * z1 > 0) & (z2 - 2 * z1 < 1))
    assert np.any(z2 > 2.99)
    control = from_dict(spec("beta", {"z2": "2*z1", "z3": "(u - 2)*z2 + Max(z2 - 3, 0) + z1"}))
    assert check_edge(control, "z2", "z3").vanishes_at == (2,)


def test_the_domain_scan_probes_beside_the_switches() -> None:
    """tanh((u - 2.5)*z1) + Max(z1 - 1e7, 0): at u = 2.5 the derivative is Heaviside(z1 - 1e7), not 0; the
    scan of the declared domain read u = 2.5 as an extrapolated zero. On a moving support (Gamma: z2 = 5 + n2
    in (5, inf)) likewise for Max(5.001 - z2, 0), while Max(2 - z2, 0), off the support, leaves the zero."""
    edge = check_edge(two_latents("tanh((u - 2.5)*z1) + Max(z1 - 10000000, 0)", domain=(0, 4)), "z1", "z2")
    assert edge.status == "fails" and edge.extrapolated_zeros == ()
    for kink, zeros in (("5.001 - z2", ()), ("2 - z2", (2.5,))):
        data = spec("gamma", {"z2": "5", "z3": f"tanh((u - 2.5)*z2) + Max({kink}, 0)"}, latents=("z2", "z3"),
                    values=(1, 2, 3, 4, 5), domain=[0, 5])
        assert check_edge(from_dict(data), "z2", "z3").extrapolated_zeros == zeros


def test_switches_are_solved_in_closed_form_only() -> None:
    """Switch points are solved where the argument is a polynomial of degree at most 2 in the parent; others
    (cos(z1) - z1) are skipped, not guessed."""
    from identcheck.check.condition_iv import _switch_roots
    z1, z2, u = sp.symbols("z1 z2 u", real=True)
    assert _switch_roots((z1 - u * z2, sp.cos(z1) - z1, z1**3 - 2), z1) == (u * z2,)


@pytest.mark.parametrize("root", ["1.4142135623", "0.999999999999999999999999999999"])
def test_a_zero_solved_exactly_is_listed_once_and_written_with_all_its_digits(root):
    """The factor (u - c) of d = (1 - tanh(z1*(u - c))**2)*(u - c) is solved exactly, and the domain scan found
    the same zero again as a float 2e-12 away: the set read {1.4142135623, 1.4142135623} (graded numeric), and
    a 30-digit c was printed with 15 digits, 'u - 1.0', a zero at 1 that is not there. Found by a review."""
    spec = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": [0, 2, 3], "domain": [0, 3]},
            "noise": {"family": "gaussian", "params": NOISE2}, "mechanisms": {"z2": f"tanh(z1*(u - {root}))"}}
    result = check_edge(from_dict(spec), "z1", "z2")
    assert (result.status, result.method) == ("holds", "symbolic") and len(result.extrapolated_zeros) == 1
    assert f"(u - {root})" in result.reason and f"vanishes identically at u = {root}, inside" in result.reason
