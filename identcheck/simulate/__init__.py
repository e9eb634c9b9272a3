"""Simulation layer: SCM -> `Dataset` (SPEC §1 Eqs. 1-3, 5), with the mixing of SPEC §6.

>>> from identcheck import load_example
>>> from identcheck.simulate import simulate
>>> simulate(load_example("C7"), samples_per_env=5).z.shape
(35, 3)
"""

from .dataset import Dataset
from .mixing import ExpressionMixing, MLPMixing, mixing_for, random_mlp, random_orthogonal
from .sampler import latents_from_noise, require_memory_for, sample_noise, simulate

__all__ = ["simulate", "require_memory_for", "Dataset", "sample_noise", "latents_from_noise", "MLPMixing",
           "ExpressionMixing", "random_mlp", "random_orthogonal", "mixing_for"]
