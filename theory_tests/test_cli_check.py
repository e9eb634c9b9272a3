"""`identcheck check` and `identcheck examples` (CONTRACT §2): output formats and exit codes
(0 every latent identifiable, 1 valid spec but some latent is not, 2 bad input or usage: one stderr line,
nothing on stdout)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from identcheck import example_names
from identcheck.cli import SUBCOMMANDS, main
from identcheck.examples import example_description, example_path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_fully_identifiable_spec_exits_0(capsys):
    code, out, err = run(capsys, "check", str(example_path("C1")))
    assert code == 0 and err == ""
    assert "z2: identifiable up to scale and offset" in out


def test_valid_spec_with_an_unidentifiable_latent_exits_1(capsys):
    code, out, err = run(capsys, "check", "--example", "C2")
    assert code == 1 and err == "" and "z2: NOT identifiable" in out


def test_no_guarantee_is_not_identifiable_so_exits_1(capsys):
    assert run(capsys, "check", "--example", "C15a")[0] == 1


def test_json_format_prints_exactly_one_object(capsys):
    code, out, _ = run(capsys, "check", "--example", "C13", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["name"] == "C13" and report["fully_identifiable"] is True


def test_markdown_format_prints_tables(capsys):
    code, out, _ = run(capsys, "check", "--example", "C4", "--format", "markdown")
    assert code == 1 and out.startswith("# identcheck report: C4") and "| z2 | unidentifiable |" in out


@pytest.mark.parametrize("argv", [
    ["check"],                                               # neither SPEC nor --example
    ["check", "spec.yaml", "--example", "C1"],               # both
    ["check", "--example", "C1", "--format", "xml"],         # bad choice
    ["check", "--example", "C99"],                           # unknown example
    ["check", "does-not-exist.yaml"],                        # missing file
    ["frobnicate"],                                          # unknown command
    [],                                                      # no command
])
def test_usage_errors_give_one_stderr_line_and_exit_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("identcheck: error: ")


def test_missing_file_error_names_the_file(capsys):
    _, _, err = run(capsys, "check", "does-not-exist.yaml")
    assert "does-not-exist.yaml" in err and "not found" in err


def test_a_file_name_the_system_refuses_is_one_line(capsys):
    """A name longer than the file system allows raised OSError (exit 3, an internal error); now it is the
    file's error, exit 2."""
    code, out, err = run(capsys, "check", "x" * 300 + ".yaml")
    assert code == 2 and out == "" and err.count("\n") == 1 and "cannot read the file (OSError)" in err


def test_a_bug_is_one_line_with_exit_3_and_its_traceback_on_request(capsys, monkeypatch):
    """An unexpected exception says 'internal error' in one line, exit 3; IDENTCHECK_DEBUG=1 re-raises it.
    Running out of memory is the request's size, not a bug: one line, exit 2."""
    import identcheck.cli.check as command

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(command, "run", broken)
    code, out, err = run(capsys, "check", "--example", "C1")
    assert code == 3 and out == "" and err.count("\n") == 1
    assert err.startswith("identcheck: internal error (please report;") and "ZeroDivisionError: a bug" in err
    monkeypatch.setenv("IDENTCHECK_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["check", "--example", "C1"])
    monkeypatch.delenv("IDENTCHECK_DEBUG")

    def too_big(args):
        raise MemoryError("Unable to allocate 74.5 GiB for an array with shape (5000000000, 2)")

    monkeypatch.setattr(command, "run", too_big)
    code, out, err = run(capsys, "check", "--example", "C1")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "not enough memory for this request (Unable to allocate 74.5 GiB" in err


def test_a_warning_is_one_line_and_keeps_the_exit_code(capsys, monkeypatch):
    """A warning raised while a command runs (a restart that failed beside one that did not) is one stderr
    line without the code that raised it, and the command's own exit code stands."""
    import warnings

    import identcheck.cli.check as command
    from identcheck import IdentcheckWarning

    def warning_twice(args):
        for k in range(2):
            warnings.warn(f"1 of 2 restarts failed\nand restart {k} is kept", IdentcheckWarning)
        return 1

    monkeypatch.setattr(command, "run", warning_twice)
    code, out, err = run(capsys, "check", "--example", "C1")
    assert code == 1 and out == ""
    assert err == ("identcheck: warning: 1 of 2 restarts failed and restart 0 is kept\n"
                   "identcheck: warning: 1 of 2 restarts failed and restart 1 is kept\n")


def test_a_terminal_that_cannot_encode_the_report_gets_escapes_not_an_internal_error():
    """Under LC_ALL=C with PYTHONUTF8=0 stdout is ASCII, and printing "ℓ" ended `check` with exit 3 (internal
    error, UnicodeEncodeError; found in a review, stop 44). Such characters are now backslash escapes, which
    in the JSON report are JSON's own escapes: the output still parses."""
    import os

    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}
    for fmt in ("text", "json"):
        result = subprocess.run([sys.executable, "-m", "identcheck", "check", "--example", "C1", "--format", fmt],
                                capture_output=True, env=env, timeout=120)
        assert result.returncode == 0 and result.stderr == b"", result.stderr
        assert b"\\u2113" in result.stdout
    assert "2ℓ+1" in json.loads(result.stdout)["assumptions"]["iii"]["reason"]


