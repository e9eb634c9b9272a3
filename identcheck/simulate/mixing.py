"""The mixing f of Eq. (3): a random leaky-ReLU MLP, or the spec's own expressions in z.

The MLP follows SuaVE's data generator (SPEC §6, "Synthetic recipe"): a first layer with orthonormal
columns (a random orthogonal ℓ×ℓ matrix when d = ℓ, a d×ℓ matrix of full column rank ℓ when d > ℓ), then
`layers - 1` times [LeakyReLU(0.2), random orthogonal d×d]. Every layer is injective and the activation is
strictly monotone, so f is injective and its Jacobian has full column rank everywhere: assumption (ii+),
by the structural certificate of SPEC §5 ("Checking (ii)").

>>> import numpy as np
>>> f = random_mlp(np.random.default_rng(0), latent_dim=2, observed_dim=3, layers=3)
>>> f(np.zeros((4, 2))).shape, f.jacobian(np.ones((4, 2))).shape
((4, 3), (4, 3, 2))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Union

import numpy as np
import sympy as sp

from ..errors import DataError
from ..scm import SCM
from ..sizes import require_integer
from ..spec.expressions import numeric_function

__all__ = ["MLPMixing", "ExpressionMixing", "Mixing", "random_orthogonal", "random_mlp", "mixing_for"]

#: SuaVE's LeakyReLU slope.
NEGATIVE_SLOPE = 0.2


def random_orthogonal(rng: np.random.Generator, rows: int, cols: int | None = None) -> np.ndarray:
    """A Haar-random (rows, cols) matrix with orthonormal columns (square orthogonal when cols is None).

    QR of a Gaussian matrix, with the signs of R's diagonal moved into Q so the law is Haar (Mezzadri 2007).

    >>> q = random_orthogonal(np.random.default_rng(0), 3)
    >>> bool(np.allclose(q.T @ q, np.eye(3)))
    True
    """
    rows = require_integer(rows, "rows", 1)
    cols = rows if cols is None else require_integer(cols, "cols", 1)
    if cols > rows:
        raise DataError(f"{rows} rows hold at most {rows} orthonormal columns, got cols = {cols}")
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def _leaky_relu(h: np.ndarray, slope: float) -> np.ndarray:
    return np.where(h > 0, h, slope * h)


@dataclass(frozen=True, eq=False)
class MLPMixing:
    """f(z) = W_L σ(… σ(W_2 σ(W_1 z))), σ = LeakyReLU(slope); `weights[k]` has shape (out, in).

    >>> f = MLPMixing((np.eye(2), -np.eye(2)))
    >>> f(np.array([[1.0, -1.0]])).tolist()
    [[-1.0, 0.2]]
    """

    weights: tuple[np.ndarray, ...]
    negative_slope: float = NEGATIVE_SLOPE

    @property
    def observed_dim(self) -> int:
        """d, the number of observed coordinates."""
        return int(self.weights[-1].shape[0])

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Apply f to the rows of z, (N, ℓ) -> (N, d)."""
        h = z @ self.weights[0].T
        for w in self.weights[1:]:
            h = _leaky_relu(h, self.negative_slope) @ w.T
        return h

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        """∂f/∂z at every row of z, shape (N, d, ℓ) (the activation's slope at 0 is taken as 1)."""
        h = z @ self.weights[0].T
        jac = np.broadcast_to(self.weights[0], (len(z), *self.weights[0].shape))
        for w in self.weights[1:]:
            slope = np.where(h > 0, 1.0, self.negative_slope)
            jac = np.einsum("ij,nj,njk->nik", w, slope, jac)
            h = _leaky_relu(h, self.negative_slope) @ w.T
        return jac


def random_mlp(rng: np.random.Generator, latent_dim: int, observed_dim: int, layers: int) -> MLPMixing:
    """A random injective leaky-ReLU MLP ℝ^ℓ -> ℝ^d (d >= ℓ) with `layers` orthonormal weight matrices.

    >>> f = random_mlp(np.random.default_rng(0), latent_dim=2, observed_dim=2, layers=1)
    >>> bool(np.allclose(f.weights[0] @ f.weights[0].T, np.eye(2)))
    True
    """
    latent_dim, layers = require_integer(latent_dim, "latent_dim", 1), require_integer(layers, "layers", 1)
    if require_integer(observed_dim, "observed_dim", 1) < latent_dim:
        raise DataError(f"observed_dim = {observed_dim} < latent_dim = {latent_dim}: the MLP cannot be injective")
    first = random_orthogonal(rng, observed_dim, latent_dim)
    return MLPMixing((first, *(random_orthogonal(rng, observed_dim) for _ in range(layers - 1))))


@dataclass(frozen=True, eq=False)
class ExpressionMixing:
    """f(z) given by the spec's expressions (mixing kind `expression`), lambdified once.

    >>> import sympy as sp
    >>> z1, z2 = sp.symbols("z1 z2", real=True)
    >>> ExpressionMixing((z1 + z2, sp.Integer(3)), (z1, z2))(np.ones((2, 2))).tolist()
    [[2.0, 3.0], [2.0, 3.0]]
    """

    expressions: tuple[sp.Expr, ...]
    latent_symbols: tuple[sp.Symbol, ...]

    @property
    def observed_dim(self) -> int:
        """d, the number of observed coordinates."""
        return len(self.expressions)

    @cached_property
    def _function(self) -> Callable[..., list]:
        return numeric_function(self.latent_symbols, list(self.expressions))

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Apply f to the rows of z, (N, ℓ) -> (N, d); constant components are broadcast."""
        columns = self._function(*z.T)
        return np.stack([np.broadcast_to(np.asarray(c, dtype=float), (len(z),)) for c in columns], axis=1)


Mixing = Union[MLPMixing, ExpressionMixing]


def mixing_for(scm: SCM, rng: np.random.Generator) -> Mixing:
    """The mixing an SCM declares: a random MLP drawn from `rng`, or its expressions.

    >>> from identcheck import load_example
    >>> mixing_for(load_example("C17"), np.random.default_rng(0)).observed_dim
    2
    """
    if scm.mixing.kind == "expression":
        return ExpressionMixing(scm.mixing.expressions, scm.latent_symbols)
    return random_mlp(rng, len(scm.latents), scm.mixing.observed_dim, scm.mixing.layers)
