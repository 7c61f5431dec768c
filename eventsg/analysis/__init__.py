"""Analysis of a SimulationResult: measures, plots and Neo conversion.

Times in ms, rates in Hz (spikes per neuron per second over ``res.t_reached``)::

    from eventsg.analysis import format_summary, overview_figure
    print(format_summary(res))
    overview_figure(res).savefig("run.png")

Importing this package does not import matplotlib or neo; the plot and conversion
functions import them when called.
"""
from .measures import (PopulationSummary, ReconstructionError, SignedCounts, firing_rates,
                       format_summary, isi_cv, mean_cv, mean_rate, population_rate,
                       population_summary, reconstruction_error, signed_counts, silent_fraction,
                       spike_counts, spike_kinds, spikes_per_input_event, summary)
from .neo_convert import to_neo, to_neo_segment
from .plots import (overview_figure, plot_neuron_state, plot_population_rate, plot_sparsity,
                    raster)

__all__ = ["spike_counts", "firing_rates", "mean_rate", "silent_fraction",
           "spikes_per_input_event", "isi_cv", "mean_cv", "population_rate",
           "reconstruction_error", "ReconstructionError", "spike_kinds", "signed_counts",
           "SignedCounts", "population_summary", "PopulationSummary", "summary",
           "format_summary", "raster", "plot_population_rate", "plot_neuron_state",
           "plot_sparsity", "overview_figure", "to_neo", "to_neo_segment"]
