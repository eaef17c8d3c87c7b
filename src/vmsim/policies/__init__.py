"""Page-replacement policies: one file each, registered by name in `base.POLICIES`."""

from vmsim.policies.base import (
    POLICIES,
    RefBits,
    ReplacementPolicy,
    make_policy,
    policy_class,
    policy_names,
    register,
)

__all__ = [
    "POLICIES",
    "RefBits",
    "ReplacementPolicy",
    "make_policy",
    "policy_class",
    "policy_names",
    "register",
]
