"""`sweep`: run `verify` (or a learner benchmark) over specs × seeds × methods, resumably (CONTRACT §5).

A sweep file names the specs (paths relative to the sweep file, or built-in examples as ``C1`` or
``examples/C1``), the seeds, the learner names and a budget. Every run has a content hash (`Run.run_id`) of
the spec text, the seed, the method, the budget and the task. ``DIR/results.csv`` gets one row per run and is
rewritten atomically after every finished run, so an interrupted sweep loses at most the runs in flight, and running
the same sweep again skips the runs whose row is already ``ok`` (failed runs are retried). Columns a user
added to results.csv are kept (after `COLUMNS`, empty in new rows). One sweep at a time writes into a
folder: a second one started while the first runs stops at once with exit 2 (a lock on
``DIR/.results.csv.lock``, removed at the end; on systems without ``fcntl``, Windows, there is no lock).
A run whose worker process dies (killed, out of memory) gets a ``failed`` row, and the runs not started
yet go on in a fresh pool. Files are read and written as UTF-8, whatever the locale.

Tasks: ``verify`` is `identcheck.verify` (records MPC, SHD, whether every prediction held, and the
per-node correlations); ``bench`` is the same simulate-pin-fit-compare run used to compare learners, and
records MPC and SHD only (the paper's benchmark of SPEC §6, with the checker's reference pinned).

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "s.yaml").write_text("identcheck: 1\\nsweep: {task: bench, specs: [examples/C1], seeds: [0],"
...                                    " methods: [ivae], budget: {epochs: 1, samples_per_env: 50}}\\n")
>>> result = sweep(folder / "s.yaml", folder / "out")
>>> result.ran, result.skipped, [row["status"] for row in result.rows]
(1, 0, ['ok'])
>>> sweep(folder / "s.yaml", folder / "out").skipped
1
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import importlib
import io
import json
import os
import signal
import sys
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generator, Iterable, Iterator, Mapping, TypedDict, cast

import yaml

from .errors import IdentcheckError, IdentcheckWarning, SpecError
from .examples import example_names, example_path
from .files import write_atomically
from .seeds import require_seed
from .sizes import MAX_EPOCHS, MAX_SAMPLES_PER_ENV

if sys.platform != "win32":
    import fcntl

if TYPE_CHECKING:  # for the annotation only
    from dask.distributed import Client

    from .scm import SCM

__all__ = ["COLUMNS", "Run", "SweepPlan", "SweepResult", "load_sweep", "plan_runs", "execute", "sweep"]

#: Columns of results.csv, in order (CONTRACT §5 requires run, spec, seed, method, status, mpc, seconds, error);
#: ``learner`` is the method verify fitted (``method`` resolved, e.g. ``auto`` -> ``latent_mlp:ordered``);
#: ``warnings``, the run's warnings (a restart that failed beside one that did not), separated by " | ".
COLUMNS = ("run", "spec", "seed", "method", "learner", "task", "status", "mpc", "shd", "consistent", "epochs",
           "samples_per_env", "seconds", "error", "nodes", "warnings")
_TASKS = ("verify", "bench")
_BUDGET_KEYS = ("epochs", "samples_per_env")


class SweepBudget(TypedDict, total=False):
    """The budget of a sweep (keys `_BUDGET_KEYS`: epochs >= 1, samples_per_env >= 2), passed to `verify` as
    keywords."""

    epochs: int
    samples_per_env: int


@dataclass(frozen=True)
class Run:
    """One run: a spec (its name as the sweep file writes it, and its text), a seed, a learner, a budget."""

    spec: str
    text: str
    seed: int
    method: str
    task: str
    budget: SweepBudget

    @property
    def run_id(self) -> str:
        """Content hash of spec text, seed, method, budget and task (16 hex digits)."""
        content = json.dumps({"spec": self.text, "seed": self.seed, "method": self.method, "task": self.task,
                              "budget": dict(sorted(self.budget.items()))}, sort_keys=True)
        return hashlib.sha256(content.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SweepPlan:
    """A validated sweep file: task, specs (name -> text), seeds, methods, budget."""

    source: str
    task: str
    specs: Mapping[str, str]
    seeds: tuple[int, ...]
    methods: tuple[str, ...]
    budget: SweepBudget


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did: the rows of this sweep's runs (results.csv may also hold rows of other sweeps), and
    how many runs ran, were skipped (already ok) and failed."""

    path: Path
    rows: tuple[Mapping[str, str], ...]
    ran: int
    skipped: int
    failed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with the rows."""
        return {"results": str(self.path), "ran": self.ran, "skipped": self.skipped, "failed": self.failed,
                "rows": [dict(r) for r in self.rows]}

    def __str__(self) -> str:
        return (f"sweep: {self.ran} run(s) executed ({self.failed} failed), {self.skipped} skipped as already "
                f"ok; results in {self.path}")


# ---------------------------------------------------------------------------------------------------
# The sweep file


def _fail(source: str, key: str, problem: str) -> SpecError:
    return SpecError(problem, source=source, key=key)


def _seeds(value: Any, source: str, key: str) -> tuple[int, ...]:
    """The sweep's seeds: integers in [0, 2**32) (`identcheck.seeds`)."""
    if not isinstance(value, list) or not value:
        raise _fail(source, key, "expected a non-empty list of integers")
    for k, v in enumerate(value):
        try:
            require_seed(v)
        except IdentcheckError:
            raise _fail(source, f"{key}[{k}]", f"expected an integer in [0, 2**32), got {v!r}") from None
    _no_duplicates(value, source, key)
    return tuple(value)


