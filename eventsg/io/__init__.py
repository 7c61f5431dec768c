"""Files: spike rasters in the SONATA spike-report layout (HDF5).

Importing this package imports h5py; ``import eventsg`` alone does not.
"""
from .atomic import atomic_path
from .sonata import read_spikes, spike_populations, write_spikes

__all__ = ["atomic_path", "read_spikes", "spike_populations", "write_spikes"]