def test_a_spec_file_is_read_as_utf8_whatever_the_locale(tmp_path):
    """A spec with a non-ASCII comment was read in the locale's encoding: under LC_ALL=C `check` refused it,
    "cannot read the file (UnicodeDecodeError)" (found in a review, stop 44)."""
    import os

    path = tmp_path / "c1.yaml"
    path.write_text("# ℓ = 2 latents, café\n" + example_path("C1").read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}
    result = subprocess.run([sys.executable, "-m", "identcheck", "check", str(path), "--format", "json"],
                            capture_output=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr


def test_examples_lists_every_builtin_example_with_its_description(capsys):
    code, out, _ = run(capsys, "examples")
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(example_names())
    for name, line in zip(example_names(), lines):
        assert line.split()[0] == name and line.endswith(example_description(name))


def test_help_exits_0_and_lists_the_subcommands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and all(name in out for name in ("check", "examples"))
    assert "check" in SUBCOMMANDS


def test_python_dash_m_identcheck_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "identcheck", "check", "--example", "C8", "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr == ""
    assert json.loads(out.stdout)["nodes"]["z3"]["verdict"] == "identifiable"


DOC_SPECS = {  # docs/specs: the user-written specs the README's verify section runs
    "segments_pair.yaml": {"z1": "identifiable", "z2": "identifiable"},
    "segments_chain.yaml": {"z1": "identifiable", "z2": "identifiable", "z3": "identifiable"},
    "segments_partial.yaml": {"z1": "identifiable", "z2": "unidentifiable", "z3": "identifiable"},
}


@pytest.mark.parametrize("name, verdicts", sorted(DOC_SPECS.items()))
def test_documented_specs_check_as_their_descriptions_say(capsys, name, verdicts):
    path = Path(__file__).resolve().parents[1] / "docs" / "specs" / name
    code, out, _ = run(capsys, "check", str(path), "--format", "json")
    report = json.loads(out)
    assert {node: entry["verdict"] for node, entry in report["nodes"].items()} == verdicts
    assert code == (0 if set(verdicts.values()) == {"identifiable"} else 1)


def test_observation_noise_without_a_family_is_gaussian_as_the_contract_defaults_it(capsys, tmp_path):
    """CONTRACT §1: observation_noise defaults to {family: gaussian, scale: 0.01}, and a block that gives only
    the family gets scale 0.01; one that gave only the scale was refused ("observation_noise.family: missing
    required key", exit 2) instead of getting the default family."""
    spec = yaml.safe_load(example_path("C1").read_text(encoding="utf-8"))
    path = tmp_path / "scale_only.yaml"
    path.write_text(yaml.safe_dump({**spec, "observation_noise": {"scale": 0.5}}), encoding="utf-8")
    code, out, err = run(capsys, "check", str(path), "--format", "json")
    assert code == 0 and err == "", err
    noise = json.loads(out)["assumptions"]["i"]
    assert noise["family"] == "gaussian" and "scale 0.5" in noise["reason"]


@pytest.mark.parametrize("gbar", ["sign(t)*t**2", "sign(t - 1)*(t - 1)**2"])
def test_an_invertible_post_nonlinearity_written_with_sign_is_accepted(capsys, tmp_path, gbar):
    """CONTRACT §1 refuses a non-invertible post-nonlinearity. sign(t)*t**2 is t*Abs(t), strictly increasing
    with derivative 2|t|, and t*Abs(t) was accepted; but sympy's derivative of the sign form holds
    2*t**2*DiracDelta(t), NaN at t = 0, so the spec was refused (exit 2, "not differentiable on the whole real
    line"). The two spellings now give the same report."""
    spec = yaml.safe_load(example_path("C14").read_text(encoding="utf-8"))
    reports = []
    for name, text in (("sign", gbar), ("abs", gbar.replace("sign(", "Abs(").replace("**2", ""))):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({**spec, "name": "pnl", "post_nonlinear": {"z2": text}}), encoding="utf-8")
        code, out, err = run(capsys, "check", str(path), "--format", "json")
        assert code == 0 and err == "", err
        reports.append(json.loads(out)["nodes"])
    assert reports[0] == reports[1] and reports[0]["z2"]["up_to"] == "invertible_componentwise"


@pytest.mark.parametrize("argv", [["check", ""], ["simulate", "", "--out", "x.npz"], ["verify", ""],
                                  ["sweep", "", "--out", "out"]])
def test_an_empty_spec_or_sweep_path_is_named_as_given(capsys, argv):
    """CONTRACT §1-2: a bad input is one line naming the file. An empty SPEC (or SWEEP) was read as the folder
    '.', and the error named '.' ("cannot read the file (IsADirectoryError)"); it is now a usage error."""
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "expected a non-empty path" in err and "IsADirectoryError" not in err


def test_the_contracts_own_example_spec_checks(capsys, tmp_path):
    """The spec of CONTRACT §1, as written there, is a valid spec: `check` exits 0 (every latent identifiable,
    z3 up to its post-nonlinear map), with one warning line for its observed u = 6 outside domain [-5, 5].
    It was refused with exit 2 until stop 45."""
    contract = Path(__file__).resolve().parents[1] / "docs" / "reference" / "CONTRACT.md"
    block = contract.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "chain.yaml"
    path.write_text(block, encoding="utf-8")
    code, out, err = run(capsys, "check", str(path), "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["fully_identifiable"] is True
    assert err.count("\n") == 1 and "warning" in err and "observed value 6 lies outside the declared domain" in err
