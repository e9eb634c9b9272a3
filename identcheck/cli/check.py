"""`identcheck check SPEC [--format text|json|markdown] [--example NAME]` (CONTRACT §2).

Exit 0 when every latent is identifiable, 1 when the spec is valid but some latent is not, 2 for bad input.
"""

from __future__ import annotations

import argparse

from .common import add_spec_arguments, load_scm, write_report

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `check` subcommand."""
    parser = subparsers.add_parser(
        "check", help="check assumptions (i)-(iv) and give every latent its verdict",
        description="Check assumptions (i)-(iv) of a spec and say which latents are identifiable. Exit 0 when "
                    "every latent is identifiable, 1 when some is not, 2 for invalid input.")
    add_spec_arguments(parser)
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                        help="text for people (default), json (CONTRACT §2), or markdown")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Check the spec, print the report in the chosen format, and return the exit code."""
    from ..check import check

    report = check(load_scm(args))
    write_report(report, args.format)
    return 0 if report.fully_identifiable else 1
