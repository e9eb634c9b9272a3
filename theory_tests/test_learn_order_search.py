"""The search over slot orders (``order_search_epochs``): `LatentFlow.permute_slots` must leave a no-edge
model's likelihood unchanged, or the orders it compares would not start from the same solution; the search
keeps the order with the best short run and the full stage goes on from exactly that run's kept state.

Deterministic (seeded nets, float32): the margin of the relabelling checks is float rounding, 1e-5 nats per row.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from identcheck.errors import IdentcheckError
from identcheck.learn import LatentCausalVAE
from identcheck.learn.flows import SmoothLeakyFlow
from identcheck.learn.latent_mlp import MLPMechanisms
from identcheck.learn.model import ConditionalPrior, LatentFlow
from identcheck.learn.screens import search_orders
from identcheck.learn.training import TrainSettings, train

ORDER = (2, 0, 1)
SEARCH = dict(hidden=16, batch_size=64, progress=False, likelihood="exact", pretrain_epochs=3, epochs=3,
              order_search_epochs=2)


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


def _tensors() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(200, 3, generator=gen), torch.randint(0, 4, (200,), generator=gen)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(240, 3)), np.repeat(np.arange(4), 60)


def test_relabelling_keeps_the_no_edge_likelihood_and_moves_the_slots():
    model, (x, env) = _model(no_edges=True), _tensors()
    with torch.no_grad():
        nll, z = model.neg_log_likelihood(x, env), model.flow(x)[0]
        model.permute_slots(ORDER)
        assert torch.allclose(model.neg_log_likelihood(x, env), nll, atol=1e-5)
        assert torch.allclose(model.flow(x)[0], z[:, list(ORDER)], atol=1e-6)


def test_relabelling_changes_a_model_with_edges():
    # Control: with non-zero causal coefficients the slots are not exchangeable, so the check above can fail.
    model, (x, env) = _model(no_edges=False), _tensors()
    with torch.no_grad():
        nll = model.neg_log_likelihood(x, env)
        model.permute_slots(ORDER)
        assert (model.neg_log_likelihood(x, env) - nll).abs().max() > 1e-2


def test_relabelling_refuses_a_non_permutation_and_a_model_without_mechanisms():
    with pytest.raises(ValueError, match="permutation of 0..2"):
        _model(no_edges=True).permute_slots([0, 0, 1])
    flow = SmoothLeakyFlow(3, depth=1, generator=torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="CausalStructure"):
        LatentFlow(ConditionalPrior(3, 4, hidden=8, layers=2), flow).permute_slots(ORDER)


def _recording_train(calls):
    """A stand-in for the training loop that records each call's starting state, settings, epochs run and
    kept state."""

    def recording_train(module, x, env, settings, history, **kwargs):
        calls.append({"start": {k: v.clone() for k, v in module.state_dict().items()}, "epochs": settings.epochs,
                      "schedule": settings.schedule, "lr": settings.lr})
        kept = train(module, x, env, settings, history, **kwargs)
        calls[-1].update(end={k: v.clone() for k, v in module.state_dict().items()},
                         ran=len(history["train_loss"]))
        return kept

    return recording_train


def _assert_same_state(actual, expected, label):
    for key, value in expected.items():
        assert torch.equal(actual[key], value), (label, key)


def test_the_search_keeps_the_best_order_and_goes_on_from_its_short_run(data, route_training):
    """Record every call of the training loop: the no-edge stage, ℓ! = 6 short runs, the full stage. Each
    short run must start from the no-edge solution relabelled into its order and run all its epochs at the
    no-edge stage's lr (the coefficients leave 0 only after tens of epochs at a small lr, docs/learner_notes.md,
    "The no-edge plateau"); the full stage must start from the kept state of the short run with the lowest
    objective, and the history must report that order and the six objectives."""
    calls = []
    recording_train = _recording_train(calls)
    route_training(recording_train)
    x, u = data
    params = {**SEARCH, "order_search_epochs": 15, "patience": 1, "pretrain_lr": 2e-3}
    learner = LatentCausalVAE(3, reference_envs=[0], **params).fit(x, u)
    assert len(calls) == 1 + 6 + 1
    short = calls[1:7]
    assert [c["epochs"] for c in short] == [c["ran"] for c in short] == [15] * 6  # patience 1 does not stop them
    assert {c["schedule"] for c in short} == {"constant"} and {c["lr"] for c in short} == {2e-3}
    assert calls[-1]["lr"] == learner.lr == 1e-3
    scores, orders = learner.history_["order_val_loss"], list(itertools.permutations(range(3)))
    best = int(np.argmin(scores))
    assert len(scores) == 6 and learner.history_["slot_order"] == list(orders[best])
    assert learner.history_["searched_orders"] == [list(o) for o in orders]
    no_edge = short[0]["start"]  # the no-edge solution as handed over (orders[0] is the identity)
    model = learner._build(3, 4, learner.device_, 0)
    for call, order in zip(short, orders):
        model.load_state_dict(no_edge)
        model.permute_slots(order)
        _assert_same_state(call["start"], model.state_dict(), order)
    _assert_same_state(calls[-1]["start"], short[best]["end"], "full stage")


def _scripted_train(runs):
    """A stand-in for the training loop that trains nothing and reports, call by call, a scripted history of
    held-out objectives and the epoch it kept."""
    script = iter(runs)

    def scripted_train(module, x, env, settings, history, **kwargs):
        val_loss, kept = next(script)
        history.update(train_loss=list(val_loss), val_loss=list(val_loss), seconds=[1.0] * len(val_loss))
        return kept

    return scripted_train


def test_an_order_scores_the_kept_epoch_of_its_short_run_not_its_last(route_training):
    """The screen scores each order by its short run's best held-out objective, the one of the epoch the run
    kept: order (0, 1) kept 0.5 and ended at 3.0, order (1, 0) kept 0.9; (0, 1) wins."""
    route_training(_scripted_train([([0.5, 3.0], 1), ([1.0, 0.9], 2)]))
    model, (x, env) = LatentFlow(MLPMechanisms(2, 4, hidden=8, layers=2), SmoothLeakyFlow(
        2, depth=1, generator=torch.Generator().manual_seed(0))), _tensors()
    settings = TrainSettings(epochs=2, lr=1e-3, batch_size=64, schedule="constant", clip_grad=5.0,
                             early_stopping=True, patience=2, validation_fraction=0.2, progress=False, seed=0,
                             beta=1.0, obs_var=0.01, sparsity=0.0)
    found = search_orders(model, x[:, :2], env, settings, "exhaustive")
    assert found == {"slot_order": [0, 1], "searched_orders": [[0, 1], [1, 0]], "order_val_loss": [0.5, 0.9]}


def test_the_greedy_search_fills_the_slots_from_the_root_down(route_training):
    """ℓ = 4: the greedy search screens 4 + 3·2/2 = 7 orders. Replaying its rule on the recorded objectives
    must give the same screened orders, in the same sequence, and the kept order; and the full stage must
    go on from that order's short run."""
    calls = []
    recording_train = _recording_train(calls)
    route_training(recording_train)
    rng = np.random.default_rng(1)
    x, u = rng.normal(size=(240, 4)), np.repeat(np.arange(4), 60)
    learner = LatentCausalVAE(4, reference_envs=[0], **SEARCH, order_search="greedy").fit(x, u)
    searched = [tuple(o) for o in learner.history_["searched_orders"]]
    score = dict(zip(searched, learner.history_["order_val_loss"]))
    assert len(searched) == len(set(searched)) == 7 and len(calls) == 1 + 7 + 1
    replayed, best = [], (0, 1, 2, 3)
    for k in range(3):
        candidates = [best[:k] + (c,) + tuple(r for r in best[k:] if r != c) for c in best[k:]]
        replayed += [c for c in candidates if c not in replayed]
        best = min(candidates, key=score.__getitem__)
    assert replayed == searched and learner.history_["slot_order"] == list(best)
    model = learner._build(4, 4, learner.device_, 0)
    model.load_state_dict(calls[1]["start"])  # the no-edge solution as handed over (the identity runs first)
    model.permute_slots(searched[-1])
    _assert_same_state(calls[-2]["start"], model.state_dict(), "last short run")
    _assert_same_state(calls[-1]["start"], calls[1 + searched.index(best)]["end"], "full stage")


