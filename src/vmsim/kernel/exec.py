"""exec: load a real ELF executable of the host into a process's address space.

Each PT_LOAD segment becomes a private mapping of the file with the segment's own
permissions (text r-x, read-only data r--, data rw- copy-on-write); the part of a
segment beyond its file bytes (.bss) is zero: the tail of its last file page is
cleared (a copy-on-write fault, as Linux's padzero does) and whole pages beyond it
are anonymous memory. A position-independent executable (ET_DYN) is placed at
ELF_ET_DYN_BASE, two thirds up the user address space, as Linux does. The heap starts
right after the highest segment, and a stack is set up below the top of user space.
`exec_program` makes the process ready to run on a CPU (hw.cpu): it loads the dynamic
linker named by PT_INTERP (placed like an mmap, top-down) and builds Linux's initial
stack: argc, argv, envp, the auxiliary vector (AT_PHDR, AT_PHNUM, AT_PAGESZ, AT_ENTRY,
AT_BASE, AT_RANDOM from the machine's seed, AT_UID, ...) and the strings they point to.
No vDSO is offered (no AT_SYSINFO_EHDR): glibc then makes real system calls.
"""

from __future__ import annotations

import errno
import os
import random
import struct
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from vmsim.errors import SyscallError
from vmsim.hw.pte import pg_round_down, pg_round_up
from vmsim.kernel.filemap import open_file
from vmsim.kernel.mm import PROT_EXEC, PROT_READ, PROT_WRITE, VMA
from vmsim.kernel.mmap import do_mmap
from vmsim.kernel.shmem import release_object
from vmsim.kernel.uaccess import copy_out

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel
    from vmsim.kernel.mm import AddressSpace
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
    phdr: int = 0
    """Where the program headers are in memory (AT_PHDR)."""
    phnum: int = 0
    interp: str = ""
    """The dynamic linker the program asks for (PT_INTERP), or "" for a static program."""

    def relocated(self, delta: int) -> ElfImage:
        """The same image loaded delta bytes higher."""
        segs = tuple(replace(s, vaddr=s.vaddr + delta) for s in self.segments)
        return replace(
            self, base=self.base + delta, entry=self.entry + delta, segments=segs,
            phdr=self.phdr + delta,
        )  # fmt: skip


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
            phdr, interp = _phdr_and_interp(elf, base)
            phnum = elf.header["e_phnum"]
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
    return ElfImage(os.path.realpath(path), base, entry, segs, pie, phdr, phnum, interp)


def _phdr_and_interp(elf: Any, base: int) -> tuple[int, str]:
    """(address of the program headers once loaded, PT_INTERP path or "")."""
    phoff = elf.header["e_phoff"]
    phdr, interp = 0, ""
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_PHDR":
            phdr = base + seg["p_vaddr"]
        elif seg["p_type"] == "PT_INTERP":
            interp = seg.get_interp_name()
        elif (
            seg["p_type"] == "PT_LOAD"
            and not phdr
            and seg["p_offset"] <= phoff < seg["p_offset"] + seg["p_filesz"]
        ):
            phdr = base + seg["p_vaddr"] + phoff - seg["p_offset"]
    return phdr, interp


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
    top = map_image(k, mm, image)
    mm.start_brk = mm.brk = top
    lay = mm.layout
    mm.insert(
        VMA(lay.stack_top - ps, lay.stack_top, PROT_READ | PROT_WRITE, "stack", growsdown=True)
    )
    k.committed += 1
    return image


def map_image(k: Kernel, mm: AddressSpace, image: ElfImage) -> int:
    """Map an image's PT_LOAD segments (file pages private, bss anonymous); return its end."""

    ps = k.fmt.page_size
    path = image.path
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
                copy_out(k, mm, tail, bytes(file_end - tail))  # padzero: to the page end
        else:
            file_end = start
        if mem_end > file_end:
            do_mmap(k, mm, mem_end - file_end, seg.prot, "bss", addr=file_end)
        top = max(top, mem_end)
    return top


