"""Files: run files and spike rasters (HDF5, SONATA layout), network descriptions.

Importing this package imports h5py; ``import eventsg`` alone does not.
"""
from .atomic import atomic_path
from .runfile import (describe_run, load_config_text, load_network, load_result, load_run,
                      run_to_file, save_run)
from .sonata import count_spikes, read_spikes, spike_populations, write_spikes

__all__ = ["atomic_path", "count_spikes", "describe_run", "load_config_text", "load_network",
           "load_result", "load_run", "read_spikes", "run_to_file", "save_run",
           "spike_populations", "write_spikes"]
