"""The machine's whole state as plain JSON-able data: `Machine.snapshot()` and the recorder.

This is the ONE module of the page that reads kernel state (DESIGN.md "The page"). It
reads without side effects: PTEs and heap bytes come from `PhysicalMemory.read_frame`
(no MMU, no counters, no events), the rest from the kernel's own tables.

The shape (every dict key is a string, so the data survives JSON unchanged):

    {"current": pid of the process on the CPU (0: none),
     "processes": {pid: {"pid", "name", "state", "asid", "root", "brk", "start_brk",
                         "exit_status", "stats": {ProcStat},
                         "vmas": [[start, end, prot, kind, shared, name], ...],
                         "tables": {ppn: {"level": l, "entries": {index: pte}}},
                         "ptes": {va of the page: pte},   (every non-zero leaf PTE)
                         "heap": null | {"allocator", "chunks": [[addr, size, in_use, where]]}
                                      | {"allocator", "error": text}}},
     "frames": [null (free) | {"purpose", "refcount", "dirty", "mappers": [[pid, va]],
                               "table_of": pid | null, "swap": slot | null,
                               "file": [name, page offset] | null}, ...],
     "swap": {slot: {"users": [[pid, va]], "frame": ppn | null}},
     "tlb": [[[vpn, ppn, asid, generic flags], ...least recent first] per set],
     "counters": {VmStat}}

PTE values are hex strings ("0x8000000000012067"): a 64-bit PTE does not fit a
JavaScript number. StateReader keeps per-section caches so the recorder can read the
state after every event cheaply; a section that did not change is the very same object
as before (the diff skips it by identity). Nothing returned is ever mutated.
"""

from __future__ import annotations

import copy
import struct
from typing import TYPE_CHECKING, Any

from vmsim.hw.tlb import _ASID_SHIFT as TLB_ASID_SHIFT

if TYPE_CHECKING:
    from vmsim.machine import Machine

State = dict[str, Any]
_UNPACK = {8: "Q", 4: "I", 1: "B"}


def snapshot(machine: Machine) -> State:
    """The whole state of machine now, read afresh (Machine.snapshot)."""
    return StateReader(machine).read()


def machine_meta(machine: Machine) -> dict[str, Any]:
    """What does not change during a run: geometry, the PTE format's bits, sizes."""
    k = machine.kernel
    fmt, lay = k.fmt, k.fmt.layout
    bits = {
        "P": lay.present, "W": lay.write, "U": lay.user, "A": lay.accessed,
        "D": lay.dirty, "NX": lay.nx, "X": lay.x, "COW": lay.cow, "R": lay.leaf_extra,
    }  # fmt: skip
    names = {
        "x86_64": {"W": "R/W", "U": "U/S", "COW": "AVL9 (COW)"},
        "x86_32": {"W": "R/W", "U": "U/S", "COW": "AVL9 (COW)"},
        "sv39": {"P": "V", "X": "X", "COW": "RSW8 (COW)"},
    }.get(fmt.name, {"P": "V"})
    return {
        "format": fmt.name,
        "levels": fmt.levels,
        "level_bits": list(fmt.level_bits),
        "page_shift": fmt.page_shift,
        "pte_size": lay.size,
        "ppn_shift": lay.ppn_shift,
        "ppn_bits": lay.ppn_bits,
        "bits": {
            n: {"bit": m.bit_length() - 1, "label": names.get(n, n)} for n, m in bits.items() if m
        },
        "nframes": k.frames.nframes,
        "nslots": k.swap.nslots,
        "tlb_sets": k.tlb.nsets,
        "tlb_ways": k.tlb.ways,
        "asid_bits": k.config.asid_bits,
        "zero_ppn": k.zero_ppn,
        "policy": k.config.policy,
    }


def pte_hex(pte: int) -> str:
    """A PTE as JSON carries it."""
    return f"{pte:#x}"


