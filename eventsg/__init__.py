"""eventsg: exact event-driven simulation of SpikingGamma spiking neural networks.

Times are in milliseconds. Build a Network of populations (SpikeSource,
PoissonSource, SignalSource, GammaPopulation), connect them, and run::

    import eventsg as esg
    net = esg.Network(seed=1)
    inp = net.add(esg.SpikeSource(n=2, times=[1.0, 2.0], ids=[0, 1]))
    hid = net.add(esg.GammaPopulation(n=3, tau=[1.0, 2.0], theta=0.05))
    net.connect(inp, hid, weights=np.ones((2, 3)), delay=0.5)
    res = net.run(duration=20.0)
    res.spikes(hid)
"""
from .errors import CompileError, EventsgError, RunawayError, SimulationError, SpecError
from .model import (GammaPopulation, Network, PoissonSource, Projection, SignalSource,
                    SpikeSource, connectivity)
from .results import RunStats, SimulationResult, Spikes, State
from .simulate import simulate

__version__ = "0.1.0"

__all__ = ["Network", "SpikeSource", "PoissonSource", "SignalSource", "GammaPopulation",
           "Projection", "connectivity", "simulate", "SimulationResult", "Spikes", "State", "RunStats",
           "EventsgError", "SpecError", "CompileError", "SimulationError", "RunawayError",
           "sweep", "__version__"]


def sweep(config, grid=None, seeds=None, **options):
    """Run ``config`` over a parameter grid and seeds on dask.distributed.

    See ``eventsg.sweeps.sweep`` (the sweeps package loads dask and h5py on first use).
    """
    from .sweeps import sweep as run_sweep
    return run_sweep(config, grid, seeds, **options)
