"""8-byte loads and stores through the MMU, with TLB hits and with TLB misses.

TLB hits: one page, touched once, then accessed over and over. TLB misses: 64 pages
touched in a cycle with a 16-entry TLB, so every access walks the 4-level table.
Prints accesses per CPU second for each case (best of 3 runs): CPU time
(time.process_time) rather than wall time, since the machine is shared with other work.
"""

from __future__ import annotations

import json
import sys
import time

import vmsim

N = 200_000
PAGE = 4096


def _setup(npages: int) -> tuple[vmsim.Process, int]:
    m = vmsim.Machine(memory="4MiB", tlb_entries=16, tlb_ways=4)
    p = m.spawn()
    va = p.mmap(npages * PAGE)
    for i in range(npages):
        p.store(va + i * PAGE, b"\1" * 8)
    return p, va


def bench(kind: str, hit: bool) -> float:
    """Accesses per second for loads or stores with TLB hits or misses."""
    npages = 1 if hit else 64
    p, va = _setup(npages)
    addrs = [va + (i % npages) * PAGE + 8 * (i % 8) for i in range(N)]
    data = b"abcdefgh"
    best = 0.0
    for _ in range(3):
        t0 = time.process_time()
        if kind == "load":
            load = p.load
            for a in addrs:
                load(a, 8)
        else:
            store = p.store
            for a in addrs:
                store(a, data)
        best = max(best, N / (time.process_time() - t0))
    stats = p.machine.stats
    assert (stats.tlb_miss > N) != hit, "the benchmark did not exercise the intended TLB path"
    return best


def main() -> int:
    """Run all four cases and print a table (and JSON with --json)."""
    results = {
        f"{kind} ({'TLB hit' if hit else 'TLB miss'})": bench(kind, hit)
        for hit in (True, False)
        for kind in ("load", "store")
    }
    for name, rate in results.items():
        print(f"{name:22s} {rate:12,.0f} accesses/s")
    if "--json" in sys.argv:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
