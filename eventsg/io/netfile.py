"""The full description of a Network in an HDF5 group, and back.

Layout, under the group given (``/network`` in a run file)::

    network                  attrs: seed, order (population names in order)
      populations/<name>     attrs: type ("SpikeSource", ...) and scalar fields
                             datasets: array fields (times, ids, tau, v, bias, ...)
      projections/<k>        attrs: pre, post, delay (ms, when one per projection)
                             datasets: weights CSR (data, indices, indptr, shape),
                             delays (per synapse, aligned with the CSR data)

Every field of every population is stored exactly (float64), so the network read
back is the one that ran: the same seed and parameters give the same run.
"""
import dataclasses

import numpy as np
import scipy.sparse as sp

from ..errors import SpecError
from ..model import GammaPopulation, Network, PoissonSource, SignalSource, SpikeSource

POPULATION_CLASSES = {cls.__name__: cls for cls in
                      (SpikeSource, PoissonSource, SignalSource, GammaPopulation)}
FORMAT_VERSION = 1


def write_network(group, net):
    """Write ``net`` (a Network) into the h5py ``group``."""
    group.attrs["format_version"] = FORMAT_VERSION
    group.attrs["seed"] = net.seed
    group.attrs["order"] = np.array([p.name for p in net.populations], dtype=object)
    pops = group.create_group("populations")
    for pop in net.populations:
        g = pops.create_group(pop.name)
        g.attrs["type"] = type(pop).__name__
        for field in dataclasses.fields(pop):
            _write_value(g, field.name, getattr(pop, field.name))
    projs = group.create_group("projections")
    for k, proj in enumerate(net.projections):
        g = projs.create_group(f"{k:06d}")
        g.attrs["pre"] = proj.pre.name
        g.attrs["post"] = proj.post.name
        _write_csr(g, "weights", proj.weights)
        if proj.per_synapse_delay:
            g.create_dataset("delays", data=proj.delay.data)
        else:
            g.attrs["delay"] = proj.delay


def read_network(group):
    """Rebuild the Network stored in the h5py ``group`` by ``write_network``."""
    where = group.file.filename
    for key in ("populations", "projections"):
        if key not in group:
            raise SpecError(f"{where}: {group.name}/{key} is missing; not a network written by eventsg")
    net = Network(seed=int(group.attrs["seed"]))
    by_name = {}
    for name in group.attrs["order"]:
        name = as_text(name)
        g = group["populations"][name]
        type_name = g.attrs["type"]
        cls = POPULATION_CLASSES.get(type_name)
        if cls is None:
            raise SpecError(f"{where}: population {name!r} has type {type_name!r}; allowed: "
                            + ", ".join(POPULATION_CLASSES))
        kwargs = {f.name: _read_value(g, f.name) for f in dataclasses.fields(cls)}
        by_name[name] = net.add(cls(**kwargs))
    for key in sorted(group["projections"]):
        g = group["projections"][key]
        W = _read_csr(g, "weights")
        if "delays" in g:
            delay = W.copy()
            delay.data = g["delays"][()]
        else:
            delay = float(g.attrs["delay"])
        net.connect(by_name[as_text(g.attrs["pre"])], by_name[as_text(g.attrs["post"])], W, delay)
    return net


def as_text(value):
    """An HDF5 string value (bytes or str) as str."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _write_value(group, key, value):
    if value is None:
        return                                   # absent means None (the default)
    if isinstance(value, str):
        group.attrs[key] = value
    elif isinstance(value, (bool, int, np.integer)):
        group.attrs[key] = np.int64(value)
    else:
        arr = np.asarray(value)
        if arr.dtype.kind not in "fiub":
            raise SpecError(f"cannot store field {key!r} of type {type(value).__name__} in HDF5")
        group.create_dataset(key, data=arr)


def _read_value(group, key):
    if key in group.attrs:
        value = group.attrs[key]
        if isinstance(value, (bytes, str)):
            return as_text(value)
        return int(value)
    if key in group:
        data = group[key][()]
        return data if np.ndim(data) else data.item()
    return None


def _write_csr(group, key, matrix):
    g = group.create_group(key)
    g.attrs["format"] = "csr"
    g.attrs["shape"] = np.array(matrix.shape, dtype=np.int64)
    g.create_dataset("data", data=matrix.data)
    g.create_dataset("indices", data=matrix.indices.astype(np.int64))
    g.create_dataset("indptr", data=matrix.indptr.astype(np.int64))


def _read_csr(group, key):
    g = group[key]
    shape = tuple(int(s) for s in g.attrs["shape"])
    return sp.csr_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=shape)
