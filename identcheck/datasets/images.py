"""Image data in the spirit of the Chemistry environment (SPEC §6, "Image data"): three objects, a
diamond (z1), a triangle (z2) and a square (z3), at fixed places on a black RGB canvas, each coloured by
its own latent; the latents follow a nonlinear Gaussian-noise chain z1 -> z2 -> z3 over one-hot segments.

The model is a spec (built by the same λ-modulated tanh mechanisms as `identcheck.datasets.synthetic`,
λ = 0 in the reference segment), so `identcheck check` sees its truth. Its mixing is the 9 colour
coordinates, written as spec expressions: object k has colour c(s_k) with s_k = sigmoid(z_k / 2) and

    c(s) = (s, 0.5 + 0.4·sin(2πs), 1 − s),

a smooth curve in the RGB cube that is injective (its red coordinate is s). The renderer then places
the colours on the object masks, x = Σ_k mask_k ⊗ c(s_k), a fixed injective linear map (the masks are
disjoint and non-empty), so the whole image map is injective, (ii). The masks are rasterised once with
Pillow (at 4× resolution, box-averaged for smooth edges); colouring is one matrix product for all images.

>>> data = image(samples_per_segment=4, segments=7, size=32)
>>> data.x.shape, data.x.dtype, data.latents
((28, 3, 32, 32), dtype('float32'), ('z1', 'z2', 'z3'))
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..errors import DataError
from ..simulate import Dataset, simulate
from ..files import write_atomically
from ..sizes import require_integer, require_memory
from ..spec import from_dict
from .paper import _model_rng, _reference_words, _segment_model, _segments

__all__ = ["image", "object_masks", "render", "save_grid"]

_SUPERSAMPLE = 4
#: Bytes per pixel: of an image (3 float32 channels) and of the masks (per object: the 16 supersampled
#: bytes of its canvas and their float32 copy, and the float32 mask).
_IMAGE_BYTES, _MASK_BYTES = 12, 3 * (5 * _SUPERSAMPLE**2 + 4)
#: Object outlines in unit coordinates (x right, y down): diamond upper left, triangle upper right,
#: square at the bottom centre; they do not overlap.
_SHAPES = (
    ((0.27, 0.08), (0.45, 0.27), (0.27, 0.46), (0.09, 0.27)),
    ((0.73, 0.09), (0.92, 0.44), (0.54, 0.44)),
    ((0.34, 0.58), (0.66, 0.58), (0.66, 0.90), (0.34, 0.90)),
)


def _colour_expressions(latent: str) -> list[str]:
    s = f"(1 + tanh({latent}/4))/2"  # = sigmoid(z/2), written with tanh so that no term overflows
    return [s, f"1/2 + 2/5*sin(2*pi*{s})", f"1 - {s}"]


def image(samples_per_segment: int = 200, segments: int = 10, size: int = 64, seed: int = 0, *,
          reference_segment: int | Sequence[int] = 0) -> Dataset:
    """Images (N·E, 3, size, size), float32 in [0, 1]; `Dataset.z` holds the latents, `mixing_params`
    the (3, size, size) object masks, `scm.mixing` the colour expressions.

    >>> data = image(samples_per_segment=2, segments=7, size=16, seed=1)
    >>> bool(0 <= data.x.min() and data.x.max() <= 1), data.reference_envs, data.edges
    (True, (0,), (('z1', 'z2'), ('z2', 'z3')))
    """
    side = require_integer(size, "size", 8)
    count, refs = _segments(segments, reference_segment)
    rows = count * require_integer(samples_per_segment, "samples_per_segment", 1)
    require_memory(_IMAGE_BYTES * rows * side**2 + _MASK_BYTES * side**2,
                   f"{rows} images of size = {side} ({count} segments x {rows // count} samples_per_segment)")
    names = ["z1", "z2", "z3"]
    model = _segment_model(_model_rng(seed), names, [(0, 1), (1, 2)], count, refs, set(), 2, 1.0)
    spec = {"identcheck": 1, "name": "image",
            "description": f"three objects (diamond z1 -> triangle z2 -> square z3) coloured by their latents; "
                           f"mixing.x lists the 9 RGB values that the renderer paints on {side}x{side} masks; "
                           f"lambda = 0 in {_reference_words(refs)}",
            "latents": names, **model,
            "mixing": {"kind": "expression", "x": [e for name in names for e in _colour_expressions(name)]},
            "observation_noise": {"family": "none"}}
    colours = simulate(from_dict(spec, source="<image>"), samples_per_segment, seed)
    masks = object_masks(side)
    return replace(colours, x=render(colours.x, masks), reference_envs=refs, mixing_params=(masks,))


def object_masks(size: int) -> np.ndarray:
    """(3, size, size) float32 coverage of the diamond, triangle and square, in [0, 1].

    >>> m = object_masks(16)
    >>> m.shape, bool((m.sum(axis=0) <= 1).all())
    ((3, 16, 16), True)
    """
    big = size * _SUPERSAMPLE
    masks = []
    for outline in _SHAPES:
        canvas = Image.new("L", (big, big), 0)
        ImageDraw.Draw(canvas).polygon([(x * big, y * big) for x, y in outline], fill=255)
        pixels = np.asarray(canvas, dtype=np.float32) / 255
        masks.append(pixels.reshape(size, _SUPERSAMPLE, size, _SUPERSAMPLE).mean(axis=(1, 3)))
    return np.stack(masks)


def render(colours: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Paint per-object RGB colours (N, 3 objects · 3 channels) on masks (3, H, W): (N, 3, H, W) float32.

    >>> render(np.ones((1, 9)), object_masks(8)).shape
    (1, 3, 8, 8)
    """
    objects, height, width = masks.shape
    per_channel = colours.astype(np.float32).reshape(len(colours), objects, 3).transpose(0, 2, 1)
    return (per_channel @ masks.reshape(objects, height * width)).reshape(len(colours), 3, height, width)


def save_grid(dataset: Dataset, path: str | Path, rows: int = 4, cols: int = 8) -> None:
    """Write a PNG grid of rows × cols images spread evenly over the data set (so over the segments),
    atomically; DataError when the data are not images or the file cannot be written.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "grid.png")
    >>> save_grid(image(samples_per_segment=2, segments=7, size=8), path, rows=2, cols=3)
    >>> Image.open(path).size
    (32, 22)
    """
    if dataset.x.ndim != 4 or dataset.x.shape[1] != 3:
        raise DataError(f"save_grid needs images (N, 3, H, W), got x of shape {dataset.x.shape}")
    rows, cols = require_integer(rows, "rows", 1), require_integer(cols, "cols", 1)
    pick = np.linspace(0, len(dataset.x) - 1, rows * cols).round().astype(int)
    _, _, height, width = dataset.x.shape
    gap = 2
    grid = np.ones((rows * (height + gap) + gap, cols * (width + gap) + gap, 3), dtype=np.float32)
    for k, index in enumerate(pick):
        top, left = gap + (k // cols) * (height + gap), gap + (k % cols) * (width + gap)
        grid[top:top + height, left:left + width] = dataset.x[index].transpose(1, 2, 0)
    picture = Image.fromarray(np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8))
    write_atomically(path, lambda stream: picture.save(stream, format="PNG", optimize=True))
