"""The sampler draws from the model the spec declares (SPEC §1, Eqs. 1-3 and 5).

Statistical margins: a per-environment sample mean is within 5 standard errors of the declared mean, a
sample variance within 5 estimated standard errors sqrt((m4 - s^4) / N) of the declared variance (fixed
seeds, so the checks are deterministic; a wrong parameter or a wrong environment moves them by far more).
"""

import warnings

import numpy as np
import pytest
from scipy import special

from identcheck import DataError, IdentcheckWarning, from_dict, load_example, simulate
from identcheck.datasets import synthetic
from identcheck.families import LATENT_FAMILIES, OBSERVATION_FAMILIES
from identcheck.simulate import latents_from_noise

U_VALUES = [0, 1, 2, 3, 4]
#: Per-environment parameters of each family, chosen so the environments differ clearly and the
#: fourth moment (needed for the variance margin) is finite.
FAMILY_TABLES = {
    "gaussian": {"mean": [-2.0, -0.5, 0.0, 1.0, 3.0], "std": [0.5, 1.0, 1.5, 2.0, 3.0]},
    "gamma": {"shape": [1.0, 2.0, 3.0, 4.0, 6.0], "rate": [0.5, 1.0, 2.0, 3.0, 4.0]},
    "inverse_gamma": {"shape": [9.0, 10.0, 11.0, 12.0, 14.0], "scale": [1.0, 3.0, 5.0, 8.0, 12.0]},
    "beta": {"a": [0.5, 1.0, 2.0, 3.0, 5.0], "b": [2.0, 1.0, 3.0, 0.7, 1.0]},
    "inverse_gaussian": {"mean": [0.5, 1.0, 2.0, 3.0, 4.0], "shape": [1.0, 2.0, 3.0, 5.0, 8.0]},
}


def noise_tables(family: str) -> dict[str, dict[str, list[float]]]:
    """The family's table for z1, and the same table in reverse environment order for z2."""
    table = FAMILY_TABLES[family]
    return {"z1": table, "z2": {k: v[::-1] for k, v in table.items()}}


def two_node_spec(family: str, **extra) -> dict:
    """z1 -> z2 with g2 = u*tanh(z1), scalar u in 0..4, noise parameters from `noise_tables`."""
    return {"identcheck": 1, "name": f"two-{family}", "latents": ["z1", "z2"],
            "environments": {"values": U_VALUES},
            "noise": {"family": family, "params": noise_tables(family)},
            "mechanisms": {"z2": "u*tanh(z1)"}, **extra}


def assert_matches_law(sample: np.ndarray, mean: float, var: float) -> None:
    n = len(sample)
    assert abs(sample.mean() - mean) < 5 * np.sqrt(var / n), (sample.mean(), mean)
    s2 = sample.var()
    m4 = np.mean((sample - sample.mean()) ** 4)
    assert abs(s2 - var) < 5 * np.sqrt((m4 - s2**2) / n), (s2, var)


@pytest.mark.parametrize("family", sorted(FAMILY_TABLES))
def test_residuals_follow_the_declared_noise_law_in_every_environment(family):
    """z_i - g_i(pa_i, u) is distributed as p(n_i | u) in each environment (Eqs. 1-2), for all five families."""
    per_env = 4000
    data = simulate(from_dict(two_node_spec(family)), per_env, seed=11)
    u = data.env_values[data.u, 0]
    residual = {"z1": data.z[:, 0], "z2": data.z[:, 1] - u * np.tanh(data.z[:, 0])}
    fam = LATENT_FAMILIES[family]
    for k, (latent, table) in enumerate(noise_tables(family).items()):
        means, variances = fam.moments({p: np.array(v) for p, v in table.items()})
        for env in range(len(U_VALUES)):
            rows = data.u == env
            assert_matches_law(residual[latent][rows], means[env], variances[env])
        np.testing.assert_allclose(residual[latent], data.n[:, k], atol=1e-12)


def test_noise_stays_in_the_family_support():
    """Gamma, beta and inverse-Gaussian noise is positive (beta below 1): samples respect the support."""
    for family in ("gamma", "inverse_gamma", "beta", "inverse_gaussian"):
        low, high = LATENT_FAMILIES[family].support
        n = simulate(from_dict(two_node_spec(family)), 500, seed=0).n
        assert (n > low).all() and (n < high).all(), family


