"""Fixtures for the C library's tests: a flat memory and a glibc heap over it."""

from __future__ import annotations

import pytest
from flatmem import FlatMemory

from vmsim.libc.malloc import GlibcHeap


@pytest.fixture
def mem() -> FlatMemory:
    """A fresh process memory."""
    return FlatMemory()


@pytest.fixture
def heap(mem: FlatMemory) -> GlibcHeap:
    """glibc's malloc over `mem`."""
    return GlibcHeap(mem)
