"""Controls for the learner metrics (SPEC §6): MPC, SHD with the MPC relabelling, and the parents' share."""

import numpy as np
import pytest

from identcheck.errors import DataError
from identcheck.learn import agreement, mpc, parent_share, shd, shd_curve


@pytest.fixture
def z():
    return np.random.default_rng(0).normal(size=(5000, 3))


def test_mpc_of_identity_is_one(z):
    result = mpc(z, z)
    assert result.value == pytest.approx(1.0)
    assert result.assignment.tolist() == [0, 1, 2]


def test_mpc_is_invariant_to_permutation_scaling_and_offset(z):
    """Theorem 2.1's indeterminacy ẑ = P z + c must score a perfect 1 and the matching must undo P."""
    z_hat = z[:, [2, 0, 1]] * np.array([-3.0, 0.5, 7.0]) + np.array([1.0, -2.0, 0.3])
    result = mpc(z, z_hat)
    assert result.value == pytest.approx(1.0)
    assert result.assignment.tolist() == [1, 2, 0]
    assert np.allclose(result.per_node, 1.0)


def test_mpc_of_independent_latents_is_near_zero(z):
    """|corr| of independent samples has standard error 1/sqrt(N) ≈ 0.014 at N = 5000; the matching takes
    the largest of few entries, so a margin of 0.05 (≈ 3.5 standard errors) is safe yet far below 1."""
    other = np.random.default_rng(1).normal(size=z.shape)
    assert mpc(z, other).value < 0.05


def test_spearman_sees_through_monotone_maps_and_pearson_does_not(z):
    """Post-nonlinear latents are identified up to monotone maps (Cor. 3.1): rank correlation is 1."""
    z_hat = np.exp(2 * z)
    assert mpc(z, z_hat, method="spearman").value == pytest.approx(1.0)
    assert mpc(z, z_hat).value < 0.8


def test_mpc_per_node_follows_the_true_nodes(z):
    z_hat = np.column_stack([z[:, 1], z[:, 0] + np.random.default_rng(2).normal(size=len(z)), z[:, 2]])
    result = mpc(z, z_hat)
    assert result.per_node[1] == pytest.approx(1.0)
    assert result.per_node[0] == pytest.approx(1 / np.sqrt(2), abs=0.03)
    assert result.to_dict()["assignment"] == [1, 0, 2]


def test_mpc_rejects_mismatched_rows(z):
    with pytest.raises(DataError, match="rows"):
        mpc(z, z[:-1])


def test_mpc_rejects_too_few_components(z):
    with pytest.raises(DataError, match="fewer"):
        mpc(z, z[:, :2])


CHAIN = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]], bool)  # z1 -> z2 -> z3


def test_shd_of_the_same_graph_is_zero():
    assert shd(CHAIN, CHAIN, [0, 1, 2]).value == 0


def test_shd_counts_a_reversal_once():
    learned = np.array([[0, 0, 0], [1, 0, 1], [0, 0, 0]], bool)  # z2 -> z1, z2 -> z3
    result = shd(CHAIN, learned, [0, 1, 2])
    assert (result.value, result.reversed, result.missing, result.extra) == (1, 1, 0, 0)


def test_shd_counts_missing_and_extra_edges():
    learned = np.array([[0, 1, 1], [0, 0, 0], [0, 0, 0]], bool)  # z1 -> z2, z1 -> z3
    result = shd(CHAIN, learned, [0, 1, 2])
    assert (result.value, result.missing, result.extra, result.reversed) == (2, 1, 1, 0)


def test_shd_counts_a_two_cycle_as_extra_not_as_a_reversal():
    """A learned 2-cycle z1 <-> z2 where the truth has z1 -> z2 holds the true edge and adds the opposite
    one: an extra edge (the docstring's "any other disagreement"), not a reversal."""
    learned = CHAIN | np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0]], bool)  # adds z2 -> z1
    result = shd(CHAIN, learned, [0, 1, 2])
    assert (result.value, result.extra, result.reversed, result.missing) == (1, 1, 0, 0)


def test_shd_counts_a_learned_self_loop_as_extra():
    """An edge z2 -> z2 in the learned graph is an edge the truth lacks: it adds one extra edge."""
    learned = CHAIN.copy()
    learned[1, 1] = True
    result = shd(CHAIN, learned, [0, 1, 2])
    assert (result.value, result.extra, result.missing, result.reversed) == (1, 1, 0, 0)


