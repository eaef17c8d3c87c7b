"""try_to_unmap: take a user frame back from every PTE that maps it (Linux's mm/rmap.c).

The reverse map (kalloc.py) names every (mm, va) that maps a frame. An anonymous or
shared-memory frame goes to swap (its PTEs become swap entries); a file page is
written back if dirty and dropped (its PTEs are cleared: the file still has it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmsim.kernel.filemap import reclaim_page_cache_frame
from vmsim.kernel.swap import swap_out_frame

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel


def try_to_unmap(k: Kernel, ppn: int) -> bool:
    """Unmap frame ppn everywhere and free it; False (nothing changed) if it must stay."""
    purpose = k.frames.purpose[ppn]
    if purpose in ("anon", "shm"):
        return swap_out_frame(k, ppn)
    if purpose == "file":
        return reclaim_page_cache_frame(k, ppn)
    return False