# --- making a process ready to run on a CPU ----------------------------------------------

AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = (
    0,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
)
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN = 23, 25, 26, 31
PHENT_SIZE = 56


@dataclass(frozen=True)
class UserStart:
    """Where a freshly exec'd program starts: the first instruction and the stack pointer."""

    image: ElfImage
    pc: int
    sp: int
    interp_base: int = 0


def exec_program(k: Kernel, proc: Proc, path: str, argv: list[str], envp: list[str]) -> UserStart:
    """Load path (and its dynamic linker) into a fresh process and build its initial stack."""
    image = load_elf(k, proc, path)
    pc, interp_base = image.entry, 0
    if image.interp:
        interp = load_interp(k, proc.mm, image.interp)
        pc, interp_base = interp.entry, interp.base
    ids = os.getuid(), os.geteuid(), os.getgid(), os.getegid()
    auxv = [
        (AT_PHDR, image.phdr), (AT_PHENT, PHENT_SIZE), (AT_PHNUM, image.phnum),
        (AT_PAGESZ, k.fmt.page_size), (AT_BASE, interp_base), (AT_FLAGS, 0),
        (AT_ENTRY, image.entry), (AT_UID, ids[0]), (AT_EUID, ids[1]), (AT_GID, ids[2]),
        (AT_EGID, ids[3]), (AT_HWCAP, 0), (AT_CLKTCK, 100), (AT_SECURE, 0), (AT_HWCAP2, 0),
    ]  # fmt: skip
    rand = random.Random(k.config.seed * 1_000_003 + proc.pid).randbytes(16)
    sp = build_stack(k, proc.mm, argv, envp, auxv, path, rand)
    return UserStart(image, pc, sp, interp_base)


def load_interp(k: Kernel, mm: AddressSpace, path: str) -> ElfImage:
    """Map the dynamic linker where an mmap of its whole span would go (top-down)."""
    ps = k.fmt.page_size
    image = read_elf(path, k.fmt.user_top, ps)
    lo = pg_round_down(min(s.vaddr for s in image.segments), ps)
    hi = pg_round_up(max(s.vaddr + s.memsz for s in image.segments), ps)
    addr = mm.get_unmapped_area(hi - lo)
    if addr is None:
        raise SyscallError(errno.ENOMEM, f"exec: no room for the dynamic linker {path}")
    image = image.relocated(addr - lo)
    map_image(k, mm, image)
    return image


def build_stack(
    k: Kernel,
    mm: AddressSpace,
    argv: list[str],
    envp: list[str],
    auxv: list[tuple[int, int]],
    execfn: str,
    rand: bytes,
) -> int:
    """Write Linux's initial stack below the stack top; return the stack pointer (at argc)."""
    top = mm.layout.stack_top - 8
    blob = bytearray()

    def put(data: bytes) -> int:
        """Place data just below what is placed already; return its address."""
        blob[:0] = data
        return top - len(blob)

    fn = put(os.fsencode(execfn) + b"\0")
    envs = [put(os.fsencode(e) + b"\0") for e in reversed(envp)][::-1]
    args = [put(os.fsencode(a) + b"\0") for a in reversed(argv)][::-1]
    platform = put(b"x86_64\0")
    rnd = put(rand)
    auxv = [*auxv, (AT_RANDOM, rnd), (AT_PLATFORM, platform), (AT_EXECFN, fn), (AT_NULL, 0)]
    words = [len(args), *args, 0, *envs, 0, *(x for pair in auxv for x in pair)]
    table = struct.pack(f"<{len(words)}Q", *words)
    sp = (top - len(blob) - len(table)) & ~15
    blob[:0] = table + bytes(top - len(blob) - len(table) - sp)
    copy_out(k, mm, sp, bytes(blob) + bytes(8))
    return sp
