"""TOML configs: a network and a run in one file.

``load_config(path_or_text)`` checks the whole file (unknown keys, types, values,
names, files) and returns a frozen ``Config``; ``config.build()`` makes the
``(Network, run_kwargs)`` pair and ``run_config(config)`` runs it. Times in ms,
rates in Hz. Relative file names are relative to the config file's directory.
Errors are SpecErrors naming the key path (``population[2].tau``; indices count
from 0 in the order of the file)::

    [network]
    seed = 1                      # int >= 0; seeds of Poisson sources and weights derive from it

    [run]                         # keyword arguments of Network.run
    duration = 200.0              # ms, required
    engine = "event"              # or "clock", then dt = 0.01 (ms) is required
    sample_times = {start = 0.0, stop = 200.0, step = 1.0}   # or num = 201; or a sorted list (ms)
    record = ["hidden"]           # gamma populations to sample (default: all); needs sample_times
    max_spikes = 1e8              # also max_events, max_search_steps, chunks, threads, ahead

    [output]                      # optional, used by the caller: path = "run.h5", states = true

    [[population]]                # one table per population; type and name are required
    type = "poisson"              # n, rate (Hz, scalar or per channel); seed, coding, t_start, t_stop
    type = "spikes"               # n, coding; times + ids (+ amplitudes) lists, or file =
                                  #   .csv (columns t, id[, amplitude]; a header line is skipped),
                                  #   .npy (the same columns), .npz (arrays times, ids[, amplitudes])
    type = "signal"               # theta; t + values lists, or file = .csv / .npy (column t, then
                                  #   one per channel) or .npz (arrays t, values)
    type = "shd"                  # file (.h5), sample; coding, n_channels, t_offset (ms)
    type = "gamma"                # n; K, tau (ms), theta, v, bias, tau_h (ms), beta

    [[projection]]
    pre = "input"                 # population names; post must be a gamma population
    post = "hidden"
    delay = 1.0                   # ms, >= 0 (or a nested list: one per synapse)
    weights = {kind = "random_sparse", density = 0.1, mean = 0.05, std = 0.01, seed = 3}
        # random_sparse: mean, std, density or fan_out, seed
        # dense_normal: mean, std, seed        uniform: low, high, density, seed
        # one_to_one: value (default 1)       all_to_all: value
        # file: file (.npy dense, .npz dense or scipy.sparse.save_npz)
        # or an explicit nested list [[w00, w01, ...], ...] of shape (n_pre, n_post)
    # A random kind without a seed gets one derived from the network seed and the
    # projection's index (connectivity.projection_seed).
"""
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import tomllib
except ImportError:                 # Python 3.10: the same parser as the package tomli
    import tomli as tomllib

from ..errors import SpecError
from ..model import GammaPopulation, Network, PoissonSource, SignalSource, SpikeSource
from . import config_schema as schema
from ..model.connectivity import RANDOM_KINDS, make_weights, projection_seed

# ---------------------------------------------------------------- the spec

@dataclass(frozen=True)
class SampleGrid:
    """Sample times start, start + step, ... up to stop (included), or ``num`` times, in ms."""
    start: float
    stop: float
    step: float = None
    num: int = None

    def times(self):
        if self.num is not None:
            return np.linspace(self.start, self.stop, self.num)
        n = int(np.floor((self.stop - self.start) / self.step + 1e-9)) + 1
        return np.minimum(self.start + self.step * np.arange(n), self.stop)


@dataclass(frozen=True)
class PopulationSpec:
    """A population as written: type, name and checked parameters (arrays as tuples, files as Paths)."""
    index: int
    type: str
    name: str
    params: tuple = ()          # ((key, value), ...) in the order of the file

    @property
    def kwargs(self):
        return dict(self.params)

    @property
    def path(self):
        return f"population[{self.index}]"


@dataclass(frozen=True)
class WeightsSpec:
    """A weight generator (a key of connectivity.GENERATORS, or "explicit") and its parameters.

    Random kinds always carry a seed here (derived when the file gives none).
    """
    kind: str
    params: tuple = ()

    @property
    def kwargs(self):
        return dict(self.params)


