"""Every script under benchmarks/ treats bad input as `identcheck` does (`benchmarks/script_errors.py`): one
line on stderr naming the script and the problem, exit 2, no traceback. Before, a missing stored run, a stored
file that is not JSON and a learner's IdentcheckError each ended in a traceback with exit 1."""

from __future__ import annotations

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
