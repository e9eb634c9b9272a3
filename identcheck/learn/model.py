"""The torch model shared by every learner: encoder, decoder and a latent *structure* (SPEC §6).

A structure holds the noise prior p(n|u) and the map ψ̂_u : n ↦ ẑ. The learners differ only there:

- `StandardPrior`: n ~ N(0, I), ẑ = n (VAE, β-VAE);
- `ConditionalPrior`: n ~ N(μ(u), diag σ²(u)), ẑ = n (iVAE);
- `CausalStructure` subclasses: the conditional prior plus mechanisms in the fixed order 1..ℓ,
  ẑ_i = ḡ_i(ĝ_i(ẑ_<i, u) + n_i), with ḡ_i the identity unless post-nonlinear (Eqs. 2, 5, 6).

Two models put a structure to work: `LatentVAE` (encoder q(n|x,u), decoder, the ELBO of Eq. 8) and
`LatentFlow` (an invertible map x -> ẑ when d = ℓ, and the exact likelihood; no encoder, no decoder).

Environments are integer indices 0..E-1; every u-network is an MLP of the one-hot vector of u, evaluated
once per step on the E one-hots and then indexed, which gives the same values as evaluating it per sample.

>>> import torch
>>> model = LatentVAE(n_features=3, n_envs=4, latent_dim=2, structure=ConditionalPrior(2, 4, hidden=8, layers=2),
...                   hidden=8, layers=2, encoder_uses_u=True)
>>> loss = model.objective(torch.randn(5, 3), torch.tensor([0, 1, 2, 3, 0]), beta=1.0, obs_var=0.01,
...                        sparsity=0.0, generator=torch.Generator().manual_seed(0))
>>> bool(torch.isfinite(loss))
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Literal, cast, overload

import torch
from torch import nn

from .flows import SmoothLeakyFlow
from .nets import MonotoneMap, edge_mask, mlp

__all__ = ["Structure", "StandardPrior", "ConditionalPrior", "CausalStructure", "EdgeMaskedStructure", "LatentVAE",
           "LatentFlow", "References", "node_references"]

#: Where the causal coefficients are pinned to 0: environment indices shared by every node (a global
#: reference, (iv-G)), or a mapping from a node's slot 0..ℓ-1 in the learner's order to its own
#: environments (node-wise references, (iv-N)); a slot the mapping leaves out is not pinned.
References = Sequence[int] | Mapping[int, Sequence[int]]

LOGVAR_BOUND = 12.0  # soft bound on every log-variance, to keep exp() finite early in training


def node_references(references: References, latent_dim: int) -> tuple[tuple[int, ...], ...]:
    """The pinned environments of each node slot 0..ℓ-1 (`References` read per node). Slot keys are not
    checked here; `LatentLearner` validates them.

    >>> node_references([0, 3], 3)
    ((0, 3), (0, 3), (0, 3))
    >>> node_references({2: [1]}, 3)
    ((), (), (1,))
    """
    if isinstance(references, Mapping):
        return tuple(tuple(references.get(i, ())) for i in range(latent_dim))
    return (tuple(references),) * latent_dim


def _bounded(logvar: torch.Tensor) -> torch.Tensor:
    return LOGVAR_BOUND * torch.tanh(logvar / LOGVAR_BOUND)


class Structure(nn.Module):
    """Noise prior p(n|u) and the map n ↦ ẑ; this base is the standard normal prior with ẑ = n."""

    eye: torch.Tensor  # buffer (E, E): the one-hot vectors of the environments

    def __init__(self, latent_dim: int, n_envs: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.n_envs = n_envs
        self.register_buffer("eye", torch.eye(n_envs))

    def prior(self, env: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of p(n|u) for each sample's environment index, each (B, ℓ)."""
        zeros = torch.zeros(env.shape[0], self.latent_dim, device=self.eye.device)
        return zeros, zeros

    def push(self, n: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
        """ẑ = ψ̂_u(n); the identity here."""
        return n

    def noise_of(self, z: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
        """n = ψ̂_u⁻¹(ẑ), the inverse of `push`; the identity here."""
        return z

    def penalty(self) -> torch.Tensor:
        """The sparsity term mean_u Σ|λ(u)| (zero without mechanisms)."""
        return torch.zeros((), device=self.eye.device)


class StandardPrior(Structure):
    """p(n) = N(0, I), ẑ = n: the VAE prior."""


class ConditionalPrior(Structure):
    """p(n|u) = Π N(n_i; μ_i(u), σ_i²(u)) with (μ, log σ²) = MLP(u): the iVAE prior (SPEC Eq. 6)."""

    def __init__(self, latent_dim: int, n_envs: int, *, hidden: int, layers: int):
        super().__init__(latent_dim, n_envs)
        self.prior_net = mlp(n_envs, 2 * latent_dim, hidden=hidden, layers=layers)
        self.anneal_floor(0.0, 0)

    def anneal_floor(self, floor: float, steps: int) -> None:
        """From now on widen every noise std σ to (σ² + f²)^(1/2), f = floor · max(0, 1 − t / steps), with t the
        prior's evaluations in training mode so far (one per training batch); floor 0 turns it off.

        >>> prior = ConditionalPrior(1, 2, hidden=4, layers=2)
        >>> env = torch.tensor([0])
        >>> plain = prior.prior(env)[1]
        >>> prior.anneal_floor(1.0, 2)
        >>> widened = prior.prior(env)[1]                 # training mode: t = 1, f = 0.5
        >>> bool(torch.allclose(widened, torch.log(plain.exp() + 0.25)))
        True
        >>> bool(torch.equal(prior.prior(env)[1], plain))  # t = 2: the floor is gone
        True
        """
        self.floor, self.floor_steps, self.floor_taken = float(floor), int(steps), 0

    def prior(self, env: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.prior_net(self.eye).chunk(2, dim=1)
        mean, logvar = mean[env], _bounded(logvar)[env]
        if self.floor:
            self.floor_taken += int(self.training)
            floor = self.floor * max(0.0, 1.0 - self.floor_taken / self.floor_steps)
            if floor > 0:
                logvar = torch.log(logvar.exp() + floor ** 2)
        return mean, logvar


class CausalStructure(ConditionalPrior):
    """Conditional prior plus causal mechanisms in the fixed order 1..ℓ with u-dependent coefficients.

    Subclasses keep the network of their coefficients in ``lambda_net`` (its last layer is zeroed by
    `without_edges`) and define `coefficients()` (the u-dependent coefficients of every environment, leading dim E,
    already zero at the pinned reference environments), `node_mechanism(i, z_before, coeffs)` (ĝ_i for a
    batch, from ẑ_<i and the per-sample coefficients) and `edge_weights()` (one number per edge j → i).
    Pinning multiplies the coefficients of node i's mechanism by a fixed 0/1 vector over environments
    (``free[:, i]``; every coefficient tensor keeps the child node on its last axis), so they are exactly 0
    in node i's reference environments and ĝ_i is constant there: the shared reference of (iv), SPEC §2.
    ``reference_envs`` is a `References`: one set for every node, or node-wise sets.
    """

    free: torch.Tensor  # buffer (E, ℓ): 0 where node i is pinned in environment e, else 1
    lambda_net: nn.Sequential  # set by subclasses

    def __init__(self, latent_dim: int, n_envs: int, *, hidden: int, layers: int,
                 reference_envs: References = (), post_nonlinear: bool = False):
        super().__init__(latent_dim, n_envs, hidden=hidden, layers=layers)
        free = torch.ones(n_envs, latent_dim)
        for i, envs in enumerate(node_references(reference_envs, latent_dim)):
            free[list(envs), i] = 0.0
        self.register_buffer("free", free)
        self.post = MonotoneMap(latent_dim) if post_nonlinear else None

    def coefficients(self) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def node_mechanism(self, i: int, z_before: torch.Tensor, coeffs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        raise NotImplementedError

    def edge_weights(self) -> torch.Tensor:
        """(E, ℓ, ℓ) array, ``[e, j, i]`` the weight of edge j → i in environment e."""
        raise NotImplementedError

    def _pinned(self, raw: torch.Tensor) -> torch.Tensor:
        free = self.free.view(self.n_envs, *([1] * (raw.dim() - 2)), self.latent_dim)
        return torch.where(free > 0, raw, torch.zeros_like(raw))

    @overload
    def push(self, n: torch.Tensor, env: torch.Tensor, *, return_pre: Literal[False] = False) -> torch.Tensor: ...

    @overload
    def push(self, n: torch.Tensor, env: torch.Tensor, *,
             return_pre: Literal[True]) -> tuple[torch.Tensor, torch.Tensor]: ...

    def push(self, n: torch.Tensor, env: torch.Tensor, *,
             return_pre: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Solve the SCM in order: ẑ_i = ḡ_i(ĝ_i(ẑ_<i, u) + n_i). With ``return_pre`` also return ĝ + n."""
        coeffs = tuple(c[env] for c in self.coefficients())
        zs: list[torch.Tensor] = []
        pres: list[torch.Tensor] = []
        for i in range(self.latent_dim):  # a loop over the causal order only; the batch stays vectorised
            pre = n[:, i] if i == 0 else n[:, i] + self.node_mechanism(i, torch.stack(zs, 1), coeffs)
            pres.append(pre)
            zs.append(pre if self.post is None else self.post.component(pre, i))
        z = torch.stack(zs, 1)
        return (z, torch.stack(pres, 1)) if return_pre else z

    def mechanisms(self, z: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
        """ĝ_i(z_<i, u) for every node at given ẑ (zero for node 1, whose constant sits in the prior mean)."""
        coeffs = tuple(c[env] for c in self.coefficients())
        outs = [torch.zeros_like(z[:, 0])]
        outs += [self.node_mechanism(i, z[:, :i], coeffs) for i in range(1, self.latent_dim)]
        return torch.stack(outs, 1)

    @contextmanager
    def without_edges(self) -> Iterator[None]:
        """Inside the block every environment is pinned, so every coefficient is 0 and the model is the
        iVAE one (the constant ĝ_i(0) joins the prior mean). On leaving, the pins are restored and the last
        layer of ``lambda_net`` is zeroed, so the coefficients start from 0 and the model is unchanged."""
        free = self.free.clone()
        self.free.zero_()
        try:
            yield
        finally:
            self.free.copy_(free)
            with torch.no_grad():
                last = cast(nn.Linear, self.lambda_net[-1])  # an `mlp` ends in a linear map
                last.weight.zero_()
                last.bias.zero_()

    def noise_of(self, z: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
        """n = ẑ − ĝ(ẑ, u) for additive mechanisms (a unit-Jacobian map, so no log-determinant)."""
        if self.post is not None:
            raise NotImplementedError("the post-nonlinear maps ḡ_i have no inverse here")
        return z - self.mechanisms(z, env)

    def penalty(self) -> torch.Tensor:
        # a tensor: every subclass has at least one coefficient tensor, and 0 + tensor is a tensor
        return cast(torch.Tensor, sum(c.abs().flatten(1).sum(1).mean() for c in self.coefficients()))


class EdgeMaskedStructure(CausalStructure):
    """Mechanisms driven by one coefficient per edge, λ(u) = MLP(u) restricted to the edges j < i and pinned
    at the reference environments; subclasses define how ĝ_i uses λ_i(u) and ẑ_<i (`node_mechanism`)."""

    mask: torch.Tensor  # buffer (ℓ, ℓ), `edge_mask`

    def __init__(self, latent_dim: int, n_envs: int, *, hidden: int, layers: int,
                 reference_envs: References = (), post_nonlinear: bool = False):
        super().__init__(latent_dim, n_envs, hidden=hidden, layers=layers, reference_envs=reference_envs,
                         post_nonlinear=post_nonlinear)
        self.lambda_net = mlp(n_envs, latent_dim * latent_dim, hidden=hidden, layers=layers)
        self.register_buffer("mask", edge_mask(latent_dim))

    def coefficients(self) -> tuple[torch.Tensor, ...]:
        raw = self.lambda_net(self.eye).view(self.n_envs, self.latent_dim, self.latent_dim)
        return (self._pinned(raw * self.mask),)

    def edge_weights(self) -> torch.Tensor:
        return self.coefficients()[0]


class LatentVAE(nn.Module):
    """Encoder q(n|x[,u]), a `Structure`, and the decoder p(x|ẑ) = N(f̂(ẑ), σ_x² I) (SPEC Eqs. 7, 8)."""

    def __init__(self, n_features: int, n_envs: int, latent_dim: int, structure: Structure, *,
                 hidden: int, layers: int, encoder_uses_u: bool):
        super().__init__()
        self.encoder_uses_u = encoder_uses_u
        in_dim = n_features + (n_envs if encoder_uses_u else 0)
        self.encoder = mlp(in_dim, 2 * latent_dim, hidden=hidden, layers=layers)
        self.decoder = mlp(latent_dim, n_features, hidden=hidden, layers=layers)
        self.structure = structure

    def posterior(self, x: torch.Tensor, env: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(n|x,u), each (B, ℓ)."""
        inputs = torch.cat([x, self.structure.eye[env]], 1) if self.encoder_uses_u else x
        mean, logvar = self.encoder(inputs).chunk(2, dim=1)
        return mean, _bounded(logvar)

    def noise_mean(self, x: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
        """E[n | x, u] under the posterior, (B, ℓ)."""
        return self.posterior(x, env)[0]

    def objective(self, x: torch.Tensor, env: torch.Tensor, *, beta: float, obs_var: float, sparsity: float,
                  generator: torch.Generator) -> torch.Tensor:
        """Batch mean of −ELBO_β + sparsity·mean_u Σ|λ(u)| (SPEC Eq. 8), one reparametrised sample of n.

        The KL is taken over n; it equals the KL over ẑ because ψ̂_u is a bijection shared by the prior
        and the posterior.
        """
        mean, logvar = self.posterior(x, env)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device)
        n = mean + torch.exp(0.5 * logvar) * eps
        x_hat = self.decoder(self.structure.push(n, env))
        nll = 0.5 * (x - x_hat).pow(2).sum(1) / obs_var + 0.5 * x.shape[1] * math.log(2 * math.pi * obs_var)
        p_mean, p_logvar = self.structure.prior(env)
        kl = 0.5 * (p_logvar - logvar + (logvar.exp() + (mean - p_mean).pow(2)) / p_logvar.exp() - 1).sum(1)
        return (nll + beta * kl).mean() + sparsity * self.structure.penalty()


class LatentFlow(nn.Module):
    """Exact likelihood for d = ℓ: ẑ = F(x) with an invertible ``flow`` (a module returning ẑ and
    log|det ∂F/∂x| per row, such as `SmoothLeakyFlow`), n = ψ̂_u⁻¹(ẑ), and

        log p(x|u) = Σ_i log N(n_i; μ_i(u), σ_i²(u)) + log|det ∂F/∂x|

    (the additive mechanisms make n ↦ ẑ unit-Jacobian). The model of Eqs. 6-7 with the decoder f̂ = F⁻¹ and
    no observation noise; there is no encoder and no variational gap, so the objective ranks candidate
    latents by their likelihood, which is what the theory's identifiability is about (SPEC §6).

    >>> import torch
    >>> from identcheck.learn.flows import SmoothLeakyFlow
    >>> model = LatentFlow(ConditionalPrior(2, 3, hidden=8, layers=2),
    ...                    SmoothLeakyFlow(2, depth=2, generator=torch.Generator().manual_seed(0)))
    >>> x, env = torch.randn(5, 2), torch.tensor([0, 1, 2, 0, 1])
    >>> bool(torch.isfinite(model.objective(x, env, beta=1.0, obs_var=0.01, sparsity=0.0, generator=None)))
    True
    """

    def __init__(self, structure: Structure, flow: nn.Module):
        super().__init__()
        self.flow = flow
        self.structure = structure

    def noise_mean(self, x: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
        """n = ψ̂_u⁻¹(F(x)), (B, ℓ): the posterior is a point mass."""
        return self.structure.noise_of(self.flow(x)[0], env)

    def permute_slots(self, order: Sequence[int]) -> None:
        """Relabel the latents in place, new slot k = old slot ``order[k]``, for a model with every causal
        coefficient at 0 (after `CausalStructure.without_edges`) and a flow whose last map is
        ``flow.weights[-1]``, ``flow.biases[-1]`` (`SmoothLeakyFlow`).

        Such a model treats its slots alike, but the full model reads slot 0 as a root, slot 1 as a possible
        child of slot 0, and so on; relabelling chooses which latent plays which part. The flow's last map and
        the prior's outputs are permuted, and the prior mean absorbs the difference between the slots'
        constant mechanisms ĝ_k(0), so −log p(x|u) is unchanged.

        >>> import torch
        >>> from identcheck.learn.flows import SmoothLeakyFlow
        >>> from identcheck.learn.latent_mlp import MLPMechanisms
        >>> structure = MLPMechanisms(2, 3, hidden=8, layers=2)
        >>> with structure.without_edges():
        ...     pass
        >>> model = LatentFlow(structure, SmoothLeakyFlow(2, depth=1, generator=torch.Generator().manual_seed(0)))
        >>> x, env = torch.randn(4, 2), torch.tensor([0, 1, 2, 0])
        >>> with torch.no_grad():
        ...     before = model.neg_log_likelihood(x, env)
        ...     model.permute_slots([1, 0])
        ...     bool(torch.allclose(model.neg_log_likelihood(x, env), before, atol=1e-5))
        True
        """
        structure, ell = self.structure, self.structure.latent_dim
        if not isinstance(structure, CausalStructure):
            raise TypeError("permute_slots needs a structure with mechanisms (a CausalStructure)")
        perm = torch.as_tensor(list(order), device=structure.free.device)
        if sorted(perm.tolist()) != list(range(ell)):
            raise ValueError(f"order must be a permutation of 0..{ell - 1}, got {list(order)}")
        with torch.no_grad():
            zero = torch.zeros(1, ell, device=perm.device)
            constants = structure.mechanisms(zero, torch.zeros(1, dtype=torch.long, device=perm.device))[0]
            flow = cast(SmoothLeakyFlow, self.flow)  # or any flow with the same last map, as documented
            flow.weights[-1].copy_(flow.weights[-1][perm])
            flow.biases[-1].copy_(flow.biases[-1][perm])
            last = cast(nn.Linear, structure.prior_net[-1])  # an `mlp` ends in a linear map
            rows = torch.cat([perm, perm + ell])  # the mean outputs, then the log-variance outputs
            last.weight.copy_(last.weight[rows])
            last.bias.copy_(last.bias[rows])
            last.bias[:ell] += constants[perm] - constants

    def rotate_slots(self, a: int, b: int, degrees: float, scale: torch.Tensor) -> None:
        """Replace ẑ by A ẑ in place, A = S R S⁻¹: slots ``a`` and ``b``, each divided by its ``scale`` (S =
        diag(scale), say the slots' standard deviations), are rotated by ``degrees`` in their plane, and
        every other slot is kept. det A = 1, so log|det ∂F/∂x| is unchanged; the structure is not touched, so
        −log p(x|u) changes, and training goes on from there. It needs a flow whose last map is
        ``flow.weights[-1]``, ``flow.biases[-1]`` (`SmoothLeakyFlow`).

        A fit can settle with two latents mixed across two slots (a node and its parent or child), a local
        optimum that gradient steps do not leave; a rotation of the pair and a short run screen the way out
        (``rotation_search_epochs`` of the learners, docs/learner_notes.md).

        >>> import torch
        >>> from identcheck.learn.flows import SmoothLeakyFlow
        >>> model = LatentFlow(ConditionalPrior(3, 2, hidden=8, layers=2),
        ...                    SmoothLeakyFlow(3, depth=1, generator=torch.Generator().manual_seed(0)))
        >>> x = torch.randn(4, 3)
        >>> with torch.no_grad():
        ...     z, log_det = model.flow(x)
        ...     model.rotate_slots(0, 2, 90.0, torch.tensor([1.0, 1.0, 2.0]))
        ...     z2, log_det2 = model.flow(x)
        >>> bool(torch.allclose(z2[:, 0], -z[:, 2] / 2, atol=1e-6))   # slot 0 gets slot 2, rescaled
        True
        >>> bool(torch.allclose(z2[:, 2], 2 * z[:, 0], atol=1e-6))
        True
        >>> bool(torch.equal(z2[:, 1], z[:, 1])), bool(torch.allclose(log_det2, log_det))
        (True, True)
        """
        theta = math.radians(degrees)
        rotation = torch.eye(self.structure.latent_dim, device=scale.device)
        rotation[a, a] = rotation[b, b] = math.cos(theta)
        rotation[a, b] = -math.sin(theta) * scale[a] / scale[b]
        rotation[b, a] = math.sin(theta) * scale[b] / scale[a]
        flow = cast(SmoothLeakyFlow, self.flow)  # or any flow with the same last map, as documented
        with torch.no_grad():
            flow.weights[-1].copy_(rotation @ flow.weights[-1])
            flow.biases[-1].copy_(rotation @ flow.biases[-1])

    def neg_log_likelihood(self, x: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
        """−log p(x|u) per row, (B,), on the standardised x the model sees."""
        z, log_det = self.flow(x)
        n = self.structure.noise_of(z, env)
        mean, logvar = self.structure.prior(env)
        log_pn = -0.5 * ((n - mean).pow(2) / logvar.exp() + logvar + math.log(2 * math.pi)).sum(1)
        return -(log_pn + log_det)

    def objective(self, x: torch.Tensor, env: torch.Tensor, *, beta: float, obs_var: float, sparsity: float,
                  generator: torch.Generator | None) -> torch.Tensor:
        """Batch mean of −log p(x|u) + sparsity·mean_u Σ|λ(u)|; ``beta``, ``obs_var`` and ``generator`` (of
        the ELBO's KL weight, decoder and sampling) have nothing to act on and are accepted for the shared loop."""
        return self.neg_log_likelihood(x, env).mean() + sparsity * self.structure.penalty()
