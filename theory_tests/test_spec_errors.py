"""Bad input through the command line (CONTRACT §1-2): every class of spec error is one stderr line naming
the file, the key and the problem, exit 2, nothing on stdout, never a traceback."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from identcheck.examples import example_path

BASE_TEXT = example_path("C1").read_text()
BASE = yaml.safe_load(BASE_TEXT)


def changed(edit) -> str:
    data = copy.deepcopy(BASE)
    edit(data)
    return yaml.safe_dump(data, sort_keys=False)


CASES = {
    # class: (spec text, key named in the message (None: no key for this class), words of the problem)
    "yaml syntax error": (BASE_TEXT.replace("latents: [z1, z2]", "latents: [z1, z2"), None, "YAML syntax error"),
    "missing key": (changed(lambda d: d.pop("noise")), "noise", "missing required key"),
    "unknown key": (changed(lambda d: d.update(mechanism={"z2": "u*z1"})), "mechanism", "unknown key"),
    "unknown symbol": (changed(lambda d: d["mechanisms"].update(z2="u*z9")), "mechanisms.z2", "unknown symbol 'z9'"),
    "cycle": (changed(lambda d: d["mechanisms"].update(z1="z2")), "mechanisms", "cycle"),
    "wrong table length": (changed(lambda d: d.update(parameters={"lam": [1, 2, 3]})), "parameters.lam",
                           "expected 5 values"),
    "std <= 0": (changed(lambda d: d["noise"]["params"]["z1"].update(std="u - 2")), "noise.params.z1.std",
                 "std must be > 0"),
    "non-invertible post-nonlinearity": (changed(lambda d: d.update(post_nonlinear={"z2": "t**2"})),
                                         "post_nonlinear.z2", "not invertible"),
    "comparison times a number": (changed(lambda d: d["mechanisms"].update(z2="(u*z1 > 0)*u")), "mechanisms.z2",
                                  "a comparison is a truth value, not a number: write Heaviside(a - b)"),
    "equation times a latent": (changed(lambda d: d["mechanisms"].update(z2="Eq(u, 1)*z1")), "mechanisms.z2",
                                "a comparison is a truth value"),
    "a comparison alone": (changed(lambda d: d["mechanisms"].update(z2="u > z1")), "mechanisms.z2",
                           "not an arithmetic expression (a comparison is a truth value"),
    "name of two lines": (changed(lambda d: d.update(name="chain\nwith a break")), "name",
                          "expected one line of printable text"),
    "duplicate latents": (changed(lambda d: d.update(latents=["z1", "z1"])), "latents[1]", "duplicate latent"),
    "YAML 1.1 exponent without a dot": (BASE_TEXT.replace("values: [0, 1, 2, 3, 4]", "values: [0, 1e-3, 2, 3, 4]"),
                                        "environments.values[1]", "write 1.0e-3"),
    "YAML 1.1 exponent without a sign": (BASE_TEXT.replace("values: [0, 1, 2, 3, 4]", "values: [0, 1, 2, 3, 4.0e0]"),
                                         "environments.values[4]", "write 4.0e+0"),
    "unparsable expression": (changed(lambda d: d["mechanisms"].update(z2="u*(z1")), "mechanisms.z2",
                              "cannot parse"),
    "empty file": ("", None, "empty"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_spec_is_one_line_naming_file_key_and_problem(tmp_path, case):
    text, key, problem = CASES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    out = subprocess.run([sys.executable, "-m", "identcheck", "check", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert str(path) in lines[0] and problem in lines[0]
    if key is not None:
        assert f": {key}: " in lines[0]


@pytest.mark.parametrize("written, hint", [
    ("1.0e3", "YAML 1.1 reads 1.0e3 as text: write 1.0e+3, with a dot and a signed exponent"),
    ("1e3", "write 1.0e+3"),
    ("'0.5'", "text, not a number: write it without quotes"),
])
def test_a_number_yaml_reads_as_text_gets_a_hint_true_to_what_was_written(written, hint):
    """Found in a review (stop 44): an unquoted 1.0e3 (YAML 1.1 needs a signed exponent) was refused with
    "(text, not a number: write it without quotes)", though it had no quotes. Pins the YAML 1.1 spelling as
    the hint, and the word "quotes" only for text YAML would have read as a number unquoted."""
    from identcheck import SpecError, from_text

    with pytest.raises(SpecError, match="observation_noise.scale: expected a finite number") as error:
        from_text(BASE_TEXT.replace("scale: 0.01", f"scale: {written}"))
    assert hint in str(error.value) and ("quotes" in str(error.value)) == written.startswith("'")


def test_a_bad_parameter_names_the_value_of_the_environment_it_names(tmp_path):
    """Found in a review: std "1 - u" over u = 0..4 was refused with "std must be > 0 (got -3) in environment
    1": -3 is the smallest value over all environments (u = 4), while environment 1 is the first bad one, where
    std is 0. The message names one environment and the value there."""
    path = tmp_path / "bad.yaml"
    path.write_text(changed(lambda d: d["noise"]["params"]["z2"].update(std="1 - u")))
    out = subprocess.run([sys.executable, "-m", "identcheck", "check", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert "noise.params.z2.std: std must be > 0 (got 0) in environment 1" in out.stderr, out.stderr


def test_a_refused_post_nonlinearity_is_quoted_as_written(tmp_path):
    """Found in a review: `t + 1e-300*t**2` (whose slope 1 + 2e-300 t changes sign at t = -5e299) was refused
    as "gbar(t) = t**2/1000...000 + t", the exact rational of 1e-300 spelt out in 301 digits; the message
    quotes the text as written, as the other expression errors do."""
    path = tmp_path / "bad.yaml"
    path.write_text(changed(lambda d: d.update(post_nonlinear={"z2": "t + 1e-300*t**2"})))
    out = subprocess.run([sys.executable, "-m", "identcheck", "check", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert "post_nonlinear.z2: gbar(t) = t + 1e-300*t**2 is not invertible" in out.stderr, out.stderr
    assert len(out.stderr) < 250
