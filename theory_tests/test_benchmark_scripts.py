"""Every script under benchmarks/ treats bad input as `identcheck` does (`benchmarks/script_errors.py`): one
line on stderr naming the script and the problem, exit 2, no traceback. Before, a missing stored run, a stored
file that is not JSON and a learner's IdentcheckError each ended in a traceback with exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if p.name != "script_errors.py")


def run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_runs_its_main_through_the_shared_error_handling(script):
    """The rule holds for a script only if its main goes through `run_script`."""
    assert 'if __name__ == "__main__":\n    run_script(main)\n' in (BENCHMARKS / script).read_text()


@pytest.mark.parametrize("script, args, problem", [
    ("refit_fig2.py", ["missing.json"], "cannot use missing.json (No such file or directory)"),
    ("rotation_screen.py", ["missing.json"], "cannot use missing.json (No such file or directory)"),
    ("select_restarts.py", ["broken.json"], "a stored file is not JSON"),
    ("diagnose_fig2_gaps.py", ["broken.json"], "a stored file is not JSON"),
    ("diagnose_fig2.py", ["--seeds", "-1"], "seed must be an integer in [0, 2**32), got -1"),
    ("bench_simulate.py", ["--seed", "-1", "--out", "simulate.md"], "seed must be an integer in [0, 2**32), got -1"),
    # found in a review: JSON of another kind (a check report, a list) was a KeyError or TypeError traceback
    ("refit_fig2.py", ["other.json"], "other.json: not a method file of bench_learner.py"),
    ("rotation_screen.py", ["list.json"], "list.json: not a method file of bench_learner.py"),
    ("diagnose_fig2_gaps.py", ["other.json"], "other.json: not a method file of bench_learner.py"),
    ("fig2_shares.py", ["other.json", "--out", "a.png"], "other.json: not a method file of bench_learner.py"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, script, args, problem):
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "other.json").write_text('{"identcheck": 1, "nodes": {}}')
    (tmp_path / "list.json").write_text("[1, 2]")
    result = run(script, *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == "", result.stderr
    assert result.stderr.startswith(f"{script}: error: ") and problem in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.json", "list.json", "other.json"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_the_cuda_check_without_a_gpu_says_so_and_writes_nothing(tmp_path):
    result = run("cuda_check.py", "--out", "cuda", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "cuda_check.py: error: no CUDA device on this machine: the check needs one\n"
    assert list(tmp_path.iterdir()) == []


def test_the_across_seeds_picture_reads_every_kind_of_stored_fig2_file(tmp_path):
    """fig2_shares.py: one panel and one sign-test line per file, whichever script wrote it; a file of Fig. 1
    runs only is refused before anything is written."""
    nodes = {"z1": {"correlation": 0.99, "share": 0.0}, "z2": {"correlation": 0.8, "share": 0.3},
             "z3": {"correlation": 0.95, "share": 0.01}}
    reading = {"correlation": {n: v["correlation"] for n, v in nodes.items()},
               "share": {n: v["share"] for n, v in nodes.items()}}
    files = {"bench.json": {"ivae:exact/0": {"nodes": nodes}, "ivae:exact/1": {"nodes": nodes}},
             "screen.json": {"0/0": {"after": reading}}, "refit.json": {"0/0": reading},
             "fig1.json": {"ivae/l5/0": {"mpc": 0.9}}}
    for name, runs in files.items():
        (tmp_path / name).write_text(json.dumps({"settings": {}, "runs": runs}))
    result = run("fig2_shares.py", "bench.json", "screen.json", "refit.json", "--out", "shares.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("ivae:exact: violating share above every identifiable one on 2 of 2 (one-sided sign test "
                        "p = 0.25; medians 0.300 / 0.010)")
    assert lines[1].startswith("latent_mlp:rotated: ") and lines[2].startswith("refitted: ")
    assert (tmp_path / "shares.png").read_bytes().startswith(b"\x89PNG")
    refused = run("fig2_shares.py", "bench.json", "fig1.json", "--out", "other.png", cwd=tmp_path)
    assert refused.returncode == 2 and "fig1.json: no Fig. 2 runs of one method" in refused.stderr
    assert not (tmp_path / "other.png").exists()
