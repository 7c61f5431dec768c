"""Conversion to Neo spike trains (for Elephant and other Neo-based tools).

neo and quantities are imported only when a conversion is made; install them with
``pip install eventsg[neo]``.
"""
from .measures import _groups


def _neo():
    try:
        import neo
        import quantities as pq
    except ImportError as exc:
        raise ImportError("converting to Neo needs the neo package (and quantities): "
                          "pip install eventsg[neo]") from exc
    return neo, pq


def to_neo(res, pop):
    """One ``neo.SpikeTrain`` per neuron of a gamma population, in neuron order.

    Times in ms, t_start = 0 ms, t_stop = res.t_reached ms. Annotations: population,
    neuron (id), engine, status; array annotation ``amplitude``: each spike's signed
    amplitude a.
    """
    neo, pq = _neo()
    s = res.spikes(pop)
    name = pop if isinstance(pop, str) else pop.name
    order, bounds = _groups(res, pop)          # by neuron, emission order kept
    engine = getattr(res.stats, "engine", None)
    trains = []
    for j in range(res.size(pop)):
        mine = order[bounds[j]:bounds[j + 1]]
        trains.append(neo.SpikeTrain(
            s.t[mine], units=pq.ms, t_start=0.0 * pq.ms, t_stop=res.t_reached * pq.ms,
            name=f"{name}[{j}]", array_annotations={"amplitude": s.a[mine]},
            population=name, neuron=int(j), engine=engine, status=res.status))
    return trains


def to_neo_segment(res, pops=None):
    """A ``neo.Segment`` holding the spike trains of ``pops`` (default all gamma populations)."""
    neo, _ = _neo()
    seg = neo.Segment(name="eventsg run", description=repr(res))
    for pop in (res.populations if pops is None else pops):
        seg.spiketrains.extend(to_neo(res, pop))
    return seg
