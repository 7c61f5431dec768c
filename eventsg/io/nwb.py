"""Spikes of a run as an NWB file (Neurodata Without Borders, via pynwb).

One row of the Units table per neuron of the exported gamma populations,
silent neurons included, in population order then neuron id::

    spike_times        ragged, SECONDS (eventsg times in ms / 1000), sorted per neuron
    spike_amplitudes   ragged, signed sigma-delta amplitude of each spike
    obs_intervals      [[0, t_reached / 1000]] s: the time the neuron was simulated
    population         name of the gamma population
    neuron_id          index of the neuron in its population
    id                 row number 0 ... N - 1

Needs pynwb (``pip install eventsg[nwb]``).
"""
import datetime
import hashlib
import warnings

import numpy as np

from ..errors import SpecError
from .atomic import atomic_path

SESSION_START = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _pynwb():
    try:
        import pynwb
    except ImportError as exc:
        raise ImportError("export_nwb needs pynwb: pip install eventsg[nwb]") from exc
    return pynwb


def _columns(result, names):
    """Per-neuron rows: (population, neuron id, spike counts, times ms, amplitudes)."""
    pops, ids, counts, times, amps = [], [], [], [], []
    for name in names:
        s = result.spikes(name)
        n = result.size(name)
        order = np.lexsort((s.t, s.i))
        pops += [name] * n
        ids.append(np.arange(n, dtype=np.int64))
        counts.append(np.bincount(s.i, minlength=n))
        times.append(s.t[order])
        amps.append(s.a[order])
    cat = (lambda xs, dtype: np.concatenate(xs).astype(dtype) if xs else np.empty(0, dtype))
    return (pops, cat(ids, np.int64), cat(counts, np.int64), cat(times, np.float64),
            cat(amps, np.float64))


def _identifier(names, ids, counts, times, amps, duration):
    h = hashlib.sha256()
    h.update("\0".join(names).encode("utf-8"))
    for arr in (ids, counts, times, amps, np.array([duration], dtype=np.float64)):
        h.update(np.ascontiguousarray(arr).tobytes())
    return f"eventsg-{h.hexdigest()[:32]}"


def export_nwb(path, result, populations=None, session_description="eventsg simulation",
               identifier=None, session_start_time=None):
    """Write the spikes of ``result`` (a SimulationResult) to an NWB file, atomically.

    populations: names of gamma populations (default: all). identifier: default
    derived from the spikes (same run, same identifier). session_start_time: a
    timezone-aware datetime; default 1970-01-01 00:00 UTC (a simulation has no
    wall-clock start; spike times are relative to t = 0 of the run). The file
    replaces ``path`` only once complete. Returns the path.
    """
    pynwb = _pynwb()
    from hdmf.common import VectorData, VectorIndex
    from pynwb.misc import Units

    names = result.populations if populations is None else list(populations)
    for name in names:
        if name not in result.populations:
            raise SpecError(f"export_nwb: populations = {names!r} is not allowed; populations "
                            f"must be gamma populations of the result "
                            f"({', '.join(result.populations)})")
    if not names:
        raise SpecError(f"export_nwb: populations = {names!r} is not allowed; populations must "
                        f"name at least one gamma population")
    if len(set(names)) != len(names):
        raise SpecError(f"export_nwb: populations = {names!r} is not allowed; populations must "
                        f"not repeat a name")
    if session_start_time is None:
        session_start_time = SESSION_START
    if (not isinstance(session_start_time, datetime.datetime)
            or session_start_time.utcoffset() is None):
        raise SpecError(f"export_nwb: session_start_time = {session_start_time!r} is not "
                        f"allowed; session_start_time must be a timezone-aware datetime")
    pops, ids, counts, t_ms, amps = _columns(result, names)
    if identifier is None:
        identifier = _identifier(names, ids, counts, t_ms, amps, result.duration)
    ends = np.cumsum(counts).astype(np.int64)
    n = ids.size
    t_end = result.t_reached / 1000.0

    times = VectorData(name="spike_times", data=t_ms / 1000.0,
                       description="spike times of each neuron, s (eventsg ms / 1000)")
    amplitudes = VectorData(name="spike_amplitudes", data=amps,
                            description="signed sigma-delta amplitude of each spike")
    intervals = VectorData(name="obs_intervals", data=np.tile([0.0, t_end], (n, 1)),
                           description="time simulated, s: [0, end of the run]")
    columns = [
        times, VectorIndex(name="spike_times_index", data=ends, target=times),
        amplitudes, VectorIndex(name="spike_amplitudes_index", data=ends.copy(),
                                target=amplitudes),
        intervals, VectorIndex(name="obs_intervals_index", data=np.arange(1, n + 1),
                               target=intervals),
        VectorData(name="population", data=pops, description="eventsg gamma population"),
        VectorData(name="neuron_id", data=ids, description="index of the neuron in its "
                                                           "population"),
    ]
    units = Units(name="units", id=np.arange(n), columns=columns,
                  description="SpikingGamma neurons simulated by eventsg (one row per neuron)")
    nwbfile = pynwb.NWBFile(
        session_description=session_description, identifier=identifier,
        session_start_time=session_start_time,
        notes=(f"eventsg run: engine {result.stats.engine}, duration {result.duration} ms, "
               f"status {result.status}, populations {', '.join(names)}"))
    nwbfile.units = units
    with atomic_path(path) as tmp:
        with warnings.catch_warnings():      # the temporary name does not end in .nwb
            warnings.filterwarnings("ignore", message=".*does not end in '.nwb'")
            with pynwb.NWBHDF5IO(str(tmp), "w") as io:
                io.write(nwbfile)
    return path
