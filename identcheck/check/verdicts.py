"""Per-node verdicts (SPEC §5 rule 6; Theorem 2.5, Corollaries 3.1/3.3; SPEC §3 "Subtle points").

The rule, applied in causal order:
- identifiable if the node is a root, or its parent edges share a zero (node-wise, (iv-N): g_i(., u') is
  constant in all parents), or every parent edge vanishes somewhere (edge-wise, (iv-E)) and every parent is
  identifiable (Theorem 2.1, Step III induction);
- unidentifiable if some parent edge has no zero in the domain (Theorem 2.5(b)), with an explicit
  alternative model (the canonical witness z_i - g_i(pa_i, u*));
- contested if there are edge-wise zeros, no common zero, and some parent is not identifiable (C9: Remark
  2.7 holds only under (iv-N));
- undecided if a needed check is undecided;
- no_guarantee for every node when (i), (ii) or (iii) fails (subtle point 1); undecided for every node
  when one of them is unknown. Both keep the (iv)-only verdict as `conditional_verdict`.

>>> from identcheck import load_example
>>> from identcheck.check.condition_iv import analyse_iv
>>> scm = load_example("C7")
>>> nodes = node_verdicts(scm, analyse_iv(scm))
>>> nodes["z3"].verdict, nodes["z3"].violating_parents, nodes["z3"].alternative
('unidentifiable', ('z2',), 'z3_hat = z3 - 0.8*z2, with g_z3_hat(z1, z2, u) = u*z1, which vanishes at u = 0')
"""

from __future__ import annotations

from typing import Collection, Mapping

import sympy as sp

from ..report import NodeResult, Verdict
from ..scm import PNL_SYMBOL, SCM
from .condition_iv import EdgeZeros, IVAnalysis, environment_text, exact_table, pretty
from .results import AssumptionResult
from .zeros import too_large_to_expand

__all__ = ["node_verdicts", "node_verdict", "alternative_model"]

_PREMISES = ("i", "ii", "iii")


def _theorem(scm: SCM, latent: str, part: str) -> str:
    """Theorem 2.5(a/b) for an additive node, Corollary 3.3(a/b) for a post-nonlinear one."""
    return f"Corollary 3.3({part})" if latent in scm.post_nonlinear else f"Theorem 2.5({part})"


def _up_to(scm: SCM, latent: str) -> str:
    return "invertible_componentwise" if latent in scm.post_nonlinear else "scale_offset"


def _envs(scm: SCM, indices: Collection[int]) -> str:
    return ", ".join(environment_text(scm, m) for m in sorted(indices)[:6]) + (
        f" and {len(indices) - 6} more" if len(indices) > 6 else "")


def _pin_note(scm: SCM, indices: Collection[int]) -> str:
    """SPEC §2 quantifier order / subtle point 2: the estimator must share the reference."""
    first = min(indices)
    if scm.environments.kind == "segments":
        return (f"; the learner must pin segment {scm.environments.labels[first]} as the reference (its "
                f"mechanism constant there), otherwise an offset mechanism is an equally valid solution (C12a)")
    return f"; the estimator must share this reference ({environment_text(scm, first)}; SPEC §2 quantifier order)"


