"""In-graph input checks for exported signatures, and the one-line reason of their failure.

Why: a signature's TensorSpecs already give Python callers an error naming the
expected shape, but clients that do not check static shapes (TF Serving's C++
session, `saved_model_cli run`) feed whatever they have. The checks here are
`tf.debugging.Assert` ops built inside the signature, so such a client still gets a
message naming what was expected, e.g.

    serving_default: z must have shape [N, 64], got [2, 3]
    sample: label must be in [0, 10), got [12]

and `signature_error_reason` turns the several lines TensorFlow wraps around it back
into that one line for the command-line tools.

A signature lists its checks as zero-argument builders and gates its inputs on them:

    >>> checks = [lambda: assert_shape("score: user", user, []),
    ...           lambda: assert_in_range("score: user", user, num_users)]
    >>> (user,) = after_checks(checks, user)
"""

import re
from typing import Callable, List, Sequence

import tensorflow as tf


def after_checks(checks: Sequence[Callable[[], tf.Operation]], *tensors) -> List:
    """Builds the assert ops from `checks` in order; returns `tensors` gated on them.

    Each check is built under a control dependency on the previous one, so the first
    violated condition is the one reported, and nothing downstream of the returned
    tensors (None passes through) runs before all checks passed. Gating with
    `tf.identity` rather than `tf.ensure_shape` matters: Grappler may evaluate an
    `EnsureShape` on a known wrong input shape before the assert gets to run.
    """
    deps = []
    for build in checks:
        with tf.control_dependencies(deps):
            deps = [build()]
    with tf.control_dependencies(deps):
        return [None if t is None else tf.identity(t) for t in tensors]


def assert_true(condition, message_parts) -> tf.Operation:
    """An Assert op failing with the concatenation of `message_parts` (str or string tensors)."""
    message = tf.strings.join([tf.constant(p) if isinstance(p, str) else p for p in message_parts])
    return tf.debugging.Assert(condition, [message])


def assert_shape(name: str, x, tail: Sequence[int]) -> tf.Operation:
    """Asserts that `x` has shape [N, *tail] for any N; the message names that shape.

    Example: `assert_shape("encode: images", x, [28, 28, 1])` fails on a [2, 28, 28]
    input with "encode: images must have shape [N, 28, 28, 1], got [2, 28, 28]".
    """
    rank = 1 + len(tail)
    shape = tf.shape(x)
    # Padding keeps the slice valid whatever the actual rank; the rank test settles the rest.
    padded = tf.concat([shape, tf.zeros([rank], tf.int32)], axis=0)[1:rank]
    ok = tf.logical_and(tf.equal(tf.size(shape), rank),
                        tf.reduce_all(tf.equal(padded, tf.constant(list(tail), tf.int32))))
    shape_text = "[" + ", ".join(["N"] + [str(d) for d in tail]) + "]"
    return assert_true(ok, [f"{name} must have shape {shape_text}, got ", format_ints(shape)])


def assert_in_range(name: str, ids, limit: int) -> tf.Operation:
    """Asserts 0 <= ids < limit; the message shows up to 5 distinct offending values.

    Example: `assert_in_range("sample: label", label, 10)` fails on [3, 12, -1, 12]
    with "sample: label must be in [0, 10), got [12, -1]".
    """
    flat = tf.reshape(ids, [-1])
    in_range = tf.logical_and(flat >= 0, flat < limit)
    bad = tf.unique(tf.boolean_mask(flat, tf.logical_not(in_range))).y[:5]
    return assert_true(tf.reduce_all(in_range),
                       [f"{name} must be in [0, {limit}), got ", format_ints(bad)])


def format_ints(values) -> tf.Tensor:
    """Formats an int vector as "[2, 3]" (a string tensor, for an assert message)."""
    return tf.strings.join(["[", tf.strings.reduce_join(tf.strings.as_string(values), separator=", "), "]"])


def signature_error_reason(error: BaseException) -> str:
    """The one-line reason of an error raised when calling an exported signature.

    Why: TensorFlow wraps the message of a failed in-graph check in several lines
    (node names, "Graph execution error"); command-line tools want just the reason,
    e.g. "sample: label must be in [0, 10), got [12]". Any other error gives its
    first meaningful line.
    """
    text = getattr(error, "message", None) or str(error)
    match = re.search(r"assertion failed: \[(.*)\]", text)
    if match:
        return match.group(1)
    lines = [line.strip() for line in text.splitlines() if line.strip()
             and not line.startswith(("Graph execution error", "Detected at node"))]
    return lines[0] if lines else type(error).__name__
