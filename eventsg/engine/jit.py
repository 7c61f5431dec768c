"""The one decorator of the engine's kernels.

Kernels neither allocate nor return arrays: they read and write arrays the
Python side made. So they are compiled without Numba's reference counting
(``_nrt=False``), which otherwise costs an atomic increment and decrement for
every array handed to a helper, hundreds of nanoseconds per call for the
tuples of arrays the engine passes around. ``cache=True`` keeps compiled code
between sessions; no ``fastmath``: it would change last bits of event times.
"""
from numba import njit

kernel = njit(cache=True, _nrt=False)
"""Decorator for engine kernels (see module docstring)."""
