"""Numeric zero tests of (iv) and the related numeric probes (SPEC §5 "Checking (iv) with sympy", Pitfalls):
false "zero" verdicts from float64 cancellation, a too loose tolerance and probes that miss far half-lines;
the intercept caveat on duplicated environments; a false collision of an injective mixing."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import identcheck
from identcheck import from_dict, load_example
from identcheck.check.condition_iii import check_noise_variability
from identcheck.check.condition_iv import check_condition_iv, check_edge
from identcheck.check.noise_mixing import check_injectivity
from identcheck.check.zeros import _deep_witnesses
from identcheck.errors import SpecError

NOISE2 = {"z1": {"mean": "1.5*sin(1.7*u+0.9)", "std": "exp(0.6*cos(1.3*u+2.1))"},
          "z2": {"mean": "1.5*sin(1.7*u+1.8)", "std": "exp(0.6*cos(1.3*u+4.2))"}}


def spec(mechanism: str, values=(0, 1, 2, 3, 4), **extra) -> dict:
    return {"identcheck": 1, "name": "t", "latents": ["z1", "z2"], "environments": {"values": list(values)},
            "noise": {"family": "gaussian", "params": NOISE2}, "mechanisms": {"z2": mechanism}, **extra}


def edge(mechanism: str, values=(0, 1, 2, 3, 4)):
    return check_edge(from_dict(spec(mechanism, values)), "z1", "z2")


def test_float_cancellation_of_tanh_squared_is_not_a_zero():
    """d = 502*sech(50 + 502*z1)**2 > 0 at u = 500; in float64 tanh**2 == 1, the expanded terms cancel."""
    result = edge("tanh((u + 2)*z1 + 0.1*u)", (0, 1, 2, 3, 500))
    assert result.vanishes_at == () and result.status == "fails"


def test_tiny_but_real_coefficient_is_a_witness_at_the_spec_precision():
    """d(., 1) = -1e-10*sech(z1 + 1)**2: relative 5e-11, above the 1e-12 tolerance for 15-digit numbers."""
    result = edge("(u - 1.0000000001)*tanh(z1 + u)", (1, 2, 3, 4, 5))
    assert result.vanishes_at == ()


def test_tiny_but_real_coefficient_of_a_separable_derivative_is_decided_by_its_exact_value():
    """d = u - 1.0000000001: at u = 1 the probe's relative residual, 5e-11, is below the tolerance 1e-9, but
    the coefficient is exactly -1e-10, not 0: a non-zero, decided exactly (not left undecided)."""
    result = edge("(u - 1.0000000001)*z1", (1, 2, 3, 4, 5))
    assert (result.status, result.vanishes_at, result.method) == ("fails", (), "symbolic")


def test_spec_number_artefact_below_the_tolerance_still_counts_as_zero():
    """0.3333333333333333*3 differs from 1 only in the 16th digit: a zero at the spec's precision."""
    result = edge("(u - 0.3333333333333333*3)*tanh(z1 + u)", (1, 2, 3, 4, 5))
    assert result.vanishes_at == (1,)


@pytest.mark.parametrize("mechanism, values, vanishes_at", [
    ("sin(pi*u)*z1", (0.5, 1, 1.5, 2.5, 3.5), (1,)),  # separable: the coefficient sin(pi*u)
    ("tanh(sin(pi*u)*z1)", (0.5, 1, 1.5, 2.5, 3.5), (1,)),  # not separable: the probe path
    ("cos(pi*u)*z1", (0, 0.5, 1, 2, 3), (0.5,)),
    ("sin(pi*u/2)*z1", (0, 1, 2, 3, 4, 5, 6), (0, 2, 4, 6)),
    ("tanh(sin(pi*u/2)*z1 + u)", (0, 1, 2, 3, 4, 5, 6), (0, 2, 4, 6)),
    ("(u - 1e-12)*tanh(z1 + u)", (0, 1, 2, 3, 4), ()),  # guards: small values that are real
    ("1e-30*u*z1", (0, 1, 2, 3, 4), (0,)),
    # every environment an integer: every float value is rounding, none stands out (stop 44's review)
    ("sin(pi*u)*z1", (0, 1, 2, 3, 4), (0, 1, 2, 3, 4)),
    ("sin(pi*u)*exp(u*z1)", (0, 1, 2, 3, 4), (0, 1, 2, 3, 4)),  # not separable: the probe path
    ("1e-30*(u - 1)*z1", (0, 1, 2, 3, 4), (1,))])
