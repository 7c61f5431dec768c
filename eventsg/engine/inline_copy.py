"""Numba's inliner, made to copy a callee's IR in one pass instead of once per block.

Before it splices a callee marked ``inline="always"`` into its caller, Numba
(``numba.core.inline_closurecall``, ``InlineWorker.inline_ir``) copies the callee's
IR with ``copy.deepcopy``, one block at a time. Each block refers to the callee's
scope, the list of all its variables, so each block's copy copies the whole scope
again: a callee of B blocks and V variables costs about B x V per call site, where
the blocks of the original share one scope (numba/numba#8989 on these copies).
The engine inlines large helpers at many sites of its loops (jit.inline_kernel);
in a profile of the first compile of the learning loops, these copies took 63 %
of the time.

``install`` hands the inliner a ``copy`` module of its own whose ``deepcopy`` copies
consecutive blocks of one scope with one memo, so they share one copy of the scope,
as the original blocks share theirs: B + V. A block that belongs to another scope,
or that the current memo has copied already (the same IR copied again), starts a new
memo, so two copies never share an object. Numba compiles under one global lock, so
one memo at a time serves every thread. Only that module's name for ``copy`` is
replaced; the ``copy`` module and the rest of Numba are untouched.

Effect: the same IR up to object identity, so the same machine code and results
(tests/test_inline_copy.py); the kernels' cold compile took about a third less
(docs/performance-log.md, "Compile time, again").
"""
import copy
import types

try:
    from numba.core import inline_closurecall as _inliner
    from numba.core import ir as _ir
except ImportError:           # a Numba without these internals: nothing to install
    _inliner = _ir = None


class _Memo:
    """The scope whose blocks are being copied, and the memo they share."""
    scope = None
    memo = None


def block_deepcopy(x, memo=None):
    """``copy.deepcopy``, but consecutive IR blocks of one scope, each copied on its
    own (no memo given), share one memo: the scope is copied once, not once per block."""
    if memo is None and _ir is not None and type(x) is _ir.Block:
        if x.scope is not _Memo.scope or id(x) in _Memo.memo:
            _Memo.scope, _Memo.memo = x.scope, {}
        return copy.deepcopy(x, _Memo.memo)
    return copy.deepcopy(x, memo)


def _copy_module():
    """A module like ``copy`` whose deepcopy is block_deepcopy."""
    module = types.ModuleType("copy", "copy, with block_deepcopy as deepcopy (eventsg)")
    module.__dict__.update({k: v for k, v in vars(copy).items() if not k.startswith("__")})
    module.deepcopy = block_deepcopy
    return module


_COPY = _copy_module()
"""The ``copy`` module that install hands the inliner."""


def installed():
    """Whether Numba's inliner copies with block_deepcopy."""
    return _inliner is not None and getattr(_inliner, "copy", None) is _COPY


def install():
    """Have Numba's inliner copy IR with block_deepcopy. Returns whether it does: False
    where this Numba's inliner has no module-level ``copy`` to replace."""
    if _inliner is not None and getattr(_inliner, "copy", None) is copy:
        _inliner.copy = _COPY
    return installed()


def uninstall():
    """Give Numba's inliner the ``copy`` module back (tests compare both)."""
    if installed():
        _inliner.copy = copy
    _Memo.scope = _Memo.memo = None
