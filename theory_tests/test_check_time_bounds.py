"""Ordinary-looking specs whose symbolic work took the checker unreasonably long, and how long they take now
(each test states the times measured on 2 cores before and after its fix; the bounds are generous)."""

from __future__ import annotations

import time

import sympy as sp

import identcheck
from identcheck import from_dict
from identcheck.check.linear_gaussian import _affine_parts, _gaussian_moments
from identcheck.check.zeros import separate

VECTOR_ENVS = [[0, 1], [1, 2], [2, 0], [3, 1], [4, 3]]


def vector_spec(mechanism: str) -> dict:
    return {"identcheck": 1, "name": "t", "latents": ["z1", "z2"], "environments": {"values": VECTOR_ENVS},
            "noise": {"family": "gaussian", "params": {"z1": {"mean": "sin(u1)", "std": "exp(0.3*cos(u2))"},
                                                        "z2": {"mean": "cos(u1 + u2)", "std": "exp(0.2*sin(u1))"}}},
            "mechanisms": {"z2": mechanism}}


def test_many_terms_of_one_factor_are_summed_once():
    """(u1 + u2 - 1)**60*z1 expands to 1891 terms, all of the factor z1: `separate` added them one by one
    (18 s, quadratic), and so did sympy's Poly in the linear Gaussian caveat's affinity test (22 s); 0.8 s
    and 0.2 s now."""
    u1, u2, z1 = sp.symbols("u1 u2 z1", real=True)
    start = time.perf_counter()
    split = separate((u1 + u2 - 1)**60 * z1, [z1])
    assert split is not None and split.factors == (z1,) and len(split.coefficients[0].args) == 1891
    assert time.perf_counter() - start < 8
    start = time.perf_counter()
    parts = _affine_parts(from_dict(vector_spec("(u1 + u2 - 1)**60*z1")))
    assert parts is not None
    assert time.perf_counter() - start < 8


def test_affine_parts_keep_the_spec_unexpanded():
    """The coefficients are read off the unexpanded mechanism: (u1 + u2 - 1)**80*z1 expanded is a sum of
    3321 terms, which Python could not compile when lambdified (RecursionError, a traceback after 129 s of
    `identcheck check`; 13.5 s and a report now)."""
    scm = from_dict(vector_spec("(u1 + u2 - 1)**80*z1 + (z1 + 1)**2 - z1**2"))
    parts = _affine_parts(scm)
    assert parts is not None
    (coefficients, intercepts), (u1, u2) = parts, scm.environments.symbols
    assert coefficients[2] == (u1 + u2 - 1)**80 + 2 and intercepts[1] == 1
    assert _gaussian_moments(scm, parts) is not None  # lambdified: compiles
    assert _affine_parts(from_dict(vector_spec("u1*z1**2"))) is None


def test_vector_environment_with_a_high_power_checks_in_seconds():
    """`identcheck check` on (u1 + u2 - 1)**40*z1: 11.2 s before, 3.0 s after (the rest is sympy's factor of
    the 861-term coefficient for the report's zero set, and expand)."""
    start = time.perf_counter()
    report = identcheck.check(from_dict(vector_spec("(u1 + u2 - 1)**40*z1")))
    assert time.perf_counter() - start < 15
    edge = report.to_dict()["assumptions"]["iv"]["edges"][0]
    assert edge["status"] == "holds" and edge["method"] == "symbolic" and edge["vanishes_at"] == [[0, 1]]
