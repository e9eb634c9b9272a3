"""The learners on a CUDA device: fit, transform, pins, random states, repeatability and moving a saved learner
to the CPU. Skipped on a machine without CUDA (CI has none); run on a GPU machine with
``python -m pytest theory_tests/test_learn_cuda.py``. `benchmarks/cuda_check.py` measures the same on a larger
fit and times the GPU against the CPU."""

import numpy as np
import pytest
import torch

from identcheck.datasets import synthetic
from identcheck.learn import LEARNERS, CausalLearner, LatentLearner, make_learner

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

CASES = [(name, {}) for name in sorted(LEARNERS)] + [("latent_mlp", {"likelihood": "exact"})]
TINY = dict(latent_dim=3, epochs=4, hidden=16, batch_size=128, progress=False, seed=0)


@pytest.fixture(scope="module")
def data():
    return synthetic(3, 4, 150, seed=0)


def fit(name, params, data, **extra):
    return make_learner(name, **{**TINY, "reference_envs": list(data.reference_envs), **params, **extra}).fit(
        data.x, data.u)


@pytest.mark.parametrize("name, params", CASES)
def test_auto_fits_on_the_gpu_and_answers_in_host_float64(name, params, data):
    learner = fit(name, params, data)
    assert learner.device_.type == "cuda"
    assert all(p.is_cuda for p in learner.module_.parameters())
    for out in (learner.transform(data.x, data.u), learner.noise(data.x, data.u)):
        assert out.dtype == np.float64 and out.shape == (len(data.x), 3) and np.isfinite(out).all()
    if isinstance(learner, CausalLearner):
        assert (learner.causal_weights()[list(data.reference_envs)] == 0).all()  # the pins, exactly
        assert learner.graph(0.1).shape == (3, 3)


@pytest.mark.parametrize("name, params", CASES)
def test_the_same_seed_gives_the_same_gpu_fit(name, params, data):
    first, second = (fit(name, params, data).transform(data.x, data.u) for _ in range(2))
    np.testing.assert_array_equal(first, second)


def test_a_gpu_fit_leaves_the_callers_random_states_as_they_were(data):
    torch.manual_seed(123)
    cpu, cuda = torch.get_rng_state(), torch.cuda.get_rng_state()
    fit("latent_mlp", {}, data)
    assert torch.equal(cpu, torch.get_rng_state()) and torch.equal(cuda, torch.cuda.get_rng_state())


@pytest.mark.parametrize("name, params", CASES)
def test_a_learner_saved_on_the_gpu_loads_on_the_cpu_with_the_same_transform(name, params, data, tmp_path):
    learner = fit(name, params, data)
    learner.save(tmp_path / "gpu.pt")
    moved, kept = LatentLearner.load(tmp_path / "gpu.pt", device="cpu"), LatentLearner.load(tmp_path / "gpu.pt")
    assert moved.device_ == torch.device("cpu") and kept.device_.type == "cuda"
    z = learner.transform(data.x, data.u)
    # float32 kernels of two devices agree to rounding (about 1e-6 on standardised latents), not bit for bit
    np.testing.assert_allclose(moved.transform(data.x, data.u), z, atol=1e-4)
    np.testing.assert_array_equal(kept.transform(data.x, data.u), z)
