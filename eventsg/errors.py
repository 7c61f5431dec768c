"""Exceptions, one per stage: describing a model, compiling it, running it."""


class EventsgError(Exception):
    """Base class of every error raised by eventsg."""


class SpecError(EventsgError, ValueError):
    """A model description has a bad value (names the object, parameter and value)."""


class CompileError(EventsgError, ValueError):
    """Objects are individually valid but do not fit together (shapes, indices)."""


class SimulationError(EventsgError, RuntimeError):
    """A run could not finish. ``result`` holds what was recorded up to the stop."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


class RunawayError(SimulationError):
    """A run exceeded its spike or event budget (runaway activity)."""