def test_a_root_latent_equals_its_noise():
    """A root without a mechanism has g_i = 0, so z_i = n_i."""
    data = simulate(load_example("C1"), 200, seed=0)
    np.testing.assert_array_equal(data.z[:, 0], data.n[:, 0])


def test_latents_are_solved_in_causal_order_not_spec_order():
    """With spec order (a, b) but edge b -> a, a = 2b + n_a uses the sampled b (psi_u solves in causal order)."""
    spec = {"identcheck": 1, "latents": ["a", "b"], "environments": {"values": [0, 1, 2]},
            "noise": {"family": "gaussian", "params": {"a": {"mean": "u", "std": 1}, "b": {"mean": 0, "std": 1}}},
            "mechanisms": {"a": "2*b + u"}}
    data = simulate(from_dict(spec), 100, seed=0)
    u = data.env_values[data.u, 0]
    np.testing.assert_allclose(data.z[:, 0], 2 * data.z[:, 1] + u + data.n[:, 0])


def test_latents_from_noise_inverts_the_mechanism_residual():
    """psi_u^{-1}(z)_i = z_i - g_i(pa_i, u): feeding the sampled noise back through psi_u gives the same z."""
    scm = load_example("C9")
    data = simulate(scm, 50, seed=4)
    np.testing.assert_array_equal(latents_from_noise(scm, data.n, data.u), data.z)


def test_post_nonlinear_inverse_recovers_the_additive_form():
    """For z2 = gbar(u*z1 + n2) with gbar(t) = t^3 (catalogue C14), gbar^{-1}(z2) - u*z1 = n2 (Eq. 5)."""
    data = simulate(load_example("C14"), 300, seed=2)
    u = data.env_values[data.u, 0]
    np.testing.assert_allclose(np.cbrt(data.z[:, 1]) - u * data.z[:, 0], data.n[:, 1], atol=1e-9)


def test_rows_are_sorted_by_environment_with_the_requested_count():
    """u holds 0..E-1, N rows each, in order; env_values and labels come from the spec."""
    scm = load_example("C13b_vector")
    data = simulate(scm, 7, seed=0)
    assert data.u.tolist() == np.repeat(np.arange(scm.environments.count), 7).tolist()
    np.testing.assert_array_equal(data.env_values, scm.environments.values)
    assert data.env_labels == scm.environments.labels


def test_shapes_follow_the_spec_dimensions():
    """x is (N*E, d) with d = observed_dim, z and n are (N*E, l), adjacency is (l, l) in spec order."""
    spec = two_node_spec("gaussian", mixing={"kind": "mlp", "observed_dim": 4, "layers": 2})
    data = simulate(from_dict(spec), 6, seed=0)
    assert (data.x.shape, data.z.shape, data.n.shape, data.u.shape) == ((30, 4), (30, 2), (30, 2), (30,))
    assert data.adjacency.tolist() == [[False, True], [False, False]]
    assert [w.shape for w in data.mixing_params] == [(4, 2), (4, 4)]


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data():
    """Determinism: every array is a function of (spec, N, seed)."""
    scm = load_example("C7")
    a, b, c = simulate(scm, 100, seed=5), simulate(scm, 100, seed=5), simulate(scm, 100, seed=6)
    for key in ("x", "z", "n"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
        assert not np.array_equal(getattr(a, key), getattr(c, key))


def test_the_mixing_does_not_depend_on_the_sample_count():
    """The mixing stream is separate from the noise stream: f is the same for 10 or 1000 rows per environment."""
    scm = load_example("C3")
    small, large = simulate(scm, 10, seed=3), simulate(scm, 1000, seed=3)
    for w_small, w_large in zip(small.mixing_params, large.mixing_params, strict=True):
        np.testing.assert_array_equal(w_small, w_large)


def test_expression_mixing_applies_the_spec_formula_plus_the_declared_observation_noise():
    """C17 declares f(z) = (z1^2, z2) and Gaussian eps of scale 0.01: x - f(z) has std 0.01 (5 s.e. margin)."""
    data = simulate(load_example("C17"), 2000, seed=0)
    eps = data.x - np.stack([data.z[:, 0] ** 2, data.z[:, 1]], axis=1)
    assert abs(eps.mean()) < 5 * 0.01 / np.sqrt(eps.size)
    assert abs(eps.std() - 0.01) < 5 * 0.01 / np.sqrt(2 * eps.size)


def test_a_mechanism_that_overflows_names_the_node_and_the_environment():
    """exp(u^3 z1^2) is finite for u <= 1 and overflows at u = 50: DataError naming z2 and 50."""
    spec = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": [0, 1, 50]},
            "noise": {"family": "gaussian", "params": {"z1": {"mean": 0, "std": 1}, "z2": {"mean": 0, "std": 1}}},
            "mechanisms": {"z2": "exp(u**3*z1**2)"}}
    with pytest.raises(DataError, match=r"mechanism of z2 .* environment 50"):
        simulate(from_dict(spec), 200, seed=0)


