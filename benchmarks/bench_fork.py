"""fork/exit/wait pairs per second, at the start and at the end of a long run.

A parent with the default layout and one written heap page forks a child, the child
exits, the parent waits for it; 100,000 times. The rate over the first and over the
last 10,000 pairs shows whether a pair costs the same however many came before (the
pids wrap past pid_max = 32768 three times on the way).

    python benchmarks/bench_fork.py [--json] [--pairs N] [--window N]
"""

from __future__ import annotations

import json
import sys
import time

import vmsim


def fork_exit_wait_rates(pairs: int, window: int) -> tuple[float, float, int]:
    """(pairs/s over the first window, pairs/s over the last window, processes left)."""
    m = vmsim.Machine(memory="4MiB")
    p = m.spawn("parent")
    p.store(p.sbrk(4096), b"parent")
    stamps: dict[int, float] = {}
    marks = {0, window, pairs - window, pairs}
    for i in range(pairs + 1):
        if i in marks:
            stamps[i] = time.perf_counter()
        if i == pairs:
            break
        p.fork().exit(0)
        p.wait()
    first = window / (stamps[window] - stamps[0])
    last = window / (stamps[pairs] - stamps[pairs - window])
    return first, last, len(m.processes)


def main(argv: list[str]) -> int:
    """Run the pairs; print the two rates (and JSON with --json)."""
    pairs = int(argv[argv.index("--pairs") + 1]) if "--pairs" in argv else 100_000
    window = int(argv[argv.index("--window") + 1]) if "--window" in argv else 10_000
    first, last, left = fork_exit_wait_rates(pairs, min(window, pairs))
    print(f"{pairs:,} fork/exit/wait pairs ({left} process left)")
    print(f"{'first ' + format(window, ','):>16s} {first:10,.0f} pairs/s")
    print(f"{'last ' + format(window, ','):>16s} {last:10,.0f} pairs/s")
    if "--json" in argv:
        print(json.dumps({"pairs": pairs, "window": window, "first": first, "last": last}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
