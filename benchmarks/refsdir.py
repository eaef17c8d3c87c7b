"""Where the reference data is: ../shared/refs beside the repository, else tests/refs."""

from __future__ import annotations

from pathlib import Path


def refs_dir() -> Path:
    """The reference data directory (the shared one if present, else the vendored copy)."""
    repo = Path(__file__).resolve().parents[1]
    shared = repo.parent / "shared" / "refs"
    return shared if shared.is_dir() else repo / "tests" / "refs"