@dataclass(frozen=True)
class ProjectionSpec:
    index: int
    pre: str
    post: str
    weights: WeightsSpec
    delay: object = 0.0         # ms: a float, or rows of per-synapse delays

    @property
    def path(self):
        return f"projection[{self.index}]"


@dataclass(frozen=True)
class NetworkSpec:
    seed: int
    populations: tuple
    projections: tuple


@dataclass(frozen=True)
class RunSpec:
    """The [run] section: duration and engine (dt for "clock"), sampling, and options."""
    duration: float
    engine: str = "event"
    dt: float = None
    sample_times: object = None      # tuple of ms, SampleGrid, or None
    record: tuple = None
    options: tuple = ()              # ((key, value), ...): max_spikes, max_events, ...

    def kwargs(self):
        """Keyword arguments of Network.run (a new plain dict)."""
        kw = {"duration": self.duration, "engine": self.engine}
        if self.dt is not None:
            kw["dt"] = self.dt
        if isinstance(self.sample_times, SampleGrid):
            kw["sample_times"] = self.sample_times.times()
        elif self.sample_times is not None:
            kw["sample_times"] = np.array(self.sample_times, dtype=np.float64)
        if self.record is not None:
            kw["record"] = list(self.record)
        kw.update(self.options)
        return kw


@dataclass(frozen=True)
class OutputSpec:
    """The [output] section (used by the caller): an HDF5 path, and whether to write states."""
    path: Path = None
    states: bool = True


@dataclass(frozen=True)
class TrainSpec:
    """The [train] section: which source each sample replaces, the read-out, the loss and
    optimizer, the data (``data``: kind and the generator's or reader's arguments)."""
    inputs: str
    readout: str
    data_kind: str
    data: tuple                      # ((key, value), ...)
    loss: str = "ce"
    optimizer: str = "adam"
    lr: float = 1e-3
    lr_decay: float = 1.0            # factor per epoch
    epochs: int = 1
    seed: int = 0
    window: tuple = None
    checkpoint: Path = None
    curve: Path = None


@dataclass(frozen=True)
class Config:
    """A checked config. ``text`` is the TOML text verbatim; ``source_path`` None for text."""
    network: NetworkSpec
    run: RunSpec
    output: OutputSpec
    text: str = field(repr=False)
    source_path: Path = None
    train: TrainSpec = None

    def build(self):
        """(Network, run_kwargs): a new network and the keyword arguments of Network.run."""
        net = Network(seed=self.network.seed)
        pops = {spec.name: net.add(build_population(spec)) for spec in self.network.populations}
        for proj in self.network.projections:
            pre, post = pops[proj.pre], pops[proj.post]
            W = build_weights(proj, pre.n, post.n)
            delay = proj.delay if isinstance(proj.delay, float) else np.array(proj.delay)
            try:
                net.connect(pre, post, W, delay=delay)
            except SpecError as err:
                raise located(proj.path, err, ("weights", "delay")) from None
        return net, self.run.kwargs()


def run_config(config, output=None, progress=None):
    """Build and run ``config`` (a Config, a path or TOML text); returns the SimulationResult.

    output: a run file to stream the run to (``eventsg.io.run_to_file``, with the
    config's text stored in it); default: the config's ``[output] path``, if any,
    else nothing is written. progress: True / False / None as for Network.run.
    """
    if not isinstance(config, Config):
        config = load_config(config)
    net, kwargs = config.build()
    kwargs["progress"] = progress
    output = config.output.path if output is None else output
    if output is None:
        return net.run(**kwargs)
    if not config.output.states:
        kwargs.pop("sample_times", None)
        kwargs.pop("record", None)
    from .runfile import run_to_file
    duration = kwargs.pop("duration")
    return run_to_file(net, output, duration, config=config, **kwargs)


# ---------------------------------------------------------------- loading

