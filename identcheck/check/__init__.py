"""The checker: assumptions (i)-(iv) and the per-node verdicts of one SCM, as a `Report` (CONTRACT §2).

Modules: `zeros` (zero-testing), `condition_iv` ((iv) per edge and its readings), `condition_iii`
((iii), noise variability), `noise_mixing` ((i) deconvolvability, (ii) injectivity), `verdicts`
(SPEC §5 rule 6), `linear_gaussian` (an exact counterexample to the verdicts of linear Gaussian models,
reported as a caveat).

>>> import identcheck
>>> report = check(identcheck.load_example("C7"))
>>> [(name, node.verdict) for name, node in report.nodes.items()]
[('z1', 'identifiable'), ('z2', 'identifiable'), ('z3', 'unidentifiable')]
"""

from __future__ import annotations

import numpy as np

from ..errors import IdentcheckError
from ..report import Report
from ..scm import SCM, require_scm
from ..sizes import MAX_PROBES, require_size
from .condition_iii import check_noise_variability
from .condition_iv import DEFAULT_PROBES, DEFAULT_TOL, analyse_iv, check_condition_iv, check_edge
from .linear_gaussian import RotationWitness, rotation_witness
from .noise_mixing import check_deconvolvability, check_injectivity
from .results import AssumptionResult
from .verdicts import node_verdicts
from .zeros import MIN_FINITE_PROBES

__all__ = ["check", "check_edge", "check_condition_iv", "check_noise_variability", "check_deconvolvability",
           "check_injectivity", "node_verdicts", "AssumptionResult", "rotation_witness", "RotationWitness"]


def check(scm: SCM, *, tol: float = DEFAULT_TOL, seed: int = 0, probes: int = DEFAULT_PROBES) -> Report:
    """Check assumptions (i)-(iv) of an SCM and give every latent its verdict (SPEC §5).

    tol: relative tolerance of the numeric zero probe, in (0, 1); seed, probes: the probe points of (iv)
    (at least 8 probes, the fewest finite ones that may decide a zero; at most `sizes.MAX_PROBES`).
    The result is deterministic for fixed arguments. Floating-point overflow in the numerics (a spec with
    numbers near 1e308) shows in the report as an infinite or undefined value, not as numpy warnings.

    >>> import identcheck
    >>> check(identcheck.load_example("C1")).fully_identifiable
    True
    """
    require_scm(scm, "check")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
        raise IdentcheckError(f"tol must be a number in (0, 1), got {tol!r}")
    for name, value, least in (("probes", probes, MIN_FINITE_PROBES), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise IdentcheckError(f"{name} must be an integer >= {least}, got {value!r}")
    require_size(probes, "probes", MAX_PROBES, IdentcheckError)
    with np.errstate(all="ignore"):
        premises = {"i": check_deconvolvability(scm), "ii": check_injectivity(scm),
                    "iii": check_noise_variability(scm)}
        analysis = analyse_iv(scm, tol=tol, seed=seed, probes=probes)
        nodes = node_verdicts(scm, analysis, premises)
        identified = any(node.verdict == "identifiable" for node in nodes.values())
        witness = rotation_witness(scm, analysis.result.edges) if identified else None
    return Report(
        name=scm.name,
        latents=scm.latents,
        edges=scm.edges,
        assumptions={**premises, "iv": analysis.result},
        nodes=nodes,
        environments=scm.environments.labels,
        caveats=(witness,) if witness else (),
    )
