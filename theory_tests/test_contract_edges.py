"""Edges of the CLI contract (CONTRACT §2, §3, §5): stable JSON keys, empty or over-long output names, a
broken pipe, duplicate sweep entries, numbers and exponents beyond range, duplicate YAML keys, keyword names.
Bad input: exit 2, one line on stderr, no traceback, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import identcheck
from identcheck.cli import main
from identcheck.errors import DataError, SpecError
from identcheck.files import write_atomically
from identcheck.spec import from_text

SPEC = """identcheck: 1
latents: [z1, z2]
environments: {values: [0, 1, 2, 3, 4]}
noise:
  family: gaussian
  params:
    z1: {mean: "sin(u)", std: "exp(0.3*cos(u))"}
    z2: {mean: "cos(u)", std: "exp(0.5*sin(u))"}
mechanisms: {z2: "u*z1"}
"""


def cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "identcheck", *argv], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage_error(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


# 1. JSON keys -----------------------------------------------------------------------------------------------

def test_iii_keys_are_always_present_and_match_to_dict(capsys):
    code, out, _ = run(capsys, "check", "--example", "C15a", "--format", "json")
    assert code == 1
    data = json.loads(out)
    iii = data["assumptions"]["iii"]
    assert iii["status"] in ("fails", "unknown")
    for key in ("status", "reason", "rank", "required", "environments", "condition_number"):
        assert key in iii
    assert identcheck.check(identcheck.load_example("C15a")).to_dict() == data


@pytest.mark.parametrize("name", ["C1", "C2"])
def test_iii_keys_present_for_other_examples(capsys, name):
    data = json.loads(run(capsys, "check", "--example", name, "--format", "json")[1])
    assert {"rank", "required", "environments", "condition_number"} <= set(data["assumptions"]["iii"])


# 2. empty output paths --------------------------------------------------------------------------------------

def test_simulate_empty_out_is_a_usage_error(capsys, tmp_path):
    (tmp_path / "s.yaml").write_text(SPEC)
    assert_usage_error(*run(capsys, "simulate", str(tmp_path / "s.yaml"), "--out", ""), "--out")


def test_sweep_empty_out_is_a_usage_error_and_writes_nothing(tmp_path):
    (tmp_path / "sw.yaml").write_text("identcheck: 1\nsweep: {task: bench, specs: [examples/C1], seeds: [0], "
                                      "methods: [ivae], budget: {epochs: 1, samples_per_env: 50}}\n")
    result = cli("sweep", "sw.yaml", "--out", "", cwd=tmp_path)
    assert_usage_error(result.returncode, result.stdout, result.stderr, "--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sw.yaml"]


def test_verify_empty_plot_is_a_usage_error(capsys):
    assert_usage_error(*run(capsys, "verify", "--example", "C1", "--plot", ""), "--plot")


def test_write_atomically_rejects_an_empty_name():
    with pytest.raises(DataError):
        write_atomically("", lambda stream: stream.write(b"x"))


# 3. long output names -----------------------------------------------------------------------------------------

def test_simulate_to_a_245_character_name(capsys, tmp_path):
    (tmp_path / "s.yaml").write_text(SPEC)
    target = tmp_path / ("a" * 245 + ".npz")
    code, _, err = run(capsys, "simulate", str(tmp_path / "s.yaml"), "--samples-per-env", "5", "--out", str(target))
    assert code == 0, err
    assert target.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["s.yaml", target.name])


def test_write_atomically_cleans_up_on_failure(tmp_path):
    def boom(stream):
        stream.write(b"part")
        raise OSError("disk full")

    with pytest.raises(DataError):
        write_atomically(tmp_path / "x.bin", boom)
    assert list(tmp_path.iterdir()) == []


def test_a_stop_right_after_the_temporary_file_is_made_leaves_no_file(tmp_path, monkeypatch):
    """SIGTERM raises between two bytecodes (`cli._stopping_cleanly`), so it can land just after the temporary
    file is created and before the write's `try`: that file stayed beside the target (found while looking into
    a flaky SIGTERM test, stop 46). Here the stop comes from os.open itself, once the file exists."""
    import identcheck.files as files

    real_open = files.os.open

    def open_then_stop(*args, **kwargs):
        real_open(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "open", open_then_stop)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(tmp_path / "d.npz", lambda stream: stream.write(b"x"))
    assert list(tmp_path.iterdir()) == []


def test_write_atomically_gives_umask_permissions(tmp_path):
    write_atomically(tmp_path / "x.bin", lambda stream: stream.write(b"ok"))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "x.bin").stat().st_mode & 0o777 == 0o666 & ~umask


# 4. broken pipe -----------------------------------------------------------------------------------------------

def closed_reader(*args: str) -> tuple[int, str]:
    """Run `identcheck ARGS` with a stdout pipe whose reader goes away before anything is written: (exit
    code, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "identcheck", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=300), err


