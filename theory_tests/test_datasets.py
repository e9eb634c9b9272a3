"""The paper's data sets (SPEC §6): App. F synthetic data, the partial-identifiability variant (Fig. 2),
Chemistry-like images and the semi-synthetic fMRI loader."""

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from identcheck import DataError, from_text, sizes
from identcheck.datasets import fmri, image, object_masks, partial, read_table, save_grid, synthetic

DOCS_GRID = Path(__file__).resolve().parents[1] / "docs" / "images" / "image_samples.png"


def lambdas(data):
    """The λ table of every edge: {(parent, child): array over segments}."""
    return {(p, c): data.scm.parameters[f"lam_{p}_{c}"] for p, c in data.edges}


# -- synthetic (App. F) ---------------------------------------------------------------------------------
def test_synthetic_has_the_requested_shape_and_segments():
    """latents × segments × samples_per_segment: x (S·N, ℓ) with d = ℓ, u the segment index."""
    data = synthetic(latents=4, segments=11, samples_per_segment=30, seed=1)
    assert data.x.shape == (330, 4) and data.z.shape == (330, 4)
    assert data.u.tolist() == np.repeat(np.arange(11), 30).tolist()
    assert data.scm.environments.kind == "segments" and data.scm.mixing.layers == 3


@pytest.mark.parametrize("seed", range(5))
def test_synthetic_dag_is_lower_triangular_and_every_later_latent_has_a_parent(seed):
    """ER lower-triangular DAG, connected: edges point from z_j to z_i with j < i, and z2..zℓ have parents."""
    data = synthetic(latents=6, segments=3, samples_per_segment=2, seed=seed, edge_prob=0.1)
    assert not np.tril(data.adjacency).any()
    assert data.adjacency[:, 1:].any(axis=0).all()


@pytest.mark.parametrize("edge_prob, parents", [(0.0, [1, 1, 1]), (1.0, [1, 2, 3])])
def test_edge_prob_zero_gives_one_parent_each_and_one_gives_every_forward_edge(edge_prob, parents):
    """The ends of edge_prob's range [0, 1]: at 0 no edge is drawn and every later latent gets its one
    parent; at 1 every edge z_j -> z_i, j < i, is drawn."""
    data = synthetic(latents=4, segments=3, samples_per_segment=2, edge_prob=edge_prob)
    assert data.adjacency.sum(axis=0)[1:].tolist() == parents and not np.tril(data.adjacency).any()


def test_synthetic_causal_weights_vanish_exactly_in_the_reference_segment():
    """λ = 0 in the reference segment for every edge (so (iv-N) holds there) and |λ| in [0.2, 1] elsewhere,
    with both signs drawn (SuaVE: ±U(0.2, 1))."""
    data = synthetic(latents=5, segments=40, samples_per_segment=2, seed=3, reference_segment=7)
    assert data.reference_envs == (7,)
    for lam in lambdas(data).values():
        assert lam[7] == 0
        others = np.delete(lam, 7)
        assert ((np.abs(others) >= 0.2) & (np.abs(others) <= 1)).all()
        assert (others > 0).any() and (others < 0).any()


def test_synthetic_mechanism_is_constant_in_the_reference_segment():
    """g_i(·, u_ref) does not depend on the parents: z_i − n_i takes one value in the reference segment."""
    data = synthetic(latents=4, segments=9, samples_per_segment=50, seed=0)
    rows = data.u == 0
    g = (data.z - data.n)[rows]
    assert np.ptp(g, axis=0).max() < 1e-12
    assert np.ptp((data.z - data.n)[data.u == 1][:, 1:], axis=0).min() > 1e-3


def test_synthetic_noise_tables_use_the_suave_ranges():
    """Per segment and latent: mean ~ U(−2, 2), std ~ U(0.1, 2)."""
    data = synthetic(latents=3, segments=50, samples_per_segment=2, seed=4)
    means = np.stack([data.scm.parameters[f"{z}.mean"] for z in data.latents])
    stds = np.stack([data.scm.parameters[f"{z}.std"] for z in data.latents])
    assert (np.abs(means) <= 2).all() and ((stds >= 0.1) & (stds <= 2)).all()
    assert means.std() > 0.5 and stds.std() > 0.2


