"""Online training of SpikingGamma networks (docs/learning.md)."""
from .trainer import SampleOutcome, Trainer

__all__ = ["Trainer", "SampleOutcome"]
