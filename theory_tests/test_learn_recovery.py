"""Recovery by the paper's learner on small identifiable data (Theorem 2.1).

The data come from a local generator, independent of `identcheck.simulate`: Gaussian noise whose mean and
scale change per segment (so (iii) holds), additive mechanisms g_i = Σ_j λ_ji(u)·tanh(2 z_j) with λ = 0 in
segment 0 (so (iv-N) holds there, and the learner is told so), and a leaky-ReLU mixing with random
orthogonal matrices (injective, (ii)). Seeds are fixed; the thresholds leave a stated margin below the
values measured when the tests were written.
"""

import numpy as np
import pytest
from scipy.stats import ortho_group

from identcheck.learn import LatentCausalVAE, mpc


def additive_noise_data(latents, segments, per_segment, seed):
    """x, u, z, n and the adjacency (A[j, i] = edge j -> i) of a small latent additive-noise SCM.

    Edge j -> i (j < i) with probability 1/2, plus 1 -> 2 always. λ_ji(u) = ±U(0.5, 1) per segment and 0
    in segment 0.
    """
    rng = np.random.default_rng(seed)
    mean = rng.uniform(-2, 2, (segments, latents))
    scale = rng.uniform(0.2, 2, (segments, latents))
    adjacency = np.triu(rng.random((latents, latents)) < 0.5, 1)
    adjacency[0, 1] = True
    lam = rng.uniform(0.5, 1, (segments, latents, latents)) * rng.choice([-1, 1], (segments, latents, latents))
    lam *= adjacency
    lam[0] = 0.0
    u = np.repeat(np.arange(segments), per_segment)
    n = mean[u] + scale[u] * rng.normal(size=(len(u), latents))
    z = np.zeros_like(n)
    for i in range(latents):
        z[:, i] = (lam[u][:, :i, i] * np.tanh(2 * z[:, :i])).sum(1) + n[:, i]
    h = z
    for _ in range(2):
        h = np.where(h > 0, h, 0.2 * h) @ ortho_group.rvs(latents, random_state=rng)
    return h + 0.01 * rng.normal(size=h.shape), u, z, n, adjacency


FAST = dict(hidden=32, batch_size=256, epochs=100, progress=False)


def test_latent_mlp_recovers_two_latents():
    """ℓ = 2, 20 segments × 300 rows, 100 epochs (about 15 s): MPC measured 0.87, 0.87, 0.90 for data seeds
    0, 1, 2 when written. We require 0.8 on seed 0: a margin of 0.07 for platform-level float differences,
    still far above what an unrelated representation scores (|corr| of independent latents ≈ 0)."""
    x, u, z, _, _ = additive_noise_data(2, 20, 300, seed=0)
    learner = LatentCausalVAE(2, reference_envs=[0], **FAST).fit(x, u)
    assert mpc(z, learner.transform(x, u)).value >= 0.8


@pytest.mark.slow
def test_latent_mlp_recovers_three_latents():
    """ℓ = 3, 30 segments × 500 rows, 150 epochs (about a minute): MPC measured 0.93 on data seed 0 when
    written (0.83 on seed 1: the fit is seed-sensitive, see the benchmark). We require 0.85 on seed 0."""
    x, u, z, _, _ = additive_noise_data(3, 30, 500, seed=0)
    learner = LatentCausalVAE(3, reference_envs=[0], hidden=32, batch_size=256, epochs=150, progress=False)
    assert mpc(z, learner.fit(x, u).transform(x, u)).value >= 0.85
