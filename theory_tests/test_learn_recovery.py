"""Recovery by the learners on small identifiable data (Theorem 2.1) and the partial case (Theorem 2.5).

The data come from a local generator, independent of `identcheck.simulate`: Gaussian noise whose mean and
scale change per segment (so (iii) holds), additive mechanisms g_i = Σ_j λ_ji(u)·tanh(2 z_j) with λ = 0 in
segment 0 (so (iv-N) holds there, and the learner is told so), and a leaky-ReLU mixing with random
orthogonal matrices (injective, (ii)). Seeds are fixed; the thresholds leave a stated margin below the
values measured when the tests were written.
"""

import numpy as np
import pytest
from scipy.stats import ortho_group

from identcheck.learn import LatentCausalVAE, make_learner, mpc, parent_share


def additive_noise_data(latents, segments, per_segment, seed, invariant_edge=None):
    """x, u, z, n and the adjacency (A[j, i] = edge j -> i) of a small latent additive-noise SCM.

    Edge j -> i (j < i) with probability 1/2, plus 1 -> 2 always. λ_ji(u) = ±U(0.5, 1) per segment and 0
    in segment 0; an ``invariant_edge`` (j, i) instead keeps λ = 0.9 in every segment, violating (iv).
    """
    rng = np.random.default_rng(seed)
    mean = rng.uniform(-2, 2, (segments, latents))
    scale = rng.uniform(0.2, 2, (segments, latents))
    adjacency = np.triu(rng.random((latents, latents)) < 0.5, 1)
    adjacency[0, 1] = True
    lam = rng.uniform(0.5, 1, (segments, latents, latents)) * rng.choice([-1, 1], (segments, latents, latents))
    lam *= adjacency
    lam[0] = 0.0
    if invariant_edge is not None:
        lam[:, invariant_edge[0], invariant_edge[1]] = 0.9
    u = np.repeat(np.arange(segments), per_segment)
    n = mean[u] + scale[u] * rng.normal(size=(len(u), latents))
    z = np.zeros_like(n)
    for i in range(latents):
        z[:, i] = (lam[u][:, :i, i] * np.tanh(2 * z[:, :i])).sum(1) + n[:, i]
    h = z
    for _ in range(2):
        h = np.where(h > 0, h, 0.2 * h) @ ortho_group.rvs(latents, random_state=rng)
    return h + 0.01 * rng.normal(size=h.shape), u, z, n, adjacency


FAST = dict(hidden=32, batch_size=256, epochs=60, progress=False)


def test_latent_mlp_recovers_two_latents():
    """ℓ = 2, 10 segments × 400: measured MPC 0.99 (seed 0); we require 0.9, the paper's bar for success."""
    x, u, z, n, _ = additive_noise_data(2, 10, 400, seed=0)
    learner = LatentCausalVAE(2, reference_envs=[0], **FAST).fit(x, u)
    assert mpc(z, learner.transform(x, u)).value >= 0.9
