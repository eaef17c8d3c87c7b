"""Speed of the engine kernels of the machine's policies (aging, nru, wsclock, ostep-clock,
unopt) beside clock and lru, on 10 M synthetic references.

Traces: Zipf(0.9) and uniform over 1 M pages (vmsim.trace.synth, fixed seeds), each
reference a write with probability 0.3 (so nru and wsclock see dirty pages). Times
are of the kernel alone (`run_kernel` on a Prepared trace: dense ids and, for unopt,
the next uses computed once before timing), best of --repeat runs, in CPU time of this
process (time.process_time: on a shared machine wall time measures the other load), and
as a ratio to lru's rate at the same size in the same run.

    python benchmarks/bench_machine_kernels.py [--repeat 2] [--refs 10000000]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

POLICIES = ("lru", "clock", "aging", "nru", "wsclock", "ostep-clock", "unopt")
FRAMES = (1_000, 10_000)


def main(argv: list[str]) -> int:
    """Print a markdown table of M references per second."""
    from vmsim.engine.kernels import run_kernel
    from vmsim.engine.prepared import Prepared
    from vmsim.trace.synth import uniform_pages, zipf_pages

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--refs", type=int, default=10_000_000)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(7)
    kinds = np.where(rng.random(args.refs) < 0.3, 2, 1).astype(np.uint8)
    traces = {
        "zipf0.9": zipf_pages(args.refs, 1_000_000, 0.9, seed=2024),
        "uniform": uniform_pages(args.refs, 1_000_000, seed=2024),
    }
    print("| trace | policy | frames | misses | M refs/s (CPU) | vs lru |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, pages in traces.items():
        prep = Prepared.from_pages(pages, kinds)
        _ = prep.next_use
        lru_rate: dict[int, float] = {}
        for policy in POLICIES:
            run_kernel(policy, Prepared.from_pages(pages[:2000], kinds[:2000]), 10)  # compile
            for frames in FRAMES:
                best = float("inf")
                misses = 0
                for _ in range(args.repeat):
                    t0 = time.process_time()
                    misses, _ = run_kernel(policy, prep, frames)
                    best = min(best, time.process_time() - t0)
                mps = len(prep) / best / 1e6
                ratio = mps / lru_rate.setdefault(frames, mps)
                print(
                    f"| {name} | {policy} | {frames:,} | {misses:,} | {mps:.1f} | {ratio:.2f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