def test_the_float_rounding_of_an_exact_zero_is_not_a_witness(mechanism, values, vanishes_at):
    """sin(pi*u) at u = 1 is 1.2e-16 in float64: a single term, so its relative residual is 1 and it read as a
    clear non-zero, graded symbolic; z2 came out unidentifiable with u = 1 observed (found in a review, stop
    43). A float value 1e-8 times below the same expression's largest over the environments is now tried
    exactly first, and the exact numbers decide. At integer u only, every value is about 1e-16 and none is
    below the others: a value under 1e-8 in absolute size is tried exactly too (stop 44)."""
    result = edge(mechanism, values)
    assert (result.vanishes_at, result.method) == (vanishes_at, "symbolic")
    assert result.status == ("holds" if 0 < len(vanishes_at) < len(values) else "fails")


def test_a_coefficient_that_rounds_to_zero_everywhere_leaves_a_common_zero():
    """z3 = sin(pi*u)*z1 + (u - 1)*z2 at integer u: z1 has no influence (sin(pi*k) = 0), and at u = 1 g_z3 is
    constant in all its parents, a node-wise zero, so z3 is identifiable; it read "contested" with the witness
    "non-zero at u = 1" (found in a review, stop 44)."""
    three = {**spec("z1", tuple(range(7))), "latents": ["z1", "z2", "z3"],
             "mechanisms": {"z2": "z1", "z3": "sin(pi*u)*z1 + (u - 1)*z2"}}
    three["noise"] = {"family": "gaussian", "params": {**NOISE2, "z3": {"mean": "cos(2.1*u)", "std": "1 + u/7"}}}
    report = identcheck.check(from_dict(three)).to_dict()
    idle = next(e for e in report["assumptions"]["iv"]["edges"] if (e["parent"], e["child"]) == ("z1", "z3"))
    assert idle["nonzero_at"] is None and idle["vanishes_at"] == list(range(7))
    assert report["nodes"]["z3"]["verdict"] == "identifiable"


@pytest.mark.parametrize("mechanism, vanishes_at", [
    ("Piecewise((1, z1 > 0), (0, True)) + u*z1", ()),  # the invariant part is a step in z1
    ("sign(z1) + u*z1", ()),
    ("2*Heaviside(z1) + u*z1", ()),
    ("sign(z1)", ()),  # a step in every environment: an influence, not an idle parent
    ("u*sign(z1)", (0,)),  # guards: the step vanishes at u = 0
    ("(u - 1)*z1*Heaviside(z1) + u", (1,)),  # continuous (ReLU): no jump to find
    ("Piecewise((z1, z1 > 0), (2*z1, True))*(u - 1)", (1,))])
def test_a_jump_in_the_parent_is_an_influence_though_the_derivative_vanishes(mechanism, vanishes_at):
    """g = 1[z1 > 0] + u*z1 at u = 0 is a step in z1, not constant (SPEC §2, (iv-a)), but sympy's derivative
    of the Piecewise drops the jump (and sign, Heaviside differentiate to DiracDelta, 0 at every probe): the
    edge held at u = 0 and z2 read identifiable, "constant in its parent z1 at u = 0" (found in a review,
    stop 44). Where the derivative vanishes, g is now compared at two probe values of the parent."""
    result = edge(mechanism)
    assert result.vanishes_at == vanishes_at and not result.no_influence
    assert result.status == ("holds" if vanishes_at else "fails")
    if not vanishes_at:
        assert "jumps in z1" in result.reason and result.method == "numeric"


