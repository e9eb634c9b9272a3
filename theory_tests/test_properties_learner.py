"""Learner properties on generated models (Theorem 2.1, Theorem 2.5), through `identcheck.verify`.

Default tier: the pins `verify` hands the learner are environments where the true mechanisms are constant
(the estimator shares the theory's reference, SPEC §3 subtle point 2), and a fitted learner is exactly
constant there (tiny fits, many examples); one recovery experiment with verify's default budget.

Slow tier (``python -m pytest theory_tests -m slow``): recovery on more models and the parent share of a
violating node. Few examples, the default budget of `verify` (2000 rows per environment, 300 epochs,
hidden width 64 (with width 32 a root fell to 0.77), best of three restarts), 2ℓ+16 one-hot segments (the
learner needs many more than the 2ℓ+1 environments of the theory), fixed learner seeds, models drawn from a
fixed Hypothesis seed whatever the profile, and no shrinking (each example is a training run): every test is
a fixed experiment. All three fail with verify's default learner (the ELBO `latent_mlp`), a finding about it
(issue #4, README "Learner"), with the failing model and numbers in their docstrings (measured 2026-11-30).
They are marked as strict expected failures: the tier passes while the learner falls short as measured, and
fails as soon as a test passes (XPASS), so that the mark is removed then. Each experiment also runs with
``method="latent_mlp:ordered"`` (the exact-likelihood learner with its slot-order search); its marks follow
what that learner was measured to do (2026-12-01, and again after that day's change of its order search:
the ℓ = 2 recovery passes, the other two still fail; `-m slow -k ordered` took 40 minutes).
"""

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import Phase, assume, given, seed, settings
from hypothesis import strategies as st

from identcheck import check, simulate, verify
from identcheck.learn import LatentCausalVAE
from identcheck.testing import SIMPLE_FORMS, examples, scms
from identcheck.verify import choose_pins

LEARNABLE = dict(variability="sufficient", kinds=("segments",), min_extra_envs=15, max_extra_envs=15,
                 forms=SIMPLE_FORMS, hidden_zeros=False, intercepts=False)
FIXED = dict(derandomize=True, database=None, phases=[Phase.explicit, Phase.generate])
# The slow experiments draw their models from this seed, not from the hash of the test's source that
# `derandomize` uses, so that editing a docstring (where the measured outcomes are written) keeps the models
SLOW_SEED = 0
LEARNER_SHORTFALL = pytest.mark.xfail(
    strict=True, reason="issue #4: the learner does not yet reach the recovery Theorems 2.1/2.5 promise on every "
                        "generated model (measured numbers in the docstring)")
C8_SHAPE = nx.DiGraph([("z1", "z2"), ("z2", "z3")])
ELBO, ORDERED = "latent_mlp", "latent_mlp:ordered"  # the paper's ELBO learner; verify's default here (d = ℓ ≤ 3)


def _pins(case) -> tuple[int, ...]:
    return choose_pins(case.scm, check(case.scm)).environments


@settings(max_examples=examples(25), **FIXED)
@given(scms(min_nodes=2, max_nodes=3, variability="sufficient", kinds=("segments",), forms=SIMPLE_FORMS,
            hidden_zeros=False))
def test_verify_pins_only_environments_where_covered_true_mechanisms_are_constant(case):
    """SPEC §3 subtle point 2: the estimator may only share a reference the truth has. For every node that
    `choose_pins` reports as covered, each of its influences vanishes identically at every pinned segment
    (known from the construction, never from the checker)."""
    pins = choose_pins(case.scm, check(case.scm))
    for node in pins.covered:
        for parent in case.scm.parents(node):
            assert set(pins.environments) <= case.edge_zeros[(parent, node)], (node, parent, pins)


@settings(max_examples=examples(5), **FIXED)
@given(scms(min_nodes=2, max_nodes=3, variability="sufficient", kinds=("segments",), forms=SIMPLE_FORMS,
            hidden_zeros=False, influences=("shared",)))
def test_a_fitted_learner_is_exactly_constant_in_its_parents_at_the_pins(case):
    """SPEC §6: pinning makes λ(u_ref) = 0, so every learned mechanism is the constant MLP_i(0) at a pinned
    segment, exactly (not approximately), whatever the data; tiny fits (2 epochs) suffice to test it."""
    pins = _pins(case)
    assume(pins)  # a model without edges pins nothing
    data = simulate(case.scm, 40, seed=0)
    learner = LatentCausalVAE(len(case.scm.latents), reference_envs=list(pins), epochs=2, hidden=8,
                              progress=False).fit(data.x, data.u)
    assert np.all(learner.causal_weights(np.array(pins)) == 0.0)
    structure = learner.module_.structure
    z = torch.randn(64, len(case.scm.latents), generator=torch.Generator().manual_seed(0)).to(learner.device_)
    for env in pins:
        with torch.no_grad():
            g = structure.mechanisms(z, torch.full((64,), env, device=learner.device_))
        assert torch.equal(g, g[:1].expand_as(g)), env


