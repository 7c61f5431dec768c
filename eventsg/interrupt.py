"""Ctrl-C that cannot be lost during a run.

Python's default SIGINT handler raises KeyboardInterrupt in whatever Python code
runs next, and where that is a finalizer (``__del__``, a weakref callback) the
exception is printed and dropped, so a long run would go on. Inside
``deferred_interrupts`` (the CLI's commands) SIGINT only sets a flag, and the
simulation loop calls ``check`` between chunks, which raises there.
"""
import signal
import threading
from contextlib import contextmanager

_pending = [False]


def _request(signum, frame):
    _pending[0] = True


def check():
    """Raise KeyboardInterrupt if SIGINT arrived since the last check."""
    if _pending[0]:
        _pending[0] = False
        raise KeyboardInterrupt


@contextmanager
def deferred_interrupts():
    """Within the block, SIGINT is raised at the next ``check`` (or at the block's end)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _request)
    _pending[0] = False
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        pending, _pending[0] = _pending[0], False
    if pending:
        raise KeyboardInterrupt
