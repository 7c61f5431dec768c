"""Generated spike data sets for training tasks (times in ms).

Every generator returns ``(train, test)`` SpikeDatasets of ``Sample``s; a sample
gives its events, label, optional target signal, and ``sample.source()`` as an
``eventsg.SpikeSource`` ready to add to a Network.

* ``randman``: smooth random manifolds coded by one spike time per channel.
* ``temporal_pattern``: a fixed spatio-temporal pattern hidden in Poisson noise,
  scored with ``detection_scores``.
"""
from .base import Sample, SpikeDataset
from .randman import RandomManifold, randman, spike_time_matrix
from .temporal_pattern import DetectionScores, detection_scores, temporal_pattern

__all__ = ["DetectionScores", "RandomManifold", "Sample", "SpikeDataset", "detection_scores",
           "randman", "spike_time_matrix", "temporal_pattern"]
