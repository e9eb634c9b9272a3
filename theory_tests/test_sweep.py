"""`identcheck sweep` (CONTRACT §5): results.csv with one row per run, resumable, local and dask backends."""

import csv
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    with (folder / "results.csv").open(newline="", encoding="utf-8") as stream:
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


def test_a_bench_run_and_a_verify_run_of_the_same_plan_are_different_runs(tmp_path):
    """The run id hashes the task too: a bench sweep into a folder holding ok verify rows of the same specs,
    seeds, methods and budget must run its own runs (a bench row has no consistent column), not skip them."""
    verify_ids = {run.run_id for run in plan_runs(load_sweep(write_sweep(tmp_path, task="verify")))}
    bench_ids = {run.run_id for run in plan_runs(load_sweep(write_sweep(tmp_path, task="bench")))}
    assert len(verify_ids) == len(bench_ids) == 4 and not verify_ids & bench_ids


def test_a_spec_file_named_like_a_built_in_example_is_the_file(tmp_path):
    """specs are paths relative to the sweep file first: a file called C1 next to it (here C7's spec) is
    read, not the built-in example C1 of the same name."""
    (tmp_path / "C1").write_text(yaml.safe_dump(load_example("C7").spec))
    plan = load_sweep(write_sweep(tmp_path, specs=("C1",), methods=("ivae",)))
    assert plan.specs["C1"] == (tmp_path / "C1").read_text()


