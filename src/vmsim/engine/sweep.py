"""vmsim.sweep: every (trace, policy, size) of a study, on a Dask cluster, as tidy rows.

A sweep is a set of tasks, one per (trace, policy): the task opens the trace where
it runs (tasks ship paths, never arrays), makes its dense ids once and covers every
size (LRU by the exact stack-distance curve in one pass, any other policy by one run
per size). Tasks run on a `distributed` cluster: an existing one (`client=` or a
scheduler address) or a LocalCluster sized to this machine. Each finished task's rows
are appended to a journal beside the output as they arrive, so an interrupted sweep
loses nothing; `resume` skips the (trace, policy) pairs whose rows are all there. The
output (Parquet or CSV) is written whole, atomically, when the sweep ends; the journal
is then removed. A task that fails (a malformed trace) is reported with its trace and
line and does not stop the others.

Tasks of one trace follow each other (the plan is trace by trace), so a process keeps
the last trace it prepared (`LastTrace`, up to KEEP_REFS references): the other
policies of that trace reuse its dense ids (and OPT's next uses) instead of reading
and remapping the file again.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmsim.errors import ConfigError, VmsimError

if TYPE_CHECKING:
    from vmsim.engine.prepared import Prepared

GATHER_EVERY = 0.2
"""Seconds a sweep waits for more finished tasks before it fetches a batch of results: a
fetch is a round trip through the scheduler (some 4 ms of the client's CPU, which the
workers need on a small machine), so short tasks are fetched a few dozen at a time."""

COLUMNS = [
    "trace",
    "policy",
    "frames",
    "memory",
    "references",
    "misses",
    "miss_ratio",
    "seconds",
    "vmsim_version",
]
"""The columns of a sweep's rows, in order (seconds: the whole task's time, all its sizes;
the first task of a trace in a process includes reading it)."""

KEEP_REFS = 1 << 26
"""The longest trace (references) a process keeps between tasks: 256 MiB of ids."""


@dataclass(frozen=True)
class SweepTask:
    """One (trace, policy) pair over all the sizes of the sweep."""

    trace: str
    policy: str
    frames: tuple[int, ...]
    page_shift: int = 12
    data_only: bool = False
    format: str | None = None


@dataclass
class TaskFailure:
    """A task that could not run: its trace, policy and the one-line reason (file and line)."""

    trace: str
    policy: str
    error: str


class LastTrace:
    """The last trace this process prepared, kept for the next task of the same trace.

    One attribute holds the (key, trace) pair, replaced whole, so worker threads sharing
    it always see a matching pair."""

    def __init__(self) -> None:
        self.kept: tuple[tuple[Any, ...], Prepared] | None = None

    def get(self, task: SweepTask) -> Prepared:
        """The Prepared trace of task: the kept one if the same file (path, inode, size,
        mtime) was prepared the same way, else read anew (the old one let go first)."""
        from vmsim.engine.source import PageOptions, prepare
        from vmsim.trace import Trace

        try:
            st = os.stat(task.trace)
        except OSError:
            key = None  # the trace's own reader reports it
        else:
            key = (task.trace, st.st_ino, st.st_size, st.st_mtime_ns, task.format,
                   task.page_shift, task.data_only)  # fmt: skip
        kept = self.kept
        if kept is not None and kept[0] == key:
            return kept[1]
        self.kept = None
        prep = prepare(Trace(task.trace, task.format), PageOptions(task.page_shift, task.data_only))
        if key is not None and len(prep) <= KEEP_REFS:
            self.kept = (key, prep)
        return prep


LAST_TRACE = LastTrace()
"""This process's kept trace (a worker's, or the caller's when tasks run here)."""


def run_task(task: SweepTask) -> list[dict[str, Any]] | TaskFailure:
    """The rows of one task, or its TaskFailure; never raises for a user's bad input."""
    from vmsim import __version__
    from vmsim.engine.mrc import lru_curve
    from vmsim.engine.simulate import simulate_many

    start = time.perf_counter()
    try:
        prep = LAST_TRACE.get(task)
        if task.policy == "lru":
            curve = lru_curve(prep, list(task.frames), workers=1)  # tasks run in parallel
            misses = [int(m) for m in curve.misses]
        else:
            runs = simulate_many(prep, [task.policy], list(task.frames), workers=1)
            misses = [r.misses for r in runs]
    except VmsimError as exc:
        return TaskFailure(task.trace, task.policy, str(exc))
    seconds = time.perf_counter() - start
    refs = len(prep)
    return [
        {
            "trace": task.trace,
            "policy": task.policy,
            "frames": f,
            "memory": f << task.page_shift,
            "references": refs,
            "misses": m,
            "miss_ratio": m / refs if refs else 0.0,
            "seconds": seconds,
            "vmsim_version": __version__,
        }
        for f, m in zip(task.frames, misses, strict=True)
    ]