def load_config(path_or_text):
    """A checked Config from a file (os.PathLike, or a str naming a file or ending in .toml)
    or from TOML text (any other str)."""
    if _is_path(path_or_text):
        path = Path(path_or_text).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise SpecError(f"config file {str(path_or_text)!r} could not be read: "
                            f"{err.strerror or err}") from None
        base, label = path.parent, path.name
    elif isinstance(path_or_text, str):
        path, text, base, label = None, path_or_text, Path.cwd(), "the config text"
    else:
        raise SpecError(f"load_config: path_or_text = {schema.show(path_or_text)} is not allowed; "
                        "it must be a path to a .toml file or TOML text (str)")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"config error: {label} is not valid TOML: {err}") from None
    try:
        return config_from_data(data, text, base, path)
    except SpecError as err:
        if path is None:
            raise
        raise SpecError(f"{label}: {err}") from None


def config_from_data(data, text="", base_dir=None, source_path=None):
    """A checked Config from parsed TOML ``data`` (a dict, e.g. edited by a sweep).

    text: the TOML text to keep with it; base_dir: where relative file names point
    (default: the current directory).
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    network, run, output = _parse(data, base)
    train = _parse_train(data["train"], network, base) if "train" in data else None
    return Config(network=network, run=run, output=output, text=text, source_path=source_path,
                  train=train)


def _parse_train(table, network, base):
    """The [train] section, checked against the network's populations."""
    spec = schema.check_table(table, "train", schema.TRAIN, base)
    kinds = {p.name: p.type for p in network.populations}
    if kinds.get(spec["inputs"]) != "spikes":
        schema.reject("train.inputs", spec["inputs"], "the name of a population of type 'spikes' "
                      "(its events are replaced by each sample's)")
    if kinds.get(spec["readout"]) != "gamma":
        schema.reject("train.readout", spec["readout"], "the name of a gamma population")
    data = spec.pop("data")
    if not isinstance(data, dict):
        schema.reject("train.data", data, "a table with kind = " + " or ".join(
            map(repr, schema.DATA_KINDS)))
    if "kind" not in data:
        raise SpecError("config error at train.data.kind: required key is missing (one of "
                        + ", ".join(map(repr, schema.DATA_KINDS)) + ")")
    kind = schema.choice(*schema.DATA_KINDS)(data["kind"], "train.data.kind")
    params = {k: v for k, v in data.items() if k != "kind"}
    for key in ("file", "test_file"):
        if key in params:
            params[key] = schema.file(".h5", ".hdf5")(params[key], f"train.data.{key}", base)
    return TrainSpec(data_kind=kind, data=tuple(params.items()), **spec)


def _is_path(value):
    if isinstance(value, os.PathLike):
        return True
    return isinstance(value, str) and "\n" not in value and (
        value.strip().lower().endswith(".toml") or ("=" not in value and Path(value).is_file()))


def _parse(data, base):
    schema.check_table(data, "", schema.TOP)
    net = schema.check_table(data.get("network", {}), "network", schema.NETWORK)
    seed = net.get("seed", 0)
    pops = tuple(_parse_population(i, t, base)
                 for i, t in enumerate(schema.table_array(data["population"], "population")))
    seen = {}
    for spec in pops:
        if spec.name in seen:
            schema.reject(f"{spec.path}.name", spec.name,
                          f"unique; population[{seen[spec.name]}] has this name already")
        seen[spec.name] = spec.index
    projs = tuple(_parse_projection(j, t, pops, seed, base)
                  for j, t in enumerate(schema.table_array(data.get("projection", []), "projection")))
    run = _parse_run(data["run"], pops)
    out = schema.check_table(data.get("output", {}), "output", schema.OUTPUT, base)
    return NetworkSpec(seed, pops, projs), run, OutputSpec(**out)


def _parse_population(i, table, base):
    path = f"population[{i}]"
    if not isinstance(table, dict):
        schema.reject(path, table, "a table")
    if "type" not in table:
        raise SpecError(f"config error at {path}.type: required key is missing (one of "
                        + ", ".join(map(repr, schema.POPULATIONS)) + ")")
    kind = schema.choice(*schema.POPULATIONS)(table["type"], f"{path}.type")
    params = schema.check_table(table, path, schema.POPULATIONS[kind], base,
                                what=f"a population of type {kind!r}")
    for group in schema.ONE_OF.get(kind, ()):
        given = [k for k in group if k in params]
        if len(given) != 1:
            raise SpecError(f"config error at {path}: give {' or '.join(group)} (exactly one) "
                            f"for type {kind!r}")
    for key, needed in schema.NEEDS.get(kind, {}).items():
        for other in needed:
            if key in params and other not in params:
                raise SpecError(f"config error at {path}.{other}: required key is missing "
                                f"({key} is given)")
    name = params.pop("name")
    del params["type"]
    spec = PopulationSpec(index=i, type=kind, name=name, params=tuple(params.items()))
    if kind in ("gamma", "poisson") or (kind in ("spikes", "signal") and "file" not in params):
        build_population(spec)      # cheap: check shapes and values now, not at build time
    return spec


