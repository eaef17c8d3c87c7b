"""OSTEP `vm-freespace/malloc.py`: a free-list allocator, through `vmsim.libc.freelist`.

Random ops, until -n are done: if r < P/100, allocate int(r * range) + 1 (the pointer
index advances even when the allocation fails); else, if any pointer is live, free
live[int(r * len(live))] (live pointers in allocation order); with none live the
draw is spent and no op is counted. `-A +N,-i,...` lists the ops instead.

Printing quirks kept: random mode prints the returned address plus the header size
(so a failure with -H 4 prints "returned 3"), -A mode the chunk address.
"""

# ruff: noqa: UP031  (printf formats are the original's, kept for byte-exact output)

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vmsim.libc.freelist import ChunkCollision, FreeList
from vmsim.ostep.common import (
    OstepError,
    OstepOptionParser,
    Printer,
    run_simulator,
    seeded,
    to_int,
)

NAME = "malloc"
POLICIES = {"BEST": "best", "WORST": "worst", "FIRST": "first"}
ORDERS = {
    "ADDRSORT": "addrsort",
    "SIZESORT+": "sizesort+",
    "SIZESORT-": "sizesort-",
    "INSERT-FRONT": "insert-front",
    "INSERT-BACK": "insert-back",
}


def make_parser() -> OstepOptionParser:
    """The original's flags, defaults and help, in its order."""
    p = OstepOptionParser("malloc.py")
    add = p.add_option
    add("-s", "--seed", default=0, help="the random seed", action="store", type="int", dest="seed")
    add(
        "-S",
        "--size",
        default=100,
        help="size of the heap",
        action="store",
        type="int",
        dest="heapSize",
    )
    add(
        "-b",
        "--baseAddr",
        default=1000,
        help="base address of heap",
        action="store",
        type="int",
        dest="baseAddr",
    )
    add(
        "-H",
        "--headerSize",
        default=0,
        help="size of the header",
        action="store",
        type="int",
        dest="headerSize",
    )
    add(
        "-a",
        "--alignment",
        default=-1,
        help="align allocated units to size; -1->no align",
        action="store",
        type="int",
        dest="alignment",
    )
    add(
        "-p",
        "--policy",
        default="BEST",
        help="list search (BEST, WORST, FIRST)",
        action="store",
        type="string",
        dest="policy",
    )
    add(
        "-l",
        "--listOrder",
        default="ADDRSORT",
        help="list order (ADDRSORT, SIZESORT+, SIZESORT-, INSERT-FRONT, INSERT-BACK)",
        action="store",
        type="string",
        dest="order",
    )
    add(
        "-C",
        "--coalesce",
        default=False,
        help="coalesce the free list?",
        action="store_true",
        dest="coalesce",
    )
    add(
        "-n",
        "--numOps",
        default=10,
        help="number of random ops to generate",
        action="store",
        type="int",
        dest="opsNum",
    )
    add(
        "-r",
        "--range",
        default=10,
        help="max alloc size",
        action="store",
        type="int",
        dest="opsRange",
    )
    add(
        "-P",
        "--percentAlloc",
        default=50,
        help="percent of ops that are allocs",
        action="store",
        type="int",
        dest="opsPAlloc",
    )
    add(
        "-A",
        "--allocList",
        default="",
        help="instead of random, list of ops (+10,-0,etc)",
        action="store",
        type="string",
        dest="opsList",
    )
    add(
        "-c",
        "--compute",
        default=False,
        help="compute answers for me",
        action="store_true",
        dest="solve",
    )
    return p


def run(argv: list[str]) -> int:
    """Run malloc.py with argv; return its exit status."""
    return run_simulator(make_parser, _simulate, argv)


def make_freelist(opts: dict[str, Any]) -> FreeList:
    """The allocator of the options; OstepError where the original's asserts fail."""
    if opts["policy"] not in POLICIES:
        raise OstepError(NAME, f"-p {opts['policy']!r}: the policy must be BEST, WORST or FIRST")
    if opts["order"] not in ORDERS:
        raise OstepError(NAME, f"-l {opts['order']!r}: the list order must be one of "
                         + ", ".join(ORDERS))  # fmt: skip
    if opts["alignment"] != -1 and opts["alignment"] <= 0:
        raise OstepError(NAME, f"-a {opts['alignment']}: the alignment must be -1 or positive")
    return FreeList(
        opts["baseAddr"],
        opts["heapSize"],
        fit=POLICIES[opts["policy"]],
        order=ORDERS[opts["order"]],
        coalesce=opts["coalesce"],
        header=opts["headerSize"],
        align=opts["alignment"],
    )


