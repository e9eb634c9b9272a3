"""Writing files so that they appear whole or not at all (a temporary file beside the target, renamed into
place): data sets, learners, plots, sweep results. Every layer may use it; it depends on nothing else here."""

from __future__ import annotations

import os
import secrets
import stat
from os import PathLike
from pathlib import Path
from typing import BinaryIO, Callable

from .errors import DataError

__all__ = ["write_atomically"]


def write_atomically(path: str | PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Call `write` on a temporary file beside `path`, then rename it to `path`: the file appears whole or
    not at all. DataError when it cannot be written. A symbolic link is followed (the file it names is
    replaced, the link stays); a FIFO or a device such as /dev/stdout is written into directly, since it
    cannot be replaced.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.bin")
    >>> write_atomically(path, lambda stream: stream.write(b"ok"))
    >>> open(path, "rb").read()
    b'ok'
    """
    path = Path(path)
    if not path.name:  # "" or "." or "/": no file name to write
        raise DataError(f"cannot write {str(path)!r}: not a file name")
    try:
        kind: int | None = os.stat(path).st_mode
    except OSError:  # no such file yet (or a name the system refuses: the write below says so)
        kind = None
    if kind is not None and not (stat.S_ISREG(kind) or stat.S_ISDIR(kind)):
        _write_through(path, write)  # a FIFO or a device (/dev/stdout): it cannot be replaced, only written
        return
    try:
        if path.is_symlink():  # write the file the link names (even one not there yet), and keep the link
            path = Path(os.path.realpath(path))
    except OSError:
        pass
    # a short temporary name beside the target (a long target name must not make it too long)
    temp = path.with_name(f".identcheck-{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        # os.open with mode 0o666 lets the umask decide the permissions, as for any new file. It opens inside
        # the try: a signal that lands just after it (SIGTERM raises _Stopped between two bytecodes) must
        # still find the `finally` that removes the file (the name is this process's own, so any file there
        # is this call's)
        handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temp, path)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if temp.exists():
            temp.unlink()


def _write_through(path: Path, write: Callable[[BinaryIO], object]) -> None:
    try:
        with open(path, "wb") as stream:
            write(stream)
    except BrokenPipeError:  # the reader went away: not a bad input (the CLI stops quietly, as on stdout)
        raise
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None
