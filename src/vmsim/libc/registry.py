"""The allocators a process can be spawned with: name -> class (`m.spawn(allocator=...)`).

Each class is built as `cls(mem, **options)` over a `UserMemory` and follows the
`vmsim.libc.api.Allocator` protocol. Every allocator ("glibc", the default, and the
textbook free list) registers itself in `vmsim.libc.api.ALLOCATORS` with
`@register_allocator`; this module, above them, loads them and looks them up.
"""

from __future__ import annotations

import inspect
from typing import Any

from vmsim.errors import ConfigError
from vmsim.libc.api import ALLOCATORS, DEFAULT_ALLOCATOR, DESCRIPTIONS, register_allocator
from vmsim.libc.usermem import UserMemory

__all__ = [
    "ALLOCATORS",
    "DEFAULT_ALLOCATOR",
    "DESCRIPTIONS",
    "allocator_class",
    "allocator_names",
    "check_allocator",
    "make_allocator",
    "register_allocator",
]


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


def check_allocator(name: str, options: dict[str, Any]) -> type[Any]:
    """The class of allocator `name` if it accepts `options`; ConfigError naming the bad one.

    Everything is checked before any memory is touched (so `spawn` can refuse a bad
    option at once): the name, each option's name, and its value through the class's
    `check_options(**options)` when it has one.
    """
    cls = allocator_class(name)
    accepted = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    for option, value in options.items():
        if option not in accepted:
            raise ConfigError(
                option, value, f"an option of allocator {name}: {', '.join(accepted)}"
            )
    check = getattr(cls, "check_options", None)
    if check is not None:
        check(**options)
    return cls


def make_allocator(name: str, mem: UserMemory, **options: Any) -> Any:
    """A new allocator over `mem`; a bad name or option raises ConfigError."""
    return check_allocator(name, options)(mem, **options)
