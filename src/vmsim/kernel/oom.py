"""Overcommit accounting (vm_enough_memory) and the OOM killer (out_of_memory).

Overcommit modes, as Linux's vm.overcommit_memory:
- "heuristic" (0): refuse only a single request larger than RAM + swap;
- "always" (1): never refuse;
- "never" (2): committed private writable memory may not exceed
  swap + overcommit_ratio% of RAM (the commit limit).

The OOM killer runs when a fault needs a frame, nothing can be reclaimed and swap is
full: it kills the process with the highest oom_badness (resident pages + swap entries
+ page-table pages, plus oom_score_adj scaled to the machine as Linux does;
oom_score_adj = -1000 exempts a process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmsim.events import OomKill

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel
    from vmsim.kernel.proc import Proc

OOM_SCORE_ADJ_MIN = -1000
OOM_SCORE_ADJ_MAX = 1000


def total_pages(k: Kernel) -> int:
    """RAM pages plus swap slots: the scale of oom_score_adj and of the heuristic check."""
    return k.frames.nframes + k.swap.nslots


def commit_limit(k: Kernel) -> int:
    """The commit limit of overcommit='never', in pages."""
    return k.swap.nslots + k.frames.nframes * k.config.overcommit_ratio // 100


def vm_enough_memory(k: Kernel, pages: int) -> bool:
    """Whether `pages` more pages may be committed; if so they are charged."""
    mode = k.config.overcommit
    if mode == "heuristic" and pages > total_pages(k):
        return False
    if mode == "never" and k.committed + pages > commit_limit(k):
        return False
    k.committed += pages
    return True


def oom_badness(k: Kernel, proc: Proc) -> int | None:
    """How much killing proc would free, adjusted; None if it may not be killed."""
    if not proc.alive or proc.oom_score_adj == OOM_SCORE_ADJ_MIN:
        return None
    s = proc.stats
    points = s.rss + s.swap + s.pgtables
    return points + proc.oom_score_adj * total_pages(k) // 1000


def select_bad_process(k: Kernel, candidates: list[Proc]) -> tuple[Proc, int] | None:
    """The candidate with the highest badness (the lowest pid among equals)."""
    best: tuple[Proc, int] | None = None
    for proc in candidates:
        points = oom_badness(k, proc)
        if points is not None and (best is None or points > best[1]):
            best = (proc, points)
    return best


def out_of_memory(k: Kernel, memcg: Proc | None = None) -> bool:
    """Kill the worst process (within memcg if given); True if that freed its memory.

    False if there is none to kill, or if the victim is busy in a kernel path (its mm
    is locked): it is marked killed and exits at its trap or system-call boundary.
    """
    candidates = [memcg] if memcg is not None else sorted(k.live_procs(), key=lambda p: p.pid)
    chosen = select_bad_process(k, candidates)
    if chosen is None:
        return False
    victim, points = chosen
    k.stats.oom_kill += 1
    k.emit(OomKill(victim.pid, points))
    reason = f"killed by the OOM killer (badness {points})"
    return k.kill(victim, reason)
