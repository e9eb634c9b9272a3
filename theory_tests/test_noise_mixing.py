"""Assumptions (i), deconvolvable observation noise, and (ii), injective mixing (SPEC §2, §4 C16-C17, §5)."""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
import sympy as sp

from identcheck import from_dict, load_example
from identcheck.check.noise_mixing import RANK_RATIO_TOL, _lines, check_deconvolvability, check_injectivity
from identcheck.spec.expressions import jacobian, mpmath_function


def with_mixing(x: list[str], base: str = "C17", **changes) -> dict:
    """A catalogue spec with an expression mixing x = f(z) (and other top-level keys replaced)."""
    return load_example(base).spec | {"mixing": {"kind": "expression", "x": x}} | changes


def chain(x: list[str]) -> dict:
    """C17 with one latent per component of the expression mixing x, in a chain z_k = u*z_{k-1} + n_k."""
    latents = [f"z{k}" for k in range(1, len(x) + 1)]
    noise = {z: {"mean": f"1.5*sin(1.7*u + {k})", "std": f"exp(0.6*cos(1.3*u + {2 * k}))"}
             for k, z in enumerate(latents)}
    return with_mixing(x, latents=latents, noise={"family": "gaussian", "params": noise},
                       mechanisms={z: f"u*{parent}" for parent, z in zip(latents, latents[1:])})


GAMMA_NOISE = {"family": "gamma", "params": {"z1": {"shape": "2 + u", "rate": "1 + u**2"},
                                             "z2": {"shape": "1 + 0.5*u", "rate": 2}}}


# -- (i) --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family, status", [
    ("gaussian", "holds"), ("laplace", "holds"), ("student_t", "holds"), ("none", "holds"),
    ("uniform", "holds"), ("sinc2", "fails"),
])
def test_deconvolvable_iff_the_characteristic_function_vanishes_on_a_null_set(family, status):
    """SPEC §4 C16: Gaussian, Laplace, Student-t, uniform (countable zeros) and eps = 0 pass; sinc² fails."""
    scale = 0.0 if family == "none" else 0.01
    spec = load_example("C1").spec | {"observation_noise": {"family": family, "scale": scale}}
    assert check_deconvolvability(from_dict(spec)).status == status


def test_c16_fails_deconvolvability_naming_the_family_and_the_fact():
    result = check_deconvolvability(load_example("C16"))
    assert result.status == "fails" and result.details == {"family": "sinc2", "cf_zeros": "positive_measure"}
    assert "sinc2" in result.reason and "positive Lebesgue measure" in result.reason


def test_uniform_noise_holds_because_its_zeros_are_countable():
    spec = load_example("C1").spec | {"observation_noise": {"family": "uniform", "scale": 0.1}}
    assert "countable" in check_deconvolvability(from_dict(spec)).reason


# -- (ii): the MLP class ------------------------------------------------------------------------------------


def test_leaky_relu_mlp_is_injective_by_a_structural_certificate():
    result = check_injectivity(load_example("C1"))
    assert result.status == "holds" and result.details["method"] == "structural"
    assert "not C² at 0" in result.reason  # the honest (ii+) caveat


def test_wider_mlp_certificate_rests_on_a_first_layer_of_full_column_rank():
    spec = load_example("C1").spec | {"mixing": {"kind": "mlp", "observed_dim": 5, "layers": 2}}
    result = check_injectivity(from_dict(spec))
    assert result.status == "holds" and "full column rank" in result.reason


# -- (ii): expression mixings -------------------------------------------------------------------------------


def test_c17_fold_is_caught_by_the_collision_probe_with_an_exact_witness():
    """f(z) = (z1², z2) identifies z with its mirror (-z1, z2): the witness maps to the same x."""
    result = check_injectivity(load_example("C17"))
    assert result.status == "fails"
    witness = result.details["collision"]
    z, z_prime = np.array(witness["z"]), np.array(witness["z_prime"])
    f = sp.lambdify(sp.symbols("a b"), [sp.Symbol("a") ** 2, sp.Symbol("b")])
    np.testing.assert_allclose(f(*z), f(*z_prime), rtol=1e-9)
    np.testing.assert_allclose(z_prime, [-z[0], z[1]], rtol=1e-6)


def test_c17_jacobian_probe_alone_only_shows_a_small_ratio():
    """SPEC §4 C17: the Jacobian has full rank at every sample (min ratio ≈ 2 min|z1|, 1.8e-3 with seed 0),
    so only the collision test detects the fold."""
    ratio = check_injectivity(load_example("C17")).details["jacobian_min_ratio"]
    assert RANK_RATIO_TOL < ratio < 1e-2


