"""The allocators a process can be spawned with: name -> class (`m.spawn(allocator=...)`).

Each class is built as `cls(mem, **options)` over a `UserMemory` and follows the
`vmsim.libc.api.Allocator` protocol. "glibc" (the default) registers itself here;
other allocators (the textbook free list) register with `@register_allocator`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from vmsim.errors import ConfigError
from vmsim.libc.usermem import UserMemory

DEFAULT_ALLOCATOR = "glibc"

ALLOCATORS: dict[str, type[Any]] = {}
DESCRIPTIONS: dict[str, str] = {}

C = TypeVar("C", bound=type[Any])


def register_allocator(name: str, description: str) -> Callable[[C], C]:
    """Class decorator: make an allocator available under `name`."""

    def deco(cls: C) -> C:
        """Register cls."""
        if name in ALLOCATORS and ALLOCATORS[name] is not cls:
            raise ValueError(f"allocator {name!r} is already registered")
        ALLOCATORS[name] = cls
        DESCRIPTIONS[name] = description
        return cls

    return deco


def _load_all() -> None:
    """Import the modules that register the built-in allocators."""
    import vmsim.libc.malloc
    import vmsim.libc.textbook  # noqa: F401


def allocator_names() -> list[str]:
    """Names of every registered allocator, sorted."""
    _load_all()
    return sorted(ALLOCATORS)


def allocator_class(name: str) -> type[Any]:
    """The class registered under `name`; ConfigError if there is none."""
    _load_all()
    try:
        return ALLOCATORS[name]
    except KeyError:
        raise ConfigError("allocator", name, f"one of {', '.join(sorted(ALLOCATORS))}") from None


def make_allocator(name: str, mem: UserMemory, **options: Any) -> Any:
    """A new allocator over `mem`; unknown options raise ConfigError."""
    cls = allocator_class(name)
    try:
        return cls(mem, **options)
    except TypeError as exc:
        raise ConfigError(
            "allocator_options", options, f"options accepted by {name}: {exc}"
        ) from None