def _no_duplicates(values: list[Any], source: str, key: str, what: str = "duplicate of") -> None:
    """Two equal entries would be one run (the same run id) and one row: reject the second."""
    first: dict[Any, int] = {}
    for k, v in enumerate(values):
        if v in first:
            raise _fail(source, f"{key}[{k}]", f"{what} {key}[{first[v]}]")
        first[v] = k


def _spec_text(entry: Any, folder: Path, source: str, key: str) -> str:
    """The text of a spec entry: a file relative to the sweep file, else a built-in example, written as its
    name (``C1``, as `identcheck examples` lists it) or as ``examples/C1``."""
    if not isinstance(entry, str) or not entry:
        raise _fail(source, key, f"expected a spec path, an example name or examples/NAME, got {entry!r}")
    path = folder / entry
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:  # a name too long, no permission, not text
        raise _fail(source, key, f"cannot read {path} ({type(exc).__name__})") from None
    name = entry.removeprefix("examples/")
    if name in example_names():
        return example_path(name).read_text(encoding="utf-8")
    if path.is_dir():
        raise _fail(source, key, f"{path} is a folder, not a spec file")
    raise _fail(source, key, f"no spec file {path} and no built-in example {name!r}")


def load_sweep(path: str | Path) -> SweepPlan:
    """Read and validate a sweep file (CONTRACT §5); SpecError names the file, the key and the problem.

    Every spec is loaded once here, so a broken spec is reported before any run starts, and so is a method
    on the exact likelihood for a spec with d ≠ ℓ.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "s.yaml"
    ...     _ = path.write_text("identcheck: 1\\nsweep: {task: verify, specs: [examples/C1, examples/C2],"
    ...                         " seeds: [0, 1], methods: [ivae], budget: {epochs: 2}}\\n")
    ...     plan = load_sweep(path)
    >>> plan.task, list(plan.specs), plan.seeds, plan.methods, plan.budget
    ('verify', ['examples/C1', 'examples/C2'], (0, 1), ('ivae',), {'epochs': 2})
    """
    from .simulate import require_memory_for
    from .spec import from_text
    from .spec.loader import safe_load_unique
    from .verify import BUDGETS, check_method, require_held_out

    path = Path(path)
    source = str(path)
    try:
        data = safe_load_unique(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError("file not found", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read the file ({type(exc).__name__})", source=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"YAML syntax error{where}: {getattr(exc, 'problem', None) or exc}", source=source) from None
    if not isinstance(data, dict) or set(data) != {"identcheck", "sweep"}:
        raise _fail(source, "", "expected exactly the keys 'identcheck' and 'sweep'")
    if data["identcheck"] != 1 or isinstance(data["identcheck"], bool):
        raise _fail(source, "identcheck", f"unsupported format version {data['identcheck']!r} (expected 1)")
    body = data["sweep"]
    required = {"task", "specs", "seeds", "methods", "budget"}
    if not isinstance(body, dict):
        raise _fail(source, "sweep", f"expected a mapping with the keys {', '.join(sorted(required))}")
    unknown, missing = sorted(set(body) - required, key=str), sorted(required - set(body))
    if unknown:
        raise _fail(source, f"sweep.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(required))})")
    if missing:
        raise _fail(source, f"sweep.{missing[0]}", "missing required key")
    if body["task"] not in _TASKS:
        raise _fail(source, "sweep.task", f"unknown task {body['task']!r} (known: {', '.join(_TASKS)})")
    if not isinstance(body["specs"], list) or not body["specs"]:
        raise _fail(source, "sweep.specs", "expected a non-empty list")
    specs = {}
    texts = []
    scms: dict[str, SCM] = {}
    for k, entry in enumerate(body["specs"]):
        key = f"sweep.specs[{k}]"
        text = _spec_text(entry, path.parent, source, key)
        texts.append(text)
        scms[entry] = from_text(text, source=f"{source}: {key} ({entry})")
        specs[entry] = text
    _no_duplicates(texts, source, "sweep.specs", "same content as")  # run ids hash the text, not the name
    methods = body["methods"]
    if not isinstance(methods, list) or not methods:
        raise _fail(source, "sweep.methods", "expected a non-empty list of learner names (or auto)")
    for k, name in enumerate(methods):
        try:
            check_method(name)
            for entry, scm in scms.items():  # as verify checks it: an exact-likelihood preset needs d = ℓ
                try:
                    check_method(name, scm)
                except IdentcheckError as exc:
                    raise IdentcheckError(f"{entry}: {exc}") from None
        except IdentcheckError as exc:
            raise _fail(source, f"sweep.methods[{k}]", str(exc)) from None
    _no_duplicates(methods, source, "sweep.methods")
    budget = body["budget"]
    if not isinstance(budget, dict) or set(budget) - set(_BUDGET_KEYS):
        raise _fail(source, "sweep.budget", f"expected a mapping with keys among {', '.join(_BUDGET_KEYS)}")
    for key, value in budget.items():
        least = 2 if key == "samples_per_env" else 1  # verify holds out a fifth of the rows
        largest = MAX_SAMPLES_PER_ENV if key == "samples_per_env" else MAX_EPOCHS
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= largest:
            raise _fail(source, f"sweep.budget.{key}", f"expected an integer in [{least}, {largest:,}], "
                                                       f"got {value!r}")
    samples = budget.get("samples_per_env", BUDGETS[False].samples_per_env)
    for entry, scm in scms.items():
        try:
            require_held_out(samples, scm.environments.count)
            require_memory_for(scm, samples)
        except IdentcheckError as exc:
            raise _fail(source, "sweep.budget.samples_per_env", f"{entry}: {exc}") from None
    return SweepPlan(source, body["task"], specs, _seeds(body["seeds"], source, "sweep.seeds"),
                     tuple(methods), cast(SweepBudget, dict(budget)))


def plan_runs(plan: SweepPlan) -> list[Run]:
    """Every run of a plan: specs × seeds × methods, in that nesting order.

    >>> from identcheck.examples import example_path
    >>> text = example_path("C1").read_text(encoding="utf-8")
    >>> plan = SweepPlan("<doc>", "bench", {"examples/C1": text}, (0, 1), ("ivae", "vae"), SweepBudget(epochs=2))
    >>> [(run.spec, run.seed, run.method) for run in plan_runs(plan)]  # doctest: +NORMALIZE_WHITESPACE
    [('examples/C1', 0, 'ivae'), ('examples/C1', 0, 'vae'), ('examples/C1', 1, 'ivae'),
     ('examples/C1', 1, 'vae')]
    >>> len(plan_runs(plan)[0].run_id)
    16
    """
    return [Run(spec, text, seed, method, plan.task, plan.budget)
            for spec, text in plan.specs.items() for seed in plan.seeds for method in plan.methods]


# ---------------------------------------------------------------------------------------------------
# Running


def execute(run: Run) -> dict[str, str]:
    """Run one sweep run and return its results.csv row; any exception makes the row ``failed`` with the
    error's type and message (a sweep goes on past a failing run). The learners train on one CPU thread,
    so ``jobs`` parallel runs use ``jobs`` cores.

    >>> from identcheck.examples import example_path
    >>> run = Run("examples/C1", example_path("C1").read_text(encoding="utf-8"), 0, "ivae", "bench",
    ...           SweepBudget(epochs=1, samples_per_env=50))
    >>> row = execute(run)
    >>> row["status"], row["run"] == run.run_id, row["method"], row["error"]
    ('ok', True, 'ivae', '')
    >>> bad = execute(Run("bad", "identcheck: 1", 0, "ivae", "bench", SweepBudget(epochs=1)))
    >>> bad["status"], bad["error"].split(":")[0]
    ('failed', 'SpecError')
    """
    from .spec import from_text
    from .verify import verify

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:  # any warning Python would show, into the row
        warnings.simplefilter("always", IdentcheckWarning)
        try:
            scm = from_text(run.text, source=run.spec)
            report = verify(scm, seed=run.seed, method=run.method, **run.budget)
        except Exception as exc:  # recorded in the row; the sweep goes on
            error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        else:
            error = ""
    said = " | ".join(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))  # one line a row
    seconds = f"{time.perf_counter() - start:.2f}"
    if error:
        return _failed_row(run, error, seconds, said)
    nodes = {name: round(node.correlation, 4) for name, node in report.nodes.items()}
    return {**_planned_columns(run), "status": "ok", "learner": report.method, "mpc": f"{report.mpc:.4f}",
            "shd": "" if report.shd is None else str(report.shd),
            "consistent": str(report.consistent) if run.task == "verify" else "",
            "nodes": json.dumps(nodes) if run.task == "verify" else "", "seconds": seconds, "error": "",
            "warnings": said}


def _planned_columns(run: Run) -> dict[str, str]:
    """The columns of a run's row that the plan sets: run id, spec, seed, method, task and budget."""
    return {"run": run.run_id, "spec": run.spec, "seed": str(run.seed), "method": run.method, "task": run.task,
            "epochs": str(run.budget.get("epochs", "")),
            "samples_per_env": str(run.budget.get("samples_per_env", ""))}


def _failed_row(run: Run, error: str, seconds: str = "", said: str = "") -> dict[str, str]:
    """The row of a run that failed with ``error`` ("Type: message") after ``seconds``, with its warnings."""
    return {**_planned_columns(run), "status": "failed", "learner": "", "mpc": "", "shd": "", "consistent": "",
            "nodes": "", "seconds": seconds, "error": error, "warnings": said}


#: The error of a run whose worker process stopped before the run returned. The pool then stops its other
#: workers too, so the runs in flight beside it get this error as well; a rerun retries them all.
LOST = ("BrokenProcessPool: its worker process stopped before it returned (killed, or out of memory?); "
        "a rerun of the sweep retries it")


def _read_rows(path: Path) -> tuple[dict[str, dict[str, str]], tuple[str, ...]]:
    """Existing rows of results.csv by run id, and its columns beyond `COLUMNS` in their order (a user's,
    kept on rewrite); both empty when the file does not exist. Where a hand edit left a run id on several
    rows, an ``ok`` row wins over the others (the run is done), else the last."""
    if not path.exists():
        return {}, ()
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:  # -sig: a BOM (Excel) is not a column name
            reader = csv.DictReader(stream)
            if reader.fieldnames is not None and "run" not in reader.fieldnames:
                raise IdentcheckError(f"{path} is not a sweep's results.csv (it has no 'run' column): move it "
                                      f"away, or write the sweep into another folder")
            rows: dict[str, dict[str, str]] = {}
            for row in reader:
                run = row.get("run")
                if run and (rows.get(run, {}).get("status") != "ok" or row.get("status") == "ok"):
                    rows[run] = row
            extra = tuple(dict.fromkeys(name for name in reader.fieldnames or () if name not in COLUMNS))
            return rows, extra
    except (OSError, UnicodeDecodeError, csv.Error, KeyError) as exc:
        raise IdentcheckError(f"cannot read {path}: {exc}") from None


def _write_rows(path: Path, rows: Iterable[Mapping[str, str | None]], extra: tuple[str, ...]) -> None:
    """Rewrite results.csv atomically (a temporary file renamed into place), as UTF-8: `COLUMNS`, then the
    ``extra`` columns the file had (empty in rows that lack them)."""
    columns = (*COLUMNS, *extra)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: row.get(key) or "" for key in columns})
    write_atomically(path, lambda stream: stream.write(buffer.getvalue().encode("utf-8")))