def alternative_model(scm: SCM, latent: str, analysis: IVAnalysis, violating: tuple[str, ...]) -> str:
    """An explicit other model matching the data (Theorem 2.5(b), canonical witness, SPEC §3):
    z_i_hat = z_i - g_i(pa_i, u*) with g_i_hat(., u) = g_i(., u) - g_i(., u*), which vanishes at u*.

    u* is an observed environment where the non-violating parent edges vanish together (so the difference
    involves only the violating parents, Remark 2.8), else the first environment. Additive constants are
    dropped (they are part of the offset indeterminacy).

    >>> from identcheck import load_example
    >>> from identcheck.check.condition_iv import analyse_iv
    >>> scm = load_example("C2")
    >>> alternative_model(scm, "z2", analyse_iv(scm), ("z1",))
    'z2_hat = z2 - z1, with g_z2_hat(z1, u) = u**2*z1, which vanishes at u = 0'
    """
    parents = scm.parents(latent)
    symbols = [scm.symbol(p) for p in parents]
    fine = [analysis.edges[(p, latent)].zeros.observed for p in parents if p not in violating]
    shared = frozenset.intersection(*fine) if fine else frozenset()
    m = min(shared) if shared else 0
    g = scm.mechanism(latent)
    exact = exact_table(scm, g.free_symbols)
    at_reference = g.xreplace({s: values[m] for s, values in exact.items()})
    if too_large_to_expand(g):  # (z1 + u + 1)**999: its expansion would not end; the witness stays unexpanded
        varying, difference = at_reference, g - at_reference
    else:
        _, varying = sp.expand(at_reference).as_independent(*symbols, as_Add=True)
        difference = sp.collect(sp.expand(g - at_reference), symbols)
    env = scm.environments
    arguments = ", ".join([*parents, *(["segment"] if env.kind == "segments" else [s.name for s in env.symbols])])
    if latent in scm.post_nonlinear:
        gbar = scm.post_nonlinear[latent]
        inverse = _inverse(gbar, scm.symbol(latent))
        left = pretty(inverse) if inverse is not None else f"gbar_{latent}^-1({latent})"
        head = f"{latent}_hat = {_minus(left, varying)} (gbar_{latent}(t) = {pretty(gbar)}; or any invertible " \
               f"map of it)"
    else:
        head = f"{latent}_hat = {_minus(latent, varying)}"
    if difference == 0 or _zero_in_every_environment(difference, exact):
        return f"{head}, with g_{latent}_hat = 0: {latent}_hat is its own noise, a root in every environment"
    return f"{head}, with g_{latent}_hat({arguments}) = {pretty(difference)}, which vanishes at " \
           f"{environment_text(scm, m)}"


def _zero_in_every_environment(expr: sp.Expr, exact: dict[sp.Symbol, tuple[sp.Expr, ...]]) -> bool:
    """Whether ``expr`` vanishes once its per-environment symbols take their values, when every one of them
    takes a single value (a table such as lam = 0.8 in every segment, C12b); False otherwise."""
    values = {s: set(exact[s]) for s in expr.free_symbols if s in exact}
    if not values or any(len(v) != 1 for v in values.values()):
        return False
    return sp.expand(expr.xreplace({s: next(iter(v)) for s, v in values.items()})) == 0


def _minus(left: str, expr: sp.Expr) -> str:
    """'left - expr' written as people write it."""
    text = pretty(expr)
    if isinstance(expr, sp.Add):
        return f"{left} - ({text})"
    return f"{left} + {pretty(-expr)}" if text.startswith("-") else f"{left} - {text}"


def _inverse(gbar: sp.Expr, target: sp.Symbol) -> sp.Expr | None:
    """The inverse of an invertible gbar(t) as an expression in `target`, when sympy finds exactly one."""
    try:
        solutions = sp.solve(sp.Eq(gbar, sp.Symbol(target.name, positive=True)), PNL_SYMBOL)
    except (NotImplementedError, ValueError, TypeError):
        return None
    if len(solutions) != 1:
        return None
    return solutions[0].xreplace({sp.Symbol(target.name, positive=True): target})


