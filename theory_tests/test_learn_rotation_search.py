"""The rotation screen (``rotation_search_epochs``): `LatentFlow.rotate_slots` must rotate exactly the two
scaled slots and keep log|det|; the screen must start every short run from the fitted model rotated by its
candidate. With ``rotation_decision="short"`` it must keep the best rotation's run only when it wins by more
than ``rotation_margin`` (else the unrotated run's) and train the second full stage from exactly that state;
with "full", the default, train that stage from both candidates' states and keep the one the margin picks.
It must report the paired evidence for the best rotation on the held-out rows.

Deterministic (seeded nets, float32): the margins are float rounding, 1e-6 on latents, 1e-5 on log|det| and
on mean objectives, 1e-6 nats on the paired gain's mean.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from identcheck.errors import IdentcheckError
from identcheck.learn import LatentCausalVAE, make_learner
from identcheck.learn.flows import SmoothLeakyFlow
from identcheck.learn.latent_mlp import MLPMechanisms
from identcheck.learn.model import ConditionalPrior, LatentFlow
from identcheck.learn.screens import paired_gain_z, search_rotations
from identcheck.learn.training import TrainSettings, snapshot

SCREEN = dict(hidden=16, batch_size=64, progress=False, likelihood="exact", epochs=3, rotation_search_epochs=4,
              rotation_angles=(45.0, 90.0))
CANDIDATES = [[0, 1, 0.0], [0, 1, 45.0], [0, 1, 90.0], [0, 2, 45.0], [0, 2, 90.0], [1, 2, 45.0], [1, 2, 90.0]]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(240, 3)), np.repeat(np.arange(4), 60)


def _model() -> LatentFlow:
    torch.manual_seed(0)
    return LatentFlow(MLPMechanisms(3, 4, hidden=8, layers=2, reference_envs=[0]),
                      SmoothLeakyFlow(3, depth=2, generator=torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("a, b, degrees", [(0, 1, 30.0), (1, 2, 120.0), (0, 2, 90.0)])
def test_a_rotation_turns_the_two_scaled_slots_and_keeps_the_log_determinant(a, b, degrees):
    model, x = _model(), torch.randn(50, 3, generator=torch.Generator().manual_seed(1))
    scale = torch.tensor([0.5, 2.0, 3.0])
    with torch.no_grad():
        z, log_det = model.flow(x)
        nll = model.neg_log_likelihood(x, torch.zeros(50, dtype=torch.long))
        model.rotate_slots(a, b, degrees, scale)
        rotated, rotated_log_det = model.flow(x)
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    wa, wb = z[:, a] / scale[a], z[:, b] / scale[b]  # the standardised pair turns by the angle
    assert torch.allclose(rotated[:, a] / scale[a], c * wa - s * wb, atol=1e-6)
    assert torch.allclose(rotated[:, b] / scale[b], s * wa + c * wb, atol=1e-6)
    other = 3 - a - b
    assert torch.equal(rotated[:, other], z[:, other])
    assert torch.allclose(rotated_log_det, log_det, atol=1e-5)
    # control: the prior is not rotated with the latents, so the likelihood moves
    assert (model.neg_log_likelihood(x, torch.zeros(50, dtype=torch.long)) - nll).abs().max() > 1e-3


@pytest.mark.parametrize("scripted, margin, kept", [
    ([1.0, 0.99, 0.9, 1.1, 1.2, 0.97, 1.3], 0.05, 2),   # the best rotation wins by 0.1 > 0.05
    ([1.0, 0.99, 0.9, 1.1, 1.2, 0.97, 1.3], 0.2, 0),    # ... but not by 0.2: the unrotated run is kept
    ([1.0, 1.01, 1.2, 1.1, 1.2, 1.3, 1.3], 0.0, 0),     # no rotation is better
    ([1.0, 1.1, 0.8, 1.1, 0.8, 1.3, 1.3], 0.0, 2),      # of equal objectives the first is kept
])
def test_the_screen_starts_each_short_run_from_its_rotation_and_goes_on_from_the_kept_one(scripted, margin, kept,
                                                                                         data, route_training):
    """Record every call of the training loop: the full stage, 1 + 3 pairs · 2 angles = 7 short runs, the
    second full stage; the short runs' objectives are replaced by scripted ones. Each short run must start
    from the first full stage's end state rotated by its candidate (the pair scaled by its latents' standard
    deviations on the fitted rows) and run all its epochs at a constant lr. The second full stage must start
    from the kept state of the best rotation's short run if its objective beats the unrotated run's by more
    than the margin, else from the unrotated run's, and the history must report the one kept."""
    from identcheck.learn.training import train

    calls, script = [], iter(scripted)

    def recording_train(module, x, env, settings, history, **kwargs):
        calls.append({"start": {k: v.clone() for k, v in module.state_dict().items()}, "epochs": settings.epochs,
                      "schedule": settings.schedule})
        epoch = train(module, x, env, settings, history, **kwargs)
        if settings.epochs == SCREEN["rotation_search_epochs"]:  # a short run: its kept objective, scripted
            history["val_loss"][epoch - 1] = next(script)
        calls[-1].update(end={k: v.clone() for k, v in module.state_dict().items()},
                         ran=len(history["train_loss"]))
        return epoch

    route_training(recording_train)
    x, u = data
    learner = LatentCausalVAE(3, reference_envs=[0], patience=1, rotation_margin=margin, rotation_decision="short",
                              **SCREEN).fit(x, u)
    assert len(calls) == 1 + 7 + 1
    first, short, second = calls[0], calls[1:8], calls[8]
    assert [c["ran"] for c in short] == [4] * 7 and {c["schedule"] for c in short} == {"constant"}
    assert learner.history_["searched_rotations"] == CANDIDATES
    assert learner.history_["rotation_val_loss"] == scripted
    model = learner._build(3, 4, learner.device_, 0)
    xt, _ = learner._tensors(x, u)
    model.load_state_dict(first["end"])
    with torch.no_grad():
        scale = model.flow(xt)[0].std(0)
    for call, (a, b, degrees) in zip(short, CANDIDATES):
        model.load_state_dict(first["end"])
        model.rotate_slots(a, b, degrees, scale)
        for key, value in model.state_dict().items():
            assert torch.allclose(call["start"][key], value, atol=1e-6), ((a, b, degrees), key)
    assert learner.history_["rotation"] == CANDIDATES[kept]
    for key, value in short[kept]["end"].items():
        assert torch.equal(second["start"][key], value), key
    history = learner.history_
    assert len(history["train_loss"]) == len(history["val_loss"]) == first["ran"] + second["ran"]
    assert np.all(np.diff(history["seconds"]) > 0)  # the stages' clocks are joined
    assert history["val_loss"][learner.best_epoch_ - 1] == learner.restart_val_losses_[0]
    assert learner.best_epoch_ > first["ran"]  # the kept epoch counts from the first stage's first epoch


