"""The `Dataset`: arrays drawn from an SCM (or loaded from a table) plus what is needed to re-check them.

Saved as an `.npz` (CONTRACT §3) holding x, u, z, n, latents and, beside them, the spec text and the seed,
so the file alone can be re-checked: `Dataset.load` rebuilds the SCM from the stored spec. Files are
written atomically (a temporary file renamed into place) with fixed zip timestamps: the same data give
the same bytes.

>>> import tempfile, os
>>> from identcheck import load_example, simulate
>>> data = simulate(load_example("C1"), samples_per_env=20, seed=1)
>>> path = os.path.join(tempfile.mkdtemp(), "c1.npz")
>>> data.save(path)
>>> again = Dataset.load(path)
>>> bool((again.x == data.x).all()), again.scm.edges, again.seed
(True, (('z1', 'z2'),), 1)
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import yaml

from ..errors import DataError, IdentcheckError
from ..files import write_atomically
from ..scm import SCM
from ..spec import from_text

__all__ = ["Dataset"]

#: Zip entries get this fixed date (the earliest DOS date), so saving is byte-for-byte reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_REQUIRED = ("x", "u", "z", "latents", "env_values", "env_labels", "adjacency", "seed", "name")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Rows of all environments, sorted by environment.

    x: (N·E, d) observations, or (N·E, 3, H, W) float32 images for `identcheck.datasets.image`.
    u: (N·E,) environment index 0..E−1.  z, n: (N·E, ℓ) latents and noise, columns in `latents` order
    (n is None when the noise is not known, as for `identcheck.datasets.fmri`).
    env_values: (E, m) u values (m = 0 for segments); env_labels: the environments as the spec writes them.
    adjacency: (ℓ, ℓ) bool, A[j, i] for an edge z_j -> z_i (spec order).
    scm: the model the data were drawn from (None for real data); seed: the seed used.
    reference_envs: environments where every causal weight vanishes by construction (set by the
    `identcheck.datasets` generators; a learner may pin them, SPEC §6).
    mixing_params: what the mixing used: the MLP weight matrices W_1..W_L (shape (out, in)), the object
    masks (3, H, W) for images, () for expression mixings.
    """

    x: np.ndarray
    u: np.ndarray
    z: np.ndarray
    n: np.ndarray | None
    latents: tuple[str, ...]
    env_values: np.ndarray
    env_labels: tuple[Any, ...]
    adjacency: np.ndarray
    scm: SCM | None
    seed: int
    name: str = "data"
    reference_envs: tuple[int, ...] = ()
    mixing_params: tuple[np.ndarray, ...] = ()

    @property
    def n_envs(self) -> int:
        """E, the number of environments."""
        return len(self.env_labels)

    @property
    def samples_per_env(self) -> np.ndarray:
        """(E,) number of rows in each environment."""
        return np.bincount(self.u, minlength=self.n_envs)

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        """True edges (parent, child) read from `adjacency`."""
        return tuple((self.latents[j], self.latents[i]) for j, i in zip(*np.nonzero(self.adjacency)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no arrays)."""
        return {"name": self.name, "latents": list(self.latents), "edges": [list(e) for e in self.edges],
                "rows": int(len(self.u)), "environments": self.n_envs, "x_shape": list(self.x.shape),
                "seed": self.seed, "reference_envs": list(self.reference_envs)}

    def __str__(self) -> str:
        counts = self.samples_per_env
        per_env = f"{counts[0]} each" if counts.min() == counts.max() else f"{counts.min()}-{counts.max()} each"
        ref = f", reference environments {list(self.reference_envs)}" if self.reference_envs else ""
        return (f"Dataset '{self.name}': {len(self.u)} rows in {self.n_envs} environments ({per_env}), "
                f"x {tuple(self.x.shape)}, latents {', '.join(self.latents)}, edges {_arrows(self.edges)}, "
                f"seed {self.seed}{ref}")

    # -- files -------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write an .npz at exactly `path`, atomically; DataError if it cannot be written."""
        arrays = self._arrays()

        def write(stream: BinaryIO) -> None:
            with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
                for key, value in arrays.items():
                    info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
                    info.external_attr = 0o644 << 16
                    with archive.open(info, "w", force_zip64=True) as entry:
                        np.lib.format.write_array(entry, value, allow_pickle=False)

        write_atomically(path, write)

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {"x": self.x, "u": self.u, "z": self.z}
        if self.n is not None:
            arrays["n"] = self.n
        arrays.update(
            latents=np.array(self.latents, dtype=str), env_values=self.env_values,
            env_labels=np.array(json.dumps(_plain(self.env_labels))), adjacency=self.adjacency,
            seed=np.array(self.seed, dtype=np.int64), name=np.array(self.name),
            reference_envs=np.array(self.reference_envs, dtype=np.int64),
            spec=np.array("" if self.scm is None else _spec_text(self.scm)))
        arrays.update({f"mixing_{k}": w for k, w in enumerate(self.mixing_params)})
        return {k: np.asarray(v) for k, v in arrays.items()}

    @classmethod
    def load(cls, path: str | Path) -> "Dataset":
        """Read a file written by `save`; the SCM is rebuilt from the stored spec text.

        DataError when the file is missing, not an npz, lacks a required array, or holds arrays that disagree
        with each other (rows, latents, environment indices, non-finite x or z).
        """
        path = Path(path)
        if path.is_file() and not zipfile.is_zipfile(path):  # numpy would read it as pickled data, and say so
            raise DataError(f"{path}: not an .npz archive (a data set is a zip archive of NumPy arrays)")
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {k: archive[k] for k in archive.files}
        except FileNotFoundError:
            raise DataError(f"{path}: file not found") from None
        except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:  # EOFError: an empty file
            raise DataError(f"{path}: not a readable .npz file ({exc})") from None
        missing = [k for k in _REQUIRED if k not in arrays]
        if missing:
            raise DataError(f"{path}: not an identcheck data set (missing array '{missing[0]}')")
        try:
            data = cls(
                x=arrays["x"], u=arrays["u"], z=arrays["z"], n=arrays.get("n"),
                latents=tuple(str(s) for s in arrays["latents"]), env_values=arrays["env_values"],
                env_labels=_labels(json.loads(str(arrays["env_labels"]))), adjacency=arrays["adjacency"],
                scm=_scm(str(arrays.get("spec", "")), path), seed=int(arrays["seed"]), name=str(arrays["name"]),
                reference_envs=tuple(int(k) for k in arrays.get("reference_envs", ())),
                mixing_params=tuple(arrays[k] for k in sorted((k for k in arrays if k.startswith("mixing_")),
                                                              key=lambda k: int(k.removeprefix("mixing_")))),
            )
        except (TypeError, ValueError) as exc:  # an array of the wrong kind: json, int() or iteration fails
            raise DataError(f"{path}: a damaged identcheck data set ({type(exc).__name__}: {exc})") from None
        problem = _inconsistency(data)
        if problem:
            raise DataError(f"{path}: a damaged identcheck data set ({problem})")
        return data


def _arrows(edges: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{p}->{c}" for p, c in edges) if edges else "none"


def _spec_text(scm: SCM) -> str:
    try:
        return yaml.safe_dump(_python_numbers(scm.spec), sort_keys=False, default_flow_style=None, width=110)
    except yaml.YAMLError as exc:
        raise DataError(f"the spec of '{scm.name}' cannot be written as YAML ({exc})") from None


def _python_numbers(value: Any) -> Any:
    """The spec with numpy scalars as Python numbers (np.float64(0.5) -> 0.5), which YAML can write: from_dict
    accepts numpy numbers, so a spec built with numpy simulates and must also save.

    >>> _python_numbers({"values": [np.float64(0.5), np.int64(2)], "family": "gaussian"})
    {'values': [0.5, 2], 'family': 'gaussian'}
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _python_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_python_numbers(v) for v in value]
    return value


def _inconsistency(data: Dataset) -> str | None:
    """What makes the arrays of a loaded data set disagree with each other, or None when they agree."""
    if data.u.ndim != 1 or not np.issubdtype(data.u.dtype, np.integer):
        return f"u must be integer environment indices of shape (N,), got {data.u.dtype} {data.u.shape}"
    rows, ell = len(data.u), len(data.latents)
    if rows and (data.u.min() < 0 or data.u.max() >= data.n_envs):
        return f"u must lie in 0..{data.n_envs - 1}, the {data.n_envs} environments of env_labels"
    shapes = {"x": (data.x, (2, 4)), "z": (data.z, (2,)), "n": (data.n, (2,))}
    for name, (array, ndims) in shapes.items():
        if array is None:
            continue
        if array.ndim not in ndims or len(array) != rows:
            return f"{name} has shape {array.shape}, expected {rows} rows like u"
        real = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
        if not real or not np.isfinite(array).all():  # complex is a number too, and no learner takes it
            return f"{name} must be finite real numbers"
    if data.z.shape[1] != ell or (data.n is not None and data.n.shape[1] != ell):
        return f"z and n must have one column per latent ({ell})"
    if data.adjacency.shape != (ell, ell):
        return f"adjacency has shape {data.adjacency.shape}, expected ({ell}, {ell})"
    if data.scm is not None and data.scm.latents != data.latents:
        return f"latents {data.latents} are not the stored spec's {data.scm.latents}"
    if data.scm is not None and data.scm.environments.count != data.n_envs:
        return f"{data.n_envs} environments in env_labels, but the stored spec has {data.scm.environments.count}"
    return None


def _scm(text: str, path: Path) -> SCM | None:
    if not text:
        return None
    try:
        return from_text(text, source=f"{path}:spec")
    except IdentcheckError as exc:
        raise DataError(f"{path}: the stored spec is invalid ({exc})") from None


def _plain(labels: tuple[Any, ...]) -> list[Any]:
    """Environment labels as JSON values (numpy scalars to Python numbers, tuples to lists)."""
    return [list(map(float, v)) if isinstance(v, (tuple, list)) else v.item() if hasattr(v, "item") else v
            for v in labels]


def _labels(values: list[Any]) -> tuple[Any, ...]:
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)