def test_an_invertible_expression_mixing_holds_as_probe_evidence():
    result = check_injectivity(from_dict(with_mixing(["z1 + z2**3", "z2"])))
    assert (result.status, result.details["method"], result.details["collision"]) == ("holds", "probe", None)
    assert "not a proof" in result.reason


def test_a_locally_invertible_periodic_mixing_is_not_globally_injective():
    """sin(z1) has a non-zero derivative almost everywhere; the wide noise scales reach a second period."""
    assert check_injectivity(from_dict(with_mixing(["sin(z1)", "z2"]))).status == "fails"


@pytest.mark.parametrize("x, status", [(["z1*z2", "z2"], "fails"), (["z1**3", "z2"], "holds"),
                                       (["z1 + 0.5*Abs(z1)", "z2"], "holds")])
def test_a_jacobian_determinant_of_both_signs_is_a_fold(x, status):
    """x = (z1*z2, z2) maps the line z2 = 0 to one point, but the collision probe rarely draws two points of
    that line, and (ii) read "holds" (found in a review, stop 44). det J = z2 takes both signs, which a
    continuous injective map cannot do where det J != 0 (its local degree is constant). Guards: z1**3 (det 0
    on a line, one sign) and a monotone kink keep "holds"."""
    result = check_injectivity(from_dict(with_mixing(x)))
    assert result.status == status
    assert (result.details["fold"] is not None) == (status == "fails")


@pytest.mark.parametrize("x, status, scale", [
    (["z1 - 2*Max(z1 - 80, 0)", "z2"], "fails", 160), (["z1 - 2*Max(z1 - 1000, 0)", "z2 + z1"], "fails", 2000),
    (["Piecewise((z1, z1 < 500), (1000 - z1, True))", "z2"], "fails", 1000),
    (["z1 + Abs(z1 + z2 - 300)/2", "z2"], "holds", 600), (["z1 - 2*Max(z1 - 80, 0)", "z2", "z1 + z2"], "holds", 160),
    (["z1 - z1**3/30000", "z2"], "fails", 200),
    (["z1**3 + z1", "z2 - z2**5/1e10 + z1"], "fails", 2 * 10**2.5 / 5**0.25)])
def test_a_fold_far_out_is_reached_where_the_mixing_switches_or_its_determinant_vanishes(x, status, scale):
    """The probe draws noise at scales 1, 3 and 10, so z1 - 2*Max(z1 - 80, 0), which folds at z1 = 80, and
    z1 - z1**3/30000, which folds at |z1| = 100, read "holds" (a known limit until stop 46). Where a Max, Min,
    Abs, Heaviside, sign or Piecewise switches, or a square f's det J vanishes, along a latent's axis beyond
    those scales, a scale of twice that distance is added, and the fold is found (det J = (3 z1² + 1)(1 -
    z2⁴/2e9) vanishes at z2 = (2e9)^(1/4)); injective maps with a far switch (a monotone kink, a third
    coordinate that undoes the fold) still hold."""
    result = check_injectivity(from_dict(with_mixing(x)))
    assert result.status == status and result.details["scales"] == pytest.approx([1.0, 3.0, 10.0, scale])


@pytest.mark.parametrize("x, status, scale", [(["z1 - 1e-30*z1**3", "z2"], "fails", 2 / 3**0.5 * 1e15),
                                              (["z1*(z1 - 1e10)**2 + z2", "z2"], "fails", 2e10)])
def test_an_ill_scaled_determinant_is_solved_without_a_crash(x, status, scale):
    """det J of z1 - 1e-30*z1**3 vanishes at |z1| = 1e15/sqrt(3), and that of z1*(z1 - 1e10)**2 at 1e10/3
    and 1e10: sympy's nroots raised NoConvergence on both (an internal error in the CLI, as for the square
    mixing (z1 + (z1 + z2 + z3 + z4)**3, ...) of four latents). The roots are now the companion matrix's
    eigenvalues, and the folds are found at twice their distance."""
    result = check_injectivity(from_dict(with_mixing(x)))
    assert result.status == status and result.details["scales"][-1] == pytest.approx(scale)


