"""MachineConfig: the frozen, validated description of a simulated machine.

Sizes may be given as ints (bytes) or strings such as "64KiB", "1MiB", "4k" (binary units).
Every invalid option raises `ConfigError` naming the option, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from vmsim.errors import ConfigError

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
    "t": 1 << 40,
    "tb": 1 << 40,
    "tib": 1 << 40,
}
_SIZE_RE = re.compile(r"^\s*(0x[0-9a-fA-F]+|\d+)\s*([a-zA-Z]*)\s*$", re.ASCII)
"""ASCII only: `\\d` would also match "٤" (an Arabic-Indic four) and `\\s` U+3000."""

RESERVED_PIDS = 300
"""Linux's RESERVED_PIDS: once the pids wrap, allocation starts again here, not at 1."""
PID_MAX_MIN, PID_MAX_LIMIT = RESERVED_PIDS + 1, 4 * 1024 * 1024
"""Linux's bounds of kernel.pid_max (PID_MAX_LIMIT of 64-bit machines)."""
THREAD_SIZE, MIN_THREADS = 16 << 10, 20
"""x86-64's kernel stack size and Linux's floor of threads-max (kernel/fork.c)."""
OVERCOMMIT_MODES = ("heuristic", "always", "never")


def parse_size(value: int | str, option: str = "size") -> int:
    """Parse a size such as 4096, "64KiB" or "1m" into bytes (binary units).

    Raises ConfigError naming `option` when the text is not a size.
    """
    if isinstance(value, bool):
        raise ConfigError(option, value, "a size in bytes, e.g. 4096 or '64KiB'")
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(option, value, "a size must not be negative")
        return value
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m and m.group(2).lower() in _UNITS:
            return int(m.group(1), 0) * _UNITS[m.group(2).lower()]
    raise ConfigError(
        option, value, "a size in bytes, e.g. 4096 or '64KiB' (units B, KiB, MiB, GiB)"
    )


