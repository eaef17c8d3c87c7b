"""Synthetic page traces, generated deterministically from a seed.

- `zipf_pages`: page i (of `pages`) is referenced with probability proportional to
  1/(i+1)**alpha (inverse-CDF sampling), then pages are renamed by a seeded random
  permutation so that popularity does not follow the page number.
- `uniform_pages`: every page equally likely.
- `loop_pages`: 0, 1, ..., pages-1 repeated (the classic LRU worst case).
"""

from __future__ import annotations

import numpy as np

from vmsim.errors import ConfigError


def _check(n: int, pages: int) -> None:
    """ConfigError unless n >= 0 and pages >= 1."""
    if n < 0:
        raise ConfigError("references", n, "at least 0")
    if pages < 1:
        raise ConfigError("pages", pages, "at least 1")


def zipf_pages(n: int, pages: int, alpha: float = 0.9, seed: int = 0) -> np.ndarray:
    """n references (int64 page numbers) drawn from Zipf(alpha) over `pages` pages."""
    _check(n, pages)
    if alpha < 0:
        raise ConfigError("alpha", alpha, "at least 0")
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, pages + 1, dtype=np.float64) ** alpha
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    ranks = np.searchsorted(cdf, rng.random(n), side="right")
    np.minimum(ranks, pages - 1, out=ranks)
    return rng.permutation(pages).astype(np.int64)[ranks]


def uniform_pages(n: int, pages: int, seed: int = 0) -> np.ndarray:
    """n references (int64 page numbers) drawn uniformly from `pages` pages."""
    _check(n, pages)
    return np.random.default_rng(seed).integers(0, pages, n, dtype=np.int64)


def loop_pages(n: int, pages: int) -> np.ndarray:
    """n references cycling through pages 0..pages-1."""
    _check(n, pages)
    return np.arange(n, dtype=np.int64) % pages
