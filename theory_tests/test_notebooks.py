"""The teaching notebooks run top to bottom as a reader would run them (code cells in order, one namespace), and
print what their prose says they print (each notebook's claims, checked on its variables)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def _tour(ns: dict) -> None:
    """Sections 1-4, the checker: C7's z3 unidentifiable (z2 -> z3 violates (iv)); the hand-written model's z2
    identifiable at u = 0.5 and its z3 unidentifiable (sin(z1)); C14's z2 identifiable up to an invertible
    map and C14b's not (Corollary 3.3); a kinked gbar accepted, a jump and a fold refused; (iii), (i) and (ii)
    failing (C15a, C16, C17) give no guarantee for every node. Section 6: C7's z3 is unidentifiable, and a
    miss of z1 or z2 carries the linear Gaussian caveat in its note, as the prose says; the nonlinear pair is
    recovered above the threshold 0.9, both latents (0.985 and 0.917 at the notebook's seed 0, quick budget:
    a margin of 0.017; seeds 1-4 of the same call give the weaker latent 0.938-0.976). Before stop 44's
    review the prose said nothing of the verify section's output, which called C7 inconsistent."""
    verdicts = {name: node.verdict for name, node in ns["report"].nodes.items()}
    assert verdicts == {"z1": "identifiable", "z2": "identifiable", "z3": "unidentifiable"}
    assert ns["report"].nodes["z3"].violating_parents == ("z2",)
    mine = {name: node.verdict for name, node in ns["my_report"].nodes.items()}
    assert mine == {"z1": "identifiable", "z2": "identifiable", "z3": "unidentifiable"}
    assert ns["my_report"].nodes["z2"].reference == (0.5,)
    c14, c14b = ns["pnl"]["C14"].nodes["z2"], ns["pnl"]["C14b"].nodes["z2"]
    assert (c14.verdict, c14.up_to, c14b.verdict) == ("identifiable", "invertible_componentwise", "unidentifiable")
    assert ns["gbar_verdicts"] == {"Max(t, 0.2*t)": "identifiable", "t + Heaviside(t)": "refused", "t**2": "refused"}
    assert ns["r"].assumptions["iii"].status == "fails"
    assert ns["failing"]["C16"].assumptions["i"].status == ns["failing"]["C17"].assumptions["ii"].status == "fails"
    for failed in (ns["r"], *ns["failing"].values()):
        assert {node.verdict for node in failed.nodes.values()} == {"no_guarantee"}
    result, pair = ns["result"], ns["pair_result"]
    assert result.nodes["z3"].verdict == "unidentifiable"
    assert all("learner_class_caveat" in node.note for node in result.nodes.values() if node.consistent is False)
    assert pair.consistent and min(node.correlation for node in pair.nodes.values()) >= pair.threshold


def _linear_gaussian(ns: dict) -> None:
    """The alternative's root is far from z1 ("well below 1"; 0.760); its excess kurtosis is within 0.05 of 0 in
    every environment of the linear model (at most 0.041) and large in the cubic one ("up to about 34"; 33.59).
    No training: seeded draws, the same numbers on every run. The checker's caveat is on C1 and not on the cubic
    variant, and section 4's list of the built-in examples that carry it is the one the notebook prints."""
    from scipy import stats

    assert ns["report"].caveats and not ns["identcheck"].check(ns["cubic"]).caveats
    assert ns["carrying"] == ["C1", "C5", "C12a", "C13", "C13b_vector", "C15f"]

    data, z_alt, cubic_data, cubic_alt = ns["data"], ns["z_alt"], ns["cubic_data"], ns["cubic_alt"]
    assert abs(np.corrcoef(z_alt[:, 0], data.z[:, 0])[0, 1]) < 0.9
    linear = [stats.kurtosis(z_alt[data.u == e, 0]) for e in range(data.n_envs)]
    cubic = [stats.kurtosis(cubic_alt[cubic_data.u == e, 0]) for e in range(cubic_data.n_envs)]
    assert max(abs(k) for k in linear) <= 0.05 and 30 <= max(cubic) <= 40


def _learner(ns: dict) -> None:
    """z1 and z3 "come back in every fit, with a high correlation and a parents' share near 0": at least 0.9 and
    at most verify's margin 0.1. Measured (three seeded fits, stop 44): correlations 0.942-0.967, shares
    0.000-0.048 (margins 0.042 and 0.052). The witness n2's share is "just above 0.1" (0.109; a property of the
    seeded data, no fit), and it is z2's only: n1 and n3 carry none of their parents (0.000 and 0.005)."""
    assert 0.1 < ns["witness"]["z2"] < 0.15 and ns["witness"]["z1"] == 0 and ns["witness"]["z3"] < 0.05
    for label, nodes in ns["results"].items():
        if label.startswith("latent_mlp"):
            for name in ("z1", "z3"):
                correlation, share = nodes[name]
                assert correlation >= 0.9 and share <= 0.1, (label, name, correlation, share)


#: What each notebook's prose claims of its printed output, checked on the notebook's own variables.
CLAIMS = {"01_tour.ipynb": _tour, "02_linear_gaussian.ipynb": _linear_gaussian, "03_learner.ipynb": _learner}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom_and_prints_what_its_prose_says(path, capsys):
    matplotlib.use("Agg")
    cells = json.loads(path.read_text())["cells"]
    namespace: dict = {"__name__": "__main__"}
    for k, cell in enumerate(c for c in cells if c["cell_type"] == "code"):
        exec(compile("".join(cell["source"]), f"{path.name}[{k}]", "exec"), namespace)
    assert capsys.readouterr().out  # every notebook prints what it teaches
    CLAIMS[path.name](namespace)


def test_every_notebook_has_its_claims_checked():
    assert sorted(CLAIMS) == [path.name for path in NOTEBOOKS]


def test_there_is_a_notebook():
    assert NOTEBOOKS
