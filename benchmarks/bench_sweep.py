"""vmsim sweep: 200 (trace, policy) tasks on a 2-worker LocalCluster against one process.

20 synthetic traces (a loop over a working set plus uniform noise, 400,000 references
each, written once as .npy) x 10 policies x 3 sizes. The same tasks run (1) one after
another in this process, (2) on a LocalCluster of 2 single-threaded worker processes,
(3) on a LocalCluster of 1 process with 2 threads (to see whether threads would do).
Kernels are warmed first in every case, so the figures compare steady-state work.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vmsim.engine.sweep import plan, run_task, sweep, warm_kernels

POLICIES = ["lru", "fifo", "clock", "opt", "random", "sieve", "lfu", "arc", "2q", "lirs"]
FRAMES = [64, 256, 1024]
TRACES = 20
REFS = 400_000


def _write_traces(directory: Path) -> list[str]:
    """TRACES synthetic .npy traces of page-aligned addresses."""
    rng = np.random.default_rng(1)
    paths = []
    for i in range(TRACES):
        ws = 200 + 100 * i
        loop = np.tile(np.arange(ws), REFS // (2 * ws) + 1)[: REFS // 2]
        pages = np.concatenate([loop, rng.integers(0, 8 * ws, REFS - len(loop))])
        rng.shuffle(pages[len(loop) :])
        p = directory / f"s{i:02d}.npy"
        np.save(p, (pages.astype(np.uint64) << np.uint64(12)))
        paths.append(str(p))
    return paths


def _cluster(processes: bool) -> tuple[object, object]:
    """A LocalCluster of 2 worker processes, or of 1 process with 2 threads."""
    from distributed import Client, LocalCluster

    if processes:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
    else:
        cluster = LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
        )
    return cluster, Client(cluster)


def main() -> int:
    """Time the three ways; print a table of seconds and ratios."""
    with tempfile.TemporaryDirectory(prefix="vmsim-bench-sweep-") as tmp:
        traces = _write_traces(Path(tmp))
        tasks = plan(traces, POLICIES, FRAMES)
        assert len(tasks) == 200
        warm_kernels(POLICIES)
        t0 = time.perf_counter()
        for t in tasks:
            run_task(t)
        one = time.perf_counter() - t0
        rows = {"one process": one}
        for label, processes in (("2 worker processes", True), ("1 process, 2 threads", False)):
            cluster, client = _cluster(processes)
            try:
                client.run(warm_kernels, POLICIES)  # type: ignore[attr-defined]
                t0 = time.perf_counter()
                sweep(traces, POLICIES, FRAMES, client=client)
                rows[label] = time.perf_counter() - t0
            finally:
                client.close()  # type: ignore[attr-defined]
                cluster.close()  # type: ignore[attr-defined]
    print(f"| way ({len(tasks)} tasks, {TRACES} traces x {REFS:,} refs) | seconds | speed-up |")
    print("| --- | ---: | ---: |")
    for label, secs in rows.items():
        print(f"| {label} | {secs:.1f} | {one / secs:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
