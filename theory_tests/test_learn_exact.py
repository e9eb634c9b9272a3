"""The exact-likelihood learners (``likelihood="exact"``): the flow's log-determinant, a density that
integrates to one, the interface and its errors, and recovery on small identifiable data."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from identcheck.errors import DataError, IdentcheckError
from identcheck.learn import IVAE, PRESETS, LatentCausalVAE, make_learner, mpc
from identcheck.learn.flows import INITIAL_SLOPE, SmoothLeakyFlow
from identcheck.learn.latent_mlp import MLPMechanisms
from identcheck.learn.model import LatentFlow

from test_learn_recovery import additive_noise_data

TINY = dict(epochs=3, hidden=16, batch_size=64, progress=False, likelihood="exact")


def _randomised(flow: SmoothLeakyFlow, seed: int, sharpness: float) -> SmoothLeakyFlow:
    """Move every parameter off its initial value: slopes above and below 1, biases, a given sharpness."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for w in flow.weights:
            w.add_(0.3 * torch.randn(w.shape, generator=gen))
        for b in flow.biases:
            b.copy_(torch.randn(b.shape, generator=gen))
        flow.log_slope.copy_(torch.randn(flow.log_slope.shape, generator=gen))
        flow.log_sharpness.fill_(math.log(sharpness))
    return flow


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), dim=st.integers(1, 4), depth=st.integers(1, 3),
       sharpness=st.sampled_from([0.05, 1.0, 5.0]))
def test_the_flow_log_determinant_is_that_of_its_jacobian(seed, dim, depth, sharpness):
    flow = _randomised(SmoothLeakyFlow(dim, depth, torch.Generator().manual_seed(seed)), seed, sharpness).double()
    x = torch.randn(5, dim, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    with torch.no_grad():
        _, log_det = flow(x)
    for row, value in zip(x, log_det):
        jac = torch.autograd.functional.jacobian(lambda r: flow(r[None])[0][0], row)
        assert float(value) == pytest.approx(float(torch.linalg.slogdet(jac)[1]), abs=1e-9)


def test_a_fresh_flow_fixes_zero_and_bends():
    """σ(h) = a·h + (1 − a)·τ·(softplus(h/τ) − log 2) (flows.py) has σ(0) = 0, so a fresh flow (biases 0) maps
    0 to 0; its units start at slope a = 1/2, so it is not linear: F(x) + F(−x) ≠ 0, which a linear map
    would give exactly."""
    flow = SmoothLeakyFlow(3, depth=2, generator=torch.Generator().manual_seed(0)).double()
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        zero, _ = flow(torch.zeros(1, 3, dtype=torch.float64))
        bend = flow(x)[0] + flow(-x)[0]
    assert torch.equal(zero, torch.zeros(1, 3, dtype=torch.float64))
    assert bend.abs().max() > 0.1
    # one unit, at its documented start: slope INITIAL_SLOPE and sharpness τ = 1, between maps of ±1
    unit = SmoothLeakyFlow(1, depth=1, generator=torch.Generator().manual_seed(0)).double()
    (w0, w1), h = (float(w.detach()) for w in unit.weights), torch.linspace(-3, 3, 7, dtype=torch.float64)[:, None]
    a = INITIAL_SLOPE
    with torch.no_grad():
        torch.testing.assert_close(unit(h)[0], w1 * (a * w0 * h + (1 - a) * (F.softplus(w0 * h) - math.log(2))))


def test_the_flow_is_its_linear_maps_between_units_that_sharpen_into_leaky_relus():
    """ẑ = W_2 σ(W_1 σ(W_0 x + b_0) + b_1) + b_2 (flows.py), and as the sharpness τ -> 0 every unit becomes a
    leaky ReLU of its slope a, its log σ' becoming log a below 0 and 0 above. At τ = 1e-4 each unit is
    within τ·log 2 ≈ 7e-5 of the leaky ReLU (the margin 1e-3), and the log-determinant is the maps' plus
    the units' log-slopes."""
    flow = SmoothLeakyFlow(3, depth=2, generator=torch.Generator().manual_seed(0)).double()
    maps = [torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, -0.3], [0.2, 0.0, 1.0]], dtype=torch.float64) * c
            for c in (1.0, -0.8, 1.3)]
    shifts = [torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64) * c for c in (1.0, 2.0, -1.0)]
    slope = torch.tensor([[0.2, 0.5, 0.8], [0.3, 0.6, 0.9]], dtype=torch.float64)
    with torch.no_grad():
        for w, b, m, s in zip(flow.weights, flow.biases, maps, shifts):
            w.copy_(m)
            b.copy_(s)
        flow.log_slope.copy_(slope.log())
        flow.log_sharpness.fill_(math.log(1e-4))
        x = torch.tensor([[-2.0, 1.5, -0.7], [0.9, -1.1, 2.2]], dtype=torch.float64)
        z, log_det = flow(x)
    h = x
    expected_log_det = sum(torch.linalg.slogdet(m)[1] for m in maps).expand(2)
    for k, (m, s) in enumerate(zip(maps, shifts)):
        h = h @ m.T + s
        if k < len(slope):
            expected_log_det = expected_log_det + torch.where(h < 0, slope[k].log(), 0.0).sum(1)
            h = torch.where(h < 0, slope[k] * h, h)
    torch.testing.assert_close(z, h, atol=1e-3, rtol=0)
    torch.testing.assert_close(log_det, expected_log_det, atol=1e-3, rtol=0)


