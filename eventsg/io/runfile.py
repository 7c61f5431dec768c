"""Run files: one HDF5 file with everything a run produced and everything needed to redo it.

Layout::

    /                       attrs: format = "eventsg-run", format_version, eventsg_version,
                            seed (the network's), created (UTC, ISO 8601)
    /spikes/<population>    SONATA spike report: timestamps (ms), node_ids, amplitudes
    /states/<population>    times (S,) ms; x, y, r, theta (S, n); z (S, n, K)
    /stats                  attrs: the run's RunStats (counts, seconds)
    /run                    attrs: status ("ok", "runaway", "nonfinite"), message,
                            t_reached_ms, duration_ms, engine, dt_ms, options (JSON);
                            datasets: sample_times; layout (population table)
    /network                the full network description (see ``netfile``)
    /config                 the TOML text the run came from (when there was one)

``run_to_file`` streams spikes into the file during the run (memory does not grow
with the number of spikes) and writes it atomically: the file appears under its
name only when complete. A run stopped by its runaway guard still writes its file,
with ``/run`` status "runaway" and the message; Ctrl-C or a crash leaves the
previous file untouched.
"""
import dataclasses
import datetime
import json
from collections.abc import Mapping

import numpy as np

from .. import __version__
from ..compile.compiler import Layout
from ..errors import SimulationError, SpecError
from ..results import RunStats, SimulationResult, State
from ..simulate import simulate
from .atomic import atomic_path
from .netfile import as_text, read_network, write_network
from .sonata import (SpikeAppender, check_sorting, count_spikes, create_spike_root,
                     read_spikes, write_spike_groups)

FORMAT = "eventsg-run"
FORMAT_VERSION = 1
JSON_OPTIONS = ("record", "max_spikes", "max_events", "max_search_steps", "chunks",
                "spike_buffer", "threads", "ahead")


def _h5py():
    import h5py
    return h5py


class SpikeStream:
    """A spike sink for ``simulate``: appends each chunk of spikes to the file's groups."""

    def __init__(self, h5file, compression=None):
        self._file = h5file
        self._compression = compression
        self.groups = {}

    def begin(self, layout):
        root = create_spike_root(self._file)
        self._starts, self._names = [], []
        for name, kind, off in zip(layout.names, layout.kinds, layout.offsets):
            if kind == "gamma":
                self.groups[name] = SpikeAppender(root, name, self._compression)
                self._starts.append(off)
                self._names.append(name)
        self._starts = np.array(self._starts, dtype=np.int64)

    def write(self, t, neuron, amplitude):
        """Append spikes given with global neuron ids (emission order)."""
        which = np.searchsorted(self._starts, neuron, side="right") - 1
        for k, name in enumerate(self._names):
            mine = which == k
            if np.any(mine):
                self.groups[name].append(t[mine], neuron[mine] - self._starts[k], amplitude[mine])

    def finish(self):
        for group in self.groups.values():
            group.finish("by_time" if group.is_time_sorted else "none")


class FileSpikes(Mapping):
    """Spikes of each gamma population, read from a run file when asked for (not cached)."""

    def __init__(self, path, names):
        self.path = path
        self._names = list(names)

    def __getitem__(self, name):
        if name not in self._names:
            raise KeyError(name)
        return read_spikes(self.path, name)

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def count(self, name):
        return count_spikes(self.path, name)


def run_to_file(net, path, duration, *, config=None, compression=None, **options):
    """Run ``net`` for ``duration`` ms, streaming spikes to the run file ``path``.

    options: those of ``eventsg.simulate`` (sample_times, record, engine, dt, ...).
    config: the TOML text the network came from, stored in ``/config``.
    Returns the SimulationResult; its spikes are read from the file when asked for.
    Raises what ``simulate`` raises; a runaway or non-finite run still writes its
    file (status in ``/run``) and the error's ``result`` reads from it.
    """
    if "spike_sink" in options:
        raise SpecError("run_to_file: spike_sink is not allowed; the run file is the sink")
    with atomic_path(path) as tmp:
        with _h5py().File(tmp, "w") as f:
            stream = SpikeStream(f, compression)
            error = None
            try:
                result = simulate(net, duration, spike_sink=stream, **options)
            except SimulationError as exc:
                if exc.result is None:
                    raise
                result, error = exc.result, exc
            stream.finish()
            _write_everything_else(f, result, net, config, duration, options)
    result = _with_file_spikes(result, path)
    if error is not None:
        error.result = result
        raise error
    return result


