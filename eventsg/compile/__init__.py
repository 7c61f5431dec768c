"""Model description -> flat arrays consumed by the kernels."""
from .arrays import CompiledNetwork
from .compiler import Layout, compile_network

__all__ = ["CompiledNetwork", "Layout", "compile_network"]
