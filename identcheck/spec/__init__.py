"""Spec layer: YAML / dict / networkx inputs -> validated `SCM` (CONTRACT §1)."""

from .expressions import parse_expression
from .loader import from_dict, from_graph, from_text, load_spec

__all__ = ["load_spec", "from_text", "from_dict", "from_graph", "parse_expression"]
