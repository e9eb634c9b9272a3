"""`identcheck sweep` (CONTRACT §5): results.csv with one row per run, resumable, local and dask backends."""

import csv
import importlib.util
import re
import subprocess
import sys

import pytest
import yaml

from identcheck import IdentcheckError, SpecError, load_example
from identcheck.cli import main as cli_main
from identcheck.sweep import COLUMNS, load_sweep, plan_runs, sweep

BUDGET = {"epochs": 1, "samples_per_env": 40}


def write_sweep(folder, specs=("c7.yaml", "examples/C1"), methods=("latent_mlp", "ivae"), seeds=(0,),
                budget=BUDGET, task="verify"):
    (folder / "c7.yaml").write_text(yaml.safe_dump(load_example("C7").spec))
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump({"identcheck": 1, "sweep": {"task": task, "specs": list(specs), "seeds": list(seeds),
                                    "methods": list(methods), "budget": dict(budget)}}))
    return path


def rows(folder):
    with (folder / "results.csv").open() as stream:
        return list(csv.DictReader(stream))


def identcheck(*args):
    return subprocess.run([sys.executable, "-m", "identcheck", *args], capture_output=True, text=True, timeout=300)


def test_sweep_writes_one_row_per_run_and_a_rerun_skips_the_runs_already_ok(tmp_path):
    """specs × seeds × methods runs, each a row with the contract columns; the same command again runs
    nothing (every row is ok) and leaves the rows as they were."""
    path = write_sweep(tmp_path)
    first = identcheck("sweep", str(path), "--out", str(tmp_path / "out"))
    assert first.returncode == 0, first.stderr
    table = rows(tmp_path / "out")
    assert len(table) == 4 and list(table[0]) == list(COLUMNS)
    assert {(r["spec"], r["method"]) for r in table} == {(s, m) for s in ("c7.yaml", "examples/C1")
                                                        for m in ("latent_mlp", "ivae")}
    assert all(r["status"] == "ok" and r["error"] == "" and 0 <= float(r["mpc"]) <= 1 for r in table)
    second = identcheck("sweep", str(path), "--out", str(tmp_path / "out"))
    assert second.returncode == 0 and "0 run(s) executed" in second.stdout and "4 skipped" in second.stdout
    assert rows(tmp_path / "out") == table


