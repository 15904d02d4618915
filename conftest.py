"""Set-up for every pytest run, whatever is selected (tests/, notebooks/, one notebook)."""

import os

# One BLAS thread for the notebooks' kernels (they inherit this environment) and the tests.
# The stored outputs were computed this way (tools/execute_notebooks.py does the same), and
# a thread count that differs from the one the outputs were made with may change the order
# of a matrix product's sums, and so the last digits. One thread is also what keeps the
# course fast on a busy 2-core machine: OpenBLAS threads that compete for cores slow small
# matrix products down tens of times. Set the variable yourself to override it.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
