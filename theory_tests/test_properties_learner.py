"""Learner properties on generated models (Theorem 2.1, Theorem 2.5), through `identcheck.verify`.

Few examples, small networks (hidden 32), the default budget of `verify` (2000 rows per environment, 300
epochs), 20 one-hot segments (the learner needs many more than the 2ℓ+1 environments of the theory), fixed
seeds and always derandomised examples, whatever the Hypothesis profile: each test is a fixed experiment.
Thresholds state their margin below the values measured when they were written.
"""

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identcheck import verify
from identcheck.testing import SIMPLE_FORMS, examples, scms

LEARNABLE = dict(variability="sufficient", kinds=("segments",), min_extra_envs=15, max_extra_envs=15,
                 forms=SIMPLE_FORMS, hidden_zeros=False, intercepts=False)
SMALL = {"hidden": 32}
C8_SHAPE = nx.DiGraph([("z1", "z2"), ("z2", "z3")])


def _recovery_holds(case) -> None:
    report = verify(case.scm, seed=0, learner_params=SMALL)
    for name, expected in case.verdicts.items():
        if expected == "identifiable":
            assert report.nodes[name].correlation >= 0.8, (name, report.nodes[name])


@settings(max_examples=examples(2), derandomize=True, database=None)
@given(scms(min_nodes=2, max_nodes=2, influences=("shared",), **LEARNABLE))
def test_identifiable_nodes_are_recovered(case):
    """Theorem 2.1: under (i)-(iv), with the reference segment pinned, each latent is recovered up to scale
    and offset. Measured for the two derandomised examples (no edge; z1 -> z2 switching):
    correlations >= 0.93 when written. Required: 0.8 (a margin of at least 0.13)."""
    _recovery_holds(case)


@pytest.mark.slow
@settings(max_examples=examples(8), derandomize=True, database=None)
@given(scms(min_nodes=2, max_nodes=3, influences=("shared",), **LEARNABLE))
def test_identifiable_nodes_are_recovered_on_more_models(case):
    """The slow tier of `test_identifiable_nodes_are_recovered`: up to 3 latents, more examples."""
    _recovery_holds(case)


@pytest.mark.slow
@settings(max_examples=examples(3), derandomize=True, database=None)
@given(scms(graphs=st.just(C8_SHAPE), influences={"z2": ("invariant",), "z3": ("shared",)},
            **{**LEARNABLE, "forms": ("{z}",)}))
def test_a_violating_node_carries_a_larger_parent_share_than_an_identified_child(case):
    """Theorem 2.5 and Remark 2.7 (C8): z1 -> z2 is invariant, so z2 is unidentifiable and its recovery may
    absorb z1 (witness z2 − g2(z1, u*)); z3 switches off at the reference segment and is identifiable even
    below an unidentifiable parent. The parents' share of the recovered z2 exceeds that of z3 by 0.1."""
    report = verify(case.scm, seed=0, learner_params=SMALL)
    assert report.nodes["z2"].parent_share > report.nodes["z3"].parent_share + 0.1
