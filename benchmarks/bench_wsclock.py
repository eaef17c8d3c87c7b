"""WSCLOCK's engine kernel: the tree search against the page-by-page sweep, beside lru.

Trace: the first --refs references of bench_machine_kernels.py's Zipf(0.9) trace over
1 M pages (30 % writes, seeded), tau 1,000 references. Kernel alone, best of --repeat
runs, in CPU time of this process (time.process_time), and as a ratio to lru's rate at
the same size in the same run. Both kernels give the same misses (checked here too).

    python benchmarks/bench_wsclock.py [--refs 1000000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np

FRAMES = (1_000, 10_000)


def _best(run: Callable[[], int], repeat: int) -> tuple[int, float]:
    """(misses, best CPU seconds) of `repeat` runs."""
    best, misses = float("inf"), 0
    for _ in range(repeat):
        t0 = time.process_time()
        misses = run()
        best = min(best, time.process_time() - t0)
    return misses, best


def main(argv: list[str]) -> int:
    """Print a markdown table of M references per second."""
    from vmsim.engine.kernels import run_kernel
    from vmsim.engine.kernels.wsclock import wsclock_kernel, wsclock_sweep_kernel
    from vmsim.engine.prepared import Prepared
    from vmsim.trace.synth import zipf_pages

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--refs", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(7)
    kinds = np.where(rng.random(10_000_000) < 0.3, 2, 1).astype(np.uint8)[: args.refs]
    pages = zipf_pages(10_000_000, 1_000_000, 0.9, seed=2024)[: args.refs]
    prep = Prepared.from_pages(pages, kinds)
    none = np.zeros(0, np.uint8)
    small = Prepared.from_pages(pages[:2000], kinds[:2000])
    run_kernel("lru", small, 10)  # compile
    for k in (wsclock_kernel, wsclock_sweep_kernel):
        k(small.ids, small.n_ids, 10, none, small.write_bits, 1000)
    print("| frames | kernel | misses | M refs/s (CPU) | vs lru |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for frames in FRAMES:
        runs = {
            "lru": lambda f=frames: run_kernel("lru", prep, f)[0],
            "wsclock, sweep (before)": lambda f=frames: int(
                wsclock_sweep_kernel(prep.ids, prep.n_ids, f, none, prep.write_bits, 1000)
            ),
            "wsclock, tree (after)": lambda f=frames: int(
                wsclock_kernel(prep.ids, prep.n_ids, f, none, prep.write_bits, 1000)
            ),
        }
        lru_rate = 0.0
        seen = set()
        for name, run in runs.items():
            misses, secs = _best(run, args.repeat)
            rate = len(prep) / secs / 1e6
            lru_rate = lru_rate or rate
            if name != "lru":
                seen.add(misses)
            print(f"| {frames:,} | {name} | {misses:,} | {rate:.2f} | {rate / lru_rate:.4f} |")
        assert len(seen) == 1, "the two wsclock kernels disagree"
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