def _simulate(opts: dict[str, Any], out: Printer) -> int:
    """Everything after option parsing."""
    heap = make_freelist(opts)
    for key, label in (
        ("seed", "seed"), ("heapSize", "size"), ("baseAddr", "baseAddr"),
        ("headerSize", "headerSize"), ("alignment", "alignment"), ("policy", "policy"),
        ("order", "listOrder"), ("coalesce", "coalesce"), ("opsNum", "numOps"),
        ("opsRange", "range"), ("opsPAlloc", "percentAlloc"), ("opsList", "allocList"),
        ("solve", "compute"),
    ):  # fmt: skip
        out(label, opts[key])
    out("")
    percent = opts["opsPAlloc"] / 100.0
    rng = seeded(opts["seed"])
    if not percent > 0:
        raise OstepError(NAME, f"-P {opts['opsPAlloc']}: the percentage of allocations must be > 0")
    try:
        if opts["opsList"] == "":
            _random_ops(heap, opts, rng.random, out)
        else:
            _listed_ops(heap, opts, out)
    except ChunkCollision as e:
        raise OstepError(NAME, str(e)) from None
    return 0


def _dump(heap: FreeList, solve: bool, out: Printer, question: str) -> None:
    """The free list after an op (or the question), then a blank line."""
    if solve:
        entries = heap.entries()
        out(
            "Free List [ Size %d ]: " % len(entries)
            + "".join("[ addr:%d sz:%d ]" % e for e in entries)
        )
    else:
        out(question)
    out("")


def _random_ops(
    heap: FreeList, opts: dict[str, Any], rnd: Callable[[], float], out: Printer
) -> None:
    """-n random ops drawn from the seeded stream."""
    solve, header = opts["solve"], opts["headerSize"]
    ptrs: dict[int, int] = {}
    live: list[int] = []
    c = done = 0
    percent = opts["opsPAlloc"] / 100.0
    while done < opts["opsNum"]:
        if rnd() < percent:
            size = int(rnd() * opts["opsRange"]) + 1
            addr, searched = heap.alloc(size)
            if addr != -1:
                ptrs[c] = addr
                live.append(c)
            answer = " returned %d (searched %d elements)" % (addr + header, searched)
            out("ptr[%d] = Alloc(%d)" % (c, size) + (answer if solve else " returned ?"))
            c += 1
        elif ptrs:
            d = int(rnd() * len(live))
            rc = heap.free(ptrs[live[d]])
            out("Free(ptr[%d])" % live[d])
            out("returned %d" % rc if solve else "returned ?")
            del ptrs[live[d]]
            del live[d]
        else:
            continue
        done += 1
        _dump(heap, solve, out, "List? ")


def _listed_ops(heap: FreeList, opts: dict[str, Any], out: Printer) -> None:
    """The ops of -A: +size allocates, -i frees the i-th returned pointer."""
    solve = opts["solve"]
    ptrs: dict[int, int] = {}
    c = 0
    for op in opts["opsList"].split(","):
        if op[:1] == "+":
            size = to_int(op.split("+")[1], NAME, f"-A op {op!r}")
            addr, searched = heap.alloc(size)
            if addr != -1:
                ptrs[c] = addr
            answer = " returned %d (searched %d elements)" % (addr, searched)
            out("ptr[%d] = Alloc(%d)" % (c, size) + (answer if solve else " returned ?"))
            c += 1
        elif op[:1] == "-":
            index = to_int(op.split("-")[1], NAME, f"-A op {op!r}")
            if index >= len(ptrs):
                out("Invalid Free: Skipping")
                continue
            out("Free(ptr[%d])" % index)
            if index not in ptrs:
                raise OstepError(
                    NAME, f"-A op {op!r}: ptr[{index}] was never returned (its Alloc failed)"
                )
            rc = heap.free(ptrs[index])
            out("returned %d" % rc if solve else "returned ?")
        else:
            raise OstepError(
                NAME, f"-A op {op!r}: badly specified operand: must be +Size or -Index"
            )
        _dump(heap, solve, out, "List?")