def test_the_fixed_order_runs_once_off_the_plateau_and_goes_on_from_that_run(data, route_training):
    """``order_search="fixed"`` (the `:pretrained` preset): one short run, in the no-edge stage's own order,
    from exactly the no-edge solution, all its epochs at the no-edge lr; the full stage goes on from its kept
    state, not from the no-edge solution (whose coefficients sit on the plateau)."""
    calls = []
    recording_train = _recording_train(calls)
    route_training(recording_train)
    x, u = data
    params = {**SEARCH, "order_search_epochs": 6, "patience": 1, "pretrain_lr": 2e-3, "order_search": "fixed"}
    learner = LatentCausalVAE(3, reference_envs=[0], **params).fit(x, u)
    assert len(calls) == 1 + 1 + 1
    no_edge, short, full = calls
    assert short["epochs"] == short["ran"] == 6 and short["lr"] == 2e-3 and short["schedule"] == "constant"
    trained = [k for k in no_edge["end"] if k.startswith(("flow.", "structure.prior_net."))]
    _assert_same_state(short["start"], {k: no_edge["end"][k] for k in trained}, "short run")
    model = learner._build(3, 4, learner.device_, 0)
    model.load_state_dict(short["start"])
    assert not model.structure.edge_weights().detach().any()  # it starts from the no-edge solution
    _assert_same_state(full["start"], short["end"], "full stage")
    model.load_state_dict(full["start"])
    assert model.structure.edge_weights().detach().abs().max() > 0  # which the full stage does not
    assert learner.history_["slot_order"] == [0, 1, 2] and learner.history_["searched_orders"] == [[0, 1, 2]]


