"""Seeds: every seed that draws data or starts a learner (simulate, the paper's datasets, learners, verify,
sweep) is an integer in [0, 2**32), the range numpy's legacy seeding and torch's both take. One range for all
of them means a seed that simulates also fits: ``identcheck simulate --seed S`` and ``identcheck verify
--seed S`` accept the same S.

>>> require_seed(7)
7
>>> require_seed(2**32)
Traceback (most recent call last):
...
identcheck.errors.IdentcheckError: seed must be an integer in [0, 2**32), got 4294967296
"""

from __future__ import annotations

import operator
from typing import Any

from .errors import IdentcheckError

__all__ = ["SEED_LIMIT", "require_seed"]

#: Seeds lie in [0, SEED_LIMIT).
SEED_LIMIT = 2**32


def require_seed(value: Any, name: str = "seed", error: type[IdentcheckError] = IdentcheckError) -> int:
    """``value`` as an int in [0, 2**32) (numpy integers accepted, bools refused), else ``error`` naming
    ``name``.

    >>> import numpy as np
    >>> require_seed(np.int64(3))
    3
    >>> require_seed(True, name="--seed")
    Traceback (most recent call last):
    ...
    identcheck.errors.IdentcheckError: --seed must be an integer in [0, 2**32), got True
    """
    try:
        number = operator.index(value)
    except TypeError:
        number = -1
    if isinstance(value, bool) or not 0 <= number < SEED_LIMIT:
        raise error(f"{name} must be an integer in [0, 2**32), got {value!r}")
    return number
