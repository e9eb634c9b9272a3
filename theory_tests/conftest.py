"""Hypothesis profiles for the theory tests, chosen with the environment variable HYPOTHESIS_PROFILE.

- ``ci`` (default): derandomised (the same examples on every run, so a failure is reproducible and CI never
  flakes), 100 examples per property as the reference budget, no deadline (sympy and torch timings vary
  between machines), the failing example printed in full.
- ``dev``: random examples, a fifth of the ci budget: a quick local run while editing.
- ``thorough``: random examples, ten times the ci budget: run before a release or after changing the
  checker (``HYPOTHESIS_PROFILE=thorough python -m pytest theory_tests``; add ``-m slow`` for the long tier).

Properties that are costlier than a checker call ask for ``identcheck.testing.examples(n)``: n examples
under ci, scaled by the same factor under the other profiles.

Shared fixtures: ``tiny_fig2_run`` serves the tests of the benchmark scripts that refit stored runs, and
``route_training`` the tests that watch a learner's training calls.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

settings.register_profile("ci", derandomize=True, database=None, max_examples=100, **_COMMON)
settings.register_profile("dev", max_examples=20, **_COMMON)
settings.register_profile("thorough", max_examples=1000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def tiny_fig2_run() -> tuple[str, dict]:
    """A stored Fig. 2 run's method and settings as `benchmarks/bench_learner.py` writes them, shrunk to a
    fit of seconds (2 latents, 4 segments x 50 rows, a few epochs): for the scripts that refit stored runs."""
    return "latent_mlp:greedy", {
        "segments": 4, "samples_per_segment": 50, "partial_latents": 2, "held_out": 0.2, "pins": "global",
        "likelihood": "exact", "epochs": 3, "lr": 3e-3, "restarts": 1, "pretrain_epochs": 2, "pretrain_lr": 3e-3,
        "order_search_epochs": 1, "order_search": "greedy"}


@pytest.fixture
def route_training(monkeypatch):
    """``route_training(stand_in)`` sends every call of the training loop in a fit through ``stand_in``: the
    stages' calls (in `identcheck.learn.base`) and the screens' short runs (in `identcheck.learn.screens`)."""
    import identcheck.learn.base as base
    import identcheck.learn.screens as screens

    def route(stand_in):
        for module in (base, screens):
            monkeypatch.setattr(module, "train", stand_in)

    return route
