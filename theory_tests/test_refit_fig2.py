"""Refits of stored Fig. 2 runs under other learner seeds and options (benchmarks/refit_fig2.py): the
options reach the learner, a refit under the stored seed is the stored run, the summary's hit and split
follow the benchmark's rules, the paired comparison counts what it says, and the script resumes. Tiny fits."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def refit_fig2(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the script imports its neighbours by name
    import refit_fig2
    return refit_fig2


def node(correlation: float, share: float) -> dict[str, float]:
    return {"correlation": correlation, "share": share}


def test_learner_seeds_are_integers_the_data_seed_or_an_offset_from_it(refit_fig2):
    assert refit_fig2.learner_seed("3") == 3 and refit_fig2.learner_seed("data") == "data"
    assert [refit_fig2.seed_for(refit_fig2.learner_seed(t), 7) for t in ("3", "data", "data+10")] == [3, 7, 17]
    for bad in ("one", "data+", "data+x", "data-1"):
        with pytest.raises(argparse.ArgumentTypeError, match="integer, 'data' or 'data\\+K'"):
            refit_fig2.learner_seed(bad)


def test_options_are_read_as_json_where_they_parse_and_a_malformed_one_is_named(refit_fig2):
    assert refit_fig2.option("noise_floor=0.5") == ("noise_floor", 0.5)
    assert refit_fig2.option("noise_floor_steps=6000") == ("noise_floor_steps", 6000)
    assert refit_fig2.option("order_search=greedy") == ("order_search", "greedy")
    for bad in ("noise_floor", "=0.5", "2x=1"):
        with pytest.raises(argparse.ArgumentTypeError, match="KEY=VALUE"):
            refit_fig2.option(bad)


def test_a_hit_needs_every_identifiable_node_and_a_split_needs_the_margin_on_both_sides(refit_fig2):
    from identcheck.verify import SHARE_MARGIN as margin
    row = refit_fig2.score({"z1": node(0.95, 0.0), "z2": node(0.5, margin + 0.05), "z3": node(0.91, margin)})
    assert row["hit"] and row["clear_split"] and row["lowest_identifiable"] == 0.91  # z2 is the violating one
    row = refit_fig2.score({"z1": node(0.95, 0.0), "z2": node(0.99, margin + 0.05), "z3": node(0.89, margin + 0.01)})
    assert not row["hit"] and not row["clear_split"] and row["lowest_identifiable"] == 0.89
    assert not refit_fig2.score({"z1": node(0.95, 0.0), "z2": node(0.9, margin), "z3": node(0.95, 0.0)})["clear_split"]


def test_the_paired_comparison_counts_rises_falls_and_ties_over_the_shared_runs(refit_fig2):
    def run(low: float, split: bool = False) -> dict:
        return {"correlation": {"z1": low, "z2": 0.5, "z3": 1.0}, "lowest_identifiable": low, "hit": low >= 0.9,
                "clear_split": split, "share": {"z1": 0.0, "z2": 0.3 if split else 0.01, "z3": 0.02}}
    base = {"label": "base", "runs": {"0/1": run(0.5), "1/1": run(0.95), "2/1": run(0.8), "3/1": run(0.7)}}
    other = {"label": "floor", "runs": {"0/1": run(0.92, True), "1/1": run(0.955), "2/1": run(0.6), "9/9": run(1)}}
    lines = refit_fig2.compare(base, other)
    assert lines[0].startswith("3 paired runs (data seed/learner seed): 0/1, 1/1, 2/1")
    assert "| base | 0.800 | 0.500 | 1.000 | 1 | 0 |" in lines
    assert "| floor | 0.920 | 0.500 | 1.000 | 2 | 1 |" in lines
    assert "higher by more than 0.01 on 1, lower on 1, within on 1; median change +0.005" in lines[-1]
    assert ("- floor: violating share above every identifiable one on 1 of 3 (one-sided sign test p = 0.88; medians "
            "0.010 / 0.020)") in lines
    assert "- base: violating share above every identifiable one on 0 of 3 (one-sided sign test p = 1; " in lines[7]
    without = {k: {key: v for key, v in r.items() if key != "share"} for k, r in base["runs"].items()}
    assert not any("violating share" in line for line in refit_fig2.compare({**base, "runs": without}, other))
    with pytest.raises(SystemExit, match="share no"):
        refit_fig2.compare(base, {"label": "x", "runs": {"9/9": run(1)}})


def test_a_refit_under_the_stored_seed_is_the_stored_run_and_options_reach_the_learner(refit_fig2, tiny_fig2_run):
    method, settings = tiny_fig2_run
    from diagnose_fig2_gaps import refit
    stored, data = refit(method, 3, settings)
    same, _ = refit(method, 3, settings, learner_seed=3)
    other, _ = refit(method, 3, settings, learner_seed=4, noise_floor=0.5, noise_floor_steps=2)
    assert np.array_equal(stored.transform(data.x, data.u), same.transform(data.x, data.u))
    assert not np.allclose(stored.transform(data.x, data.u), other.transform(data.x, data.u))
    assert (other.seed, other.noise_floor, other.noise_floor_steps) == (4, 0.5, 2)
    assert stored.noise_floor == 0.0 and stored.epochs == settings["epochs"]


def test_the_script_writes_one_entry_per_seed_pair_and_resumes(tmp_path, tiny_fig2_run):
    method, settings = tiny_fig2_run
    key = f"{method}/3"
    stored = tmp_path / "fig2_latent_mlp-greedy.json"
    stored.write_text(json.dumps({"settings": settings, "runs": {key: {}}}))
    command = [sys.executable, str(BENCHMARKS / "refit_fig2.py"), str(stored), "--learner-seeds", "0", "1",
               "--set", "noise_floor=0.5", "--set", "noise_floor_steps=2"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "refit_latent_mlp-greedy_noise_floor-0.5_noise_floor_steps-2.json"
    payload = json.loads(out.read_text())
    assert payload["options"] == {"noise_floor": 0.5, "noise_floor_steps": 2} and set(payload["runs"]) == {"3/0", "3/1"}
    assert first.stdout.count(f"{method} noise_floor-0.5_noise_floor_steps-2 3/") == 2
    again = subprocess.run(command + ["--against", str(out)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "3/0:" not in again.stdout and "2 paired runs" in again.stdout  # nothing refitted; compared with itself
    assert "higher by more than 0.01 on 0, lower on 0, within on 2; median change +0.000" in again.stdout
    label = "noise_floor-0.5_noise_floor_steps-2"
    assert (tmp_path / f"compare_{label}_vs_{label}.png").stat().st_size  # the pairs drawn
    assert (tmp_path / f"compare_{label}_vs_{label}.md").read_text().startswith("2 paired runs")


def test_the_stored_run_is_read_not_refitted_and_earlier_runs_are_kept(tmp_path, refit_fig2, tiny_fig2_run):
    """Without options, learner seed ``data`` is the stored run: its stored nodes are scored, no fit; the
    runs already in the output file are kept."""
    method, settings = tiny_fig2_run
    nodes = {"z1": node(0.95, 0.0), "z2": node(0.5, 0.3)}
    stored = tmp_path / "fig2_latent_mlp-greedy.json"
    stored.write_text(json.dumps({"settings": settings, "runs": {f"{method}/{s}": {"nodes": nodes, "seconds": 7.0}
                                                                 for s in (3, 4)}}))
    out = tmp_path / "refit_latent_mlp-greedy_base.json"
    other = {"settings": settings, "options": {}, "source": stored.name, "label": "base",
             "runs": {"4/4": {**refit_fig2.score(nodes), "seconds": 1.0}}}
    out.write_text(json.dumps(other))  # as if a second process had written seed 4 already
    command = [sys.executable, str(BENCHMARKS / "refit_fig2.py"), str(stored), "--learner-seeds", "data",
               "--seeds", "3"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    runs = json.loads(out.read_text())["runs"]
    assert set(runs) == {"3/3", "4/4"} and runs["3/3"]["stored"] and runs["3/3"]["seconds"] == 7.0
    assert runs["3/3"]["hit"] and runs["3/3"]["clear_split"]


def test_a_data_seed_the_stored_file_does_not_hold_is_fitted_and_names_its_platform(tmp_path, tiny_fig2_run):
    """Seeds the stored file lacks (the rotation screens' seeds 10-39 beside `fig2_seeds10`'s 0-9) are fitted
    on data redrawn from its settings, also under learner seed ``data`` and no options; before, a KeyError."""
    import platform

    method, settings = tiny_fig2_run
    stored = tmp_path / "fig2_latent_mlp-greedy.json"
    nodes = {"z1": node(0.95, 0.0), "z2": node(0.5, 0.3)}
    stored.write_text(json.dumps({"settings": settings, "runs": {f"{method}/3": {"nodes": nodes, "seconds": 7.0}}}))
    command = [sys.executable, str(BENCHMARKS / "refit_fig2.py"), str(stored), "--learner-seeds", "data",
               "--seeds", "5"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    run = json.loads((tmp_path / "refit_latent_mlp-greedy_base.json").read_text())["runs"]["5/5"]
    assert "stored" not in run and set(run["correlation"]) == {"z1", "z2"}
    assert run["platform"] == platform.platform()


def test_saving_keeps_what_another_process_wrote_meanwhile_under_the_same_options(tmp_path, refit_fig2):
    out = tmp_path / "refit.json"
    mine = {"settings": {"a": 1}, "options": {}, "runs": {"0/1": {"hit": True}}}
    out.write_text(json.dumps({**mine, "runs": {"5/1": {"hit": False}}}))  # written after this process read it
    refit_fig2.save(out, mine)
    assert set(json.loads(out.read_text())["runs"]) == {"0/1", "5/1"}
    refit_fig2.save(out, {**mine, "options": {"noise_floor": 0.5}, "runs": {"0/1": {"hit": True}}})
    assert set(json.loads(out.read_text())["runs"]) == {"0/1"}  # other options: the file is replaced


def test_kept_latents_come_with_the_likelihood_and_the_stored_seed_must_reproduce_the_stored_run(
        tmp_path, refit_fig2, tiny_fig2_run):
    """``--keep-latents`` refits the stored run as well (and stops when it is not the stored run), keeps each
    fit's held-out -log p(x|u) and its posterior means of the first held-out rows, in a file of its own."""
    method, settings = tiny_fig2_run
    from bench_learner import node_recovery
    from diagnose_fig2_gaps import model_nll, refit
    learner, data = refit(method, 3, settings)
    _, nodes = node_recovery(data, learner.transform(data.x, data.u))
    stored = tmp_path / "fig2_latent_mlp-greedy.json"
    stored.write_text(json.dumps({"settings": settings, "runs": {f"{method}/3": {"nodes": nodes, "seconds": 1.0}}}))
    command = [sys.executable, str(BENCHMARKS / "refit_fig2.py"), str(stored), "--learner-seeds", "data", "data+10",
               "--keep-latents"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    runs = json.loads((tmp_path / "refit_latent_mlp-greedy_base_latents.json").read_text())["runs"]
    assert set(runs) == {"3/3", "3/13"} and "stored" not in runs["3/3"]
    assert runs["3/3"]["nll"] == pytest.approx(model_nll(learner, data), abs=1e-9)
    assert len(learner.restart_val_losses_) == 1
    assert runs["3/3"]["val_losses"] == pytest.approx(learner.restart_val_losses_)
    kept = np.load(tmp_path / "refit_latent_mlp-greedy_base_latents" / "3_3.npy")
    assert np.allclose(kept, learner.transform(data.x, data.u)[:len(kept)]) and len(kept) == len(data.x)
    assert not (tmp_path / "refit_latent_mlp-greedy_base.json").exists()  # the plain refits stay apart
    nodes["z1"]["correlation"] -= 0.01
    stored.write_text(json.dumps({"settings": settings, "runs": {f"{method}/4": {"nodes": nodes, "seconds": 1.0}}}))
    done = subprocess.run([*command[:3], "--learner-seeds", "data", "--keep-latents", "--seeds", "4"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "4/4: the refit is not the stored run" in done.stderr
