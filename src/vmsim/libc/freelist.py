"""The textbook free list: OSTEP malloc.py's rules as a plain class (no simulated memory).

The heap is the range [base, base + size). Free space is a list of (addr, size)
entries kept in one of five orders; an allocation walks the list and counts every
entry it looks at ("searched k elements"). The rules, exactly as the textbook
simulator (`vm-freespace/malloc.py`) has them:

- `alloc(n)`: with `align > 0`, round n up to a multiple of align; THEN add `header`.
  Fits: "first" stops at the first entry that is big enough; "best" keeps the smallest
  big-enough entry, "worst" the largest (strict comparisons, so ties go to the entry
  seen first), both looking at the whole list. The chunk is cut from the entry's low
  end and the remainder stays at the same list position (the list is not re-sorted
  after a split); an exact fit removes the entry. Failure returns -1 and counts the
  whole list. The address returned is the chunk's start (the header is inside it).
- `free(addr)`: an address that is not a live chunk (including a double free) returns
  -1 and changes nothing. Otherwise the chunk goes back: "insert-back" appends,
  "insert-front" prepends, "addrsort" / "sizesort+" / "sizesort-" append then stable
  sort by address / size ascending / size descending. With `coalesce`, one pass in
  list order then merges each entry into the running one when it starts where the
  running one ends: only list neighbours merge, so only "addrsort" coalesces fully.
- Alignment pads sizes only: addresses are aligned only if base and header are.

Extension (not in the textbook): fit "next" is next fit, first fit that starts at the
first entry (in list order) whose address is at or after the end of the previous
allocation, wrapping around to the start of the list; with an address-ordered list
this is the classic roving pointer. It counts the entries it looks at like "first".
And `extend(n)` grows the heap at its end (after a brk): the new space goes into the
list like a freed chunk (list order, then coalescing).

Sizes are taken as given, with the textbook's arithmetic: a caller that must refuse
zero or negative requests (the machine's heap) checks them before calling `alloc`.
"""

from __future__ import annotations

from vmsim.errors import ConfigError, VmsimError

FITS = ("first", "best", "worst", "next")
ORDERS = ("addrsort", "sizesort+", "sizesort-", "insert-front", "insert-back")


class ChunkCollision(VmsimError):
    """An allocation would return the address of a live chunk (after a zero-size one)."""

    def __init__(self, addr: int) -> None:
        self.addr = addr
        super().__init__(
            f"alloc: address {addr} is already a live chunk "
            "(a zero-size allocation left it at the head of a free entry)"
        )


def check_rules(fit: str, order: str) -> None:
    """ConfigError unless fit is one of FITS and order one of ORDERS."""
    if fit not in FITS:
        raise ConfigError("fit", fit, f"one of {', '.join(FITS)}")
    if order not in ORDERS:
        raise ConfigError("order", order, f"one of {', '.join(ORDERS)}")


class FreeList:
    """A free list over [base, base + size) with the textbook's fits, orders and coalescing."""

    def __init__(
        self,
        base: int,
        size: int,
        fit: str = "first",
        order: str = "addrsort",
        coalesce: bool = False,
        header: int = 0,
        align: int = -1,
    ) -> None:
        check_rules(fit, order)
        if align != -1 and align <= 0:
            raise ConfigError("align", align, "-1 (no alignment) or a positive size")
        self.base = base
        self.size = size
        self.fit = fit
        self.order = order
        self.coalesce = coalesce
        self.header = header
        self.align = align
        self._free: list[tuple[int, int]] = [(base, size)]
        self._live: dict[int, int] = {}
        self._rover = base

    def chunk_size(self, n: int) -> int:
        """Bytes a request of n takes: n rounded up to the alignment, plus the header."""
        if self.align != -1:
            n += -n % self.align
        return n + self.header

    def alloc(self, n: int) -> tuple[int, int]:
        """Allocate n bytes; return (chunk address or -1, entries searched)."""
        need = self.chunk_size(n)
        idx, searched = self._search(need)
        if idx == -1:
            return -1, searched
        addr, esize = self._free[idx]
        if addr in self._live:
            raise ChunkCollision(addr)
        if esize > need:
            self._free[idx] = (addr + need, esize - need)
        else:
            del self._free[idx]
        self._live[addr] = need
        self._rover = addr + need
        return addr, searched

    def _search(self, need: int) -> tuple[int, int]:
        """The list index the fit picks for a chunk of `need` bytes (or -1), and the count."""
        free = self._free
        if self.fit in ("first", "next"):
            start = self._next_start() if self.fit == "next" else 0
            n = len(free)
            for k in range(n):
                i = (start + k) % n
                if free[i][1] >= need:
                    return i, k + 1
            return -1, n
        best_idx = -1
        best = self.size + 1 if self.fit == "best" else -1
        for i, (_, esize) in enumerate(free):
            if esize >= need and (
                (self.fit == "best" and esize < best) or (self.fit == "worst" and esize > best)
            ):
                best_idx, best = i, esize
        return best_idx, len(free)

    def _next_start(self) -> int:
        """Next fit: the first list position whose address is at or after the rover."""
        for i, (addr, _) in enumerate(self._free):
            if addr >= self._rover:
                return i
        return 0

    def free(self, addr: int) -> int:
        """Free the chunk at addr: 0, or -1 (nothing changes) if addr is not a live chunk."""
        size = self._live.pop(addr, None)
        if size is None:
            return -1
        self._insert((addr, size))
        return 0

    def extend(self, nbytes: int) -> None:
        """Grow the heap at its end by nbytes (a brk): the new space is inserted like a free."""
        if nbytes <= 0:
            raise ConfigError("extend", nbytes, "a positive number of bytes")
        end = self.base + self.size
        self.size += nbytes
        self._insert((end, nbytes))

    def _insert(self, entry: tuple[int, int]) -> None:
        """Put a free entry back in the list by the list order, then coalesce if asked."""
        if self.order == "insert-front":
            self._free.insert(0, entry)
        else:
            self._free.append(entry)
            if self.order == "addrsort":
                self._free.sort(key=lambda e: e[0])
            elif self.order == "sizesort+":
                self._free.sort(key=lambda e: e[1])
            elif self.order == "sizesort-":
                self._free.sort(key=lambda e: e[1], reverse=True)
        if self.coalesce:
            self._coalesce()

    def _coalesce(self) -> None:
        """One pass in list order: merge each entry that starts where the running one ends."""
        merged: list[tuple[int, int]] = []
        cur_addr, cur_size = self._free[0]
        for addr, size in self._free[1:]:
            if addr == cur_addr + cur_size:
                cur_size += size
            else:
                merged.append((cur_addr, cur_size))
                cur_addr, cur_size = addr, size
        merged.append((cur_addr, cur_size))
        self._free = merged

    def entries(self) -> list[tuple[int, int]]:
        """The free list, in its current order: (addr, size) per entry."""
        return list(self._free)

    def live(self) -> dict[int, int]:
        """Live chunks: address -> chunk size (header and padding included)."""
        return dict(self._live)

    def chunk(self, addr: int) -> int | None:
        """Size of the live chunk at addr, or None."""
        return self._live.get(addr)

    def free_bytes(self) -> int:
        """Total size of the free entries."""
        return sum(size for _, size in self._free)

    def __len__(self) -> int:
        """Number of free entries."""
        return len(self._free)
