"""The command line: `identcheck <command> ...`, the only place that prints and picks exit codes.

Each subcommand lives in its own module of this package, named in `SUBCOMMANDS`, and exposes
`register(subparsers)`: it adds its parser and sets `run=function(args) -> int` as a default. Keep heavy
imports (torch, the learner) inside `run`, so that `identcheck check` starts fast.

Exit codes: what `run` returns (0 / 1 as the command defines), 2 for invalid input or usage: an
`IdentcheckError` or an argparse error becomes exactly one line on stderr and nothing on stdout, and so does
running out of memory (a request too large for the machine). A warning (`IdentcheckWarning`, or a
library's) is one line on stderr, "identcheck: warning: ...", and changes no exit code (a sweep writes its
runs' warnings into results.csv instead). An unexpected
exception (a bug) is one line too, exit 3; set IDENTCHECK_DEBUG=1 to see its traceback.

>>> main(["check", "--example", "C1", "--format", "json"])  # doctest: +ELLIPSIS
{...
0
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
import warnings
from typing import Iterator, NoReturn, Sequence

from ..errors import IdentcheckError

__all__ = ["main", "build_parser", "say", "SUBCOMMANDS", "UsageError"]

#: Subcommand modules of identcheck.cli, in the order `identcheck --help` lists them; add one name per module.
SUBCOMMANDS: tuple[str, ...] = ("check", "examples", "simulate", "verify", "sweep")


class UsageError(IdentcheckError):
    """A command line that argparse (or a command) rejects: reported in one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `error` raises instead of printing the usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """The `identcheck` parser with every registered subcommand."""
    parser = _Parser(prog="identcheck", description="Decide whether the latents of a latent causal model are "
                     "identifiable (Liu et al., Identifiable Latent Neural Causal Models), and verify it.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"identcheck {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


class _Stopped(BaseException):
    """SIGTERM or SIGHUP (`timeout`, a batch scheduler, a closed terminal), raised like KeyboardInterrupt so
    that files being written are removed on the way out (a handler's default would skip every `finally`)."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)


@contextlib.contextmanager
def _stopping_cleanly() -> Iterator[None]:
    """While the command runs, SIGTERM and SIGHUP raise `_Stopped` (main thread only, handlers restored)."""
    wanted = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {s: signal.signal(s, _stop) for s in wanted}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def say(line: str) -> None:
    """Write one line on stderr. A stderr closed at start (`2>&-`: None, or a descriptor that fails) loses the
    line, never the command: print would write to stdout instead, or raise and turn the exit code into 1."""
    if sys.stderr is None:
        return
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):  # EBADF; ValueError: the stream was closed
        pass


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    say(f"identcheck: warning: {_one_line(message)}")


def _ascii_safe_streams() -> None:
    """Where stdout or stderr cannot encode the reports' characters (ℓ, ≤, under LC_ALL=C with PYTHONUTF8=0),
    write them as backslash escapes instead of failing; a UTF-8 stream is left as it is."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # closed at start (`>&-`): `common.write` skips a closed stdout, print a closed stderr
            continue
        try:
            "ℓ≤".encode(stream.encoding or "utf-8")
        except (UnicodeEncodeError, LookupError):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (the `identcheck` script exits with it)."""
    _ascii_safe_streams()
    try:
        with _stopping_cleanly(), warnings.catch_warnings():
            warnings.showwarning = _show_warning  # a warning is one line too, without the code that raised it
            args = build_parser().parse_args(argv)
            return int(args.run(args))
    except SystemExit as exc:  # --help and --version print and exit 0
        return exc.code if isinstance(exc.code, int) else 0
    except IdentcheckError as exc:
        say(f"identcheck: error: {_one_line(exc)}")
        return 2
    except BrokenPipeError:  # the reader went away mid-command (`write` handles it at the end of a command)
        from .common import silence_stdout

        silence_stdout()
        return 1
    except KeyboardInterrupt:
        say("identcheck: interrupted")
        return 130
    except _Stopped as stop:
        number = int(stop.args[0])
        say(f"identcheck: stopped by {signal.Signals(number).name}")
        return 128 + number
    except MemoryError as exc:  # the request, not the code: too many samples, segments or latents for this machine
        say(f"identcheck: error: not enough memory for this request ({_one_line(exc) or 'MemoryError'}); ask for "
            "fewer samples, segments or latents")
        return 2
    except Exception as exc:  # a bug, not bad input: still no traceback unless asked for
        if os.environ.get("IDENTCHECK_DEBUG"):
            raise
        say(f"identcheck: internal error (please report; IDENTCHECK_DEBUG=1 shows the traceback): "
            f"{type(exc).__name__}: {_one_line(exc)}")
        return 3