def test_cancellation_inside_a_factor_is_not_a_witness_nor_independence():
    """(u - 1)*exp(z1) + 1/(cosh(z1) - sinh(z1)) is u*exp(z1): it vanishes at u = 0. In float64, 1/(cosh - sinh)
    at z1 = 14 is off by 3e-5, so the factors exp(z1) and 1/(cosh - sinh) looked independent and a probe there
    looked like a witness: the edge read "fails, symbolic" (found in a review, stop 43). Probe rows where
    float64 and extended precision disagree no longer count for independence, and such a witness is rechecked
    at 50 digits; sympy then proves the zero."""
    result = edge("(u - 1)*exp(z1) + 1/(cosh(z1) - sinh(z1))", (0, 1, 2, 3, 4))
    assert (result.status, result.vanishes_at, result.method) == ("holds", (0,), "symbolic")


@pytest.mark.parametrize("mechanism, vanishes_at", [
    ("(u - 1)*z1 + log(1 - erf(z1)) - log(erfc(z1))", (1,)),  # separable: u - 1 + 0
    ("(u - 1)*exp(z1) + log(1 - erf(z1)) - log(erfc(z1))", (1,)),
    ("(u - 1)*exp(z1) + exp(log(1 - erf(z1)) - log(erfc(z1)))", (1,)),  # the probe path
    ("(u - 1)*z1 + u*erfc(z1)", ()),  # guards: a scipy function that does not cancel
    ("(u - 1)*z1 + gamma(z1**2 + 1)/factorial(z1**2)", (1,)),  # gamma(t + 1)/t! = 1
])
def test_cancellation_inside_a_scipy_function_is_not_a_witness_nor_independence(mechanism, vanishes_at):
    """log(1 - erf(z1)) - log(erfc(z1)) is 0, but 1 - erf(z1) loses every digit in float64 beyond z1 = 6, so the
    two factors of the derivative looked independent and the edge read "fails, symbolic: no real zero in u",
    z2 unidentifiable. The cross-check at extended precision (see above) caught nothing: scipy.special has no
    long double loop and the evaluation failed, reading NaN. Such expressions are now checked with mpmath
    (known since stop 43, fixed in stop 45)."""
    result = edge(mechanism, (0, 1, 2, 3, 4))
    assert result.vanishes_at == vanishes_at and not result.no_influence
    assert result.status == ("holds" if vanishes_at else "fails")


def test_deep_digits_tell_a_tiny_influence_from_an_identitys_rounding():
    """At 200-5000 digits, u*(1 - tanh(z1)**2) at z1 = 600 (about 1e-520) is a witness at u = 1, and the
    rounding of an unsimplified identity is none. A float bound 10.0**(5 - 1000) underflows to 0.0 and made
    any rounding residue a witness (caught in review, stop 42)."""
    z, u = sp.symbols("z1 u", real=True)
    grid = np.full((2, 3, 1), 600.0)
    exact, table = {u: [sp.Integer(0), sp.Integer(1)]}, {u: np.array([0.0, 1.0])}
    assert _deep_witnesses(u*(1 - sp.tanh(z)**2), [z], [u], grid, exact, table, np.array([0, 1])) == {1: 0}
    identity = sp.Mul(u, z, sp.Add(sp.sin(z)**2, sp.cos(z)**2, -1, evaluate=False), evaluate=False)
    assert _deep_witnesses(identity, [z], [u], np.full((2, 3, 1), 1.7), exact, table, np.array([0, 1])) == {}


def test_half_line_far_out_is_covered_by_the_probes():
    """d = 0.8*Heaviside(z1 - 60) is not identically zero: the parent does influence z2."""
    result = edge("0.8*Max(z1 - 60, 0)")
    assert not result.no_influence
    assert result.vanishes_at == ()


