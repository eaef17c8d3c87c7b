"""The Dask worker plugin of vmsim.sweep (a module of its own: it imports distributed)."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Sequence
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""glibc's mallopt parameters (malloc.h)."""
KEEP_FREED = 256 << 20
"""Freed memory a worker keeps for its next task before giving it back to the system."""
MMAP_ABOVE = 32 << 20
"""Only blocks larger than this get their own mmap (glibc's largest threshold)."""


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse; False where there is no glibc.

    Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, so every task's
    arrays (a trace, its ids, the kernels' state: megabytes) went back to the system
    when freed and the next task faulted them in again: some 2,200 page faults a task
    of bench_sweep, a third more CPU than the same task in a long-lived process.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    trim = mallopt(M_TRIM_THRESHOLD, KEEP_FREED)
    return bool(trim and mallopt(M_MMAP_THRESHOLD, MMAP_ABOVE))


class WarmKernels(WorkerPlugin):
    """Load (or compile) the policies' kernels once per worker, before its first task,
    and keep the worker's freed memory for its next tasks (keep_freed_memory).

    Registered on the client, it also warms the workers that join later (an adaptive
    dask-jobqueue cluster).
    """

    def __init__(self, policies: Sequence[str]) -> None:
        self.policies = list(policies)
        self.name = f"vmsim-warm-{'-'.join(self.policies)}"

    def setup(self, worker: Any) -> None:
        """Warm this worker's kernels; keep its freed memory."""
        from vmsim.engine.warm import warm_kernels

        keep_freed_memory()
        warm_kernels(self.policies)