def save_run(path, result, network, *, config=None, run_options=None, sorting="by_time",
             compression=None):
    """Write an in-memory ``result`` of ``network`` as a run file (atomically).

    run_options: the options the run was made with (``duration`` is taken from the
    result), so that ``load_run`` can redo it.
    """
    check_sorting(sorting, "save_run")
    options = dict(run_options or {})
    with atomic_path(path) as tmp:
        with _h5py().File(tmp, "w") as f:
            write_spike_groups(f, result, result.populations, sorting, compression)
            _write_everything_else(f, result, network, config, result.duration, options)
    return path


def _write_everything_else(f, result, net, config, duration, options):
    f.attrs["format"] = FORMAT
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["eventsg_version"] = __version__
    f.attrs["seed"] = net.seed
    f.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    _write_states(f.create_group("states"), result)
    stats = f.create_group("stats")
    for key, value in dataclasses.asdict(result.stats).items():
        if value is not None and value != ():
            stats.attrs[key] = value
    run = f.create_group("run")
    run.attrs["status"] = result.status
    run.attrs["message"] = result.message
    run.attrs["t_reached_ms"] = result.t_reached
    run.attrs["duration_ms"] = float(duration)
    run.attrs["engine"] = options.get("engine", "event")
    if options.get("dt") is not None:
        run.attrs["dt_ms"] = float(options["dt"])
    run.attrs["options"] = json.dumps(_json_options(options), sort_keys=True)
    if options.get("sample_times") is not None:
        run.create_dataset("sample_times", data=np.asarray(options["sample_times"], np.float64))
    _write_layout(run, result._layout)
    write_network(f.create_group("network"), net)
    if config is not None:
        text = getattr(config, "text", config)
        dataset = f.create_dataset("config", data=text, dtype=_h5py().string_dtype())
        dataset.attrs["format"] = "toml"
        source = getattr(config, "source_path", None)
        if source is not None:
            dataset.attrs["source"] = str(source)


def _json_options(options):
    out = {}
    for key in JSON_OPTIONS:
        if options.get(key) is None:
            continue
        value = options[key]
        if key == "record":
            value = [getattr(p, "name", p) for p in (value if isinstance(value, (list, tuple))
                                                     else [value])]
        out[key] = value
    return out


def _write_states(group, result):
    for name in result.populations:
        try:
            state = result.state(name)
        except KeyError:
            continue
        g = group.create_group(name)
        g.create_dataset("times", data=state.t).attrs["units"] = "ms"
        for key in ("x", "y", "r", "theta", "z"):
            values = getattr(state, key)
            chunks = (min(max(values.shape[0], 1), 1024),) + values.shape[1:] if values.size else None
            g.create_dataset(key, data=values, chunks=chunks)


def _write_layout(group, layout):
    table = np.array(list(zip(layout.names, layout.kinds, layout.sizes, layout.offsets, layout.K)),
                     dtype=[("name", _h5py().string_dtype()), ("kind", _h5py().string_dtype()),
                            ("size", np.int64), ("offset", np.int64), ("K", np.int64)])
    dataset = group.create_dataset("layout", data=table)
    dataset.attrs["n_channels"] = layout.n_channels
    dataset.attrs["n_neurons"] = layout.n_neurons
    dataset.attrs["max_out"] = layout.max_out


def _read_layout(group):
    dataset = group["layout"]
    rows = dataset[()]
    text = [(as_text(r["name"]), as_text(r["kind"])) for r in rows]
    return Layout(names=tuple(n for n, _ in text), kinds=tuple(k for _, k in text),
                  sizes=tuple(int(r["size"]) for r in rows),
                  offsets=tuple(int(r["offset"]) for r in rows),
                  K=tuple(int(r["K"]) for r in rows),
                  n_channels=int(dataset.attrs["n_channels"]),
                  n_neurons=int(dataset.attrs["n_neurons"]),
                  max_out=int(dataset.attrs["max_out"]))


def _with_file_spikes(result, path):
    spikes = FileSpikes(path, result.populations)
    return SimulationResult(result._layout, spikes, result._states, result.stats, result.status,
                            result.message, result.t_reached)


def _open_run(path):
    f = _h5py().File(path, "r")
    found = f.attrs.get("format")
    if found != FORMAT:
        f.close()
        raise SpecError(f"{path}: not an eventsg run file (root attribute format = "
                        f"{found!r}; expected {FORMAT!r}). "
                        "For a plain SONATA spike file use eventsg.io.read_spikes")
    return f