def _parse_projection(j, table, pops, seed, base):
    path = f"projection[{j}]"
    params = schema.check_table(table, path, schema.PROJECTION, base, what="a projection")
    kind, wparams = schema.weights(params["weights"], f"{path}.weights", base)
    types = {p.name: p.type for p in pops}
    for role in ("pre", "post"):
        if params[role] not in types:
            schema.reject(f"{path}.{role}", params[role],
                          "the name of a population: one of " + ", ".join(map(repr, types)))
    if types[params["post"]] != "gamma":
        gammas = [n for n, t in types.items() if t == "gamma"]
        schema.reject(f"{path}.post", params["post"], "a gamma population (inputs receive "
                      "nothing): one of " + ", ".join(map(repr, gammas)))
    if kind in RANDOM_KINDS and "seed" not in wparams:
        wparams["seed"] = projection_seed(seed, j)
    return ProjectionSpec(index=j, pre=params["pre"], post=params["post"],
                          weights=WeightsSpec(kind, tuple(wparams.items())),
                          delay=params.get("delay", 0.0))


def _parse_run(table, pops):
    run = schema.check_table(table, "run", schema.RUN)
    duration = run.pop("duration")
    engine = run.pop("engine", "event")
    dt = run.pop("dt", None)
    if engine == "clock" and dt is None:
        raise SpecError("config error at run.dt: required key is missing (engine = 'clock' "
                        "needs a step dt in ms)")
    if engine == "event" and dt is not None:
        schema.reject("run.dt", dt, "left out for engine = 'event' (it has no time step)")
    times = run.pop("sample_times", None)
    if isinstance(times, dict):
        if times["stop"] > duration:
            schema.reject("run.sample_times.stop", times["stop"], f"<= duration = {duration} (ms)")
        times = SampleGrid(**times)
    elif times is not None and times and times[-1] > duration:
        schema.reject(f"run.sample_times[{len(times) - 1}]", times[-1],
                      f"<= duration = {duration} (ms)")
    record = run.pop("record", None)
    if record is not None:
        if times is None:
            raise SpecError("config error at run.record: given without run.sample_times, so "
                            "nothing would be recorded; add sample_times")
        gammas = [p.name for p in pops if p.type == "gamma"]
        for i, name in enumerate(record):
            if name not in gammas:
                schema.reject(f"run.record[{i}]", name,
                              "the name of a gamma population: one of " + ", ".join(map(repr, gammas)))
    return RunSpec(duration=duration, engine=engine, dt=dt, sample_times=times, record=record,
                   options=tuple(run.items()))


# ---------------------------------------------------------------- building

_OWNER_PARAM = re.compile(r"[^:\n]*: (\w+) = (.*)", re.DOTALL)


def located(path, err, keys, file_key=None):
    """``err`` (a SpecError from a model constructor) re-worded at the config key path."""
    msg = str(err)
    if msg.startswith("config error"):
        return err
    m = _OWNER_PARAM.match(msg)
    if m and m.group(1) in keys:
        return SpecError(f"config error at {path}.{m.group(1)}: {m.group(2)}")
    return SpecError(f"config error at {path}{'.' + file_key if file_key else ''}: {msg}")


def build_population(spec):
    """The model object described by a PopulationSpec."""
    p = spec.kwargs
    file_key = "file" if "file" in p else None
    try:
        if spec.type == "gamma":
            return GammaPopulation(name=spec.name, **p)
        if spec.type == "poisson":
            return PoissonSource(name=spec.name, **p)
        if spec.type == "spikes":
            if file_key:
                p["times"], p["ids"], p["amplitudes"] = read_events(p.pop("file"), spec.path)
            return SpikeSource(name=spec.name, **p)
        if spec.type == "signal":
            if file_key:
                p["t"], p["values"] = read_signal(p.pop("file"), spec.path)
            return SignalSource(name=spec.name, **p)
        return _shd_source(spec, p)
    except SpecError as err:
        raise located(spec.path, err, set(spec.kwargs), file_key) from None


