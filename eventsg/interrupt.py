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


def run_threads(work, n, stop, tick=None, poll_s=0.1):
    """Run ``work(i)`` for i < n, each in a thread of its own, and wait for them: every
    ``poll_s`` s the calling thread checks for Ctrl-C (``check``) and calls ``tick()``
    (a progress bar's update). On Ctrl-C it calls ``stop()`` (which asks the threads to
    return), waits for them and re-raises; an exception in a thread is re-raised in the
    calling thread."""
    errors = []

    def guarded(i):
        try:
            work(i)
        except BaseException as exc:         # re-raised in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,), daemon=True) for i in range(n)]
    for th in threads:
        th.start()
    try:
        # wait on each thread in turn: a loop that polls the others while holding the
        # GIL makes a finished kernel wait up to the switch interval (5 ms) to return
        for th in threads:
            while th.is_alive():
                th.join(poll_s)
                check()
                if tick is not None:
                    tick()
    except BaseException:
        stop()
        for th in threads:
            th.join()
        raise
    if errors:
        raise errors[0]


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
