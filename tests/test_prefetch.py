"""The prefetch hint compiles, changes nothing, and accepts only what it can address."""
import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from eventsg.engine.prefetch import prefetch_item, prefetch_row


@njit(cache=False)
def _rows_with_hints(table, rows, ahead):
    """Sum of table[rows[k], :] with a hint for rows[k + ahead] before each row is read."""
    total = np.zeros(table.shape[1])
    for k in range(rows.shape[0]):
        if k + ahead < rows.shape[0]:
            prefetch_row(table, rows[k + ahead])
        for j in range(table.shape[1]):
            total[j] += table[rows[k], j]
    return total


@pytest.mark.parametrize("dtype", [np.float64, np.uint8, np.int64])
def test_hint_changes_no_result(dtype):
    rng = np.random.default_rng(3)
    table = rng.integers(0, 100, size=(50_000, 8)).astype(dtype)
    rows = rng.integers(0, table.shape[0], size=20_000)
    before = table.copy()
    for ahead in (0, 1, 8):
        got = _rows_with_hints(table, rows, ahead)
        np.testing.assert_array_equal(got, table[rows].sum(axis=0, dtype=np.float64))
    np.testing.assert_array_equal(table, before)        # a hint writes nothing


@njit(cache=False)
def _hint(array, row):
    prefetch_row(array, row)


@pytest.mark.parametrize("array, row", [
    (np.zeros(4), 1),                       # not a table
    (np.zeros((4, 4)), 1.0),                # not a row number
    (np.zeros((4, 4))[:, ::2], 1),          # rows not contiguous
])
def test_rejects_what_is_not_a_row_of_a_c_table(array, row):
    with pytest.raises(TypingError):
        _hint(array, row)
    _hint(np.zeros((4, 4)), 1)


@njit(cache=False)
def _stream_with_hints(values, order, ahead):
    """Sum of values[order[k]] with a hint for values[order[k + ahead]] before each read."""
    total = 0.0
    for k in range(order.shape[0]):
        if k + ahead < order.shape[0]:
            prefetch_item(values, order[k + ahead])
        total += values[order[k]]
    return total


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64])
def test_item_hint_changes_no_result(dtype):
    rng = np.random.default_rng(4)
    values = rng.integers(0, 100, size=400_000).astype(dtype)
    order = rng.integers(0, values.size, size=50_000)
    before = values.copy()
    for ahead in (0, 1, 16):
        assert _stream_with_hints(values, order, ahead) == values[order].sum(dtype=np.float64)
    np.testing.assert_array_equal(values, before)


@njit(cache=False)
def _item_hint(array, index):
    prefetch_item(array, index)


@pytest.mark.parametrize("array, index", [
    (np.zeros((4, 4)), 1),                  # not a vector
    (np.zeros(4), 1.0),                     # not an index
    (np.zeros(8)[::2], 1),                  # items not contiguous
])
def test_item_hint_rejects_what_it_cannot_address(array, index):
    with pytest.raises(TypingError):
        _item_hint(array, index)
    _item_hint(np.zeros(4), 1)


def _prefetch_calls(dispatcher):
    """The llvm.prefetch calls in the compiled code of a dispatcher's one signature."""
    (ir,) = dispatcher.inspect_llvm().values()
    return [line for line in ir.splitlines() if "call" in line and "@llvm.prefetch" in line]


@pytest.mark.parametrize("hint, array, rw", [
    (_hint, np.zeros((4, 4)), 1),           # a row: read and written (PREFETCHW)
    (_item_hint, np.zeros(4), 0),           # an item: read only
])
def test_hint_is_one_prefetch_of_its_kind(hint, array, rw):
    """A hint compiles to one llvm.prefetch with rw, locality 3 (keep in every cache
    level) and the data cache: a hint dropped, or of the wrong kind, fails here."""
    compiled = njit(cache=False)(hint.py_func)
    compiled(array, 1)
    calls = _prefetch_calls(compiled)
    assert len(calls) == 1
    assert calls[0].rstrip().endswith(f"i32 {rw}, i32 3, i32 1)")