def test_intercept_caveat_counts_distinct_environments():
    """values [0, 1, 2, 3, 0]: only 4 distinct environments < 2l+1 = 5, so no representation satisfies (iii)."""
    result = check_noise_variability(from_dict(spec("u*z1", (0, 1, 2, 3, 0))))
    assert result.status == "fails" and result.details["up_to_intercept"] == "fails"
    assert "across the 5 environments" not in result.reason


def test_injective_exponential_mixing_has_no_false_collision():
    """exp(z2) ~ 1e-31 vs 1e-51 agree absolutely but not relatively: f = (exp(z1), exp(z2)) is injective."""
    scm = from_dict(spec("u*z1", mixing={"kind": "expression", "x": ["exp(z1)", "exp(z2)"]}))
    assert check_injectivity(scm).status != "fails"


def test_c17_still_fails_by_a_collision():
    result = check_injectivity(load_example("C17"))
    assert result.status == "fails" and result.details["collision"] is not None


@pytest.mark.parametrize("gbar", ["Max(t, 0)", "Min(t, 10)", "Piecewise((t, t < -3), (-3, t < 2), (t - 5, True))",
                                  "Max(t, 100)", "Min(t, -70)", "Max(t, 10**5)", "t - 2*Max(t - 1000, 0)"])
def test_post_nonlinearity_flat_on_an_interval_is_rejected(gbar):
    """gbar with a zero derivative on a whole interval (or a sign change), near or far out (the grid runs
    log-spaced to 1e6 beyond [-50, 50]), is not invertible."""
    with pytest.raises(SpecError, match="not invertible"):
        from_dict(spec("u*z1", post_nonlinear={"z2": gbar}))


@pytest.mark.parametrize("gbar", ["t**9 - t", "t**7 - 0.001*t", "t**11 - t**3", "t**3 - 1.0e-9*t",
                                  "sin(t)**3 - 1.0e-9*t", "exp(t) - 1.0e-9*t", "t - 2/(1 + exp(-1000*t))"])
def test_post_nonlinearity_whose_derivative_turns_back_briefly_is_rejected(gbar):
    """Found in a review (stop 44): a sign change of gbar' only counted beyond 1e-12 times max|gbar'| on
    [-50, 50], so t**9 - t (gbar(-1) = gbar(0) = gbar(1)) passed as invertible and was simulated and checked.
    Pins that any strict sign change is refused, however small against the derivative's range, for
    polynomials (decided exactly) and other maps (scanned, densely near 0)."""
    with pytest.raises(SpecError, match=r"post_nonlinear\.z2: .*not invertible"):
        from_dict(spec("u*z1", post_nonlinear={"z2": gbar}))


@pytest.mark.parametrize("gbar", ["t**3/3 - t**2 + t", "t + t**3/(1 + t**2)", "t**5", "t - sin(t)",
                                  "exp(3*t)/3 - exp(2*t) + exp(t)"])
def test_post_nonlinearity_whose_derivative_only_touches_zero_is_accepted(gbar):
    """gbar' >= 0 and zero at isolated points only ((t - 1)**2; exp(t)*(exp(t) - 1)**2, which float64 rounds
    to -2.2e-16 at hundreds of points near 0): invertible. The strict sign-change test of stop 44 must not
    refuse it on rounding."""
    assert from_dict(spec("u*z1", post_nonlinear={"z2": gbar})).post_nonlinear


def test_post_nonlinearity_whose_derivative_underflows_around_an_isolated_zero_is_accepted():
    """tanh(t)**121 is invertible; its derivative 121*tanh(t)**120*sech(t)**2 is 0 only at t = 0, but float64
    gives 0.0 on a whole run of grid points around it (|t| < 0.003). A run counts as flat only where sympy
    finds both points of a pair exactly 0; the exact zero at t = 0 beside a mere underflow does not."""
    assert from_dict(spec("u*z1", post_nonlinear={"z2": "tanh(t)**121"})).post_nonlinear


@pytest.mark.parametrize("gbar", ["tanh(t)", "erf(t)", "1/(1 + exp(-t))", "atan(t)", "t**3", "t + sin(t)",
                                  "exp(t)", "2*t + Min(t - 600, 0)"])
