"""peak_memory_mb: this process's own high-water mark."""

import numpy as np

from nnlib.memory import peak_memory_mb


def test_peak_memory_grows_with_a_big_array():
    before = peak_memory_mb()
    assert before is None or before > 1
    big = np.ones(50_000_000 // 8)  # 50 MB, touched so that it is resident
    after = peak_memory_mb()
    assert big.sum() > 0
    if before is not None:
        assert after >= before + 40
