"""The MLP mixing is injective with a full-rank Jacobian, assumption (ii+) (SPEC §2 (ii), §5 "Checking (ii)").

Each layer has orthonormal columns and LeakyReLU(0.2) satisfies |σ(a) − σ(b)| >= 0.2 |a − b|, so an L-layer
mixing satisfies ||f(z) − f(z')|| >= 0.2^(L−1) ||z − z'|| and σ_min(J_f) >= 0.2^(L−1): the tests assert
these bounds on samples (no tolerance beyond floating point).
"""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from identcheck.simulate import random_mlp, random_orthogonal

SLOPE = 0.2


@pytest.mark.parametrize("latent_dim, observed_dim", [(3, 3), (3, 6)])
def test_mlp_jacobian_has_full_column_rank_at_every_sample(latent_dim, observed_dim):
    """σ_min(J_f(z)) >= 0.2^(L-1) > 0 at 2000 samples, so rank J_f = l (an immersion)."""
    layers = 3
    f = random_mlp(np.random.default_rng(0), latent_dim, observed_dim, layers)
    z = np.random.default_rng(1).normal(0, 3, (2000, latent_dim))
    singular = np.linalg.svd(f.jacobian(z), compute_uv=False)
    assert singular.shape == (2000, latent_dim)
    assert singular.min() >= SLOPE ** (layers - 1) * (1 - 1e-9)


@pytest.mark.parametrize("latent_dim, observed_dim", [(2, 2), (4, 7)])
def test_mlp_mixing_has_no_collisions(latent_dim, observed_dim):
    """Nearest neighbours in x-space are never far apart in z-space: ||Δx|| >= 0.2^(L-1) ||Δz|| (global probe)."""
    layers = 3
    f = random_mlp(np.random.default_rng(2), latent_dim, observed_dim, layers)
    z = np.random.default_rng(3).normal(0, 2, (5000, latent_dim))
    x = f(z)
    _, neighbour = cKDTree(x).query(x, k=2)
    dx = np.linalg.norm(x - x[neighbour[:, 1]], axis=1)
    dz = np.linalg.norm(z - z[neighbour[:, 1]], axis=1)
    assert (dx >= SLOPE ** (layers - 1) * dz * (1 - 1e-9)).all()


def test_mlp_mixing_is_nonlinear():
    """With LeakyReLU between layers f is not linear: f(z) + f(−z) ≠ 0 somewhere."""
    f = random_mlp(np.random.default_rng(4), 3, 3, 3)
    z = np.random.default_rng(5).normal(size=(100, 3))
    assert np.abs(f(z) + f(-z)).max() > 0.1


def test_mlp_jacobian_matches_finite_differences():
    """The analytic Jacobian equals central differences away from the kinks."""
    f = random_mlp(np.random.default_rng(6), 3, 5, 3)
    z = np.random.default_rng(7).normal(size=(20, 3))
    h = 1e-6
    numeric = np.stack([(f(z + h * e) - f(z - h * e)) / (2 * h) for e in np.eye(3)], axis=2)
    np.testing.assert_allclose(f.jacobian(z), numeric, atol=1e-6)


def test_random_orthogonal_has_orthonormal_columns():
    """Square layers are orthogonal; the first layer of a d > l mixing has orthonormal columns (rank l)."""
    rng = np.random.default_rng(8)
    square, tall = random_orthogonal(rng, 4), random_orthogonal(rng, 6, 3)
    np.testing.assert_allclose(square @ square.T, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(tall.T @ tall, np.eye(3), atol=1e-12)


def test_random_orthogonal_matrices_are_haar_so_every_entry_is_positive_half_the_time():
    """The Haar law is invariant under flipping the sign of any row or column, so each entry of a random
    orthogonal matrix is positive with probability 1/2. numpy's QR alone is not Haar (its Q has a negative
    top-left entry every time); moving the signs of R's diagonal into Q makes it so (Mezzadri 2007). Over 400
    draws each entry's count of positives is Binomial(400, 1/2): 200 ± 10, and the margin is 4 standard
    deviations."""
    rng = np.random.default_rng(0)
    positive = sum(random_orthogonal(rng, 3) > 0 for _ in range(400))
    assert np.all(np.abs(positive - 200) < 40), positive


@pytest.mark.parametrize("call, problem", [
    (lambda rng: random_mlp(rng, 3, 2, 1), "observed_dim = 2 < latent_dim = 3"),
    (lambda rng: random_mlp(rng, 2, 2, 0), "layers must be a positive integer"),
    (lambda rng: random_orthogonal(rng, 2, 3), "2 rows hold at most 2 orthonormal columns"),
    (lambda rng: random_orthogonal(rng, 0), "rows must be a positive integer")])
def test_impossible_mixing_shapes_are_data_errors(call, problem):
    """random_mlp(latent_dim=3, observed_dim=2) returned a 2 -> 2 map, layers=0 one layer, and
    random_orthogonal(rng, 2, 3) a (2, 2) matrix (found in a review, stop 44)."""
    from identcheck.errors import DataError

    with pytest.raises(DataError, match=problem):
        call(np.random.default_rng(0))
