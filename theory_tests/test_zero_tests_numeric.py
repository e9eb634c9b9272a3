"""Numeric zero tests of (iv) and the related numeric probes (SPEC §5 "Checking (iv) with sympy", Pitfalls):
false "zero" verdicts from float64 cancellation, a too loose tolerance and probes that miss far half-lines;
the intercept caveat on duplicated environments; a false collision of an injective mixing."""

from __future__ import annotations

import pytest

from identcheck import from_dict, load_example
from identcheck.check.condition_iii import check_noise_variability
from identcheck.check.condition_iv import check_condition_iv, check_edge
from identcheck.check.noise_mixing import check_injectivity
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


def test_spec_number_artefact_below_the_tolerance_still_counts_as_zero():
    """0.3333333333333333*3 differs from 1 only in the 16th digit: a zero at the spec's precision."""
    result = edge("(u - 0.3333333333333333*3)*tanh(z1 + u)", (1, 2, 3, 4, 5))
    assert result.vanishes_at == (1,)


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


@pytest.mark.parametrize("gbar", ["Max(t, 0)", "Min(t, 10)", "Piecewise((t, t < -3), (-3, t < 2), (t - 5, True))"])
def test_post_nonlinearity_flat_on_an_interval_is_rejected(gbar):
    """gbar with a zero derivative on a whole interval of the checked grid [-50, 50] is not invertible."""
    with pytest.raises(SpecError):
        from_dict(spec("u*z1", post_nonlinear={"z2": gbar}))


def test_a_parent_without_influence_fails_every_reading_of_iv():
    """(sin(u)**2 + cos(u)**2 - 1)*z1 declares z1 a parent of z2 without influence ((iv-b) fails): the
    edge-wise reading fails, and so must the node-wise and global ones, since G => N => E (SPEC §2); they
    said `holds` while the edge-wise reading failed."""
    readings = check_condition_iv(from_dict(spec("(sin(u)**2 + cos(u)**2 - 1)*z1"))).readings
    assert readings == {"edge": "fails", "node": "fails", "global": "fails"}