def test_shd_relabels_the_learned_graph_by_the_matching():
    """Learned node k stands for true node i where assignment[i] = k: a correct graph in permuted labels has SHD 0."""
    assignment = [2, 0, 1]
    learned = np.zeros((3, 3), bool)
    learned[2, 0] = learned[0, 1] = True  # true 1 -> 2 is learned 2 -> 0; true 2 -> 3 is learned 0 -> 1
    assert shd(CHAIN, learned, assignment).value == 0
    assert shd(CHAIN, learned, [0, 1, 2]).value == 2  # unrelabelled: one edge agrees by chance


def test_shd_curve_thresholds_strengths():
    strengths = np.array([[0, 0.5, 0.05], [0, 0, 0.2], [0, 0, 0]])
    assert shd_curve(CHAIN, strengths, [0, 1, 2], [0.01, 0.1, 0.3, 1.0]).tolist() == [1, 0, 1, 2]


def test_shd_curve_at_threshold_zero_keeps_only_the_positive_strengths():
    """The graph at τ is strengths > τ, strictly: at τ = 0 a pair of strength 0 (no influence at all) is no
    edge, so the true strengths score SHD 0 there, not an edge on every pair."""
    strengths = np.array([[0, 0.5, 0], [0, 0, 0.2], [0, 0, 0]])
    assert shd_curve(CHAIN, strengths, [0, 1, 2], [0.0, 0.2]).tolist() == [0, 1]


def test_shd_rejects_a_bad_assignment():
    with pytest.raises(DataError, match="distinct"):
        shd(CHAIN, CHAIN, [0, 0, 1])


def test_parent_share_is_zero_for_an_identified_node():
    rng = np.random.default_rng(0)
    z1 = rng.normal(size=4000)
    z2 = 0.8 * z1 + rng.normal(size=4000)
    result = parent_share(-2 * z2 + 5, z2, z1[:, None])
    assert result.share == pytest.approx(0.0, abs=1e-9)
    assert result.r2_node == pytest.approx(1.0)


def test_parent_share_measures_an_absorbed_parent():
    """ẑ2 = z2 − 0.8 z1 = n2 (the C2-style witness): R²(z2 alone) = 1/1.64, R²(z2, z1) = 1, share = 0.64/1.64."""
    rng = np.random.default_rng(0)
    z1 = rng.normal(size=20000)
    z2 = 0.8 * z1 + rng.normal(size=20000)
    result = parent_share(z2 - 0.8 * z1, z2, z1[:, None])
    assert result.r2_full == pytest.approx(1.0)
    assert result.share == pytest.approx(0.64 / 1.64, abs=0.02)


def test_parent_share_of_a_root_is_zero():
    z1 = np.random.default_rng(0).normal(size=100)
    assert parent_share(z1, z1, np.empty((100, 0))).share == 0.0


def test_parent_share_within_environments_sees_a_parent_whose_weight_flips_sign():
    """z2 = w(u) z1 + n2 with w = +0.8 in environment 0 and −0.8 in 1; ẑ2 = n2 absorbed its parent. Pooled,
    z1 is uncorrelated with n2 given z2 (the two signs cancel), share ≈ 0 (sampling error about 1e-3); within
    each environment the share is 0.64 / 1.64 ≈ 0.39, as in the single-environment control above. Margin 0.02."""
    rng = np.random.default_rng(0)
    u = np.repeat([0, 1], 10000)
    z1 = rng.normal(size=20000)
    w = np.where(u == 0, 0.8, -0.8)
    n2 = rng.normal(size=20000)
    z2 = w * z1 + n2
    assert parent_share(n2, z2, z1[:, None]).share < 0.02
    within = parent_share(n2, z2, z1[:, None], u=u)
    assert within.share == pytest.approx(0.64 / 1.64, abs=0.02)
    assert within.r2_full == pytest.approx(1.0)
    assert parent_share(-2 * z2 + 5, z2, z1[:, None], u=u).share == pytest.approx(0.0, abs=1e-9)


def test_parent_share_within_environments_weights_each_environment_by_its_rows():
    """ẑ2 = z2 in environment 0 (9000 rows, share 0) and ẑ2 = n2 = z2 − 0.8 z1 in environment 1 (1000 rows,
    share 0.64 / 1.64 ≈ 0.39): weighted by rows the share is 0.1 × 0.39 ≈ 0.039; an unweighted mean of the
    environments would give 0.195. Margin 0.01 (sampling error about 1e-3)."""
    rng = np.random.default_rng(0)
    u = np.repeat([0, 1], [9000, 1000])
    z1, n2 = rng.normal(size=(2, 10000))
    z2 = 0.8 * z1 + n2
    z_hat = np.where(u == 0, z2, n2)
    assert parent_share(z_hat, z2, z1[:, None], u=u).share == pytest.approx(0.1 * 0.64 / 1.64, abs=0.01)


