"""exec: load a real ELF executable of the host into a process's address space.

Each PT_LOAD segment becomes a private mapping of the file with the segment's own
permissions (text r-x, read-only data r--, data rw- copy-on-write); the part of a
segment beyond its file bytes (.bss) is zero: the tail of its last file page is
cleared (a copy-on-write fault, as Linux's padzero does) and whole pages beyond it
are anonymous memory. A position-independent executable (ET_DYN) is placed at
ELF_ET_DYN_BASE, two thirds up the user address space, as Linux does. The heap starts
right after the highest segment, and a stack is set up below the top of user space.
The dynamic linker is not loaded: the program image is what vmsim models.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmsim.errors import SyscallError
from vmsim.hw.pte import pg_round_down, pg_round_up
from vmsim.kernel.filemap import open_file
from vmsim.kernel.mm import PROT_EXEC, PROT_READ, PROT_WRITE, VMA
from vmsim.kernel.mmap import do_mmap
from vmsim.kernel.shmem import release_object
from vmsim.kernel.uaccess import copy_out

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel
    from vmsim.kernel.proc import Proc

PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4


@dataclass(frozen=True)
class LoadSegment:
    """One PT_LOAD segment, relocated: where it goes and what of the file fills it."""

    vaddr: int
    offset: int
    filesz: int
    memsz: int
    prot: int


@dataclass(frozen=True)
class ElfImage:
    """What exec loaded: the file, where it went, and where execution would start."""

    path: str
    base: int
    entry: int
    segments: tuple[LoadSegment, ...]
    pie: bool


def read_elf(path: str, user_top: int, page_size: int) -> ElfImage:
    """Parse an ELF executable's program headers; SyscallError(ENOEXEC) if it is not one."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            etype = elf.header["e_type"]
            if etype not in ("ET_EXEC", "ET_DYN"):
                raise SyscallError(errno.ENOEXEC, f"exec: {path} is not an executable ({etype})")
            pie = etype == "ET_DYN"
            base = (user_top // 3 * 2) & ~(page_size - 1) if pie else 0
            segs = tuple(
                LoadSegment(
                    base + seg["p_vaddr"],
                    seg["p_offset"],
                    seg["p_filesz"],
                    seg["p_memsz"],
                    _prot(seg["p_flags"]),
                )
                for seg in elf.iter_segments()
                if seg["p_type"] == "PT_LOAD"
            )
            entry = base + elf.header["e_entry"]
    except FileNotFoundError:
        raise SyscallError(errno.ENOENT, f"exec: no such file: {path}") from None
    except IsADirectoryError:
        raise SyscallError(errno.EACCES, f"exec: {path} is a directory") from None
    except ELFError as exc:
        raise SyscallError(
            errno.ENOEXEC, f"exec: {path} is not an ELF executable ({exc})"
        ) from None
    if not segs:
        raise SyscallError(errno.ENOEXEC, f"exec: {path} has no loadable segment")
    if max(s.vaddr + s.memsz for s in segs) > user_top:
        raise SyscallError(errno.ENOMEM, f"exec: {path} does not fit in this address space")
    return ElfImage(os.path.realpath(path), base, entry, segs, pie)


def _prot(flags: int) -> int:
    """ELF p_flags -> PROT_* bits."""
    return (
        (PROT_READ if flags & PF_R else 0)
        | (PROT_WRITE if flags & PF_W else 0)
        | (PROT_EXEC if flags & PF_X else 0)
    )


def _kind(prot: int) -> str:
    """The VMA kind of a segment: text, data or rodata."""
    if prot & PROT_EXEC:
        return "text"
    return "data" if prot & PROT_WRITE else "rodata"


def load_elf(k: Kernel, proc: Proc, path: str) -> ElfImage:
    """Map the program's segments, its heap start and a stack into a fresh process.

    OutOfMemory (or a pending OOM kill of proc) when clearing a bss tail finds no frame;
    the caller's exec boundary tears the half-built process down.
    """
    mm = proc.mm
    ps = k.fmt.page_size
    image = read_elf(path, k.fmt.user_top, ps)
    top = 0
    for seg in image.segments:
        start = max(pg_round_down(seg.vaddr, ps), top)
        file_end = pg_round_up(seg.vaddr + seg.filesz, ps)
        mem_end = pg_round_up(seg.vaddr + seg.memsz, ps)
        if seg.filesz and file_end > start:
            obj = open_file(k, path, writable=False)
            pgoff = (seg.offset - (seg.vaddr - start)) // ps
            do_mmap(
                k,
                mm,
                file_end - start,
                seg.prot,
                _kind(seg.prot),
                False,
                obj,
                pgoff,
                image.path,
                addr=start,
            )
            if obj.map_count == 0:
                release_object(k, obj)
            if seg.memsz > seg.filesz and seg.prot & PROT_WRITE:
                tail = seg.vaddr + seg.filesz
                copy_out(k, mm, tail, bytes(min(file_end, seg.vaddr + seg.memsz) - tail))
        else:
            file_end = start
        if mem_end > file_end:
            do_mmap(k, mm, mem_end - file_end, seg.prot, "bss", addr=file_end)
        top = max(top, mem_end)
    mm.start_brk = mm.brk = top
    lay = mm.layout
    mm.insert(
        VMA(lay.stack_top - ps, lay.stack_top, PROT_READ | PROT_WRITE, "stack", growsdown=True)
    )
    k.committed += 1
    return image