def plan(
    traces: Iterable[str | os.PathLike[str]],
    policies: Sequence[str],
    frames: Sequence[int],
    *,
    page_shift: int = 12,
    data_only: bool = False,
    format: str | None = None,
) -> list[SweepTask]:
    """The tasks of a sweep, checked: known policies, positive sizes, existing traces."""
    from vmsim.engine.kernels import kernel_spec

    names = list(dict.fromkeys(kernel_spec(p.strip().lower()).name for p in policies))
    if not names:
        raise ConfigError("policy", "", "at least one policy")
    sizes = tuple(sorted({int(f) for f in frames}))
    if not sizes or sizes[0] < 1:
        raise ConfigError("frames", frames, "positive frame counts")
    paths = [os.fspath(t) for t in traces]
    for t in paths:
        if not Path(t).is_file():
            raise ConfigError("trace", t, "an existing trace file")
    return [SweepTask(t, p, sizes, page_shift, data_only, format) for t in paths for p in names]


class Journal:
    """Rows appended one JSON line each, flushed as they arrive (the sweep's crash log)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self) -> list[dict[str, Any]]:
        """Every whole row written so far (a torn last line, from a kill, is dropped)."""
        if not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return [r for r in rows if set(COLUMNS) <= set(r)]

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Append rows and flush them to the disk."""
        with self.path.open("a", encoding="utf-8") as f:
            f.write("".join(json.dumps(r) + "\n" for r in rows))
            f.flush()
            os.fsync(f.fileno())


def done_keys(rows: Iterable[dict[str, Any]], tasks: Sequence[SweepTask]) -> set[tuple[str, str]]:
    """(trace, policy) pairs of `tasks` whose every size is in `rows` (same page size)."""
    have: dict[tuple[str, str], set[int]] = {}
    for r in rows:
        have.setdefault((r["trace"], r["policy"]), set()).add(int(r["frames"]))
    return {
        (t.trace, t.policy) for t in tasks if set(t.frames) <= have.get((t.trace, t.policy), set())
    }


def read_results(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a finished sweep's output (.parquet or .csv)."""
    import pandas as pd

    p = Path(path)
    if not p.exists():
        return []
    df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    return list(df.to_dict("records"))


def write_results(path: str | os.PathLike[str], rows: list[dict[str, Any]]) -> None:
    """Write rows as Parquet or CSV (by the suffix), atomically."""
    from vmsim.output import atomic_path

    df = to_frame(rows)
    suffix = Path(path).suffix
    with atomic_path(path, suffix) as tmp:
        if suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)


def to_frame(rows: list[dict[str, Any]]) -> Any:
    """A pandas DataFrame of rows in COLUMNS order, sorted by trace, policy and frames."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=COLUMNS)
    df = df.drop_duplicates(subset=["trace", "policy", "frames", "memory"], keep="last")
    return df.sort_values(["trace", "policy", "frames"], kind="stable").reset_index(drop=True)


def output_kind(path: str | os.PathLike[str]) -> str:
    """'parquet' or 'csv' from the output's suffix; ConfigError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ConfigError("output", os.fspath(path), "a .parquet or .csv file")
    return suffix[1:]


def connect(client: Any = None, scheduler: str | None = None, workers: int | None = None) -> Any:
    """A distributed Client: the one given, one on `scheduler`, or a new LocalCluster's.

    The LocalCluster is one worker process running one thread per core (or `workers`
    threads), apart from this process. Measured against one single-threaded worker
    process per core (benchmarks/bench_sweep.py, BENCHMARKS.md "The sweep"), threads
    won both runs (28.8 against 49.4 s, 36.5 against 38.6 s for 200 tasks on 2 cores):
    every kernel, reader and the id map release the GIL (tests/engine/test_nogil.py),
    so threads overlap as processes do, without a nanny, a copy of the modules and
    Numba's cache per process, or a transfer of every result between processes.
    """
    if client is not None:
        return client
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s")
        except OSError as exc:
            raise ConfigError(
                "scheduler", scheduler, f"a reachable Dask scheduler ({exc})"
            ) from None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(
        n_workers=1, threads_per_worker=n, processes=True, dashboard_address=":0"
    )
    return Client(cluster)


@contextlib.contextmanager
def connected(
    client: Any = None, scheduler: str | None = None, workers: int | None = None
) -> Iterator[Any]:
    """connect()'s Client for the block; one made here is closed after it, with the
    LocalCluster it started (a caller's client stays open)."""
    if client is not None:
        yield client
        return
    made = connect(None, scheduler, workers)
    try:
        yield made
    finally:
        cluster = made.cluster  # the LocalCluster connect started, None on a scheduler's
        made.close()
        if cluster is not None:
            cluster.close()


