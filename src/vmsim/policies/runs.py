"""Where each policy runs: the machine (frames) and the engine, or the engine only.

Not a policy (it registers nothing). A policy that remembers evicted pages (ghost lists:
ARC, 2Q, LIRS) is the textbook policy only where a key names one page for good, as in
the engine's trace replays; on the machine a key is a frame, reused by other pages, so
MachineConfig refuses those policies. Every policy has an engine kernel.
"""

from __future__ import annotations

from vmsim.policies.base import policy_class

MACHINE_REFUSES = "remembers evicted pages, which a reused frame cannot carry"
"""Why the machine cannot run a policy with remembers_evicted."""


def runs_on_machine(name: str) -> bool:
    """Whether `vmsim replay` / Machine(policy=name) can run the policy."""
    return not policy_class(name).remembers_evicted


def where_it_runs(name: str) -> str:
    """ "machine and engine", or "engine only (...why)" for the `vmsim policies` table."""
    if runs_on_machine(name):
        return "machine and engine"
    return f"engine only ({MACHINE_REFUSES})"
