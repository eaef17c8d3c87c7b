"""vmsim sweep / vmsim.engine.sweep on a real 2-worker LocalCluster started here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vmsim
from vmsim.cli.main import main
from vmsim.engine.sweep import SweepTask, TaskFailure, _result, sweep

DATA = Path(__file__).resolve().parents[1] / "data"
POLICIES = ["lru", "fifo", "clock", "opt"]
FRAMES = [4, 16, 64]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A LocalCluster of two single-threaded worker processes, for the module."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def _traces(tmp_path: Path, n: int = 3) -> list[str]:
    """Small text traces of different shapes (loops and random pages)."""
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        pages = np.concatenate([np.tile(np.arange(40 + 10 * i), 20), rng.integers(0, 300, 3000)])
        p = tmp_path / f"t{i}.txt"
        p.write_text("".join(f"{int(x) << 12:#x} R\n" for x in pages))
        out.append(str(p))
    return out


def test_every_row_equals_simulate(client: Any, tmp_path: Path) -> None:
    traces = _traces(tmp_path)
    df = sweep(traces, POLICIES, FRAMES, client=client)
    assert len(df) == len(traces) * len(POLICIES) * len(FRAMES)
    for row in df.itertuples():
        ref = vmsim.simulate(row.trace, row.policy, int(row.frames))
        assert (row.references, row.misses) == (ref.references, ref.misses), row
        assert row.memory == row.frames * 4096
        assert row.miss_ratio == pytest.approx(ref.misses / ref.references)
        assert row.vmsim_version == vmsim.__version__


def test_output_files_and_memory_sizes(client: Any, tmp_path: Path) -> None:
    traces = _traces(tmp_path, 1)
    out = tmp_path / "r.parquet"
    df = sweep(traces, ["lru"], [16, 32], client=client, output=out, page_size=8192)
    import pandas as pd

    back = pd.read_parquet(out)
    assert list(back["frames"]) == [16, 32]
    assert list(back["memory"]) == [16 * 8192, 32 * 8192]
    ref = vmsim.simulate(traces[0], "lru", 16, page_shift=13)
    assert int(back["misses"][0]) == ref.misses == int(df["misses"][0])
    assert not Path(f"{out}.journal").exists()


def test_bad_trace_among_good_ones(client: Any, tmp_path: Path) -> None:
    traces = _traces(tmp_path, 2)
    bad = tmp_path / "bad.txt"
    bad.write_text("0x1000 R\n0x2000 R\nnot an address\n")
    failures: list[Any] = []
    df = sweep([traces[0], str(bad), traces[1]], ["lru", "fifo"], [8], client=client,
               failures=failures)  # fmt: skip
    assert sorted(set(df["trace"])) == sorted(traces)
    assert len(df) == 4
    assert {(f.trace, f.policy) for f in failures} == {(str(bad), "lru"), (str(bad), "fifo")}
    assert all(f"{bad}:3" in f.error for f in failures)


def test_cli_reports_the_bad_trace_and_exits_1(tmp_path: Path, capsys: Any) -> None:
    traces = _traces(tmp_path, 1)
    bad = tmp_path / "bad.txt"
    bad.write_text("0x1000 R\nzzz\n")
    out = tmp_path / "r.csv"
    rc = main(["sweep", traces[0], str(bad), "-p", "LRU", "-f", "8,16", "-o", str(out),
               "--workers", "2"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{bad}:2" in err
    lines = out.read_text().splitlines()
    assert lines[0].split(",")[:3] == ["trace", "policy", "frames"]
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("args", "status", "needle"),
    [
        (["-f", "1MiB"], 2, "--memory"),  # usage errors exit 2, as click's
        (["-f", "16", "-m", "1MiB"], 2, "not both"),
        (["-m", "6KiB"], 2, "whole number of 4KiB pages"),
        (["--workers", "0", "-f", "8"], 2, "--workers"),
        (["-p", "belady", "-f", "8"], 1, "policy"),
        (["--scheduler", "tcp://127.0.0.1:9", "--workers", "2", "-f", "8"], 2, "not both"),
    ],
)
def test_cli_bad_options(
    tmp_path: Path, capsys: Any, args: list[str], status: int, needle: str
) -> None:
    traces = _traces(tmp_path, 1)
    rc = main(["sweep", traces[0], *args, "-o", str(tmp_path / "r.csv")])
    err = capsys.readouterr().err
    assert rc == status and needle in err and "Traceback" not in err
    assert not (tmp_path / "r.csv").exists()


def _long_traces(tmp_path: Path, n: int = 4, refs: int = 1_000_000) -> list[str]:
    """.npy traces long enough that a sweep of them takes seconds: results arrive in
    several fetches (GATHER_EVERY apart), so a kill lands between two."""
    rng = np.random.default_rng(11)
    out = []
    for i in range(n):
        p = tmp_path / f"long{i}.npy"
        np.save(p, rng.integers(0, 500 + 100 * i, refs).astype(np.uint64) << np.uint64(12))
        out.append(str(p))
    return out


def test_resume_after_a_kill(tmp_path: Path) -> None:
    traces = _long_traces(tmp_path)
    out = tmp_path / "r.csv"
    journal = Path(f"{out}.journal")
    policies = "lru,fifo,clock,opt,random,sieve"
    cmd = [sys.executable, "-m", "vmsim.cli.main", "sweep", *traces, "-p", policies,
           "-f", "4,16,64", "-o", str(out), "--workers", "1"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(vmsim.__file__).parents[1])}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and len(journal.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = [json.loads(x) for x in journal.read_text().splitlines() if x.endswith("}")]
    assert 3 <= len(before) < 4 * 6 * 3 and not out.exists()
    rc = main(["sweep", *traces, "-p", policies, "-f", "4,16,64",
               "-o", str(out), "--workers", "2", "--resume"])  # fmt: skip
    assert rc == 0
    import pandas as pd

    df = pd.read_csv(out)
    assert len(df) == 4 * 6 * 3
    kept = {(r["trace"], r["policy"], r["frames"]): r["seconds"] for r in before}
    for row in df.itertuples():
        key = (row.trace, row.policy, row.frames)
        if key in kept and all((row.trace, row.policy, f) in kept for f in (4, 16, 64)):
            assert row.seconds == pytest.approx(kept[key]), "a finished task ran again"
        assert row.misses == vmsim.simulate(row.trace, row.policy, int(row.frames)).misses
    assert not journal.exists()


def test_cli_on_a_scheduler_with_progress_and_plots(
    client: Any, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch, figures: list[Any]
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    traces = _traces(tmp_path, 2)
    out, figs = tmp_path / "r.parquet", tmp_path / "figs"
    rc = main(["sweep", *traces, "-p", "lru,fifo,LRU", "-f", "8,16", "-o", str(out),
               "--scheduler", client.scheduler.address, "--plot", str(figs)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "sweep tasks" in err and "4/4" in err and "ETA" in err
    names = sorted(p.name for p in figs.iterdir())
    assert names == ["summary.png", "t0.txt.png", "t1.txt.png"]
    assert all((figs / n).read_bytes()[:4] == b"\x89PNG" for n in names)
    runs = {(t, p, f): vmsim.simulate(t, p, f) for t in traces
            for p in ("lru", "fifo") for f in (8, 16)}  # fmt: skip
    misses = {k: r.misses for k, r in runs.items()}
    *per_trace, summary = figures
    for trace, fig in zip(traces, per_trace, strict=True):
        lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
        assert sorted(lines) == ["fifo", "lru"]
        for policy, line in lines.items():
            assert list(line.get_xdata()) == [8, 16]
            want = [runs[(trace, policy, f)].miss_ratio for f in (8, 16)]
            assert list(line.get_ydata()) == pytest.approx(want)
    ax = summary.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    bars = dict(zip(labels, [b.get_height() for b in ax.patches], strict=True))
    for policy in ("lru", "fifo"):
        best = {(t, f): min(misses[(t, q, f)] for q in ("lru", "fifo")) for t in traces
                for f in (8, 16)}  # fmt: skip
        ratios = [(misses[(t, policy, f)] + 1) / (best[(t, f)] + 1) for t, f in best]
        assert bars[policy] == pytest.approx(float(np.exp(np.mean(np.log(ratios)))))


def test_workers_are_warmed_by_a_plugin(client: Any, tmp_path: Path) -> None:
    sweep(_traces(tmp_path, 1), ["sieve"], [8], client=client)
    plugins = client.run(lambda dask_worker: sorted(dask_worker.plugins))
    assert len(plugins) == 2
    assert all("vmsim-warm-sieve" in names for names in plugins.values())


def test_a_lost_task_is_a_failure_of_its_trace_not_of_the_sweep() -> None:
    class Lost:
        def result(self) -> Any:
            raise RuntimeError("worker tcp://10.0.0.1:4000 died")

    task = SweepTask("a.vmt", "lru", (8,))
    got = _result(Lost(), task)
    assert isinstance(got, TaskFailure)
    assert (got.trace, got.policy) == ("a.vmt", "lru") and "died" in got.error


def test_an_unreachable_scheduler_is_a_clean_error(tmp_path: Path, capsys: Any) -> None:
    traces = _traces(tmp_path, 1)
    rc = main(["sweep", traces[0], "-f", "8", "-o", str(tmp_path / "r.csv"),
               "--scheduler", "tcp://127.0.0.1:9"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1 and "scheduler" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_the_local_cluster_is_one_worker_process_with_a_thread_per_worker() -> None:
    from vmsim.engine.sweep import connected

    with connected(workers=2) as c:
        (threads,) = c.nthreads().values()
        assert threads == 2
        (pid,) = c.run(os.getpid).values()
        assert pid != os.getpid()


def test_a_sweep_closes_the_cluster_it_started(tmp_path: Path) -> None:
    """vmsim.sweep without a client starts a LocalCluster and closes it (its worker process
    and client included) when done; the rows are there all the same."""
    import multiprocessing

    from distributed import Client

    before = {p.pid for p in multiprocessing.active_children()}
    started: list[Any] = []
    real_init = Client.__init__

    def recording(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        started.append(self)

    mp = pytest.MonkeyPatch()
    mp.setattr(Client, "__init__", recording)
    try:
        df = sweep(_traces(tmp_path, 1), ["lru"], [8, 16])
    finally:
        mp.undo()
    assert len(df) == 2
    (client,) = started
    assert client.status == "closed"
    deadline = time.monotonic() + 10
    while {p.pid for p in multiprocessing.active_children()} - before:
        assert time.monotonic() < deadline, "the sweep's worker process outlived it"
        time.sleep(0.05)


KEEP = """
import ctypes, resource, sys
import numpy as np
from vmsim.engine.sweep_worker import keep_freed_memory
ctypes.CDLL(None).prctl(41, 1, 0, 0, 0)  # PR_SET_THP_DISABLE: 4 KiB pages, whatever the host's
if sys.argv[1] == "keep":
    assert keep_freed_memory()
