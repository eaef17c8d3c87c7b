"""Shared fixtures: paths to the reference data in ../shared/refs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]
REFS = Path(os.environ.get("VMSIM_REFS", REPO.parent / "shared" / "refs"))

settings.register_profile("default", deadline=None, max_examples=60)
settings.load_profile("default")


@pytest.fixture(scope="session")
def refs() -> Path:
    """The directory of reference data (textbook outputs, real traces)."""
    if not REFS.is_dir():
        pytest.fail(f"reference data not found at {REFS} (set VMSIM_REFS)")
    return REFS
