"""`prefetch(array, index)`: a cache hint for Numba kernels (LLVM's llvm.prefetch).

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


def _prefetch(typingctx: Any, array: Any, index: Any) -> Any:
    """Typing of prefetch(array, index): a 1-d array and an integer index, or no match."""
    if not isinstance(array, types.Array) or array.ndim != 1:
        return None
    if not isinstance(index, types.Integer):
        return None
    signature = types.void(array, index)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        """Emit llvm.prefetch(address, read, highest locality, data cache)."""
        from llvmlite import ir

        aty, ity = sig.args
        arr = context.make_array(aty)(context, builder, args[0])
        i = context.cast(builder, args[1], ity, types.intp)
        ptr = cgutils.get_item_pointer(
            context, builder, aty, arr, [i], wraparound=False, boundscheck=False
        )
        bytes_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [bytes_ptr, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [bytes_ptr], fnty)
        hint = [ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)]
        builder.call(fn, [builder.bitcast(ptr, bytes_ptr), *hint])
        return context.get_dummy_value()

    return signature, codegen


prefetch = cast(Callable[[Any, Any], None], intrinsic(_prefetch))
"""prefetch(array, index) in a Numba function: hint that array[index] is read soon."""
