"""OSTEP textbook mode: `vmsim ostep paging-policy` on a million references.

The headline run is the issue's: `vmsim ostep paging-policy -s 0 -n 1000000 -m 2000
-C 1000 -p OPT -c -N` (uniform references over 2,000 pages, a 1,000-page cache), timed
as a whole command in a fresh process (interpreter start-up included), median of 3.
The other policies run the same stream once each. The original's times are those of
../shared/refs/ostep/SEMANTICS.md section 4 (measured on this VM; OPT's is its estimate).
Also the traced path (every line printed, registry policies step by step) on 100,000
references with the default 3-page cache, output thrown away.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

ARGS = ["-s", "0", "-n", "1000000", "-m", "2000", "-C", "1000", "-c", "-N"]
ORIGINAL = {
    "OPT": "~16 h (estimate)",
    "LRU": "20.8-32.5 s (measured)",
    "FIFO": "21.6 s (measured)",
    "RAND": "~24 s (10 x its 100,000 run)",
    "CLOCK": "~35 s (10 x its 100,000 run)",
    "MRU": "~28 s (10 x its 100,000 run)",
    "UNOPT": "not timed (rescans the future like OPT)",
}


def _command(*args: str) -> tuple[float, str]:
    """Wall time of one `vmsim ostep paging-policy ...` process, and its FINALSTATS line."""
    cmd = [sys.executable, "-m", "vmsim.cli.main", "ostep", "paging-policy", *args]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    stats = next(ln for ln in r.stdout.splitlines() if ln.startswith("FINALSTATS"))
    return wall, stats


def _traced(refs: int) -> float:
    """References per second of the step-by-step, printed replay (LRU, 3 pages)."""
    cmd = [sys.executable, "-m", "vmsim.cli.main", "ostep", "paging-policy"]
    cmd += ["-s", "0", "-n", str(refs), "-p", "LRU", "-c"]
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    return refs / (time.perf_counter() - t0)


def main() -> int:
    """Time the runs; print a table (and JSON with --json)."""
    results: dict[str, dict[str, object]] = {}
    opt_times = []
    for _ in range(3):
        wall, stats = _command(*ARGS, "-p", "OPT")
        opt_times.append(wall)
    results["OPT"] = {"seconds": statistics.median(opt_times), "all": opt_times, "stats": stats}
    for policy in ("UNOPT", "LRU", "FIFO", "MRU", "RAND", "CLOCK"):
        wall, stats = _command(*ARGS, "-p", policy)
        results[policy] = {"seconds": wall, "stats": stats}
    traced = _traced(100_000)
    print("vmsim ostep paging-policy -s 0 -n 1000000 -m 2000 -C 1000 -p POLICY -c -N")
    print(f"{'policy':7s} {'vmsim':>9s}  {'original':40s} result")
    for policy, r in results.items():
        print(f"{policy:7s} {r['seconds']:8.2f}s  {ORIGINAL[policy]:40s} {r['stats']}")
    print(f"traced replay (every line printed): {traced:,.0f} references/s")
    if "--json" in sys.argv:
        print(json.dumps({"paging_policy_1M": results, "traced_refs_per_s": traced}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