@pytest.mark.parametrize("scripted_full, margin, kept", [
    ([1.0, 0.97], 0.02, "rotated"),     # the rotated candidate ends 0.03 lower: more than the margin
    ([1.0, 0.99], 0.02, "unrotated"),   # ... 0.01 lower: not enough
    ([1.0, 1.2], 0.0, "unrotated"),     # the rotation's short-run lead is lost in the full stage
])
def test_the_full_decision_trains_both_candidates_and_keeps_the_one_the_margin_picks(scripted_full, margin, kept,
                                                                                    data, route_training):
    """With ``rotation_decision="full"`` the second full stage runs twice: from the unrotated short run's kept
    state, then from the best rotation's (short-run objectives scripted so that rotation [0, 2, 45] is best,
    by 0.3). The stages' kept objectives, scripted too, decide by the margin; the fitted model must be the kept
    stage's end state, the history that stage's epochs after the first stage's, and both objectives recorded."""
    from identcheck.learn.training import train

    short_script = iter([1.0, 0.99, 0.9, 0.7, 1.2, 0.97, 1.3])
    full_script, calls = iter(scripted_full), []

    def recording_train(module, x, env, settings, history, **kwargs):
        calls.append({"start": {k: v.clone() for k, v in module.state_dict().items()}, "epochs": settings.epochs})
        epoch = train(module, x, env, settings, history, **kwargs)
        if len(calls) > 1:  # a short run or a second full stage: its kept objective, scripted
            script = short_script if settings.epochs == SCREEN["rotation_search_epochs"] else full_script
            history["val_loss"][epoch - 1] = next(script)
        calls[-1].update(end={k: v.clone() for k, v in module.state_dict().items()},
                         ran=len(history["train_loss"]), kept=epoch)
        return epoch

    route_training(recording_train)
    x, u = data
    learner = LatentCausalVAE(3, reference_envs=[0], patience=1, rotation_margin=margin, rotation_decision="full",
                              **SCREEN).fit(x, u)
    assert len(calls) == 1 + 7 + 2
    first, short, second = calls[0], calls[1:8], dict(zip(("unrotated", "rotated"), calls[8:]))
    assert [c["epochs"] for c in calls[8:]] == [SCREEN["epochs"]] * 2
    for which, screened in (("unrotated", short[0]), ("rotated", short[3])):  # each stage from its candidate
        for key, value in screened["end"].items():
            assert torch.equal(second[which]["start"][key], value), (which, key)
    history = learner.history_
    assert history["rotation_full_val_loss"] == scripted_full
    assert history["rotation"] == ([0, 2, 45.0] if kept == "rotated" else [0, 1, 0.0])
    for key, value in learner.module_.state_dict().items():
        assert torch.equal(second[kept]["end"][key], value), key
    assert len(history["val_loss"]) == first["ran"] + second[kept]["ran"]
    assert learner.best_epoch_ == first["ran"] + second[kept]["kept"]
    assert history["val_loss"][learner.best_epoch_ - 1] == learner.restart_val_losses_[0] == scripted_full[
        0 if kept == "unrotated" else 1]


