"""Metrics: late_rise (accuracy and the confusion matrix are tested with the plots)."""

import numpy as np
import pytest

from nnlib.metrics import late_rise


def test_late_rise_measures_the_climb_in_the_second_half():
    assert late_rise([5.0, 4.0, 3.0, 2.0, 1.0, 0.5]) == 0.0
    # the rise of 0.25 in the first half does not count; 0.5 -> 2.0 in the second half does
    assert late_rise([5.0, 5.25, 1.0, 0.5, 2.0, 1.0]) == pytest.approx(1.5)


def test_late_rise_of_a_blown_up_run_is_infinite():
    assert late_rise([1.0, 0.5, np.nan, np.nan]) == np.inf
    assert late_rise([1.0, np.inf]) == np.inf


def test_late_rise_rejects_what_is_not_a_history():
    with pytest.raises(ValueError, match="1-D"):
        late_rise(np.zeros((2, 2)))
