"""What a trace holds: references by kind, distinct pages (code, data), footprint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vmsim.engine.ids import PageIdMap
from vmsim.kinds import INSTR, AccessKind
from vmsim.trace import Trace
from vmsim.trace.trace import check_page_shift


@dataclass
class TraceInfo:
    """Counts of one trace."""

    path: str
    format: str
    references: int
    by_kind: dict[str, int]
    distinct_pages: int
    code_pages: int
    data_pages: int
    page_size: int
    lowest: int | None
    highest: int | None
    lines: int = 0
    bad_lines: int = 0
    skipped_lines: int = 0
    first_bad: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def footprint(self) -> int:
        """Bytes of the distinct pages touched."""
        return self.distinct_pages * self.page_size

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "path": self.path,
            "format": self.format,
            "references": self.references,
            "by_kind": self.by_kind,
            "distinct_pages": self.distinct_pages,
            "code_pages": self.code_pages,
            "data_pages": self.data_pages,
            "page_size": self.page_size,
            "footprint_bytes": self.footprint,
            "lowest_address": self.lowest,
            "highest_address": self.highest,
            "lines": self.lines,
            "bad_lines": self.bad_lines,
            "skipped_lines": self.skipped_lines,
        }


def trace_info(
    trace: Trace, page_shift: int = 12, progress: Callable[[int], None] | None = None
) -> TraceInfo:
    """Stream the trace once and count."""
    check_page_shift(page_shift)
    kinds = np.zeros(4, np.int64)
    idmap = PageIdMap()
    code = np.zeros(0, bool)
    data = np.zeros(0, bool)
    lo: int | None = None
    hi: int | None = None
    n = 0
    for ch in trace.chunks():
        n += len(ch)
        if not len(ch):
            continue
        kinds += np.bincount(ch.kinds, minlength=4)[:4]
        a_lo, a_hi = int(ch.addresses.min()), int(ch.addresses.max())
        lo = a_lo if lo is None else min(lo, a_lo)
        hi = a_hi if hi is None else max(hi, a_hi)
        ids = idmap.map((ch.addresses >> np.uint64(page_shift)).view(np.int64))
        if idmap.n_ids > len(code):
            grow = max(idmap.n_ids, 2 * len(code))
            code = np.concatenate([code, np.zeros(grow - len(code), bool)])
            data = np.concatenate([data, np.zeros(grow - len(data), bool)])
        is_i = ch.kinds == INSTR
        code[ids[is_i]] = True
        data[ids[~is_i]] = True
        if progress is not None:
            progress(len(ch))
    st = trace.stats
    return TraceInfo(
        path=trace.path,
        format=trace.format,
        references=n,
        by_kind={k.letter: int(kinds[k.value]) for k in AccessKind},
        distinct_pages=idmap.n_ids,
        code_pages=int(code.sum()),
        data_pages=int(data.sum()),
        page_size=1 << page_shift,
        lowest=lo,
        highest=hi,
        lines=st.lines,
        bad_lines=st.bad_lines,
        skipped_lines=st.skipped,
        first_bad=st.first_bad,
    )
