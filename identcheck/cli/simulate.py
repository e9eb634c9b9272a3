"""`identcheck simulate SPEC --samples-per-env N --seed S --out data.npz [--example NAME]` (CONTRACT §3).

Writes an .npz with x, u, z, n, latents, the spec text and the seed (`identcheck.Dataset.save`); the same
seed gives the same bytes. Exit 0 on success, 2 for bad input (nothing is written then).
"""

from __future__ import annotations

import argparse
from pathlib import PurePath

from . import UsageError, say
from .common import add_spec_arguments, is_stdout, load_scm, not_the_spec, non_empty_path, write

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `simulate` subcommand."""
    parser = subparsers.add_parser(
        "simulate", help="sample a data set from a spec and save it as .npz",
        description="Sample N rows in every environment of a spec (noise, latents in causal order, mixing, "
                    "observation noise) and write them as an .npz (CONTRACT §3). Same seed, same bytes.")
    add_spec_arguments(parser)
    parser.add_argument("--samples-per-env", type=int, default=1000, metavar="N",
                        help="rows per environment (default 1000)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed in [0, 2**32) (default 0)")
    parser.add_argument("--out", required=True, type=non_empty_path, metavar="PATH",
                        help="the .npz file to write (a name ending in another suffix, such as .csv, is refused)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Simulate, save atomically, and print one line saying what was written."""
    from ..simulate import simulate

    not_the_spec(args, args.out, "--out")
    suffix = PurePath(args.out).suffix
    if suffix and suffix.lower() != ".npz":  # no suffix is fine: a FIFO, /dev/stdout, a name of one's own
        raise UsageError(f"--out {args.out}: simulate writes a NumPy .npz archive, but the name ends in "
                         f"'{suffix}'; give a name ending in .npz")
    data = simulate(load_scm(args), args.samples_per_env, args.seed)
    data.save(args.out)
    summary = f"wrote {args.out}: {data}"
    if is_stdout(args.out):  # the data went to stdout: the summary must not follow it there
        say(summary)
    else:
        write(summary)
    return 0