def sweep(
    traces: Iterable[str | os.PathLike[str]],
    policies: Sequence[str],
    sizes: Sequence[int],
    client: Any = None,
    *,
    page_size: int = 4096,
    data_only: bool = False,
    format: str | None = None,
    output: str | os.PathLike[str] | None = None,
    resume: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    failures: list[TaskFailure] | None = None,
) -> Any:
    """Run policies x sizes (frame counts) over traces; return the rows as a DataFrame.

    With `output`, rows are journaled as they arrive and the output written at the end;
    `resume` keeps what an earlier run of the same output finished. Failed tasks are
    appended to `failures` (when given) and left out of the rows. `progress(done, total)`
    is called after each task. Without `client`, the Client (on `scheduler`, or of a new
    LocalCluster) is made for this sweep and closed after it, the cluster with it.
    """
    if page_size < 1 or page_size & (page_size - 1):
        raise ConfigError("page-size", page_size, "a power of two")
    tasks = plan(
        traces, policies, sizes, page_shift=page_size.bit_length() - 1,
        data_only=data_only, format=format,
    )  # fmt: skip
    journal = None
    rows: list[dict[str, Any]] = []
    if output is not None:
        output_kind(output)
        journal = Journal(f"{os.fspath(output)}.journal")
        if resume:
            rows = read_results(output) + journal.read()
        elif journal.path.exists():
            journal.path.unlink()
    done = done_keys(rows, tasks)
    todo = [t for t in tasks if (t.trace, t.policy) not in done]
    if progress:
        progress(len(tasks) - len(todo), len(tasks))
    if todo:
        with connected(client, scheduler, workers) as c:
            rows += _run(c, todo, journal, progress, len(tasks), failures)
    if output is not None:
        write_results(output, rows)
        if journal is not None and journal.path.exists():
            journal.path.unlink()
    return to_frame(rows)


def _run(
    client: Any,
    tasks: list[SweepTask],
    journal: Journal | None,
    progress: Callable[[int, int], None] | None,
    total: int,
    failures: list[TaskFailure] | None,
) -> list[dict[str, Any]]:
    """Submit the tasks (in one message), collect rows as they complete (journaling them)."""
    from distributed import as_completed

    warm_workers(client, sorted({t.policy for t in tasks}))
    futures = dict(zip(client.map(run_task, tasks, pure=False), tasks, strict=True))
    rows: list[dict[str, Any]] = []
    finished = total - len(tasks)
    done = as_completed(list(futures))
    pending = set(futures)
    while not done.is_empty():
        batch = _next_batch(done, pending)
        for result in _results(client, batch, futures):
            if isinstance(result, TaskFailure):
                if failures is not None:
                    failures.append(result)
            else:
                rows += result
                if journal is not None:
                    journal.append(result)
            finished += 1
            if progress:
                progress(finished, total)
    return rows


def _next_batch(done: Any, pending: set[Any]) -> list[Any]:
    """The futures finished since the last batch (at least one): after the first, those
    that finish within GATHER_EVERY more, the window ending early when every pending
    future has finished (the last results are not held back). pending loses the batch."""
    from distributed import wait

    batch: list[Any] = done.next_batch(block=True)
    pending.difference_update(batch)
    if pending:
        with contextlib.suppress(TimeoutError):  # the window ended first
            wait(list(pending), timeout=GATHER_EVERY)
        batch += done.next_batch(block=False)
        pending.difference_update(batch)
    return batch


def _results(
    client: Any, batch: list[Any], futures: dict[Any, SweepTask]
) -> list[list[dict[str, Any]] | TaskFailure]:
    """The results of a batch of finished futures, those that succeeded fetched in one
    gather (one round trip, not one each); the others' TaskFailures."""
    done = [f for f in batch if f.status == "finished"]
    try:
        got = dict(zip(done, client.gather(done), strict=True)) if done else {}
    except Exception:  # a worker went between the batch and the gather: one by one
        got = {}
    return [got[f] if f in got else _result(f, futures[f]) for f in batch]


def _result(fut: Any, task: SweepTask) -> list[dict[str, Any]] | TaskFailure:
    """A finished future's rows, or a TaskFailure for whatever stopped it (a lost worker)."""
    try:
        result: list[dict[str, Any]] | TaskFailure = fut.result()
    except Exception as exc:  # the task raised or its worker died: the others go on
        return TaskFailure(task.trace, task.policy, f"{type(exc).__name__}: {exc}")
    return result


def warm_workers(client: Any, policies: Sequence[str]) -> None:
    """Warm every worker of the cluster, present and future, for these policies."""
    from vmsim.engine.sweep_worker import WarmKernels

    plugin = WarmKernels(policies)
    client.register_plugin(plugin, name=plugin.name)
