"""Property test over random sequences of fork, write, exit, shared and private mappings
(anonymous, named shm, a host file), msync and reclaim, against a model.

Private data never leaks between processes, shared data is seen by every sharer, the
host file matches what processes wrote through MAP_SHARED after msync or munmap, a
MAP_PRIVATE write never reaches the file, and when everyone has exited every frame,
slot and page-cache page is free again.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import vmsim

PAGE = 4096
NP = 3  # pages per region
SIZE = NP * PAGE


@dataclass
class Region:
    """One mapping of one process, and what it must read back."""

    va: int
    kind: str  # private | shared | shm | file-shared | file-private
    data: bytearray | None = None  # private: its own bytes
    shared: bytearray | None = None  # shared, shm, file-*: the bytes every sharer sees
    copies: dict[int, bytearray] = field(default_factory=dict)  # file-private: own pages

    def expect(self, off: int, n: int) -> bytes:
        if self.data is not None:
            return bytes(self.data[off : off + n])
        assert self.shared is not None
        if self.kind != "file-private":
            return bytes(self.shared[off : off + n])
        out = bytearray()
        for a in range(off, off + n):
            pg = a // PAGE
            out.append(self.copies[pg][a % PAGE] if pg in self.copies else self.shared[a])
        return bytes(out)

    def write(self, off: int, data: bytes) -> None:
        if self.data is not None:
            self.data[off : off + len(data)] = data
        elif self.kind == "file-private":
            assert self.shared is not None
            for i, byte in enumerate(data):
                pg = (off + i) // PAGE
                if pg not in self.copies:
                    self.copies[pg] = bytearray(self.shared[pg * PAGE : (pg + 1) * PAGE])
                self.copies[pg][(off + i) % PAGE] = byte
        else:
            assert self.shared is not None
            self.shared[off : off + len(data)] = data


class SharingModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "mapped.bin"
        self.path.write_bytes(bytes(range(32, 96)) * (SIZE // 64))  # bytes < 0x80 only
        self.file = bytearray(self.path.read_bytes())
        self.m = vmsim.Machine(memory="512KiB", swap="2MiB", paging="x86_32", policy="clock")
        self.m.shm_open("/s", SIZE)
        self.shm = bytearray(SIZE)
        root = self.m.spawn("root", memory_limit="40KiB")
        self.procs: dict[int, tuple[vmsim.Process, list[Region]]] = {root.pid: (root, [])}
        self.root = root.pid
        self.counter = 0

    def teardown(self) -> None:
        try:
            for p, _ in self.procs.values():
                if p.alive:
                    p.exit()
            self.m.shm_unlink("/s")
            self.m.check()
            k = self.m.kernel
            assert k.frames.in_use() == 1 and k.swap.used == 0 and not k.page_owner
            assert all(c == 0 for i, c in enumerate(k.frames.refcount) if i != k.zero_ppn)
        finally:
            self.m.close()
            self.dir.cleanup()

    def _pick(self, data: st.DataObject) -> tuple[vmsim.Process, list[Region]]:
        return self.procs[data.draw(st.sampled_from(sorted(self.procs)))]

    def _fill(self, private: bool, n: int) -> bytes:
        self.counter += 1
        lo = 0x80 if private else 0x20  # private writes never look like file bytes
        return bytes(lo + (self.counter + i) % 0x5F for i in range(n))

    @rule(
        data=st.data(),
        kind=st.sampled_from(["private", "shared", "shm", "file-shared", "file-private"]),
    )
    def mmap(self, data: st.DataObject, kind: str) -> None:
        p, regions = self._pick(data)
        if len(regions) >= 4:
            return
        if kind == "private":
            regions.append(Region(p.mmap(SIZE), kind, data=bytearray(SIZE)))
        elif kind == "shared":
            regions.append(Region(p.mmap(SIZE, shared=True), kind, shared=bytearray(SIZE)))
        elif kind == "shm":
            regions.append(Region(p.mmap(SIZE, shm="/s"), kind, shared=self.shm))
        else:
            va = p.mmap(SIZE, file=self.path, shared=kind == "file-shared")
            regions.append(Region(va, kind, shared=self.file))

    @rule(data=st.data(), n=st.integers(1, 300))
    def write(self, data: st.DataObject, n: int) -> None:
        p, regions = self._pick(data)
        if not regions:
            return
        r = data.draw(st.sampled_from(regions))
        off = data.draw(st.integers(0, SIZE - n))
        payload = self._fill(r.kind in ("private", "file-private"), n)
        p.store(r.va + off, payload)
        r.write(off, payload)

    @rule(data=st.data())
    def fork(self, data: st.DataObject) -> None:
        if len(self.procs) >= 5:
            return
        p, regions = self._pick(data)
        child = p.fork()
        mine = []
        for r in regions:
            c = copy.copy(r)
            c.data = bytearray(r.data) if r.data is not None else None
            c.copies = {pg: bytearray(b) for pg, b in r.copies.items()}
            mine.append(c)
        self.procs[child.pid] = (child, mine)

    @precondition(lambda self: len(self.procs) > 1)
    @rule(data=st.data())
    def exit(self, data: st.DataObject) -> None:
        pid = data.draw(st.sampled_from(sorted(set(self.procs) - {self.root})))
        p, _ = self.procs.pop(pid)
        p.exit()

    @rule(data=st.data())
    def munmap(self, data: st.DataObject) -> None:
        p, regions = self._pick(data)
        if regions:
            r = regions.pop(data.draw(st.integers(0, len(regions) - 1)))
            p.munmap(r.va, SIZE)
            if r.kind == "file-shared":
                assert self.path.read_bytes() == bytes(self.file)  # munmap wrote it back

    @rule(data=st.data())
    def msync(self, data: st.DataObject) -> None:
        p, regions = self._pick(data)
        for r in regions:
            if r.kind == "file-shared":
                p.msync(r.va, SIZE)
                assert self.path.read_bytes() == bytes(self.file)

    @rule(data=st.data())
    def swap_out(self, data: st.DataObject) -> None:
        p, _ = self._pick(data)
        self.m.swap_out_process(p.pid)

    @invariant()
    def everyone_reads_what_the_model_says(self) -> None:
        for p, regions in self.procs.values():
            for r in regions:
                assert p.load(r.va, SIZE) == r.expect(0, SIZE), (p.pid, r.kind)

    @invariant()
    def private_writes_never_reach_the_file(self) -> None:
        assert max(self.path.read_bytes()) < 0x80

    @invariant()
    def kernel_is_consistent(self) -> None:
        self.m.check()


SharingModel.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
TestSharingModel = SharingModel.TestCase