np.ones(1 << 20).sum()  # 8 MiB once, before counting
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    np.ones(1 << 20).sum()  # 8 MiB (2,048 pages) made and freed, as a task's arrays are
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.parametrize("keep", [False, True])
def test_a_worker_keeps_its_freed_memory_for_the_next_task(keep: bool) -> None:
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536")  # as Dask's nanny starts workers
    argv = [sys.executable, "-c", KEEP, "keep" if keep else "trim"]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    faults = int(r.stdout)
    if keep:  # the arrays reuse the memory the first one left
        assert faults < 2048
    else:  # each array's pages are given back and faulted in again
        assert faults >= 10 * 2048, faults


def test_tasks_of_one_trace_share_its_prepared_ids(tmp_path: Path) -> None:
    from vmsim.engine.sweep import LastTrace

    path = _traces(tmp_path, 1)[0]
    last = LastTrace()
    first = last.get(SweepTask(path, "fifo", (4,)))
    assert last.get(SweepTask(path, "clock", (4, 16))) is first
    assert last.get(SweepTask(path, "fifo", (4,), page_shift=13)) is not first
    assert last.get(SweepTask(path, "fifo", (4,), data_only=True)) is not first


def test_a_rewritten_trace_is_read_again(tmp_path: Path, monkeypatch: Any) -> None:
    from vmsim.engine import sweep as sweep_module
    from vmsim.engine.sweep import LastTrace, run_task

    monkeypatch.setattr(sweep_module, "LAST_TRACE", LastTrace())
    path = tmp_path / "t.txt"
    path.write_text("".join(f"{p << 12:#x} R\n" for p in [1, 2, 3, 1, 2, 3]))
    before = run_task(SweepTask(str(path), "fifo", (2,)))
    path.write_text("".join(f"{p << 12:#x} R\n" for p in [1, 2, 1, 2, 1, 2, 5]))
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    after = run_task(SweepTask(str(path), "fifo", (2,)))
    assert isinstance(before, list) and isinstance(after, list)
    assert (before[0]["references"], before[0]["misses"]) == (6, 6)
    assert (after[0]["references"], after[0]["misses"]) == (7, 3)


def test_a_trace_longer_than_keep_refs_is_not_kept(tmp_path: Path, monkeypatch: Any) -> None:
    from vmsim.engine import sweep as sweep_module
    from vmsim.engine.sweep import LastTrace

    path = _traces(tmp_path, 1)[0]
    monkeypatch.setattr(sweep_module, "KEEP_REFS", 100)
    last = LastTrace()
    first = last.get(SweepTask(path, "fifo", (4,)))
    assert last.kept is None
    assert last.get(SweepTask(path, "fifo", (4,))) is not first