@pytest.mark.parametrize("c", ["1e-30", "1e-100", "1e-300", "1e-700"])
def test_a_fold_beyond_the_float_range_is_decided_at_50_digits(c):
    """z1 - c*z1**3 folds where det J = 1 - 3c*z1² vanishes, |z1| = (3c)^(-1/2). At c = 1e-300 the probe's
    added scale, 1.15e150, makes z1**3 overflow, and (ii) read "unknown" ("f is not finite"); at c = 1e-700
    the root is beyond floats and (ii) read "holds". The root is now isolated exactly, and det J is compared
    at 50 digits either side of it: opposite signs, a fold. c = 1e-30 and 1e-100 still fail (by collision)."""
    result = check_injectivity(from_dict(with_mixing([f"z1 - {c}*z1**3", "z2"])))
    assert result.status == "fails" and "not injective" in result.reason
    if c in ("1e-300", "1e-700"):
        root = result.details["fold"]["root"]
        assert root["latent"] == "z1" and "of det J along the z1 axis" in result.reason
        expected = -(3 * mpmath.mpf(c)) ** -0.5  # 5.8e349 at c = 1e-700: the report holds it as text
        assert abs(mpmath.mpf(root["at"]) / expected - 1) < 1e-12


def test_an_exact_fold_must_lie_in_the_support():
    """With Gamma noise z1 > 0, and det J of z1 - 1e-300*(z1 + 1e151)**3 vanishes only at negative z1: f is
    injective on the support, so the 50-digit fold beside those roots is no witness."""
    result = check_injectivity(from_dict(with_mixing(["z1 - 1e-300*(z1 + 1e151)**3", "z2"], noise=GAMMA_NOISE)))
    assert result.status != "fails"


@pytest.mark.parametrize("x, status", [
    (["z1", "(z1 - 300)**2*z2 + (z2 - 300)**3/3 - 100*z2"], "fails"),
    (["(z1 - z2 - 300)**3", "z1 + z2"], "holds")])
def test_a_fold_off_the_axes_is_found_on_a_diagonal(x, status):
    """det J of (z1, (z1 - 300)²z2 + (z2 - 300)³/3 - 100 z2) is (z1 - 300)² + (z2 - 300)² - 100: negative
    inside a circle of radius 10 around (300, 300), which meets no axis, so no scale reached it and (ii) read
    "holds". det J is now also restricted to the diagonals z = t·(1, ±1), and compared at 50 digits either
    side of its roots there. Guard: ((z1 - z2 - 300)³, z1 + z2) is a bijection whose det J, 6(z1 - z2 - 300)²,
    vanishes on a line without changing sign (a root of even order): it holds."""
    result = check_injectivity(from_dict(with_mixing(x)))
    assert result.status == status
    if status == "fails":
        assert result.details["fold"]["root"]["direction"] == [1, 1] and "z = t·(1, 1)" in result.reason


def coupled(first: str, ell: int) -> list[str]:
    """x = A·T(z), T = (first, z2 + z1²/2, ..., z_ℓ + z_(ℓ-1)²/2) triangular and A = I + 0.3·(a shift): det J =
    det A·∂first/∂z1 = ∂first/∂z1, though on a diagonal the degrees of J's columns sum to ℓ."""
    t = [first, *(f"z{k} + 0.5*z{k - 1}**2" for k in range(2, ell + 1))]
    return [f"{a} + 0.3*({b})" for a, b in zip(t, t[1:])] + t[-1:]


@pytest.mark.parametrize("x, direction, at", [
    (["z1 - 1e-300*z1**3 + 0.3*z2", *(f"z{k} + 0.5*z{k - 1}" for k in range(2, 7))], [1, 0, 0, 0, 0, 0],
     -(0.85 / 3e-300) ** 0.5),
    (["z1", "(z1 - 300)**2*z2 + (z2 - 300)**3/3 - 100*z2", "z3", "z4", "z5"], [1, 1, 1, 1, 1], 300 - 50**0.5),
    (coupled("z1 - z1**3/30000", 12), [1] + [0] * 11, -100)])
def test_a_fold_of_more_than_four_latents_is_decided_at_50_digits(x, direction, at):
    """The 50-digit fold check and the fold scales took det J symbolically, for at most four latents, and these
    mixings read "holds": det J = 0.85 - 3e-300 z1² (a fold at |z1| = 5.3e149, beyond the float probe), the
    circle around (300, 300) of a test above, which meets no axis but the diagonal z = t·(1, 1, 1, 1, 1), and
    det J = 1 - z1²/10000 of 12 coupled latents (the scale 200 was not added). J is now restricted to each line
    first, and the determinant of that matrix of polynomials in t is taken: any number of latents."""
    result = check_injectivity(from_dict(chain(x)))
    assert result.status == "fails" and "not injective" in result.reason
    root = result.details["fold"]["root"]
    assert root["direction"] == direction and root["at"] == pytest.approx(at, rel=1e-9)


