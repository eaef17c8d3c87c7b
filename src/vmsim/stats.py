"""Counters named like /proc/vmstat (machine-wide) and /proc/PID/stat (per process).

Counters are exact: tests pin them. They are plain int attributes so the hot path
can increment them cheaply.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class VmStat:
    """Machine-wide counters, as /proc/vmstat names them where Linux has a name."""

    pgfault: int = 0
    """Page faults handled (minor and major; SIGSEGV faults included)."""
    pgmajfault: int = 0
    """Major faults: the page had to be read from swap or a file."""
    tlb_hit: int = 0
    tlb_miss: int = 0
    tlb_flushes: int = 0
    """Whole-TLB or whole-ASID flushes (single-page invalidations are not counted)."""
    tlb_flush_page: int = 0
    """Single-page TLB invalidations."""
    walks: int = 0
    """Hardware page-table walks (one per TLB miss that reached the tables)."""
    pgalloc: int = 0
    """Frames handed out by kalloc (data and page-table pages)."""
    pgfree: int = 0
    """Frames given back by kfree."""
    pgtable_alloc: int = 0
    """Frames used for page-table pages."""
    zero_page_map: int = 0
    """Read faults on never-touched anonymous pages answered with the shared zero page."""
    pswpin: int = 0
    """Pages read from swap."""
    pswpout: int = 0
    """Pages written to swap."""
    pgsteal: int = 0
    """Frames reclaimed by page replacement."""
    pgpgin: int = 0
    """Pages read from mapped files."""
    pgpgout: int = 0
    """Pages written back to mapped files."""
    cow_fault: int = 0
    """Write faults on copy-on-write pages (copied or reused)."""
    cow_copy: int = 0
    """Copy-on-write faults that copied the page."""
    oom_kill: int = 0
    segv: int = 0
    """SIGSEGV deliveries."""
    context_switches: int = 0

    def as_dict(self) -> dict[str, int]:
        """All counters as a name -> value dict."""
        return asdict(self)


@dataclass
class ProcStat:
    """Per-process counters (rss and swap are in pages)."""

    min_flt: int = 0
    maj_flt: int = 0
    rss: int = 0
    """Resident pages mapped by this process (zero-page mappings are not counted)."""
    swap: int = 0
    """Pages of this process that live in swap."""
    pgtables: int = 0
    """Page-table pages of this process."""
    cpu_accesses: int = 0
    """Memory accesses this process made (loads, stores, fetches)."""
    cow_fault: int = 0

    def as_dict(self) -> dict[str, int]:
        """All counters as a name -> value dict."""
        return asdict(self)
