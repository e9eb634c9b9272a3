"""Exceptions of identcheck.

Every error a user can cause is one of these; the CLI turns them into one line on stderr and exit code 2.

>>> str(SpecError("std must be > 0", source="c.yaml", key="noise.params.z1.std"))
'c.yaml: noise.params.z1.std: std must be > 0'
"""

from __future__ import annotations

__all__ = ["IdentcheckError", "SpecError", "DataError", "NotFittedError", "TrainingError", "IdentcheckWarning"]


class IdentcheckError(Exception):
    """Base class: an error caused by the input, reported without a traceback.

    >>> import identcheck
    >>> try:
    ...     identcheck.check("model.yaml")  # a path, not a loaded spec
    ... except IdentcheckError as error:
    ...     print(type(error).__name__, isinstance(error, IdentcheckError))
    IdentcheckError True
    """


class SpecError(IdentcheckError):
    """A spec (YAML file, dict or graph) is malformed; the message names the source, the key and the problem."""

    def __init__(self, problem: str, *, source: str | None = None, key: str | None = None):
        self.problem = problem
        self.source = source
        self.key = key
        super().__init__(": ".join(part for part in (source, key, problem) if part))


class DataError(IdentcheckError):
    """Data arrays are unusable (NaN/inf, wrong shape, a sampler that overflows, a missing file).

    >>> from identcheck.learn import mpc
    >>> mpc([[1.0, 2.0], [0.0, 1.0]], [[float("nan"), 0.0], [1.0, 1.0]])
    Traceback (most recent call last):
    identcheck.errors.DataError: z_hat contains NaN/inf
    """


class NotFittedError(IdentcheckError, ValueError):
    """A learner was used before `fit`.

    >>> import numpy as np
    >>> from identcheck.learn import IVAE
    >>> IVAE(2).transform(np.zeros((3, 2)), np.zeros(3, dtype=int))
    Traceback (most recent call last):
    identcheck.errors.NotFittedError: this IVAE is not fitted yet: call fit(x, u) first
    """


class TrainingError(IdentcheckError):
    """Training cannot go on (for example the loss became NaN); the learner keeps its last good state."""


class IdentcheckWarning(UserWarning):
    """A result that holds but deserves a look: a restart that failed beside one that did not, environments
    without rows. The command line prints it as one line on stderr."""