def test_the_flow_starts_from_the_orthogonal_maps_of_its_generator():
    """Each square map starts as nn.init.orthogonal_ would draw it from the same generator (flows.py keeps
    those values, which the stored benchmark runs were trained from): a Haar-random orthogonal matrix with
    QR's signs fixed, each map from the generator's next draws."""
    flow = SmoothLeakyFlow(3, depth=2, generator=torch.Generator().manual_seed(5))
    reference = torch.Generator().manual_seed(5)
    for w in flow.weights:
        torch.testing.assert_close(w.detach(), torch.nn.init.orthogonal_(torch.empty(3, 3), generator=reference))


def test_the_exact_density_integrates_to_one():
    """p(x|u) of a randomised two-latent causal model (flow, mechanisms, prior), summed over a grid on
    [-12, 12]² with spacing 0.03, in every environment: the change of variables must leave no mass out.
    Measured 0.9998, 0.9976 and 1.0000 in the three environments when written; without the flow's
    log-determinant the sums are 7.1, 6.4 and 4.3. We require 1 within 1e-2."""
    torch.manual_seed(0)
    structure = MLPMechanisms(2, 3, hidden=8, layers=2, reference_envs=[0]).double()
    with torch.no_grad():
        for p in structure.parameters():
            p.add_(0.5 * torch.randn_like(p))
    model = LatentFlow(structure, SmoothLeakyFlow(2, depth=2, generator=torch.Generator().manual_seed(1))).double()
    _randomised(model.flow, 2, 0.3)
    axis = torch.arange(-12, 12, 0.03, dtype=torch.float64)
    grid = torch.cartesian_prod(axis, axis)
    with torch.no_grad():
        assert float(structure.edge_weights()[1:, 0, 1].abs().min()) > 0  # the mechanism is active off env 0
        for env in range(3):
            density = torch.exp(-model.neg_log_likelihood(grid, torch.full((len(grid),), env)))
            assert float(density.sum()) * 0.03 ** 2 == pytest.approx(1.0, abs=1e-2)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(240, 3)), np.repeat(np.arange(4), 60)


@pytest.mark.parametrize("name", ["latent_mlp", "latent_linear", "latent_polynomial", "ivae", "vae", "beta_vae"])
def test_every_learner_fits_on_the_exact_likelihood(name, data):
    x, u = data
    learner = make_learner(name, latent_dim=3, reference_envs=[0], **TINY).fit(x, u)
    z, n = learner.transform(x, u), learner.noise(x, u)
    assert z.shape == n.shape == (240, 3) and np.isfinite(z).all()
    assert type(learner.module_) is LatentFlow


def test_exact_noise_is_the_flow_output_minus_the_mechanisms(data):
    x, u = data
    learner = LatentCausalVAE(3, reference_envs=[0], **TINY).fit(x, u)
    xt, et = learner._inputs(x, u)
    with torch.no_grad():
        z = learner.module_.flow(xt)[0]
        expected = z - learner.module_.structure.mechanisms(z, et)
    assert np.allclose(learner.transform(x, u), z.cpu().numpy(), atol=1e-5)
    assert np.allclose(learner.noise(x, u), expected.cpu().numpy(), atol=1e-6)


def test_exact_learners_keep_the_reference_environments_pinned(data):
    x, u = data
    weights = LatentCausalVAE(3, reference_envs=[0, 2], **TINY).fit(x, u).causal_weights()
    assert np.all(weights[[0, 2]] == 0.0) and np.any(weights[1] != 0.0)


def test_every_seed_starts_its_own_flow(data):
    """Restarts are the remedy for exact fits that stop short (base docstring), and each restart builds its
    model from its own seed: the flow's initial weights too, not only the structure's (a fixed generator
    gave every restart the same flow). One seed builds the same flow twice."""
    flows = [LatentCausalVAE(3, **TINY)._build(3, 4, torch.device("cpu"), seed).flow.state_dict() for seed in (0, 0, 1)]
    assert all(torch.equal(flows[0][k], flows[1][k]) for k in flows[0])
    assert not all(torch.equal(flows[0][k], flows[2][k]) for k in flows[0])


