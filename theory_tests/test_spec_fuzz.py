"""Damaged specs, fuzzed: whatever a user writes, `identcheck check` answers with a report (exit 0 or 1) or
with one line naming the problem (exit 2), and the simulator either samples or raises one IdentcheckError.
Never an internal error (exit 3), a traceback or a numpy warning on stderr (CONTRACT §1-2).

Each example takes a catalogue spec and damages one to three of its values: a key deleted, a value replaced by
another value of the same spec, or by a number, a string, a container or an expression. The expressions are
the kind that reach deep layers: special functions (scipy.special), functions with no numerical
implementation, unevaluated derivatives and integrals, numbers beyond the float range, discontinuous and
complex-valued functions. This fuzz found eleven kinds of internal errors (exit 3) and warnings: functions
numpy alone cannot evaluate (erf, gamma: TypeError; zeta, besselj: NameError), functions nothing evaluates
(expint) or that are distributions (DiracDelta), a Derivative or Integral written in a spec, the text 1e400, a
float .inf, an irrational constant (E) on the exact path of (iii), LambertW's complex values, the unevaluated
derivative of floor in (iv), the DiracDelta of Heaviside's derivative, and natural parameters that overflow
(LinAlgError, numpy warnings). Since stop 39 it also draws Python that sympy would have run as Python (a call
of exec or open, a conditional) and constants that hung the loader (9**9**9): test_spec_formula.py.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest
import sympy as sp
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import identcheck
from identcheck.cli import main
from identcheck.errors import IdentcheckError, SpecError
from identcheck.examples import example_path
from identcheck.spec.expressions import mpmath_function, switch_arguments
from identcheck.testing import examples

_EXPRESSIONS = (
    "u", "z1", "x", "t", "u1", "u**", "1/0", "zoo", "nan", "oo", "I", "sqrt(-1)", "log(0)", "z1*z2", "-0",
    "1e400", "-1e308*u", "1e-400", "exp(1000*u)", "E", "pi", "Piecewise((1, u > 0), (0, True))", "abs(u)",
    "sign(z1)*u", "floor(z1)*(u - 2)", "Max(z1, 0)*u", "Heaviside(z1)*(u - 1)", "Mod(u, 2)", "f(u)", "z1(u)",
    "u[0]", "lambda: 0", "__import__('os')", "exec('1')", "open('/dev/null')", "z1 if u else 0",
    "9**9**9*u", "factorial(10**6)*u", "Piecewise((z1, u == 1), (0, True))", "Derivative(u, u)",
    "Integral(z1, (u, 0, 1))", "Sum(u, (u, 0, 1))",
    "DiracDelta(z1)", "expint(1, u)", "erf(z1)*u", "gamma(u + 1)", "zeta(u + 2)", "besselj(0, z1)*u",
    "LambertW(u)", "LambertW(z1)*u", "airyai(z1)*(u - 1)", "polygamma(1, z1 + 3)*u", "loggamma(u + 1)",
    "z1**1000*u", "(z1 + 1)**40*u", "u**(1/3)*z1", "1/(u - 2)*z1", "sqrt(z1)*u", "t**3", "t + sin(t)",
    "exp(t)", "t + Heaviside(t)", "t*Abs(t)", "1/t",
    # names of noise families, observation noises and mixings, which reach other branches when they land on a key
    "gamma", "beta", "inverse_gamma", "inverse_gaussian", "laplace", "uniform", "student_t", "none", "sinc2",
    "expression", "mlp")

_VALUES = st.one_of(
    st.sampled_from(_EXPRESSIONS), st.none(), st.booleans(), st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.lists(st.integers(-2, 5), max_size=6), st.just({}),
    st.dictionaries(st.sampled_from(("mean", "std", "kind", "values", "family")), st.integers(0, 3), max_size=2))


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside nested dicts and lists, the root excluded."""
    if isinstance(value, dict):
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    else:
        return []
    return [p for key, child in children for p in ((*prefix, key), *_paths(child, (*prefix, key)))]


