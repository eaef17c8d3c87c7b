"""The kernel's access to user memory (Linux's uaccess): fault_in, copy_in, copy_out.

The kernel never goes through the MMU: it walks the page table in software and, when
a page is not there (or not writable for a write), runs the same handle_mm_fault a
user fault runs. A bad user address is SyscallError(EFAULT), as copy_to_user's -EFAULT.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from vmsim.kernel.fault import fault_in
from vmsim.kernel.mm import AddressSpace

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel


def copy_out(
    k: Kernel, mm: AddressSpace, va: int, data: bytes, wrote: Callable[[int], None] | None = None
) -> None:
    """Kernel writes user memory at va (software walk, faulting pages in as needed).

    wrote(ppn) is called for each frame stored into (a CPU drops its translated code).
    """
    ps = k.fmt.page_size
    done = 0
    while done < len(data):
        cur = va + done
        n = min(len(data) - done, ps - (cur & (ps - 1)))
        pa = fault_in(k, mm, cur, write=True)
        k.mem.write(pa, data[done : done + n])
        if wrote is not None:
            wrote(pa >> k.fmt.page_shift)
        done += n


def copy_in(k: Kernel, mm: AddressSpace, va: int, n: int) -> bytes:
    """Kernel reads n bytes of user memory at va (software walk, faulting pages in)."""
    ps = k.fmt.page_size
    out = bytearray()
    while len(out) < n:
        cur = va + len(out)
        m = min(n - len(out), ps - (cur & (ps - 1)))
        out += k.mem.read(fault_in(k, mm, cur, write=False), m)
    return bytes(out)
