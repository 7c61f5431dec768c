"""Files: run files and spike rasters (HDF5, SONATA layout), networks, TOML configs,
SHD data sets, NWB.

Importing this package imports h5py; ``import eventsg`` alone does not.
"""
from ..model import connectivity
from .atomic import atomic_path
from .config import Config, load_config, run_config
from .nwb import export_nwb
from .runfile import (describe_run, load_config_text, load_network, load_result, load_run,
                      run_to_file, save_run)
from .shd import SHDDataset, SHDSample, write_shd
from .sonata import count_spikes, read_spikes, spike_populations, write_spikes

__all__ = ["Config", "connectivity", "load_config", "run_config", "atomic_path", "count_spikes", "describe_run", "export_nwb", "load_config_text",
           "load_network", "load_result", "load_run", "read_spikes", "run_to_file", "save_run",
           "SHDDataset", "SHDSample", "spike_populations", "write_shd", "write_spikes"]