def _at(value: Any, path: tuple) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def damaged_specs(draw: st.DrawFn) -> tuple[str, dict]:
    """A catalogue spec with one to three values deleted or replaced; shrinks toward one replacement."""
    name = draw(st.sampled_from(identcheck.example_names()))
    spec = yaml.safe_load(example_path(name).read_text())
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(spec)
        path = draw(st.sampled_from(paths))
        parent, key = _at(spec, path[:-1]), path[-1]
        how = draw(st.sampled_from(("replace", "delete", "copy")))
        if how == "delete" and isinstance(parent, dict):
            del parent[key]
        elif how == "copy":
            parent[key] = copy.deepcopy(_at(spec, draw(st.sampled_from(paths))))
        else:
            parent[key] = draw(_VALUES)
    return name, spec


def _check_command(text: str) -> tuple[int, str, str]:
    """`identcheck check FILE --format json` in-process on a spec file: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.yaml"
        path.write_text(text)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", str(path), "--format", "json"])
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=examples(300))
@given(damaged_specs())
def test_a_damaged_spec_gets_a_report_or_one_line(case):
    _, spec = case
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's overflow and complex-cast warnings included
        code, out, err = _check_command(yaml.safe_dump(spec, sort_keys=False))
    assert code in (0, 1, 2), err
    if code == 2:
        assert out == "" and err.startswith("identcheck: error: ") and err.count("\n") == 1, err
        assert "damaged.yaml: " in err, err  # the message names the file
    else:
        report = json.loads(out)
        assert err == "" and report["fully_identifiable"] == (code == 0)


@settings(max_examples=examples(150))
@given(damaged_specs())
def test_a_damaged_spec_that_loads_simulates_or_raises_one_error(case):
    _, spec = case
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            scm = identcheck.from_dict(spec, source="damaged.yaml")
            data = identcheck.simulate(scm, 20, seed=0)
        except IdentcheckError as error:
            assert "\n" not in str(error)
            return
    assert data.x.shape[0] == 20 * scm.environments.count and np.all(np.isfinite(data.x))


# -- what the fuzz and the probes found, pinned one by one (the loader's rejections are in test_spec_loader.py) --

def _c1(**changes: Any) -> dict:
    spec = yaml.safe_load(example_path("C1").read_text())
    spec.update(changes)
    return spec


def test_an_unevaluated_derivative_in_a_mechanism_leaves_the_edge_undecided():
    """d/dz1 floor(z1) stays an unevaluated Derivative in sympy; it used to crash the numeric printer. It is
    NaN now, so the edge is undecided (SPEC §5: NaN gives undecided), not a claimed non-zero."""
    report = identcheck.check(identcheck.from_dict(_c1(mechanisms={"z2": "floor(z1)*(u - 2)"}))).to_dict()
    assert report["assumptions"]["iv"]["edges"][0]["status"] == "undecided"
    assert report["nodes"]["z2"]["verdict"] == "undecided"


def test_a_heaviside_mechanism_is_decided_through_its_dirac_delta():
    """d/dz1 (u - 1)·H(z1)·z1 = (u - 1)(H(z1) + z1·δ(z1)): δ is 0 away from z1 = 0, so the influence vanishes
    at u = 1 and not at u = 0, and z2 is identifiable (it used to raise NameError: DiracDelta)."""
    report = identcheck.check(identcheck.from_dict(_c1(mechanisms={"z2": "(u - 1)*Heaviside(z1)*z1"}))).to_dict()
    edge = report["assumptions"]["iv"]["edges"][0]
    assert edge["status"] == "holds" and edge["vanishes_at"] == [1] and edge["nonzero_at"] == 0
    assert report["nodes"]["z2"]["verdict"] == "identifiable"


@pytest.mark.parametrize("gbar", ["t + Heaviside(t)*t", "Max(t, 2*t)", "Piecewise((t, t < 1), (2*t - 1, True))",
                                  "t + Abs(t - 1/3)/2", "sign(t)*Abs(t)**(1/3)", "t**201", "t*exp(t**2)",
                                  "exp(exp(t))", "sign(t)*Abs(t)**(1/1000)",
                                  "t + Piecewise((exp(-1/t), t > 0), (0, True))", "t + 1/(1 + exp(-1000*t))",
                                  "t + 2*Heaviside(t) - sign(t)",
                                  "t + sign(t)*t/2 + Heaviside(t - 10**-70)*(t - 10**-70)",
                                  "t + Heaviside(sin(t))*sin(t)", "t + sign(sin(10*t))*sin(10*t)/20"])
def test_a_continuous_strictly_monotone_post_nonlinearity_is_accepted_with_its_kinks(gbar):
    """Corollary 3.1 needs gbar invertible with gbar' != 0 almost everywhere (SPEC §3), so a kink (slope 1,
    then 2), a vertical tangent (the inverse of t**3) and a derivative that overflows float64 are allowed.
    Until stop 46 the loader refused t + Heaviside(t)*t and the vertical tangent as "not differentiable" while
    it accepted Max(t, 2*t), the same kink, and refused t**201, t*exp(t**2) and exp(exp(t)) for their
    derivative's float overflow. (A review of stop 46 found sign(t)*|t|**(1/1000) and the smooth
    t + exp(-1/t)·H(t) refused as jumps: a numeric two-step probe overrode the exact one-sided limit, and
    sympy cannot evaluate exp(-1/t) at 0, where that probe now decides; and the steep logistic step, whose
    derivative is inf/inf in floats at 10371 grid points, more than the 2000 sympy evaluated: mpmath reads
    them now.) Two jumps that cancel (2*Heaviside(t) - sign(t) is 1 on both sides of 0) leave gbar continuous
    only if each side's switches take that side's values; a switch 1e-70 beside another (closer than the
    1e-60 step to a side) keeps its own value at the other (a mutation audit found both untested)."""
    spec = yaml.safe_load(example_path("C14").read_text())
    spec["post_nonlinear"] = {"z2": gbar}
    assert identcheck.from_dict(spec).post_nonlinear["z2"] is not None


@pytest.mark.parametrize("gbar, where", [
    ("t + Heaviside(t)", "jumps at t = 0"), ("t - 2*Heaviside(t)", "jumps at t = 0"),
    ("t + Heaviside(t - 0.00013)", "jumps at t = 13/100000"),
    ("Piecewise((t, t < 0.00013), (t + 1, True))", "jumps at t = 13/100000"),
    ("Piecewise((0, Eq(t, 1)), (t, True))", "jumps at t = 1"), ("t + Heaviside(t**2)", "jumps at t = 0"),
    ("t + Heaviside(sin(t))", "jumps at t = 0"), ("tan(t)", "not a finite real number at t = -pi/2"),
    ("t + 1/(t - 0.00013)", "not a finite real number at t = 13/100000"),
    ("t + floor(t)", "floor, ceiling or frac of t"), ("t + 1e-30*Heaviside(t)", "jumps at t = 0"),
    ("Piecewise((t, t < 0), (t + 10**-40, True))", "jumps at t = 0"),
    ("t + Heaviside(t**3 - 2)", "jumps at t = 2**(1/3)"),
    ("t + Piecewise((1 + exp(-1/t), t > 0), (0, True))", "jumps at t = 0"),
    ("t + Heaviside(t - 10)*Heaviside(sin(t))", "jumps at t = 4*pi"),
    ("t + Heaviside(t + sin(t) - 1)", "the zeros of t + sin(t) - 1, where it switches, cannot be located"),
    ("t + Heaviside(t - 30)*Heaviside(sin(10*t))", "jumps at t = 64*pi/5"),
    ("t + Heaviside(t - 1000)*Heaviside(2000 - t)*Heaviside(sin(10*t))", "jumps at t = 2048*pi/5"),
    ("t + 0.01*Heaviside(sin(exp(t)))", "jumps at t = log(pi)"),
    ("t + 0.01*Heaviside(sin(2**t))", "jumps at t = log(pi)/log(2)")])
def test_a_post_nonlinearity_that_jumps_is_refused_wherever_the_jump_lies(gbar, where):
    """A jump leaves x a discontinuous function of gbar^-1(z), outside assumption (i)'s continuous mixing, and a
    downward one is not injective. Until stop 46 only jumps on the scan grid were seen: a jump at t = 0.00013
    (written with Heaviside or Piecewise), the point discontinuity at t = 1 (gbar(1) = gbar(0)) and tan, with a
    pole between grid points, were accepted. The switch points are now solved, and each side's limit is
    compared with gbar there exactly, so a jump of 1e-40 beside a slope of 1 counts too. A switch that repeats
    (sin(t) = 0) is checked at every point in [-50, 50], not only the first (here 0, pi, 2*pi and 3*pi lie
    below 10, where the jump is switched off); a switch sympy cannot locate is no proof of continuity. A
    review found a jump switched on beyond the 100 switch points nearest 0 (t > 30 for sin(10*t)) accepted: a
    repeating switch is now also checked at n = ±2^k, ±(2^k + 1) of its n -> p(n), so a window of width ratio 2
    far out is reached too. Heaviside(sin(exp(t))) switches at t = log(n*pi): sympy listed the n with t in
    [-50, 50] as a range of e^50 integers, OverflowError, an internal error in the CLI, and those of sin(2**t)
    as 2^50 integers, MemoryError, which the CLI read as a request too large (found in the review of stop 47);
    those at |n| <= 50 are checked instead."""
    spec = yaml.safe_load(example_path("C14").read_text())
    spec["post_nonlinear"] = {"z2": gbar}
    with pytest.raises(SpecError, match=rf"post_nonlinear\.z2: gbar\(t\) = .* {re.escape(where)}"):
        identcheck.from_dict(spec)


def test_a_post_nonlinearity_that_is_a_max_of_five_lines_is_accepted():
    """Max(t, 2*t, 3*t - 1, 4*t - 3, 5*t - 6) is continuous and strictly increasing (slopes 1 to 5). Its
    derivative holds Heaviside(2*t - Max(t, 3*t - 1, 4*t - 3, 5*t - 6)), which sympy's printer folded into
    nested numpy selects that numpy refuses: the loader raised TypeError (an internal error in the CLI)."""
    spec = yaml.safe_load(example_path("C14").read_text())
    spec["post_nonlinear"] = {"z2": "Max(t, 2*t, 3*t - 1, 4*t - 3, 5*t - 6)"}
    assert identcheck.from_dict(spec).post_nonlinear["z2"] is not None


@pytest.mark.parametrize("gbar, where", [("t + Heaviside(1/t)", "0"), ("t + Heaviside(1/(t - 1))", "1")])
def test_a_post_nonlinearity_undefined_at_a_singularity_is_refused_with_a_reason(gbar, where):
    """Heaviside(1/t) is Heaviside(zoo) at t = 0, which sympy leaves unevaluated yet calls finite: gbar was
    taken as defined there and comparing its one-sided steps raised TypeError (cannot determine the truth
    value of a Relational). It is not a finite real number there."""
    spec = yaml.safe_load(example_path("C14").read_text())
    spec["post_nonlinear"] = {"z2": gbar}
    with pytest.raises(SpecError, match=rf"post_nonlinear\.z2: .* not a finite real number at t = {where}$"):
        identcheck.from_dict(spec)


def test_a_real_lambert_w_counts_and_a_complex_one_is_undefined():
    """scipy's lambertw returns complex numbers; with a zero imaginary part they are the real values (mean
    W(u) at u = 0..4), not a ComplexWarning, and reach the simulator unchanged; W(-1) has no real value."""
    noise = _c1()["noise"]
    noise["params"]["z1"]["mean"] = "LambertW(u)"
    scm = identcheck.from_dict(_c1(noise=noise))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert identcheck.check(scm).assumptions["iii"].status == "holds"
        data = identcheck.simulate(scm, 4000, seed=0)
    means = [data.n[data.u == m, 0].mean() for m in (0, 4)]
    # W(0) = 0, W(4) = 1.2022; n1's std is at most exp(0.6) = 1.82, so 4 standard errors are 0.12
    assert np.allclose(means, [0.0, 1.2022], atol=0.12)
    noise["params"]["z1"]["mean"] = "LambertW(u - 1)"  # W(-1) is complex: no real mean in environment 0
    with pytest.raises(SpecError, match=r"noise\.params\.z1\.mean: mean is not finite in environment 0"):
        identcheck.from_dict(_c1(noise=noise))


def test_natural_parameters_beyond_the_float_range_make_iii_unknown():
    """A mean of 1e308·sin(u) over std 1/2 overflows η = mean/std²: (iii) cannot be computed in floating point, so
    it is unknown and every node undecided, where it used to raise LinAlgError or warn on stderr."""
    noise = _c1()["noise"]
    noise["params"]["z2"] = {"mean": "1e308*sin(u)", "std": "1/2"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        report = identcheck.check(identcheck.from_dict(_c1(noise=noise))).to_dict()
    assert report["assumptions"]["iii"]["status"] == "unknown"
    assert "not finite in floating point in environment 1" in report["assumptions"]["iii"]["reason"]
    assert {node["verdict"] for node in report["nodes"].values()} == {"undecided"}


@pytest.mark.parametrize("call, match", [
    (lambda: identcheck.check("C1"), "check needs an SCM"),
    (lambda: identcheck.simulate("C1", 10), "simulate needs an SCM"),
    (lambda: identcheck.verify(None), "verify needs an SCM"),
    (lambda: identcheck.check(identcheck.load_example("C1"), tol=0), r"tol must be a number in \(0, 1\)"),
    (lambda: identcheck.check(identcheck.load_example("C1"), tol="a"), r"tol must be a number in \(0, 1\)"),
    (lambda: identcheck.check(identcheck.load_example("C1"), probes=1), "probes must be an integer >= 8"),
    (lambda: identcheck.check(identcheck.load_example("C1"), seed=-1), "seed must be an integer >= 0"),
    (lambda: identcheck.load_example(None), "an example name is a string"),
    (lambda: identcheck.load_spec(None), "expected a path to a spec file"),
    # found in a review: numpy's MemoryError (2.43 TiB), and AttributeError ('NoneType' has no 'read')
    (lambda: identcheck.check(identcheck.load_example("C1"), probes=10**12),
     r"probes = 1000000000000 is beyond the largest this toolkit accepts \(1,000,000\)"),
    (lambda: identcheck.from_text(None), "expected the text of a spec, got NoneType"),
])
def test_the_python_entry_points_name_an_argument_of_the_wrong_kind(call, match):
    """The first objects a Python user hands over: a name where an SCM belongs, a tolerance, a probe count
    or a seed the checker cannot use (they raised AttributeError, numpy's ValueError or TypeError)."""
    with pytest.raises(IdentcheckError, match=match):
        call()


@pytest.mark.parametrize("gbar", ["3", "sin(t)**2 + cos(t)**2"])
def test_a_constant_post_nonlinearity_is_refused(gbar: str) -> None:
    """A constant gbar (written as one, or an identity sympy folds to one) maps every t to one value: not
    invertible. Its derivative is exactly 0, a polynomial without a sign change, so only the test for a
    derivative that is 0 everywhere refuses it."""
    spec = yaml.safe_load(example_path("C14").read_text())
    spec["post_nonlinear"] = {"z2": gbar}
    with pytest.raises(SpecError, match=r"post_nonlinear\.z2: gbar\(t\) = .* is not invertible"):
        identcheck.from_dict(spec)


def _up_to_sign(exprs: list[sp.Expr]) -> set[frozenset[sp.Expr]]:
    return {frozenset({sp.expand(e), sp.expand(-e)}) for e in exprs}


def test_switch_points_of_an_expression_are_its_jumps_and_with_kinks_its_bends() -> None:
    """`switch_arguments`, shared by the post-nonlinear check (jumps only) and the (ii) fold scales (kinks
    too): the argument of a Heaviside or sign and each relation of a Piecewise as lhs - rhs, where it may
    jump; with kinks also the argument of an Abs and every pairwise difference of a Max's or Min's arguments,
    where it bends (zeros compared: each up to its sign)."""
    t = sp.Symbol("t", real=True)
    expr = sp.sign(t - 2) + sp.Heaviside(t + 4) + sp.Piecewise((t, t < 3), (0, True)) + sp.Abs(t + 1) \
        + sp.Min(t, 2 * t, 5)
    jumps = [t - 2, t + 4, t - 3]
    bends = [t + 1, t - 2 * t, t - 5, 2 * t - 5]
    assert _up_to_sign(switch_arguments(expr, kinks=False)) == _up_to_sign(jumps)
    assert _up_to_sign(switch_arguments(expr)) == _up_to_sign(jumps + bends)


def test_mpmath_function_takes_its_arguments_in_the_order_given() -> None:
    """`mpmath_function` lambdifies for mpmath, arguments in the order of `symbols`, at the working precision
    (1/3 to 50 digits, where float64 would stop at 16)."""
    a, b = sp.symbols("a b", real=True)
    fn = mpmath_function([a, b], [a - 2 * b, a / 3])
    with mpmath.workdps(50):
        difference, third = fn(mpmath.mpf(1), mpmath.mpf(0))
        assert difference == 1 and abs(third - mpmath.mpf(1) / 3) < mpmath.mpf(10) ** -45
