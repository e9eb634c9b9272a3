"""The Fig. 2 gap diagnostic (benchmarks/diagnose_fig2_gaps.py): a refit is the stored run or the script
stops, and the gap is the refit's held-out −log p(x|u) minus the truth's. Tiny fits, seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def gaps(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the script imports its neighbours by name
    import diagnose_fig2_gaps
    return diagnose_fig2_gaps


@pytest.fixture
def stored(gaps, tiny_fig2_run):
    """The run as bench_learner.py would store it: per node, the held-out matched correlation."""
    method, settings = tiny_fig2_run
    learner, data = gaps.refit(method, 3, settings)
    _, nodes = gaps.node_recovery(data, learner.transform(data.x, data.u))
    return {"nodes": nodes}


def test_a_refit_reproduces_the_stored_run_and_is_scored_against_the_truth(gaps, stored, tiny_fig2_run):
    method, settings = tiny_fig2_run
    row = gaps.diagnose(method, 3, stored, settings)
    assert row["correlation"] == {k: v["correlation"] for k, v in stored["nodes"].items()}  # the same bits
    assert np.isfinite([row["nll"], row["truth_nll"]]).all()
    assert row["gap"] == row["nll"] - row["truth_nll"]
    slots = np.array(row["slots"])
    assert slots.shape == (2, 4) and ((slots >= 0) & (slots <= 1)).all()
    # z1 is a root, so z1 = n1: every slot correlates with both alike
    assert np.allclose(slots[:, 0], slots[:, 2])


def test_a_refit_that_is_not_the_stored_run_stops_the_script(gaps, stored, tiny_fig2_run):
    method, settings = tiny_fig2_run
    moved = {"nodes": {k: {**v, "correlation": v["correlation"] + 1e-4} for k, v in stored["nodes"].items()}}
    with pytest.raises(SystemExit, match="not the stored run"):
        gaps.diagnose(method, 3, moved, settings)


def test_a_learner_without_a_likelihood_is_refused_before_any_fit(gaps, tiny_fig2_run):
    _, settings = tiny_fig2_run
    with pytest.raises(SystemExit, match="not an exact-likelihood learner"):
        gaps.diagnose("ivae", 0, {}, {**settings, "likelihood": "elbo"})


def test_the_table_names_the_true_node_each_slot_holds(gaps):
    row = {"seed": 0, "gap": 0.5, "correlation": {"z1": 0.7, "z2": 0.99},
           "slots": [[0.2, 0.99, 0.2, 0.5], [0.7, 0.3, 0.7, 0.1]]}
    assert gaps.table([row], ["z1", "z2"])[-1] == "| 0 | 0.500 | 0.700 | 0.990 | z2 0.99, z1 0.70 |"
