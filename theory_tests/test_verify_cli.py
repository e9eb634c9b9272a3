"""`identcheck verify` on the command line (CONTRACT §4), run as a subprocess like a user would."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from identcheck import load_example

TINY = ["--samples-per-env", "60", "--epochs", "2"]


def identcheck(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "identcheck", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def test_json_output_follows_the_contract_and_the_exit_code_follows_consistency(tmp_path):
    """--format json prints one object with identcheck, check, mpc and per-node verdict/correlation/consistent;
    the exit code is 0 when every node with a prediction is consistent, 1 otherwise. The default method is
    auto, which fits C7 (d = ℓ = 3) with the exact likelihood and says so."""
    spec = tmp_path / "c7.yaml"
    spec.write_text(yaml.safe_dump(load_example("C7").spec))
    result = identcheck("verify", str(spec), *TINY, "--format", "json")
    data = json.loads(result.stdout)
    assert {"identcheck", "check", "mpc", "nodes"} <= set(data) and data["identcheck"] == 1
    assert all({"verdict", "correlation", "consistent"} <= set(n) for n in data["nodes"].values())
    assert data["method"] == "latent_mlp:ordered" and data["method_reason"].startswith("auto: d = ℓ = 3")
    assert result.returncode == (0 if data["consistent"] else 1)
    assert result.returncode == (0 if all(n["consistent"] is not False for n in data["nodes"].values()) else 1)


def test_example_text_markdown_and_plot(tmp_path):
    """--example NAME works like a spec file; text and markdown name every latent; --plot writes a PNG."""
    plot = tmp_path / "out.png"
    text = identcheck("verify", "--example", "C1", *TINY, "--plot", str(plot))
    assert text.returncode in (0, 1) and "z1" in text.stdout and "z2" in text.stdout
    assert plot.read_bytes()[:4] == b"\x89PNG"
    markdown = identcheck("verify", "--example", "C1", *TINY, "--format", "markdown", "--seeds", "2")
    assert markdown.stdout.startswith("# identcheck verify") and "| z2 |" in markdown.stdout


def test_jobs_train_the_restarts_in_processes_with_the_same_report():
    """--jobs 2 spreads each fit's restarts (two with --quick) over two processes: every restart seeds itself,
    so the per-node correlations are those of one process."""
    runs = [identcheck("verify", "--example", "C1", *TINY, "--quick", "--jobs", jobs, "--format", "json")
            for jobs in ("1", "2")]
    nodes = [{k: n["correlation"] for k, n in json.loads(r.stdout)["nodes"].items()} for r in runs]
    assert nodes[0] == nodes[1] and runs[0].returncode == runs[1].returncode


def test_no_guarantee_spec_exits_zero():
    """C15a fails (iii): no node has a prediction, so nothing can be inconsistent (exit 0). Found in a review:
    the text then read "result: consistent with the theory", as if the run had confirmed something; it says
    that nothing was tested."""
    result = identcheck("verify", "--example", "C15a", *TINY)
    assert result.returncode == 0
    assert "result: nothing to compare: no node has a prediction this run could test" in result.stdout


@pytest.mark.parametrize("args", [
    ["does_not_exist.yaml"],
    ["--example", "C1", "--epochs", "0"],
    ["--example", "C1", "--seeds", "-1"],
    ["--example", "C1", "--jobs", "0"],
    ["--example", "no_such_example"],
    ["--example", "C1", "--method", "no_such_learner"],
    ["--example", "C1", "--method", "latent_mlp:no_such_preset"],
    [],
])
def test_bad_input_is_one_line_on_stderr_and_exit_2(args, tmp_path):
    """Invalid input or usage: exit 2, exactly one line on stderr, nothing on stdout (CONTRACT §2)."""
    result = identcheck("verify", *args, *TINY, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("plot, problem", [("out.txt", "unknown image format 'txt'"), (".", "it is a folder"),
                                           ("missing/out.png", "no folder missing")])
def test_a_plot_path_that_cannot_be_written_fails_before_the_fit(plot, problem, tmp_path, monkeypatch, capsys):
    """--plot is checked before any fitting (it used to fail after the whole fit, as an internal error, exit
    3): one line, exit 2, and the fit never starts."""
    from identcheck.cli import main

    monkeypatch.chdir(tmp_path)
    module = sys.modules["identcheck.verify"]  # `identcheck.verify` itself is the function
    monkeypatch.setattr(module, "verify", lambda *a, **k: pytest.fail("the fit started"))
    assert main(["verify", "--example", "C1", *TINY, "--plot", plot]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and f"cannot write {plot}: {problem}" in err


def test_invalid_spec_names_the_file_and_key(tmp_path):
    """A broken spec is reported as one line naming the file and the key, exit 2."""
    spec = tmp_path / "bad.yaml"
    data = load_example("C1").spec
    data["noise"]["params"]["z1"]["std"] = -1
    spec.write_text(yaml.safe_dump(data))
    result = identcheck("verify", str(spec), *TINY)
    assert result.returncode == 2 and "bad.yaml" in result.stderr and "noise.params.z1" in result.stderr


def test_a_preset_learner_runs_and_a_spec_it_cannot_fit_is_named(tmp_path):
    """--method NAME:PRESET reaches the exact-likelihood learners (d = ℓ): C1 (d = ℓ = 2) runs with the
    slot-order search and reports its recoveries; with observed_dim 3 the flow cannot be inverted, which is
    one line on stderr and exit 2, and the --plot file is not written."""
    result = identcheck("verify", "--example", "C1", *TINY, "--method", "latent_mlp:ordered", "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    assert set(json.loads(result.stdout)["nodes"]) == {"z1", "z2"}
    data = load_example("C1").spec
    data["mixing"]["observed_dim"] = 3
    spec, plot = tmp_path / "d3.yaml", tmp_path / "out.png"
    spec.write_text(yaml.safe_dump(data))
    result = identcheck("verify", str(spec), *TINY, "--method", "latent_mlp:exact", "--plot", str(plot))
    assert result.returncode == 2 and result.stdout == "" and not plot.exists()
    assert "as many observed features as latents" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_default_learner_confirms_the_documented_chain():
    """README, Verify: `identcheck verify docs/specs/segments_chain.yaml --seed 0` (about 6 minutes on one
    core), whose default method auto fits latent_mlp:ordered here (d = ℓ = 3). When written: z1 0.997, z2
    0.998, z3 0.999, exit 0, against 0.597, 0.710, 0.872 (exit 1) for the ELBO learner (--method latent_mlp).
    We require exit 0 and 0.95 per node, a margin of 0.047."""
    spec = Path(__file__).resolve().parents[1] / "docs" / "specs" / "segments_chain.yaml"
    result = identcheck("verify", str(spec), "--seed", "0", "--format", "json", timeout=1800)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["method"] == "latent_mlp:ordered"
    assert all(node["correlation"] >= 0.95 for node in data["nodes"].values())
