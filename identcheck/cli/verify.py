"""`identcheck verify SPEC [--example NAME] [--seed S] [--samples-per-env N] [--epochs K] [--seeds K] [--quick]
[--method auto|NAME[:PRESET]] [--jobs J] [--threshold T] [--plot out.png] [--format text|json|markdown]`
(CONTRACT §4).

Exit 0 when every node with a prediction is consistent with it, 1 otherwise, 2 for bad input.
"""

from __future__ import annotations

import argparse

from .common import (add_spec_arguments, at_least, load_scm, not_the_spec, non_empty_path, stderr_is_terminal,
                     write_report)

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `verify` subcommand."""
    parser = subparsers.add_parser(
        "verify", help="check a spec, then simulate, learn and compare node by node",
        description="Check the spec, simulate data, fit the learner with the reference environments the checker "
                    "found pinned, and compare every latent with its prediction (CONTRACT §4). Exit 0 when every "
                    "node with a prediction is consistent, 1 otherwise, 2 for invalid input.")
    add_spec_arguments(parser)
    parser.add_argument("--seed", type=at_least(0), default=0, metavar="S",
                        help="random seed in [0, 2**32) (default 0)")
    parser.add_argument("--samples-per-env", type=at_least(2), metavar="N",
                        help="simulated rows per environment (default: 2000, 500 with --quick)")
    parser.add_argument("--epochs", type=at_least(1), metavar="K",
                        help="training epochs (default: 300, 100 with --quick)")
    parser.add_argument("--seeds", type=at_least(1), default=1, metavar="K",
                        help="repeat with seeds S..S+K-1 and report a 95%% interval per node (default 1)")
    parser.add_argument("--quick", action="store_true", help="a fast, coarse run")
    parser.add_argument("--method", default="auto", metavar="NAME",
                        help="learner: auto (default: latent_mlp:ordered when d = l <= 3, latent_mlp:greedy when "
                             "d = l > 3, the ELBO learner latent_mlp when d != l), a learner name, or NAME:PRESET "
                             "with a preset exact, pretrained, ordered, greedy or rotated (the exact likelihood, "
                             "d = l; README, learner benchmark); --epochs and the budget's restarts apply on top, "
                             "and the preset's no-edge and search stages scale with --epochs")
    parser.add_argument("--jobs", type=at_least(1), default=1, metavar="J",
                        help="train each fit's restarts in J processes (default 1); the results are the same, "
                             "sooner on free cores")
    parser.add_argument("--threshold", type=float, default=0.9, metavar="T",
                        help="correlation an identifiable node must reach (default 0.9)")
    parser.add_argument("--plot", type=non_empty_path, metavar="IMAGE",
                        help="also draw verdicts vs recovery and the learned graph into this file; its suffix "
                             "names the format (.png, .pdf, .svg, ...; PNG without one), checked before the fit")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                        help="text for people (default), json (CONTRACT §4), or markdown")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Verify, print the report in the chosen format, optionally plot, and return the exit code."""
    from ..verify import plot_format, verify

    if args.plot:
        not_the_spec(args, args.plot, "--plot")
        plot_format(args.plot)  # a bad path fails now, not after the fit
    report = verify(load_scm(args), seed=args.seed, samples_per_env=args.samples_per_env, epochs=args.epochs,
                    seeds=args.seeds, threshold=args.threshold, quick=args.quick, method=args.method,
                    learner_params={"n_jobs": args.jobs}, progress=stderr_is_terminal())
    if args.plot:
        report.plot(args.plot)
    write_report(report, args.format)
    return 0 if report.consistent else 1
