"""Every engine kernel releases the GIL, so threads run policies (and sweep tasks) in parallel."""

from __future__ import annotations

import importlib
import pkgutil

from numba.core.registry import CPUDispatcher

import vmsim.engine.kernels as kernels
from vmsim.engine import mrc, prepared, stackdist


def _dispatchers() -> list[tuple[str, CPUDispatcher]]:
    """(name, dispatcher) of every Numba function of the kernels, stack distances, prepared."""
    modules = [importlib.import_module(f"vmsim.engine.kernels.{m.name}")
               for m in pkgutil.iter_modules(kernels.__path__)]  # fmt: skip
    found = []
    for mod in [*modules, mrc, prepared, stackdist]:
        for name, obj in vars(mod).items():
            if isinstance(obj, CPUDispatcher) and obj.__module__ == mod.__name__:
                found.append((f"{mod.__name__}.{name}", obj))
    return found


def test_every_kernel_is_compiled_nogil() -> None:
    found = _dispatchers()
    assert len(found) >= 20
    holding = [name for name, d in found if not d.targetoptions.get("nogil")]
    assert holding == []
