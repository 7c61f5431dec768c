"""The config schema: the keys each TOML table may hold, and the check of each value.

A check takes ``(value, path, base)`` (``path``: the key path used in errors, e.g.
``population[2].tau``; ``base``: the directory relative file names resolve
against) and returns a plain value (int, float, str, bool, pathlib.Path, or
tuples of these for arrays) or raises SpecError naming the key path::

    config error at population[2].tau: -1.0 is not allowed; must be > 0 (ms)
"""
import difflib
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import SpecError
from ..model.population import MAX_BUCKETS
from ..model.sources import CODINGS

ENGINES = ("event", "clock")


def show(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def reject(path, value, allowed):
    raise SpecError(f"config error at {path}: {show(value)} is not allowed; must be {allowed}")


def join(path, key):
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------- scalar checks

def _bounds(low, high, strict, unit):
    parts = []
    if low is not None:
        parts.append(f"> {low}" if strict else f">= {low}")
    if high is not None:
        parts.append(f"<= {high}")
    text = " and ".join(parts)
    return (f" {text}" if text else "") + (f" ({unit})" if unit else "")


def integer(low=0, high=None, unit=""):
    """An integer in [low, high]; floats with an integral value (1e8) are accepted."""
    def check(value, path, base=None):
        ok = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)
                                        and value.is_integer())
        if isinstance(value, bool) or not ok:
            reject(path, value, "an integer" + _bounds(low, high, False, unit))
        value = int(value)
        if (low is not None and value < low) or (high is not None and value > high):
            reject(path, value, "an integer" + _bounds(low, high, False, unit))
        return value
    return check


def real(low=None, strict=False, high=None, unit=""):
    """A finite number, >= low (> low if strict) and <= high."""
    def check(value, path, base=None):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            reject(path, value, "a number" + _bounds(low, high, strict, unit))
        value = float(value)
        if not math.isfinite(value):
            reject(path, value, "finite" + _bounds(low, high, strict, unit))
        if low is not None and (value <= low if strict else value < low):
            reject(path, value, _bounds(low, high, strict, unit).strip())
        if high is not None and value > high:
            reject(path, value, _bounds(low, high, strict, unit).strip())
        return value
    return check


def positive(unit=""):
    return real(0, strict=True, unit=unit)


def nonnegative(unit=""):
    return real(0, unit=unit)


def text(value, path, base=None):
    if not isinstance(value, str):
        reject(path, value, "a string")
    return value


def flag(value, path, base=None):
    if not isinstance(value, bool):
        reject(path, value, "true or false")
    return value


def identifier(value, path, base=None):
    if not isinstance(value, str) or not value.isidentifier():
        reject(path, value, "a name made of letters, digits and _ (not starting with a digit)")
    return value


def choice(*options):
    def check(value, path, base=None):
        if value not in options:
            reject(path, value, "one of " + ", ".join(map(repr, options)))
        return value
    return check


def file(*suffixes, exists=True):
    """A file name (relative to the config's directory) with one of ``suffixes``."""
    def check(value, path, base=None):
        if not isinstance(value, str) or not value:
            reject(path, value, "a file name (a string)")
        if suffixes and not value.lower().endswith(suffixes):
            reject(path, value, "a file name ending in " + ", ".join(suffixes))
        resolved = Path(value) if Path(value).is_absolute() else Path(base or ".") / value
        if exists and not resolved.is_file():
            raise SpecError(f"config error at {path}: file {value!r} does not exist "
                            f"(looked for {resolved}; relative names are relative to the config's "
                            "directory)")
        return resolved
    return check


# ---------------------------------------------------------------- arrays

def _depth(value):
    depth = 0
    while isinstance(value, list):
        depth += 1
        if not value:
            break
        value = value[0]
    return depth


def _nested(value, path, leaf, depth, base):
    if depth == 0:
        if isinstance(value, list):
            reject(path, value, "a number, not an array (arrays nested too deep or ragged)")
        return leaf(value, path, base)
    if not isinstance(value, list):
        reject(path, value, "an array (rows of equal length)")
    return tuple(_nested(v, f"{path}[{i}]", leaf, depth - 1, base) for i, v in enumerate(value))


def array(leaf, ndims=(1,), what="numbers"):
    """A value (0 in ndims), list (1) or list of equal-length lists (2) of ``leaf`` values."""
    shapes = {0: "a number", 1: f"an array of {what}", 2: f"a nested array (rows of {what})"}
    allowed = " or ".join(shapes[d] for d in ndims)

    def check(value, path, base=None):
        depth = _depth(value)
        if depth not in ndims:
            reject(path, value, allowed)
        out = _nested(value, path, leaf, depth, base)
        if depth == 2 and out:
            for i, row in enumerate(out):
                if len(row) != len(out[0]):
                    reject(f"{path}[{i}]", value[i], f"of length {len(out[0])} like row 0")
        return out
    return check