def test_invertible_post_nonlinearity_whose_derivative_underflows_is_accepted(gbar):
    """tanh' = 1 - tanh**2 is 0.0 in float64 beyond |t| ~ 19 but never 0: an invertible gbar (stop 36's
    float-only flat test rejected tanh, erf and the logistic function)."""
    assert from_dict(spec("u*z1", post_nonlinear={"z2": gbar})).post_nonlinear


def test_a_parent_without_influence_fails_every_reading_of_iv():
    """(sin(u)**2 + cos(u)**2 - 1)*z1 declares z1 a parent of z2 without influence ((iv-b) fails): the
    edge-wise reading fails, and so must the node-wise and global ones, since G => N => E (SPEC §2); they
    said `holds` while the edge-wise reading failed."""
    readings = check_condition_iv(from_dict(spec("(sin(u)**2 + cos(u)**2 - 1)*z1"))).readings
    assert readings == {"edge": "fails", "node": "fails", "global": "fails"}


def test_domain_scan_confirms_its_zeros_at_50_digits():
    """dg_z3/dz2 = (u + 2)*sech(0.1*u + (u + 2)*z2)**2 has no zero in [0, 51]; beyond u ~ 50 all but a few of
    the probe points (z1, z2) sit where sech**2 < 1e-9, so the float64 scan saw an interval of zeros there and
    called z3 identifiable (extrapolated). Confirmed at 50 digits, the interval is gone: z3 is not."""
    noise = NOISE2 | {"z3": {"mean": "1.5*sin(1.7*u+2.7)", "std": "exp(0.6*cos(1.3*u+6.3))"}}
    scm = from_dict({"identcheck": 1, "latents": ["z1", "z2", "z3"],
                     "environments": {"values": list(range(7)), "domain": [0, 51]},
                     "noise": {"family": "gaussian", "params": noise},
                     "mechanisms": {"z3": "tanh((u - 0.5)*z1 + 0.1*u) + tanh((u + 2)*z2 + 0.1*u)"}})
    result = check_edge(scm, "z2", "z3")
    assert result.status == "fails" and result.extrapolated_zeros == ()
    assert check_edge(scm, "z1", "z3").extrapolated_zeros == (0.5,)  # the real zero stays


def test_domain_scan_keeps_a_real_interval_of_zeros():
    """Guard: d = Max(u - 40, 0)*u*sech(u*z1)**2 (not separable: the scan decides) vanishes identically for
    every u <= 40; the 50-digit check keeps that interval."""
    scm = from_dict(spec("Max(u - 40, 0)*tanh(u*z1)") | {"environments": {"values": [41, 42, 43, 44, 45],
                                                                           "domain": [0, 50]}})
    result = check_edge(scm, "z1", "z2")
    assert result.status == "holds" and result.extrapolated
    assert "Interval" in result.zero_set and all(0 <= v <= 40 for v in result.extrapolated_zeros)


@pytest.mark.parametrize("mechanism, zero_set", [("tanh(z1 + 100*u)**2", None),
                                                  ("Max(u - 1, 0)*tanh(z1 + 100*u)", "Interval(0, 1)")])
def test_domain_scan_looks_deeper_than_50_digits_before_keeping_an_interval(mechanism, zero_set):
    """d = 2*tanh(z1 + 100*u)*(1 - tanh(z1 + 100*u)**2) is never 0, but for u in about [0.7, 1] it is
    1e-61...1e-87 at the probes, below the 50-digit rounding of 1 - tanh**2: the scan kept an interval of
    zeros there and called z2 identifiable (extrapolated, numeric). A grid value is exact as given, so it is
    looked at with 200-5000 digits too, and the interval is gone. Max(u - 1, 0)*... vanishes for u <= 1
    exactly, and float64 zeros (underflow) go on to u = 1.44: the interval [0, 1] stays whole (it ended at
    0.9025, the last checked grid point before the first unclean one, until the boundary was bisected)."""
    scm = from_dict(spec(mechanism) | {"environments": {"values": [0, 0.5, 1.5, 2], "domain": [0, 2]}})
    result = check_edge(scm, "z1", "z2")
    if zero_set is None:
        assert result.status == "fails" and result.extrapolated_zeros == ()
    else:
        assert result.status == "holds" and zero_set in result.zero_set


