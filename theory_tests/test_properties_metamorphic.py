"""Metamorphic properties: changes of representation whose effect on the verdicts the theory predicts.

Each test rewrites a generated spec (`identcheck.testing` rewrites) and checks the rewritten model against
the verdicts the theory gives it, which are known from the construction of the original."""

from hypothesis import given, settings
from hypothesis import strategies as st

from identcheck import check, from_dict
from identcheck.testing import (add_intercept, duplicate_environment, examples, keep_environments, relabel, reorder,
                                reparametrise_u, rescale_noise, scms)

MODELS = scms(max_nodes=3, min_edges=1, variability="sufficient", post_nonlinear=True)
SCALAR_MODELS = scms(max_nodes=3, min_edges=1, variability="sufficient", kinds=("scalar",), domains=None)


def _verdicts(spec) -> dict:
    return {name: node["verdict"] for name, node in check(from_dict(spec)).to_dict()["nodes"].items()}


@settings(max_examples=examples(100))
@given(MODELS, st.data())
def test_relabelling_latents_relabels_the_verdicts(case, data):
    """Names carry no information: renaming the latents renames the verdicts and changes nothing else."""
    names = data.draw(st.permutations(["a", "b", "c", "w", "x", "y"]))[:len(case.scm.latents)]
    mapping = dict(zip(case.scm.latents, names))
    assert _verdicts(relabel(case.spec, mapping)) == {mapping[z]: v for z, v in case.verdicts.items()}


@settings(max_examples=examples(100))
@given(MODELS, st.data())
def test_listing_latents_in_another_order_keeps_the_verdicts(case, data):
    """The spec order is not a causal order: the verdicts do not depend on it (the learner's order 1..ℓ is a
    convention of the estimator, SPEC §3 subtle point 3)."""
    order = data.draw(st.permutations(case.scm.latents))
    assert _verdicts(reorder(case.spec, order)) == dict(case.verdicts)


@settings(max_examples=examples(100))
@given(MODELS, st.data(), st.sampled_from((0.5, 2.0, 3.0)))
def test_rescaling_a_noise_keeps_the_verdicts(case, data, factor):
    """n_i -> c·n_i maps η_i linearly (η_{i,1}/c, η_{i,2}/c²), so the rank of L is unchanged (iii), and the
    mechanisms are untouched (iv)."""
    latent = data.draw(st.sampled_from(case.scm.latents))
    assert _verdicts(rescale_noise(case.spec, latent, factor)) == dict(case.verdicts)


@settings(max_examples=examples(100))
@given(MODELS, st.data())
def test_a_u_only_intercept_keeps_the_verdicts(case, data):
    """An intercept c_i(u) does not change any ∂g_i/∂z_j, so (iv) and the verdicts are unchanged (C5); the
    declared noise and hence (iii) are untouched."""
    latent = data.draw(st.sampled_from(case.scm.latents))
    if case.scm.environments.kind == "segments":
        table = data.draw(st.lists(st.sampled_from((0.5, -1.0, 2.0)), min_size=case.scm.environments.count,
                                   max_size=case.scm.environments.count))
        spec = add_intercept(case.spec, latent, "intercept_new", table=table)
    else:
        spec = add_intercept(case.spec, latent, data.draw(st.sampled_from(("sin(2*u)", "u**3", "1 - u"))))
    assert _verdicts(spec) == dict(case.verdicts)


@settings(max_examples=examples(100))
@given(SCALAR_MODELS, st.sampled_from((2, -1, 0.5, 3)), st.sampled_from((1, -2, 0.5, 0)))
def test_an_affine_reparametrisation_of_u_keeps_the_verdicts(case, scale, shift):
    """u -> a·u + b with every formula rewritten (and a declared domain mapped) describes the same
    environments: the same η values (iii) and the same zeros, now at a·u' + b, observed or extrapolated (iv),
    so the same verdicts."""
    assert _verdicts(reparametrise_u(case.spec, scale, shift)) == dict(case.verdicts)


@settings(max_examples=examples(100))
@given(MODELS, st.data())
def test_duplicating_an_environment_keeps_the_verdicts(case, data):
    """A repeated environment adds a zero column to L (rank unchanged, SPEC §5 deduplication) and no new zero
    of any influence."""
    index = data.draw(st.integers(0, case.scm.environments.count - 1))
    assert _verdicts(duplicate_environment(case.spec, index)) == dict(case.verdicts)


@settings(max_examples=examples(100))
@given(MODELS, st.data())
def test_fewer_than_2l_plus_1_environments_give_no_guarantee_for_any_node(case, data):
    """(iii) needs 2ℓ+1 environments: keeping at most 2ℓ of them leaves every node without a guarantee,
    whatever (iv) says (SPEC §2 (iii), §3 subtle point 1)."""
    count, ell = case.scm.environments.count, len(case.scm.latents)
    kept = data.draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=2 * ell, unique=True))
    assert set(_verdicts(keep_environments(case.spec, sorted(kept))).values()) == {"no_guarantee"}
