"""reclaim(): the replacement policy picks a victim frame, try_to_unmap takes it back.

User frames (anonymous, shared, file pages) are tracked by a replacement policy;
page-table pages and the zero page never are, so they are never victims. Replacement
is global by default; a process spawned with a memory_limit is a memory cgroup: its
frames are charged to it, tracked by a policy instance of its own, and when its
charge reaches the limit it replaces among its own pages only.

The policy sees frames, never PTEs: what it may know about a frame comes through
`MachineRefBits`, which reads (and clears) the accessed and dirty bits in the PTEs
that map the frame, found through the reverse map.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vmsim.errors import KernelPanic, VmsimError
from vmsim.events import Evict
from vmsim.kernel.kalloc import RmapEntry
from vmsim.kernel.mm import AddressSpace
from vmsim.kernel.rmap import try_to_unmap
from vmsim.kernel.vm import set_pte, walk
from vmsim.policies import ReplacementPolicy, make_policy, policy_class

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel
    from vmsim.kernel.proc import Proc


class FutureUnknown(VmsimError):
    """A policy asked for the next use of a page outside a trace replay (only OPT does)."""


class MachineRefBits:
    """RefBits over the machine: bits live in the PTEs that map a frame."""

    def __init__(self, k: Kernel) -> None:
        self._k = k
        self.futures: dict[AddressSpace, dict[int, int]] = {}
        """Per replaying address space: vpn -> time of its next reference."""

    @property
    def now(self) -> int:
        """Virtual time: memory accesses made on the machine."""
        return self._k.clock

    def _bit(self, ppn: int, mask: int, clear: bool) -> bool:
        k = self._k
        found = False
        for mm, va in k.frames.mappers(ppn):
            pte_pa, pte = walk(k, mm, va)
            if pte & mask:
                found = True
                if clear:
                    set_pte(k, mm, va, pte_pa, pte & ~mask)
        return found

    def test_and_clear(self, key: int) -> bool:
        """The accessed bit of any PTE mapping the frame; all are cleared (TLB flushed)."""
        return self._bit(key, self._k.fmt.layout.accessed, clear=True)

    def referenced(self, key: int) -> bool:
        """The accessed bit of any PTE mapping the frame."""
        return self._bit(key, self._k.fmt.layout.accessed, clear=False)

    def dirty(self, key: int) -> bool:
        """Whether the frame differs from its backing copy (PTE dirty bits or page dirty)."""
        return self._k.reclaimer.frame_dirty(key, self._k.frames.mappers(key))

    def next_use(self, key: int) -> int:
        """Next reference time of the frame's page, known only during a replay."""
        mappers = self._k.frames.mappers(key)
        if not mappers:
            return -1
        mm, va = mappers[0]
        future = self.futures.get(mm)
        if future is None:
            raise FutureUnknown(
                "policy 'opt' needs to know the future: use it only for trace replays (p.replay)"
            )
        return future.get(va >> self._k.fmt.page_shift, 1 << 62)


