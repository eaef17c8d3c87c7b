"""Plots (matplotlib, Agg backend): miss-ratio curves and the working set over time."""

from __future__ import annotations

from typing import Any

from vmsim.errors import ConfigError


def _figure() -> tuple[Any, Any]:
    """A new figure and axes, with the file-only backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7, 4.5))


def _save(fig: Any, path: str) -> None:
    """Write the figure to path (format from the extension); ConfigError if it cannot."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    try:
        fig.savefig(path)
    except (OSError, ValueError) as exc:
        raise ConfigError("plot", path, f"cannot write the image: {exc}") from None
    finally:
        plt.close(fig)


def plot_curve(curve: Any, path: str, title: str) -> None:
    """Miss ratio against frames (log x) of a vmsim.engine MissRatioCurve."""
    fig, ax = _figure()
    ax.step(curve.sizes, curve.miss_ratios, where="post", label=f"{curve.policy} ({curve.method})")
    ax.set_xscale("log")
    ax.set_xlabel("frames")
    ax.set_ylabel("miss ratio")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    _save(fig, path)


def plot_working_set(res: Any, path: str, title: str) -> None:
    """W(t, tau) over time of a vmsim.engine working-set result."""
    fig, ax = _figure()
    ax.plot(res.times, res.sizes)
    ax.set_xlabel("t (references)")
    ax.set_ylabel(f"W(t, {res.tau}) (pages)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    _save(fig, path)
