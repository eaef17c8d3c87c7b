"""The ReplacementPolicy seam and its registry.

A policy tracks *keys*: physical frame numbers on the machine, page numbers in the
plain-Python reference replay (`policies.reference`). It never sees PTEs. What a
policy may know about a key beyond the calls it received comes through `RefBits`:
the hardware accessed bit (test_and_clear), the dirty bit, virtual time, and, where
the future is known (trace replays), the next use of a key.

Contract, for every policy:
- `on_map(key)`: key became resident (the reference that missed counts as its first use).
- `on_access(key, write)`: a resident key was referenced. Only called when the
  policy sets `uses_access_hook` (the simulator-only oracle hook, e.g. exact LRU).
- `victim(refbits)`: choose a resident key to evict and forget it. Called only when
  at least one key is resident. The caller does not call on_unmap for the victim.
- `victim_except(refbits, keep)`: victim, except that a key for which `keep(key)` is
  true is never chosen (the machine keeps pinned frames, and pages it has nowhere to
  write, this way). The policy inspects kept keys as it inspects any other (a hand
  clears their accessed bits as it passes); where it would choose a kept key it passes
  over it, and that key stays first in line: once it is no longer kept it is the next
  victim (unless it is used meanwhile). Nothing goes back through on_map, so no kept
  key becomes more recent. None when every resident key is kept. Every policy the machine can run
  implements it; `victim` is `victim_except` with nothing kept.
- `on_unmap(key)`: key stopped being resident for another reason (free, munmap, exit).
- `on_fault(key)`: optional, a reference to non-resident key is being served; called
  before `victim` (if a frame must be freed) and `on_map(key)`. Policies that remember
  evicted keys (ARC, 2Q) need it: their choice of victim depends on the faulting key.
  The default does nothing; a caller that never calls it still gets a valid policy.
- `tick(refbits)`: a periodic clock tick (aging uses it); may be a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol, TypeVar

from vmsim.errors import ConfigError


class RefBits(Protocol):
    """What a policy may ask about resident keys."""

    @property
    def now(self) -> int:
        """Virtual time: references made so far."""
        ...

    def test_and_clear(self, key: int) -> bool:
        """Return the accessed bit of key and clear it."""
        ...

    def referenced(self, key: int) -> bool:
        """Return the accessed bit of key without clearing it."""
        ...

    def dirty(self, key: int) -> bool:
        """Return the dirty bit of key."""
        ...

    def next_use(self, key: int) -> int:
        """Time of the next reference to key (a large value if never); needs a known future."""
        ...


class ReplacementPolicy:
    """Base class of every policy: documents the contract, gives no-op hooks."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    uses_access_hook: ClassVar[bool] = False
    """True: the caller must report every hit through on_access."""
    needs_future: ClassVar[bool] = False
    """True: only usable where RefBits.next_use is known (trace replays)."""
    uses_tick: ClassVar[bool] = False
    """True: the caller must call tick() periodically (every few hundred references)."""
    remembers_evicted: ClassVar[bool] = False
    """True: keeps a history of evicted keys (ghosts: ARC, 2Q, LIRS), so it is the textbook
    policy only where a key names a page for good (trace replays), not a reused frame."""

    def on_map(self, key: int) -> None:
        """Key became resident."""
        raise NotImplementedError

    def on_access(self, key: int, write: bool) -> None:
        """A resident key was referenced (only if uses_access_hook)."""

    def on_fault(self, key: int) -> None:
        """A reference to non-resident key is being served (before victim and on_map)."""

    def on_unmap(self, key: int) -> None:
        """Key is no longer resident, not by this policy's choice."""
        raise NotImplementedError

    def victim(self, refbits: RefBits) -> int:
        """Choose a resident key to evict, forget it and return it."""
        key = self.victim_except(refbits, keep_none)
        assert key is not None, "victim: no resident key"
        return key

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """Choose, forget and return a key for which keep(key) is false; None if none is.

        A kept key the policy would have chosen stays first in line (see the module docstring).
        """
        raise NotImplementedError(f"policy {self.name!r} cannot pass over kept keys")

    def tick(self, refbits: RefBits) -> None:
        """A periodic tick of the clock interrupt."""

    def __len__(self) -> int:
        """Number of resident keys tracked."""
        raise NotImplementedError

    def __contains__(self, key: object) -> bool:
        """Whether key is tracked as resident."""
        raise NotImplementedError


def keep_none(key: int) -> bool:
    """The keep predicate of a plain victim(): nothing is kept."""
    return False


P = TypeVar("P", bound=type[ReplacementPolicy])

POLICIES: dict[str, type[ReplacementPolicy]] = {}
"""The one registry of replacement policies: name -> class."""


def register(name: str, description: str) -> Callable[[P], P]:
    """Class decorator: register a ReplacementPolicy under `name`."""

    def deco(cls: P) -> P:
        if name in POLICIES:
            raise ValueError(f"policy {name!r} registered twice")
        cls.name = name
        cls.description = description
        POLICIES[name] = cls
        return cls

    return deco


def _load_all() -> None:
    """Import every policy module so that each registers itself."""
    import importlib
    import pkgutil

    import vmsim.policies as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name not in {"base", "reference", "ring", "ordered"}:
            importlib.import_module(f"vmsim.policies.{mod.name}")


def policy_names() -> list[str]:
    """Names of all registered policies, sorted."""
    _load_all()
    return sorted(POLICIES)


def policy_class(name: str) -> type[ReplacementPolicy]:
    """The class registered under `name`; ConfigError if there is none."""
    _load_all()
    try:
        return POLICIES[name]
    except KeyError:
        raise ConfigError("policy", name, f"one of {', '.join(sorted(POLICIES))}") from None


def make_policy(name: str, **options: Any) -> ReplacementPolicy:
    """A new policy instance; unknown options raise ConfigError."""
    cls = policy_class(name)
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError("policy_options", options, f"options accepted by {name}: {exc}") from None
