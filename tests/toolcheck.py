"""Tests that need a host tool: skipped where it is missing, a failure in CI.

`.ci/run` installs every tool the suite uses (gcc, g++, binutils, valgrind, chromium)
and CI sets CI=true, so there a missing tool means a broken set-up, never a silently
skipped cross-check. tests/conftest.py puts this directory on sys.path.
"""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    """Whether the suite runs in CI (CI=true)."""
    return os.environ.get("CI", "").lower() == "true"


def require(found: object, what: str) -> None:
    """Inside a test or fixture: skip when `what` is missing (found falsy); fail in CI."""
    if found:
        return
    if in_ci():
        pytest.fail(f"{what} is missing in CI: .ci/run must install it", pytrace=False)
    pytest.skip(f"{what} is missing")


def needs_tool(name: str, what: str) -> pytest.MarkDecorator:
    """A mark for a test that runs program `name` (described as `what`): skip where it is
    not installed; in CI, fail the collection."""
    found = shutil.which(name) is not None
    if not found and in_ci():
        pytest.fail(f"{what} is missing in CI: .ci/run must install it", pytrace=False)
    return pytest.mark.skipif(not found, reason=f"{what} is missing")