def sorted_times(unit="ms"):
    """A list of times >= 0, non-decreasing."""
    base_check = array(nonnegative(unit), (1,), "times in ms")

    def check(value, path, base=None):
        out = base_check(value, path, base)
        for i in range(1, len(out)):
            if out[i] < out[i - 1]:
                reject(f"{path}[{i}]", out[i], f">= the time before it, {out[i - 1]} "
                       f"(sorted in increasing order, {unit})")
        return out
    return check


def names(value, path, base=None):
    if not isinstance(value, list):
        reject(path, value, "an array of population names")
    return tuple(identifier(v, f"{path}[{i}]") for i, v in enumerate(value))


# ---------------------------------------------------------------- tables

@dataclass(frozen=True)
class Key:
    """One key of a table: its check and whether it must be given."""
    check: object
    required: bool = False


def check_table(value, path, schema, base=None, what=None):
    """{key: checked value} for the keys of the TOML table ``value`` (all in ``schema``)."""
    if not isinstance(value, dict):
        reject(path, value, "a table")
    where = f"in {what or path}" if path else "at the top level"
    for key in value:
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(f"config error: unknown key {join(path, key)}{hint}; allowed {where}: "
                            + ", ".join(schema))
    for key, spec in schema.items():
        if spec.required and key not in value:
            needed = ", ".join(k for k, s in schema.items() if s.required)
            if not path:
                raise SpecError(f"config error: required section {SECTION_HEADERS.get(key, key)} "
                                f"is missing (required {where}: {needed})")
            raise SpecError(f"config error at {join(path, key)}: required key is missing "
                            f"(required {where}: {needed})")
    return {key: schema[key].check(v, join(path, key), base) if schema[key].check else v
            for key, v in value.items()}


