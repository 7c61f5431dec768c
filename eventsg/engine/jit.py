"""The one decorator of the engine's kernels, and the guard of their disk cache.

Kernels neither allocate nor return arrays: they read and write arrays the
Python side made. So they are compiled without Numba's reference counting
(``_nrt=False``), which otherwise costs an atomic increment and decrement for
every array handed to a helper, hundreds of nanoseconds per call for the
tuples of arrays the engine passes around. ``cache=True`` keeps compiled code
between sessions; no ``fastmath``: it would change last bits of event times.

They are compiled without LLVM's loop vectorizer (``KernelDispatcher``). Their
loops run over a neuron's K buckets (4 by default): the vectorizer gave each of
them an 8-wide body that never runs at that length, with the run-time checks
that choose between the two (29 such loops in the event loop), and the engine
ran about 10 % slower with them. Turning the vectorizer off changes no result:
without ``fastmath`` it never reorders floating-point sums.

Numba checks a cached kernel only against the file that defines it, not against
the kernels it calls from other files, so after an edit (or an upgrade) a loop
could run with a stale copy of a changed helper. ``guard_cache`` keys the whole
cache on a hash of every kernel source and clears it when that hash changes.

Importing this module also has Numba's inliner copy a callee's IR in one pass
instead of once per block (inline_copy.py): the same code, compiled in about two
thirds of the time.
"""
import hashlib
from pathlib import Path

from numba import njit
from numba.core import config
from numba.core.compiler_lock import global_compiler_lock
from numba.core.registry import CPUDispatcher

from .inline_copy import install as install_inline_copy

KERNEL_DIRS = ("engine", "compile")
"""Folders of the package whose modules hold Numba kernels."""

STAMP_NAME = "eventsg-kernels.sha1"


def _kernel_sources():
    root = Path(__file__).resolve().parent.parent
    return sorted(p for d in KERNEL_DIRS for p in (root / d).glob("*.py"))


def guard_cache():
    """Clear the kernels' Numba cache files if any kernel source changed since they were made.

    Returns True when files were cleared. A package in a read-only place is left alone.
    """
    sources = _kernel_sources()
    digest = hashlib.sha1()
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    stamp_dir = sources[0].parent / "__pycache__"
    stamp = stamp_dir / STAMP_NAME
    key = digest.hexdigest()
    try:
        if stamp.exists() and stamp.read_text() == key:
            return False
        for folder in {p.parent / "__pycache__" for p in sources}:
            for pattern in ("*.nbi", "*.nbc"):
                for cached in folder.glob(pattern):
                    cached.unlink(missing_ok=True)
        stamp_dir.mkdir(exist_ok=True)
        tmp = stamp.with_suffix(".tmp")
        tmp.write_text(key)
        tmp.replace(stamp)
        return True
    except OSError:
        return False


guard_cache()
install_inline_copy()


class KernelDispatcher(CPUDispatcher):
    """Numba's CPU dispatcher, compiling without the loop vectorizer (module docstring).

    Numba reads the setting when it optimizes a module; it is set for the time of
    this compile only (under Numba's compiler lock, which every compile holds), so
    other Numba code in the process keeps its own. Kernels compiled inside this one
    (its callees) are compiled with it too.
    """

    def compile(self, sig):
        with global_compiler_lock:
            saved = config.LOOP_VECTORIZE
            config.LOOP_VECTORIZE = False
            try:
                return super().compile(sig)
            finally:
                config.LOOP_VECTORIZE = saved


def _kernel_decorator(**options):
    """njit(**options), with a KernelDispatcher for the function it decorates."""
    compile_with = njit(**options)

    def decorate(func):
        dispatcher = compile_with(func)
        if isinstance(dispatcher, CPUDispatcher):     # (not under NUMBA_DISABLE_JIT)
            dispatcher.__class__ = KernelDispatcher   # the same object, one method other
        return dispatcher

    return decorate


kernel = _kernel_decorator(cache=True, _nrt=False)
"""Decorator for engine kernels (see module docstring)."""

thread_kernel = _kernel_decorator(cache=True, _nrt=False, nogil=True)
"""Decorator for the kernel each thread of a run on several threads runs
(engine/windows.py): without Python's lock, so that the threads run at once."""

inline_kernel = _kernel_decorator(cache=True, _nrt=False, inline="always")
"""Decorator for small kernels on the hot path, inlined into their callers: a call
passes every array as a struct of seven words, which costs more than the work of a
small helper. Numba copies the whole IR of such a kernel (with what it inlines in
turn) to every call site, at a compile cost of about its blocks times its
variables: keep them small, and give a large one few call sites. Inlined code
that never runs can still slow the loop around it (the crossing search ran 1.35x
slower with all of ``advance_buckets`` inline than with its default path inline
and the rest behind a call): give the rare paths of a hot loop a call of their own."""