def test_paper_literal_mode_has_no_zero_segment_and_says_so():
    """paper_literal=True draws λ in every segment, records no reference, and flags it in the description."""
    data = synthetic(latents=3, segments=20, samples_per_segment=2, seed=0, paper_literal=True)
    assert data.reference_envs == ()
    assert all((lam != 0).all() for lam in lambdas(data).values())
    assert "PAPER-LITERAL" in data.scm.spec["description"]


def test_synthetic_spec_round_trips_through_yaml():
    """The generator's truth is a plain spec: its YAML text rebuilds the same model."""
    data = synthetic(latents=3, segments=7, samples_per_segment=2, seed=5)
    again = from_text(yaml.safe_dump(data.scm.spec))
    assert again.edges == data.scm.edges and again.mechanisms == data.scm.mechanisms


def test_synthetic_is_reproducible_and_seed_dependent():
    """Same seed, same data and model; another seed, another model."""
    a, b = synthetic(latents=3, segments=5, samples_per_segment=10, seed=2), synthetic(3, 5, 10, seed=2)
    c = synthetic(latents=3, segments=5, samples_per_segment=10, seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.scm.spec == b.scm.spec and a.scm.spec != c.scm.spec


@pytest.mark.parametrize("kwargs, message", [
    ({"segments": 0}, "segments"), ({"reference_segment": 5, "segments": 5}, "reference_segment"),
    ({"reference_segment": []}, "reference_segment"), ({"reference_segment": [1, 1]}, "reference_segment"),
    ({"reference_segment": [0, 5], "segments": 5}, "reference_segment"),
    ({"reference_segment": [0, 1.5]}, "reference_segment"), ({"reference_segment": -1}, "reference_segment"),
    ({"edge_prob": 1.5}, "edge_prob"), ({"latents": 0}, "latents"), ({"hidden": 0}, "hidden"),
    ({"strength": 0}, "strength"), ({"strength": -1.0}, "strength"), ({"strength": float("nan")}, "strength"),
    ({"strength": float("inf")}, "strength"), ({"strength": True}, "strength"),
    ({"gain": 0}, "gain"), ({"gain": -2.0}, "gain"), ({"gain": float("nan")}, "gain"), ({"gain": False}, "gain"),
    ({"gain": 1e-320}, "gain"), ({"strength": 1e301}, "strength"),
])
def test_synthetic_rejects_bad_arguments(kwargs, message):
    """Out-of-range arguments are DataErrors naming the argument."""
    with pytest.raises(DataError, match=message):
        synthetic(**{"samples_per_segment": 2, **kwargs})


@pytest.mark.parametrize("make, kwargs, message", [
    (synthetic, {"segments": 10**12}, r"segments = 1000000000000 is beyond the largest .* \(100,000\)"),
    (partial, {"segments": 10**12}, r"segments = 1000000000000 is beyond the largest"),
    (synthetic, {"latents": 10**6}, r"latents = 1000000 .* need about .* GB, more than this machine's"),
    (image, {"samples_per_segment": 10**4, "segments": 10, "size": 1024},
     r"100000 images of size = 1024 \(10 segments x 10000 samples_per_segment\) need about .* GB"),
], ids=["synthetic segments", "partial segments", "synthetic latents", "image pixels"])
def test_a_request_too_large_for_the_machine_is_a_data_error_before_any_allocation(make, kwargs, message):
    """Found in a review (stop 44): synthetic(segments=10**12) drew its tables before the spec's segment
    bound, and image checked the memory of the colours but not of the rendered pixels: a raw MemoryError
    (or, just under the machine's memory, a process killed for it). Pins a DataError naming the argument
    (identcheck.sizes: MAX_SEGMENTS, require_memory)."""
    with pytest.raises(DataError, match=message):
        make(**kwargs)


def test_too_many_hidden_units_is_a_data_error_about_hidden():
    """Found in a review (stop 44): synthetic(hidden=10**4) failed with a SpecError on <synthetic> telling
    the user to write a long sum as Add(...) in a spec they never wrote. Pins a DataError naming hidden and
    its bound (MAX_HIDDEN_UNITS: 1000 units parse in seconds, 3000 are too deep for Python's parser)."""
    with pytest.raises(DataError, match=r"hidden = 10000 is beyond the largest this toolkit accepts \(1,000\)"):
        synthetic(latents=2, segments=5, samples_per_segment=2, hidden=10**4)


def test_the_model_tables_too_large_for_the_memory_are_a_data_error_naming_them(monkeypatch):
    """The per-segment tables (a float per segment and per mean, std and edge) are checked before they are
    drawn: with the memory given as 1 MB, 10^5 segments of 3 latents (about 20 MB of tables) are refused,
    while their 3 x 3 edge draws pass."""
    monkeypatch.setattr(sizes, "physical_memory", lambda: 10**6)
    with pytest.raises(DataError, match="100000 segments x 3 latents and 2 edges .* need about"):
        synthetic(latents=3, segments=10**5, samples_per_segment=1, edge_prob=0.0)


def test_strength_scales_the_mechanisms_and_nothing_else():
    """strength multiplies the output weights only: the same graph, λ and noise, and g_2(z1, u) (z1 is a
    root, so the same in both) exactly doubles at strength 2."""
    one, two = synthetic(4, 6, 40, seed=1), synthetic(4, 6, 40, seed=1, strength=2.0)
    assert one.edges == two.edges and lambdas(one).keys() == lambdas(two).keys()
    assert all((lambdas(one)[e] == lambdas(two)[e]).all() for e in lambdas(one))
    np.testing.assert_array_equal(one.n, two.n)
    np.testing.assert_allclose((two.z - two.n)[:, 1], 2 * (one.z - one.n)[:, 1], rtol=1e-12, atol=1e-12)
    assert np.abs((one.z - one.n)[:, 1]).max() > 0.1
    assert "times 2" in two.scm.spec["description"] and "times" not in one.scm.spec["description"]


def test_gain_scales_the_tanh_inputs_and_nothing_else():
    """gain multiplies the input weights inside the tanh units only: the same graph, λ and noise, and
    g_2 at gain 2 evaluated at z1 / 2 is g_2 at gain 1, symbol for symbol; gain 1 is the default recipe."""
    import sympy as sp
    one, two = synthetic(4, 6, 40, seed=1), synthetic(4, 6, 40, seed=1, gain=2.0)
    assert one.edges == two.edges and all((lambdas(one)[e] == lambdas(two)[e]).all() for e in lambdas(one))
    np.testing.assert_array_equal(one.n, two.n)
    z1 = one.scm.symbol("z1")
    assert sp.simplify(two.scm.mechanism("z2").subs(z1, z1 / 2) - one.scm.mechanism("z2")) == 0
    assert "input weights times 2" in two.scm.spec["description"]
    np.testing.assert_array_equal(synthetic(4, 6, 40, seed=1, gain=1.0).x, one.x)


@pytest.mark.parametrize("make", [synthetic, partial], ids=["synthetic", "partial"])
@pytest.mark.parametrize("factor", [{"strength": 1e-5}, {"gain": 4e-5}, {"gain": 1e-6}, {"strength": 3e-200}])
def test_a_small_strength_or_gain_scales_the_weights_and_keeps_every_edge(make, factor):
    """Found in a review (stop 44): the scaled weights were rounded to 4 decimals, so strength or gain
    <= 4e-5 wrote 0 for every weight and silently deleted the causal graph (edges ()), against "every latent
    after z1 gets at least one parent". Pins the same edges as at factor 1, and g_2 = factor times g_2 at
    factor 1 (strength), or g_2 at factor 1 with z1 scaled by the factor (gain), to 4 significant digits."""
    one, small = make(4, 6, 2, seed=1), make(4, 6, 2, seed=1, **factor)
    assert small.edges == one.edges and all(c in small.scm.mechanisms for _, c in one.edges)
    (name, value), = factor.items()
    z1 = one.scm.symbol("z1")
    expected = value * one.scm.mechanism("z2") if name == "strength" else one.scm.mechanism("z2").subs(z1, value * z1)
    point = {one.scm.symbol("lam_z1_z2"): 0.7, z1: 0.3}
    assert float(small.scm.mechanism("z2").subs(point)) == pytest.approx(float(expected.subs(point)), rel=1e-12)


def test_stronger_mechanisms_pull_z_away_from_the_noise():
    """The point of strength: the true noise n, read as ẑ, scores a lower MPC of z as it grows. ℓ = 5,
    50 × 100, seeds 0-2: 0.82-0.97 at strength 1, 0.61-0.87 at 2, 0.50-0.75 at 3; each step lowers it by at
    least 0.09, asserted with a margin of 0.05."""
    from identcheck.learn import mpc
    for seed in range(3):
        scores = [mpc(d.z, d.n).value for d in (synthetic(5, 50, 100, seed, strength=s) for s in (1.0, 2.0, 3.0))]
        assert scores[0] - scores[1] > 0.05 and scores[1] - scores[2] > 0.05


# -- partial (Fig. 2) ---------------------------------------------------------------------------------
def test_partial_invariant_edge_keeps_one_nonzero_weight_in_every_segment():
    """λ on z1 -> z2 is one non-zero constant, also in the reference segment; other edges vanish there."""
    data = partial(latents=4, segments=12, samples_per_segment=2, seed=1)
    tables = lambdas(data)
    invariant = tables.pop(("z1", "z2"))
    assert len(set(invariant)) == 1 and invariant[0] != 0
    assert all(lam[0] == 0 for lam in tables.values())


def test_partial_without_invariant_edges_records_its_reference_segments():
    """With no invariant edge, λ vanishes on every edge in the reference segments, so they are references of
    the whole model (`Dataset.reference_envs`); partial recorded none, so a learner pinned by them pinned
    nothing (review 45)."""
    data = partial(latents=3, segments=7, samples_per_segment=2, seed=0, invariant_edges=(), reference_segment=[1, 4])
    assert all((lam[[1, 4]] == 0).all() for lam in lambdas(data).values())
    assert data.reference_envs == (1, 4)


def test_partial_rejects_an_edge_against_the_order():
    """An invariant edge must point forward (z_j -> z_i, j < i) in the lower-triangular DAG."""
    with pytest.raises(DataError, match="forward"):
        partial(samples_per_segment=2, invariant_edges=[("z3", "z1")])


@pytest.mark.parametrize("edge", [("z1", "z1"), ("z1", "z2", "z3"), "z1z2"])
def test_partial_rejects_an_invariant_edge_that_is_not_a_forward_pair(edge):
    """An invariant edge is a pair of latents z_j -> z_i with j < i: a self-loop, a triple or a string is a
    DataError naming it."""
    with pytest.raises(DataError, match="invariant edge"):
        partial(samples_per_segment=2, segments=5, invariant_edges=[edge])


# -- the checker sees the truth the generators built --------------------------------------------------
def test_checker_finds_every_synthetic_latent_identifiable():
    """With λ = 0 in an observed segment and 2ℓ+1 segments, Theorem 2.1 applies: every latent ✓."""
    check = pytest.importorskip("identcheck.check").check
    data = synthetic(latents=3, segments=7, samples_per_segment=2, seed=0)
    verdicts = {name: node.verdict for name, node in check(data.scm).nodes.items()}
    assert verdicts == {"z1": "identifiable", "z2": "identifiable", "z3": "identifiable"}


def test_checker_finds_the_invariant_edges_children_unidentifiable():
    """Theorem 2.5: the child of an invariant edge is ✗, every other latent ✓ (Fig. 2)."""
    check = pytest.importorskip("identcheck.check").check
    data = partial(latents=3, segments=7, samples_per_segment=2, seed=0)
    verdicts = {name: node.verdict for name, node in check(data.scm).nodes.items()}
    expected = {z: "unidentifiable" if z == "z2" else "identifiable" for z in data.latents}
    assert verdicts == expected


def test_checker_finds_paper_literal_children_unidentifiable():
    """Without a zero segment (iv) fails on every edge: all non-roots are ✗ (SPEC §6, paper-literal)."""
    check = pytest.importorskip("identcheck.check").check
    data = synthetic(latents=3, segments=7, samples_per_segment=2, seed=0, paper_literal=True)
    verdicts = {name: node.verdict for name, node in check(data.scm).nodes.items()}
    assert verdicts == {"z1": "identifiable", "z2": "unidentifiable", "z3": "unidentifiable"}


def test_checker_finds_the_image_latents_identifiable():
    """The image chain z1 -> z2 -> z3 vanishes in the reference segment and its colour map is injective."""
    check = pytest.importorskip("identcheck.check").check
    data = image(samples_per_segment=2, segments=7, size=8)
    report = check(data.scm)
    assert {node.verdict for node in report.nodes.values()} == {"identifiable"}


# -- images ------------------------------------------------------------------------------------------
def test_image_is_an_rgb_float_batch_in_the_unit_interval():
    """x is (N·E, 3, H, W) float32 in [0, 1]; the latents follow the chain z1 -> z2 -> z3."""
    data = image(samples_per_segment=5, segments=7, size=24, seed=0)
    assert data.x.shape == (35, 3, 24, 24) and data.x.dtype == np.float32
    assert 0 <= data.x.min() and data.x.max() <= 1
    assert data.edges == (("z1", "z2"), ("z2", "z3"))


def test_object_masks_are_disjoint_and_non_empty():
    """Three objects at fixed places that do not overlap (so the pixel map of the colours is injective)."""
    masks = object_masks(32)
    assert (masks.sum(axis=(1, 2)) > 20).all()
    assert (masks.sum(axis=0) <= 1 + 1e-6).all()
    assert ((masks > 0).sum(axis=0) <= 1).all()


def test_each_object_colour_encodes_its_latent():
    """The red channel inside object k is sigmoid(z_k / 2): z_k is read back from the image exactly. The
    colour is the module's curve c(s) = (s, 0.5 + 0.4·sin(2πs), 1 − s) at s = sigmoid(z_k / 2), in all three
    channels (the green and blue ones were not read before)."""
    data = image(samples_per_segment=20, segments=7, size=32, seed=3)
    masks = data.mixing_params[0]
    for k in range(3):
        row, col = np.argwhere(masks[k] == 1)[0]
        red = data.x[:, 0, row, col].astype(float)
        np.testing.assert_allclose(2 * np.log(red / (1 - red)), data.z[:, k], atol=1e-4)
        s = 1 / (1 + np.exp(-data.z[:, k] / 2))
        curve = np.stack([s, 0.5 + 0.4 * np.sin(2 * np.pi * s), 1 - s], axis=1)
        np.testing.assert_allclose(data.x[:, :, row, col], curve, atol=1e-5)


def test_background_stays_black():
    """Pixels outside every object are 0 in every image."""
    data = image(samples_per_segment=3, segments=7, size=16, seed=0)
    outside = data.mixing_params[0].sum(axis=0) == 0
    assert (data.x[:, :, outside] == 0).all()


def test_images_beyond_the_memory_are_refused_and_within_it_are_made(monkeypatch):
    """The check counts the pixels: with the memory given as one byte less than the float32 images alone,
    350 images of 8 x 8 are refused; with ten times more they are made."""
    pixels = 350 * 3 * 8 * 8 * 4  # 7 segments x 50 samples_per_segment, 3 channels, float32
    monkeypatch.setattr(sizes, "physical_memory", lambda: pixels - 1)
    with pytest.raises(DataError, match="350 images of size = 8 .* need about"):
        image(samples_per_segment=50, segments=7, size=8)
    monkeypatch.setattr(sizes, "physical_memory", lambda: 10 * pixels)
    assert image(samples_per_segment=50, segments=7, size=8).x.nbytes == pixels


def test_save_grid_refuses_images_that_are_not_rgb(tmp_path):
    """A batch of one-channel images (N, 1, H, W) is not the RGB (N, 3, H, W) the grid paints: DataError, no file."""
    data = image(samples_per_segment=2, segments=7, size=8)
    with pytest.raises(DataError, match=r"save_grid needs images \(N, 3, H, W\), got x of shape \(14, 1, 8, 8\)"):
        save_grid(replace(data, x=data.x[:, :1]), tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()


def test_image_needs_a_sample_per_segment():
    """samples_per_segment = 0 would make no images: a DataError naming it."""
    with pytest.raises(DataError, match="samples_per_segment must be a positive integer, got 0"):
        image(samples_per_segment=0, segments=7, size=8)


@pytest.mark.parametrize("layout, name", [({"rows": 0}, "rows"), ({"cols": 0}, "cols")])
def test_save_grid_needs_a_row_and_a_column(layout, name, tmp_path):
    """A grid of no rows or no columns shows nothing: a DataError naming the argument, and no file."""
    with pytest.raises(DataError, match=f"{name} must be a positive integer, got 0"):
        save_grid(image(samples_per_segment=2, segments=7, size=8), tmp_path / "g.png", **layout)
    assert not (tmp_path / "g.png").exists()


def test_save_grid_writes_a_png_of_the_requested_layout(tmp_path):
    """rows × cols tiles of H × W with 2-pixel gutters."""
    from PIL import Image

    save_grid(image(samples_per_segment=2, segments=7, size=16), tmp_path / "g.png", rows=3, cols=5)
    assert Image.open(tmp_path / "g.png").size == (5 * 18 + 2, 3 * 18 + 2)


def test_save_grid_tiles_are_the_images_spread_over_the_data_set(tmp_path):
    """Tile k (row-major) is image round(k·(N − 1)/(tiles − 1)), the first and the last included, upright (H
    down, W across) and rounded to the nearest of 256 levels; the 2-pixel gutters are white."""
    from PIL import Image

    data = image(samples_per_segment=2, segments=7, size=16, seed=2)  # 14 images
    save_grid(data, tmp_path / "g.png", rows=2, cols=3)
    grid = np.asarray(Image.open(tmp_path / "g.png").convert("RGB"), dtype=float)
    for k, index in enumerate([0, 3, 5, 8, 10, 13]):
        top, left = 2 + (k // 3) * 18, 2 + (k % 3) * 18
        tile = grid[top:top + 16, left:left + 16]
        assert np.abs(tile - data.x[index].transpose(1, 2, 0) * 255).max() <= 0.5 + 1e-3
    assert (grid[:2] == 255).all() and (grid[:, 18:20] == 255).all()


def test_save_grid_refuses_non_image_data(tmp_path):
    """Tabular data are not images: DataError and no file."""
    with pytest.raises(DataError, match="images"):
        save_grid(synthetic(latents=2, segments=5, samples_per_segment=2), tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()


def test_the_documented_sample_grid_is_committed_and_small():
    """docs/images/image_samples.png exists and stays under 200 KB."""
    assert DOCS_GRID.exists() and DOCS_GRID.stat().st_size < 200_000


# -- fMRI ------------------------------------------------------------------------------------------------
def write_days(path, days=12, regions=3, header=True, delimiter=","):
    values = np.random.default_rng(0).normal(5, 2, (days, regions))
    lines = [delimiter.join(f"R{k}" for k in range(regions))] if header else []
    lines += [delimiter.join(f"{v:.6f}" for v in row) for row in values]
    path.write_text("\n".join(lines) + "\n")
    return values


def test_fmri_uses_each_day_as_a_segment_and_standardises_the_regions(tmp_path):
    """z is the z-scored table, u the day, x = f(z) + ε with an injective random MLP."""
    values = write_days(tmp_path / "days.csv")
    data = fmri(tmp_path / "days.csv", seed=1)
    np.testing.assert_allclose(data.z, (values - values.mean(0)) / values.std(0), atol=1e-5)
    assert data.u.tolist() == list(range(12)) and data.latents == ("R0", "R1", "R2")
    assert data.n is None and data.scm is None and data.x.shape == (12, 3)


def test_fmri_standardises_values_near_the_float_range(tmp_path):
    """Values near 1e308 are finite, but their variance overflowed (a numpy warning and a NaN z); each
    column is divided by its largest magnitude first, which leaves the z-scores unchanged."""
    (tmp_path / "huge.csv").write_text("a,b\n1e308,1e308\n-1e308,2\n3,4\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        data = fmri(tmp_path / "huge.csv")
    scaled = np.array([[1, 1], [-1, 2e-308], [3e-308, 4e-308]])
    np.testing.assert_allclose(data.z, (scaled - scaled.mean(0)) / scaled.std(0), atol=1e-6)


def test_image_names_its_smallest_size():
    """A size below 8 pixels says so (the message said 'a non-negative integer' for 3)."""
    with pytest.raises(DataError, match="size must be an integer >= 8, got 3"):
        image(samples_per_segment=2, segments=2, size=3)


def test_fmri_groups_consecutive_days_into_segments(tmp_path):
    """days_per_segment=4 gives segments 0,0,0,0,1,1,1,1,2,2,2,2."""
    write_days(tmp_path / "days.tsv", header=False, delimiter="\t")
    data = fmri(tmp_path / "days.tsv", days_per_segment=4)
    assert data.u.tolist() == [0] * 4 + [1] * 4 + [2] * 4 and data.n_envs == 3
    assert data.latents == ("z1", "z2", "z3")


def test_fmri_observations_are_the_mixed_latents_plus_small_noise(tmp_path):
    """x − f(z) is the observation noise, std noise_scale (here 0.05, margin ±50% on 400 values)."""
    write_days(tmp_path / "days.csv", days=100, regions=4)
    data = fmri(tmp_path / "days.csv", observed_dim=6, noise_scale=0.05, seed=2)
    from identcheck.simulate import MLPMixing

    residual = data.x - MLPMixing(data.mixing_params)(data.z)
    assert data.x.shape == (100, 6) and 0.025 < residual.std() < 0.075


@pytest.mark.parametrize("text, message", [
    ("a,b\n1,2\n3\n", "line 3 has 1 values"),
    ("a,b\n1,2\n3,x\n", "line 3, column 2: 'x' is not a number"),
    ("a,b\n1,2\n3,nan\n", "line 3, column 2: value is NaN"),
    ("a,b\n", "no data rows"),
    ("\n# only a comment\n", "empty"),
])
def test_fmri_rejects_malformed_tables_naming_the_line(tmp_path, text, message):
    """Ragged rows, non-numeric cells, NaN and empty tables are DataErrors that point at the problem."""
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        fmri(tmp_path / "t.csv")


@pytest.mark.parametrize("scale, message", [(float("inf"), "noise_scale must be a finite number >= 0"),
                                            (1e308, "noise_scale = 1e\\+308 makes x non-finite")])
def test_fmri_refuses_a_noise_scale_that_makes_x_non_finite(tmp_path, scale, message):
    """Found in a review (stop 44): noise_scale inf (or 1e308) was accepted and returned x with inf, which
    `.save()` wrote and `Dataset.load` then called damaged. Pins a DataError naming noise_scale, without a
    raw numpy warning."""
    write_days(tmp_path / "days.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match=message):
            fmri(tmp_path / "days.csv", noise_scale=scale)


def test_fmri_without_noise_observes_the_mixed_latents_exactly(tmp_path):
    """noise_scale = 0, the end of its range, gives x = f(z)."""
    write_days(tmp_path / "days.csv")
    data = fmri(tmp_path / "days.csv", noise_scale=0.0)
    from identcheck.simulate import MLPMixing

    np.testing.assert_array_equal(data.x, MLPMixing(data.mixing_params)(data.z))


@pytest.mark.parametrize("kwargs, message", [
    ({"observed_dim": 2}, "observed_dim 2 < 3 regions"), ({"noise_scale": True}, "noise_scale must be"),
    ({"edges": [("R0", "R1", "R2")]}, "must be a pair of column names"),
    ({"edges": ["R0"]}, "must be a pair of column names")])
def test_fmri_rejects_bad_arguments_naming_them(tmp_path, kwargs, message):
    """Fewer observed dimensions than regions (no injective mixing), a boolean noise scale, an edge that is
    not a pair of column names: DataErrors naming the argument."""
    write_days(tmp_path / "days.csv")
    with pytest.raises(DataError, match=message):
        fmri(tmp_path / "days.csv", **kwargs)


def test_fmri_refuses_a_column_of_zeros_as_constant(tmp_path):
    """A region that is 0 every day is constant, like any other: it cannot be standardised."""
    (tmp_path / "t.csv").write_text("a,b\n0,1\n0,2\n0,4\n")
    with pytest.raises(DataError, match="column 1 is constant"):
        fmri(tmp_path / "t.csv")


def test_fmri_missing_file_is_a_data_error(tmp_path):
    """A path that does not exist is reported as such."""
    with pytest.raises(DataError, match="not found"):
        fmri(tmp_path / "absent.csv")


@pytest.mark.parametrize("edges, message", [
    ([("R0", "R0")], r"edge \('R0', 'R0'\) is a self-loop"),
    ([("R0", "R1"), ("R1", "R2"), ("R2", "R0")], "the edges form a cycle: R0 -> R1 -> R2 -> R0"),
])
def test_fmri_refuses_user_edges_that_are_not_a_dag(tmp_path, edges, message):
    """Found in a review: a self-loop or a cycle among the user's edges filled `adjacency`, the true graph that
    the learned one is scored against, though a causal graph here is a DAG (SPEC; a spec's cycle is exit 2)."""
    write_days(tmp_path / "days.csv", days=8)
    with pytest.raises(DataError, match=message):
        fmri(tmp_path / "days.csv", edges=edges)


def test_read_table_makes_header_names_identifiers(tmp_path):
    """Header cells become latent names: non-identifier characters turn into '_'."""
    (tmp_path / "t.csv").write_text("left-CA1,2nd\n1,2\n")
    names, values = read_table(tmp_path / "t.csv")
    assert names == ["left_CA1", "r_2nd"] and values.tolist() == [[1.0, 2.0]]


def test_fmri_data_save_and_load_without_noise_or_model(tmp_path):
    """Real data have no n and no spec: the file omits them and loads back with None; user edges survive."""
    from identcheck import Dataset

    write_days(tmp_path / "days.csv", days=8)
    data = fmri(tmp_path / "days.csv", edges=[("R0", "R2")])
    data.save(tmp_path / "f.npz")
    again = Dataset.load(tmp_path / "f.npz")
    assert again.n is None and again.scm is None and again.edges == (("R0", "R2"),)
    np.testing.assert_array_equal(again.x, data.x)


def test_synthetic_data_save_and_load_with_their_reference_segments(tmp_path):
    """The reference segments that `synthetic` records (where every causal weight vanishes, and a learner
    may pin them) travel with the file: a loaded data set pins the same segments as the one saved."""
    from identcheck import Dataset

    data = synthetic(latents=3, segments=7, samples_per_segment=2, seed=0, reference_segment=(2, 5))
    data.save(tmp_path / "s.npz")
    assert Dataset.load(tmp_path / "s.npz").reference_envs == (2, 5)


def test_partial_pins_node_by_node_because_no_segment_zeroes_every_weight():
    """The reference segment zeroes every edge but the invariant one, so the data name no global reference;
    the checker's node-wise references pin z3 there and leave the violating z2 free (`node_pins`)."""
    check = pytest.importorskip("identcheck.check").check
    from identcheck.verify import node_pins

    data = partial(latents=3, segments=7, samples_per_segment=2, seed=0, reference_segment=4)
    assert data.reference_envs == ()
    assert node_pins(data.scm, check(data.scm)) == {1: (), 2: (4,)}


def test_several_reference_segments_zero_every_weight_there_and_keep_the_other_draws():
    """A list of reference segments: λ vanishes in each on every edge but the invariant one, and every other
    draw is the single reference's, so z1 and the violating z2 (its only parent is z1) are the same rows; the
    checker's node-wise references of z3 are exactly those segments (`synthetic` records them all)."""
    check = pytest.importorskip("identcheck.check").check
    from identcheck.verify import node_pins

    one, three = (partial(latents=3, segments=7, samples_per_segment=20, seed=2, reference_segment=r)
                  for r in (0, [0, 1, 2]))
    for name, lam in lambdas(three).items():
        if name == ("z1", "z2"):
            np.testing.assert_array_equal(lam, lambdas(one)[name])
        else:
            assert (lam[:3] == 0).all() and (lam[3:] != 0).all()
            np.testing.assert_array_equal(lam[3:], lambdas(one)[name][3:])
    np.testing.assert_array_equal(three.z[:, :2], one.z[:, :2])
    assert "reference segments 0, 1, 2 on every other edge" in three.scm.spec["description"]
    assert node_pins(three.scm, check(three.scm))[2] == (0, 1, 2)
    assert synthetic(latents=3, segments=7, samples_per_segment=2, seed=2, reference_segment=(4, 6)).reference_envs \
        == (4, 6)
