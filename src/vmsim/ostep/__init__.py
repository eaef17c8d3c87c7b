"""Textbook mode: the six VM homework simulators of "Operating Systems: Three Easy Pieces".

`run(simulator, argv)` behaves like `python3 <simulator>.py argv...` of the OSTEP
homework repository: same flags (the original's optparse parser), same problems for
the same `-s` seed, same answers with `-c`, same stdout and exit status. Where an
original dies with a traceback or loops forever, vmsim raises `OstepError` after
printing what the original printed up to that point. The rules each module follows
are in its docstring (and in ../shared/refs/ostep/SEMANTICS.md).

Modules: `common` (flags, k/m/g sizes, the seeded stream, errors), one module per
simulator, and `replay` (fast counting replays for paging-policy). vmsim's own parts
do the work where the semantics coincide: `vmsim.libc.freelist` for malloc, the policy
registry for paging-policy (fifo, lru, mru, opt, random, ostep-clock, unopt), and the
hardware's page-table formats, `PhysicalMemory` and generic `walk` for the two
translation simulators (`linear` for paging-linear-translate, the textbook format
`ostep-2level` for paging-multilevel-translate).
"""

from __future__ import annotations

import importlib

SIMULATORS: dict[str, tuple[str, str]] = {
    "relocation": ("relocation", "base-and-bounds translation (vm-mechanism)"),
    "segmentation": ("segmentation", "two segments, one growing down (vm-segmentation)"),
    "malloc": ("malloc", "free-list allocator: fits, list orders, coalescing (vm-freespace)"),
    "paging-linear-translate": (
        "paging_linear_translate",
        "linear page table translation (vm-paging)",
    ),
    "paging-multilevel-translate": (
        "paging_multilevel_translate",
        "two-level page table walk over a memory dump (vm-smalltables)",
    ),
    "paging-policy": (
        "paging_policy",
        "page replacement: FIFO LRU MRU OPT UNOPT RAND CLOCK; also --trace FILE, --json",
    ),
}
"""Simulator name (the original script without .py) -> (module, one-line summary)."""


def run(simulator: str, argv: list[str]) -> int:
    """Run one simulator with its command-line arguments; return its exit status."""
    module = importlib.import_module(f"vmsim.ostep.{SIMULATORS[simulator][0]}")
    status: int = module.run(argv)
    return status