def test_the_gain_z_is_the_paired_difference_of_the_kept_short_runs_on_the_held_out_rows(data, route_training):
    """``rotation_gain_z`` must be read off the unrotated run's and the best rotation's kept states on the rows
    the short runs held out: the mean of the rows' differences is then the screen's own gain (the two
    objectives in ``rotation_val_loss``, to float rounding) and the z is that mean over its standard error."""
    from identcheck.learn.training import snapshot, split_rows, train

    ends = []

    def recording_train(module, x, env, settings, history, **kwargs):
        epoch = train(module, x, env, settings, history, **kwargs)
        if settings.epochs == SCREEN["rotation_search_epochs"]:  # a short run: its kept state
            ends.append((snapshot(module), settings))
        return epoch

    route_training(recording_train)
    x, u = data
    learner = LatentCausalVAE(3, reference_envs=[0], **SCREEN).fit(x, u)
    scores = learner.history_["rotation_val_loss"]
    best = 1 + int(np.argmin(scores[1:]))
    model = learner._build(3, 4, learner.device_, 0)
    xt, et = learner._tensors(x, u)
    _, rows, _ = split_rows(xt.shape[0], ends[0][1])
    objective = []
    for state, settings in (ends[0], ends[best]):
        model.load_state_dict(state)
        with torch.no_grad():
            nll = model.neg_log_likelihood(xt[rows], et[rows]).double()
            objective.append(nll + settings.sparsity * float(model.structure.penalty()))
    diff = objective[0] - objective[1]
    assert float(diff.mean()) == pytest.approx(scores[0] - scores[best], abs=1e-5)
    se = float(diff.std()) / math.sqrt(diff.shape[0])
    z = float(diff.mean()) / se
    # float32 rows: the two evaluations' means may differ by rounding, about 1e-7 nats; 1e-6 nats in z units
    assert learner.history_["rotation_gain_z"] == pytest.approx(z, abs=1e-6 / se)
    assert z != 0.0  # control: the two kept runs differ, so the z is not trivially 0


def test_a_rotation_scores_the_kept_epoch_of_its_short_run_not_its_last(route_training):
    """The screen scores each rotation by its short run's best held-out objective, the one of the epoch the run
    kept: the unrotated run kept 0.5 and ended at 3.0, the 90° rotation kept 0.9; the unrotated run is best."""
    runs = iter([([0.5, 3.0], 1), ([1.0, 0.9], 2)])

    def scripted_train(module, x, env, settings, history, **kwargs):
        val_loss, kept = next(runs)
        history.update(train_loss=list(val_loss), val_loss=list(val_loss), seconds=[1.0] * len(val_loss))
        return kept

    route_training(scripted_train)
    model = LatentFlow(MLPMechanisms(2, 4, hidden=8, layers=2), SmoothLeakyFlow(
        2, depth=1, generator=torch.Generator().manual_seed(0)))
    gen = torch.Generator().manual_seed(1)
    x, env = torch.randn(100, 2, generator=gen), torch.randint(0, 4, (100,), generator=gen)
    settings = TrainSettings(epochs=2, lr=1e-3, batch_size=64, schedule="constant", clip_grad=5.0,
                             early_stopping=True, patience=2, validation_fraction=0.2, progress=False, seed=0,
                             beta=1.0, obs_var=0.01, sparsity=0.0)
    found, kept = search_rotations(model, x, env, settings, [90.0])
    assert found["rotation_val_loss"] == [0.5, 0.9]
    assert kept["unrotated"][:2] == (0.5, (0, 1, 0.0)) and kept["rotated"][:2] == (0.9, (0, 1, 90.0))


