"""Test-session settings.

OpenBLAS's worker threads spin-wait: on a loaded 2-core machine one small scipy
call (a 3 x 3 expm in the independent references) took 8 ms instead of 60 us.
The references call such tiny BLAS kernels thousands of times, so the suite uses
one BLAS thread. This must happen before numpy is first imported.
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
