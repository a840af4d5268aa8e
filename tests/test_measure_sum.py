"""The signed sum of a large weight's values: float32 rows of `SUM_ROW`, then float64."""

import numpy as np
import pytest
import tensorflow as tf

from tb_prune_plugin.callbacks import measure


@pytest.mark.parametrize("extra", [0, 1, measure.SUM_ROW - 1])
def test_integer_values_sum_exactly_with_the_values_after_the_last_row(extra):
    """Small integers sum exactly in float32 rows and in float64: any value dropped or counted
    twice (the leftover values after the last full row, a row boundary) changes the sum."""
    n = measure.SUM_ROW * 37 + extra
    values = (np.arange(n) % 7 - 3).astype(np.float32)
    values[-1] = 1000.0  # the last value is in the leftover part unless extra == 0
    total = measure._signed_sum(tf.constant(values)).numpy()
    assert total == values.astype(np.float64).sum()


def test_fewer_values_than_a_row_and_none():
    assert measure._signed_sum(tf.constant([1.5, -0.25, 2.0], tf.float32)).numpy() == 3.25
    assert measure._signed_sum(tf.zeros([0], tf.float32)).numpy() == 0.0


def test_mean_near_zero_of_millions_of_weights_to_1e9_of_the_sum_of_abs():
    """2.4M values with a mean a thousand times smaller than their spread: the error stays
    within 1e-9 of the sum of |x| (one float32 accumulator adding them in turn: about 4e-8)."""
    rng = np.random.default_rng(0)
    values = (rng.normal(0.0, 0.02, 2_400_017) + 2e-5).astype(np.float32)
    exact = values.astype(np.float64).sum()
    total = measure._signed_sum(tf.constant(values)).numpy()
    assert abs(total - exact) <= 1e-9 * np.abs(values.astype(np.float64)).sum()