class Reclaimer:
    """Policies (global and per cgroup), charges, and the reclaim loop of one machine."""

    def __init__(self, k: Kernel, policy: str, options: dict[str, Any], seed: int) -> None:
        self._k = k
        self.policy_name = policy
        cls = policy_class(policy)
        self._options = dict(options)
        if policy == "random":
            self._options.setdefault("seed", seed)
        self.uses_access_hook = cls.uses_access_hook
        self.uses_tick = cls.uses_tick
        self.global_policy = make_policy(policy, **self._options)
        self.cgroup_policy: dict[Proc, ReplacementPolicy] = {}
        """Per memory cgroup (its process): the policy tracking its frames. A cgroup
        outlives its process while frames charged to it live on (Linux's dying memcg)."""
        self.frame_policy: list[ReplacementPolicy | None] = [None] * k.frames.nframes
        self.frame_cgroup: list[Proc | None] = [None] * k.frames.nframes
        self.charge: dict[Proc, int] = {}
        self.page_dirty: set[int] = set()
        """Frames whose content changed since their backing copy (Linux's PG_dirty)."""
        self.refbits = MachineRefBits(k)
        self._just_mapped = -1

    def policy_for(self, mm: AddressSpace) -> ReplacementPolicy:
        """The policy instance that tracks mm's frames."""
        owner = mm.owner
        if owner is not None and owner.memory_limit is not None:
            pol = self.cgroup_policy.get(owner)
            if pol is None:
                pol = self.cgroup_policy[owner] = make_policy(self.policy_name, **self._options)
            return pol
        return self.global_policy

    def page_added(self, ppn: int, mm: AddressSpace) -> None:
        """A user frame became resident for mm: its policy starts tracking it."""
        if self.frame_policy[ppn] is None:
            pol = self.policy_for(mm)
            self.frame_policy[ppn] = pol
            pol.on_map(ppn)
            self._just_mapped = ppn

    def page_freed(self, ppn: int) -> None:
        """A frame went back to the free list: untrack and uncharge it."""
        pol = self.frame_policy[ppn]
        if pol is not None:
            self.frame_policy[ppn] = None
            pol.on_unmap(ppn)
        cg = self.frame_cgroup[ppn]
        if cg is not None:
            self.frame_cgroup[ppn] = None
            self.charge[cg] -= 1
            if not cg.alive:
                self.release(cg)
        self.page_dirty.discard(ppn)

    def release(self, proc: Proc) -> None:
        """proc has exited: its cgroup tables go once no frame is charged to it."""
        if self.charge.get(proc, 0) == 0 and not len(self.cgroup_policy.get(proc, ())):
            self.charge.pop(proc, None)
            self.cgroup_policy.pop(proc, None)

    def on_access(self, ppn: int, write: bool) -> None:
        """The simulator-only access hook (exact LRU and friends).

        The retried access right after a fault that mapped a new frame is not reported:
        on_map already counted that reference.
        """
        just, self._just_mapped = self._just_mapped, -1
        pol = self.frame_policy[ppn]
        if pol is not None and ppn != just:
            pol.on_access(ppn, write)

    def tick(self) -> None:
        """The periodic clock tick, for every policy instance."""
        self.global_policy.tick(self.refbits)
        for pol in self.cgroup_policy.values():
            pol.tick(self.refbits)

    def frame_dirty(self, ppn: int, mappers: list[RmapEntry]) -> bool:
        """Whether any PTE mapping ppn is dirty, or the frame is marked dirty."""
        if ppn in self.page_dirty:
            return True
        dirty = self._k.fmt.layout.dirty
        return any(walk(self._k, mm, va)[1] & dirty for mm, va in mappers)

    def charge_page(self, ppn: int, mm: AddressSpace) -> None:
        """Charge a newly allocated user frame to mm's cgroup, if it has one."""
        owner = mm.owner
        if owner is not None and owner.memory_limit is not None:
            self.frame_cgroup[ppn] = owner
            self.charge[owner] = self.charge.get(owner, 0) + 1

    def over_limit(self, mm: AddressSpace) -> Proc | None:
        """mm's owner if it is a cgroup at (or above) its limit."""
        owner = mm.owner
        if owner is None or owner.memory_limit is None:
            return None
        return owner if self.charge.get(owner, 0) >= owner.memory_limit else None

    def reclaim(self, cgroup: Proc | None = None) -> bool:
        """Free one frame: from cgroup's own pages, or globally. False if nothing could go."""
        if cgroup is not None:
            pol = self.cgroup_policy.get(cgroup)
            return pol is not None and self.shrink(pol)
        if self.shrink(self.global_policy):
            return True
        for pol in sorted(self.cgroup_policy.values(), key=len, reverse=True):
            if self.shrink(pol):
                return True
        return False

    def shrink(self, pol: ReplacementPolicy) -> bool:
        """Take back pol's victim among the frames that can go now; False if none can.

        Frames that cannot go now (pinned, or anonymous with swap full) are passed over
        in place (victim_except): they keep their recency and their place under the hand.
        The decision (Evict) is logged before the swap-out and frees it causes.
        """
        ppn = pol.victim_except(self.refbits, self.cannot_free)
        if ppn is None:
            return False
        self.frame_policy[ppn] = None
        self._k.emit(Evict(ppn, self.policy_name))
        if not try_to_unmap(self._k, ppn):
            raise KernelPanic(f"reclaim: frame {ppn} could not be freed after all")
        self._k.stats.pgsteal += 1
        return True

    def cannot_free(self, ppn: int) -> bool:
        """Whether try_to_unmap(ppn) would fail now: pinned, or anonymous with nowhere to go."""
        k = self._k
        if ppn in k.frames.pinned_frames:
            return True
        purpose = k.frames.purpose[ppn]
        if purpose in ("anon", "shm"):
            return ppn not in k.swap.cache_slot and k.swap.full()
        return purpose != "file"
