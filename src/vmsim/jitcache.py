"""Numba's on-disk cache loaded without starting the compiler: 0.1-0.3 s off every start.

Before it loads a cached function, Numba refreshes its target context: it imports and
installs every typing and lowering registry (most of numba.np, numba.cpython, typed
containers), which only compiling needs. Loading machine code from the cache needs
the runtime (NRT) and the code generator alone. `load_cache_lightly` makes cache
loads initialise just the runtime; compiling still refreshes everything first
(numba.core.compiler does so itself), so a cache miss compiles as before. The runtime's
own module, which Numba compiles from LLVM IR in every process, loads from its machine
code on disk too (`compile_nrt_functions`).

Importing this module imports Numba (vmsim.trace and vmsim.engine import it first), without
PyYAML unless a Numba config file is there to read (`import_numba`).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from vmsim.errors import VmsimError

NUMBA_CONFIG_FILE = ".numba_config.yaml"
"""The file Numba reads its settings from (in the working directory), the only thing it
imports PyYAML for."""


def import_numba() -> None:
    """Import Numba; hide PyYAML from it while it loads unless NUMBA_CONFIG_FILE exists
    (importing PyYAML is some 10-30 ms of every start, for a file that is not there).
    Once Numba is loaded, `import yaml` works as ever (Dask's config uses it)."""
    if "numba" in sys.modules:
        return
    hide = "yaml" not in sys.modules and not os.path.isfile(NUMBA_CONFIG_FILE)
    if hide:
        sys.modules["yaml"] = None  # type: ignore[assignment]  # import yaml: ImportError
    try:
        import numba  # noqa: F401
    finally:
        if hide and sys.modules.get("yaml", 0) is None:
            del sys.modules["yaml"]


import_numba()

_DONE = False

NRT_FILE = "numba-runtime.nrt"
"""The runtime's machine code, in the directory Numba's cache uses for this module."""


def _nrt_key(codegen: Any) -> tuple[object, ...]:
    """What the runtime's machine code depends on: Numba, LLVM, the CPU and its features,
    and the settings that change the module (optimisation level, NRT debugging)."""
    import llvmlite
    import numba
    from numba.core import config

    return (
        numba.__version__,
        llvmlite.__version__,
        codegen.magic_tuple(),
        *(str(getattr(config, name)) for name in ("OPT", "DEBUG_NRT", "DEBUG_NRT_STACK_LIMIT")),
    )


def _nrt_path() -> str | None:
    """Where NRT_FILE goes: Numba's own choice of a writable cache directory for a function
    of this module (NUMBA_CACHE_DIR, beside the source, or the user's cache); None if none."""
    from numba.core import caching

    try:
        locator = caching.CompileResultCacheImpl(import_numba).locator
        locator.ensure_cache_path()
    except (RuntimeError, OSError):
        return None
    return os.path.join(locator.get_cache_path(), NRT_FILE)


def _stored_nrt(path: str, key: tuple[object, ...]) -> Any:
    """The serialized runtime library stored at path for this key, or None."""
    import pickle

    try:
        with open(path, "rb") as f:
            stored_key, state = pickle.load(f)
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
        return None
    return state if stored_key == key else None


def compile_nrt_functions(ctx: Any) -> Any:
    """Numba's runtime module (atomic reference counts; nrtdynmod.compile_nrt_functions,
    which every process compiles from LLVM IR: 10-30 ms of every start) loaded from its
    machine code on disk when this Numba, LLVM and CPU made it, else compiled and stored."""
    import pickle

    from numba.core.runtime import nrtdynmod

    from vmsim.output import atomic_output

    codegen = ctx.codegen()
    key = _nrt_key(codegen)
    path = _nrt_path()
    state = None if path is None else _stored_nrt(path, key)
    if state is not None:
        return codegen.unserialize_library(state)
    ir_module, library = nrtdynmod.create_nrt_module(ctx)
    library.enable_object_caching()
    library.add_ir_module(ir_module)
    library.finalize()
    if path is not None:
        try:
            with atomic_output(path) as f:
                pickle.dump((key, library.serialize_using_object_code()), f)
        except (OSError, VmsimError):
            pass  # not stored: the next process compiles it again
    return library


def load_cache_lightly() -> None:
    """Make Numba's cache loads skip the registry refresh, and its runtime load from disk
    (once per process)."""
    global _DONE
    if _DONE:
        return
    _DONE = True
    from numba.core import caching
    from numba.core.runtime import nrtdynmod, rtsys

    nrtdynmod.compile_nrt_functions = compile_nrt_functions
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
