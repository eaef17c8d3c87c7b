"""DESIGN.md's layering: each package imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "vmsim"
BASE = {"config", "errors", "stats", "events", "kinds", "output", "jitcache"}
ALLOWED = {
    "hw": BASE | {"hw"},
    "kernel": BASE | {"hw", "kernel", "policies"},
    "libc": BASE | {"hw", "kernel", "libc"},
    "policies": BASE | {"policies"},
    "trace": BASE | {"trace"},
    "engine": BASE | {"policies", "trace", "engine"},
    "ostep": BASE | {"ostep", "policies", "libc", "hw", "trace", "engine"},
}


def _vmsim_imports(path: Path) -> set[str]:
    """First components under vmsim of every import in a module (lazy ones included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "vmsim" and len(parts) > 1:
                out.add(parts[1])
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_downward(package: str) -> None:
    bad = {}
    for path in (SRC / package).rglob("*.py"):
        extra = _vmsim_imports(path) - ALLOWED[package]
        if extra:
            bad[str(path.relative_to(SRC))] = sorted(extra)
    assert not bad, f"imports crossing DESIGN.md's layers: {bad}"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_alone(package: str) -> None:
    import subprocess
    import sys

    code = f"import vmsim.{package}, sys; print(*(m for m in sys.modules if m[:6] == 'vmsim.'))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[1] for m in r.stdout.split()}
    assert loaded <= ALLOWED[package] | {package}, loaded - ALLOWED[package]


def _runtime_imports(path: Path, package: str) -> set[str]:
    """Modules of vmsim.<package> that a module imports when it runs.

    Function-level (lazy) imports count; imports under `if TYPE_CHECKING:` do not (they
    are never executed: annotations only).
    """
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    prefix = f"vmsim.{package}."
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
            if node.module == f"vmsim.{package}":
                names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        out.update(n[len(prefix) :].split(".")[0] for n in names if n.startswith(prefix))
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of the graph (module names, the first repeated at the end), or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


PACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "__init__.py").is_file())


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_inside_a_package(package: str) -> None:
    """Each module imports only modules below it (function-level imports included)."""
    graph = {
        path.stem: _runtime_imports(path, package) - {path.stem}
        for path in (SRC / package).glob("*.py")
        if path.stem != "__init__"
    }
    assert not _cycle(graph), f"import cycle in vmsim.{package}: {' -> '.join(_cycle(graph))}"


def test_kernel_has_no_forwarding_methods() -> None:
    """Issue 11: kernel/ files call each other, not through six forwarders on Kernel."""
    from vmsim.kernel.kernel import Kernel

    gone = ["free_swap_entry", "before_unmap", "put_user_page", "vma_closing", "vma_closed"]
    gone += ["swap_cache_drop", "vm_enough_memory", "current", "faulting", "user_translate"]
    assert [name for name in gone if hasattr(Kernel, name)] == []
    import vmsim

    k = vmsim.Machine(memory="64KiB").kernel
    assert not hasattr(k, "current") and not hasattr(k, "faulting")


KERNEL_ORDER = [
    "kalloc", "mm", "oom", "vm", "swap_state", "filemap", "swap", "shmem", "memory", "rmap",
    "faultaround", "fault", "uaccess", "mmap", "reclaim", "proc", "exec", "replay", "sched",
    "files", "signal", "ltrace", "syscall", "check", "kernel",
]  # fmt: skip
"""kernel/ bottom to top, as docs/DESIGN.md lists it (swap_state and filemap are peers)."""


def test_kernel_files_import_only_files_below_them() -> None:
    files = {p.stem for p in (SRC / "kernel").glob("*.py")} - {"__init__"}
    assert set(KERNEL_ORDER) <= files, "docs/DESIGN.md's kernel map names a file that is gone"
    upward = {
        name: sorted(
            _runtime_imports(SRC / "kernel" / f"{name}.py", "kernel") - set(KERNEL_ORDER[:i])
        )
        for i, name in enumerate(KERNEL_ORDER)
    }
    assert {n: up for n, up in upward.items() if up} == {}
    assert "filemap" not in _runtime_imports(SRC / "kernel" / "swap_state.py", "kernel")


def _calls(node: ast.AST) -> set[str]:
    """Names of the functions and methods a piece of code calls."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            out.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return out


def test_one_access_loop() -> None:
    """Issue 11: two traps call the fault handler, Kernel.trap (the machine's simulated
    CPU: Process accesses, trace replay, which retry through Kernel.handle_user_fault)
    and the real CPU's trap handler of `vmsim run` (kernel/syscall.py: Unicorn's TLB
    fill, which delivers the signal to a handler in the guest); nothing else does."""
    callers = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "handle_page_fault" in _calls(ast.parse(path.read_text()))
    )
    assert callers == ["kernel/kernel.py", "kernel/syscall.py"]
    for name in ("machine.py", "kernel/replay.py"):
        handlers = [
            n
            for n in ast.walk(ast.parse((SRC / name).read_text()))
            if isinstance(n, ast.ExceptHandler) and ast.unparse(n.type or ast.Pass()) == "PageFault"
        ]
        assert handlers and all("handle_user_fault" in _calls(h) for h in handlers), name


def test_dead_code_and_old_names_are_gone() -> None:
    """Issue 11: map_pages (never called) is gone; rmap's entry point is Linux's try_to_unmap."""
    from vmsim.kernel import rmap, vm

    assert not hasattr(vm, "map_pages")
    assert hasattr(rmap, "try_to_unmap") and not hasattr(rmap, "try_to_free")
