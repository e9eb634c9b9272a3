"""benchmarks/bench_learner.py: the data options it records must redraw the data it fitted, so that the
scripts that refit its stored runs (`diagnose_fig2_gaps.stored_data`) see the same rows, and fits run side by
side (--jobs) must be the fits of one process. Smoke-size runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPT = BENCHMARKS / "bench_learner.py"


def test_several_reference_segments_are_recorded_and_redraw_the_fitted_data(tmp_path, monkeypatch):
    """``--reference-segments 3``: λ = 0 in segments 0-2, written into the settings and the title; the stored
    run's true-noise reading is what the redrawn data give."""
    command = [sys.executable, str(SCRIPT), "--quick", "--skip-fig1", "--partial-methods", "ivae", "--seeds", "1",
               "--epochs", "2", "--reference-segments", "3", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=BENCHMARKS)
    assert result.returncode == 0, result.stderr
    stored = json.loads((tmp_path / "quick" / "fig2_ivae.json").read_text())
    assert stored["settings"]["reference_segments"] == 3
    assert "3 reference segments" in (tmp_path / "quick" / "results.md").read_text()
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from bench_learner import node_recovery
    from diagnose_fig2_gaps import stored_data

    data = stored_data(stored["settings"], 0)
    assert np.all(data.scm.parameters["lam_z2_z3"][:3] == 0) and np.all(data.scm.parameters["lam_z2_z3"][3:] != 0)
    _, nodes = node_recovery(data, data.z)
    for name in ("z2", "z3"):
        assert stored["runs"]["ivae/0"]["nodes"][name]["noise_segment_share"] == pytest.approx(
            nodes[name]["noise_segment_share"], abs=1e-12)


def test_more_reference_segments_than_segments_is_a_usage_error(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--reference-segments", "11", "--out",
                             str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=BENCHMARKS)
    assert result.returncode == 2 and "--reference-segments must be in 1..10" in result.stderr
    assert not any(tmp_path.iterdir())


def test_fits_side_by_side_are_the_fits_of_one_process(tmp_path):
    """``--jobs 2`` stores, for every run, the readings ``--jobs 1`` stores (all but the wall time)."""
    stored = {}
    for jobs in (1, 2):
        command = [sys.executable, str(SCRIPT), "--quick", "--skip-fig1", "--partial-methods", "ivae", "--seeds", "2",
                   "--epochs", "2", "--jobs", str(jobs), "--out", str(tmp_path / str(jobs))]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=BENCHMARKS)
        assert result.returncode == 0, result.stderr
        runs = json.loads((tmp_path / str(jobs) / "quick" / "fig2_ivae.json").read_text())["runs"]
        stored[jobs] = {key: {k: v for k, v in run.items() if k != "seconds"} for key, run in runs.items()}
    assert sorted(stored[1]) == ["ivae/0", "ivae/1"]
    assert stored[2] == stored[1]