def test_a_mechanism_that_gives_nan_names_the_node():
    """log(z1 + 4) of a Gaussian z1 (std 3) is NaN below -4, which the loader's simple points (|z1| <= 3) do
    not reach but 100 draws do: DataError naming z2 and the first bad environment. (u*log(z1), NaN already at
    z1 = -1, is a spec error at load time.)"""
    spec = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": [0, 1]},
            "noise": {"family": "gaussian", "params": {"z1": {"mean": 0, "std": 3}, "z2": {"mean": 0, "std": 1}}},
            "mechanisms": {"z2": "u*log(z1 + 4)"}}
    with pytest.raises(DataError, match=r"mechanism of z2 .* environment 0 \(and 1 more\)"):
        simulate(from_dict(spec), 100, seed=0)


def test_noise_that_overflows_names_the_latent_and_the_environment():
    """A noise mean of 1.7e308 in environment 2 alone makes draws of n2 infinite there. The DataError names
    the noise of z2 and environment 2, not a later step that the inf reaches (here the mixing, whose error
    would blame mixing.x[1])."""
    spec = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": [0, 1, 2]},
            "noise": {"family": "gaussian", "params": {
                "z1": {"mean": 0, "std": 1}, "z2": {"mean": "1.7e308*u*(u - 1)/2", "std": "1 + 1e307*u*(u - 1)"}}},
            "mechanisms": {"z2": "u*z1"}, "mixing": {"kind": "expression", "x": ["z1", "z2"]}}
    with pytest.raises(DataError, match=r"the noise of z2 overflows in environment 2$"):
        simulate(from_dict(spec), 200, seed=0)


def test_a_post_nonlinear_map_that_overflows_names_the_node_and_the_environment():
    """z2 = sinh(u z1 + n2) overflows at u = 800 only (sinh beyond 710): the DataError names the
    post-nonlinear map of z2 and environment 800, not the mixing that the inf would reach next."""
    spec = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": [0, 1, 800]},
            "noise": {"family": "gaussian", "params": {"z1": {"mean": 0, "std": 1}, "z2": {"mean": 0, "std": 1}}},
            "mechanisms": {"z2": "u*z1"}, "post_nonlinear": {"z2": "sinh(t)"},
            "mixing": {"kind": "expression", "x": ["z1", "z2"]}}
    with pytest.raises(DataError, match=r"the post-nonlinear map of z2 overflows in environment 800$"):
        simulate(from_dict(spec), 200, seed=0)


def test_a_mixing_expression_that_overflows_names_its_component_and_the_environment():
    """x2 = exp(z2^2) with z2 = u z1 + n2 overflows only at u = 30 (|z2| > 26.6 there, never at u = 0 or 1):
    the DataError names mixing.x[1] and environment 30, not the observation noise that the inf reaches
    next."""
    spec = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": [0, 1, 30]},
            "noise": {"family": "gaussian", "params": {"z1": {"mean": 0, "std": 1}, "z2": {"mean": 0, "std": 1}}},
            "mechanisms": {"z2": "u*z1"}, "mixing": {"kind": "expression", "x": ["z1", "exp(z2**2)"]}}
    with pytest.raises(DataError, match=r"mixing\.x\[1\] gives non-finite values .* in environment 30$"):
        simulate(from_dict(spec), 200, seed=0)


