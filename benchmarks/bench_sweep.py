"""vmsim sweep: 200 (trace, policy) tasks on a 2-worker LocalCluster against one process.

20 synthetic traces (a loop over a working set plus uniform noise, 400,000 references
each, written once as .npy) x 10 policies x 3 sizes. The same tasks run (1) one after
another in this process, (2) on a LocalCluster of 2 single-threaded worker processes,
(3) on a LocalCluster of 1 worker process with 2 threads (to see whether threads do).
Kernels are warmed first in every case, so the figures compare steady-state work; each
cluster is started for its run alone and closed after it, untimed (an idle second
cluster's event loops would share the cores); the three ways run interleaved, --repeat
times, and the best wall time of each is shown with the load average seen. "task
seconds" sums the tasks' own times (their `seconds` column): beside the wall time it
shows how much the tasks overlapped, and how much slower each one ran when it shared the machine.

The machine's own ceiling is measured too: a fixed pure-Python loop alone, then in two
processes at once (best of --repeat); 2 x alone / both is the speed-up two
independent processes get here, the most any sweep can show on this machine.

    python benchmarks/bench_sweep.py [--repeat 3] [--refs 400000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from vmsim.engine.sweep import plan, run_task, sweep
from vmsim.engine.warm import warm_kernels

POLICIES = ["lru", "fifo", "clock", "opt", "random", "sieve", "lfu", "arc", "2q", "lirs"]
FRAMES = [64, 256, 1024]
TRACES = 20
REFS = 400_000


def _write_traces(directory: Path, refs: int = REFS) -> list[str]:
    """TRACES synthetic .npy traces of `refs` page-aligned addresses each."""
    rng = np.random.default_rng(1)
    paths = []
    for i in range(TRACES):
        ws = 200 + 100 * i
        loop = np.tile(np.arange(ws), refs // (2 * ws) + 1)[: refs // 2]
        pages = np.concatenate([loop, rng.integers(0, 8 * ws, refs - len(loop))])
        rng.shuffle(pages[len(loop) :])
        p = directory / f"s{i:02d}.npy"
        np.save(p, (pages.astype(np.uint64) << np.uint64(12)))
        paths.append(str(p))
    return paths


def _cluster(processes: bool) -> tuple[object, object]:
    """A LocalCluster of 2 worker processes, or of 1 worker process with 2 threads."""
    from distributed import Client, LocalCluster

    n, threads = (2, 1) if processes else (1, 2)
    cluster = LocalCluster(n_workers=n, threads_per_worker=threads, dashboard_address=":0")
    return cluster, Client(cluster)


def _one_process(tasks: list[Any]) -> tuple[float, float]:
    """(wall seconds, sum of the tasks' own seconds) of the tasks one after another here."""
    t0 = time.perf_counter()
    busy = 0.0
    for t in tasks:
        rows = run_task(t)
        assert isinstance(rows, list), rows
        busy += rows[0]["seconds"]
    return time.perf_counter() - t0, busy


def _alone_on_cluster(processes: bool, traces: list[str]) -> tuple[float, float]:
    """_on_cluster on a cluster started (and warmed) for it alone, closed afterwards: no
    other cluster's idle event loops share the cores while it is timed."""
    cluster, client = _cluster(processes)
    try:
        client.run(warm_kernels, POLICIES)  # type: ignore[attr-defined]
        return _on_cluster(client, traces)
    finally:
        client.close()  # type: ignore[attr-defined]
        cluster.close()  # type: ignore[attr-defined]


def _on_cluster(client: Any, traces: list[str]) -> tuple[float, float]:
    """(wall seconds, sum of the tasks' own seconds) of the sweep on the cluster."""
    t0 = time.perf_counter()
    df = sweep(traces, POLICIES, FRAMES, client=client)
    wall = time.perf_counter() - t0
    assert len(df) == 200 * len(FRAMES)
    return wall, float(df.drop_duplicates(["trace", "policy"])["seconds"].sum())


SPIN = "s = 0\nfor i in range(15_000_000):\n    s += i\n"
"""The calibration loop: about a second of one core's work."""


def _spin(copies: int) -> float:
    """Wall seconds for `copies` processes running SPIN at once."""
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(copies)]
    for p in procs:
        p.wait()
    return time.perf_counter() - t0


def machine_ceiling(repeat: int) -> float:
    """2 x (one SPIN alone) / (two at once): the parallel speed-up of 2 processes here."""
    alone = min(_spin(1) for _ in range(repeat))
    both = min(_spin(2) for _ in range(repeat))
    return 2 * alone / both


def main(argv: list[str]) -> int:
    """Time the three ways, best of --repeat, interleaved; print a table with the load."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--refs", type=int, default=REFS, help="references per trace")
    args = ap.parse_args(argv)
    ways = ("one process", "2 worker processes", "1 worker process, 2 threads")
    best = {w: (float("inf"), 0.0) for w in ways}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="vmsim-bench-sweep-") as tmp:
        traces = _write_traces(Path(tmp), args.refs)
        tasks = plan(traces, POLICIES, FRAMES)
        assert len(tasks) == 200
        warm_kernels(POLICIES)
        for _ in range(args.repeat):
            for w in ways:
                on_cluster = w != ways[0]
                got = _alone_on_cluster(w == ways[1], traces) if on_cluster else _one_process(tasks)
                best[w] = min(best[w], got)
                loads.append(os.getloadavg()[0])
    one = best[ways[0]][0]
    ceiling = machine_ceiling(args.repeat)
    print(f"{len(tasks)} tasks ({TRACES} traces x {len(POLICIES)} policies, "
          f"{args.refs:,} references, {len(FRAMES)} sizes each); best of {args.repeat}; "
          f"load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores")  # fmt: skip
    print("| way | wall s | speed-up | task seconds (sum) |")
    print("| --- | ---: | ---: | ---: |")
    for w, (wall, busy) in best.items():
        print(f"| {w} | {wall:.1f} | {one / wall:.2f}x | {busy:.1f} |")
    print(f"The machine's ceiling: two independent processes ran {ceiling:.2f}x as fast as one.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
