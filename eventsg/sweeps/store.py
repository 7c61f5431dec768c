"""The sweep file: one HDF5 file with a group per run and a summary table, grown crash-safely.

Layout::

    /               attrs: format = "eventsg-sweep", format_version, eventsg_version,
                    created (UTC), config_sha1, grid_keys (JSON), seeded, populations (JSON)
    /config         the config's TOML text
    /runs/<run id>  attrs: run_id, status ("ok" or "failed"), params (JSON), seed, one
                    attribute per grid key, wall_s, worker, finished (UTC); "ok" runs also
                    sim_status, message, t_reached_ms; "failed" runs error_type, error,
                    traceback
        spikes/<population>  SONATA layout: timestamps (ms), node_ids, amplitudes
                             (emission order; sorting by_time when times never decrease)
        stats                attrs: the RunStats (counts; seconds)
        summary              table, one row per gamma population (PopulationSummary)
    /summary        table, one row per run (``columns``), also written as <file>.csv

Crash safety. Nothing is ever modified in place. Each arriving run is written to
its own small file ``<file>.parts/<run id>.h5`` (to a temporary name, fsynced,
then renamed). Every few seconds, and at the end, the parts are merged: the
main file is copied to a temporary file, the parts are added to the copy, the
copy is fsynced and renamed over the main file, and only then are the parts
deleted. A kill at any moment leaves the main file as it was after the last
merge (complete and readable) and every finished run either in it or in a
complete part; the next sweep merges leftover parts first, so it redoes no
finished run. Merging twice is harmless (a part replaces its run's group). A
lock file in the parts folder stops two sweeps writing the same file.

The cost is a copy of the main file per merge; merges are spaced to at least four
times the duration of the last one, so copying takes at most a fifth of the
writer's time however large the file grows (workers never wait for it).
"""
import contextlib
import csv
import dataclasses
import datetime
import hashlib
import json
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import SpecError
from ..io.atomic import atomic_path
from ..io.sonata import SpikeAppender, create_spike_root

FORMAT = "eventsg-sweep"
FORMAT_VERSION = 1
MEASURES = ("n", "spikes", "rate_hz", "silent_fraction", "spikes_per_input_event", "mean_cv",
            "n_cv", "up", "down", "floor", "rms_error", "max_error", "max_error_rel")
"""Per-population columns of the summary table, ``<population>.<measure>`` (PopulationSummary)."""
COUNTS = ("spikes", "events", "synaptic_events", "n", "n_cv", "up", "down", "floor")


def _h5py():
    import h5py
    return h5py


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def parts_dir(path):
    """The folder of runs not merged yet: ``<file>.parts`` beside the file."""
    path = Path(path)
    return path.with_name(path.name + ".parts")


def csv_path(path):
    """The summary table as CSV: the file's name with ``.csv``."""
    return Path(path).with_suffix(".csv")


# ---------------------------------------------------------------- the summary table

@dataclasses.dataclass(frozen=True)
class Columns:
    """The summary table's columns: name and kind ("str", "int" or "float")."""
    names: tuple
    kinds: tuple

    @classmethod
    def make(cls, runs, populations):
        """Columns for runs (grid.Run) of a config with these gamma populations."""
        cols = [("run_id", "str"), ("status", "str"), ("seed", "int")]
        if runs:
            for pos, (key, _) in enumerate(runs[0].params):
                cols.append((key, _kind([r.params[pos][1] for r in runs])))
        cols += [("spikes", "float"), ("events", "float"), ("synaptic_events", "float")]
        cols += [(f"{pop}.{m}", "float") for pop in populations for m in MEASURES]
        cols += [("wall_s", "float"), ("kernel_s", "float"), ("jit_s", "float"),
                 ("worker", "str"), ("error", "str")]
        names = [c for c, _ in cols]
        for name in names:
            if names.count(name) > 1:
                raise SpecError(f"sweep: the summary column {name!r} would appear twice; rename "
                                "the population or grid key that makes it")
        return cls(tuple(names), tuple(k for _, k in cols))

    def dtype(self):
        str_type = _h5py().string_dtype()
        types = {"str": str_type, "int": np.int64, "float": np.float64}
        return np.dtype([(n, types[k]) for n, k in zip(self.names, self.kinds)])

    def as_json(self):
        return json.dumps([list(self.names), list(self.kinds)])


def _kind(values):
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    return "str"


