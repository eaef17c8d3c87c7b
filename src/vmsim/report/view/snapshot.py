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

from vmsim.hw.tlb import ASID_SHIFT as TLB_ASID_SHIFT

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
        self._tables: dict[int, Any] = {}
        self._heaps: dict[int, tuple[Any, Any]] = {}
        self._procs: dict[int, tuple[Any, State]] = {}
        self._tlb: list[tuple[Any, list[Any]]] = []
        self._counters: dict[str, int] | None = None
        self._frames: tuple[_FrameKeys, list[Any]] | None = None
        self._swap: tuple[Any, dict[str, Any]] | None = None
        self._last: State | None = None
        self._tlb_out: list[Any] | None = None
        self._frames_moved: list[int] = []
        """The frames whose records the last read replaced."""
        self._rewalked = False
        """Whether this read walked some page tables afresh (every frame is re-read)."""
        self._pte_frames: set[int] = set()
        """The frames that PTEs patched in this read mapped before or map now."""
        self._pte_slots: set[int] = set()
        """The swap slots that PTEs patched in this read held before or hold now."""
        self._procs_out: dict[str, State] = {}
        self._dirty: dict[int, dict[int, int]] = {}
        """Per process: the frames its present PTEs mark dirty (D bit), with how many PTEs."""
        self._pt_ops: dict[int, list[Any]] = {}
        """Per process: the operations of the last patch of its tables (see _patch)."""

    def read(self) -> State:
        """The state now (see the module docstring for its shape)."""
        self._rewalked = False
        self._pte_frames = set()
        self._pte_slots = set()
        procs = self._processes()
        loaded = self.k.loaded_mm  # the address space on the CPU: its owner runs
        state = {
            "current": loaded.owner.pid if loaded is not None and loaded.owner is not None else 0,
            "processes": procs,
            "frames": self._frame_list(procs),
            "swap": self._swap_slots(),
            "tlb": self._tlb_sets(),
            "counters": self._counter_dict(),
        }
        self._last = state
        return state

    def read_delta(self) -> tuple[State, list[Any]]:
        """The state now and the operations that turn the previous read into it.

        Sections that did not change are skipped by identity; patched page tables bring
        their own operations; the rest goes through the generic `diff`.
        """
        from vmsim.report.view.record import diff

        prev = self._last
        state = self.read()
        if prev is None:
            return state, [[[], state]]
        ops: list[Any] = []
        for key, new in state.items():
            old = prev[key]
            if new is old:
                continue
            if key == "processes":
                self._process_ops(old, new, ops)
            elif key == "frames" and len(old) == len(new):
                ops.extend([["frames", p], new[p]] for p in sorted(self._frames_moved))
            elif key == "tlb" and len(old) == len(new):
                pairs = enumerate(zip(old, new, strict=True))
                ops.extend([["tlb", i], b] for i, (a, b) in pairs if a is not b)
            else:
                diff(old, new, [key], ops)
        return state, ops

    def _process_ops(self, old: State, new: State, ops: list[Any]) -> None:
        """The operations from one processes section to the next."""
        from vmsim.report.view.record import diff

        for pid, proc in new.items():
            was = old.get(pid)
            if was is proc:
                continue
            if was is None:
                ops.append([["processes", pid], proc])
                continue
            patch = self._pt_ops.get(int(pid))
            for field, value in proc.items():
                if patch is not None and field in ("tables", "ptes"):
                    continue
                diff(was[field], value, ["processes", pid, field], ops)
            if patch is not None:
                ops.extend([["processes", pid, *op[0]], *op[1:]] for op in patch)
        ops.extend([["processes", pid]] for pid in old if pid not in new)

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
            if cached is None or not _same(cached[0], key):
                cached = (key, self._process(proc, tables, ptes, heap))
                self._procs[pid] = cached
            out[str(pid)] = cached[1]
        last = self._procs_out
        if len(last) == len(out) and all(last.get(p) is v for p, v in out.items()):
            return last
        self._procs_out = out
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
        """(tables, ptes) of one address space, re-read only when a table page changed.

        When only leaf entries changed, the cached tables are patched (copy on write) and
        the operations that patch them are kept in `_pt_ops[pid]` for `read_delta`.
        """
        mem = self.k.mem
        held = mem._frames  # the frames' bytes, compared in place: no copy unless one changed
        cached = self._tables.get(pid)
        self._pt_ops.pop(pid, None)
        if cached is not None and cached[0][:2] == (root, frames):
            changed = [
                i
                for i, (p, b) in enumerate(zip(frames, cached[0][2], strict=True))
                if held.get(p, b"") != b
            ]
            if not changed:
                return cached[1]
            patched = self._patch(pid, cached, changed)
            if patched is not None:
                return patched
        key = (root, frames, [bytes(held.get(p, b"")) for p in frames])
        self._rewalked = True
        tables: dict[str, Any] = {}
        ptes: dict[str, str] = {}
        where: dict[int, tuple[int, int, int, int]] = {}
        if frames:
            self._walk_table(root, 0, 0, tables, ptes, where)
        lay = self._fmt.layout
        dirty: dict[int, int] = {}
        for v in ptes.values():
            e = int(v, 16)
            if e & lay.present and e & lay.dirty:
                dirty[lay.ppn(e)] = dirty.get(lay.ppn(e), 0) + 1
        self._dirty[pid] = dirty
        result = (tables, ptes)
        self._tables[pid] = (key, result, where)
        return result

    def _patch(self, pid: int, cached: Any, changed: list[int]) -> tuple[Any, Any] | None:
        """The cached tables with the changed frames' leaf entries re-read (None: walk again)."""
        fmt, lay = self._fmt, self._fmt.layout
        last = fmt.levels - 1
        key, (tables, ptes), where = cached
        frames, old_bytes = key[1], key[2]
        held = self.k.mem._frames
        tables, ptes = dict(tables), dict(ptes)
        dirty = dict(self._dirty[pid])
        ops: list[Any] = []
        new_bytes = list(old_bytes)
        for n in changed:
            now = bytes(held.get(frames[n], b""))
            new_bytes[n] = now
            spot = where.get(frames[n])
            if spot is None:
                continue  # a table no walk reaches: not shown
            table, level, first, t_base = spot
            old_t = tables[str(table)]
            t = tables[str(table)] = {"level": level, "entries": dict(old_t["entries"])}
            limit = (1 << fmt.level_bits[level]) - first
            old_e = self._unpack.unpack(old_bytes[n] or bytes(fmt.page_size))
            new_e = self._unpack.unpack(now or bytes(fmt.page_size))
            for j in range(min(limit, len(new_e))):
                a, b = old_e[j], new_e[j]
                if a == b:
                    continue
                pa = a & lay.present and level != last and not fmt.is_leaf(a, level)
                pb = b & lay.present and level != last and not fmt.is_leaf(b, level)
                if pa or pb:
                    return None  # a lower table came or went: walk again
                i = first + j
                for e in (a, b):
                    if e:
                        (self._pte_frames if e & lay.present else self._pte_slots).add(lay.ppn(e))
                path = ["tables", str(table), "entries", str(i)]
                if b:
                    t["entries"][str(i)] = pte_hex(b)
                    ops.append([path, pte_hex(b)])
                else:
                    del t["entries"][str(i)]
                    ops.append([path])
                va = str(t_base | (i << fmt.shifts[level]))
                if a and a & lay.present and a & lay.dirty:
                    dirty[lay.ppn(a)] -= 1
                    if not dirty[lay.ppn(a)]:
                        del dirty[lay.ppn(a)]
                if b and b & lay.present and b & lay.dirty:
                    dirty[lay.ppn(b)] = dirty.get(lay.ppn(b), 0) + 1
                if b and (level == last or b & lay.present):
                    ptes[va] = pte_hex(b)
                    ops.append([["ptes", va], pte_hex(b)])
                elif a and (level == last or a & lay.present):
                    del ptes[va]
                    ops.append([["ptes", va]])
        self._dirty[pid] = dirty
        result = (tables, ptes)
        self._tables[pid] = ((key[0], frames, new_bytes), result, where)
        self._pt_ops[pid] = ops
        return result

    def _entries(self, ppn: int, nframes: int) -> list[int]:
        """The PTEs of the table that starts at frame ppn (nframes contiguous frames)."""
        out: list[int] = []
        for p in range(ppn, ppn + nframes):
            out.extend(self._unpack.unpack(self.k.mem.read_frame(p)))
        return out

    def _walk_table(
        self, ppn: int, level: int, base: int, tables: dict[str, Any], ptes: dict[str, str],
        where: dict[int, tuple[int, int, int, int]],
    ) -> None:  # fmt: skip
        """Record the table at ppn and, below it, every lower table and leaf PTE.

        where[frame] = (table, level, index of the frame's first entry, the table's base va).
        """
        fmt = self._fmt
        lay = fmt.layout
        nframes = fmt.root_frames() if level == 0 else 1
        per_frame = fmt.page_size // fmt.pte_size
        for n in range(nframes):
            where[ppn + n] = (ppn, level, n * per_frame, base)
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
                self._walk_table(lay.ppn(e), level + 1, va, tables, ptes, where)

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

        Only the frames that may have changed are re-read: those whose refcount, purpose,
        dirty bit (page-dirty flag or D bit), swap-cache slot, page-cache owner or
        page-table owner changed, and those a patched PTE mapped before or maps now. All
        are re-read after a page-table walk, on the first read, and when the rmap's size
        changed with none of the above (the kernel changes the rmap together with a
        refcount or a PTE). A frame whose record did not change keeps its object.
        """
        k = self.k
        fr = k.frames
        dirty = set(k.reclaimer.page_dirty).union(*(self._dirty[int(pid)] for pid in procs))
        was = self._frames
        now = _FrameKeys(
            _kept(fr.refcount, was[0].refcount if was else None),
            _kept(fr.purpose, was[0].purpose if was else None),
            dirty, dict(k.swap.cache_slot),
            {ppn: pid for pid, proc in k.procs.items() for ppn in proc.mm.pgtables},
            dict(k.page_owner), (len(fr.rmap), sum(map(len, fr.rmap.values()))),
        )  # fmt: skip
        if was is None or self._rewalked:
            todo: Any = range(fr.nframes)
            old = was[1] if was is not None else [None] * fr.nframes
        else:
            todo = now.changed(was[0]) | self._pte_frames
            old = was[1]
            if not todo and now.rmap != was[0].rmap:
                todo = range(fr.nframes)
        if not todo and was is not None:
            self._frames = (now, was[1])
            return was[1]
        out = list(old)
        moved = []
        for ppn in todo:
            rec = self._frame(ppn, ppn in dirty, now.tables.get(ppn))
            if rec != old[ppn]:
                out[ppn] = rec
                moved.append(ppn)
        if not moved and was is not None:
            out = was[1]
        self._frames_moved = moved
        self._frames = (now, out)
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

        Only the slots that may have changed are re-read: those whose swap-cache frame or
        object changed and those a patched PTE held before or holds now; all of them after
        a page-table walk, on the first read, and when the users' count changed with none
        of the above.
        """
        sw = self.k.swap
        key: tuple[dict[int, Any], dict[int, Any], tuple[int, int]] = (
            dict(sw.cache_frame), dict(sw.object_of),
            (len(sw.users), sum(map(len, sw.users.values()))),
        )  # fmt: skip
        was = self._swap
        if was is None or self._rewalked:
            todo: Any = None
        else:
            todo = set(self._pte_slots)
            for c, d in ((was[0][0], key[0]), (was[0][1], key[1])):
                if c != d:
                    todo.update(p for p in c.keys() | d.keys() if c.get(p) != d.get(p))
            if not todo and key[2] != was[0][2]:
                todo = None
        if todo is not None and not todo and was is not None:
            self._swap = (key, was[1])
            return was[1]
        old = was[1] if was is not None else {}
        used = set(sw.users) | set(sw.cache_frame) | set(sw.object_of)
        if todo is None:
            todo = used | {int(s) for s in old}
        out = dict(old)
        for s in todo:
            if s not in used:
                out.pop(str(s), None)
                continue
            rec = {
                "users": sorted(
                    [m.owner.pid if m.owner else 0, va] for m, va in sw.users.get(s, ())
                ),
                "frame": sw.cache_frame.get(s),
            }
            if old.get(str(s)) != rec:
                out[str(s)] = rec
        if out != old or was is None:
            old = {k: out[k] for k in sorted(out, key=int)}
        self._swap = (key, old)
        return old

    def _tlb_sets(self) -> list[Any]:
        """Each TLB set's entries, least recently used first."""
        sets = self.k.tlb.sets
        if len(self._tlb) != len(sets):
            self._tlb = [((), []) for _ in sets]
        mask = (1 << TLB_ASID_SHIFT) - 1
        changed = False
        for i, s in enumerate(sets):
            key = tuple(s.items())
            if self._tlb[i][0] != key:
                entries = [
                    [kk & mask, ppn, kk >> TLB_ASID_SHIFT, flags] for kk, (ppn, flags) in key
                ]
                self._tlb[i] = (key, entries)
                changed = True
        if changed or self._tlb_out is None:
            self._tlb_out = [entries for _, entries in self._tlb]
        return self._tlb_out

    def _counter_dict(self) -> dict[str, int]:
        """The machine-wide counters (VmStat)."""
        now = vars(self.k.stats)
        if self._counters is None or self._counters != now:
            self._counters = dict(now)
        return self._counters


