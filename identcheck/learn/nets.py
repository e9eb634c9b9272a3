"""Small torch building blocks shared by every learner: MLPs, a monotone map, triangular masks.

>>> import torch
>>> net = mlp(3, 2, hidden=8, layers=3)
>>> tuple(net(torch.zeros(5, 3)).shape)
(5, 2)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["mlp", "MonotoneMap", "edge_mask", "pair_mask"]

LEAKY_SLOPE = 0.2


def mlp(in_dim: int, out_dim: int, *, hidden: int, layers: int) -> nn.Sequential:
    """A fully connected net with `layers` linear maps and LeakyReLU(0.2) between them (SPEC §6, App. G).

    >>> len(mlp(4, 1, hidden=16, layers=3))
    5
    """
    dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
    modules: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        if k:
            modules.append(nn.LeakyReLU(LEAKY_SLOPE))
        modules.append(nn.Linear(a, b))
    return nn.Sequential(*modules)


class MonotoneMap(nn.Module):
    """Component-wise strictly increasing bijection of ℝ, the post-nonlinearity ḡ of SPEC Eq. (5).

    ``ḡ_i(t) = a_i t + Σ_k b_ik tanh(c_ik t + d_ik)`` with a, b, c > 0 (softplus), so ḡ_i' ≥ a_i > 0 and
    ḡ_i is onto ℝ. It does not depend on u, as Corollary 3.1 requires.

    >>> g = MonotoneMap(2)
    >>> t = torch.linspace(-3, 3, 7).unsqueeze(1).repeat(1, 2)
    >>> bool((g(t).diff(dim=0) > 0).all())
    True
    """

    def __init__(self, dim: int, terms: int = 4):
        super().__init__()
        self.slope = nn.Parameter(torch.full((dim,), 0.5413))  # softplus(0.5413) = 1
        self.amp = nn.Parameter(torch.full((dim, terms), -2.0))
        self.freq = nn.Parameter(torch.zeros(dim, terms))
        self.shift = nn.Parameter(torch.linspace(-2.0, 2.0, terms).repeat(dim, 1))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """Apply ḡ to every column of ``t`` (shape (B, dim))."""
        bends = F.softplus(self.amp) * torch.tanh(F.softplus(self.freq) * t.unsqueeze(-1) + self.shift)
        return F.softplus(self.slope) * t + bends.sum(-1)

    def component(self, t: torch.Tensor, i: int) -> torch.Tensor:
        """Apply ḡ_i to a batch of scalars ``t`` (shape (B,))."""
        bends = F.softplus(self.amp[i]) * torch.tanh(F.softplus(self.freq[i]) * t.unsqueeze(-1) + self.shift[i])
        return F.softplus(self.slope[i]) * t + bends.sum(-1)


def edge_mask(dim: int) -> torch.Tensor:
    """The 0/1 mask of the edges allowed by the fixed order 1..ℓ: ``[j, i] = 1`` iff j < i (edge j → i).

    >>> edge_mask(3).int().tolist()
    [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    """
    return torch.ones(dim, dim).triu(1)


def pair_mask(dim: int) -> torch.Tensor:
    """The 0/1 mask of the degree-2 monomials ẑ_j ẑ_k (j ≤ k) allowed in ĝ_i: ``[j, k, i] = 1`` iff j ≤ k < i.

    >>> int(pair_mask(3)[:, :, 2].sum())  # z1², z1 z2, z2² for node 3
    3
    """
    j, k, i = torch.meshgrid(torch.arange(dim), torch.arange(dim), torch.arange(dim), indexing="ij")
    return ((j <= k) & (k < i)).float()
