"""Built-in examples: the SPEC §4 catalogue (C1-C17) shipped as spec files.

>>> "C9" in example_names()
True
>>> load_example("C9").parents("z3")
('z1', 'z2')
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import yaml

from ..errors import SpecError
from ..scm import SCM

__all__ = ["example_names", "example_path", "example_description", "load_example"]


def _sort_key(name: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def example_names() -> list[str]:
    """Names of the built-in examples, in catalogue order.

    >>> example_names()[:3]
    ['C1', 'C2', 'C3']
    """
    folder = resources.files(__name__)
    return sorted((p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")), key=_sort_key)


def example_path(name: str) -> Path:
    """Path of a built-in example's spec file; SpecError for an unknown name.

    >>> example_path("C1").name, example_path("examples/C1").name
    ('C1.yaml', 'C1.yaml')
    >>> example_path("C99")
    Traceback (most recent call last):
    ...
    identcheck.errors.SpecError: unknown example 'C99' (see `identcheck examples`)
    """
    if not isinstance(name, str):
        raise SpecError(f"an example name is a string, got {type(name).__name__} (see `identcheck examples`)")
    name = name.removeprefix("examples/")
    if name not in example_names():
        raise SpecError(f"unknown example '{name}' (see `identcheck examples`)")
    return Path(str(resources.files(__name__).joinpath(f"{name}.yaml")))


def example_description(name: str) -> str:
    """The one-line description of a built-in example.

    >>> example_description("C1")
    '1->2, g2 = u*z1: (iv) holds (zero at u=0, non-zero at u=1); both nodes identifiable'
    """
    return str(yaml.safe_load(example_path(name).read_text(encoding="utf-8")).get("description", ""))


def load_example(name: str) -> SCM:
    """Load a built-in example as an SCM.

    >>> scm = load_example("C1")
    >>> scm.name, scm.latents, scm.edges
    ('C1', ('z1', 'z2'), (('z1', 'z2'),))
    """
    from ..spec import load_spec

    return load_spec(example_path(name))