class StateReader:
    """Reads the state of one machine, reusing the sections that did not change."""

    def __init__(self, machine: Machine) -> None:
        self.m = machine
        self.k = machine.kernel
        fmt = self.k.fmt
        self._fmt = fmt
        self._unpack = struct.Struct(f"<{fmt.page_size // fmt.pte_size}{_UNPACK[fmt.pte_size]}")
        self._tables: dict[int, tuple[Any, tuple[Any, Any]]] = {}
        self._heaps: dict[int, tuple[Any, Any]] = {}
        self._procs: dict[int, tuple[Any, State]] = {}
        self._tlb: list[tuple[Any, list[Any]]] = []
        self._counters: dict[str, int] | None = None
        self._frames: tuple[Any, list[Any]] | None = None
        self._swap: tuple[Any, dict[str, Any]] | None = None
        self._dirty: dict[int, frozenset[int]] = {}
        """Per process: the frames its present PTEs mark dirty (D bit)."""

    def read(self) -> State:
        """The state now (see the module docstring for its shape)."""
        procs = self._processes()
        loaded = self.k.loaded_mm  # the address space on the CPU: its owner runs
        return {
            "current": loaded.owner.pid if loaded is not None and loaded.owner is not None else 0,
            "processes": procs,
            "frames": self._frame_list(procs),
            "swap": self._swap_slots(),
            "tlb": self._tlb_sets(),
            "counters": self._counter_dict(),
        }

    # --- processes, their page tables and heaps ----------------------------------------

    def _processes(self) -> dict[str, State]:
        """Every process the kernel knows, keyed by pid."""
        out: dict[str, State] = {}
        for pid, proc in self.k.procs.items():
            mm = proc.mm
            tables, ptes = self._page_tables(pid, mm.root_ppn, list(mm.pgtables))
            heap = self._heap(pid, ptes)
            key = (
                proc.name, proc.state, mm.asid, mm.root_ppn, mm.brk, mm.start_brk,
                proc.exit_status, tuple(vars(proc.stats).items()), tables, heap,
                tuple((v.start, v.end, v.prot, v.kind, v.shared, v.name) for v in mm.vmas),
            )  # fmt: skip
            cached = self._procs.get(pid)
            if cached is None or cached[0] != key:
                cached = (key, self._process(proc, tables, ptes, heap))
                self._procs[pid] = cached
            out[str(pid)] = cached[1]
        return out

    def _process(self, proc: Any, tables: Any, ptes: Any, heap: Any) -> State:
        """One process as JSON."""
        from vmsim.kernel.mm import prot_str

        mm = proc.mm
        return {
            "pid": proc.pid,
            "name": proc.name,
            "state": proc.state,
            "asid": mm.asid,
            "root": mm.root_ppn,
            "brk": mm.brk,
            "start_brk": mm.start_brk,
            "exit_status": proc.exit_status,
            "stats": dict(vars(proc.stats)),
            "vmas": [[v.start, v.end, prot_str(v.prot), v.kind, v.shared, v.name] for v in mm.vmas],
            "tables": tables,
            "ptes": ptes,
            "heap": heap,
        }

    def _page_tables(self, pid: int, root: int, frames: list[int]) -> tuple[Any, Any]:
        """(tables, ptes) of one address space, re-read only when a table page changed."""
        mem = self.k.mem
        held = mem._frames  # the frames' bytes, compared in place: no copy unless one changed
        cached = self._tables.get(pid)
        if (
            cached is not None
            and cached[0][:2] == (root, frames)
            and all(held.get(p, b"") == b for p, b in zip(frames, cached[0][2], strict=True))
        ):
            return cached[1]
        key = (root, frames, tuple(bytes(held.get(p, b"")) for p in frames))
        tables: dict[str, Any] = {}
        ptes: dict[str, str] = {}
        if frames:
            self._walk_table(root, 0, 0, tables, ptes)
        lay = self._fmt.layout
        values = [int(v, 16) for v in ptes.values()]
        self._dirty[pid] = frozenset(
            lay.ppn(v) for v in values if v & lay.present and v & lay.dirty
        )
        result = (tables, ptes)
        self._tables[pid] = (key, result)
        return result

    def _entries(self, ppn: int, nframes: int) -> list[int]:
        """The PTEs of the table that starts at frame ppn (nframes contiguous frames)."""
        out: list[int] = []
        for p in range(ppn, ppn + nframes):
            out.extend(self._unpack.unpack(self.k.mem.read_frame(p)))
        return out

    def _walk_table(
        self, ppn: int, level: int, base: int, tables: dict[str, Any], ptes: dict[str, str]
    ) -> None:
        """Record the table at ppn and, below it, every lower table and leaf PTE."""
        fmt = self._fmt
        lay = fmt.layout
        nframes = fmt.root_frames() if level == 0 else 1
        entries = self._entries(ppn, nframes)[: 1 << fmt.level_bits[level]]
        tables[str(ppn)] = {
            "level": level,
            "entries": {str(i): pte_hex(e) for i, e in enumerate(entries) if e},
        }
        for i, e in enumerate(entries):
            if not e:
                continue
            va = base | (i << fmt.shifts[level])
            if level == fmt.levels - 1 or (e & lay.present and fmt.is_leaf(e, level)):
                ptes[str(va)] = pte_hex(e)
            elif e & lay.present:
                self._walk_table(lay.ppn(e), level + 1, va, tables, ptes)

    def _heap(self, pid: int, ptes: dict[str, str]) -> Any:
        """The process's malloc heap (chunks), or None if its C library is not set up."""
        handle = self.m._processes.get(pid)
        libc = getattr(handle, "_libc", None)
        if libc is None:
            return None
        mem, present, shift = self.k.mem, self._fmt.layout.present, self._fmt.page_shift
        pages = {
            int(va) >> shift: self._fmt.layout.ppn(int(pte, 16))
            for va, pte in ptes.items()
            if int(pte, 16) & present
        }
        heap = libc.heap
        key = (
            ptes,
            tuple(mem.read_frame(p) for p in pages.values()),
            tuple(getattr(heap, "segments", ())),
            tuple(sorted(getattr(heap, "mmapped", {}).items())),
        )
        cached = self._heaps.get(pid)
        if cached is not None and cached[0] == key:
            return cached[1]
        walked = read_heap(heap, self._peek(pages))
        self._heaps[pid] = (key, walked)
        return walked

    def _peek(self, pages: dict[int, int]) -> Any:
        """load(va, n) over resident pages only, with no side effect (KeyError if absent)."""
        mem, shift = self.k.mem, self._fmt.page_shift
        mask = (1 << shift) - 1

        def load(va: int, n: int) -> bytes:
            out = b""
            while len(out) < n:
                cur = va + len(out)
                off = cur & mask
                take = min(n - len(out), mask + 1 - off)
                out += mem.read_frame(pages[cur >> shift])[off : off + take]
            return out

        return load

    # --- frames, swap, TLB, counters ------------------------------------------------------

    def _frame_list(self, procs: dict[str, State]) -> list[Any]:
        """Every frame: None if free, else its purpose, refcount, dirty bit and mappers.

        Re-read when a cheap key changes: refcounts, purposes, dirty frames (page-dirty
        flags and D bits), the swap and page caches, page-table pages, the rmap's size (the kernel
        changes the rmap together with a refcount or a PTE). A frame whose record did not
        change keeps its object.
        """
        k = self.k
        fr = k.frames
        dirty = set(k.reclaimer.page_dirty).union(*(self._dirty[int(pid)] for pid in procs))
        key = (
            list(fr.refcount), list(fr.purpose), dirty, dict(k.swap.cache_slot),
            len(fr.rmap), sum(map(len, fr.rmap.values())), len(k.page_owner),
            [tuple(proc.mm.pgtables) for proc in k.procs.values()],
        )  # fmt: skip
        if self._frames is not None and self._frames[0] == key:
            return self._frames[1]
        old = self._frames[1] if self._frames is not None else [None] * fr.nframes
        table_of = {ppn: pid for pid, proc in k.procs.items() for ppn in proc.mm.pgtables}
        out: list[Any] = []
        for ppn in range(fr.nframes):
            rec = self._frame(ppn, ppn in dirty, table_of.get(ppn))
            out.append(old[ppn] if rec == old[ppn] else rec)
        self._frames = (key, out)
        return out

    def _frame(self, ppn: int, dirty: bool, table_of: int | None) -> Any:
        """One frame's record (None if free)."""
        k = self.k
        fr = k.frames
        purpose = fr.purpose[ppn]
        if not purpose:
            return None
        owner = k.page_owner.get(ppn)
        mappers = fr.rmap.get(ppn, ())
        return {
            "purpose": purpose,
            "refcount": fr.refcount[ppn],
            "dirty": dirty and purpose != "pagetable",
            "mappers": sorted([m.owner.pid if m.owner else 0, va] for m, va in mappers),
            "table_of": table_of,
            "swap": k.swap.cache_slot.get(ppn),
            "file": None if owner is None else [_object_name(owner[0]), owner[1]],
        }

    def _swap_slots(self) -> dict[str, Any]:
        """Slots in use: the (pid, va) whose PTEs hold them, and the frame caching them.

        Re-read when the swap cache, the number of slot users or a page table changed.
        """
        sw = self.k.swap
        key = (
            dict(sw.cache_frame), len(sw.users), sum(map(len, sw.users.values())),
            len(sw.object_of),
        )  # fmt: skip
        if self._swap is not None and self._swap[0] == key:
            return self._swap[1]
        used = sorted(set(sw.users) | set(sw.cache_frame) | set(sw.object_of))
        out = {
            str(s): {
                "users": sorted(
                    [m.owner.pid if m.owner else 0, va] for m, va in sw.users.get(s, ())
                ),
                "frame": sw.cache_frame.get(s),
            }
            for s in used
        }
        self._swap = (key, out)
        return out

    def _tlb_sets(self) -> list[Any]:
        """Each TLB set's entries, least recently used first."""
        sets = self.k.tlb._sets
        if len(self._tlb) != len(sets):
            self._tlb = [((), []) for _ in sets]
        out = []
        mask = (1 << TLB_ASID_SHIFT) - 1
        for i, s in enumerate(sets):
            key = tuple(s.items())
            if self._tlb[i][0] != key:
                entries = [
                    [kk & mask, ppn, kk >> TLB_ASID_SHIFT, flags] for kk, (ppn, flags) in key
                ]
                self._tlb[i] = (key, entries)
            out.append(self._tlb[i][1])
        return out

    def _counter_dict(self) -> dict[str, int]:
        """The machine-wide counters (VmStat)."""
        now = vars(self.k.stats)
        if self._counters is None or self._counters != now:
            self._counters = dict(now)
        return self._counters


def _object_name(obj: Any) -> str:
    """The name a page-cache object shows: its file's path or its segment's name."""
    return str(getattr(obj, "path", "") or getattr(obj, "name", ""))


def read_heap(heap: Any, load: Any) -> dict[str, Any]:
    """The chunks of a heap, read through `load` instead of the MMU (no side effects)."""
    name = type(heap).__name__
    if not hasattr(heap, "_load"):
        return {"allocator": name, "error": "this allocator's chunks are not shown"}
    peek = copy.copy(heap)
    peek._load = load
    try:
        chunks = peek.chunks()
    except KeyError:
        return {"allocator": name, "error": "part of the heap is not resident"}
    except Exception as exc:  # a heap caught mid-update by malloc
        return {"allocator": name, "error": f"heap being changed: {exc}"}
    return {"allocator": name, "chunks": [[c.addr, c.size, c.in_use, c.where] for c in chunks]}
