"""The network: populations and projections, and the entry point of a run."""
import numpy as np

from ..errors import SpecError
from .population import GammaPopulation
from .projection import Projection
from .sources import PoissonSource, SignalSource, SpikeSource
from .validation import check_count

POPULATION_TYPES = (SpikeSource, PoissonSource, SignalSource, GammaPopulation)
_PREFIX = {SpikeSource: "source", PoissonSource: "poisson", SignalSource: "signal",
           GammaPopulation: "gamma"}


class Network:
    """A SpikingGamma network: add populations, connect them, run.

    seed: integer from which every seed the network needs is derived (e.g. of a
    PoissonSource given no seed of its own), so a run is reproducible bit for bit.
    """

    def __init__(self, seed=0):
        self.seed = check_count("Network", "seed", seed, low=0)
        self.populations = []
        self.projections = []

    def add(self, population):
        """Add a population (returned as is). A population without a name gets one."""
        if not isinstance(population, POPULATION_TYPES):
            raise SpecError(f"Network.add: population = {population!r} is not allowed; it must be "
                            "one of SpikeSource, PoissonSource, SignalSource, GammaPopulation")
        if any(p is population for p in self.populations):
            raise SpecError(f"Network.add: population {population.name!r} was already added")
        if population.name is None:
            object.__setattr__(population, "name", f"{_PREFIX[type(population)]}{len(self.populations)}")
        if any(p.name == population.name for p in self.populations):
            raise SpecError(f"Network.add: name = {population.name!r} is not allowed; "
                            "names must be unique in a network")
        self.populations.append(population)
        return population

    def connect(self, pre, post, weights, delay=0.0):
        """Connect ``pre`` to the gamma population ``post``; returns the Projection.

        weights: dense (pre.n, post.n) array or scipy.sparse matrix; delay: ms,
        scalar or per synapse (see Projection).
        """
        for role, pop in (("pre", pre), ("post", post)):
            if not any(p is pop for p in self.populations):
                raise SpecError(f"Network.connect: {role} = {getattr(pop, 'name', pop)!r} is not "
                                "allowed; it must be a population added to this network")
        proj = Projection(pre, post, weights, delay)
        self.projections.append(proj)
        return proj

    def population(self, key):
        """The population with this name (or the object itself)."""
        for p in self.populations:
            if p is key or p.name == key:
                return p
        names = ", ".join(p.name for p in self.populations)
        raise KeyError(f"no population {key!r} in this network (populations: {names})")

    def population_seed(self, population):
        """The seed derived for a population from the network seed and its position."""
        index = next(i for i, p in enumerate(self.populations) if p is population)
        return int(np.random.SeedSequence([self.seed, index]).generate_state(1)[0])

    def run(self, duration, sample_times=None, record=None, engine="event", dt=None, **options):
        """Simulate for ``duration`` ms; returns a SimulationResult.

        sample_times: times (ms, sorted, in [0, duration]) at which to record the
        state of the populations in ``record`` (default: every gamma population).
        engine: "event" (exact, no time step) or "clock" (fixed-step reference with
        step ``dt`` ms). Further options: see ``eventsg.simulate.simulate``.
        """
        from ..simulate import simulate
        return simulate(self, duration, sample_times=sample_times, record=record,
                        engine=engine, dt=dt, **options)

    def __repr__(self):
        pops = ", ".join(f"{p.name}({type(p).__name__}, n={p.n})" for p in self.populations)
        return f"Network(seed={self.seed}, populations=[{pops}], projections={len(self.projections)})"