def _shd_source(spec, p):
    try:
        from .shd import SHDDataset
    except ImportError as err:
        raise SpecError(f"config error at {spec.path}.type: 'shd' needs eventsg.io.shd, which "
                        f"could not be imported ({err})") from None
    kw = {"n_channels": p["n_channels"]} if "n_channels" in p else {}
    try:
        with SHDDataset(p["file"], **kw) as data:
            return data.source(p["sample"], coding=p.get("coding", "pulse"), name=spec.name,
                               t_offset=p.get("t_offset", 0.0))
    except SpecError:
        raise
    except (OSError, KeyError, IndexError, ValueError) as err:
        raise SpecError(f"config error at {spec.path}: sample {p['sample']} of "
                        f"{p['file'].name} could not be read: {err}") from None


def build_weights(proj, n_pre, n_post):
    """The (n_pre, n_post) weights of a ProjectionSpec (dense array or CSR)."""
    w = proj.weights
    path = f"{proj.path}.weights"
    p = w.kwargs
    if w.kind == "explicit":
        return np.array(p["values"], dtype=np.float64)     # shape checked by Projection
    try:
        return make_weights(w.kind, n_pre, n_post, **p)
    except SpecError as err:
        raise located(path, err, set(p), "file" if w.kind == "file" else None) from None


# ---------------------------------------------------------------- data files

def _fail_file(where, path, problem):
    raise SpecError(f"config error at {where}.file: {path.name} {problem}")


def _columns(path, where):
    """A 2-D float array: .npy, or .csv (comma-separated; '#' comments; a header line skipped)."""
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            lines = [ln for ln in path.read_text(encoding="utf-8").splitlines()
                     if ln.strip() and not ln.lstrip().startswith("#")]
            if lines:
                try:
                    float(lines[0].split(",")[0])
                except ValueError:
                    lines = lines[1:]          # a header of column names
            arr = np.loadtxt(lines, delimiter=",", ndmin=2) if lines else np.empty((0, 0))
    except (OSError, ValueError) as err:
        _fail_file(where, path, f"could not be read: {err}")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 2:
        _fail_file(where, path, f"holds an array of shape {arr.shape}; it must be 2-D (rows)")
    return arr


def _npz(path, where, required, optional=()):
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in required if k not in z.files]
            if missing:
                _fail_file(where, path, f"has arrays {z.files}; it must have {list(required)} "
                           f"(and optionally {list(optional)})")
            return [z[k] for k in required] + [z[k] if k in z.files else None for k in optional]
    except SpecError:
        raise
    except (OSError, ValueError) as err:
        _fail_file(where, path, f"could not be read: {err}")


def read_events(path, where="spikes"):
    """(times ms, ids, amplitudes or None) from .csv/.npy columns t, id[, amplitude] or .npz."""
    if path.suffix.lower() == ".npz":
        return tuple(_npz(path, where, ("times", "ids"), ("amplitudes",)))
    arr = _columns(path, where)
    if arr.size == 0:
        return np.empty(0), np.empty(0, np.int64), None
    if arr.shape[1] not in (2, 3):
        _fail_file(where, path, f"has {arr.shape[1]} columns; it must have 2 or 3: t (ms), id"
                   "[, amplitude]")
    return arr[:, 0], arr[:, 1], (arr[:, 2] if arr.shape[1] == 3 else None)


def read_signal(path, where="signal"):
    """(t ms, values (S, channels)) from .csv/.npy (column t, then one per channel) or .npz."""
    if path.suffix.lower() == ".npz":
        return tuple(_npz(path, where, ("t", "values")))
    arr = _columns(path, where)
    if arr.shape[0] < 1 or arr.shape[1] < 2:
        _fail_file(where, path, f"holds an array of shape {arr.shape}; it must have a column t "
                   "(ms) and at least one channel column, and at least one row")
    return arr[:, 0], arr[:, 1:]