def test_an_injective_polynomial_mixing_of_six_latents_holds():
    """x = A·T(z) (`coupled`) with T1 = z1 + z1³: a bijection, det J = 1 + 3 z1² > 0. det J is a polynomial on
    the axes and diagonals, with no root of odd order: the 50-digit check finds no fold, and (ii) holds."""
    from identcheck.check.noise_mixing import _line_determinants, _odd_real_roots

    scm = from_dict(chain(coupled("z1 + z1**3", 6)))
    result = check_injectivity(scm)
    assert result.status == "holds" and result.details["fold"] is None
    polynomials = _line_determinants(scm.mixing.expressions, scm.latent_symbols, _lines(6))
    assert len(polynomials) > 6 and not any(_odd_real_roots(p) for _, p in polynomials)


def test_a_determinant_of_low_degree_under_a_high_degree_bound_is_interpolated():
    """On the all-ones diagonal of 12 coupled latents J's columns have degrees summing to 12 and their entries of
    top degree form a singular matrix (their terms cancel): det J, 1 - t²/10000, is found from its values at t =
    0, 1, ..., 12, exactly."""
    from identcheck.check.noise_mixing import _line_determinants

    scm = from_dict(chain(coupled("z1 - z1**3/30000", 12)))
    [(_, poly)] = _line_determinants(scm.mixing.expressions, scm.latent_symbols, [(1,) * 12])
    assert poly.all_coeffs() == [sp.Rational(-1, 10000), 0, 1]


def test_the_fold_check_tries_the_axes_and_at_most_32_diagonals_in_a_fixed_order():
    """Up to six latents all 2^(ℓ-1) diagonals (±1 up to sign); beyond, the first 32 with the fewest -1s (of
    12 latents the all-ones one, the 11 with one -1 and 20 with two), so 100 latents cost 132 lines, not 2^99."""
    assert _lines(1) == [(1,)]
    for ell in range(2, 7):
        lines = _lines(ell)
        assert lines[:ell] == [tuple(int(j == k) for j in range(ell)) for k in range(ell)]
        assert sorted(lines[ell:]) == sorted((1, *signs) for signs in itertools.product((1, -1), repeat=ell - 1))
    twelve = _lines(12)
    assert len(twelve) == len(set(twelve)) == 44 and twelve == _lines(12)
    assert [v.count(-1) for v in twelve[12:]] == [0] + [1] * 11 + [2] * 20 and all(v[0] == 1 for v in twelve[12:])
    assert len(_lines(100)) == 132


def test_a_determinant_below_its_rounding_has_no_sign():
    """The twist (z1 cos(k r²) − z2 sin(k r²), z1 sin(k r²) + z2 cos(k r²)), r² = z1² + z2², is a bijection with
    det J = 1, but at k = 3e4 its rows have norms near 1e7 and float64 computed det J = -12 at one sample:
    the first fold test (1e-8 of the largest |det|) called it folded (found in the review of stop 44's own
    changes). A determinant's sign now counts only beyond 1e-8 of its own Hadamard bound."""
    r2 = "(z1**2 + z2**2)"
    twist = [f"z1*cos(3e4*{r2}) - z2*sin(3e4*{r2})", f"z1*sin(3e4*{r2}) + z2*cos(3e4*{r2})"]
    result = check_injectivity(from_dict(with_mixing(twist)))
    assert result.details["fold"] is None


@pytest.mark.parametrize("x", [["z1 + 1e-3*floor(z1)", "z2"], ["z1 + 1e-3*floor(z1)", "z2**3 + z2"]])
def test_a_mixing_with_floor_is_unknown_without_a_crash(x):
    """J of floor(z1) holds Derivative(floor(z1), z1), which sympy cannot restrict to a line with z1 = 0
    ("Can't calculate derivative wrt 0"): the 50-digit fold check's lines (z1 = 0 on the z2 axis) and the
    fold scales' axes raised it, an internal error in the CLI (found in the review of stop 47; on 0b17889
    the first mixing read "unknown"). An unevaluated derivative is now no polynomial on any line."""
    result = check_injectivity(from_dict(with_mixing(x)))
    assert result.status == "unknown" and "not finite" in result.reason


