"""The Fig. 2 diagnostic's slot relabelling (benchmarks/diagnose_fig2.py): `permute_slots` must leave a
no-edge model's likelihood unchanged, or the orders it compares would not start from the same solution.

Deterministic (seeded nets, float32): the margin is float rounding, 1e-5 nats per row.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from identcheck.learn.flows import SmoothLeakyFlow
from identcheck.learn.latent_mlp import MLPMechanisms
from identcheck.learn.model import LatentFlow

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
ORDER = (2, 0, 1)


@pytest.fixture
def permute_slots(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the script imports its sibling scripts
    spec = importlib.util.spec_from_file_location("diagnose_fig2", BENCHMARKS / "diagnose_fig2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.permute_slots


def _model(no_edges: bool) -> LatentFlow:
    torch.manual_seed(0)
    structure = MLPMechanisms(3, 4, hidden=8, layers=2, reference_envs=[0])
    with torch.no_grad():  # a prior and mechanisms far from their zero-ish initial values
        for p in structure.parameters():
            p.add_(torch.randn_like(p))
    if no_edges:
        with structure.without_edges():  # on leaving, λ's last layer is zeroed: the no-edge model
            pass
    return LatentFlow(structure, SmoothLeakyFlow(3, depth=2, generator=torch.Generator().manual_seed(0)))


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(200, 3, generator=gen), torch.randint(0, 4, (200,), generator=gen)


def test_relabelling_keeps_the_no_edge_likelihood_and_moves_the_slots(permute_slots):
    model, (x, env) = _model(no_edges=True), _data()
    with torch.no_grad():
        nll, z = model.neg_log_likelihood(x, env), model.flow(x)[0]
        permute_slots(model, ORDER)
        assert torch.allclose(model.neg_log_likelihood(x, env), nll, atol=1e-5)
        assert torch.allclose(model.flow(x)[0], z[:, list(ORDER)], atol=1e-6)


def test_relabelling_changes_a_model_with_edges(permute_slots):
    # Control: with non-zero causal coefficients the slots are not exchangeable, so the check above can fail.
    model, (x, env) = _model(no_edges=False), _data()
    with torch.no_grad():
        nll = model.neg_log_likelihood(x, env)
        permute_slots(model, ORDER)
        assert (model.neg_log_likelihood(x, env) - nll).abs().max() > 1e-2
