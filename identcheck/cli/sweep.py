"""`identcheck sweep SWEEP.yaml --out DIR [--backend local|dask] [--address SCHEDULER] [--jobs N]` (CONTRACT §5).

Writes DIR/results.csv (one row per run, rewritten atomically after each run); a rerun skips runs already ok.
Exit 0 when every run is ok, 1 when some run failed, 2 for bad input.
"""

from __future__ import annotations

import argparse

from .common import at_least, non_empty_path, stderr_is_terminal, write

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `sweep` subcommand."""
    parser = subparsers.add_parser(
        "sweep", help="run verify (or a learner benchmark) over specs x seeds x methods, resumably",
        description="Run every spec x seed x method of a sweep file and write DIR/results.csv (CONTRACT §5). "
                    "Rerunning skips the runs already ok. Exit 0 when every run is ok, 1 when some failed, "
                    "2 for invalid input.")
    parser.add_argument("sweep", type=non_empty_path, metavar="SWEEP", help="the sweep file (YAML)")
    parser.add_argument("--out", required=True, type=non_empty_path, metavar="DIR", help="folder for results.csv")
    parser.add_argument("--backend", choices=("local", "dask"), default="local",
                        help="local processes (default) or a dask cluster (needs identcheck[dask])")
    parser.add_argument("--address", metavar="SCHEDULER", help="dask scheduler address (default: a local cluster)")
    parser.add_argument("--jobs", type=at_least(1), default=1, metavar="N", help="parallel runs (default 1)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the sweep, print a one-line summary, and return the exit code."""
    from ..sweep import sweep

    result = sweep(args.sweep, args.out, backend=args.backend, address=args.address, jobs=args.jobs,
                   progress=stderr_is_terminal())
    write(str(result))
    return 0 if all(row["status"] == "ok" for row in result.rows) else 1
