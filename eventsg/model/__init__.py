"""What users build: populations, projections and the network."""
from . import connectivity
from .network import Network
from .population import GammaPopulation
from .projection import Projection
from .sources import PoissonSource, SignalSource, SpikeSource

__all__ = ["connectivity", "Network", "GammaPopulation", "Projection", "PoissonSource", "SignalSource", "SpikeSource"]
