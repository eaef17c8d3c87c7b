"""Sizes are size_t: a request C could not even pass (above SIZE_MAX) fails as glibc fails one.

glibc's answer to a request it cannot meet is NULL with errno ENOMEM (malloc, calloc,
realloc, valloc, memalign), ENOMEM from posix_memalign, and std::bad_alloc from C++
`new`; nothing is allocated and the heap does not move. `1 << 64` used to wrap to
malloc(0) and return a pointer.
"""

from __future__ import annotations

import errno
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import vmsim
from vmsim.events import Syscall

SIZE_MAX = (1 << 64) - 1
HUGE = [1 << 64, (1 << 64) + 16, 1 << 100, SIZE_MAX - 8, SIZE_MAX, 1 << 63]
"""Above SIZE_MAX, and (last three) size_t values that overflow with the chunk header."""


def _machine() -> vmsim.Machine:
    return vmsim.Machine(memory="1MiB", record_events=True)


@pytest.mark.parametrize("allocator", ["glibc", "textbook"])
@pytest.mark.parametrize("size", HUGE)
def test_malloc_of_an_impossible_size_is_null_and_enomem(allocator: str, size: int) -> None:
    m = _machine()
    p = m.spawn(allocator=allocator)
    before = p.brk()
    p.free(p.malloc(16))  # the heap exists; errno is 0
    assert p.errno == 0
    brk = p.brk()
    n_events = len(m.events)
    assert p.malloc(size) == 0
    assert p.errno == errno.ENOMEM
    assert p.brk() == brk >= before  # the heap did not move for it
    assert not [e for e in m.events[n_events:] if isinstance(e, Syscall) and "brk" in e.name]


@pytest.mark.parametrize("allocator", ["glibc", "textbook"])
@pytest.mark.parametrize(
    ("count", "size"),
    [(1 << 64, 1), (1, 1 << 64), (1 << 32, 1 << 32), (1 << 33, 1 << 31), (SIZE_MAX, 2)],
)
def test_calloc_overflow_is_null_and_enomem(allocator: str, count: int, size: int) -> None:
    p = _machine().spawn(allocator=allocator)
    assert p.calloc(count, size) == 0
    assert p.errno == errno.ENOMEM


@pytest.mark.parametrize("size", [1 << 64, 1 << 70])
def test_the_rest_of_the_family_refuses_it_too(size: int) -> None:
    p = _machine().spawn()
    ptr = p.malloc(32)
    p.store(ptr, b"kept")
    calls: list[Callable[[], int]] = [
        lambda: p.realloc(ptr, size),
        lambda: p.valloc(size),
        lambda: p.aligned_alloc(64, size),
        lambda: p.heap.memalign(64, size),  # type: ignore[attr-defined]
        lambda: p.heap.pvalloc(size),  # type: ignore[attr-defined]
    ]
    for call in calls:
        p.heap.errno = 0
        assert call() == 0
        assert p.errno == errno.ENOMEM
    assert p.posix_memalign(64, size) == (errno.ENOMEM, 0)
    assert p.aligned_alloc(1 << 64, 16) == 0 and p.errno == errno.EINVAL
    assert p.load(ptr, 4) == b"kept"  # a failed realloc leaves the block alone
    p.heap.check()


@pytest.mark.parametrize("size", [1 << 64, SIZE_MAX - 8])
def test_cxx_new_throws_bad_alloc(size: int) -> None:
    p = _machine().spawn()
    with pytest.raises(vmsim.BadAlloc, match="bad_alloc"):
        p.new(size)
    assert p.new(size, nothrow=True) == 0
    calls = []
    p.set_new_handler(lambda: calls.append(1) or p.set_new_handler(None))
    with pytest.raises(vmsim.BadAlloc):
        p.new(size)
    assert calls == [1]  # the handler ran once, removed itself, and new threw


def test_as_a_user_types_it(tmp_path: Path) -> None:
    code = (
        "import vmsim\n"
        "p = vmsim.Machine().spawn()\n"
        "print(p.malloc(1 << 64), p.errno, p.calloc(1 << 32, 1 << 32), p.errno)\n"
        "try:\n    p.new(1 << 64)\nexcept vmsim.BadAlloc as e:\n    print('bad_alloc:', e)\n"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(src)},
    )
    lines = r.stdout.splitlines()
    assert lines[0] == f"0 {errno.ENOMEM} 0 {errno.ENOMEM}"
    assert lines[1] == f"bad_alloc: pid 1: std::bad_alloc (operator new({1 << 64}))"
