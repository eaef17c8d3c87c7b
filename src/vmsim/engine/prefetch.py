"""`prefetch(array, index)`: a cache hint for Numba kernels (LLVM's llvm.prefetch), and
`prefetch_ahead(ids, t, *arrays)`: the hint for each array at the reference PREFETCH
places ahead of t, the one line every kernel's loop starts with.

A kernel whose next references are known (a trace) asks for the state of the reference
a few places ahead: its cache miss then overlaps the work on the current one. The hint
is a non-faulting prefetch instruction (x86 PREFETCHT0): it reads nothing into the
program, cannot trap even for an index outside the array, and changes no result.
Unlike a plain early load (the kernels' former way), it holds no register and no
place in the out-of-order window until the data comes, so it keeps working in loops
whose own loads miss the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

PREFETCH = 12
"""How many references ahead the kernels prefetch (tuned on 1 M-page traces)."""


def _hint(context: Any, builder: Any, aty: Any, array: Any, index: Any) -> None:
    """Emit llvm.prefetch(&array[index], read, highest locality, data cache): for a 2-d
    array, the start of row index."""
    from llvmlite import ir

    arr = context.make_array(aty)(context, builder, array)
    at = [index] if aty.ndim == 1 else [index, ir.Constant(index.type, 0)]
    ptr = cgutils.get_item_pointer(
        context, builder, aty, arr, at, wraparound=False, boundscheck=False
    )
    bytes_ptr = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    fnty = ir.FunctionType(ir.VoidType(), [bytes_ptr, i32, i32, i32])
    fn = builder.module.declare_intrinsic("llvm.prefetch", [bytes_ptr], fnty)
    hint = [ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)]
    builder.call(fn, [builder.bitcast(ptr, bytes_ptr), *hint])


def _vector(ty: Any) -> bool:
    """Whether ty is a 1-d array type."""
    return isinstance(ty, types.Array) and ty.ndim == 1


def _rows(ty: Any) -> bool:
    """Whether ty is a 1-d array or a C-ordered 2-d one (a prefetch takes a row's start)."""
    return _vector(ty) or (isinstance(ty, types.Array) and ty.ndim == 2 and ty.layout == "C")


def _prefetch(typingctx: Any, array: Any, index: Any) -> Any:
    """Typing of prefetch(array, index): a 1-d array (or a C-ordered 2-d one: row index)
    and an integer index, or no match."""
    if not _rows(array) or not isinstance(index, types.Integer):
        return None
    signature = types.void(array, index)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        """The hint for array[index]."""
        aty, ity = sig.args
        _hint(context, builder, aty, args[0], context.cast(builder, args[1], ity, types.intp))
        return context.get_dummy_value()

    return signature, codegen


prefetch = cast(Callable[[Any, Any], None], intrinsic(_prefetch))
"""prefetch(array, index) in a Numba function: hint that array[index] (of a 2-d array: the
row's start) is read soon."""


def _prefetch_ahead(typingctx: Any, ids: Any, t: Any, *arrays: Any) -> Any:
    """Typing of prefetch_ahead(ids, t, *arrays): 1-d integer ids, an integer position and
    1-d or C-ordered 2-d arrays (a page's row), or no match."""
    if not _vector(ids) or not isinstance(ids.dtype, types.Integer):
        return None
    if not isinstance(t, types.Integer) or not arrays or not all(_rows(a) for a in arrays):
        return None
    signature = types.void(ids, t, types.StarArgTuple.from_types(arrays))

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        """If t + PREFETCH < len(ids): the hint for each array at ids[t + PREFETCH].

        Emitted in place: an njit helper, even inlined, made LFU 2-3x slower. The test has
        no `likely` weight: with one, LLVM laid MRU's loop out 1.3-1.6x slower.
        """
        from llvmlite import ir

        ity, tty, atys = sig.args
        ids_arr = context.make_array(ity)(context, builder, args[0])
        at = context.cast(builder, args[1], tty, types.intp)
        at = builder.add(at, ir.Constant(at.type, PREFETCH))
        n = builder.extract_value(ids_arr.shape, 0)
        with builder.if_then(builder.icmp_signed("<", at, n)):
            ptr = cgutils.get_item_pointer(
                context, builder, ity, ids_arr, [at], wraparound=False, boundscheck=False
            )
            index = context.cast(builder, builder.load(ptr), ity.dtype, types.intp)
            for k, ty in enumerate(atys.types):
                _hint(context, builder, ty, builder.extract_value(args[2], k), index)
        return context.get_dummy_value()

    return signature, codegen


prefetch_ahead = cast(Callable[..., None], intrinsic(_prefetch_ahead))
"""prefetch_ahead(ids, t, a, b, ...) in a Numba function: hint that a[ids[t + PREFETCH]],
b[ids[t + PREFETCH]], ... are read soon (nothing past the end of ids)."""
