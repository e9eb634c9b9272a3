"""Learner properties on generated models (Theorem 2.1, Theorem 2.5), through `identcheck.verify`.

Few examples, the default budget of `verify` (2000 rows per environment, 300 epochs, hidden width 64 (with
width 32 a root fell to 0.77), best of three restarts), 20 one-hot segments (the learner needs many more than the 2ℓ+1 environments
of the theory), fixed seeds, always derandomised examples whatever the Hypothesis profile, and no
shrinking (each example is a training run): every test is a fixed experiment. All are in the slow tier
(minutes each); two of them failed when written, which is a finding about the learner (see their docstrings).
"""

import networkx as nx
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from identcheck import verify
from identcheck.testing import SIMPLE_FORMS, examples, scms

LEARNABLE = dict(variability="sufficient", kinds=("segments",), min_extra_envs=15, max_extra_envs=15,
                 forms=SIMPLE_FORMS, hidden_zeros=False, intercepts=False)
FIXED = dict(derandomize=True, database=None, phases=[Phase.explicit, Phase.generate])
C8_SHAPE = nx.DiGraph([("z1", "z2"), ("z2", "z3")])


def _recovery_holds(case) -> None:
    report = verify(case.scm, seed=0)
    for name, expected in case.verdicts.items():
        if expected == "identifiable":
            assert report.nodes[name].correlation >= 0.75, (name, report.nodes[name])


@pytest.mark.slow
@settings(max_examples=examples(2), **FIXED)
@given(scms(min_nodes=2, max_nodes=2, influences=("shared",), **LEARNABLE))
def test_identifiable_nodes_are_recovered(case):
    """Theorem 2.1: under (i)-(iv), with the reference segment pinned, each latent is recovered up to scale
    and offset. Required: 0.75, far above chance (≈ 0). Measured when written: passes with verify's default
    three restarts (about 150 s for both examples, hence the slow tier); with a single training run the
    second example (z2 = c(u)·z1) gave z1 0.38, 0.52, 0.85 for learner seeds 0, 1, 2, and 0.99 with three
    restarts. The end-to-end tests in test_verify.py cover recovery in the default run."""
    _recovery_holds(case)


@pytest.mark.slow
@settings(max_examples=examples(8), **FIXED)
@given(scms(min_nodes=2, max_nodes=3, influences=("shared",), **LEARNABLE))
def test_identifiable_nodes_are_recovered_on_more_models(case):
    """`test_identifiable_nodes_are_recovered` on up to 3 latents and more examples. When written this FAILED
    on one ℓ = 2 example (z1 recovered at 0.53 with three restarts): the learner does not yet meet
    Theorem 2.1 on every generated model."""
    _recovery_holds(case)


@pytest.mark.slow
@settings(max_examples=examples(3), **FIXED)
@given(scms(graphs=st.just(C8_SHAPE), influences={"z2": ("invariant",), "z3": ("shared",)},
            **{**LEARNABLE, "forms": ("{z}",)}))
def test_a_violating_node_carries_a_larger_parent_share_than_an_identified_child(case):
    """Theorem 2.5 and Remark 2.7 (C8): z1 -> z2 is invariant, so z2 is unidentifiable and its recovery may
    absorb z1 (witness z2 − g2(z1, u*)); z3 switches off at the reference segment and is identifiable even
    below an unidentifiable parent. The parents' share of the recovered z2 exceeds that of z3 by 0.1. When
    written this FAILED on one of the three examples (z2 share 0.0002, z3 share 0.33): the learner found z2
    itself and mixed z2 into z3."""
    report = verify(case.scm, seed=0)
    assert report.nodes["z2"].parent_share > report.nodes["z3"].parent_share + 0.1
