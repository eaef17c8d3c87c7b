"""The Dask worker plugin of vmsim.sweep (a module of its own: it imports distributed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin


class WarmKernels(WorkerPlugin):
    """Load (or compile) the policies' kernels once per worker, before its first task.

    Registered on the client, it also warms the workers that join later (an adaptive
    dask-jobqueue cluster).
    """

    def __init__(self, policies: Sequence[str]) -> None:
        self.policies = list(policies)
        self.name = f"vmsim-warm-{'-'.join(self.policies)}"

    def setup(self, worker: Any) -> None:
        """Warm this worker's kernels."""
        from vmsim.engine.warm import warm_kernels

        warm_kernels(self.policies)
