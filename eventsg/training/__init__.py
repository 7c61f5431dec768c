"""Online training of SpikingGamma networks (docs/learning.md)."""
from .fit import evaluate, fit, plot_learning_curve
from .trainer import SampleOutcome, Trainer

__all__ = ["Trainer", "SampleOutcome", "fit", "evaluate", "plot_learning_curve"]