#: The lock file a sweep holds inside its output folder while it runs (removed at the end).
LOCK_NAME = ".results.csv.lock"


@contextlib.contextmanager
def _writing_into(folder: Path) -> Iterator[None]:
    """Hold the folder's lock (`LOCK_NAME`, an exclusive POSIX record lock, ``lockf``) while a sweep writes
    into it: each sweep rewrites results.csv from the rows it holds, so a second sweep writing beside it would
    drop the first one's rows. IdentcheckError at once when another sweep holds it. A record lock, unlike
    ``flock``, is not inherited by the pool's forked workers, so workers orphaned by a killed sweep do not
    keep the folder locked. Without ``fcntl`` (Windows), or on a file system without locks, there is no
    lock (a warning says so there): do not start two sweeps into one folder then."""
    if sys.platform == "win32":
        yield
        return
    path = folder / LOCK_NAME
    busy = IdentcheckError(f"another sweep is writing into {folder}: wait for it to end, or write into another "
                           f"folder")
    for _ in range(3):  # a sweep that just finished may remove the file between our open and our lock
        try:
            handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise IdentcheckError(f"cannot write into {folder}: {exc.strerror or exc}") from None
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same_file(handle, path):
                break
        except (BlockingIOError, PermissionError):  # EAGAIN or EACCES: held by another process
            os.close(handle)
            raise busy from None
        except OSError as exc:  # a file system without locks (ENOLCK, some network and FUSE mounts)
            os.close(handle)
            warnings.warn(f"cannot lock {path} ({exc.strerror or exc}): a second sweep into {folder} at the same "
                          f"time would lose rows", IdentcheckWarning)
            yield
            return
        os.close(handle)
    else:
        raise busy
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still locked, so no other sweep holds a lock on the removed file
        os.close(handle)


