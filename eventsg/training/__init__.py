"""Online training of SpikingGamma networks (docs/learning.md)."""
from .fit import evaluate, fit, plot_learning_curve
from .from_config import load_training_data, train_config
from .trainer import SampleOutcome, Trainer

__all__ = ["Trainer", "SampleOutcome", "fit", "evaluate", "plot_learning_curve", "train_config",
           "load_training_data"]