@pytest.mark.parametrize("name, expected", [("C1", 0), ("C2", 1)])
def test_broken_pipe_keeps_the_exit_code(name, expected):
    code, err = closed_reader("check", "--example", name, "--format", "json")
    assert code == expected, err
    assert "Traceback" not in err and "Exception ignored" not in err


def closed_stdout(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Run `identcheck ARGS` with stdout closed before it starts (a shell's `>&-`): (exit code, stderr)."""
    proc = subprocess.run(["bash", "-c", '"$0" -m identcheck "$@" >&-', sys.executable, *args],
                          stderr=subprocess.PIPE, text=True, timeout=300, cwd=cwd)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("name, expected", [("C1", 0), ("C2", 1)])
def test_a_stdout_closed_at_start_keeps_the_exit_code(name, expected, tmp_path):
    """Found in a review: `identcheck check ... >&-` ended in "internal error (please report) ... AttributeError:
    'NoneType' object has no attribute 'write'", exit 3, and `simulate ... >&-` so too after writing its file.
    As after a broken pipe, nothing reads the result and the command keeps its exit code."""
    code, err = closed_stdout("check", "--example", name)
    assert (code, err) == (expected, "")
    code, err = closed_stdout("simulate", "--example", name, "--samples-per-env", "5", "--out", "d.npz", cwd=tmp_path)
    assert (code, err) == (0, "") and (tmp_path / "d.npz").stat().st_size > 0


@pytest.mark.parametrize("spec, expected", [("warns.yaml", 0), ("absent.yaml", 2)])
def test_a_stderr_closed_at_start_keeps_the_exit_code(spec, expected, tmp_path):
    """Found in a review: with `2>&-` a warning (an observed u outside the declared domain) or an error line
    went to stdout (Python leaves sys.stderr None, and print(file=None) writes to stdout), spoiling the JSON;
    or, where the descriptor was taken by a file opened at start-up, raised when written, so `check` printed
    nothing and exited 1, the code of a valid spec with an unidentifiable latent. The line is lost, the
    command, its stdout and its exit code are not."""
    (tmp_path / "warns.yaml").write_text(SPEC.replace("{values: [0, 1, 2, 3, 4]}",
                                                      "{values: [0, 1, 2, 3, 4], domain: [0, 3]}"))
    proc = subprocess.run(["bash", "-c", '"$0" -m identcheck check "$1" --format json 2>&-', sys.executable, spec],
                          stdout=subprocess.PIPE, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == expected
    if expected == 0:
        assert json.loads(proc.stdout)["fully_identifiable"] is True
    else:
        assert proc.stdout == ""


@pytest.mark.parametrize("command", ["verify", "sweep"])
def test_verify_and_sweep_run_with_stderr_closed_at_start(command, tmp_path):
    """Found in a review: with `2>&-` (sys.stderr None) verify and sweep asked sys.stderr.isatty() whether to
    draw progress bars, an AttributeError, exit 3 after the line saying so was lost."""
    (tmp_path / "sweep.yaml").write_text("identcheck: 1\nsweep: {task: bench, specs: [examples/C1], seeds: [0], "
                                         "methods: [ivae], budget: {epochs: 1, samples_per_env: 20}}\n")
    args = {"verify": ["--example", "C2", "--samples-per-env", "20", "--epochs", "1", "--method", "ivae",
                       "--format", "json"],
            "sweep": ["sweep.yaml", "--out", "out"]}[command]
    proc = subprocess.run(["bash", "-c", '"$0" -m identcheck "$@" 2>&-', sys.executable, command, *args],
                          stdout=subprocess.PIPE, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode in (0, 1) and proc.stdout, proc.returncode
    if command == "verify":
        assert set(json.loads(proc.stdout)) >= {"identcheck", "check", "mpc", "nodes"}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_stdout_that_cannot_be_written_is_one_line_and_exit_2():
    """Found in a review: `identcheck check ... > /dev/full` (a full disk) was "internal error (please report)
    ... OSError: [Errno 28] No space left on device", exit 3; as `--out /dev/full` is, it is bad output
    ground, one line naming stdout, exit 2."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "identcheck", "check", "--example", "C1"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "identcheck: error: cannot write to stdout: No space left on device\n"


# 5. duplicate sweep entries -----------------------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    ("specs: [examples/C1], seeds: [0, 1, 0], methods: [ivae]", "sweep.seeds[2]: duplicate of sweep.seeds[0]"),
    ("specs: [examples/C1], seeds: [0], methods: [ivae, ivae]", "sweep.methods[1]: duplicate of sweep.methods[0]"),
    ("specs: [a.yaml, b.yaml], seeds: [0], methods: [ivae]", "sweep.specs[1]: same content as sweep.specs[0]"),
    ("specs: [examples/C1, examples/C1], seeds: [0], methods: [ivae]",
     "sweep.specs[1]: same content as sweep.specs[0]"),
])
def test_duplicate_sweep_entries_are_rejected_before_any_run(capsys, tmp_path, body, message):
    (tmp_path / "a.yaml").write_text(SPEC)
    (tmp_path / "b.yaml").write_text(SPEC)
    (tmp_path / "sw.yaml").write_text(f"identcheck: 1\nsweep: {{task: bench, {body}, "
                                      "budget: {epochs: 1, samples_per_env: 50}}\n")
    assert_usage_error(*run(capsys, "sweep", str(tmp_path / "sw.yaml"), "--out", str(tmp_path / "out")), message)
    assert not (tmp_path / "out").exists()


def test_duplicate_key_in_a_sweep_file(capsys, tmp_path):
    (tmp_path / "sw.yaml").write_text("identcheck: 1\nsweep: {task: bench}\nsweep: {task: verify}\n")
    assert_usage_error(*run(capsys, "sweep", str(tmp_path / "sw.yaml"), "--out", str(tmp_path / "out")),
                       "duplicate key 'sweep'")
    assert not (tmp_path / "out").exists()


# 6. numbers and exponents beyond range ------------------------------------------------------------------------

def test_integer_beyond_float_range_in_a_table(capsys, tmp_path):
    (tmp_path / "s.yaml").write_text(SPEC + "parameters: {lam: [0, 1, 2, 3, " + "9" * 400 + "]}\n")
    assert_usage_error(*run(capsys, "check", str(tmp_path / "s.yaml")), "parameters.lam[4]", "floating-point")


def test_integer_beyond_float_range_in_environments(capsys, tmp_path):
    (tmp_path / "s.yaml").write_text(SPEC.replace("[0, 1, 2, 3, 4]", "[0, 1, 2, 3, " + "7" * 400 + "]"))
    assert_usage_error(*run(capsys, "check", str(tmp_path / "s.yaml")), "environments.values[4]")


def test_absurd_exponent_in_a_mechanism(capsys, tmp_path):
    (tmp_path / "s.yaml").write_text(SPEC.replace('"u*z1"', '"(u+z1)**100000"'))
    assert_usage_error(*run(capsys, "check", str(tmp_path / "s.yaml")), "mechanisms.z2", "100000")


def test_moderate_exponent_is_still_accepted():
    scm = from_text(SPEC.replace('"u*z1"', '"u*z1**3"'))
    assert scm.parents("z2") == ("z1",)


# 7. duplicate YAML keys ----------------------------------------------------------------------------------------

def test_duplicate_top_level_key(capsys, tmp_path):
    (tmp_path / "s.yaml").write_text(SPEC + 'mechanisms: {z2: "u"}\n')
    assert_usage_error(*run(capsys, "check", str(tmp_path / "s.yaml")), "duplicate key 'mechanisms'")


def test_duplicate_nested_key():
    with pytest.raises(SpecError, match="duplicate key 'z1'"):
        from_text(SPEC.replace('z2: {mean: "cos(u)"', 'z1: {mean: "cos(u)"'))


# 8. keywords as names --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["lambda", "if"])
def test_keyword_latent_name(capsys, tmp_path, name):
    (tmp_path / "s.yaml").write_text(SPEC.replace("latents: [z1, z2]", f"latents: [z1, {name}]"))
    assert_usage_error(*run(capsys, "check", str(tmp_path / "s.yaml")), "latents[1]", "keyword")


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "not a url"])
def test_unreachable_dask_scheduler_is_a_usage_error_with_no_folder_left(tmp_path, monkeypatch, address):
    """An address with no scheduler behind it is the user's input: an IdentcheckError (exit 2), not exit 3
    after a timeout, and the output folder the sweep would have made is not left behind empty. 'not a url'
    raised distributed's ValueError (exit 3) and left the folder (found in a review, stop 43)."""
    pytest.importorskip("dask.distributed")
    import identcheck.sweep as sweep_module

    monkeypatch.setattr(sweep_module, "CONNECT_TIMEOUT_S", 1)
    plan = tmp_path / "sweep.yaml"
    plan.write_text("identcheck: 1\nsweep:\n  task: verify\n  specs: [examples/C1]\n  seeds: [0]\n"
                    "  methods: [ivae]\n  budget: {epochs: 1, samples_per_env: 20}\n")
    with pytest.raises(identcheck.IdentcheckError, match="cannot reach the dask scheduler"):
        sweep_module.sweep(plan, tmp_path / "out", backend="dask", address=address)
    assert not (tmp_path / "out").exists()


def test_mechanism_overflowing_in_an_observed_environment_does_not_crash_the_caveat():
    """exp(800*u)*z1 overflows float64 for u >= 1 (a defined model: 50-digit mpmath evaluates it): the
    linear-Gaussian caveat has no finite Gaussian model there and steps aside. (log(u)*z1 at u = 0, which
    raised numpy's LinAlgError here, is now a spec error: see test_support_probes.py.)"""
    text = ("identcheck: 1\nlatents: [z1, z2]\nenvironments: {values: [0, 1, 2, 3, 4]}\nnoise:\n  family: gaussian\n"
            "  params:\n    z1: {mean: 'sin(u)', std: 'exp(0.5*cos(u))'}\n"
            "    z2: {mean: 'cos(1.3*u)', std: 'exp(0.4*sin(2*u))'}\nmechanisms: {z2: 'exp(800*u)*z1'}\n")
    report = identcheck.check(from_text(text)).to_dict()
    assert "caveats" not in report and report["nodes"]["z1"]["verdict"] == "identifiable"


def test_out_through_a_symbolic_link_keeps_the_link(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "link.npz").symlink_to(tmp_path / "data" / "real.npz")
    result = cli("simulate", "--example", "C1", "--samples-per-env", "20", "--out", "link.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "link.npz").is_symlink()  # before: replaced by a regular file
    assert np.load(tmp_path / "data" / "real.npz")["x"].shape == (100, 2)


def test_out_to_stdout_writes_only_the_data_there(tmp_path):
    result = subprocess.run([sys.executable, "-m", "identcheck", "simulate", "--example", "C1",
                             "--samples-per-env", "20", "--out", "/dev/stdout"], capture_output=True, cwd=tmp_path,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"PK") and b"wrote" not in result.stdout  # the npz alone, no summary after it
    (tmp_path / "copy.npz").write_bytes(result.stdout)
    assert np.load(tmp_path / "copy.npz")["x"].shape == (100, 2)
    assert b"wrote /dev/stdout" in result.stderr


def test_out_to_stdout_whose_reader_goes_away_stops_quietly():
    """--out /dev/stdout into a closed pipe: the mid-command broken-pipe exit (1), no error message (before:
    "cannot write /dev/stdout: Broken pipe", exit 2, as if the input were bad)."""
    code, err = closed_reader("simulate", "--example", "C1", "--samples-per-env", "20000", "--out", "/dev/stdout")
    assert code == 1, err
    assert err == ""


def test_verify_refuses_a_held_out_split_too_small_to_compare(capsys):
    code, out, err = run(capsys, "verify", "--example", "C1", "--samples-per-env", "2", "--epochs", "1")
    assert_usage_error(code, out, err, "holds out 2 row(s) over 5 environments", "samples_per_env >= 10")


def test_sweep_refuses_a_budget_too_small_to_compare_before_any_run(capsys, tmp_path):
    (tmp_path / "s.yaml").write_text("identcheck: 1\nsweep: {task: bench, specs: [examples/C1], seeds: [0], "
                                     "methods: [ivae], budget: {epochs: 1, samples_per_env: 9}}\n")
    code, out, err = run(capsys, "sweep", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"))
    assert_usage_error(code, out, err, "sweep.budget.samples_per_env", "examples/C1")
    assert not (tmp_path / "out").exists()


# Found by an adversarial review of the command line (stop 43) ---------------------------------------------

def test_a_name_python_reads_as_another_is_refused(capsys, tmp_path):
    """ℓ is a valid YAML name that Python reads as l (NFKC): with both as latents, the edge ℓ -> z3 came out as
    l -> z3, a wrong graph with exit 1 and no warning."""
    spec = SPEC.replace("latents: [z1, z2]", "latents: [z1, ℓ]").replace("z2:", "ℓ:")
    (tmp_path / "s.yaml").write_text(spec, encoding="utf-8")
    assert_usage_error(*run(capsys, "check", str(tmp_path / "s.yaml")), "latents[1]", "read as 'l'")


def test_a_name_that_differs_from_its_reading_only_in_composition_is_spelt_out(capsys, tmp_path):
    """Found in a review: 'z' + 'e' + U+0301 (combining acute) was refused as "'zé' is read as 'zé'", two
    names that look the same; where only the composition differs, the message spells the code points."""
    spec = SPEC.replace("latents: [z1, z2]", "latents: [z1, ze\u0301]").replace("z2:", "ze\u0301:")
    (tmp_path / "s.yaml").write_text(spec, encoding="utf-8")
    assert_usage_error(*run(capsys, "check", str(tmp_path / "s.yaml")), "latents[1]",
                       "'ze\\u0301' is read as 'z\\xe9' in expressions")


@pytest.mark.parametrize("argv, words", [
    (["simulate", "--samples-per-env", str(10**22)], ["samples per environment need about", "GB"]),
    (["simulate", "--samples-per-env", str(2 * 10**8)], ["samples per environment need about", "GB"]),
    (["verify", "--epochs", str(10**23), "--samples-per-env", "50"], ["epochs", "beyond the largest"]),
    (["verify", "--samples-per-env", str(10**22)], ["samples per environment need about"])])
def test_requests_too_large_for_the_machine_fail_before_any_work(capsys, tmp_path, argv, words):
    """Each was an OverflowError (exit 3), or a process killed for memory after a minute at 24 GB; the
    memory a simulation needs is estimated first (identcheck.sizes). This suite assumes no machine has
    10**4 TB; 2e8 rows x 5 environments need about 112 GB."""
    out = ["--out", str(tmp_path / "d.npz")] if argv[0] == "simulate" else []
    assert_usage_error(*run(capsys, *argv, "--example", "C1", *out), *words)
    assert list(tmp_path.iterdir()) == []


def test_a_simulation_too_large_for_its_observed_dimensions_names_them(capsys, tmp_path):
    """Found in a review: `observed_dim: 10000000` (whose mixing weights alone need 2.4e6 GB) was refused as
    "5 environments x 10 samples per environment need about 6.71e+06 GB", so that fewer samples looked like
    the cure; the message names the observed dimensions too."""
    (tmp_path / "s.yaml").write_text(SPEC + "mixing: {kind: mlp, observed_dim: 10000000}\n")
    code, out, err = run(capsys, "simulate", str(tmp_path / "s.yaml"), "--samples-per-env", "10",
                         "--out", str(tmp_path / "d.npz"))
    assert_usage_error(code, out, err, "10000000 observed dimensions (mixing.observed_dim)", "GB")
    assert list(tmp_path.iterdir()) == [tmp_path / "s.yaml"]


@pytest.mark.parametrize("edit, key", [
    (lambda s: s.replace("environments: {values: [0, 1, 2, 3, 4]}", "environments: {segments: 1000000000}"),
     "environments.segments"),
    (lambda s: s + "mixing: {kind: mlp, layers: 10000000}\n", "mixing.layers")])
def test_absurd_sizes_in_a_spec_are_refused_when_it_is_read(capsys, tmp_path, edit, key):
    """A billion segments made `check` allocate 24 GB before anything else was checked; ten million mixing
    layers made `simulate` loop for minutes."""
    (tmp_path / "s.yaml").write_text(edit(SPEC))
    assert_usage_error(*run(capsys, "check", str(tmp_path / "s.yaml")), key, "this toolkit accepts")


@pytest.mark.parametrize("budget, key", [("{epochs: 1, samples_per_env: 1000000000000}", "samples_per_env"),
                                         ("{epochs: 100000000000000000000000}", "epochs")])
def test_sweep_budgets_beyond_the_limits_are_refused_before_any_run(capsys, tmp_path, budget, key):
    """Every run failed (exit 1) with an OverflowError or a MemoryError in results.csv."""
    (tmp_path / "s.yaml").write_text("identcheck: 1\nsweep: {task: bench, specs: [examples/C1], seeds: [0], "
                                     f"methods: [ivae], budget: {budget}}}\n")
    code, out, err = run(capsys, "sweep", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"))
    assert_usage_error(code, out, err, f"sweep.budget.{key}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("expression", ["+".join(["z1*u"] * 5000), "-" * 3000 + "z1*u", "z1" + "**1" * 3000],
                         ids=["a sum of 5000 terms", "3000 minus signs", "3000 powers"])
def test_an_expression_too_deep_for_pythons_parser_is_a_spec_error(capsys, tmp_path, expression):
    """A RecursionError (exit 3) or a message about memory and samples before; the message quotes the
    expression cut to its start and length."""
    (tmp_path / "s.yaml").write_text(SPEC.replace('"u*z1"', f'"{expression}"'))
    code, out, err = run(capsys, "check", str(tmp_path / "s.yaml"))
    assert_usage_error(code, out, err, "mechanisms.z2", "nested too deeply", "characters)")
    assert len(err) < 400


def test_a_long_sum_written_with_add_is_read(capsys, tmp_path):
    """The way out the message names: Add(...) of 5000 terms is one flat call."""
    (tmp_path / "s.yaml").write_text(SPEC.replace('"u*z1"', '"Add(' + ", ".join(["z1*u"] * 5000) + ')"'))
    assert run(capsys, "check", str(tmp_path / "s.yaml"), "--format", "json")[0] == 0


@pytest.mark.parametrize("option", ["--out", "--plot"])
def test_an_output_that_is_the_spec_itself_is_refused(capsys, tmp_path, option):
    """`simulate s.yaml --out s.yaml` replaced the spec with the data (exit 0), and `verify s.svg --plot s.svg`
    with the plot."""
    spec = tmp_path / ("s.svg" if option == "--plot" else "s.yaml")
    spec.write_text(SPEC)
    command = ["verify", "--quick"] if option == "--plot" else ["simulate"]
    assert_usage_error(*run(capsys, *command, str(spec), option, str(spec)), "is the spec file itself")
    assert spec.read_text() == SPEC


def test_an_output_that_is_the_examples_own_file_is_refused():
    """Found in a review (stop 44): the "--out is the spec" guard compared --out with SPEC only, so
    `simulate --example C1 --out <the package's C1.yaml>` replaced the installed example (only the later
    .npz-suffix check stops it now). Pins that the guard names the built-in example's file; it is called
    directly, so that nothing is written into the package even where the guard is broken."""
    from argparse import Namespace

    from identcheck.cli import UsageError
    from identcheck.cli.common import not_the_spec
    from identcheck.examples import example_path

    args = Namespace(spec=None, example="C1")
    with pytest.raises(UsageError, match="--out .*C1.yaml is the built-in example C1's file"):
        not_the_spec(args, str(example_path("C1")), "--out")
    not_the_spec(args, str(example_path("C2")), "--out")  # another example's file is not this spec
    not_the_spec(Namespace(spec=None, example="C99"), str(example_path("C1")), "--out")  # unknown: load says so


@pytest.mark.parametrize("name, refused", [("data.csv", True), ("data.npz.json", True), ("data.NPZ", False),
                                           ("data", False)])
def test_simulate_refuses_an_out_that_names_another_format(capsys, tmp_path, name, refused):
    """`--out x.csv` wrote an .npz archive under a .csv name (exit 0); a name without a suffix (a FIFO,
    /dev/stdout, a name of one's own) is still written."""
    (tmp_path / "s.yaml").write_text(SPEC)
    result = run(capsys, "simulate", str(tmp_path / "s.yaml"), "--samples-per-env", "5", "--out",
                 str(tmp_path / name))
    if refused:
        assert_usage_error(*result, "simulate writes a NumPy .npz archive")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
    else:
        assert result[0] == 0 and np.load(tmp_path / name)["x"].shape[0] > 0


def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path):
    """`timeout`, a batch scheduler or `docker stop` send SIGTERM: the command stops with 128 + 15, and the
    temporary file of an unfinished write is removed (it was left beside the target, 648 MB in the review:
    a signal's default action skips every `finally`). The kill comes once the temporary file exists, or at
    the end of the first 60 s."""
    import signal
    import time

    (tmp_path / "s.yaml").write_text(SPEC)
    process = subprocess.Popen([sys.executable, "-m", "identcheck", "simulate", str(tmp_path / "s.yaml"),
                                "--samples-per-env", "2000000", "--out", str(tmp_path / "d.npz")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".identcheck-*")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "simulate finished before its write could be interrupted"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM and "stopped by SIGTERM" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_a_latent_named_like_a_function_it_calls_is_named_in_the_error(capsys, tmp_path):
    """A latent named tanh makes tanh(z1) a call of a symbol: "'Symbol' object is not callable" before."""
    spec = SPEC.replace("latents: [z1, z2]", "latents: [z1, tanh]").replace("z2:", "tanh:")
    (tmp_path / "s.yaml").write_text(spec.replace('"u*z1"', '"u*tanh(z1)"'))
    assert_usage_error(*run(capsys, "check", str(tmp_path / "s.yaml")), "'tanh' is called as a function")


def test_a_power_too_large_to_expand_is_checked_unexpanded(capsys, tmp_path):
    """(z1 + u + 1)**999*(z1 - u)**999: the check expanded it (half a million terms per factor) and did not end
    in minutes. It is read as one unexpanded term now: d = 999(z1 - u)**998 (z1 + u + 1)**998 (2 z1 + 1) is
    never identically 0, so the edge fails."""
    (tmp_path / "s.yaml").write_text(SPEC.replace('"u*z1"', '"(z1 + u + 1)**999*(z1 - u)**999"'))
    code, out, _ = run(capsys, "check", str(tmp_path / "s.yaml"), "--format", "json")
    assert code == 1 and json.loads(out)["nodes"]["z2"]["verdict"] == "unidentifiable"


@pytest.mark.parametrize("depth, accepted", [(4, True), (5, False)])
def test_exponentials_nested_too_deep_to_evaluate_are_a_spec_error(capsys, tmp_path, depth, accepted):
    """exp applied five times: reading the spec evaluated it at 50 digits where float64 overflows, and did not
    end (60 nested exps ran for over five minutes)."""
    nested = "z1"
    for _ in range(depth):
        nested = f"exp({nested})"
    (tmp_path / "s.yaml").write_text(SPEC.replace('"u*z1"', f'"u*{nested}"'))
    code, out, err = run(capsys, "check", str(tmp_path / "s.yaml"))
    if accepted:
        assert code in (0, 1) and err == ""
    else:
        assert_usage_error(code, out, err, "mechanisms.z2", "nests exponentials 5 deep")


def test_a_results_file_the_sweep_did_not_write_is_not_replaced(capsys, tmp_path):
    """A results.csv without a 'run' column (someone else's table) was silently replaced and its rows lost."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.csv").write_text("a,b\n1,2\n")
    (tmp_path / "s.yaml").write_text("identcheck: 1\nsweep: {task: bench, specs: [examples/C1], seeds: [0], "
                                     "methods: [ivae], budget: {epochs: 1, samples_per_env: 50}}\n")
    code, out, err = run(capsys, "sweep", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"))
    assert_usage_error(code, out, err, "is not a sweep's results.csv")
    assert (tmp_path / "out" / "results.csv").read_text() == "a,b\n1,2\n"