def table_array(value, path):
    """A TOML array of tables ([[path]])."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        reject(path, value, f"an array of tables, written [[{path}]]")
    return value


# ---------------------------------------------------------------- sections

SECTION_HEADERS = {"run": "[run]", "population": "[[population]]"}
TOP = {"network": Key(None), "run": Key(None, required=True), "output": Key(None),
       "population": Key(None, required=True), "projection": Key(None), "train": Key(None)}

NETWORK = {"seed": Key(integer(0))}


def sample_grid(value, path, base=None):
    """{start, stop, step} or {start, stop, num}: a grid of times in ms, stop included."""
    grid = check_table(value, path, SAMPLE_GRID, what="a sample grid")
    if ("step" in grid) == ("num" in grid):
        reject(path, value, "a table with step or num (not both)")
    if grid["stop"] < grid["start"]:
        reject(join(path, "stop"), grid["stop"], f">= start = {grid['start']} (ms)")
    return grid


SAMPLE_GRID = {"start": Key(nonnegative("ms"), True), "stop": Key(nonnegative("ms"), True),
               "step": Key(positive("ms")), "num": Key(integer(1))}


def sample_times(value, path, base=None):
    if isinstance(value, dict):
        return sample_grid(value, path, base)
    return sorted_times()(value, path, base)


RUN = {
    "duration": Key(positive("ms"), True),
    "engine": Key(choice(*ENGINES)),
    "dt": Key(positive("ms")),
    "sample_times": Key(sample_times),
    "record": Key(names),
    "max_spikes": Key(integer(1)),
    "max_events": Key(integer(1)),
    "max_search_steps": Key(integer(1)),
    "chunks": Key(integer(1)),
    "threads": Key(integer(1)),
    "ahead": Key(flag),
}

OUTPUT = {"path": Key(file(exists=False)), "states": Key(flag)}

LOSSES = ("ce", "mse")
OPTIMIZERS = ("adam", "sgd")
DATA_KINDS = ("randman", "temporal_pattern", "shd")


def window(value, path, base=None):
    """[t_a, t_b] ms with 0 <= t_a < t_b."""
    times = array(nonnegative("ms"))(value, path, base)
    if len(times) != 2 or not times[0] < times[1]:
        reject(path, value, "[t_a, t_b] with 0 <= t_a < t_b (ms)")
    return tuple(float(t) for t in times)


TRAIN = {
    "inputs": Key(identifier, True),
    "readout": Key(identifier, True),
    "data": Key(None, True),
    "loss": Key(choice(*LOSSES)),
    "optimizer": Key(choice(*OPTIMIZERS)),
    "lr": Key(positive()),
    "lr_decay": Key(positive()),
    "epochs": Key(integer(1)),
    "seed": Key(integer(0)),
    "window": Key(window),
    "checkpoint": Key(file(exists=False)),
    "curve": Key(file(exists=False)),
}

_REALS = array(real(), (0, 1))
_COMMON = {"type": Key(text, True), "name": Key(identifier, True)}

POPULATIONS = {
    "poisson": {
        "n": Key(integer(1), True),
        "rate": Key(array(nonnegative("Hz"), (0, 1)), True),
        "seed": Key(integer(0)),
        "coding": Key(choice(*CODINGS)),
        "t_start": Key(nonnegative("ms")),
        "t_stop": Key(nonnegative("ms")),
    },
    "spikes": {
        "n": Key(integer(1), True),
        "times": Key(array(nonnegative("ms"), (1,), "times in ms")),
        "ids": Key(array(integer(0), (1,), "channel indices")),
        "amplitudes": Key(_REALS),
        "file": Key(file(".csv", ".npy", ".npz")),
        "coding": Key(choice(*CODINGS)),
    },
    "signal": {
        "theta": Key(array(positive(), (0, 1)), True),
        "file": Key(file(".csv", ".npy", ".npz")),
        "t": Key(sorted_times()),
        "values": Key(array(real(), (1, 2))),
    },
    "shd": {
        "file": Key(file(".h5", ".hdf5"), True),
        "sample": Key(integer(0), True),
        "coding": Key(choice(*CODINGS)),
        "n_channels": Key(integer(1)),
        "t_offset": Key(nonnegative("ms")),
    },
    "gamma": {
        "n": Key(integer(1), True),
        "K": Key(integer(1, MAX_BUCKETS)),
        "tau": Key(array(positive("ms"), (0, 1, 2))),
        "theta": Key(array(positive(), (0, 1))),
        "v": Key(array(real(), (0, 1, 2))),
        "bias": Key(_REALS),
        "tau_h": Key(positive("ms")),
        "beta": Key(nonnegative()),
    },
}
for _type, _schema in POPULATIONS.items():
    POPULATIONS[_type] = {**_COMMON, **_schema}

# Exactly one of each group must be given (population type -> groups of keys).
ONE_OF = {"spikes": (("file", "times"),), "signal": (("file", "t"),)}
# Keys that need another key (type -> {key: keys it needs}).
NEEDS = {"spikes": {"times": ("ids",), "ids": ("times",), "amplitudes": ("times",)},
         "signal": {"t": ("values",), "values": ("t",)}}

PROJECTION = {
    "pre": Key(identifier, True),
    "post": Key(identifier, True),
    "weights": Key(None, True),
    "delay": Key(array(nonnegative("ms"), (0, 2))),
}

_SEED = Key(integer(0))
WEIGHTS = {
    "random_sparse": {"mean": Key(real(), True), "std": Key(nonnegative()),
                      "density": Key(real(0, strict=True, high=1)), "fan_out": Key(integer(1)),
                      "seed": _SEED},
    "dense_normal": {"mean": Key(real(), True), "std": Key(nonnegative()), "seed": _SEED},
    "uniform": {"low": Key(real(), True), "high": Key(real(), True),
                "density": Key(real(0, strict=True, high=1)), "seed": _SEED},
    "one_to_one": {"value": Key(real())},
    "all_to_all": {"value": Key(real(), True)},
    "file": {"file": Key(file(".npy", ".npz"), True)},
}
for _kind, _schema in WEIGHTS.items():
    WEIGHTS[_kind] = {"kind": Key(text, True), **_schema}

_MATRIX = array(real(), (2,), "weights")


def weights(value, path, base=None):
    """('explicit', {'values': rows}) for a nested list, else (kind, {key: value})."""
    if isinstance(value, list):
        return "explicit", {"values": _MATRIX(value, path, base)}
    if not isinstance(value, dict):
        reject(path, value, "a table {kind = ...} or a nested array [[w00, w01, ...], ...]; "
               "for one value everywhere use {kind = 'all_to_all', value = ...}")
    if "kind" not in value:
        raise SpecError(f"config error at {path}.kind: required key is missing (one of "
                        + ", ".join(map(repr, WEIGHTS)) + ")")
    kind = choice(*WEIGHTS)(value["kind"], f"{path}.kind")
    params = check_table(value, path, WEIGHTS[kind], base, what=f"weights of kind {kind!r}")
    del params["kind"]
    if kind == "random_sparse" and ("density" in params) == ("fan_out" in params):
        raise SpecError(f"config error at {path}: give density or fan_out (not both) for "
                        "kind 'random_sparse'")
    if kind == "uniform" and params["high"] < params["low"]:
        reject(f"{path}.high", params["high"], f">= low = {params['low']}")
    return kind, params
