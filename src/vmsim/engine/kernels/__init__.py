"""Numba kernels of the replacement policies, one module each, registered by policy name.

Every kernel runs a trace of dense page ids through one policy with `frames` frames
and returns the number of misses; given a non-empty uint8 `flags` array it also
records 1 where a reference missed. Each one reproduces, miss for miss, the
plain-Python policy of the same name in `vmsim.policies` replayed by
`vmsim.policies.reference.replay` (the differential tests check it).

A kernel's state lives in a `State` (arrays per page id, grown as new ids appear,
arrays per frame, and scalars in an int64 array), so a trace can be fed in chunks
(`State.feed`) with memory proportional to the distinct pages; a whole trace is one
chunk (the registered runner).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from vmsim.engine.prepared import Prepared
from vmsim.errors import ConfigError

Runner = Callable[..., int]
"""runner(prepared, frames, flags, **options) -> misses"""


SPLIT_MIN_REFS = 1 << 21
"""References a part at least when a run is split over threads (State.run_parts)."""

Arrays = dict[str, tuple[type, int]]
"""A State's arrays: name -> (dtype, initial value)."""

NO_BITS = np.zeros(0, np.uint8)
"""No write bits, no miss flags."""


def _extend(a: np.ndarray, n: int, fill: int) -> np.ndarray:
    """a grown to n entries, the new ones set to fill."""
    out = np.empty(n, a.dtype)
    out[: len(a)] = a
    out[len(a) :] = fill
    return out


class State:
    """A policy's state between chunks of a trace: `feed` runs one chunk.

    PAGE and FRAME name the arrays indexed by page id and by frame slot, with their
    dtype and initial value; page arrays are sized to the ids seen (grown by doubling
    while streaming), frame arrays to min(frames, page capacity), since no more pages
    than that are ever resident. SCALARS: the kernel's scalars, kept in `sc`.
    """

    PAGE: ClassVar[Arrays] = {}
    FRAME: ClassVar[Arrays] = {}
    SCALARS: ClassVar[int] = 1
    NODE_WIDTH: ClassVar[int] = 0
    """Columns of `node`, the int32 nodes of circular lists (dlist): a row per page id (a
    new page's row is zeros), then SENTINELS sentinel rows cap + 0, cap + 1, ... (moved,
    and links to them shifted, when the capacity grows). A page's links and its own fields
    share a row, so one cache line holds all of a node."""
    NODE_LINKS: ClassVar[tuple[int, ...]] = ()
    """The columns of `node` that link nodes (each list's next and previous)."""
    SENTINELS: ClassVar[int] = 0
    GROW_MIN: ClassVar[int] = 1024
    """The smallest page capacity a stream grows to."""
    NEXT_USE: ClassVar[bool] = False
    """Whether feed needs each reference's next use (OPT, UNOPT)."""

    def __init__(self, frames: int, n_ids: int = 0, **options: Any) -> None:
        self.frames = int(frames)
        self.cap = 0
        self.t = 0
        self.misses = 0
        self.sc = np.zeros(self.SCALARS, np.int64)
        for name, (dt, _) in {**self.PAGE, **self.FRAME}.items():
            setattr(self, name, np.empty(0, dt))
        self.node = np.zeros((self.SENTINELS, self.NODE_WIDTH), np.int32)
        for c in self.NODE_LINKS:  # empty lists: each sentinel linked to itself
            self.node[:, c] = np.arange(self.SENTINELS)
        self.setup(**options)
        self.reserve(n_ids, exact=True)

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> np.ndarray:
            """The PAGE and FRAME arrays, set by name."""
            ...

    def setup(self, **options: Any) -> None:
        """Check and keep the policy's options (none by default)."""

    def reserve(self, n_ids: int, exact: bool = False) -> None:
        """Room for ids 0..n_ids-1 (exactly that many if exact, else by doubling)."""
        if n_ids <= self.cap:
            return
        new = n_ids if exact else max(n_ids, 2 * self.cap, self.GROW_MIN)
        old = self.cap
        self.cap = new
        for name, (_, fill) in self.PAGE.items():
            setattr(self, name, _extend(getattr(self, name), new, fill))
        nf = min(self.frames, new)
        for name, (_, fill) in self.FRAME.items():
            setattr(self, name, _extend(getattr(self, name), nf, fill))
        if self.NODE_WIDTH:
            a = self.node
            b = np.zeros((new + self.SENTINELS, self.NODE_WIDTH), np.int32)
            b[:old] = a[:old]
            b[new:] = a[old:]
            for c in self.NODE_LINKS:  # the sentinels moved from old + i to new + i
                links = b[:, c]
                links[links >= old] += new - old
            self.node = b

    @classmethod
    def run_parts(
        cls, prep: Prepared, frames: int, flags: np.ndarray, parts: int, **options: Any
    ) -> int | None:
        """A whole trace's run split into `parts` parts on as many threads, miss for miss as
        one run; None where the policy cannot split (the default: its state at a point
        depends on all that came before)."""
        return None

    def feed(
        self,
        ids: np.ndarray,
        n_ids: int,
        wbits: np.ndarray = NO_BITS,
        flags: np.ndarray = NO_BITS,
        next_use: np.ndarray | None = None,
    ) -> int:
        """Run one chunk of ids (all below n_ids); wbits: its packed write bits (reference
        0 of the chunk is bit 0); next_use: global next uses (NEXT_USE kernels). Returns
        the chunk's misses."""
        self.reserve(n_ids)
        m = int(self.step(ids, wbits, flags, next_use))
        self.t += len(ids)
        self.misses += m
        return m

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """The kernel on one chunk (self.t: the references before it; next_use: the chunk's)."""
        raise NotImplementedError


