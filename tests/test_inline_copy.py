"""Numba's inliner copying a callee's scope once per copy (eventsg/engine/inline_copy.py)."""
import copy
import math

import pytest
from numba import njit
from numba.core import inline_closurecall, ir
from numba.core.compiler import run_frontend

import eventsg.engine.jit  # noqa: F401  (installs the copy)
from eventsg.engine import inline_copy
from eventsg.engine.inline_copy import block_deepcopy


def _branchy(x, n):
    """Many blocks and variables: loops and branches."""
    acc = 0.0
    big = 0
    for i in range(n):
        if x > i:
            acc += x * i
        elif x < -i:
            acc -= i
        else:
            big += 1
        for j in range(i):
            if (i + j) % 3 == 0:
                acc += 0.5
            elif (i + j) % 3 == 1:
                acc -= 0.25
            else:
                big -= 1
    while acc > 100.0:
        acc *= 0.5
    if big > 10:
        return acc + big
    return math.sqrt(abs(acc)) - big


def _copied(blocks, deepcopy):
    """Each block copied on its own, as Numba's inliner copies a callee's IR."""
    return {label: deepcopy(block) for label, block in blocks.items()}


def _vars(blocks):
    return [v for b in blocks.values() for stmt in b.body for v in stmt.list_vars()]


def test_the_blocks_of_one_copy_share_one_new_scope():
    blocks = run_frontend(_branchy).blocks
    assert len(blocks) > 10
    assert len({id(b.scope) for b in blocks.values()}) == 1
    new = _copied(blocks, block_deepcopy)
    plain = _copied(blocks, copy.deepcopy)
    assert len({id(b.scope) for b in new.values()}) == 1
    assert new[0].scope is not blocks[0].scope
    # copy.deepcopy block by block gives every block a scope of its own
    assert len({id(b.scope) for b in plain.values()}) == len(blocks)
    for label, block in blocks.items():
        assert [str(s) for s in new[label].body] == [str(s) for s in block.body]
        assert [str(s) for s in plain[label].body] == [str(s) for s in block.body]
    assert set(new[0].scope.localvars._con) == set(blocks[0].scope.localvars._con)
    assert all(v.scope is new[0].scope for v in _vars(new))
    assert not {id(v) for v in _vars(new)} & {id(v) for v in _vars(blocks)}


def test_copying_again_shares_no_object_with_the_first_copy():
    blocks = run_frontend(_branchy).blocks
    first = _copied(blocks, block_deepcopy)
    second = _copied(blocks, block_deepcopy)       # the same IR again
    of_first = _copied(first, block_deepcopy)      # the copy, copied
    for a, b in ((first, second), (first, of_first), (second, of_first)):
        assert a[0].scope is not b[0].scope
        assert not {id(v) for v in _vars(a)} & {id(v) for v in _vars(b)}
        assert not {id(blk) for blk in a.values()} & {id(blk) for blk in b.values()}
    first[0].scope.redefine("only_in_first", loc=first[0].loc)
    assert "only_in_first" not in second[0].scope.localvars._con


def test_the_scope_is_copied_once_instead_of_once_per_block(monkeypatch):
    blocks = run_frontend(_branchy).blocks
    n_vars = len(blocks[0].scope.localvars._con)
    calls = []
    plain_var_copy = ir.Var.__deepcopy__

    def counted(self, memo):
        calls.append(1)
        return plain_var_copy(self, memo)

    monkeypatch.setattr(ir.Var, "__deepcopy__", counted)
    _copied(blocks, copy.deepcopy)
    per_block = len(calls)
    calls.clear()
    _copied(blocks, block_deepcopy)
    shared = len(calls)
    # Numba's way copies every variable of the scope with every block
    assert per_block >= len(blocks) * n_vars
    # one memo: each variable object once (the scope's and those of the statements)
    assert shared <= n_vars + len(_vars(blocks))
    assert shared * 4 < per_block


def test_installed_on_import_and_inlined_code_computes_the_same(monkeypatch):
    assert inline_copy.installed()
    assert inline_closurecall.copy is not copy
    assert inline_closurecall.copy.deepcopy is block_deepcopy
    assert inline_closurecall.copy.copy is copy.copy

    def outer(x, n):
        return helper(x, n) + 2.0 * helper(-x, n + 1)

    cases = [(x, n) for x in (-3.0, 0.5, 7.0) for n in (0, 4, 9)]
    inline_copy.uninstall()
    try:
        assert inline_closurecall.copy is copy          # Numba's own copy, block by block
        helper = njit(inline="always")(_branchy)
        per_block = [njit(outer)(x, n) for x, n in cases]
    finally:
        assert inline_copy.install()
    copies = []

    def counted(x, memo=None):
        copies.append(type(x))
        return block_deepcopy(x, memo)

    monkeypatch.setattr(inline_closurecall.copy, "deepcopy", counted)
    helper = njit(inline="always")(_branchy)
    one_pass = [njit(outer)(x, n) for x, n in cases]
    assert ir.Block in copies            # the inliner went through block_deepcopy
    helper = _branchy
    expected = [outer(x, n) for x, n in cases]
    assert one_pass == expected
    assert per_block == expected


def test_install_is_idempotent_and_uninstall_restores():
    assert inline_copy.install() is True
    module = inline_closurecall.copy
    assert inline_copy.install() is True
    assert inline_closurecall.copy is module
    inline_copy.uninstall()
    try:
        assert inline_closurecall.copy is copy
        assert not inline_copy.installed()
    finally:
        assert inline_copy.install() is True
    assert inline_copy.installed()


@pytest.mark.parametrize("value", [1, [1, [2]], {"a": (1, 2)}])
def test_other_objects_are_copied_as_by_copy_deepcopy(value):
    out = block_deepcopy(value)
    assert out == value
    if isinstance(value, (list, dict)):
        assert out is not value
