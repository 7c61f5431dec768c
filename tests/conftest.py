"""Test-session settings.

OpenBLAS's worker threads spin-wait: on a loaded 2-core machine one small scipy
call (a 3 x 3 expm in the independent references) took 8 ms instead of 60 us.
The references call such tiny BLAS kernels thousands of times, so the suite uses
one BLAS thread. This must happen before numpy is first imported.
"""
import os

import pytest

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

TRAINING_MODULES = {"test_bench_training", "test_learning_fixed_step", "test_learning_gradient",
                    "test_learning_updates", "test_temporal_pattern_task", "test_train_cli",
                    "test_training_fit", "test_training_shd"}
"""Modules that run the learning kernels: compiling those (cold cache) is most of the
suite's time."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``--dist loadgroup``), the tests that compile the learning
    kernels go first, all to one worker, while the other compiles the event loop and
    runs the rest, so the two largest compiles run side by side."""
    def is_training(item):
        return item.module.__name__.rpartition(".")[2] in TRAINING_MODULES

    for item in items:
        if is_training(item):
            item.add_marker(pytest.mark.xdist_group("training"))
    items.sort(key=lambda item: not is_training(item))      # stable: order kept otherwise
