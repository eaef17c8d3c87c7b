"""Helpers for the trace tests: write small trace files in any compression."""

from __future__ import annotations

import gzip
import lzma
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "plain": lambda b: b,
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
}


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(content, name="t", compression="plain") -> path of a new file."""
    counter = [0]

    def _write(content: bytes | str, name: str = "t", compression: str = "plain") -> Path:
        counter[0] += 1
        data = content.encode() if isinstance(content, str) else content
        path = tmp_path / f"{counter[0]}-{name}"
        path.write_bytes(COMPRESSORS[compression](data))
        return path

    return _write
