"""`identcheck examples`: list the built-in example specs (the SPEC §4 catalogue) with their descriptions."""

from __future__ import annotations

import argparse

from ..examples import example_description, example_names
from .common import write

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `examples` subcommand."""
    parser = subparsers.add_parser(
        "examples", help="list the built-in examples (use them with --example NAME)",
        description="List the built-in example specs, one per line: name and one-line description.")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per example: the name, padded, then its description."""
    names = example_names()
    width = max(map(len, names))
    write("\n".join(f"{name:<{width}}  {example_description(name)}" for name in names))
    return 0