@pytest.mark.parametrize("u, match", [(np.zeros(99, dtype=int), "one environment per row"),
                                      (np.full(100, 0.5), "integer environment indices"),
                                      (np.ones((100, 2)), "one-hot")])
def test_parent_share_rejects_bad_environment_indices(u, match):
    z1 = np.random.default_rng(0).normal(size=100)
    with pytest.raises(DataError, match=match):
        parent_share(z1, z1, z1[:, None], u=u)


def test_parent_share_takes_u_as_the_learners_do():
    """Indices as integers, as integer-valued floats or as a one-hot matrix give the same share (it took
    integer dtypes only, the learners take all three; found in a review, stop 43)."""
    rng = np.random.default_rng(0)
    u = rng.integers(0, 3, size=300)
    z1, n2 = rng.normal(size=(2, 300))
    z2 = np.where(u == 0, 0.8, -0.8) * z1 + n2
    shares = {parent_share(n2, z2, z1[:, None], u=form).share for form in (u, u.astype(float), np.eye(3)[u])}
    assert len(shares) == 1 and shares.pop() > 0.1


def test_mpc_is_scale_free_at_the_ends_of_the_float_range(z):
    """|corr| does not depend on scale; at 1e200 the norms overflowed and at 1e-200 they underflowed, and
    MPC came out 0 (found in a review, stop 43)."""
    assert mpc(z * 1e200, z).value == pytest.approx(1.0) and mpc(z * 1e-200, z).value == pytest.approx(1.0)
    assert mpc(np.column_stack([z[:, 0], np.full(len(z), 0.1)]), z).per_node[1] < 1e-12  # constant: about 0


def test_parent_share_is_scale_free_at_the_ends_of_the_float_range():
    """The share is a ratio of R²s and does not depend on the scale of ẑ_i or of the true latents; at 1e-200
    the squares underflowed and a node that absorbed its parents read share 0 (identified), at 1e200 they
    overflowed to NaN (review 45, as MPC in stop 43)."""
    rng = np.random.default_rng(0)
    parents = rng.normal(size=(3000, 3))
    n4 = rng.normal(size=3000)
    z4 = parents @ [0.5, -0.7, 0.3] + n4
    share = parent_share(n4, z4, parents).share
    assert share > 0.4
    for scale in (1e-200, 1e200):
        assert parent_share(scale * n4, z4, parents).share == pytest.approx(share)
        assert parent_share(n4, scale * z4, scale * parents).share == pytest.approx(share)


def test_two_constant_columns_correlate_zero(z):
    """A constant column correlates 0 with every column, a constant one included: the rounding of 0.1's mean
    (0.1 - mean = -1.4e-17) left equal non-zero values, scaled to -1, so a collapsed learned latent matched to
    a constant true one scored 1 (review 45)."""
    constant = np.column_stack([z[:, 0], np.full(len(z), 0.1)])
    result = mpc(constant, np.column_stack([z[:, 0], np.full(len(z), 0.3)]))
    assert result.per_node[1] == 0.0 and result.value == pytest.approx(0.5)
    assert agreement([constant, constant[:, ::-1]])[0, 1] == pytest.approx(0.5)


def test_metrics_take_torch_tensors_that_require_grad(z):
    """A tensor still attached to an autograd graph is read as its values (numpy refused it with torch's
    RuntimeError)."""
    torch = pytest.importorskip("torch")
    assert mpc(torch.tensor(z, requires_grad=True), z).value == pytest.approx(1.0)
    adjacency = torch.tensor([[0.0, 1.0], [0.0, 0.0]], requires_grad=True)
    assert shd(adjacency, adjacency, torch.tensor([0, 1])).value == 0


def test_agreement_is_symmetric_sees_through_order_and_scale_and_singles_out_the_odd_fit(z):
    rng = np.random.default_rng(3)
    fits = [z, -3 * z[:, ::-1] + 2, z + 0.05 * rng.normal(size=z.shape), rng.normal(size=z.shape)]
    matrix = agreement(fits)
    assert np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 1.0)
    assert matrix[0, 1] == pytest.approx(1.0) and matrix[0, 2] > 0.99
    assert matrix[3, :3].max() < 0.1  # the independent fit agrees with none (control)
    assert np.argmin(matrix.sum(1)) == 3


