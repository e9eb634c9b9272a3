"""A prototype with no variational gap, for #4: exact likelihood through a normalising flow (docs/learner_notes.md).

With d = ℓ (as in `synthetic`), a RealNVP flow F maps x to ẑ = F(x), and the latent MLP causal prior of
`latent_mlp` (the same `MLPMechanisms`, reference environment pinned) gives the exact log-likelihood

    log p(x|u) = Σ_i log N(ẑ_i − ĝ_i(ẑ_<i, u); μ_i(u), σ_i²(u)) + log|det ∂F/∂x|

(the additive map n ↦ ẑ has unit Jacobian). It is trained by maximum likelihood (Adam, cosine schedule,
L1 on λ(u) as in `latent_mlp`), with no encoder, no decoder variance and no ELBO gap. The held-out
−log p(x|u) is on the learner's standardised x, so it compares with `diagnose_learner.py`'s `truth_nll`.
Not a learner of the package (no save/load, no CLI): a measurement of where exact likelihood gets.

    python benchmarks/prototype_flow_learner.py --seeds 0 2 --couplings 16 --hidden 96 --epochs 400

(about 18 min per fit on one core). Writes
benchmarks/results/learner/flow_l5_c<couplings>_h<hidden>_e<epochs>_seeds<s1-s2...>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from identcheck.datasets import synthetic
from identcheck.learn import mpc
from identcheck.learn.latent_mlp import MLPMechanisms
from identcheck.learn.nets import mlp
from script_errors import run_script

OUT = Path(__file__).parent / "results" / "learner"
VALIDATION = 5000


class Coupling(nn.Module):
    """Affine coupling: the coordinates outside ``mask`` are scaled by exp(tanh(s)) and shifted by t, both
    functions of the coordinates inside it; starts at the identity."""

    def __init__(self, mask: torch.Tensor, hidden: int):
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = mlp(len(mask), 2 * len(mask), hidden=hidden, layers=3)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.net(x * self.mask).chunk(2, 1)
        s, t = torch.tanh(s) * (1 - self.mask), t * (1 - self.mask)
        return x * torch.exp(s) + t, s.sum(1)


class Flow(nn.Module):
    """``couplings`` affine couplings on random halves, with one learned linear map in the middle."""

    def __init__(self, dim: int, couplings: int, hidden: int, generator: torch.Generator):
        super().__init__()
        masks = []
        for _ in range(couplings):
            mask = torch.zeros(dim)
            mask[torch.randperm(dim, generator=generator)[: dim // 2]] = 1.0
            masks.append(mask)
        self.layers = nn.ModuleList(Coupling(mask, hidden) for mask in masks)
        self.linear = nn.Parameter(torch.eye(dim) + 0.01 * torch.randn(dim, dim, generator=generator))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ẑ = F(x) and log|det ∂F/∂x| per row."""
        log_det = torch.zeros(x.shape[0])
        for k, layer in enumerate(self.layers):
            x, part = layer(x)
            log_det = log_det + part
            if k == len(self.layers) // 2:
                x = x @ self.linear.T
                log_det = log_det + torch.linalg.slogdet(self.linear)[1]
        return x, log_det


def neg_log_likelihood(flow: Flow, prior: MLPMechanisms, x: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
    """Mean −log p(x|u) of the rows (exact)."""
    z, log_det = flow(x)
    n = z - prior.mechanisms(z, env)
    mean, logvar = prior.prior(env)
    log_pn = (-0.5 * (n - mean) ** 2 / logvar.exp() - 0.5 * logvar - 0.5 * math.log(2 * math.pi)).sum(1)
    return -(log_pn + log_det).mean()


def fit(seed: int, *, couplings: int, hidden: int, epochs: int, lr: float, batch_size: int,
        sparsity: float) -> dict[str, float | int | list[float]]:
    """Fit on `synthetic(5, 50, 1000, seed)` (learner seed = data seed); MPC and held-out −log p(x|u)."""
    data = synthetic(5, 50, 1000, seed=seed)
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        flow = Flow(data.x.shape[1], couplings, hidden, generator)
        prior = MLPMechanisms(5, data.n_envs, hidden=hidden, layers=3, reference_envs=list(data.reference_envs))
    x_scale = np.maximum(data.x.std(0), 1e-8)
    x = torch.as_tensor((data.x - data.x.mean(0)) / x_scale, dtype=torch.float32)
    env = torch.as_tensor(data.u, dtype=torch.long)
    params = [*flow.parameters(), *prior.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    order = torch.randperm(len(x), generator=generator)
    val, train = order[:VALIDATION], order[VALIDATION:]
    for _ in range(epochs):
        shuffled = train[torch.randperm(len(train), generator=generator)]
        for i in range(0, len(shuffled), batch_size):
            idx = shuffled[i:i + batch_size]
            loss = neg_log_likelihood(flow, prior, x[idx], env[idx]) + sparsity * prior.penalty()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
        schedule.step()
    with torch.no_grad():
        held_out = float(neg_log_likelihood(flow, prior, x[val], env[val]))
        z_hat = flow(x)[0].numpy().astype(np.float64)
    result = mpc(data.z, z_hat)
    return {"seed": seed, "couplings": couplings, "hidden": hidden, "epochs": epochs, "mpc": result.value,
            "per_node": [float(v) for v in result.per_node], "held_out_nll": held_out,
            "seconds": time.perf_counter() - start}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 2])
    p.add_argument("--couplings", type=int, default=16)
    p.add_argument("--hidden", type=int, default=96)
    p.add_argument("--epochs", type=int, default=400)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--sparsity", type=float, default=0.01)
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = []
    for seed in args.seeds:
        rows.append(fit(seed, couplings=args.couplings, hidden=args.hidden, epochs=args.epochs, lr=args.lr,
                        batch_size=args.batch_size, sparsity=args.sparsity))
        print(json.dumps(rows[-1]), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"flow_l5_c{args.couplings}_h{args.hidden}_e{args.epochs}_seeds{'-'.join(map(str, args.seeds))}.json"
    (OUT / name).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    run_script(main)