def test_an_interrupted_sweep_resumes_with_the_missing_runs(tmp_path):
    """results.csv is rewritten after every run; runs missing from it (as after an interruption) are run
    again, the others are skipped."""
    path = write_sweep(tmp_path, methods=("ivae",))
    out = tmp_path / "out"
    sweep(path, out)
    kept = rows(out)[:1]
    with (out / "results.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(kept)
    result = sweep(path, out)
    assert (result.ran, result.skipped) == (1, 1) and len(rows(out)) == 2


def test_run_id_is_a_content_hash_of_spec_seed_method_and_budget(tmp_path):
    """The run column changes with the spec text, the seed, the method or the budget, and only then."""
    plan = load_sweep(write_sweep(tmp_path, seeds=(0, 1)))
    ids = [run.run_id for run in plan_runs(plan)]
    assert len(set(ids)) == len(ids) == 8
    assert ids == [run.run_id for run in plan_runs(load_sweep(tmp_path / "sweep.yaml"))]
    other = load_sweep(write_sweep(tmp_path, seeds=(0, 1), budget={**BUDGET, "epochs": 2}))
    assert not set(ids) & {run.run_id for run in plan_runs(other)}


def test_a_failing_run_is_recorded_and_retried(tmp_path):
    """A run that raises (here: a mechanism that overflows in simulation) gets status failed and its error;
    the sweep goes on, exits 1, and a rerun retries only that run."""
    bad = load_example("C1").spec
    bad["mechanisms"] = {"z2": "exp(exp(exp(z1 + 5)))"}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    path = write_sweep(tmp_path, specs=("bad.yaml", "examples/C1"), methods=("ivae",))
    result = identcheck("sweep", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    status = {r["spec"]: r for r in rows(tmp_path / "out")}
    assert status["bad.yaml"]["status"] == "failed" and status["bad.yaml"]["error"]
    assert status["examples/C1"]["status"] == "ok"
    again = sweep(path, tmp_path / "out")
    assert (again.ran, again.skipped) == (1, 1)


def test_a_runs_warnings_are_kept_in_its_row(tmp_path, monkeypatch):
    """A warning raised during a run (a restart that failed beside one that did not) lands in the row's
    warnings column, one line per distinct message, whether the run ends ok or failed."""
    import warnings

    from identcheck import IdentcheckWarning, TrainingError

    def warning_verify(scm, **kwargs):
        for message in ("1 of 2 restarts failed\n(injected)", "1 of 2 restarts failed (injected)", "second"):
            warnings.warn(message, IdentcheckWarning)
        raise TrainingError("every restart failed (injected)")

    monkeypatch.setattr(sys.modules["identcheck.verify"], "verify", warning_verify)
    result = sweep(write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",)), tmp_path / "out")
    assert result.ran == 1
    row = rows(tmp_path / "out")[0]
    assert row["status"] == "failed" and row["error"] == "TrainingError: every restart failed (injected)"
    assert row["warnings"] == "1 of 2 restarts failed (injected)\nsecond"


def test_bench_task_with_two_local_jobs(tmp_path):
    """--jobs 2 runs in two processes; task bench records MPC and SHD and leaves the verify columns empty."""
    path = write_sweep(tmp_path, specs=("examples/C1",), seeds=(0, 1), task="bench")
    result = identcheck("sweep", str(path), "--out", str(tmp_path / "out"), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    table = rows(tmp_path / "out")
    assert len(table) == 4 and all(r["status"] == "ok" and r["consistent"] == "" for r in table)


@pytest.mark.parametrize("method", ["ivae:exact", "auto"])
def test_a_method_with_a_preset_or_auto_is_planned_and_kept_in_its_rows(tmp_path, method):
    """A preset, or verify's "auto" (the learner chosen per spec), is a valid method and names its rows; the
    learner column says what was fitted."""
    path = write_sweep(tmp_path, specs=("examples/C1",), methods=(method,))
    assert load_sweep(path).methods == (method,)
    assert identcheck("sweep", str(path), "--out", str(tmp_path / "out")).returncode == 0
    learner = "latent_mlp:ordered" if method == "auto" else method  # C1: d = ℓ = 2
    assert [(r["method"], r["learner"], r["status"]) for r in rows(tmp_path / "out")] == [(method, learner, "ok")]


@pytest.mark.parametrize("change, key", [
    ({"methods": ["no_such_learner"]}, "sweep.methods[0]"),
    ({"methods": ["ivae", "latent_mlp:no_such_preset"]}, "sweep.methods[1]"),
    ({"specs": ["missing.yaml"]}, "sweep.specs[0]"),
    ({"task": "train"}, "sweep.task"),
    ({"budget": {"epochs": 0}}, "sweep.budget.epochs"),
    ({"budget": {"samples_per_env": 1}}, "sweep.budget.samples_per_env"),
    ({"seeds": []}, "sweep.seeds"),
    # a seed no learner takes was planned, then every run with it failed (exit 1) instead of exit 2 at load
    ({"seeds": [0, 2**32]}, "sweep.seeds[1]: expected an integer in [0, 2**32)"),
])
def test_bad_sweep_file_names_the_key(tmp_path, change, key):
    """A broken sweep file is a SpecError naming the file and the key; the CLI exits 2 with one line."""
    path = write_sweep(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["sweep"].update(change)
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=re.escape(key)):
        load_sweep(path)
    result = identcheck("sweep", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_unreadable_files_around_a_sweep_are_one_line_errors(tmp_path, capsys):
    """A results.csv that is not text, and a spec entry whose name the file system refuses (too long), are
    one line and exit 2, not internal errors (both were, exit 3)."""
    path = write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.csv").write_bytes(bytes(range(128, 256)))
    assert cli_main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "cannot read" in err and "results.csv" in err
    data = yaml.safe_load(path.read_text())
    data["sweep"]["specs"] = ["x" * 300 + ".yaml"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=r"sweep\.specs\[0\]: cannot read .* \(OSError\)"):
        load_sweep(path)


def test_dask_backend_without_dask_says_what_to_install(tmp_path, monkeypatch, capsys):
    """--backend dask needs the optional dependency; without it (hidden here from the import system) the
    error says how to install it, in one line with exit 2, and no results file is written."""
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # `import dask.distributed` now fails
    code = cli_main(["sweep", str(write_sweep(tmp_path)), "--out", str(tmp_path / "o"), "--backend", "dask"])
    err = capsys.readouterr().err
    assert code == 2 and "identcheck[dask]" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "results.csv").exists()


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="needs identcheck[dask]")
def test_dask_backend_gives_the_rows_of_the_local_one(tmp_path):
    """`--backend dask --jobs 2` (a local cluster of two worker processes) writes the rows the local backend
    writes, but for the run times, and a rerun skips every run. The test extras install dask, so CI runs
    this; about 25 s."""
    path = write_sweep(tmp_path)
    assert identcheck("sweep", str(path), "--out", str(tmp_path / "local")).returncode == 0
    result = identcheck("sweep", str(path), "--out", str(tmp_path / "dask"), "--backend", "dask", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    local, remote = ({row["run"]: row for row in rows(tmp_path / name)} for name in ("local", "dask"))
    assert sorted(local) == sorted(remote) and len(local) == 4
    for run, row in local.items():
        assert {key: value for key, value in row.items() if key != "seconds"} == \
            {key: value for key, value in remote[run].items() if key != "seconds"}
    again = identcheck("sweep", str(path), "--out", str(tmp_path / "dask"), "--backend", "dask", "--jobs", "2")
    assert "0 run(s) executed (0 failed), 4 skipped" in again.stdout + again.stderr


def test_bad_backend_arguments_are_errors(tmp_path):
    """--address without the dask backend and jobs < 1 are usage errors."""
    path = write_sweep(tmp_path)
    with pytest.raises(IdentcheckError):
        sweep(path, tmp_path / "o", address="tcp://x:1")
    assert identcheck("sweep", str(path), "--out", str(tmp_path / "o"), "--jobs", "0").returncode == 2


def test_an_exact_likelihood_method_on_a_spec_with_more_observed_features_is_refused_before_any_run(tmp_path,
                                                                                                   capsys):
    """The exact likelihood needs d = ℓ (README, learner presets: "otherwise exit 2"); a sweep with
    ivae:exact on a spec with d = 3 for ℓ = 2 failed every run, and retried them on every rerun (found in a
    review, stop 44). load_sweep now names the method and the spec; the learner without a preset and auto
    (which picks the ELBO learner) are accepted there."""
    spec = load_example("C1").spec
    spec["mixing"] = {"kind": "mlp", "observed_dim": 3}
    (tmp_path / "d3.yaml").write_text(yaml.safe_dump(spec))
    path = write_sweep(tmp_path, specs=("examples/C1", "d3.yaml"), methods=("ivae", "auto", "ivae:exact"))
    with pytest.raises(SpecError, match=r"sweep\.methods\[2\]: ivae:exact .* d3\.yaml has d = 3 for ℓ = 2"):
        load_sweep(path)
    assert cli_main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and not (tmp_path / "out").exists()
    assert load_sweep(write_sweep(tmp_path, specs=("d3.yaml",), methods=("ivae", "auto"))).methods == ("ivae", "auto")