def node_verdict(scm: SCM, latent: str, analysis: IVAnalysis, parent_verdicts: Mapping[str, str],
                 extrapolated_parents: Collection[str] = ()) -> NodeResult:
    """The (iv)-based verdict on one latent, given the verdicts of its parents (SPEC §5 rule 6).

    The verdict is flagged *extrapolated* when it rests on a zero that no environment observes (SPEC §2,
    "Must u' be observed?"): when the observed zeros alone would not give it. An identification from observed
    zeros is preferred: edge-wise zeros at observed environments with every parent identifiable, none of them
    only by extrapolation (``extrapolated_parents``), identify the node by Step III even when the only common
    zero is unobserved; and a Step III identification through a parent identified only by extrapolation
    is itself extrapolated.

    >>> from identcheck import load_example
    >>> from identcheck.check.condition_iv import analyse_iv
    >>> scm = load_example("C9")
    >>> node_verdict(scm, "z3", analyse_iv(scm), {"z1": "identifiable", "z2": "unidentifiable"}).verdict
    'contested'
    """
    everything = tuple(range(scm.environments.count))
    up_to = _up_to(scm, latent)
    if scm.is_root(latent):
        return NodeResult(latent, "identifiable", f"root ({_theorem(scm, latent, 'a')}: a node without parents "
                          f"is identifiable)", up_to=up_to, reference=scm.environments.labels,
                          reference_environments=everything)
    parents = scm.parents(latent)
    edges: dict[str, EdgeZeros] = {p: analysis.edges[(p, latent)] for p in parents}
    idle = [p for p, e in edges.items() if e.result.no_influence]
    idle_note = (f" (declared parent(s) {', '.join(idle)} have no influence and are ignored)" if idle else "")
    violating = tuple(p for p, e in edges.items() if e.result.status == "fails" and not e.result.no_influence)
    if violating:
        why = "; ".join(f"{p} -> {latent}: {edges[p].result.reason}" for p in violating)
        return NodeResult(
            latent, "unidentifiable",
            f"(iv) fails: {why}. By {_theorem(scm, latent, 'b')} {latent} is not identifiable"
            + (" even up to an invertible component-wise map" if latent in scm.post_nonlinear else ""),
            violating_parents=violating, alternative=alternative_model(scm, latent, analysis, violating))
    undecided = [p for p, e in edges.items() if e.result.status == "undecided"]
    if undecided:
        return NodeResult(latent, "undecided", "(iv) could not be decided for "
                          + ", ".join(f"{p} -> {latent}" for p in undecided) + idle_note)
    common = analysis.nodes[latent]
    which = f"its parent {parents[0]}" if len(parents) == 1 else f"all its parents ({', '.join(parents)})"
    if common.observed:
        return NodeResult(
            latent, "identifiable",
            f"g_{latent}(., u) is constant in {which} at {_envs(scm, common.observed)} (node-wise zero, (iv-N)); "
            f"by {_theorem(scm, latent, 'a')} and Remark 2.7 {latent} is identifiable whatever its parents' "
            f"status{_pin_note(scm, common.observed)}{idle_note}",
            up_to=up_to, reference=tuple(scm.environments.labels[m] for m in sorted(common.observed)),
            reference_environments=tuple(sorted(common.observed)))
    not_good = [p for p in parents if parent_verdicts.get(p) != "identifiable"]
    borrowed = [p for p in parents if p in extrapolated_parents and p not in not_good]
    extrapolated = any(e.result.extrapolated for e in edges.values()) or bool(borrowed)
    values = _points(common.extrapolated) if common.exists else []
    if common.exists and (not_good or extrapolated):
        return NodeResult(
            latent, "identifiable",
            f"EXTRAPOLATED: g_{latent}(., u) is constant in {which} only at unobserved "
            f"{_where(common.extrapolated, values)} inside the declared domain "
            f"(node-wise zero of the formula in u, {_theorem(scm, latent, 'a')}); this relies on the formula "
            f"holding off the observed environments (SPEC §2, 'Must u' be observed?'){idle_note}",
            up_to=up_to, extrapolated_reference=tuple(float(v) for v in values), extrapolated=True)
    zero_of = "; ".join(f"{p} -> {latent} at " + _edge_zeros(scm, e) for p, e in edges.items() if p not in idle)
    if not not_good:
        notes = ""
        if borrowed:
            notes += (f"; parent(s) {', '.join(borrowed)} are identifiable only through zeros that no environment "
                      f"observes, so this identification relies on the formula in u too (SPEC §2, 'Must u' be "
                      f"observed?')")
        if common.exists:
            notes += (f"; the parent edges also vanish together at unobserved "
                      f"{_where(common.extrapolated, values)} (an extrapolated node-wise zero, not needed here)")
        together = " though not together at an observed environment" if common.exists else " though not together"
        return NodeResult(
            latent, "identifiable",
            ("EXTRAPOLATED: " if extrapolated else "")
            + f"every parent edge vanishes somewhere ({zero_of}){together} (edge-wise, (iv-E)), and "
            f"every parent is identifiable: Theorem 2.1's induction (Step III) identifies {latent}{notes}{idle_note}",
            up_to=up_to, extrapolated_reference=tuple(float(v) for v in values), extrapolated=extrapolated)
    pending = [p for p in not_good if parent_verdicts.get(p) in ("undecided", None)]
    if len(pending) == len(not_good):  # Step III may still apply: it needs every parent identifiable
        return NodeResult(latent, "undecided", f"edge-wise zeros only ({zero_of}) and the status of parent(s) "
                          f"{', '.join(not_good)} is undecided{idle_note}")
    # a parent that is decidedly not identifiable rules Step III out, whatever the undecided ones turn out to be
    blocking = [p for p in not_good if p not in pending]
    pending_note = f" (the status of {', '.join(pending)} is undecided)" if pending else ""
    return NodeResult(
        latent, "contested",
        f"every parent edge vanishes somewhere ({zero_of}) but never together, and parent(s) "
        f"{', '.join(blocking)} are not identifiable{pending_note}. Theorem 2.5(a) read literally says "
        f"identifiable, but Remark 2.7 holds only under the node-wise reading (iv-N): an alternative model that "
        f"meets the same edge-wise zeros can exist (SPEC §4 C9){idle_note}")