@pytest.mark.parametrize("x, method", [(["z1 - 1e-300*z1**3", "z2 + Heaviside(z1)*z1**2"], "fold"),
                                       (["z1 + Heaviside(z1)*z1**3 - 3*z1", "z2"], "collision")])
def test_the_50_digit_checks_evaluate_the_jacobian_of_a_heaviside(x, method):
    """J of a Heaviside holds DiracDelta, which sympy's mpmath printer writes as a name mpmath does not
    define: the 50-digit fold check and the 50-digit collision check raised NameError, an internal error in
    the CLI (found in the review of stop 47). mpmath_function now evaluates DiracDelta as numeric_function
    does (0 away from its argument's zero)."""
    result = check_injectivity(from_dict(with_mixing(x)))
    assert result.status == "fails" and result.details[method] is not None


@pytest.mark.parametrize("x", [["z1 - 1e-300*z1**3 + Max(z2, 2*z2 - 1, 3*z2 - 3)", "z2"],
                               ["z1 - 1e-300*z1**3", "z2 + Min(z1, 2*z1 - 1, 3*z1 - 3)"]])
def test_the_50_digit_fold_check_evaluates_the_jacobian_of_a_max(x):
    """J of a Max of three terms holds the Max of the other two, kept unevaluated (`_SwitchMax`), which sympy's
    mpmath printer looked up by its class's name: KeyError, an internal error in the CLI, whenever det J had a
    root on a line (found in the review of stop 47). mpmath_function now prints it as Max (Python's max)."""
    result = check_injectivity(from_dict(with_mixing(x)))
    assert result.status == "fails" and result.details["fold"]["root"]["latent"] == "z1"
    t = sp.Symbol("t", real=True)
    derivative = jacobian([sp.Max(t, 2*t - 1, 3*t - 3)], [t])[0, 0]
    evaluate = mpmath_function([t], derivative)
    assert [evaluate(mpmath.mpf(v)) for v in (0, 1.5, 5)] == [1, 2, 3]


@pytest.mark.parametrize("x, status", [(["z1 - 1e-300*z1**3 + 1e-3*airyai(z2)", "z2"], "unknown"),
                                       (["z1**2 + 1e-3*jn(1, z2)", "z2"], "fails")])
def test_a_function_mpmath_lacks_leaves_the_50_digit_checks_out(x, status):
    """sympy's mpmath printer writes jn and airyai's derivative airyaiprime as they are, names mpmath does not
    define: the 50-digit fold check (airyai) and collision check (jn, also on 0b17889) raised NameError at the
    first call, an internal error in the CLI (found in the review of stop 47). mpmath_function now gives None
    for them, and the float evidence stands."""
    assert check_injectivity(from_dict(with_mixing(x))).status == status
    assert mpmath_function([sp.Symbol("t")], sp.jn(1, sp.Symbol("t"))) is None


def test_a_determinant_whose_companion_matrix_overflows_is_still_checked():
    """det J along the z1 axis of z1 - 1e-300*z1**3 + 1e300*z1**9 - ... has coefficients from 1e-300 to 9e300:
    numpy's companion matrix (the fold scales) overflows and raised LinAlgError, an internal error in the CLI
    (found in the review of stop 47). Those scales are now left out; the 50-digit check finds the fold."""
    x = ["z1 - 1e-300*z1**3 + 1e300*z1**9 - 1e-200*z1**7 + 3e250*z1**5", "z2 - 1e-300*z2**9 + 1e300*z2**3"]
    result = check_injectivity(from_dict(with_mixing(x)))
    assert result.status == "fails" and result.details["fold"]["root"]["latent"] == "z2"


def test_roots_of_det_j_near_zero_are_isolated_too():
    """det J of z1**9/9 - 1e300*z1**8/8 + z1 along z1 is t**8 - 1e300*t**7 + 1, with roots near 1.39e-43 and
    1e300. sympy's isolating interval of the small one starts at 0, and it was left out (with the large one,
    isolation took 77 s); a fold there is now found (x1 is not monotone in z1)."""
    result = check_injectivity(from_dict(with_mixing(["z1**9/9 - 1e300*z1**8/8 + z1", "z2"])))
    assert result.status == "fails"
    assert result.details["fold"]["root"]["at"] == pytest.approx(10 ** (-300 / 7), rel=1e-9)