class _ConstantObjective(torch.nn.Module):
    """A stand-in for a `LatentFlow` whose objective on every row is its one parameter, ``level``."""

    def __init__(self):
        super().__init__()
        self.level = torch.nn.Parameter(torch.zeros(()))
        self.structure = SimpleNamespace(penalty=lambda: torch.zeros(()))

    def neg_log_likelihood(self, x, env):
        return self.level.expand(x.shape[0])


def test_a_gain_without_spread_is_infinitely_many_standard_errors_of_its_sign():
    """`paired_gain_z` when the rows' paired differences have no spread, every row gaining the same or a single
    row: +inf when the candidate is better, -inf when it is worse, 0 when they are equal."""
    module = _ConstantObjective()
    worse, better = {"level": torch.tensor(1.0)}, {"level": torch.tensor(0.0)}
    x, env = torch.zeros(5, 2), torch.zeros(5, dtype=torch.long)
    for rows in (5, 1):
        assert paired_gain_z(module, worse, better, x[:rows], env[:rows], 0.0) == math.inf
        assert paired_gain_z(module, better, worse, x[:rows], env[:rows], 0.0) == -math.inf
        assert paired_gain_z(module, worse, worse, x[:rows], env[:rows], 0.0) == 0.0


def test_the_paired_gain_is_an_evaluation_that_leaves_the_noise_floor_schedule_alone():
    """`paired_gain_z` scores states; it does not train. A model handed over in training mode with a noise floor
    on (its std widened for the first `steps` training evaluations of the prior) keeps the floor's count at 0."""
    torch.manual_seed(0)  # the prior's init: the control needs two states that differ, which halving gives
    model = LatentFlow(ConditionalPrior(2, 2, hidden=8, layers=2),
                       SmoothLeakyFlow(2, depth=1, generator=torch.Generator().manual_seed(0)))
    model.structure.anneal_floor(1.0, 10)
    model.train()
    x, env = torch.randn(50, 2, generator=torch.Generator().manual_seed(1)), torch.arange(50) % 2
    fitted = snapshot(model)
    blurred = {k: v * 0.5 for k, v in fitted.items()}
    assert paired_gain_z(model, fitted, blurred, x, env, 0.0) != 0.0  # control: the two states differ
    assert model.structure.floor_taken == 0


def test_the_screen_survives_save_and_load_and_the_preset_names_it(data, tmp_path):
    x, u = data
    learner = LatentCausalVAE(3, reference_envs=[0], **SCREEN).fit(x, u)
    learner.save(tmp_path / "rotated.pt")
    again = LatentCausalVAE.load(tmp_path / "rotated.pt")
    assert again.rotation_angles == (45.0, 90.0) and again.history_["rotation"] == learner.history_["rotation"]
    assert np.array_equal(again.transform(x, u), learner.transform(x, u))
    preset = make_learner("latent_mlp:rotated", latent_dim=3)
    assert (preset.order_search, preset.rotation_search_epochs, preset.rotation_angles, preset.rotation_margin,
            preset.rotation_decision) == ("greedy", 30, (30.0, 60.0, 90.0, 120.0, 150.0), 0.02, "full")


def test_a_learner_without_mechanisms_screens_rotations_too(data):
    x, u = data
    learner = make_learner("ivae:exact", latent_dim=3, **{**SCREEN, "restarts": 1}).fit(x, u)
    assert learner.history_["searched_rotations"] == CANDIDATES


@pytest.mark.parametrize("params, match", [
    ({"rotation_search_epochs": -1}, "rotation_search_epochs must be an integer >= 0"),
    ({"likelihood": "elbo"}, "rotation_search_epochs rotates the latents of the exact likelihood"),
    ({"rotation_angles": ()}, "rotation_angles must be a non-empty list of degrees"),
    ({"rotation_angles": (0.0, 90.0)}, "strictly between 0 and 180"),
    ({"rotation_angles": (180,)}, "strictly between 0 and 180"),
    ({"rotation_angles": "90"}, "rotation_angles must be"),
    ({"rotation_margin": -0.1}, "rotation_margin must be a finite number >= 0"),
    ({"rotation_margin": "0.1"}, "rotation_margin must be a finite number >= 0"),
    ({"rotation_decision": "long"}, "rotation_decision must be one of 'short', 'full', got 'long'"),
    ({"validation_fraction": 0.0, "early_stopping": False}, "need a validation split"),
])
def test_bad_screen_settings_are_named(params, match, data):
    x, u = data
    with pytest.raises(IdentcheckError, match=match):
        LatentCausalVAE(3, **{**SCREEN, **params}).fit(x, u)