def load_network(path):
    """The Network stored in a run file (same populations, parameters, weights, delays, seed)."""
    with _open_run(path) as f:
        return read_network(f["network"])


def load_run(path):
    """(network, duration, options): everything needed to redo the run of a file.

    ``network.run(duration, **options)`` reproduces it bit for bit (same version
    and machine).
    """
    with _open_run(path) as f:
        net = read_network(f["network"])
        run = f["run"]
        options = json.loads(run.attrs["options"])
        options["engine"] = str(run.attrs["engine"])
        options["dt"] = float(run.attrs["dt_ms"]) if "dt_ms" in run.attrs else None
        if "sample_times" in run:
            options["sample_times"] = run["sample_times"][()]
        return net, float(run.attrs["duration_ms"]), options


def load_config_text(path):
    """The TOML text stored with a run, or None."""
    with _open_run(path) as f:
        if "config" not in f:
            return None
        value = f["config"][()]
        return as_text(value)


def _attr_value(value):
    """A stats attribute as RunStats holds it: a number or text, or a tuple of floats
    (thread_busy, thread_wait)."""
    if getattr(value, "ndim", 0) == 1:
        return tuple(float(x) for x in value)
    return value.item() if hasattr(value, "item") else value


def load_result(path):
    """A SimulationResult read from a run file: states and stats now, spikes when asked for."""
    with _open_run(path) as f:
        layout = _read_layout(f["run"])
        run = f["run"]
        fields = {fd.name for fd in dataclasses.fields(RunStats)}
        stats = {k: _attr_value(v) for k, v in f["stats"].attrs.items() if k in fields}
        stats.setdefault("dt_ms", None)
        stats = RunStats(**{k: (str(v) if isinstance(v, (str, bytes)) else v)
                            for k, v in stats.items()})
        states = {}
        for name in f["states"]:
            g = f["states"][name]
            arrays = {k: g[k][()] for k in ("x", "y", "r", "theta", "z")}
            for arr in arrays.values():
                arr.flags.writeable = False
            times = g["times"][()]
            times.flags.writeable = False
            states[name] = State(times, **arrays)
        gamma = [n for n, k in zip(layout.names, layout.kinds) if k == "gamma"]
        return SimulationResult(layout, FileSpikes(path, gamma), states, stats,
                                str(run.attrs["status"]), str(run.attrs["message"]),
                                float(run.attrs["t_reached_ms"]))


def describe_run(path):
    """A short text description of a run file (for ``eventsg info``)."""
    with _h5py().File(path, "r") as f:
        is_run = f.attrs.get("format") == FORMAT
    if not is_run:
        return _describe_spike_file(path)
    res = load_result(path)
    with _open_run(path) as f:
        version = f.attrs["eventsg_version"]
        created = f.attrs["created"]
        seed = int(f.attrs["seed"])
        has_config = "config" in f
    s = res.stats
    lines = [f"{path}: eventsg run file (eventsg {version}, created {created})",
             f"  status: {res.status}" + (f" -- {res.message}" if res.message else ""),
             f"  engine: {s.engine}" + (f", dt = {s.dt_ms} ms" if s.dt_ms else "")
             + f"; duration {s.duration_ms} ms (reached {res.t_reached} ms); network seed {seed}",
             f"  events: {s.events}, synaptic events: {s.synaptic_events}, "
             f"input events: {s.input_events}, kernel time {s.wall_s:.3f} s"]
    if s.thread_busy:
        lines.append("  " + s.thread_summary())
    lines += [f"  config stored: {'yes' if has_config else 'no'}", "  populations:"]
    for name, kind, n, K in zip(res._layout.names, res._layout.kinds, res._layout.sizes,
                                res._layout.K):
        if kind != "gamma":
            lines.append(f"    {name:>12}  source  n = {n}")
            continue
        count = res._spikes.count(name)
        rate = count / max(n, 1) / max(res.t_reached * 1e-3, 1e-300)
        state = res._states.get(name)
        recorded = f", state at {state.t.shape[0]} times" if state is not None else ""
        lines.append(f"    {name:>12}  gamma   n = {n}, K = {K}: {count} spikes "
                     f"({rate:.3g} /neuron/s){recorded}")
    return "\n".join(lines)


def _describe_spike_file(path):
    from .sonata import spike_populations
    lines = [f"{path}: SONATA spike file"]
    for name in spike_populations(path):
        lines.append(f"    {name:>12}: {count_spikes(path, name)} spikes")
    return "\n".join(lines)
