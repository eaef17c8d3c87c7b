"""Numba kernels of the replacement policies, one module each, registered by policy name.

Every kernel runs a whole trace of dense page ids through one policy with `frames`
frames and returns the number of misses; given a non-empty uint8 `flags` array it
also records 1 where a reference missed. Each one reproduces, miss for miss, the
plain-Python policy of the same name in `vmsim.policies` replayed by
`vmsim.policies.reference.replay` (the differential tests check it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vmsim.engine.prepared import Prepared
from vmsim.errors import ConfigError

PREFETCH = 12
"""The fastest kernels read the state of the reference this many places ahead early:
its cache miss then overlaps the work on the current one (a software prefetch; Numba
has no prefetch instruction). The loaded values only feed a returned checksum."""

Runner = Callable[..., int]
"""runner(prepared, frames, flags, **options) -> misses"""


@dataclass(frozen=True)
class KernelSpec:
    """A policy's kernel: its runner and the options it accepts (with defaults)."""

    name: str
    run: Runner
    options: dict[str, Any]


KERNELS: dict[str, KernelSpec] = {}
"""The one registry of engine kernels: policy name -> KernelSpec."""


def kernel(name: str, **options: Any) -> Callable[[Runner], Runner]:
    """Decorator: register `run` as the kernel of policy `name` with its option defaults."""

    def deco(run: Runner) -> Runner:
        KERNELS[name] = KernelSpec(name, run, dict(options))
        return run

    return deco


def _load_all() -> None:
    """Import every kernel module."""
    from vmsim.engine.kernels import (  # noqa: F401
        aging,
        arc,
        clock,
        fifo,
        lfu,
        lirs,
        lru,
        nru,
        opt,
        ostep_clock,
        random,
        sieve,
        twoq,
        unopt,
        wsclock,
    )


def kernel_names() -> list[str]:
    """Policies that have a kernel, sorted."""
    _load_all()
    return sorted(KERNELS)


def kernel_spec(name: str) -> KernelSpec:
    """The kernel of policy `name`; ConfigError if there is none."""
    _load_all()
    try:
        return KERNELS[name]
    except KeyError:
        raise ConfigError("policy", name, f"one of {', '.join(sorted(KERNELS))}") from None


def run_kernel(
    name: str, prepared: Prepared, frames: int, *, record: bool = False, **options: Any
) -> tuple[int, np.ndarray | None]:
    """Run policy `name` with `frames` frames; return (misses, miss flags or None)."""
    spec = kernel_spec(name)
    unknown = set(options) - set(spec.options)
    if unknown:
        allowed = ", ".join(sorted(spec.options)) or "none"
        raise ConfigError("policy option", ", ".join(sorted(unknown)), f"{name} accepts: {allowed}")
    if not isinstance(frames, int | np.integer) or frames < 1:
        raise ConfigError("frames", frames, "a positive number of frames")
    flags = np.zeros(len(prepared) if record else 0, np.uint8)
    misses = spec.run(prepared, int(frames), flags, **{**spec.options, **options})
    return int(misses), (flags.astype(bool) if record else None)
