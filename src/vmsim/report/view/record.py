"""Record a run for the page: the event log, a state delta per event, periodic snapshots.

Step i of a recording is the machine as it stood just before its event i was logged
(after event i - 1 and everything it caused); step len(events) is the machine when the
recording ended. Delta i turns step i into step i + 1; `snapshots` hold the whole
state every `every` steps, so the page rebuilds any step from the nearest snapshot and
at most every - 1 deltas (`apply_ops`, whose JavaScript twin is `applyOps` in core.js).
Chunk c is snapshot c and the deltas after it (kept as JSON text once it is complete).

A delta is a list of operations on the state's JSON tree: [path, value] sets the value
at path (a list of keys and list indexes), [path] deletes the key at path.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vmsim.errors import ConfigError
from vmsim.events import Event
from vmsim.report.view.snapshot import State, StateReader, machine_meta

if TYPE_CHECKING:
    from vmsim.machine import Machine

Op = list[Any]
DEFAULT_EVERY = 1024
"""Steps between two snapshots."""
SERIES = ("pgfault", "tlb_miss", "swap", "rss")
"""What the page charts over time: faults, TLB misses, swap I/O (pages in + out), rss."""


_SCALARS = (str, int, float, bool, type(None))


def diff(
    old: Any, new: Any, path: list[Any] | None = None, out: list[Op] | None = None
) -> list[Op]:
    """The operations that turn JSON tree old into new (`is`-equal sections are skipped)."""
    path = [] if path is None else path
    out = [] if out is None else out
    if old is new:
        return out
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in new.items():
            if key not in old:
                out.append([[*path, key], value])
                continue
            was = old[key]
            if was is value:
                continue
            if type(value) in _SCALARS and type(was) is type(value):
                if was != value:
                    out.append([[*path, key], value])
            else:
                diff(was, value, [*path, key], out)
        out.extend([[*path, key]] for key in old if key not in new)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new) and old:
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a is b:
                continue
            if type(b) in _SCALARS and type(a) is type(b):
                if a != b:
                    out.append([[*path, i], b])
            else:
                diff(a, b, [*path, i], out)
    elif old != new or type(old) is not type(new):
        out.append([path, new])
    return out


def apply_ops(state: Any, ops: list[Op]) -> Any:
    """Apply a delta to a JSON tree in place (the Python twin of core.js applyOps); returns it."""
    import copy

    for op in ops:
        path = op[0]
        if not path:
            state = copy.deepcopy(op[1])
            continue
        node = state
        for key in path[:-1]:
            node = node[key]
        if len(op) == 1:
            del node[path[-1]]
        else:
            node[path[-1]] = copy.deepcopy(op[1])
    return state


class _HookedLog(list[Event]):
    """The kernel's event list, calling a hook before each event goes in."""

    def __init__(self, items: list[Event], hook: Callable[[Event], bool]) -> None:
        super().__init__(items)
        self.hook = hook

    def append(self, event: Event) -> None:
        """Call the hook, then log the event if the hook keeps it."""
        if self.hook(event):
            super().append(event)


class Recording:
    """A recording of a machine's run: events, deltas and snapshots (see the module doc).

    start, count: record only the events numbered [start, start + count) from now (a
    window of a long run); on_step(i) is called as step i is read (tests take
    m.snapshot() there).
    """

    def __init__(
        self,
        machine: Machine,
        every: int = DEFAULT_EVERY,
        start: int = 0,
        count: int | None = None,
        on_step: Callable[[int], None] | None = None,
    ) -> None:
        if every < 1:
            raise ConfigError("every", every, "at least 1 step between snapshots")
        if start < 0 or (count is not None and count < 0):
            raise ConfigError("window", f"{start}:{count}", "a start and a count >= 0")
        self.machine = machine
        self.every = every
        self.start = start
        self.count = count
        self.on_step = on_step
        self.meta = machine_meta(machine)
        self.events: list[Event] = []
        self.snapshots: list[tuple[int, State]] = []
        """(step, state) every `every` steps: chunk c of the recording starts at snapshot c."""
        self.chunks: list[str] = []
        """The deltas of each finished chunk, as JSON text (a long run keeps no Python copy)."""
        self._deltas: list[list[Op]] = []
        """The deltas of the open chunk."""
        self.series: dict[str, array[int]] = {k: array("q") for k in SERIES}
        """Per step: the counters the page charts (SERIES)."""
        self.seen = 0
        """Events logged since the recording began (inside the window or not)."""
        self.skipped = 0
        """Events before the window."""
        self._reader = StateReader(machine)
        self._state: State | None = None
        self.closed = False
        k = machine.kernel
        if k.events is None:
            raise ConfigError("record", "without an event log", "record_events=True")
        log = _HookedLog(k.events, self._before_event)
        k.events = k.mmu.events = k.frames.events = log

    @property
    def steps(self) -> int:
        """Events recorded so far (steps are 0 .. steps)."""
        return len(self.events)

    def _step(self) -> None:
        """Read the state of the next step; store its delta (and a snapshot every `every`)."""
        state, ops = self._reader.read_delta()
        i = len(self.events)
        if self._state is None:
            self.snapshots.append((0, state))
        else:
            self._deltas.append(ops)
            if i % self.every == 0:
                self.chunks.append(json.dumps(self._deltas, separators=(",", ":")))
                self._deltas = []
                self.snapshots.append((i, state))
        self._state = state
        c = state["counters"]
        for name, value in (
            ("pgfault", c["pgfault"]),
            ("tlb_miss", c["tlb_miss"]),
            ("swap", c["pswpin"] + c["pswpout"]),
            ("rss", sum(p["stats"]["rss"] for p in state["processes"].values())),
        ):
            self.series[name].append(value)
        if self.on_step is not None:
            self.on_step(i)

    def chunk_deltas(self, c: int) -> list[list[Op]]:
        """The deltas of chunk c (steps c * every .. (c + 1) * every - 1)."""
        if c == len(self.chunks):
            return self._deltas
        loaded: list[list[Op]] = json.loads(self.chunks[c])
        return loaded

    def chunk_text(self, c: int) -> str:
        """The deltas of chunk c as JSON text."""
        if c == len(self.chunks):
            return json.dumps(self._deltas, separators=(",", ":"))
        return self.chunks[c]

    def _before_event(self, event: Event) -> bool:
        """The hook: the state before this event is step len(events); then keep the event.

        With a window, the machine's log keeps only the window's events (a long run
        does not pile up events nobody records).
        """
        index = self.seen
        self.seen += 1
        if self.closed or index < self.start:
            self.skipped += index < self.start
            return self.count is None
        if self.count is not None and len(self.events) >= self.count:
            self.finish()
            return False
        self._step()
        self.events.append(event)
        return True

    def finish(self) -> None:
        """End the recording: the last step is the machine now (idempotent).

        A windowed recording also stops the machine's event log (nothing more is logged).
        """
        if self.closed:
            return
        self._step()
        self.closed = True
        if self.count is not None:
            k = self.machine.kernel
            k.events = k.mmu.events = k.frames.events = None

    def state(self, i: int) -> State:
        """The state at step i, rebuilt as the page does: snapshot, then deltas (for tests)."""
        import copy

        last = len(self.series["rss"]) - 1
        if not 0 <= i <= last:
            raise ConfigError("step", i, f"0..{last}")
        c = i // self.every
        base, state = self.snapshots[c]
        state = copy.deepcopy(state)
        for ops in self.chunk_deltas(c)[: i - base]:
            state = apply_ops(state, ops)
        return state
