"""Tests for tfgan_suite.graph_checks: the in-graph asserts and the reason they report.

The checks run inside a `tf.function` without an input signature, so nothing but the
asserts stands between a bad input and the graph, as for a client that skips static
shape checks. Messages are compared with hand-written text.
"""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import export_dirs, graph_checks, serving


def checked_identity(*builders):
    """A tf.function returning its input gated on the checks `builders(x)`."""
    @tf.function
    def fn(x):
        (y,) = graph_checks.after_checks([lambda b=b: b(x) for b in builders], x)
        return y
    return fn


def failure(fn, value):
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        fn(tf.constant(value))
    return graph_checks.signature_error_reason(info.value)


@pytest.mark.parametrize("tail, value, message", [
    ([], [[1, 2, 3], [4, 5, 6]], "score: user must have shape [N], got [2, 3]"),
    ([], 7, "score: user must have shape [N], got []"),
    ([4], np.zeros([5, 3], np.float32), "score: user must have shape [N, 4], got [5, 3]"),
    ([4], np.zeros([4], np.float32), "score: user must have shape [N, 4], got [4]"),
    ([2, 2], np.zeros([3, 2, 2, 1], np.float32), "score: user must have shape [N, 2, 2], got [3, 2, 2, 1]"),
])
def test_assert_shape_names_the_expected_and_the_actual_shape(tail, value, message):
    fn = checked_identity(lambda x: graph_checks.assert_shape("score: user", x, tail))
    assert failure(fn, value) == message


def test_assert_shape_accepts_any_batch_size():
    fn = checked_identity(lambda x: graph_checks.assert_shape("z", x, [3]))
    for n in (0, 1, 5):
        np.testing.assert_array_equal(fn(tf.ones([n, 3])).numpy(), np.ones([n, 3]))


def test_assert_in_range_lists_up_to_five_distinct_offenders():
    fn = checked_identity(lambda x: graph_checks.assert_in_range("sample: label", x, 10))
    assert failure(fn, [3, 12, -1, 12]) == "sample: label must be in [0, 10), got [12, -1]"
    assert failure(fn, [10, 11, 12, 13, 14, 15, 10]) == (
        "sample: label must be in [0, 10), got [10, 11, 12, 13, 14]")
    np.testing.assert_array_equal(fn(tf.constant([0, 9, 5])).numpy(), [0, 9, 5])


def test_the_first_failing_check_is_the_one_reported():
    fn = checked_identity(lambda x: graph_checks.assert_shape("user", x, []),
                          lambda x: graph_checks.assert_in_range("user", x, 3))
    assert failure(fn, [[5]]) == "user must have shape [N], got [1, 1]"
    assert failure(fn, [5]) == "user must be in [0, 3), got [5]"


def test_assert_true_joins_strings_and_string_tensors():
    fn = checked_identity(lambda x: graph_checks.assert_true(
        tf.reduce_all(x > 0), ["sample: num must be >= 1, got ", tf.strings.as_string(x[0])]))
    assert failure(fn, [0]) == "sample: num must be >= 1, got 0"


def test_signature_error_reason_of_other_errors_is_their_first_line():
    assert graph_checks.signature_error_reason(ValueError("\nbad thing\nmore")) == "bad thing"
    assert graph_checks.signature_error_reason(KeyError()) == "KeyError"


def test_serving_reexports_the_same_objects():
    assert serving.ExportError is export_dirs.ExportError
    assert serving.resolve_model_dir is export_dirs.resolve_model_dir
    assert serving.read_meta is export_dirs.read_meta
    assert serving.signature_error_reason is graph_checks.signature_error_reason
    assert (serving.META_DIR, serving.META_FILENAME) == ("assets.extra", "tfgan_suite.json")
