"""vmsim.hw: the simulated hardware (physical memory, page-table formats, TLB, MMU).

Imports nothing above it (only the base modules config, errors, events, stats).
"""

from vmsim.hw.mmu import EXEC, MMU, READ, WRITE_ACCESS, PageFault
from vmsim.hw.physmem import PhysicalMemory
from vmsim.hw.ptformat import (
    FORMATS,
    TEXTBOOK_FORMATS,
    PageTableFormat,
    WalkStep,
    make_format,
    walk,
)
from vmsim.hw.tlb import TLB

__all__ = [
    "EXEC",
    "FORMATS",
    "MMU",
    "READ",
    "TEXTBOOK_FORMATS",
    "TLB",
    "WRITE_ACCESS",
    "PageFault",
    "PageTableFormat",
    "PhysicalMemory",
    "WalkStep",
    "make_format",
    "walk",
]