@pytest.mark.parametrize("mechanism, zero", [("besselj(0, u)*z1", 2.404825557695773),
                                              ("tanh(besselj(0, u)*z1)", 2.404825557695773),
                                              ("tanh(besselj(0, u)*z1 + besselj(1, u)*z1**2)", None)])
def test_domain_scan_keeps_a_zero_without_a_closed_form(mechanism, zero):
    """J0's first zero, 2.4048..., has no closed form for nsimplify to guess; the float root is 1e-16 off it,
    which 50 digits show, so the scan found the zero and then dropped it, reporting 'found no zero' (found in
    a review, stop 43). The root is refined at 50 digits and kept when every probe vanishes there (numeric,
    unproven). Guard: J0 and J1 have no common zero, so the last has none."""
    scm = from_dict(spec(mechanism) | {"environments": {"values": [0, 0.5, 1, 1.5, 2, 3, 3.5],
                                                        "domain": [0, 3.5]}})
    result = check_edge(scm, "z1", "z2")
    assert result.method == "numeric"
    if zero is None:
        assert result.status == "fails" and result.extrapolated_zeros == ()
    else:
        assert result.status == "holds" and result.extrapolated_zeros == pytest.approx((zero,), abs=1e-9)


@pytest.mark.parametrize("a, high", [(100.5, 121), (117.5, 121), (119.5, 121), (150.5, 201), (191.5, 201),
                                     (196.5, 201)])
def test_domain_scan_finds_a_zero_where_the_probes_saturate(a, high):
    """d = (u - a)*sech((u - a)*z1 + 0.1*u)**2 vanishes at u = a only, where sech**2 ~ 4*exp(-0.2*a).
    - a = 100.5...119.5 (sech**2 ~ 1e-9): summed as expanded terms (u - a - u*tanh**2 + a*tanh**2) the value
      is rounding noise, whose sign changes elsewhere (where sech**2 underflows) crowded out the real one,
      and a root refined on it missed a by 1e-5. The scan tracks and refines the unexpanded expression.
    - a = 150.5 lies on the grid (u = -1 + 600*0.2525): the float zero there and its neighbours' 1e-13
      values made one run of three grid zeros, which the 50-digit check dropped whole.
    - a = 191.5, 196.5: 1 - tanh(0.1*a)**2 underflows to 0.0 around a, so float64 shows no sign change;
      a 50-digit bisection across the stretch of zeros finds it."""
    scm = from_dict(spec(f"tanh((u - {a})*z1 + 0.1*u)") | {"environments": {"values": [0, 1, 2, 3, 4],
                                                                             "domain": [-1, high]}})
    result = check_edge(scm, "z1", "z2")
    assert (result.status, result.extrapolated_zeros) == ("holds", (a,))


@pytest.mark.parametrize("mechanism, status, vanishes_at", [
    ("exp(800*u)*z1", "fails", ()),  # exp(800) overflows float64 at u >= 1: a 50-digit witness decides
    ("exp(800*(u - 2)**2)*z1*(u - 2)", "holds", (2,)),  # the expanded coefficient overflows: exact numbers decide
])
def test_float_overflow_is_decided_at_higher_precision(mechanism, status, vanishes_at):
    """Both were `undecided` (every probe non-finite in float64), though the numbers decide them."""
    result = edge(mechanism)
    assert (result.status, result.vanishes_at, result.method) == (status, vanishes_at, "symbolic")


@pytest.mark.parametrize("mechanism, zero", [("(u - 5)*(u - 7)*z1 + (u - 7)*sign(z1)", 7.0),
                                             ("(u - 5)*(u - 7)*z1 + (u - 5)*sign(z1)", 5.0)])
