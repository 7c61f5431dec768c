"""Field checks used when model objects are made. Each error names the object,
the parameter, the offending value and what is allowed."""
import numbers

import numpy as np

from ..errors import SpecError


def _show(value, limit=60):
    text = np.array2string(np.asarray(value), threshold=6) if np.ndim(value) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def fail(owner, name, value, allowed):
    raise SpecError(f"{owner}: {name} = {_show(value)} is not allowed; {name} must be {allowed}")


def check_count(owner, name, value, low=1, high=None):
    """An integer >= low (and <= high)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fail(owner, name, value, "an integer")
    if value < low or (high is not None and value > high):
        fail(owner, name, value, f"an integer in [{low}, {high if high is not None else 'inf'}]")
    return int(value)


def check_scalar(owner, name, value, *, positive=False, nonnegative=False):
    """A finite real number, optionally > 0 or >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail(owner, name, value, "a real number")
    value = float(value)
    if not np.isfinite(value):
        fail(owner, name, value, "finite")
    if positive and value <= 0:
        fail(owner, name, value, "> 0")
    if nonnegative and value < 0:
        fail(owner, name, value, ">= 0")
    return value


def check_array(owner, name, value, shapes, *, positive=False, nonnegative=False, dtype=np.float64):
    """A finite array whose shape is one of ``shapes``; returns a read-only float copy.

    ``shapes``: allowed shapes, e.g. ``[(), (n,)]``; a scalar is broadcast to the last.
    """
    try:
        arr = np.array(value, dtype=dtype)
    except (TypeError, ValueError):
        fail(owner, name, value, f"numeric with shape in {shapes}")
    if arr.shape not in [tuple(s) for s in shapes]:
        fail(owner, name, f"array of shape {arr.shape}", f"of shape {' or '.join(map(str, shapes))}")
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0]
        fail(owner, name, bad, "finite everywhere (no NaN or inf)")
    if positive and np.any(arr <= 0):
        fail(owner, name, arr[arr <= 0].ravel()[0], "> 0 everywhere")
    if nonnegative and np.any(arr < 0):
        fail(owner, name, arr[arr < 0].ravel()[0], ">= 0 everywhere")
    arr = np.broadcast_to(arr, shapes[-1]).copy()
    arr.flags.writeable = False
    return arr


def check_name(owner, value):
    if value is not None and (not isinstance(value, str) or not value.isidentifier()):
        fail(owner, "name", value, "None or an identifier (letters, digits, _)")
    return value


def check_choice(owner, name, value, choices):
    if value not in choices:
        fail(owner, name, value, "one of " + ", ".join(map(repr, choices)))
    return value