@pytest.mark.parametrize("strength", ["1e4", "1e6"])
def test_a_collision_that_50_digits_undo_is_not_a_witness(strength):
    """Two shears, x = (z1 + K*(z2 + K*z1**2)**2, z2 + K*z1**2), form a bijection (z2 + K*z1**2 = x2, then
    z1 = x1 - K*x2**2), yet at K >= 1e4 (|x| near 3e8) Gauss-Newton in float64 found z' far from z with
    f(z') = f(z) to 1e-9, and (ii) read "fails" (seen in stop 44's review, also on 8ff0163). A float collision
    is now refined at 50 digits from z'; these go back to z, C17's mirror pair does not."""
    shears = [f"z1 + {strength}*(z2 + {strength}*z1**2)**2", f"z2 + {strength}*z1**2"]
    result = check_injectivity(from_dict(with_mixing(shears)))
    assert result.status == "holds" and result.details["collision"] is None
    assert check_injectivity(load_example("C17")).status == "fails"


def test_probe_respects_the_support_of_z():
    """With Gamma noise the root z1 > 0: z1² is injective there, (z1 - 1)² is not."""
    assert check_injectivity(from_dict(with_mixing(["z1**2", "z2"], noise=GAMMA_NOISE))).status == "holds"
    assert check_injectivity(from_dict(with_mixing(["(z1 - 1)**2", "z2"], noise=GAMMA_NOISE))).status == "fails"


def test_a_collision_outside_the_support_is_no_witness():
    """With Beta noise and no edges z1 lies in (0, 1), where z1**3 - 3*z1 decreases: f is injective on the
    support. Gauss-Newton took a sampled z' to z1' = 1.04, outside it, and (ii) read "fails" (also on 0b17889;
    found in the review of stop 47). A collision's z' must now lie in the support of some environment;
    (z1 - 0.5)**2 still folds inside it."""
    beta = {"family": "beta", "params": {"z1": {"a": "2 + sin(u)", "b": "2 + cos(u)"},
                                         "z2": {"a": "1.5 + 0.5*sin(u)", "b": 2}}}
    result = check_injectivity(from_dict(with_mixing(["z1**3 - 3*z1", "z2"], noise=beta, mechanisms={})))
    assert result.status == "holds" and result.details["collision"] is None
    result = check_injectivity(from_dict(with_mixing(["(z1 - 0.5)**2", "z2"], noise=beta, mechanisms={})))
    assert result.status == "fails" and 0 < result.details["collision"]["z_prime"][0] < 1


def test_a_mixing_undefined_on_the_support_is_unknown():
    assert check_injectivity(from_dict(with_mixing(["log(z1)", "z2"]))).status == "unknown"


def test_a_non_smooth_mixing_carries_the_c2_caveat():
    result = check_injectivity(from_dict(with_mixing(["z1 + 0.5*Abs(z1)", "z2"])))
    assert result.status == "holds" and result.details["c2"] is False
    assert "(ii+) may fail" in result.reason


def test_probe_is_reproducible_for_a_fixed_seed():
    scm = from_dict(with_mixing(["z1 + z2**3", "z2"]))
    assert check_injectivity(scm, seed=3).to_dict() == check_injectivity(scm, seed=3).to_dict()


def test_probe_survives_mixings_whose_values_overflow_the_neighbour_search():
    """Regression: exp of a cubed noise makes some x so large that squared distances overflow, and the
    KD-tree then reports 'no neighbour'; the probe must drop those pairs, not index past the sample.
    z1 enters x only through z1², so the fold z1 -> -z1 is a genuine collision the probe still finds."""
    stds = {f"s{k}": [0.75 if e == k else 1 for e in range(9)] for k in range(1, 5)}
    spec = {"identcheck": 1, "name": "overflow", "latents": ["z1", "z2", "z3", "z4"],
            "environments": {"values": list(range(9))}, "parameters": stds,
            "noise": {"family": "gaussian", "params": {f"z{k}": {"mean": 0, "std": f"s{k}"} for k in range(1, 5)}},
            "mechanisms": {"z2": "u*z1", "z3": "u*z1"}, "post_nonlinear": {"z1": "t**3", "z3": "exp(t)"},
            "mixing": {"kind": "expression", "x": ["z1**2", "z2", "z3", "z4"]}}
    result = check_injectivity(from_dict(spec))
    assert result.status == "fails"
    z, z_prime = result.details["collision"]["z"], result.details["collision"]["z_prime"]
    assert z[0] == pytest.approx(-z_prime[0], rel=1e-6) and z[1:] == pytest.approx(z_prime[1:], rel=1e-6)