def _cell(value, kind):
    if kind == "str":
        return value if isinstance(value, str) else json.dumps(value)
    if value is None:
        return math.nan if kind == "float" else -1
    return float(value) if kind == "float" else int(value)


def make_row(columns, run, result, seed):
    """The summary row (a dict) of ``run`` from a task's answer ``result``."""
    row = {"run_id": run.run_id, "status": result["status"], "seed": seed,
           "wall_s": result.get("wall_s"), "worker": result.get("worker", ""),
           "error": "" if result["status"] == "ok"
           else f"{result['error_type']}: {result['error']}"}
    row.update(run.params)
    stats = result.get("stats") or {}
    row.update(spikes=stats.get("spikes"), events=stats.get("events"),
               synaptic_events=stats.get("synaptic_events"), kernel_s=stats.get("wall_s"),
               jit_s=stats.get("jit_s"))
    for pop, values in (result.get("summary") or {}).items():
        row.update({f"{pop}.{m}": values[m] for m in MEASURES})
    return {name: _cell(row.get(name), kind) for name, kind in zip(columns.names, columns.kinds)}


def _table(columns, rows):
    return np.array([tuple(r[n] for n in columns.names) for r in rows], dtype=columns.dtype())


def _rows(records, columns):
    """Rows (dicts) of a table read from the file (a structured array)."""
    out = []
    for rec in records:
        row = {}
        for name, kind, value in zip(columns.names, columns.kinds, rec):
            if kind == "str":
                row[name] = value.decode() if isinstance(value, bytes) else str(value)
            else:
                row[name] = value.item()
        out.append(row)
    return out


def read_summary(path):
    """The summary table of a sweep file: a list of dicts, one per run (columns as keys).

    Runs finished since the last merge are in ``<file>.parts`` until the sweep is
    resumed (which merges them first) or finishes.
    """
    with _open(path) as f:
        return _rows(f["summary"][()], _columns(f))


def read_run(path, run_id):
    """One run of a sweep file: {"attrs": {...}, "spikes": {population: (t ms, i, a)},
    "summary": {population: {measure: value}}}."""
    with _open(path) as f:
        if run_id not in f["runs"]:
            raise KeyError(f"{path}: no run {run_id!r} (it has {len(f['runs'])} runs)")
        g = f["runs"][run_id]
        out = {"attrs": {k: (v.item() if hasattr(v, "item") and np.ndim(v) == 0 else v)
                         for k, v in g.attrs.items()}, "spikes": {}, "summary": {}}
        for pop, s in g.get("spikes", {}).items():
            out["spikes"][pop] = (s["timestamps"][()], s["node_ids"][()].astype(np.int64),
                                  s["amplitudes"][()])
        if "summary" in g:
            for rec in g["summary"][()]:
                name = rec["population"]
                name = name.decode() if isinstance(name, bytes) else str(name)
                out["summary"][name] = {m: rec[m].item() for m in MEASURES}
        return out


def _open(path):
    f = _h5py().File(path, "r")
    if f.attrs.get("format") != FORMAT:
        found = f.attrs.get("format")
        f.close()
        raise SpecError(f"{path}: not an eventsg sweep file (root attribute format = {found!r}; "
                        f"expected {FORMAT!r})")
    return f


def _columns(f):
    names, kinds = json.loads(f.attrs["columns"])
    return Columns(tuple(names), tuple(kinds))


# ---------------------------------------------------------------- files

def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path):
    with contextlib.suppress(OSError):      # not possible on every platform
        _fsync(path)


def write_part(path, columns, run, result, seed):
    """Write one run's answer as ``<file>.parts/<run id>.h5`` (atomically); returns its row."""
    h5py = _h5py()
    row = make_row(columns, run, result, seed)
    folder = parts_dir(path)
    part = folder / f"{run.run_id}.h5"
    with atomic_path(part) as tmp:
        with h5py.File(tmp, "w") as f:
            _write_run(f.create_group("run"), run, result, seed)
            f.create_dataset("row", data=_table(columns, [row]))
        _fsync(tmp)
    _fsync_dir(folder)
    return row