def _recovery_holds(case, method: str) -> None:
    report = verify(case.scm, seed=0, method=method)
    print(case.scm, {n: round(v.correlation, 3) for n, v in report.nodes.items()})  # shown with -s
    for name, expected in case.verdicts.items():
        if expected == "identifiable":
            assert report.nodes[name].correlation >= 0.75, (name, report.nodes[name])


@pytest.mark.slow
@pytest.mark.parametrize("method", [pytest.param(ELBO, marks=LEARNER_SHORTFALL), ORDERED])
@seed(SLOW_SEED)
@settings(max_examples=examples(2), **FIXED)
@given(scms(min_nodes=2, max_nodes=2, influences=("shared",), **LEARNABLE))
def test_identifiable_nodes_are_recovered(method, case):
    """Theorem 2.1: under (i)-(iv), with the reference segment pinned, each latent is recovered up to scale
    and offset. Required: 0.75, far above chance (≈ 0). The ELBO learner FAILS: on z2 = c(u)·tanh(z1) over 20
    segments (c = 0 at segments 10 and 19), z1 is recovered at 0.592. (Under earlier draws of the models it
    passed, and then failed on z2 = c(u)·z1 with z2 at 0.524.) The ordered preset passes (measured
    2026-12-01, 5 minutes): z2 = n2: 0.999 / 0.991; z2 = c(u)·tanh(z1): z1 **0.974**, z2 0.982, a margin of
    0.22 over the 0.75 required. The end-to-end tests in test_verify.py cover recovery in the default run."""
    _recovery_holds(case, method)


@pytest.mark.slow
@pytest.mark.parametrize("method", [pytest.param(ELBO, marks=LEARNER_SHORTFALL),
                                    pytest.param(ORDERED, marks=LEARNER_SHORTFALL)])
@seed(SLOW_SEED)
@settings(max_examples=examples(8), **FIXED)
@given(scms(min_nodes=2, max_nodes=3, influences=("shared",), **LEARNABLE))
def test_identifiable_nodes_are_recovered_on_more_models(method, case):
    """`test_identifiable_nodes_are_recovered` on up to 3 latents and more examples. When written this FAILED
    on one ℓ = 2 example (z1 recovered at 0.53 with three restarts). Both learners FAIL on the ℓ = 3 model
    z2 = c12(u)·tanh(z1), z3 = c13(u)·tanh(z1) + c23(u)·tanh(z2) over 22 segments: the ELBO learner recovers z1
    at 0.631; the ordered preset (measured 2026-12-01, about 7 minutes a run) z1 0.811, z2 0.834 and z3
    **0.668**; with the order search that leaves the no-edge plateau (later on 2026-12-01) it still fails,
    first on z2 at **0.746** (the other nodes not re-recorded). The learners do not yet meet Theorem 2.1 on
    every generated model."""
    _recovery_holds(case, method)


@pytest.mark.slow
@pytest.mark.parametrize("method", [pytest.param(ELBO, marks=LEARNER_SHORTFALL),
                                    pytest.param(ORDERED, marks=LEARNER_SHORTFALL)])
@seed(SLOW_SEED)
@settings(max_examples=examples(3), **FIXED)
@given(scms(graphs=st.just(C8_SHAPE), influences={"z2": ("invariant",), "z3": ("shared",)},
            **{**LEARNABLE, "forms": ("{z}",)}))
def test_a_violating_node_carries_a_larger_parent_share_than_an_identified_child(method, case):
    """Theorem 2.5 and Remark 2.7 (C8): z1 -> z2 is invariant, so z2 is unidentifiable and its recovery may
    absorb z1 (witness z2 − g2(z1, u*)); z3 switches off at the reference segment and is identifiable even
    below an unidentifiable parent. The parents' share of the recovered z2 exceeds that of z3 by 0.1. When
    written this FAILED on one of the three examples (z2 share 0.0002, z3 share 0.33): the learner found z2
    itself and mixed z2 into z3. Both learners FAIL on z2 = c·z1, z3 = c23(u)·z2 over 22 segments: the ELBO
    learner with z2 share 0.044 and z3 share 0.386; the ordered preset (measured 2026-12-01, 6.5 minutes a
    run) recovers z1 at 0.990 and lets the violating z2 carry its parent (correlation 0.641, share 0.571), but
    mixes z3's parent into z3 too (correlation 0.454, share 0.781), the pattern of Fig. 2's seed 0 in the
    learner benchmark. With the order search that leaves the no-edge plateau (later on 2026-12-01) it still
    fails (strict xfail held; numbers not re-recorded)."""
    report = verify(case.scm, seed=0, method=method)
    assert report.nodes["z2"].parent_share > report.nodes["z3"].parent_share + 0.1