@dataclass(frozen=True)
class KernelSpec:
    """A policy's kernel: its runner, the options it accepts (with defaults), its State."""

    name: str
    run: Runner
    options: dict[str, Any]
    state: type[State] | None = None


KERNELS: dict[str, KernelSpec] = {}
"""The one registry of engine kernels: policy name -> KernelSpec."""


def kernel(name: str, **options: Any) -> Callable[[Runner], Runner]:
    """Decorator: register `run` as the kernel of policy `name` with its option defaults."""

    def deco(run: Runner) -> Runner:
        KERNELS[name] = KernelSpec(name, run, dict(options))
        return run

    return deco


S = TypeVar("S", bound=type[State])


def stateful(name: str, **options: Any) -> Callable[[S], S]:
    """Decorator: register a State class as policy `name`'s kernel (a whole trace is one chunk)."""

    def deco(cls: S) -> S:
        def run(
            prep: Prepared, frames: int, flags: np.ndarray, threads: int = 1, **opts: Any
        ) -> int:
            if threads > 1 and len(prep) >= threads * SPLIT_MIN_REFS:
                misses = cls.run_parts(prep, frames, flags, threads, **opts)
                if misses is not None:
                    return misses
            st = cls(frames, prep.n_ids, **opts)
            if cls.NEXT_USE:
                st.total = len(prep)  # type: ignore[attr-defined]
                return st.feed(prep.ids, prep.n_ids, prep.write_bits, flags, prep.next_use)
            return st.feed(prep.ids, prep.n_ids, prep.write_bits, flags)

        run.__doc__ = cls.__doc__
        KERNELS[name] = KernelSpec(name, run, dict(options), cls)
        return cls

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
    name: str,
    prepared: Prepared,
    frames: int,
    *,
    record: bool = False,
    threads: int = 1,
    **options: Any,
) -> tuple[int, np.ndarray | None]:
    """Run policy `name` with `frames` frames, on up to `threads` threads where the policy
    splits a run (LRU); return (misses, miss flags or None)."""
    spec = kernel_spec(name)
    unknown = set(options) - set(spec.options)
    if unknown:
        allowed = ", ".join(sorted(spec.options)) or "none"
        raise ConfigError("policy option", ", ".join(sorted(unknown)), f"{name} accepts: {allowed}")
    if not isinstance(frames, int | np.integer) or frames < 1:
        raise ConfigError("frames", frames, "a positive number of frames")
    flags = np.zeros(len(prepared) if record else 0, np.uint8)
    misses = spec.run(prepared, int(frames), flags, threads, **{**spec.options, **options})
    return int(misses), (flags.astype(bool) if record else None)
