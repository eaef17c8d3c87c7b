"""Overcommit accounting (vm_enough_memory) and the OOM killer (out_of_memory).

Overcommit modes, as Linux's vm.overcommit_memory:
- "heuristic" (0): refuse only a single request larger than RAM + swap;
- "always" (1): never refuse;
- "never" (2): committed private writable memory may not exceed
  swap + overcommit_ratio% of RAM (the commit limit).

The OOM killer runs when a fault needs a frame, nothing can be reclaimed and swap is
full: it kills the process with the highest oom_badness, computed exactly as Linux's
mm/oom_kill.c does (see oom_badness and select_bad_process); oom_score_adj = -1000
exempts a process.
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


def oom_badness(proc: Proc, totalpages: int) -> int | None:
    """Linux's oom_badness (mm/oom_kill.c): what killing proc frees, adjusted; None if exempt.

    As Linux: `points = rss + swapents + pgtables_bytes / PAGE_SIZE; adj *= totalpages /
    1000; points += adj`, in integer arithmetic with the division first, so on a machine
    of fewer than 1,000 pages (RAM + swap) oom_score_adj has no effect, and between 1,000
    and 1,999 pages each unit of adj weighs one page. Points may be negative (Linux >= 5.9
    returns them as they are). None (Linux's LONG_MIN) for a dead process or adj -1000.
    """
    if not proc.alive or proc.oom_score_adj == OOM_SCORE_ADJ_MIN:
        return None
    s = proc.stats
    points = s.rss + s.swap + s.pgtables  # pgtables counts pages: pgtables_bytes / PAGE_SIZE
    adj = proc.oom_score_adj * (totalpages // 1000)
    return points + adj


def select_bad_process(candidates: list[Proc], totalpages: int) -> tuple[Proc, int] | None:
    """Linux's select_bad_process: the candidate with the highest badness, the LATER on a tie.

    candidates come in task-list order (creation order, as for_each_process walks
    init_task.tasks: copy_process adds each new task at the tail). oom_evaluate_task skips
    a task only when `points == LONG_MIN || points < oc->chosen_points`, so a later task
    with points equal to the chosen one's replaces it: the last of the equals is killed.
    """
    best: tuple[Proc, int] | None = None
    for proc in candidates:
        points = oom_badness(proc, totalpages)
        if points is None or (best is not None and points < best[1]):
            continue
        best = (proc, points)
    return best


def out_of_memory(k: Kernel, memcg: Proc | None = None) -> bool:
    """Kill the worst process (within memcg if given); True if that freed its memory.

    False if there is none to kill, or if the victim is busy in a kernel path (its mm
    is locked): it is marked killed and exits at its trap or system-call boundary.
    """
    if memcg is not None:  # Linux: totalpages = mem_cgroup_get_max (limit + swap)
        candidates, totalpages = [memcg], (memcg.memory_limit or 0) + k.swap.nslots
    else:  # Linux: totalpages = totalram_pages() + total_swap_pages
        candidates, totalpages = k.live_procs(), total_pages(k)
    chosen = select_bad_process(candidates, totalpages)
    if chosen is None:
        return False
    victim, points = chosen
    k.stats.oom_kill += 1
    k.emit(OomKill(victim.pid, points))
    reason = f"killed by the OOM killer (badness {points})"
    return k.kill(victim, reason)
