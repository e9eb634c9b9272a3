"""What every benchmark script does with bad input, as `identcheck` does: an `IdentcheckError`, a file that
cannot be read or written, or a stored JSON file that is not JSON is one line on stderr and exit 2, with no
traceback. Each script ends with ``run_script(main)``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

from identcheck import IdentcheckError


def run_script(main: Callable[[], object]) -> None:
    """Call a script's ``main``; bad input exits 2 with one line naming the script and the problem."""
    name = Path(sys.argv[0]).name
    try:
        main()
    except IdentcheckError as exc:
        problem = str(exc)
    except OSError as exc:  # a stored run or an --out that cannot be read or written
        problem = f"cannot use {exc.filename or 'a file'} ({exc.strerror or type(exc).__name__})"
    except json.JSONDecodeError as exc:
        problem = f"a stored file is not JSON ({exc.msg}, line {exc.lineno})"
    else:
        return
    print(f"{name}: error: {' '.join(problem.split())}", file=sys.stderr)
    raise SystemExit(2)


def stored_runs(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``settings`` and ``runs`` of a file bench_learner.py wrote (fig1_/fig2_<method>...json); another
    JSON file (a check report, a list) is an IdentcheckError naming it, not a KeyError traceback."""
    payload = json.loads(Path(path).read_text())
    if not (isinstance(payload, dict) and isinstance(payload.get("settings"), dict)
            and isinstance(payload.get("runs"), dict) and payload["runs"]):
        raise IdentcheckError(f"{path}: not a method file of bench_learner.py (no 'settings' and 'runs' mappings)")
    return payload["settings"], payload["runs"]