def test_the_search_order_survives_save_and_load(data, tmp_path):
    x, u = data
    learner = LatentCausalVAE(3, reference_envs=[0], **SEARCH).fit(x, u)
    learner.save(tmp_path / "ordered.pt")
    again = LatentCausalVAE.load(tmp_path / "ordered.pt")
    assert again.order_search_epochs == 2 and again.history_["slot_order"] == learner.history_["slot_order"]
    assert np.array_equal(again.transform(x, u), learner.transform(x, u))


@pytest.mark.parametrize("params, match", [
    ({"order_search_epochs": -1}, "order_search_epochs must be an integer >= 0"),
    ({"order_search": "random"}, "order_search must be one of 'exhaustive', 'greedy', 'fixed'"),
    ({"pretrain_epochs": 0}, "needs likelihood='exact' and pretrain_epochs >= 1"),
    ({"likelihood": "elbo"}, "needs likelihood='exact' and pretrain_epochs >= 1"),
    ({"validation_fraction": 0.0, "early_stopping": False}, "need a validation split"),
])
def test_bad_search_settings_are_named(params, match, data):
    x, u = data
    with pytest.raises(IdentcheckError, match=match):
        LatentCausalVAE(3, **{**SEARCH, **params}).fit(x, u)


@pytest.mark.slow
def test_the_search_recovers_the_identifiable_nodes_of_fig2_seed_1():
    """The benchmark's `latent_mlp:ordered` on `partial(3, 50, 1000, seed=1)` with node-wise pins (about 6
    minutes on one core). When written: z1 0.996 and z3 0.998 (the same with the search of 2026-12-01, whose
    short runs leave the no-edge plateau), against 0.967 and 0.790 without the search (the same budget
    otherwise, the full stage straight from the no-edge solution), whose no-edge stage leaves the sink z3 in
    the root slot. We require 0.95 for both identifiable nodes, a margin of 0.046, which the run without the
    search misses for z3 by 0.16."""
    from identcheck import check
    from identcheck.datasets import partial
    from identcheck.learn import mpc
    from identcheck.verify import node_pins

    data = partial(3, 50, 1000, seed=1)
    learner = LatentCausalVAE(3, reference_envs=node_pins(data.scm, check(data.scm)), likelihood="exact",
                              pretrain_epochs=300, pretrain_lr=3e-3, epochs=200, lr=1e-3, order_search_epochs=30,
                              seed=1, progress=False).fit(data.x, data.u)
    per_node = mpc(data.z, learner.transform(data.x, data.u)).per_node
    assert per_node[0] >= 0.95 and per_node[2] >= 0.95