def _write_run(g, run, result, seed):
    g.attrs["run_id"] = run.run_id
    g.attrs["status"] = result["status"]
    g.attrs["params"] = json.dumps(dict(run.params), sort_keys=True)
    g.attrs["seed"] = seed
    for key, value in run.params:
        try:
            g.attrs[key] = value
        except (TypeError, ValueError):
            g.attrs[key] = json.dumps(value)
    g.attrs["wall_s"] = float(result.get("wall_s", math.nan))
    g.attrs["worker"] = result.get("worker", "")
    g.attrs["finished"] = utc_now()
    if result["status"] != "ok":
        for key in ("error_type", "error", "traceback"):
            g.attrs[key] = result.get(key, "")
        return
    g.attrs["sim_status"] = result["sim_status"]
    g.attrs["message"] = result["message"]
    g.attrs["t_reached_ms"] = result["t_reached"]
    root = create_spike_root(g)
    for pop, (t, i, a) in result["spikes"].items():
        appender = SpikeAppender(root, pop, chunk=max(1, min(1 << 16, len(t))))
        appender.append(t, i, a)
        appender.finish("by_time" if appender.is_time_sorted else "none")
    stats = g.create_group("stats")
    for key, value in result["stats"].items():
        if value is not None:
            stats.attrs[key] = value
    fields = [("population", _h5py().string_dtype())] + [(m, np.float64) for m in MEASURES]
    table = np.array([(pop,) + tuple(float(v[m]) for m in MEASURES)
                      for pop, v in result["summary"].items()], dtype=fields)
    g.create_dataset("summary", data=table)


