"""Allocation sequences run two ways: through this machine's glibc and through vmsim.

The language is that of data/glibc_offsets.c (see its header): `m3:100` malloc,
`c3:4:25` calloc, `r3:200` realloc, `f3` free, `a3:64:100` memalign, `t` malloc_trim,
`i` mallinfo2,
and the corrupting ops `w3:-8:17` (store a word), `g3:1` (free at an offset), `x3:1:50`
(realloc at an offset). Each sequence gives one line: the heap offsets of the
pointers returned ("N" NULL, "M" mmapped, "t0"/"t1" trim results), or glibc's
message if the process aborted.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flatmem import FlatMemory

from vmsim.errors import HeapCorruption, SegmentationFault
from vmsim.libc.malloc import GlibcHeap

SOURCE = Path(__file__).resolve().parent / "data" / "glibc_offsets.c"


@dataclass(frozen=True)
class Harness:
    """The compiled C harness and how to run it with fixed addresses."""

    exe: Path
    prefix: tuple[str, ...]
    """("setarch", "-R") when address randomisation can be turned off, else ()."""
    heap_base: int | None
    """Where the heap starts when addresses are fixed (vmsim's heap then starts there)."""


def build_harness(outdir: Path) -> Harness | None:
    """Compile the C harness with the system compiler; None if there is no compiler."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return None
    exe = outdir / "glibc_offsets"
    subprocess.run(
        [cc, "-O0", "-fno-builtin", "-o", str(exe), str(SOURCE)],
        check=True,
        capture_output=True,
    )
    setarch = shutil.which("setarch")
    if setarch:
        bases = {_run([setarch, "-R", str(exe), "base"], "") for _ in range(2)}
        if len(bases) == 1 and (base := bases.pop().strip()):
            return Harness(exe, (setarch, "-R"), int(base, 16))
    return Harness(exe, (), None)


def _run(cmd: list[str], stdin: str) -> str:
    env = dict(os.environ, LIBC_FATAL_STDERR_="1")
    # glibc reads every MALLOC_*_ variable (a Dask nanny in this process sets
    # MALLOC_TRIM_THRESHOLD_, which turns off the dynamic mmap threshold): clear them all
    for var in [v for v in env if v.startswith("MALLOC_")] + ["GLIBC_TUNABLES", "LD_PRELOAD"]:
        env.pop(var, None)
    try:
        return subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, check=True, env=env
        ).stdout
    except (subprocess.CalledProcessError, OSError):
        return ""


def run_glibc(h: Harness, sequences: list[str]) -> list[str]:
    """Each sequence's line of results from the real glibc."""
    out = _run([*h.prefix, str(h.exe)], "\n".join(sequences) + "\n")
    lines = out.splitlines()
    assert len(lines) == len(sequences), out
    return lines


def run_vmsim(line: str, heap_base: int | None = None) -> str:
    """The same line of results from vmsim's GlibcHeap on a fresh process."""
    mem = FlatMemory() if heap_base is None else FlatMemory(heap_base=heap_base)
    heap = GlibcHeap(mem)
    base = mem.cur_brk
    slots: dict[int, int] = {}
    out: list[str] = []

    def res(p: int) -> None:
        out.append("N" if not p else "M" if not base <= p < mem.cur_brk else f"{p - base:x}")

    try:
        for tok in line.split():
            _step(heap, mem, slots, tok, res, out)
    except HeapCorruption as exc:
        return exc.glibc_message
    except SegmentationFault:
        return "SIGNAL"
    return " ".join(out)


def _step(
    heap: GlibcHeap,
    mem: FlatMemory,
    slots: dict[int, int],
    tok: str,
    res: Callable[[int], None],
    out: list[str],
) -> None:
    op = tok[0]
    if op == "t":
        out.append("t1" if heap.malloc_trim(0) else "t0")
        return
    if op == "i":
        m = heap.mallinfo()
        fields = (m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd)
        fields += (m.fsmblks, m.uordblks, m.fordblks, m.keepcost)
        out.append("i" + ",".join(f"{v:x}" for v in fields))
        return
    f = [int(x) for x in tok[1:].split(":")]
    s = f[0]
    if op == "m":
        slots[s] = heap.malloc(f[1])
        res(slots[s])
    elif op == "c":
        slots[s] = heap.calloc(f[1], f[2])
        res(slots[s])
    elif op == "r":
        slots[s] = heap.realloc(slots.get(s, 0), f[1])
        res(slots[s])
    elif op == "f":
        heap.free(slots.get(s, 0))
    elif op == "a":
        slots[s] = heap.memalign(f[1], f[2])
        res(slots[s])
    elif op == "w":
        mem.store(slots[s] + f[1], f[2].to_bytes(8, "little"))
    elif op == "g":
        heap.free(slots[s] + f[1])
    elif op == "x":
        slots[s] = heap.realloc(slots[s] + f[1], f[2])
        res(slots[s])
    else:
        raise ValueError(f"unknown op {tok!r}")


def random_sequence(
    rng: random.Random,
    n: int,
    *,
    max_size: int = 1024,
    slots: int = 64,
    ops: str = "mmmmcrrff",
    big: float = 0.0,
) -> str:
    """n random ops over `slots` slots; sizes up to max_size, a `big` share mmapped."""
    live: set[int] = set()
    toks: list[str] = []

    def fresh() -> int:
        s = rng.randrange(slots)
        if s in live:
            toks.append(f"f{s}")
        live.add(s)
        return s

    def size(limit: int) -> int:
        if big and rng.random() < big:
            return rng.randrange(130_000, 400_000)
        return rng.choice([rng.randrange(0, min(130, limit) + 1), rng.randrange(0, limit + 1)])

    for _ in range(n):
        op = rng.choice(ops)
        if op in "rf" and not live:
            op = "m"
        if op == "m":
            toks.append(f"m{fresh()}:{size(max_size)}")
        elif op == "c":
            k = rng.randrange(1, 9)
            toks.append(f"c{fresh()}:{k}:{size(max_size // k)}")
        elif op == "r":
            toks.append(f"r{rng.choice(sorted(live))}:{rng.randrange(1, max_size + 1)}")
        elif op == "f":
            s = rng.choice(sorted(live))
            live.discard(s)
            toks.append(f"f{s}")
        elif op == "a":
            align = rng.choice([8, 16, 32, 48, 64, 128, 256, 4096])
            toks.append(f"a{fresh()}:{align}:{rng.randrange(0, max_size + 1)}")
        elif op in "ti":
            toks.append(op)
    return " ".join(toks)


def buggy_sequence(rng: random.Random, n: int, ops: str = "mmmmmmmmcrrfw") -> str:
    """n ops of a buggy program: double frees, use after free, stray word writes."""
    toks: list[str] = []
    used: list[int] = []
    values = [0, 1, 17, 0x21, 0x31, 0x411]
    for _ in range(n):
        op = rng.choice(ops) if used else "m"
        s = rng.randrange(16)
        size = rng.choice([rng.randrange(200), rng.randrange(1100), rng.randrange(5000)])
        if op == "m":
            toks.append(f"m{s}:{size}")
        elif op == "c":
            toks.append(f"c{s}:{rng.randrange(1, 5)}:{size // 4}")
        elif op in "rfw":
            s = rng.choice(used)
            if op == "r":
                toks.append(f"r{s}:{size}")
            elif op == "f":
                toks.append(f"f{s}")
            else:
                off = rng.choice([-8, -16, 0, 8, 24, rng.randrange(64)])
                v = rng.choice([*values, rng.randrange(1 << 16), rng.randrange(1 << 64)])
                toks.append(f"w{s}:{off}:{v}")
        if op in "mc" and s not in used:
            used.append(s)
    return " ".join(toks)
