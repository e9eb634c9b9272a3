"""A stand-in for `identcheck.sweep.execute`, for the tests of test_sweep.py that need a sweep in a process
of its own (to kill a worker, or to signal the sweep): ``python -m sweep_stand_ins ARGS...`` runs
``identcheck ARGS...`` with each run doing what the environment variable STAND_IN says for its seed instead
of fitting a learner.

STAND_IN: comma-separated ``seed:action``, the action one of ``ok`` (an ok row at once, the default),
``nap`` (an ok row after a second), ``sleep`` (an ok row after a minute) or ``kill`` (the worker process
kills itself with SIGKILL, as the out-of-memory killer does). STAND_IN_MARKS: a folder where each run leaves
an empty file named by its seed as it starts.
"""

import os
import signal
import sys
import time
from pathlib import Path

import identcheck.sweep
from identcheck.cli import main


def execute(run: identcheck.sweep.Run) -> dict[str, str]:
    """The row of ``run`` after doing what STAND_IN says for its seed."""
    marks = os.environ.get("STAND_IN_MARKS")
    if marks:
        (Path(marks) / str(run.seed)).touch()
    actions = dict(item.split(":") for item in os.environ.get("STAND_IN", "").split(",") if item)
    action = actions.get(str(run.seed), "ok")
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep({"ok": 0, "nap": 1, "sleep": 60}[action])
    return {"run": run.run_id, "spec": run.spec, "seed": str(run.seed), "method": run.method, "task": run.task,
            "status": "ok", "mpc": "1.0000", "seconds": "0.00", "error": ""}


if __name__ == "__main__":
    import sweep_stand_ins  # this file by its module name, so that pool workers find the function by it

    identcheck.sweep.execute = sweep_stand_ins.execute
    sys.exit(main(sys.argv[1:]))