def test_no_processes_is_a_usage_error(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--jobs", "0", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, cwd=BENCHMARKS)
    assert result.returncode == 2 and "--jobs must be a positive integer, got 0" in result.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("args, message", [
    (["--latents", "0"], "argument --latents: expected an integer >= 1, got 0"),
    (["--seeds", "0"], "argument --seeds: expected an integer >= 1, got 0"),
    (["--samples-per-segment", "1"], "argument --samples-per-segment: expected an integer >= 2, got 1"),
    (["--restarts", "0"], "argument --restarts: expected an integer >= 1, got 0"),
    (["--exact-lr", "nan"], "--exact-lr must be a positive number, got nan"),
    (["--partial-latents", "1"], "argument --partial-latents: expected an integer >= 2, got 1"),
])
def test_a_count_or_rate_out_of_range_is_a_usage_error_before_any_fit(tmp_path, args, message):
    """Before, --seeds 0 silently became 3 seeds, and --restarts 0 or --partial-latents 1 ended in a
    traceback once the fits began."""
    tiny = ["--methods", "vae", "--partial-methods", "vae", "--epochs", "1", "--latents", "2", "--seeds", "1",
            "--segments", "2", "--samples-per-segment", "20"]  # a broken check costs seconds; the last value wins
    result = subprocess.run([sys.executable, str(SCRIPT), *tiny, *args, "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=300, cwd=BENCHMARKS)
    assert result.returncode == 2 and message in result.stderr
    assert not any(tmp_path.iterdir())


def test_quick_fills_in_only_the_sizes_not_given(tmp_path):
    """--quick with --latents or --segments keeps them (it replaced them with its own before); no run is
    asked for here, so the tables are written from nothing and the reproduce line shows the sizes used."""
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--latents", "4", "--segments", "6",
                             "--skip-fig1", "--skip-fig2", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, cwd=BENCHMARKS)
    assert result.returncode == 0, result.stderr
    line = next(x for x in (tmp_path / "quick" / "results.md").read_text().splitlines() if x.startswith("Reproduce"))
    assert "--latents 4 --seeds 2 " in line and "--segments 6 --samples-per-segment 200 " in line


def test_the_share_table_lists_seeds_in_seed_order_whatever_order_they_were_stored_in(monkeypatch):
    """With --jobs the runs are stored as they finish; the per-seed shares must still read seed 0, 1, 2."""
    import argparse

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from bench_learner import share_table

    def run(share: float) -> dict:
        return {"segment_parent_share": {"z2": share}, "noise_segment_parent_share": {"z2": 0.3}}

    results = {"fig1": {"m/5/1": run(0.1), "m/5/0": run(0.0), "m/5/2": run(0.2)}}
    rows = share_table(results, argparse.Namespace(methods=["m"], latents=[5], seeds=3))
    assert rows[-1] == "| m | 5 | 0.100 (0.000 / 0.100 / 0.200) | 0.300 |"


def test_the_fig1_table_prints_its_range_to_the_digits_of_its_median(monkeypatch):
    """[min, max] at 2 decimals printed 0.844 [0.73, 0.84]: a maximum below the median (stop 44's notes)."""
    import argparse

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from bench_learner import fig1_table

    runs = {f"m/3/{seed}": {"mpc": mpc, "seconds": 1.0, "samples_per_second": 2.0}
            for seed, mpc in enumerate([0.8436, 0.7311, 0.8446])}
    args = argparse.Namespace(methods=["m"], latents=[3], seeds=3, held_out=0.0)
    assert fig1_table({"fig1": runs}, args)[4] == "| m | 0.844 [0.731, 0.845] | 1 | 2 |"


def test_resuming_a_file_fitted_elsewhere_keeps_its_machine_and_names_both(tmp_path):
    """A file's machine field is the machine its first runs were fitted on; a run added later on another
    machine names its own platform, and the table's header names both. Before, the resumed file's machine
    field became this machine's, and seed 0's run was credited to it."""
    base = [sys.executable, str(SCRIPT), "--quick", "--skip-fig1", "--partial-methods", "ivae", "--epochs", "2",
            "--out", str(tmp_path)]
    path = tmp_path / "quick" / "fig2_ivae.json"
    assert subprocess.run([*base, "--seeds", "1"], capture_output=True, timeout=600, cwd=BENCHMARKS).returncode == 0
    stored = json.loads(path.read_text())
    stored["machine"]["platform"] = "Elsewhere-1.0"
    stored["runs"]["ivae/0"].pop("platform", None)  # as a run stored before runs named their machine
    path.write_text(json.dumps(stored))
    result = subprocess.run([*base, "--seeds", "2"], capture_output=True, text=True, timeout=600, cwd=BENCHMARKS)
    assert result.returncode == 0, result.stderr
    resumed = json.loads(path.read_text())
    assert resumed["machine"]["platform"] == "Elsewhere-1.0"
    assert "platform" not in resumed["runs"]["ivae/0"]
    here = resumed["runs"]["ivae/1"]["platform"]
    assert here != "Elsewhere-1.0"
    header = (tmp_path / "quick" / "results.md").read_text().splitlines()[0]
    assert f"Elsewhere-1.0, {here}" in header or f"{here}, Elsewhere-1.0" in header


def test_larger_share_counts_the_seeds_where_the_violating_node_carries_more_of_its_parents(monkeypatch):
    """Fig. 2's second half read across seeds: the sign test is small only where the violating share is above
    the identifiable ones on most seeds; a tie counts as not above; the medians are those of the two shares."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from bench_learner import larger_share

    def runs(pairs):
        return [{"violating_share": v, "largest_identifiable_share": i} for v, i in pairs]

    clear = larger_share(runs([(0.1, 0.0)] * 12))
    assert clear.startswith("violating share above every identifiable one on 12 of 12 ") and "p = 0.00024" in clear
    alike = larger_share(runs([(0.1, 0.0), (0.0, 0.1)] * 6))  # as often below as above: no evidence
    assert "on 6 of 12 " in alike and "p = 0.61" in alike
    tied = larger_share(runs([(0.05, 0.05)] * 4 + [(0.3, 0.1)]))
    assert "on 1 of 5 " in tied and "medians 0.050 / 0.050" in tied
