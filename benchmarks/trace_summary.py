"""Reading a TensorFlow profiler trace back: op time by category, idle time, input waits
(for `profile_step.py`; no flags, so tests and other scripts can import it)."""

import glob
import os

CATEGORIES = ("convolution", "matmul", "batch norm", "optimizer", "casts", "input pipeline",
              "other ops")

_PIPELINE_TYPES = {"IteratorGetNext", "IteratorGetNextAsOptional", "OptionalGetValue",
                   "OptionalHasValue", "MultiDeviceIteratorGetNextFromShard"}
# Ops that only call other ops: their time is their callees', counted there.
_CALL_TYPES = {"StatefulPartitionedCall", "PartitionedCall", "While", "If", "StatelessIf",
               "StatelessWhile", "Case"}


def category(name, op_type):
    """The category of one op, from its type and, for the optimizer, its name scope.

    Keras 3 writes Adam's update as ordinary arithmetic under the optimizer's name scope
    (`.../adam/...`), so the scope, not the type, marks it.
    """
    lowered = op_type.lower()
    if "conv" in lowered and ("2d" in lowered or "3d" in lowered):
        return "convolution"
    if "matmul" in lowered:
        return "matmul"
    if "batchnorm" in lowered:
        return "batch norm"
    if op_type in _PIPELINE_TYPES:
        return "input pipeline"
    scopes = name.lower().split("/")
    if op_type.startswith("ResourceApply") or any(
            s.startswith(("adam", "sgd", "rmsprop", "optimizer", "loss_scale_optimizer"))
            for s in scopes):
        return "optimizer"
    if op_type == "Cast":
        return "casts"
    return "other ops"


def parse_op(event_name):
    """(name, type) of a trace event that is a TensorFlow op ("scope/name:Type"), else None.

    Runtime events ("ExecutorState::Process", "Iterator::Root") contain '::' and are not ops.
    """
    if "::" in event_name or ":" not in event_name:
        return None
    name, op_type = event_name.rsplit(":", 1)
    if not op_type or not name:
        return None
    return name, op_type


def _union_length(intervals):
    """Total length covered by a list of (start, end) intervals."""
    total, current_start, current_end = 0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


def summarize_xspace(xspace, window_name="multi_step_on_iterator"):
    """Op time by category, op type, and idle time, from a profiler `XSpace`.

    Only the host CPU plane is read. Lines whose name starts with "tf_data" are the input
    pipeline's background threads: their op time is reported apart (`pipeline_thread_s`),
    as it overlaps the step. The profiled wall time is the sum of the `window_name` events
    (Keras's step function, one per call); "no op running" is that wall time minus the
    union of all op intervals inside it.

    Returns a dict of seconds: by_category, by_type, op_s, window_s, busy_s, idle_s,
    pipeline_thread_s, input_wait_s, and windows (the number of step calls seen).
    """
    by_category = {c: 0.0 for c in CATEGORIES}
    by_type = {}
    windows, intervals, waits, pipeline_ps = [], [], [], 0
    for plane in xspace.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = {k: m.name for k, m in plane.event_metadata.items()}
        for line in plane.lines:
            background = line.name.startswith("tf_data")
            for event in line.events:
                name = names.get(event.metadata_id, "")
                start = line.timestamp_ns * 1000 + event.offset_ps
                end = start + event.duration_ps
                if name == window_name or name.startswith(window_name + " "):
                    windows.append((start, end))
                    continue
                if name.startswith("EagerLocalExecute: ") and window_name in name:
                    continue
                if name == "IteratorGetNextOp::DoCompute":
                    waits.append((start, end))
                    continue
                op = parse_op(name)
                if op is None or op[1] in _CALL_TYPES:
                    continue
                if background:
                    pipeline_ps += event.duration_ps
                    continue
                intervals.append((start, end, op))
    window_ps = sum(end - start for start, end in windows)
    inside = [(s, e, op) for s, e, op in intervals
              if any(ws <= s and e <= we for ws, we in windows)] if windows else intervals
    for s, e, (name, op_type) in inside:
        seconds = (e - s) / 1e12
        by_category[category(name, op_type)] += seconds
        by_type[op_type] = by_type.get(op_type, 0.0) + seconds
    busy_ps = _union_length([(s, e) for s, e, _ in inside])
    wait_ps = sum(e - s for s, e in waits
                  if not windows or any(ws <= s and e <= we for ws, we in windows))
    return dict(by_category=by_category,
                by_type=dict(sorted(by_type.items(), key=lambda kv: -kv[1])),
                op_s=sum(by_category.values()), window_s=window_ps / 1e12,
                busy_s=busy_ps / 1e12, idle_s=max(window_ps - busy_ps, 0) / 1e12,
                pipeline_thread_s=pipeline_ps / 1e12, input_wait_s=wait_ps / 1e12,
                windows=len(windows))


def read_trace(logdir):
    """The `XSpace` of the one profile written under `logdir`."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    files = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
    if len(files) != 1:
        raise RuntimeError(f"expected one profiler trace under {logdir}, found {len(files)}")
    xspace = xplane_pb2.XSpace()
    with open(files[0], "rb") as f:
        xspace.ParseFromString(f.read())
    return xspace