def test_a_verify_run_whose_prediction_fails_is_recorded_as_inconsistent():
    """The consistent column is the run's verdict, not a constant: a VAE after one epoch on C2 misses the
    identifiable z1 (as in test_verify's test_a_fit_that_misses_an_identifiable_node_confirms_no_unidentifiable_one),
    so its ok row says consistent False."""
    from identcheck.examples import example_path
    from identcheck.sweep import Run, execute

    run = Run("examples/C2", example_path("C2").read_text(encoding="utf-8"), 1, "vae", "verify",
              {"epochs": 1, "samples_per_env": 100})
    row = execute(run)
    assert (row["status"], row["consistent"]) == ("ok", "False")


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
    warnings column, each distinct message once, separated by " | " (one line a row), whether the run ends ok
    or failed."""
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
    assert row["warnings"] == "1 of 2 restarts failed (injected) | second"


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


@pytest.mark.parametrize("edit, message", [
    (lambda body: body.pop("budget"), "sweep.budget: missing required key"),
    (lambda body: body.update(seed=[0]), "sweep.seed: unknown key (allowed: budget, methods, seeds, specs, task)"),
])
def test_a_missing_or_unknown_sweep_key_is_named(tmp_path, edit, message):
    """Found in a review: a sweep without `budget` (or with a misspelt key) read "sweep: expected the keys
    budget, methods, seeds, specs, task, got [...]", leaving the user to find the difference; the message
    names the key, as a spec's does."""
    path = write_sweep(tmp_path)
    data = yaml.safe_load(path.read_text())
    edit(data["sweep"])
    path.write_text(yaml.safe_dump(data))
    result = identcheck("sweep", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert f"{path}: {message}" in result.stderr, result.stderr


def test_a_spec_entry_that_is_a_folder_is_named_a_folder(tmp_path):
    """Found in a review: a folder among the specs read "no spec file specs and no built-in example
    'specs'", as if nothing were there."""
    (tmp_path / "specs").mkdir()
    with pytest.raises(SpecError, match=r"sweep\.specs\[0\]: .*specs is a folder, not a spec file"):
        load_sweep(write_sweep(tmp_path, specs=("specs",)))


def test_a_yaml_error_in_a_sweep_file_names_the_line(tmp_path):
    """As a spec's YAML error does (test_spec_loader): the line and column, not only the problem."""
    path = tmp_path / "sweep.yaml"
    path.write_text("identcheck: 1\nsweep:\n  task: [verify\n")
    with pytest.raises(SpecError, match=r"sweep\.yaml: YAML syntax error at line 4, column 1: expected ','"):
        load_sweep(path)


def test_a_built_in_example_is_named_as_identcheck_examples_lists_it(tmp_path):
    """CONTRACT §5: specs are paths or built-in example names. ``C1`` (the name `identcheck examples` lists and
    ``--example`` takes) was refused, exit 2 with "no built-in example 'C1'"; it now runs as ``examples/C1``
    does, the row naming the spec as written, and the two spellings of one example are one spec."""
    path = write_sweep(tmp_path, specs=("C1",), methods=("ivae",), task="bench")
    result = identcheck("sweep", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    (row,) = rows(tmp_path / "out")
    assert row["spec"] == "C1" and row["status"] == "ok"
    prefixed = load_sweep(write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",), task="bench"))
    assert row["run"] == plan_runs(prefixed)[0].run_id
    with pytest.raises(SpecError, match=r"sweep\.specs\[1\]: same content as sweep\.specs\[0\]"):
        load_sweep(write_sweep(tmp_path, specs=("C1", "examples/C1")))


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


# Found in a review, stop 44 ------------------------------------------------------------------------------

STAND_INS = Path(__file__).parent  # sweep_stand_ins.py: a sweep in its own process, runs replaced


def fake_execute(run):
    """An ok row at once, for the tests that run the sweep in this process and fit nothing."""
    return {"run": run.run_id, "spec": run.spec, "seed": str(run.seed), "method": run.method, "task": run.task,
            "status": "ok", "mpc": "1.0000", "seconds": "0.00", "error": ""}


def start_stand_in(*args, cwd=None, **env):
    """`identcheck ARGS` in a process (and process group) of its own, runs replaced by sweep_stand_ins."""
    path = os.pathsep.join([str(STAND_INS), os.environ.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, "-m", "sweep_stand_ins", *args], cwd=cwd, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": path, **env})


def stop_group(process):
    """Kill what is left of a stand-in's process group (its pool workers too)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def wait_for(condition, seconds=120):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_second_sweep_into_a_folder_in_use_stops_at_once(tmp_path, monkeypatch, capsys):
    """Each sweep rewrites results.csv from the rows it holds, so two sweeps into one folder dropped each
    other's rows (found in a review, stop 44): the second one now stops at once with exit 2 and one line,
    writing nothing, and the folder is free again once the first one ends (here by SIGTERM)."""
    marks = tmp_path / "marks"
    marks.mkdir()
    first = start_stand_in("sweep", str(write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",))),
                           "--out", str(tmp_path / "out"), STAND_IN="0:sleep", STAND_IN_MARKS=str(marks))
    try:
        wait_for(lambda: (marks / "0").exists() or first.poll() is not None)
        monkeypatch.setattr(sys.modules["identcheck.sweep"], "execute", fake_execute)
        (tmp_path / "other").mkdir()
        other = write_sweep(tmp_path / "other", specs=("examples/C2",), methods=("ivae",))
        assert cli_main(["sweep", str(other), "--out", str(tmp_path / "out")]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and "another sweep is writing into" in err
        assert not (tmp_path / "out" / "results.csv").exists()
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        stop_group(first)
    assert cli_main(["sweep", str(other), "--out", str(tmp_path / "out")]) == 0
    assert [r["spec"] for r in rows(tmp_path / "out")] == ["examples/C2"]
    assert os.listdir(tmp_path / "out") == ["results.csv"]  # the lock file goes with the sweep


def test_columns_added_to_results_csv_by_hand_are_kept(tmp_path, monkeypatch):
    """CONTRACT §5 asks for at least the listed columns; a user's own columns were dropped as soon as a run
    was pending (found in a review, stop 44). They are kept after the sweep's columns, in their order, with
    their values, also on a row that is run again; new rows leave them empty."""
    monkeypatch.setattr(sys.modules["identcheck.sweep"], "execute", fake_execute)
    path = write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",), seeds=(0, 1))
    sweep(path, tmp_path / "out")
    table = rows(tmp_path / "out")
    header = ["zeta", *COLUMNS[:3], "mynote", *COLUMNS[3:]]
    with (tmp_path / "out" / "results.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=header)
        writer.writeheader()
        writer.writerow({**table[0], "zeta": "z", "mynote": "checked by hand ℓ"})
        writer.writerow({**table[1], "status": "failed", "mynote": "rerun this"})
    data = yaml.safe_load(path.read_text())
    data["sweep"]["seeds"] = [0, 1, 2]
    path.write_text(yaml.safe_dump(data))
    assert (sweep(path, tmp_path / "out").ran, len(rows(tmp_path / "out"))) == (2, 3)
    with (tmp_path / "out" / "results.csv").open(newline="", encoding="utf-8") as stream:
        assert next(csv.reader(stream)) == [*COLUMNS, "zeta", "mynote"]
    notes = [(r["seed"], r["status"], r["zeta"], r["mynote"]) for r in rows(tmp_path / "out")]
    assert notes == [("0", "ok", "z", "checked by hand ℓ"), ("1", "ok", "", "rerun this"), ("2", "ok", "", "")]


def test_a_results_csv_saved_with_a_byte_order_mark_is_read(tmp_path, monkeypatch):
    """A results.csv saved again by a spreadsheet starts with a UTF-8 byte order mark, which made its first
    column "\ufeffrun": the file was refused as "not a sweep's results.csv" (found in the review of stop 44's
    own changes)."""
    monkeypatch.setattr(sys.modules["identcheck.sweep"], "execute", fake_execute)
    path = write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",), seeds=(0,))
    sweep(path, tmp_path / "out")
    results = tmp_path / "out" / "results.csv"
    results.write_bytes(b"\xef\xbb\xbf" + results.read_bytes())
    assert (sweep(path, tmp_path / "out").ran, sweep(path, tmp_path / "out").skipped) == (0, 1)


def test_an_ok_row_wins_over_a_failed_row_of_the_same_run(tmp_path, monkeypatch):
    """A hand-edited results.csv with a run on two rows, ok then failed: the last row won and the run was
    run again (found in a review, stop 44); an ok row now means the run is done."""
    monkeypatch.setattr(sys.modules["identcheck.sweep"], "execute", fake_execute)
    path = write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",))
    sweep(path, tmp_path / "out")
    ok = rows(tmp_path / "out")[0]
    with (tmp_path / "out" / "results.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows([ok, {**ok, "status": "failed", "error": "an older failure"}])
    result = sweep(path, tmp_path / "out")
    assert (result.ran, result.skipped) == (0, 1)


def test_a_killed_worker_fails_its_run_and_the_sweep_goes_on(tmp_path):
    """A worker process killed mid-run (kill -9, the out-of-memory killer) broke the process pool: exit 3
    "internal error", the killed run unrecorded and the runs not started abandoned (found in a review, stop
    44). Now the runs in flight when it died get a failed row that says so, the others run in a fresh pool,
    and the sweep exits 1 (some run failed)."""
    path = write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",), seeds=range(6))
    process = start_stand_in("sweep", str(path), "--out", str(tmp_path / "out"), "--jobs", "2",
                             STAND_IN="0:kill,1:nap,2:nap,3:nap,4:nap,5:nap")
    try:
        out, err = process.communicate(timeout=120)
    finally:
        stop_group(process)
    assert process.returncode == 1 and err == "", err
    table = {r["seed"]: r for r in rows(tmp_path / "out")}
    assert sorted(table) == [str(seed) for seed in range(6)]
    assert table["0"]["status"] == "failed" and "worker process stopped before it returned" in table["0"]["error"]
    assert table["1"]["status"] in ("ok", "failed")  # in flight beside the killed run: the pool stops it too
    assert all(table[seed]["status"] == "ok" for seed in "2345")


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="needs identcheck[dask]")
def test_a_dask_worker_that_dies_fails_its_run_and_the_sweep_goes_on(tmp_path):
    """On the dask backend a run whose worker dies every time dask retries it ends in KilledWorker, which
    came out of future.result() as an internal error, exit 3, the other runs' rows unwritten (found in a
    review, stop 44). That run now gets a failed row naming it, and the others finish (exit 1)."""
    path = write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",), seeds=range(3))
    process = start_stand_in("sweep", str(path), "--out", str(tmp_path / "out"), "--backend", "dask",
                             "--jobs", "2", STAND_IN="0:kill")
    try:
        out, err = process.communicate(timeout=240)
    finally:
        stop_group(process)
    assert process.returncode == 1, err
    table = {r["seed"]: r for r in rows(tmp_path / "out")}
    assert table["0"]["status"] == "failed" and "the dask worker running it failed" in table["0"]["error"]
    assert table["1"]["status"] == table["2"]["status"] == "ok"


def parallel_sweep_started(tmp_path, seeds, sleeping, started):
    """A stand-in sweep of ``seeds`` runs with --jobs 2 into tmp_path/out, the seeds in ``sleeping`` taking a
    minute each, once the run of seed ``started`` has begun (or the sweep has ended): the sweep file and the
    process (stop it with `stop_group`)."""
    marks = tmp_path / "marks"
    marks.mkdir()
    path = write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",), seeds=range(seeds))
    process = start_stand_in("sweep", str(path), "--out", str(tmp_path / "out"), "--jobs", "2",
                             STAND_IN=",".join(f"{seed}:sleep" for seed in sleeping), STAND_IN_MARKS=str(marks))
    try:
        wait_for(lambda: (marks / started).exists() or process.poll() is not None)
    except BaseException:
        stop_group(process)
        raise
    return path, process


def test_sigterm_stops_a_parallel_sweep_at_once_and_keeps_the_finished_rows(tmp_path):
    """With --jobs 2, SIGTERM to the sweep's own process (a plain `kill`, a scheduler) waited for every
    queued run, about a minute each here, and then dropped their rows (found in a review, stop 44). Now it
    exits 143 within seconds with one line, the finished row written, and no worker process left."""
    path, process = parallel_sweep_started(tmp_path, seeds=6, sleeping=range(1, 6), started="2")
    try:
        process.send_signal(signal.SIGTERM)
        start = time.monotonic()
        out, err = process.communicate(timeout=20)
        assert time.monotonic() - start < 10
        assert process.returncode == 128 + signal.SIGTERM and err == "identcheck: stopped by SIGTERM\n", err
        assert [r["seed"] for r in rows(tmp_path / "out")] == ["0"]

        def group_gone():
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return True
            return False

        wait_for(group_gone, 10)
    finally:
        stop_group(process)


def test_workers_orphaned_by_a_killed_sweep_do_not_keep_its_folder_locked(tmp_path):
    """The first lock was an flock, which forked pool workers inherit: after a kill -9 of the sweep (the
    out-of-memory killer) its orphaned workers kept the folder locked, and every later sweep into it stopped
    with "another sweep is writing" (found in the review of stop 44's own changes). A POSIX record lock
    belongs to the sweep's process alone."""
    path, process = parallel_sweep_started(tmp_path, seeds=3, sleeping=range(3), started="1")
    try:
        process.kill()  # the sweep's own process only: its workers live on
        process.wait(timeout=20)
        again = start_stand_in("sweep", str(path), "--out", str(tmp_path / "out"), "--jobs", "1")
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0 and "3 run(s) executed" in out, err
    finally:
        stop_group(process)


def test_a_failed_sweep_removes_every_folder_it_made(tmp_path, monkeypatch, capsys):
    """--out a/b/c made a, b and c, and a failure removed only c (found in a review, stop 44). The dask
    backend is now checked before any folder is made (also when no run is pending), and a sweep stopped
    before its first row removes all three."""
    monkeypatch.setattr(sys.modules["identcheck.sweep"], "execute", fake_execute)
    path = write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",))
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "dask.distributed", None)  # `import dask.distributed` now fails
        assert cli_main(["sweep", str(path), "--out", str(tmp_path / "a" / "b" / "c"), "--backend", "dask"]) == 2
        assert "identcheck[dask]" in capsys.readouterr().err and not (tmp_path / "a").exists()
        sweep(path, tmp_path / "done")
        assert cli_main(["sweep", str(path), "--out", str(tmp_path / "done"), "--backend", "dask"]) == 2

    def interrupted(run):
        raise KeyboardInterrupt

    monkeypatch.setattr(sys.modules["identcheck.sweep"], "execute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep(path, tmp_path / "x" / "y" / "z")
    assert not (tmp_path / "x").exists()


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="needs identcheck[dask]")
def test_a_local_dask_cluster_has_no_more_workers_than_runs(tmp_path, monkeypatch):
    """--backend dask --jobs N started N worker processes for a single run (found in a review, stop 44); the
    local cluster is capped at the runs pending, as the local backend's pool is."""
    import dask.distributed

    sizes = []

    class Cluster:
        def __init__(self, n_workers, **kwargs):
            sizes.append(n_workers)
            raise RuntimeError("no cluster in this test")

    monkeypatch.setattr(dask.distributed, "LocalCluster", Cluster)
    path = write_sweep(tmp_path, specs=("examples/C1",), methods=("ivae",))
    with pytest.raises(RuntimeError, match="no cluster"):
        sweep(path, tmp_path / "out", backend="dask", jobs=4)
    assert sizes == [1]


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
    with pytest.raises(SpecError, match=r"sweep\.methods\[2\]: d3\.yaml: ivae:exact .* d = 3 for ℓ = 2"):
        load_sweep(path)
    assert cli_main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and not (tmp_path / "out").exists()
    assert load_sweep(write_sweep(tmp_path, specs=("d3.yaml",), methods=("ivae", "auto"))).methods == ("ivae", "auto")


def test_files_are_read_as_utf8_whatever_the_locale(tmp_path):
    """Spec files, the sweep file and results.csv were read in the locale's encoding: under LC_ALL=C a spec
    with a non-ASCII comment was refused, and run ids would differ between machines (found in a review, stop
    44). Read as UTF-8, the run ids are the same and the rows of an earlier run are recognised."""
    spec = "# ℓ = 2 latents, café\n" + yaml.safe_dump(load_example("C1").spec)
    (tmp_path / "c1.yaml").write_text(spec, encoding="utf-8")
    path = write_sweep(tmp_path, specs=("c1.yaml",), methods=("ivae",), seeds=(0, 1))
    first = plan_runs(load_sweep(path))[0]
    (tmp_path / "out").mkdir()
    with (tmp_path / "out" / "results.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=[*COLUMNS, "note"])
        writer.writeheader()
        writer.writerow({**fake_execute(first), "note": "ℓ ✓"})
    process = start_stand_in("sweep", str(path), "--out", str(tmp_path / "out"),
                             LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    try:
        out, err = process.communicate(timeout=120)
    finally:
        stop_group(process)
    assert process.returncode == 0 and "1 run(s) executed (0 failed), 1 skipped" in out, err
    assert [(r["seed"], r["note"]) for r in rows(tmp_path / "out")] == [("0", "ℓ ✓"), ("1", "")]


def test_an_example_description_is_read_as_utf8_whatever_the_locale(tmp_path):
    """`example_description` (the `identcheck examples` listing, and a sweep's ``examples/NAME``) read the
    example in the locale's encoding, so an example with a non-ASCII description ("ℓ = 2") could not be
    listed under LC_ALL=C (found in a review, stop 44; the shipped examples are ASCII today)."""
    (tmp_path / "X.yaml").write_text("description: 'two latents, ℓ = 2'\n", encoding="utf-8")
    code = ("import pathlib, identcheck.examples as e; e.example_path = lambda name: pathlib.Path(%r); "
            "print(ascii(e.example_description('X')))" % str(tmp_path / "X.yaml"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"})
    assert result.returncode == 0 and result.stdout == "'two latents, \\u2113 = 2'\n", result.stderr
