"""Example budgets that follow the active Hypothesis profile.

Property tests in ``theory_tests/`` ask for ``examples(n)``: n examples under the ``ci`` profile
(max_examples = 100), proportionally fewer under ``dev`` and more under ``thorough``.

>>> examples(40, profile_max_examples=100), examples(40, profile_max_examples=1000)
(40, 400)
"""

from __future__ import annotations

from hypothesis import settings

__all__ = ["CI_MAX_EXAMPLES", "examples"]

#: max_examples of the ``ci`` profile, the reference budget.
CI_MAX_EXAMPLES = 100


def examples(count: int, *, profile_max_examples: int | None = None) -> int:
    """``count`` scaled by the active profile's max_examples relative to ``ci`` (at least 1)."""
    active = settings().max_examples if profile_max_examples is None else profile_max_examples
    return max(1, round(count * active / CI_MAX_EXAMPLES))