def test_agreement_needs_two_fits_on_the_same_rows(z):
    with pytest.raises(DataError, match="at least 2 fits"):
        agreement([z])
    with pytest.raises(DataError, match="rows"):
        agreement([z, z[:-1]])


def _z(rows: int = 50, cols: int = 2) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(rows, cols))


@pytest.mark.parametrize("call, match", [
    (lambda: mpc(_z()[:1], _z()[:1]), r"z_true must have shape \(N, k\) with N >= 2"),
    (lambda: mpc(np.where(np.eye(50, 2) == 1, np.nan, _z()), _z()), "z_true contains NaN/inf"),
    (lambda: mpc(_z(), _z(), method="kendall"), "method must be 'pearson' or 'spearman'"),
    (lambda: shd(np.zeros((2, 3)), np.zeros((2, 2)), [0, 1]), "square adjacency matrix"),
    (lambda: shd(np.zeros((2, 2)), np.zeros((2, 2)), [0, 2]), r"assignment indices must lie in 0\.\.1"),
    (lambda: parent_share(_z()[:, 0], _z()[:, 1], np.full((50, 1), np.inf)), "z_true_parents contains NaN/inf"),
    # found by probing the metrics with odd input: numpy errors, silent truncation or warnings before
    (lambda: mpc(_z(cols=0), _z(cols=0)), r"z_true must have shape \(N, k\) with N >= 2 and k >= 1"),
    (lambda: mpc(_z() + 1j, _z()), "z_true must be real"),
    (lambda: mpc([["a", "b"]] * 50, _z()), "z_true must be a numeric array"),
    (lambda: shd(np.full((2, 2), np.nan), np.zeros((2, 2)), [0, 1]), "true_adj must hold booleans or finite"),
    (lambda: shd(np.zeros((2, 2)), np.zeros((2, 2)), [0.5, 1]), "assignment must hold integer indices"),
    (lambda: shd(np.zeros((2, 2)), np.zeros((2, 2)), "ab"), "assignment must hold integer indices"),
    (lambda: shd_curve(np.zeros((2, 2)), np.zeros((2, 2)), [0, 1], ["a"]), "must be numbers"),
    (lambda: shd_curve(np.zeros((2, 2)), np.zeros((2, 2)), [0, 1], [np.nan]), "finite numbers"),
    (lambda: parent_share(_z()[:, 0], _z()[:, 1], _z()[:10]), r"z_true_parents must have shape \(50, p\)"),
    (lambda: parent_share(_z()[:, 0], _z()[:, 1], _z()[:, :, None]), r"z_true_parents must have shape \(50, p\)"),
    (lambda: parent_share(_z(), _z()[:, 1], _z()), "z_hat_i must be one variable"),
    # review of stop 35: the parents and the strengths had their own casts, which warned and dropped imaginary
    # parts, or raised numpy's ValueError for text
    (lambda: parent_share(_z()[:, 0], _z()[:, 1], _z()[:, :1] + 1j), "z_true_parents must be real"),
    (lambda: parent_share(_z()[:, 0], _z()[:, 1], [["a"]] * 50), "z_true_parents must be a numeric array"),
    (lambda: shd_curve(np.zeros((2, 2)), np.zeros((2, 2)) + 1j, [0, 1], [0.1]), "strengths must be real"),
])
def test_malformed_metric_inputs_are_named(call, match):
    """Each metric names what is wrong with its input as a DataError (the CLI's exit 2), never a numpy error."""
    with pytest.raises(DataError, match=match):
        call()


def test_metrics_read_as_text():
    """The results print as one line each, with the numbers a reader needs."""
    z = _z()
    assert str(mpc(z, z[:, ::-1])) == "MPC (pearson) = 1.000 [z1->2: 1.000, z2->1: 1.000]"
    learned = np.array([[False, False], [True, False]])
    result = shd(np.array([[False, True], [False, False]]), learned, [0, 1])
    assert str(result) == "SHD = 1 (missing 0, extra 0, reversed 1)"
    assert result.to_dict() == {"value": 1, "missing": 0, "extra": 0, "reversed": 1}
    share = parent_share(z[:, 0], z[:, 0], z[:, 1:])
    assert str(share) == "parent share = 0.000 (R² full 1.000, node only 1.000)"


def test_shd_of_empty_graphs_is_zero():
    """Zero nodes: nothing to disagree on (it raised numpy's zero-size reduction error)."""
    assert shd(np.zeros((0, 0)), np.zeros((0, 0)), []).value == 0