def _edge_zeros(scm: SCM, edge: EdgeZeros) -> str:
    """Where one edge vanishes, in words: its observed zeros, else its extrapolated ones."""
    if edge.zeros.observed:
        return _envs(scm, edge.zeros.observed)
    return "unobserved u = " + ", ".join(map(pretty, edge.result.extrapolated_zeros))


def _where(zeros: sp.Set | None, values: list[sp.Expr]) -> str:
    """The unobserved zeros for a reason: the points of a finite set, else the set with the point that
    stands for it (an interval of zeros is not one value).

    >>> _where(sp.FiniteSet(1, 2), [sp.Integer(1), sp.Integer(2)])
    'u = 1, 2'
    >>> _where(sp.Interval(0, sp.Rational(3, 2)), _points(sp.Interval(0, sp.Rational(3, 2))))
    'u in Interval(0, 3/2) (e.g. u = 0.75)'
    """
    if isinstance(zeros, sp.FiniteSet) and values:
        return "u = " + ", ".join(pretty(v) for v in values)
    return f"u in {pretty(zeros)}" + (f" (e.g. u = {pretty(values[0])})" if values else "")


def _points(zeros: sp.Set | None) -> list[sp.Expr]:
    if isinstance(zeros, sp.FiniteSet):
        return sorted(zeros, key=float)[:10]
    if isinstance(zeros, sp.Interval):
        return [(zeros.inf + zeros.sup) / 2]
    return []


def node_verdicts(scm: SCM, analysis: IVAnalysis,
                  premises: Mapping[str, AssumptionResult] | None = None) -> dict[str, NodeResult]:
    """The verdict on every latent (spec order), given the (iv) analysis and the results of (i)-(iii).

    Without `premises`, (i)-(iii) are taken to hold (the (iv)-only verdicts).

    >>> from identcheck import load_example
    >>> from identcheck.check.condition_iv import analyse_iv
    >>> from identcheck.check.results import AssumptionResult
    >>> scm = load_example("C1")
    >>> bad = {"i": AssumptionResult("holds", ""), "ii": AssumptionResult("holds", ""),
    ...        "iii": AssumptionResult("fails", "rank 3 < 4")}
    >>> node_verdicts(scm, analyse_iv(scm), bad)["z1"].verdict
    'no_guarantee'
    """
    verdicts: dict[str, NodeResult] = {}
    for latent in scm.order:
        parents = {p: verdicts[p].verdict for p in scm.parents(latent)}
        borrowed = [p for p in scm.parents(latent) if verdicts[p].extrapolated]
        verdicts[latent] = node_verdict(scm, latent, analysis, parents, borrowed)
    premises = premises or {}
    failed = [k for k in _PREMISES if k in premises and premises[k].status == "fails"]
    unknown = [k for k in _PREMISES if k in premises and premises[k].status == "unknown"]
    if failed or unknown:
        verdicts = {name: _qualified(node, premises, failed, unknown) for name, node in verdicts.items()}
    return {name: verdicts[name] for name in scm.latents}


def _qualified(node: NodeResult, premises: Mapping[str, AssumptionResult], failed: list[str],
               unknown: list[str]) -> NodeResult:
    """Subtle point 1: every verdict presupposes (i)-(iii)."""
    if failed:
        detail = "; ".join(f"({k}) fails: {premises[k].reason}" for k in failed)
        verdict: Verdict
        verdict, reason = "no_guarantee", (f"{detail}. Theorems 2.1 and 2.5 presuppose (i)-(iii) (SPEC §3, "
                                           f"subtle point 1): nothing is guaranteed either way")
    else:
        detail = "; ".join(f"({k}) is unknown: {premises[k].reason}" for k in unknown)
        verdict, reason = "undecided", (f"{detail}. The verdict presupposes (i)-(iii) (SPEC §3, subtle point 1)")
    return NodeResult(node.latent, verdict, reason, reference=node.reference,
                      reference_environments=node.reference_environments,
                      extrapolated_reference=node.extrapolated_reference, alternative=node.alternative,
                      violating_parents=node.violating_parents, conditional_verdict=node.verdict)
