"""A spec expression is a formula, never Python that runs (identcheck/spec/formula.py).

sympy's `parse_expr` evaluates its text as Python. Until stop 39 a spec could therefore run code
(``exec("...")``, ``open(...)``), hang the loader (``9**9**9``), or be read as another formula than the one
written: a symbol is a true object, so ``z1 if u else 0`` was z1, ``z1 or u`` z1, and ``u == 1`` inside a
Piecewise condition False.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import sympy as sp
import yaml

from identcheck import SpecError, from_dict
from identcheck.spec import parse_expression

SYMBOLS = {"u": sp.Symbol("u", real=True), "z1": sp.Symbol("z1", real=True)}


def parse(text: str) -> sp.Expr:
    return parse_expression(text, SYMBOLS, source="s.yaml", key="mechanisms.z2")


@pytest.mark.parametrize("text, problem", [
    ("z1 if u else 0", "a conditional 'a if c else b' (write Piecewise((a, c), (b, True)))"),
    ("z1 or u", "'and' / 'or'"),
    ("not z1", "'not' (write Not(...))"),
    ("(z1, u)[1]", "indexing"),
    ("z1.diff(u)", "attribute access"),
    ("[z1][0]", "indexing"),
    ("z1 in u", "'is' / 'in'"),
    ("Piecewise((z1, u == 1), (0, True))", "'==' / '!=', which compare expressions as Python objects"),
    ("exec('1')", "a call of 'exec', which is not one of sympy's mathematical functions"),
    ("hash(z1)*u", "a call of 'hash'"),
    ("Function('f')(z1)", "a call of 'Function'"),
    ("Rational('1/3')*u", "the constant '1/3'"),
    ("fibonacci(z1)*u", "a call of 'fibonacci'"),
    ("u*9**9**9", "the power 3.8742e+08; exponents are limited to |p| <= 1000"),
    ("u*z1**1001", "the power 1001"),
    ("factorial(10**6)*u", "factorial of 1e+06; it takes numbers up to 1000 only"),
    ("u*z1!", "invalid syntax"),
    ("", "it is empty"),
])
def test_python_that_is_not_a_formula_is_refused_before_it_runs(text, problem):
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        parse(text)
    assert info.value.key == "mechanisms.z2"
    assert info.value.problem.startswith(f"cannot parse expression {text!r}")
    assert problem in info.value.problem
    assert time.perf_counter() - start < 5  # 9**9**9 and 10**6! would take minutes to evaluate exactly


@pytest.mark.parametrize("text, expected", [
    ("Piecewise((z1, (u > 1) & (u <= 2)), (0, True))",
     "Piecewise((z1, (u <= 2) & (u > 1)), (0, True))"),
    ("Piecewise((z1, Eq(u, 1)), (0, True))", "Piecewise((z1, Eq(u, 1)), (0, True))"),
    ("Max(z1, u, evaluate=False)*sqrt(2)", "sqrt(2)*Max(u, z1)"),
    ("u*z1^2 + abs(z1) + Rational(1, 3)", "u*z1**2 + Abs(z1) + 1/3"),
    ("factorial(5)*u*z1 + gamma(z1 + 4)*u", "120*u*z1 + u*gamma(z1 + 4)"),
    ("u*besselj(0, z1) + LambertW(exp(z1))", "u*besselj(0, z1) + LambertW(exp(z1))"),
])
def test_formulas_parse_as_written(text, expected):
    assert str(parse(text)) == expected


def test_the_callable_functions_are_mathematics():
    from identcheck.spec.formula import CALLABLE

    assert {"exp", "tanh", "Piecewise", "Max", "erf", "besselj", "factorial", "And", "sqrt"} <= CALLABLE
    assert not {"exec", "eval", "open", "print", "Function", "sympify", "Symbol", "S", "fibonacci"} & CALLABLE


def test_a_spec_cannot_run_code(tmp_path):
    """Before stop 39 this spec created the file and `identcheck check` went on to report on z2 = u*z1."""
    target = tmp_path / "written_by_the_spec"
    spec = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": [0, 1, 2, 3, 4]},
            "noise": {"family": "gaussian", "params": {"z1": {"mean": "u", "std": 1},
                                                       "z2": {"mean": "2*u", "std": "exp(u)"}}},
            "mechanisms": {"z2": f"open({str(target)!r}, 'w') and 0 or u*z1"}}
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump(spec))
    result = subprocess.run([sys.executable, "-m", "identcheck", "check", str(tmp_path / "evil.yaml")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("identcheck: error: ") and "mechanisms.z2: cannot parse expression" in result.stderr
    assert not target.exists()


def test_numbers_and_symbols_still_load():
    scm = from_dict({"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": [0, 1, 2, 3, 4]},
                     "noise": {"family": "gaussian", "params": {"z1": {"mean": "u", "std": 1},
                                                                "z2": {"mean": 0.5, "std": "exp(u/2)"}}},
                     "mechanisms": {"z2": "(u - 2)*tanh(z1)"}})
    assert scm.parents("z2") == ("z1",)
