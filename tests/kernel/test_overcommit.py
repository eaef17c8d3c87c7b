"""Overcommit modes with Linux's meaning."""

from __future__ import annotations

import errno

import pytest

import vmsim

PAGE = 4096


def test_never_limits_commit_to_swap_plus_ratio_of_ram() -> None:
    m = vmsim.Machine(memory="1MiB", swap="256KiB", overcommit="never", overcommit_ratio=50)
    limit = (64 - 1) + 256 * 50 // 100  # swap pages (less the header slot) + 50% of RAM
    p = m.spawn()
    base = m.kernel.committed  # the data page and the stack page of the new process
    assert base == 2
    va = p.mmap((limit - base) * PAGE)
    with pytest.raises(OSError) as e:
        p.mmap(PAGE)
    assert e.value.errno == errno.ENOMEM
    with pytest.raises(OSError) as e:
        p.sbrk(PAGE)
    assert e.value.errno == errno.ENOMEM
    p.mmap(100 * PAGE, prot="r")  # read-only private memory is not committed
    p.munmap(va, 10 * PAGE)
    p.sbrk(10 * PAGE)  # the unmapped pages were given back
    with pytest.raises(OSError):
        p.mprotect(p.mmap(PAGE, prot="r"), PAGE, "rw")


def test_heuristic_refuses_only_a_single_huge_request() -> None:
    m = vmsim.Machine(memory="1MiB", swap="1MiB")
    p = m.spawn()
    with pytest.raises(OSError) as e:
        p.mmap(2 * (1 << 20) + PAGE)  # more than RAM + swap in one request
    assert e.value.errno == errno.ENOMEM
    for _ in range(10):
        p.mmap(1 << 20)  # 10 MiB in all: fine, one at a time


def test_always_never_refuses() -> None:
    p = vmsim.Machine(memory="1MiB", overcommit="always").spawn()
    va = p.mmap(1 << 40)
    p.store(va + (1 << 39), b"sparse")
    assert p.load(va + (1 << 39), 6) == b"sparse"


def test_commit_returns_on_exit() -> None:
    m = vmsim.Machine(memory="1MiB", overcommit="never")
    p = m.spawn()
    p.mmap(50 * PAGE)
    p.sbrk(3 * PAGE)
    p.exit()
    assert m.kernel.committed == 0