def test_a_jump_at_one_unobserved_zero_leaves_the_others(mechanism, zero):
    """On the domain [0, 10] the derivative vanishes at u = 5 and u = 7, and g jumps in z1 at one of them
    only; the first version of the jump check dropped every unobserved zero, so the edge failed (found in
    the review of stop 44's own changes)."""
    domain = spec(mechanism) | {"environments": {"values": [0, 1, 2, 3, 4], "domain": [0, 10]}}
    result = check_edge(from_dict(domain), "z1", "z2")
    assert result.status == "holds" and result.extrapolated and result.extrapolated_zeros == (zero,)


def test_the_jump_check_stays_in_a_support_that_is_not_a_product():
    """Gamma noise, z3 = z1 + n3 > z1: Piecewise((z3, z3 > z1), (z1, True)) is z3 on the support, constant in
    z1, so the edge z1 -> z2 of u*z1 + that holds at u = 0 as u*z1 + Max(z3, z1) does. Swapping z1 between
    probe points left the support (z3 < z1) and read a jump (found in the review of stop 44's own changes);
    with several parents and such noise the swap is not tried."""
    gamma = {z: {"shape": f"2 + sin(u + {k})", "rate": f"1 + 0.5*cos(2*u + {k})"}
             for k, z in enumerate(["z1", "z3", "z2"])}
    for mechanism in ("u*z1 + Piecewise((z3, z3 > z1), (z1, True))", "u*z1 + Max(z3, z1)"):
        scm = from_dict({"identcheck": 1, "name": "t", "latents": ["z1", "z3", "z2"],
                         "environments": {"values": [0, 1, 2, 3, 4]}, "noise": {"family": "gamma", "params": gamma},
                         "mechanisms": {"z3": "z1", "z2": mechanism}})
        result = check_edge(scm, "z1", "z2")
        assert (result.status, result.vanishes_at) == ("holds", (0,)), mechanism


@pytest.mark.parametrize("factors, listed", [
    ("", "u in {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},"),
    ("(u**2 - 2)*", "u in {1, sqrt(2), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ...} (13 in all),")])
def test_a_long_zero_set_is_listed_in_increasing_order_up_to_twelve_points(factors: str, listed: str) -> None:
    """The zeros in the domain [0, 16] of (u - 1)*...*(u - 12), none observed: twelve points are listed in full;
    with the factor u**2 - 2 there are thirteen, and the reason lists the twelve smallest in increasing order
    (sqrt(2) between 1 and 2, where sympy's own order of a set puts it after the integers) and a count."""
    mechanism = factors + "*".join(f"(u - {k})" for k in range(1, 13)) + "*z1"
    data = spec(mechanism, values=(0, 13, 14, 15, 16))
    data["environments"]["domain"] = [0, 16]
    result = check_edge(from_dict(data), "z1", "z2")
    assert result.status == "holds" and result.extrapolated
    assert f"vanishes identically at {listed} inside the declared domain [0, 16]" in result.reason


def test_observed_points_of_a_long_zero_set_are_not_extrapolated_ones() -> None:
    """Thirteen zeros in the domain [0, 16], of which u = 1 is observed: the edge holds there, and its
    extrapolated zeros are the others only, among them 1 + 1e-12, which is within 1e-9 of the observed 1 but
    is not 1 (a zero set of more than twelve points takes `_unobserved`'s fast path)."""
    mechanism = "*".join(f"(u - {k})" for k in range(1, 13)) + "*(u - 1.000000000001)*z1"
    data = spec(mechanism, values=(1, 13, 14, 15, 16))
    data["environments"]["domain"] = [0, 16]
    result = check_edge(from_dict(data), "z1", "z2")
    assert result.status == "holds" and not result.extrapolated and result.vanishes_at == (1,)
    assert result.extrapolated_zeros == (1.000000000001, *map(float, range(2, 11)))
