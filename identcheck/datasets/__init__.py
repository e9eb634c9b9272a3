"""The paper's data sets (SPEC §6): synthetic (App. F), partial (Fig. 2), image (Chemistry-like), fMRI.

>>> from identcheck.datasets import synthetic
>>> synthetic(latents=2, segments=5, samples_per_segment=3).x.shape
(15, 2)
"""

from .images import image, object_masks, render, save_grid
from .paper import fmri, partial, read_table, synthetic

__all__ = ["synthetic", "partial", "fmri", "read_table", "image", "object_masks", "render", "save_grid"]