def _same_file(handle: int, path: Path) -> bool:
    """Whether the open file ``handle`` is still the file at ``path`` (not removed or replaced meanwhile)."""
    try:
        here, there = os.fstat(handle), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _make_folder(folder: Path) -> list[Path]:
    """Create ``folder`` with its missing parents; return the folders this call created, outermost first
    (`_remove_empty` removes them again when the sweep fails before writing into them)."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    created: list[Path] = []
    try:
        for candidate in reversed(missing):
            try:
                candidate.mkdir()
            except FileExistsError:  # made meanwhile by another command: not ours to remove
                continue
            created.append(candidate)
    except OSError as exc:
        _remove_empty(created)
        raise IdentcheckError(f"cannot create {folder}: {exc.strerror or exc}") from None
    if not folder.is_dir():
        raise IdentcheckError(f"cannot create {folder}: a file of that name exists")
    return created


def _remove_empty(created: list[Path]) -> None:
    """Remove the folders of `_make_folder` that are still empty, innermost first (none left half-made)."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:  # not empty (results were written), or gone: its parents stay too
            return


def _worker_signals() -> None:
    """In a pool's worker process: ignore Ctrl-C, and let SIGTERM and SIGHUP end the process at once. The
    sweep in the main process handles them and stops its workers; a handler inherited from the command
    line (`identcheck.cli`) would raise into the worker's loop instead and print its traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


def _close_pool(pool: ProcessPoolExecutor, stop: bool) -> None:
    """Shut ``pool`` down after its last run; when the sweep ``stop``s early (an error, Ctrl-C, SIGTERM),
    drop the queued runs and kill the workers at once, instead of waiting for the runs in flight (minutes)
    whose rows could no longer be written. ProcessPoolExecutor has no public way to kill its workers before
    Python 3.14, hence its ``_processes``."""
    if not stop:
        pool.shutdown(wait=True)
        return
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.kill()


def _local(pending: list[Run], jobs: int) -> Generator[dict[str, str], None, None]:
    """Rows as runs finish: in this process for one job, else in a pool of processes (no more than runs).

    The pool gets a run only when a worker is free, so the runs it holds are the runs in flight. When a
    worker process dies (killed, out of memory), the pool breaks: the runs in flight get a failed row
    (`LOST`), and the runs not started yet go on in a fresh pool."""
    if jobs == 1 or len(pending) == 1:
        for run in pending:
            yield execute(run)
        return
    waiting = pending[::-1]  # taken from the end: in plan order
    while waiting:
        workers = min(jobs, len(waiting))
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_signals)
        stop = True
        try:
            in_flight: dict[Future[dict[str, str]], Run] = {}
            broken = False
            while in_flight or (waiting and not broken):
                while waiting and not broken and len(in_flight) < workers:
                    try:
                        in_flight[pool.submit(execute, waiting[-1])] = waiting[-1]
                    except BrokenProcessPool:  # a worker died before we saw its run fail
                        broken = True
                    else:
                        waiting.pop()
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    run = in_flight.pop(future)
                    try:
                        row = future.result()
                    except BrokenProcessPool:
                        broken, row = True, _failed_row(run, LOST)
                    yield row
            stop = False
        finally:
            _close_pool(pool, stop)


#: Seconds to wait for a dask scheduler before the sweep stops with exit 2.
CONNECT_TIMEOUT_S = 10


def _require_dask() -> None:
    """IdentcheckError unless dask.distributed can be imported (the optional dependency identcheck[dask])."""
    try:
        importlib.import_module("dask.distributed")
    except ImportError:
        raise IdentcheckError("the dask backend needs dask.distributed: install identcheck[dask]") from None


@contextlib.contextmanager
def _dask_client(address: str | None, workers: int) -> Iterator[Client]:
    """A client of the dask scheduler at ``address``, else of a local cluster of ``workers`` processes;
    IdentcheckError when the scheduler cannot be reached. Closed, with the local cluster, on the way out."""
    from dask.distributed import Client, LocalCluster

    cluster = None if address else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
    try:
        client = Client(address or cluster, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError) as exc:  # OSError (a TimeoutError among them): an unreachable scheduler;
        if cluster is not None:  # ValueError: an address that is not one ('missing port number')
            cluster.close()
        raise IdentcheckError(f"cannot reach the dask scheduler at {address or 'the local cluster'}: {exc}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask(client: Client, pending: list[Run]) -> Generator[dict[str, str], None, None]:
    """Rows as runs finish on the dask cluster of ``client``. `execute` turns a run's own errors into its row,
    so an exception here is the cluster's: a worker that died on the run more often than dask retries it
    (KilledWorker), a lost scheduler. That run gets a failed row, and the sweep goes on."""
    from dask.distributed import as_completed

    futures = client.map(execute, pending, pure=False)
    runs = {future.key: run for future, run in zip(futures, pending)}
    for future in as_completed(futures):
        try:
            yield future.result()
        except Exception as exc:  # the cluster's failure (execute records a run's own): into the row
            yield _failed_row(runs[future.key], f"{type(exc).__name__}: {' '.join(str(exc).split())} (the dask "
                                                 f"worker running it failed; a rerun of the sweep retries it)")


def sweep(path: str | Path, out: str | Path, *, backend: str = "local", address: str | None = None, jobs: int = 1,
          progress: bool = False) -> SweepResult:
    """Run the sweep file ``path`` into ``out/results.csv`` (CONTRACT §5), skipping runs already ok.

    backend: ``local`` (``jobs`` processes; one job runs in this process) or ``dask`` (a scheduler at
    ``address``, else a local cluster of ``jobs`` workers, no more than runs; needs identcheck[dask]).
    progress: a tqdm bar on stderr. See the module docstring for the columns, the resume rule and the lock.

    Everything that can be refused is checked before a folder is made: the sweep file, the arguments, the
    dask import and the scheduler at ``address``. A sweep that fails before its first row removes every
    folder it made. With nothing to run, nothing is written.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "s.yaml"
    ...     _ = path.write_text("identcheck: 1\\nsweep: {task: bench, specs: [examples/C1], seeds: [0],"
    ...                         " methods: [ivae], budget: {epochs: 1, samples_per_env: 50}}\\n")
    ...     first = sweep(path, pathlib.Path(folder) / "out")
    ...     again = sweep(path, pathlib.Path(folder) / "out")
    ...     written = (pathlib.Path(folder) / "out" / "results.csv").exists()
    >>> (first.ran, first.failed, first.skipped), (again.ran, again.skipped), written
    ((1, 0, 0), (0, 1), True)
    """
    if backend not in ("local", "dask"):
        raise IdentcheckError(f"unknown backend {backend!r} (known: local, dask)")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise IdentcheckError(f"jobs must be an integer >= 1, got {jobs!r}")
    if address is not None and backend != "dask":
        raise IdentcheckError("--address is only meaningful with --backend dask")
    if not str(out).strip():
        raise IdentcheckError("the output folder is an empty path")
    plan = load_sweep(path)
    runs = plan_runs(plan)
    folder = Path(out)
    results = folder / "results.csv"
    order = {run.run_id: k for k, run in enumerate(runs)}
    with contextlib.ExitStack() as stack:
        client = None
        if backend == "dask":
            _require_dask()
            if address is not None:
                client = stack.enter_context(_dask_client(address, jobs))
        def not_ok() -> tuple[dict[str, dict[str, str]], tuple[str, ...], list[Run]]:
            rows, extra = _read_rows(results)
            return rows, extra, [run for run in runs if rows.get(run.run_id, {}).get("status") != "ok"]

        rows, extra, pending = not_ok()
        failed = 0
        if pending:
            created = _make_folder(folder)
            try:
                with _writing_into(folder):
                    rows, extra, pending = not_ok()  # as results.csv is now that no other sweep writes into it
                    failed = _run(pending, rows, extra, results, order, backend, jobs, client, progress)
            except BaseException:  # bad input, a bug or an interrupt: no empty folder left behind
                _remove_empty(created)
                raise
    mine = tuple(row for row in _ordered(rows, order) if row["run"] in order)
    return SweepResult(results, mine, len(pending), len(runs) - len(pending), failed)


def _ordered(rows: Mapping[str, dict[str, str]], order: Mapping[str, int]) -> list[dict[str, str]]:
    """The rows of this plan's runs in plan order, then the rows of other plans."""
    return sorted(rows.values(), key=lambda row: order.get(row["run"], len(order)))


def _run(pending: list[Run], rows: dict[str, dict[str, str]], extra: tuple[str, ...], results: Path,
         order: Mapping[str, int], backend: str, jobs: int, client: Client | None, progress: bool) -> int:
    """Run ``pending`` on the backend, add each row to ``rows`` and rewrite ``results`` as it comes; return
    how many runs failed."""
    from tqdm.auto import tqdm

    failed = 0
    with contextlib.ExitStack() as stack:
        if backend == "local":
            source = _local(pending, jobs)
        else:
            if client is None:  # a local cluster, of no more workers than runs
                client = stack.enter_context(_dask_client(None, min(jobs, len(pending))))
            source = _dask(client, pending)
        stack.enter_context(contextlib.closing(source))  # an interrupt stops the workers (`_close_pool`)
        bar = stack.enter_context(tqdm(total=len(pending), desc="sweep", unit="run", disable=not progress))
        for row in source:
            before = rows.get(row["run"], {})  # a rerun keeps the values of the user's own columns
            rows[row["run"]] = {**{key: before[key] for key in extra if key in before}, **row}
            failed += row["status"] != "ok"
            _write_rows(results, _ordered(rows, order), extra)
            bar.update(1)
    return failed