class SweepStore:
    """The sweep file of one sweep, open for writing (see the module docstring).

    ``SweepStore.open(...)`` creates the file or checks that it belongs to this
    sweep, takes the lock and merges leftover parts; ``add`` writes an arriving
    run; ``close`` merges what is left and removes the parts folder.
    """

    def __init__(self, path, columns, merge_s):
        self.path = Path(path)
        self.columns = columns
        self.merge_s = float(merge_s)
        self.rows = {}            # run id -> row, in table order
        self.pending = 0          # parts written since the last merge
        self.merge_seconds = []   # duration of each merge, s
        self._last_merge = time.monotonic()
        self._lock = None

    @classmethod
    def open(cls, path, text, runs, populations, merge_s=5.0):
        path = Path(path)
        columns = Columns.make(runs, populations)
        store = cls(path, columns, merge_s)
        store._take_lock()
        try:
            meta = {"config_sha1": hashlib.sha1(text.encode()).hexdigest(),
                    "grid_keys": json.dumps([k for k, _ in runs[0].params] if runs else []),
                    "seeded": runs[0].seed is not None if runs else False,
                    "populations": json.dumps(list(populations))}
            if path.exists():
                store._check(meta)
                store.check_values(runs)
            else:                   # a new sweep: parts left by a deleted file are stale
                for stale in parts_dir(path).glob("*.h5"):
                    stale.unlink()
                store._create(text, meta)
            with _open(path) as f:
                store.rows = {r["run_id"]: r for r in _rows(f["summary"][()], store.columns)}
            store.merge()
        except BaseException:
            store._release_lock()
            raise
        return store

    def status(self, run_id):
        """"ok", "failed" or None (not in the file)."""
        row = self.rows.get(run_id)
        return None if row is None else row["status"]

    def add(self, run, result, seed):
        """Write an arriving run (its own part file); merge if it is time."""
        self.rows[run.run_id] = write_part(self.path, self.columns, run, result, seed)
        self.pending += 1
        last = self.merge_seconds[-1] if self.merge_seconds else 0.0
        if time.monotonic() - self._last_merge >= max(self.merge_s, 4.0 * last):
            self.merge()

    def close(self):
        """Merge the remaining parts, remove the parts folder, release the lock."""
        try:
            self.merge()
        finally:
            self._release_lock()
            with contextlib.suppress(OSError):
                parts_dir(self.path).rmdir()

    # -- internals

    def _take_lock(self):
        folder = parts_dir(self.path)
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = open(folder / "lock", "w")
        try:
            import fcntl
        except ImportError:         # no advisory locks here: the caller must not run two
            return
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            self._lock = None
            raise SpecError(f"sweep: output = {str(self.path)!r} is being written by another "
                            "sweep (its lock is held); wait for it or choose another output") \
                from None
        for stale in list(folder.glob("*.tmp")) + list(
                self.path.parent.glob(f".{self.path.name}.*.tmp")):
            stale.unlink(missing_ok=True)       # temporary files of a killed sweep

    def _release_lock(self):
        if self._lock is not None:
            with contextlib.suppress(OSError):
                (parts_dir(self.path) / "lock").unlink()
            self._lock.close()
            self._lock = None

    def _create(self, text, meta):
        h5py = _h5py()
        with atomic_path(self.path) as tmp:
            with h5py.File(tmp, "w") as f:
                f.attrs["format"] = FORMAT
                f.attrs["format_version"] = FORMAT_VERSION
                f.attrs["eventsg_version"] = __version__
                f.attrs["created"] = utc_now()
                f.attrs["columns"] = self.columns.as_json()
                for key, value in meta.items():
                    f.attrs[key] = value
                f.create_dataset("config", data=text, dtype=h5py.string_dtype()).attrs[
                    "format"] = "toml"
                f.create_group("runs")
                f.create_dataset("summary", shape=(0,), maxshape=(None,), chunks=(256,),
                                 dtype=self.columns.dtype())
            _fsync(tmp)
        _fsync_dir(self.path.parent)

    def _check(self, meta):
        what = {"config_sha1": "config text", "grid_keys": "grid keys", "seeded": "use of seeds",
                "populations": "populations"}
        try:
            f = _open(self.path)
        except OSError as err:
            raise SpecError(f"sweep: output = {str(self.path)!r} exists and is not a readable "
                            f"HDF5 file ({err}); choose another output") from None
        with f:
            for key, value in meta.items():
                found = f.attrs[key]
                found = found.item() if hasattr(found, "item") else found
                if found != value:
                    raise SpecError(
                        f"sweep: output = {str(self.path)!r} holds a sweep with another "
                        f"{what[key]} ({found!r}; this sweep: {value!r}); resume only the same "
                        "sweep (more grid values are fine), or choose another output")
            if _columns(f).names != self.columns.names:
                raise SpecError(f"sweep: output = {str(self.path)!r} has other summary columns; "
                                "choose another output")
            self.columns = _columns(f)

    def check_values(self, runs):
        """SpecError if a grid value does not fit its column in the file (an int column
        made by an earlier sweep and a fractional value now)."""
        for run in runs:
            for key, value in run.params:
                kind = self.columns.kinds[self.columns.names.index(key)]
                fits = {"int": isinstance(value, int) and not isinstance(value, bool),
                        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
                        "str": True}[kind]
                if not fits:
                    raise SpecError(f"sweep: grid[{key!r}] value {value!r} is not allowed in "
                                    f"{str(self.path)!r}; its {key} column holds {kind} values "
                                    "(from the sweep that made it); choose another output")

    def merge(self):
        """Add every part to the main file (copy, add, fsync, rename), then delete the parts."""
        parts = sorted(parts_dir(self.path).glob("*.h5"))
        if not parts:
            return
        h5py = _h5py()
        t0 = time.perf_counter()
        merged = []
        with atomic_path(self.path) as tmp:
            shutil.copyfile(self.path, tmp)
            with h5py.File(tmp, "r+") as f:
                runs, table = f["runs"], f["summary"]
                index = {r: k for k, r in enumerate(self.rows_in_file(f))}
                for part in parts:
                    try:
                        p = h5py.File(part, "r")
                    except OSError:             # damaged outside our control: redo that run
                        part.unlink(missing_ok=True)
                        continue
                    with p:
                        rid = part.stem
                        if rid in runs:
                            del runs[rid]
                        p.copy(p["run"], runs, name=rid)
                        row = p["row"][()]
                    k = index.setdefault(rid, len(index))
                    if k >= table.shape[0]:
                        table.resize((k + 1,))
                    table[k] = row[0]
                    self.rows[rid] = _rows(row, self.columns)[0]
                    merged.append(part)
            _fsync(tmp)
        _fsync_dir(self.path.parent)
        self.rows = self._ordered(index)
        self._write_csv()
        for part in merged:
            part.unlink(missing_ok=True)
        self.pending = 0
        self.merge_seconds.append(time.perf_counter() - t0)
        self._last_merge = time.monotonic()

    @staticmethod
    def rows_in_file(f):
        return [(v.decode() if isinstance(v, bytes) else str(v)) for v in f["summary"]["run_id"]] \
            if f["summary"].shape[0] else []

    def _ordered(self, index):
        order = sorted(index, key=index.get)
        return {rid: self.rows[rid] for rid in order if rid in self.rows}

    def _write_csv(self):
        target = csv_path(self.path)
        with atomic_path(target) as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(self.columns.names)
                for row in self.rows.values():
                    writer.writerow([_csv_cell(name, row[name]) for name in self.columns.names])


def _csv_cell(name, value):
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and name.rsplit(".", 1)[-1] in COUNTS:
            return str(int(value))
        return repr(value)
    return value
