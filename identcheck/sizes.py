"""Bounds on what a request may ask for, checked before anything is allocated: a request too large for the
machine is one clear error (exit 2 on the command line), not a process the system kills for memory, an
integer overflow deep in numpy or torch, or a loop that never ends.

>>> require_size(10, "segments", MAX_SEGMENTS)
10
>>> require_memory(2**80, "the data")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
identcheck.errors.DataError: the data need about 1.13e+15 GB, more than this machine's ... GB of memory
"""

from __future__ import annotations

import operator
import os
from typing import Any

from .errors import DataError, IdentcheckError

__all__ = ["MAX_SEGMENTS", "MAX_MIXING_LAYERS", "MAX_EPOCHS", "MAX_SAMPLES_PER_ENV", "MAX_HIDDEN_UNITS",
           "MAX_PROBES", "physical_memory", "require_integer", "require_memory", "require_size"]

#: One-hot segments of a spec: the paper's data have 50 (fMRI 84); (iii) needs 2ℓ+1.
MAX_SEGMENTS = 10**5
#: Layers of a spec's random MLP mixing (the paper's: 3).
MAX_MIXING_LAYERS = 1000
#: Training epochs of one fit (the benchmark's longest: 300).
MAX_EPOCHS = 10**6
#: tanh units per mechanism of the synthetic data sets (App. F's: 3); 2000 take minutes to parse, and a sum of
#: 3000 is nested too deeply for Python's parser.
MAX_HIDDEN_UNITS = 1000
#: Probe points of `identcheck.check` (default 64); numpy asked for terabytes at 10**12.
MAX_PROBES = 10**6
#: Rows per environment of a sweep's budget, checked when the sweep file is read (simulate checks the memory).
MAX_SAMPLES_PER_ENV = 10**9


def require_integer(value: Any, name: str, minimum: int) -> int:
    """`value` as an int >= minimum (numpy integers accepted, bools refused), else DataError.

    >>> require_integer(3, "segments", 1)
    3
    """
    kind = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
    try:
        number = operator.index(value)
    except TypeError:
        raise DataError(f"{name} must be {kind}, got {value!r}") from None
    if isinstance(value, bool) or number < minimum:
        raise DataError(f"{name} must be {kind}, got {value!r}")
    return number


def require_size(value: int, name: str, largest: int, error: type[IdentcheckError] = DataError) -> int:
    """``value`` when it is at most ``largest``, else ``error`` naming ``name``."""
    if value > largest:
        raise error(f"{name} = {value} is beyond the largest this toolkit accepts ({largest:,})")
    return value


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def require_memory(n_bytes: int, what: str) -> None:
    """DataError when ``what`` needs more than this machine's memory (``n_bytes``, a Python int: no overflow)."""
    total = physical_memory()
    if total is not None and n_bytes > total:
        raise DataError(f"{what} need about {n_bytes / 2**30:.3g} GB, more than this machine's "
                        f"{total / 2**30:.3g} GB of memory")