class _FrameKeys:
    """What a frame's record is read from, for all frames at one step."""

    def __init__(
        self, refcount: list[int], purpose: list[str], dirty: set[int], cache: dict[int, int],
        tables: dict[int, int], owners: dict[int, Any], rmap: tuple[int, int],
    ) -> None:  # fmt: skip
        self.refcount, self.purpose, self.dirty, self.cache = refcount, purpose, dirty, cache
        self.tables, self.owners, self.rmap = tables, owners, rmap

    def changed(self, old: _FrameKeys) -> set[int]:
        """The frames whose keys differ from old's."""
        out: set[int] = set()
        for a, b in ((old.refcount, self.refcount), (old.purpose, self.purpose)):
            if a is not b:
                out.update(_differ(a, b))
        if old.dirty != self.dirty:
            out |= old.dirty ^ self.dirty
        for c, d in ((old.cache, self.cache), (old.tables, self.tables), (old.owners, self.owners)):
            if c != d:
                out.update(p for p in c.keys() | d.keys() if c.get(p) != d.get(p))
        return out


def _kept(now: list[Any], saved: list[Any] | None) -> list[Any]:
    """saved if it still equals now (no copy of a long list at every step), else a copy."""
    return saved if saved is not None and saved == now else list(now)


def _differ(a: list[Any], b: list[Any], block: int = 1024) -> list[int]:
    """The indexes where two lists of one length differ (compared a block at a time in C)."""
    out: list[int] = []
    for k in range(0, len(a), block):
        if a[k : k + block] != b[k : k + block]:
            out.extend(
                k + i
                for i, (x, y) in enumerate(zip(a[k : k + block], b[k : k + block], strict=True))
                if x != y
            )
    return out


def _same(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    """Two cache keys alike: the read tables and heap by identity, the rest by value."""
    return all(a is b or (type(a) is not dict and a == b) for a, b in zip(old, new, strict=True))


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