def test_exact_save_and_load_give_the_same_transform(data, tmp_path):
    x, u = data
    learner = LatentCausalVAE(3, reference_envs=[0], **TINY).fit(x, u)
    learner.save(tmp_path / "flow.pt")
    again = LatentCausalVAE.load(tmp_path / "flow.pt")
    assert again.likelihood == "exact"
    assert np.array_equal(again.transform(x, u), learner.transform(x, u))


def test_exact_likelihood_needs_as_many_features_as_latents(data):
    x, u = data
    with pytest.raises(DataError, match="as many observed features as latents"):
        LatentCausalVAE(2, **TINY).fit(x, u)


def test_exact_likelihood_refuses_post_nonlinear_and_unknown_likelihoods(data):
    x, u = data
    with pytest.raises(IdentcheckError, match="post_nonlinear"):
        LatentCausalVAE(3, post_nonlinear=True, **TINY).fit(x, u)
    with pytest.raises(IdentcheckError, match="likelihood must be 'elbo' or 'exact'"):
        IVAE(3, likelihood="exactly", progress=False).fit(x, u)


def test_exact_latent_mlp_recovers_two_latents():
    """The data of `test_learn_recovery` (ℓ = 2, 20 segments × 300 rows), 100 epochs at lr 3e-3 (about 15 s):
    MPC measured 0.90, 0.69, 0.92 for data seeds 0, 1, 2 when written. We require 0.8 on seed 0, a margin of
    0.10, far above an unrelated representation (|corr| ≈ 0)."""
    x, u, z, _, _ = additive_noise_data(2, 20, 300, seed=0)
    learner = LatentCausalVAE(2, reference_envs=[0], hidden=32, batch_size=256, epochs=100, lr=3e-3,
                              likelihood="exact", progress=False).fit(x, u)
    assert mpc(z, learner.transform(x, u)).value >= 0.8


def test_the_no_edge_stage_pins_every_coefficient_and_hands_over_an_unchanged_model(data):
    x, u = data
    learner = LatentCausalVAE(3, reference_envs=[0], **TINY).fit(x, u)
    model, (xt, et) = learner.module_, learner._inputs(x, u)
    with torch.no_grad():
        assert np.any(learner.causal_weights()[1:] != 0.0)
        with model.structure.without_edges():
            assert np.all(learner.causal_weights() == 0.0)
            inside = model.neg_log_likelihood(xt, et)
        after = model.neg_log_likelihood(xt, et)
    assert np.all(learner.causal_weights() == 0.0)  # the coefficients restart from exactly 0 ...
    assert torch.equal(inside, after)  # ... so the full model starts where the no-edge stage ended
    assert model.structure.free.tolist() == [[0.0] * 3] + [[1.0] * 3] * 3  # and the reference pin is back


def test_pretraining_joins_both_stages_in_the_history(data):
    x, u = data
    params = {**TINY, "early_stopping": False}
    learner = LatentCausalVAE(3, reference_envs=[0], pretrain_epochs=4, pretrain_lr=3e-3, **params).fit(x, u)
    assert len(learner.history_["train_loss"]) == len(learner.history_["val_loss"]) == 7
    assert learner.best_epoch_ == 7 and np.all(np.diff(learner.history_["seconds"]) > 0)
    with pytest.raises(IdentcheckError, match="pretrain_epochs must be an integer >= 0"):
        LatentCausalVAE(3, pretrain_epochs=-1, **TINY).fit(x, u)
    with pytest.raises(IdentcheckError, match="pretrain_lr must be None or a finite number > 0"):
        LatentCausalVAE(3, pretrain_epochs=2, pretrain_lr=0.0, **TINY).fit(x, u)


@pytest.mark.slow
def test_pretrained_exact_latent_mlp_recovers_five_latents():
    """The benchmark's `latent_mlp:pretrained` fit on `synthetic(5, 50, 1000, seed=1)` (the same fit as the
    benchmark's seed-1 run; about 2–4 minutes on one core): MPC 0.994 when written (0.812 / 0.944 on seeds
    0 / 2; 0.995 before the preset's run off the no-edge plateau). We require 0.9, the issue's target, a
    margin of 0.094. The VAE scores 0.63–0.74 at ℓ = 5 on seeds 0–2; the true noise n, read as z, scores
    0.967 on this seed, so this guards the fit, not the causal model's edge over iVAE (docs/learner_notes.md)."""
    from identcheck.datasets import synthetic

    data = synthetic(5, 50, 1000, seed=1)
    learner = LatentCausalVAE(5, reference_envs=list(data.reference_envs), seed=1, progress=False,
                              **PRESETS["pretrained"]).fit(data.x, data.u)
    assert mpc(data.z, learner.transform(data.x, data.u)).value >= 0.9
