"""malloc/free pairs per second for small sizes, on a flat memory and on the machine.

Every figure comes from `pairs_per_second(mem, ...)` or `churn_per_second(mem, ...)`,
which take any `UserMemory`: the flat test memory (tests/libc/flatmem.py: plain
bytearrays, so the figure is the allocator's own cost) and a `vmsim.Process` (every
load and store goes through the MMU and TLB). Also counts the simulated-memory
accesses a pair costs (loads + stores), which is what makes the machine slower.

    python benchmarks/bench_malloc.py [--json] [--quick]
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "libc"))

from flatmem import FlatMemory

import vmsim
from vmsim.libc.malloc import GlibcHeap
from vmsim.libc.usermem import UserMemory

SIZES = (16, 24, 64, 128, 512, 1024)


def pairs_per_second(mem: UserMemory, size: int, n: int) -> float:
    """malloc(size) then free() n times (the tcache fast path); pairs per second."""
    heap = GlibcHeap(mem)
    heap.free(heap.malloc(size))
    malloc, free = heap.malloc, heap.free
    t0 = time.perf_counter()
    for _ in range(n):
        free(malloc(size))
    return n / (time.perf_counter() - t0)


def churn_per_second(mem: UserMemory, n: int, live: int = 200, seed: int = 1) -> float:
    """Random sizes up to 1 KiB, `live` blocks kept, one replaced per step: pairs per second.

    This mixes the tcache with fastbins, the unsorted and small bins, splitting and
    coalescing, as a program with a working set of small objects does.
    """
    heap = GlibcHeap(mem)
    rng = random.Random(seed)
    sizes = [rng.randrange(1, 1025) for _ in range(n + live)]
    slots = [heap.malloc(sizes[i]) for i in range(live)]
    picks = [rng.randrange(live) for _ in range(n)]
    malloc, free = heap.malloc, heap.free
    t0 = time.perf_counter()
    for i in range(n):
        k = picks[i]
        free(slots[k])
        slots[k] = malloc(sizes[live + i])
    return n / (time.perf_counter() - t0)


class CountingMemory(FlatMemory):
    """A flat memory that counts loads and stores."""

    accesses = 0

    def load(self, va: int, n: int) -> bytes:
        self.accesses += 1
        return super().load(va, n)

    def store(self, va: int, data: bytes) -> None:
        self.accesses += 1
        super().store(va, data)


def accesses_per_pair(size: int, n: int = 1000) -> float:
    """Simulated-memory accesses (loads + stores) per malloc/free pair of `size`."""
    mem = CountingMemory(record=False)
    heap = GlibcHeap(mem)
    heap.free(heap.malloc(size))
    before = mem.accesses
    for _ in range(n):
        heap.free(heap.malloc(size))
    return (mem.accesses - before) / n


def churn_accesses(n: int = 2000) -> float:
    """Simulated-memory accesses per replacement step of the churn case."""
    mem = CountingMemory(record=False)
    churn_per_second(mem, 0)
    setup = mem.accesses
    mem = CountingMemory(record=False)
    churn_per_second(mem, n)
    return (mem.accesses - setup) / n


def machine_process() -> UserMemory:
    """A fresh process on a default machine (events off)."""
    return vmsim.Machine(memory="64MiB").spawn()


def best(f: Callable[[], float], runs: int) -> float:
    """The best of `runs` measurements."""
    return max(f() for _ in range(runs))


def main(argv: list[str]) -> int:
    """Measure every case; print a table (and JSON with --json)."""
    quick = "--quick" in argv
    n_flat, n_machine, runs = (2_000, 500, 1) if quick else (30_000, 5_000, 3)
    results: dict[str, dict[str, float]] = {}
    for size in SIZES:
        results[f"malloc({size})+free"] = {
            "flat": best(
                lambda s=size: pairs_per_second(FlatMemory(record=False), s, n_flat), runs
            ),
            "machine": best(lambda s=size: pairs_per_second(machine_process(), s, n_machine), runs),
            "accesses": accesses_per_pair(size),
        }
    results["churn, 200 live, 1..1024 B"] = {
        "flat": best(lambda: churn_per_second(FlatMemory(record=False), n_flat), runs),
        "machine": best(lambda: churn_per_second(machine_process(), n_machine), runs),
        "accesses": churn_accesses(),
    }
    print(f"{'case':30s} {'flat memory':>14s} {'machine':>12s} {'accesses/pair':>14s}")
    for name, r in results.items():
        print(f"{name:30s} {r['flat']:12,.0f}/s {r['machine']:10,.0f}/s {r['accesses']:14.1f}")
    if "--json" in argv:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