@pytest.mark.parametrize("family", ["gaussian", "laplace", "student_t", "sinc2"])
def test_observation_noise_that_overflows_x_is_a_data_error_naming_the_scale(family):
    """Found in a review (stop 44): observation noise of scale 1e308 made x inf, yet simulate returned it (and
    the CLI wrote a file that Dataset.load then called damaged), with a raw RuntimeWarning for student_t and
    sinc2. Pins a DataError naming observation_noise.scale, and no warning on the way."""
    scm = from_dict(two_node_spec("gaussian", observation_noise={"family": family, "scale": 1.0e308}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match=rf"observation_noise.scale = 1e\+308 \({family} noise\) makes x "
                                            r"non-finite .* environment 0"):
            simulate(scm, 200, seed=0)


def test_uniform_observation_noise_beyond_half_the_float_range_is_drawn_within_its_scale():
    """Found in a review (stop 44): uniform noise of scale 1.5e308 raised a raw OverflowError (numpy's range
    2*scale overflows). Pins finite draws spread over (-scale, scale), and the same bits as numpy's
    rng.uniform(-s, s) wherever 2*s is finite (same seed, same bytes for existing specs)."""
    s = 1.5e308
    data = simulate(from_dict(two_node_spec("gaussian", observation_noise={"family": "uniform", "scale": s})), 500)
    eps = data.x.ravel()
    assert np.all(np.abs(eps) <= s) and eps.min() < -s / 2 and eps.max() > s / 2
    draw = OBSERVATION_FAMILIES["uniform"].sample
    np.testing.assert_array_equal(draw(np.random.default_rng(3), 0.7, (50,)),
                                  np.random.default_rng(3).uniform(-0.7, 0.7, 50))


@pytest.mark.parametrize("name, mechanism, g", [
    ("select", "Piecewise((u*select, select > 0), (0, True))", lambda a, u: np.where(a > 0, u * a, 0)),
    ("greater", "Piecewise((u*greater, greater > 0), (0, True))", lambda a, u: np.where(a > 0, u * a, 0)),
    ("maximum", "Max(maximum, u)", np.maximum),
    ("gammaln", "u*loggamma(gammaln**2 + 1)", lambda a, u: u * special.gammaln(a**2 + 1)),
    ("e", "u*e + E", lambda a, u: u * a + np.e),
])
def test_a_latent_named_like_numpys_printed_functions_is_evaluated_as_written(name, mechanism, g):
    """Found in a review (stop 44): lambdify's code calls numpy and scipy by bare names (select for Piecewise,
    maximum for Max, gammaln for loggamma, e for E), which a latent of that name shadowed: 'numpy.ndarray'
    object is not callable, or for a latent e, E silently read as e's value. Pins z2 - n2 = g(z1, u) exactly
    as written, whatever z1 is called."""
    spec = {"identcheck": 1, "latents": [name, "z2"], "environments": {"values": U_VALUES},
            "noise": {"family": "gaussian", "params": {name: {"mean": "cos(u)", "std": "1 + u"},
                                                       "z2": {"mean": "u", "std": 1}}},
            "mechanisms": {"z2": mechanism}}
    data = simulate(from_dict(spec), 100, seed=0)
    np.testing.assert_allclose(data.z[:, 1] - data.n[:, 1], g(data.z[:, 0], data.env_values[data.u, 0]),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("family", ["sinc2", "student_t", "uniform"])
def test_the_memory_estimate_covers_the_peak_of_the_observation_noise_sampler(family):
    """Found in a review (stop 44): with sinc2 noise, simulate's traced peak was 1.6-2.4 times the memory
    estimate its check relies on (the rejection sampler's Cauchy proposals and temporaries were not
    counted), so a request just under the machine's memory passed the check and was then killed. Pins the
    traced peak at or under `simulation_bytes` (d = 20, 5 x 20000 rows)."""
    import tracemalloc

    from identcheck.simulate.sampler import simulation_bytes

    scm = from_dict(two_node_spec("gaussian", mixing={"kind": "mlp", "observed_dim": 20},
                                  observation_noise={"family": family, "scale": 0.1}))
    tracemalloc.start()
    try:
        simulate(scm, 20000, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= simulation_bytes(scm, 20000)


def test_noise_drawn_on_the_edge_of_its_support_is_named_when_a_mechanism_fails_there():
    """Found in a review (stop 44): gamma noise of shape 0.01 underflows to exactly 0 in float64 (outside
    its open support), so a valid u*log(z1) failed with a message blaming the mechanism alone. Pins the
    message naming the latent, the family, its parameters and the support edge."""
    spec = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": U_VALUES},
            "noise": {"family": "gamma", "params": {"z1": {"shape": 0.01, "rate": 1}, "z2": {"shape": 2, "rate": 1}}},
            "mechanisms": {"z2": "u*log(z1)"}}
    with pytest.warns(IdentcheckWarning, match="of the noise of z1 .* exactly 0"), \
            pytest.raises(DataError, match=r"mechanism of z2 gives non-finite values .* in environment \d+, where the "
                                        r"noise of z1 \(gamma, shape = 0.01, rate = 1\) is 0, the edge of its open "
                                        r"support \(0, inf\)"):
        simulate(from_dict(spec), 1000, seed=0)


def test_noise_drawn_on_the_edge_of_its_support_is_named_by_a_warning_when_nothing_fails():
    """beta(1 + u, 0.01) puts most float64 draws at exactly 1.0, outside the open support (0, 1), and with a
    mechanism that is finite there nothing said so (open since stop 44). Pins the warning: the latent, the
    count, the edge; the other latent's beta(2, 2 + u) draws are never on an edge and stay unnamed."""
    spec = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": U_VALUES},
            "noise": {"family": "beta", "params": {"z1": {"a": "1 + u", "b": 0.01}, "z2": {"a": 2, "b": "2 + u"}}},
            "mechanisms": {"z2": "u*z1"}}
    with pytest.warns(IdentcheckWarning) as caught:
        data = simulate(from_dict(spec), 500, seed=0)
    on_edge = int(np.count_nonzero(data.n[:, 0] == 1.0))
    assert on_edge > 500 and not np.any(data.n[:, 1] == 1.0)
    assert [str(w.message).split(": ", 1)[1] for w in caught] == [
        f"{on_edge} of {len(data.n)} draws of the noise of z1 (beta) are exactly 1, the edge of its open support "
        "(0, 1), where float64 rounds draws closer to it than its spacing"]


@pytest.mark.parametrize("count", [0, -3, 2.5, True, "10"])
def test_a_sample_count_that_is_not_a_positive_integer_is_rejected(count):
    """samples_per_env must be an integer >= 1."""
    with pytest.raises(DataError, match="samples_per_env"):
        simulate(load_example("C1"), count)


@pytest.mark.parametrize("seed", [-1, 2**32, 2**80, 1.0, True])
def test_a_seed_outside_the_learners_range_is_rejected(seed):
    """Seeds are integers in [0, 2**32), the range a learner takes, so that a seed that simulates also fits
    (`identcheck.seeds`); 2**80 simulated and then could not be saved."""
    with pytest.raises(DataError, match=r"seed must be an integer in \[0, 2\*\*32\)"):
        simulate(load_example("C1"), 10, seed=seed)
    with pytest.raises(DataError, match="seed must be"):
        synthetic(2, 3, 10, seed=seed)


def test_simulated_expressions_agree_with_sympy_evaluation():
    """The vectorised lambdified mechanism equals sympy's own evaluation at sampled rows (C11: u*z1*z2)."""
    scm = load_example("C11")
    data = simulate(scm, 3, seed=1)
    u_sym = scm.environments.symbols[0]
    for row in range(0, len(data.u), 4):
        point = {u_sym: data.env_values[data.u[row], 0], **dict(zip(scm.latent_symbols, data.z[row]))}
        g3 = float(scm.mechanism("z3").subs(point))
        assert data.z[row, 2] == pytest.approx(g3 + data.n[row, 2], rel=1e-12, abs=1e-12)


def test_noise_and_latents_refuse_environment_indices_out_of_range_and_wrong_shapes():
    """latents_from_noise took u = -1 (numpy wrapped it to the last environment) and ignored extra columns
    of n, and sample_noise raised a raw IndexError for an index past the last environment (found in a
    review, stop 44)."""
    from identcheck.simulate import sample_noise

    scm, rng = load_example("C1"), np.random.default_rng(0)
    with pytest.raises(DataError, match=r"outside 0..4: -1..0"):
        latents_from_noise(scm, np.zeros((2, 2)), np.array([0, -1]))
    with pytest.raises(DataError, match=r"n must have shape \(2, 2\)"):
        latents_from_noise(scm, np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(DataError, match=r"outside 0..4: 0..9"):
        sample_noise(scm, np.array([0, 9]), rng)
    for call in (lambda u: sample_noise(scm, u, rng), lambda u: latents_from_noise(scm, np.zeros((2, 2)), u)):
        with pytest.raises(DataError, match=r"outside 0..4: 0..5"):  # one past the last: the boundary itself
            call(np.array([0, 5]))
    with pytest.raises(DataError, match="integer environment indices"):
        sample_noise(scm, np.array([0.5]), rng)

