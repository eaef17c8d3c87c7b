"""The environment of a timed child command: as a user's, with bytecode caching on."""

from __future__ import annotations

import os


def installed_env() -> dict[str, str]:
    """This environment without PYTHONDONTWRITEBYTECODE: a child writes and then reads its
    modules' .pyc files, as an installed vmsim does (else edited modules compile each run)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