def format_size(nbytes: int) -> str:
    """Format a byte count with the largest binary unit that divides it ("64KiB")."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale and nbytes % scale == 0:
            return f"{nbytes // scale}{unit}"
    return f"{nbytes}B"


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass(frozen=True)
class MachineConfig:
    """Everything that describes one simulated machine; validated on creation."""

    memory: int = 1 << 20
    """Physical memory in bytes (a multiple of the page size)."""
    paging: str = "x86_64"
    """Page-table format: x86_64, x86_32, sv39 or linear."""
    page_size: int = 4096
    """Page size in bytes; only the linear format accepts anything but 4 KiB."""
    address_space: int | None = None
    """Virtual address-space size in bytes (linear format only; others are fixed)."""
    tlb_entries: int = 16
    """TLB entries in all; 0 disables the TLB."""
    tlb_ways: int = 4
    """Ways per TLB set; 0 means fully associative."""
    asid_bits: int = 0
    """ASID tag width; 0 means no ASIDs (a context switch flushes the TLB)."""
    record_events: bool = False
    """Keep a typed event log in Machine.events."""
    stack_limit: int = 8 << 20
    """Maximum stack size in bytes (RLIMIT_STACK)."""
    swap: int = 0
    """Swap device size in bytes (0: no swap)."""
    swap_file: str | None = None
    """Host file backing the swap device (None: a temporary file)."""
    policy: str = "clock"
    """Page-replacement policy name (see `vmsim policies`)."""
    seed: int = 0
    """Seed for every random choice the machine makes."""
    overcommit: str = "heuristic"
    """Overcommit mode, as Linux's vm.overcommit_memory: heuristic, always or never."""
    overcommit_ratio: int = 50
    """Percent of RAM counted in the commit limit under overcommit='never'."""
    tick_interval: int = 1000
    """Accesses between two clock ticks (policies such as aging act on ticks)."""
    replay_only: bool = False
    """Every process only replays traces (vmsim replay): lets a policy that needs the
    future of each reference (opt, unopt) run, as a trace is the only place it is known."""
    pid_max: int = 32768
    """Pids are 1 .. pid_max - 1 and wrap around to 300, as Linux's kernel.pid_max
    (301 .. 4194304)."""
    max_processes: int | None = None
    """Processes (zombies included) beyond which fork fails with EAGAIN, as Linux's
    kernel.threads-max; None: Linux's default for the memory size, RAM / 128 KiB
    (8 thread stacks of 16 KiB), at least 20."""
    fault_around_bytes: int = 0
    """File read faults also map the cached pages of this aligned window, and a major one
    reads around it (Linux: 64 KiB, `vmsim run`'s default); 0 or one page: neither."""
    policy_options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """Extra keyword arguments passed to the replacement policy (e.g. tau for wsclock)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "memory", parse_size(self.memory, "memory"))
        set_(self, "page_size", parse_size(self.page_size, "page_size"))
        set_(self, "fault_around_bytes", parse_size(self.fault_around_bytes, "fault_around_bytes"))
        set_(self, "stack_limit", parse_size(self.stack_limit, "stack_limit"))
        set_(self, "swap", parse_size(self.swap, "swap"))
        if self.address_space is not None:
            set_(self, "address_space", parse_size(self.address_space, "address_space"))
        self._validate()

    def _validate(self) -> None:
        """Check every option; raise ConfigError for the first bad one."""
        from vmsim.hw.ptformat import machine_formats  # the one registry of formats

        if self.paging not in machine_formats():
            raise ConfigError("paging", self.paging, f"one of {', '.join(machine_formats())}")
        if not _is_pow2(self.page_size):
            raise ConfigError("page_size", self.page_size, "a power of two")
        if self.paging != "linear" and self.page_size != 4096:
            raise ConfigError("page_size", self.page_size, f"{self.paging} uses 4096-byte pages")
        if self.paging == "linear":
            if self.address_space is None or not _is_pow2(self.address_space):
                raise ConfigError(
                    "address_space", self.address_space, "a power of two (linear paging)"
                )
            if self.address_space < self.page_size:
                raise ConfigError("address_space", self.address_space, "at least one page")
        elif self.address_space is not None:
            raise ConfigError("address_space", self.address_space, "only for linear paging")
        if self.memory < self.page_size or self.memory % self.page_size:
            raise ConfigError(
                "memory", self.memory, f"a positive multiple of the page size ({self.page_size})"
            )
        if self.swap % self.page_size:
            raise ConfigError("swap", self.swap, f"a multiple of the page size ({self.page_size})")
        self._validate_tlb()
        if self.overcommit not in OVERCOMMIT_MODES:
            raise ConfigError(
                "overcommit", self.overcommit, f"one of {', '.join(OVERCOMMIT_MODES)}"
            )
        if not 0 <= self.overcommit_ratio <= 10_000:
            raise ConfigError("overcommit_ratio", self.overcommit_ratio, "a percentage 0..10000")
        if self.tick_interval < 1:
            raise ConfigError("tick_interval", self.tick_interval, "at least 1 access")
        self._validate_policy()
        fab = self.fault_around_bytes
        if fab and (not _is_pow2(fab) or not self.page_size <= fab <= 512 * self.page_size):
            raise ConfigError("fault_around_bytes", fab, "0, or a power of two of 1..512 pages")
        if self.stack_limit < self.page_size:
            raise ConfigError("stack_limit", self.stack_limit, "at least one page")
        self._validate_processes()

    def _validate_processes(self) -> None:
        """pid_max in Linux's range; max_processes at least 1."""
        if not isinstance(self.pid_max, int) or not PID_MAX_MIN <= self.pid_max <= PID_MAX_LIMIT:
            raise ConfigError("pid_max", self.pid_max, f"{PID_MAX_MIN}..{PID_MAX_LIMIT}, as Linux")
        if self.max_processes is not None and (
            not isinstance(self.max_processes, int) or self.max_processes < 1
        ):
            raise ConfigError("max_processes", self.max_processes, "at least 1 (or None)")

    def _validate_policy(self) -> None:
        """The policy must be registered, work on frames, and accept its options."""
        from vmsim.policies import make_policy, policy_class, policy_names

        cls = policy_class(self.policy)
        if cls.remembers_evicted:
            usable = [n for n in policy_names() if not policy_class(n).remembers_evicted]
            raise ConfigError(
                "policy",
                self.policy,
                f"a policy that works on frames ({', '.join(usable)}); {self.policy} keeps a "
                "history of evicted pages, which a reused frame cannot carry: use it with "
                "the engine (vmsim simulate)",
            )
        if cls.needs_future and not self.replay_only:
            raise ConfigError(
                "policy",
                self.policy,
                f"{self.policy} needs the future of every reference, which only a trace "
                "knows: use it with the engine (vmsim simulate), or on a machine made with "
                "replay_only=True whose processes only replay traces (vmsim replay)",
            )
        opts = dict(self.policy_options)
        if self.policy == "random":
            opts.setdefault("seed", self.seed)
        make_policy(self.policy, **opts)

    def _validate_tlb(self) -> None:
        """TLB geometry: entries a multiple of ways; asid_bits 0..16."""
        if self.tlb_entries < 0:
            raise ConfigError("tlb_entries", self.tlb_entries, "0 or more")
        if self.tlb_ways < 0:
            raise ConfigError("tlb_ways", self.tlb_ways, "0 (fully associative) or more")
        if self.tlb_ways and self.tlb_entries % self.tlb_ways:
            raise ConfigError(
                "tlb_ways", self.tlb_ways, f"a divisor of tlb_entries ({self.tlb_entries})"
            )
        if not 0 <= self.asid_bits <= 16:
            raise ConfigError("asid_bits", self.asid_bits, "0..16")

    @property
    def nframes(self) -> int:
        """Number of physical frames."""
        return self.memory // self.page_size

    @property
    def threads_max(self) -> int:
        """The process limit: max_processes, or Linux's default for the memory size."""
        if self.max_processes is not None:
            return self.max_processes
        return max(MIN_THREADS, self.memory // (8 * THREAD_SIZE))

    @property
    def page_shift(self) -> int:
        """log2 of the page size."""
        return self.page_size.bit_length() - 1

    def replace(self, **changes: Any) -> MachineConfig:
        """A copy with some options changed (validated again)."""
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "textbook": {
        "memory": "64KiB",
        "paging": "linear",
        "page_size": 1024,
        "address_space": "16KiB",
    },
    "x86_32": {"memory": "4MiB", "paging": "x86_32"},
    "riscv": {"memory": "4MiB", "paging": "sv39"},
}
"""Named starting points for MachineConfig."""
