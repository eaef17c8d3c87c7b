"""Numba's on-disk cache loaded without starting the compiler: 0.1-0.3 s off every start.

Before it loads a cached function, Numba refreshes its target context: it imports and
installs every typing and lowering registry (most of numba.np, numba.cpython, typed
containers), which only compiling needs. Loading machine code from the cache needs
the runtime (NRT) and the code generator alone. `load_cache_lightly` makes cache
loads initialise just the runtime; compiling still refreshes everything first
(numba.core.compiler does so itself), so a cache miss compiles as before.
"""

from __future__ import annotations

from typing import Any

_DONE = False


def load_cache_lightly() -> None:
    """Make Numba's cache loads skip the registry refresh (once per process)."""
    global _DONE
    if _DONE:
        return
    _DONE = True
    from numba.core import caching
    from numba.core.runtime import rtsys

    original = caching.Cache.load_overload

    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        """Load a cached overload, initialising only Numba's runtime first."""
        if not self._enabled:
            return original(self, sig, target_context)
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)
        return None  # an I/O error was swallowed: Numba compiles instead

    load_overload.__doc__ = original.__doc__
    caching.Cache.load_overload = load_overload  # type: ignore[method-assign]
