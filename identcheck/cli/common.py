"""Helpers shared by the subcommands: the spec argument (a file or `--example NAME`) and output.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_spec_arguments(parser)
>>> load_scm(parser.parse_args(["--example", "C1"])).name
'C1'
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Callable

from .. import examples
from ..errors import IdentcheckError, SpecError
from ..examples import example_names, load_example
from ..scm import SCM
from ..spec import load_spec

if TYPE_CHECKING:  # for the annotation only
    from ..report import Report
    from ..verify import VerifyReport

__all__ = ["add_spec_arguments", "at_least", "load_scm", "not_the_spec", "non_empty_path", "silence_stdout",
           "stderr_is_terminal", "write", "write_report"]


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``, with a one-line error otherwise (exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    return parse


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the positional SPEC (a YAML file) and its alternative `--example NAME` (a built-in spec)."""
    parser.add_argument("spec", nargs="?", type=non_empty_path, metavar="SPEC",
                        help="the spec file (YAML, CONTRACT §1)")
    parser.add_argument("--example", metavar="NAME",
                        help=f"a built-in example instead of SPEC ({', '.join(example_names())})")


def load_scm(args: argparse.Namespace) -> SCM:
    """The SCM named by SPEC or --example (exactly one of them); SpecError/UsageError otherwise."""
    from . import UsageError

    if (args.spec is None) == (args.example is None):
        raise UsageError("give exactly one of SPEC or --example NAME")
    return load_spec(args.spec) if args.spec is not None else load_example(args.example)


def not_the_spec(args: argparse.Namespace, path: str, option: str) -> None:
    """UsageError when the output ``path`` is the spec file itself: SPEC, or the built-in example's file for
    ``--example NAME`` (``--out spec.yaml`` would replace it; ``--out .../examples/C1.yaml`` would damage the
    installed package)."""
    from . import UsageError

    spec = _spec_file(args)
    try:
        same = spec is not None and os.path.samefile(spec, path)
    except OSError:  # no such output file yet (or no such spec: loading it says so)
        same = False
    if same:
        what = "the spec file itself" if args.spec is not None else f"the built-in example {args.example}'s file"
        raise UsageError(f"{option} {path} is {what}: writing there would replace the spec")


def _spec_file(args: argparse.Namespace) -> str | None:
    """The file SPEC or --example names; None for neither, or an unknown example (loading it says so)."""
    if args.spec is not None or args.example is None:
        return args.spec
    try:
        return str(examples.example_path(args.example))
    except SpecError:
        return None


def write(text: str) -> None:
    """Print a command's result on stdout (the only output channel of a successful command).

    When the reader has gone away (`identcheck check ... | true`), stdout is pointed at devnull so that the
    interpreter does not fail flushing it at exit (Python docs, "Note on SIGPIPE"), and the command keeps the
    exit code it decided. So does a command whose stdout was closed before it started (`>&-`: sys.stdout is
    None), where nothing reads the result either."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    except OSError as exc:  # a full disk (> /dev/full): bad output ground, as `--out` there is; exit 2
        silence_stdout()  # the unwritten text must not fail again when the interpreter flushes at exit
        raise IdentcheckError(f"cannot write to stdout: {exc.strerror or exc}") from None


def is_stdout(path: str) -> bool:
    """True when `path` is the file that stdout writes to (``--out /dev/stdout``, piped on)."""
    try:
        target, stdout = os.stat(path), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no such file yet, or a stdout without a descriptor
        return False
    return (target.st_dev, target.st_ino) == (stdout.st_dev, stdout.st_ino)


def stderr_is_terminal() -> bool:
    """Whether progress bars may be drawn: stderr is a terminal (False where it was closed at start, `2>&-`)."""
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (OSError, ValueError):
        return False


def silence_stdout() -> None:
    """Point the stdout file descriptor at devnull (after a broken pipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def non_empty_path(text: str) -> str:
    """An argparse type for the files and folders a command reads or writes: a non-empty path (exit 2
    otherwise; an empty SPEC was read as the folder '.')."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a non-empty path")
    return text


def write_report(report: Report | VerifyReport, fmt: str) -> None:
    """Print a report (check or verify) in the chosen format: JSON (`to_dict`), markdown or text."""
    import json

    if fmt == "json":
        write(json.dumps(report.to_dict(), indent=2))
    elif fmt == "markdown":
        write(report.to_markdown())
    else:
        write(str(report))
