"""Testing support: Hypothesis strategies with known answers, metamorphic rewrites of specs, and example budgets
that follow the active Hypothesis profile.

>>> from identcheck.testing import scms, relabel
"""

from .budget import examples
from .metamorphic import (add_intercept, duplicate_environment, keep_environments, relabel, reorder,
                          reparametrise_u, rescale_noise)
from .strategies import (ENVIRONMENT_KINDS, FORMS, INFLUENCES, NOISE_FAMILIES, SIMPLE_FORMS, VARIABILITY, VERDICTS,
                         Coefficient, EnvironmentDesign, GeneratedSCM, Mechanism, NoiseDesign, Unobserved,
                         coefficients, dags, environment_designs, expected_verdicts, extrapolated_nodes, mechanisms,
                         noise_tables, scms)

__all__ = [
    "dags", "environment_designs", "coefficients", "mechanisms", "noise_tables", "scms", "expected_verdicts",
    "extrapolated_nodes", "EnvironmentDesign", "Unobserved", "Coefficient", "Mechanism", "NoiseDesign",
    "GeneratedSCM", "VERDICTS", "FORMS", "SIMPLE_FORMS", "INFLUENCES", "NOISE_FAMILIES", "ENVIRONMENT_KINDS",
    "VARIABILITY", "relabel", "reorder",
    "rescale_noise", "add_intercept", "reparametrise_u", "duplicate_environment", "keep_environments", "examples",
]
