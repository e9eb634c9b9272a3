"""Validation of the arrays handed to a learner; every problem is a `DataError` naming the argument.

>>> as_env_index(np.array([[0, 1], [1, 0]]), n_samples=2)
(array([1, 0]), 2)
"""

from __future__ import annotations

import numpy as np

from identcheck.errors import DataError

__all__ = ["as_real_array", "as_features", "as_env_index", "on_host"]


def on_host(a: object) -> object:
    """A torch tensor detached and on the CPU (numpy refuses one that requires grad or lives on a GPU);
    anything else as it is."""
    detach = getattr(a, "detach", None)
    return detach().cpu() if callable(detach) and hasattr(a, "cpu") else a


def as_real_array(a: object, name: str, shape: str) -> np.ndarray:
    """``a`` as a float64 array; a `DataError` naming ``name`` (and the expected ``shape``, for the reader)
    when it holds complex numbers, which a cast would silently make real, or values that are not numbers.

    >>> as_real_array([[1, 2]], "z", "(N, k)").dtype
    dtype('float64')
    """
    try:
        raw = np.asarray(on_host(a))
        if np.iscomplexobj(raw):
            raise DataError(f"{name} must be real: it holds complex numbers")
        return raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array of shape {shape}: {exc}") from None


def as_features(x: object, *, n_features: int | None = None) -> np.ndarray:
    """Return ``x`` as a finite float64 array of shape (N, d) within the float32 range; check d against
    ``n_features`` if given. It stays float64: the learner standardises it first and casts to float32 after,
    so a large offset or scale loses nothing to float32 rounding or overflow.

    >>> as_features([[1, 2], [3, 4]]).dtype
    dtype('float64')
    """
    arr = as_real_array(x, "x", "(N, d)")
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(f"x must have shape (N, d) with N, d >= 1, got shape {arr.shape}")
    if n_features is not None and arr.shape[1] != n_features:
        raise DataError(f"x has {arr.shape[1]} features but the learner was fitted on {n_features}")
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(f"x contains {int(bad.sum())} NaN/inf value(s), the first at row {row}, column {col}")
    if np.abs(arr).max() > np.finfo(np.float32).max:
        raise DataError(f"x has values beyond the float32 range the learners train in (up to "
                        f"{np.abs(arr).max():.3g}; float32 ends at {np.finfo(np.float32).max:.3g})")
    return arr


def as_env_index(u: object, *, n_samples: int, n_envs: int | None = None) -> tuple[np.ndarray, int]:
    """Turn ``u`` (environment indices (N,) or a one-hot matrix (N, E)) into indices and the number E.

    At fit time ``n_envs`` is None and E is inferred (max index + 1, or the one-hot width); afterwards an
    index outside 0..n_envs-1 or a one-hot of another width is a `DataError`.

    >>> as_env_index([0, 2, 1], n_samples=3)
    (array([0, 2, 1]), 3)
    """
    arr = np.asarray(on_host(u))
    if arr.dtype == object or np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DataError(f"u must be integer environment indices (N,) or a one-hot matrix (N, E), got {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise DataError(f"u must have shape (N,) or (N, E), got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise DataError(f"x has {n_samples} rows but u has {arr.shape[0]}")
    if arr.shape[0] == 0:
        raise DataError("u is empty: give at least one environment")
    if not np.isfinite(arr.astype(np.float64)).all():
        raise DataError("u contains NaN/inf")
    if arr.ndim == 2:
        if not (np.isin(arr, (0, 1)).all() and (arr.sum(1) == 1).all()):
            column = " (a column of environment indices? pass it flat, u.ravel())" if arr.shape[1] == 1 else ""
            raise DataError(f"a 2-D u must be one-hot: every row has a single 1 and zeros elsewhere{column}")
        width = arr.shape[1]
        if n_envs is not None and width != n_envs:
            raise DataError(f"u is one-hot over {width} environments but the learner was fitted on {n_envs}")
        return arr.argmax(1).astype(np.int64), width
    if not (arr == np.round(arr)).all() or (arr < 0).any():
        raise DataError("u must hold non-negative integer environment indices")
    largest = int(arr.max())
    if n_envs is None and largest >= n_samples:  # also keeps a stray 1e20 from sizing the learner's tables
        raise DataError(f"u has environment index {largest} with only {n_samples} rows: indices run over 0..E-1, "
                        "and E cannot exceed the number of rows")
    if n_envs is not None and largest >= n_envs:
        raise DataError(f"u has environment index {largest}, but the learner saw only 0..{n_envs - 1} at fit")
    index = arr.astype(np.int64)
    return index, largest + 1 if n_envs is None else n_envs
