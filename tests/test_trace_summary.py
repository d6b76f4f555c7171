"""benchmarks/trace_summary.py: op categories and a hand-built profiler trace summed by hand."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import trace_summary  # noqa: E402

PS = 10 ** 12  # picoseconds per second


@pytest.mark.parametrize("name,op_type,expected", [
    ("StatefulPartitionedCall/generator_1/up1_1/conv_transpose", "_MklNativeConv2DBackpropInput",
     "convolution"),
    ("gradient_tape/discriminator/down2/convolution/Conv2DBackpropFilter",
     "Conv2DBackpropFilter", "convolution"),
    ("discriminator/logits/MatMul", "_MklMatMul", "matmul"),
    ("generator/up1_bn/FusedBatchNormV3", "_MklNativeFusedBatchNormEx", "batch norm"),
    ("StatefulPartitionedCall/adam/Mul_3", "Mul", "optimizer"),
    ("StatefulPartitionedCall/loss_scale_optimizer/adam/Sqrt", "Sqrt", "optimizer"),
    ("generator/up1_relu/Relu", "Relu", "other ops"),
    ("discriminator/down1/Cast", "Cast", "casts"),
    ("IteratorGetNext", "IteratorGetNext", "input pipeline"),
    # An activation layer named like a scope must not be taken for the optimizer.
    ("discriminator/down1/LeakyRelu", "LeakyRelu", "other ops"),
])
def test_category(name, op_type, expected):
    assert trace_summary.category(name, op_type) == expected


def test_parse_op_separates_ops_from_runtime_events():
    assert trace_summary.parse_op("a/b/conv:Conv2D") == ("a/b/conv", "Conv2D")
    assert trace_summary.parse_op("ExecutorState::Process") is None
    assert trace_summary.parse_op("Iterator::Root::Prefetch") is None
    assert trace_summary.parse_op("EagerExecute") is None


def test_union_length_against_hand_count():
    # [0, 4) u [2, 6) u [10, 11) u [10.5, 10.7): 6 + 1
    assert trace_summary._union_length([(10, 11), (0, 4), (2, 6), (10.5, 10.7)]) == 7
    assert trace_summary._union_length([]) == 0


def _xspace(lines):
    """An XSpace with one host plane; `lines` = {line name: [(event name, start s, dur s)]}."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    plane = space.planes.add()
    plane.name = "/host:CPU"
    ids = {}
    for line_name, events in lines.items():
        line = plane.lines.add()
        line.name = line_name
        line.timestamp_ns = 1000  # 1 us: offsets are relative to it
        for name, start, duration in events:
            if name not in ids:
                ids[name] = len(ids) + 1
                plane.event_metadata[ids[name]].id = ids[name]
                plane.event_metadata[ids[name]].name = name
            event = line.events.add()
            event.metadata_id = ids[name]
            event.offset_ps = int(start * PS)
            event.duration_ps = int(duration * PS)
    other = space.planes.add()  # a plane that is not the host's: ignored
    other.name = "Task Environment"
    return space


def test_summarize_hand_built_trace():
    space = _xspace({
        "python": [("multi_step_on_iterator", 0.0, 1.0), ("multi_step_on_iterator", 2.0, 1.0),
                   ("EagerLocalExecute: __inference_multi_step_on_iterator_7", 0.0, 1.0)],
        "tf_Compute/1": [
            ("ExecutorState::Process", 0.0, 1.0),            # runtime wrapper: not an op
            ("d/conv:_MklNativeConv2D", 0.1, 0.4),             # convolution 0.4
            ("adam/Mul:Mul", 0.6, 0.1),                        # optimizer 0.1
            ("StatefulPartitionedCall:StatefulPartitionedCall", 0.0, 1.0),  # a call: skipped
            ("d/conv:_MklNativeConv2D", 2.0, 0.5),             # convolution 0.5
            ("g/conv:_MklNativeConv2D", 1.2, 0.5),             # outside every step call
        ],
        "tf_Compute/2": [
            ("d/dense:_MklMatMul", 0.3, 0.4),                  # matmul 0.4, overlaps [0.1, 0.5)
            ("g/relu:Relu", 2.4, 0.2),                         # other 0.2, overlaps [2.0, 2.5)
        ],
        "tf_data_iterator_get_next/1": [
            ("IteratorGetNextOp::DoCompute", 0.0, 0.05),
            ("IteratorGetNextOp::DoCompute", 2.0, 0.15),
        ],
        "tf_data_private_threadpool/1": [("GatherV2:GatherV2", 1.5, 0.3)],  # background
    })
    s = trace_summary.summarize_xspace(space)
    assert s["windows"] == 2
    assert s["window_s"] == pytest.approx(2.0)
    by = s["by_category"]
    assert by["convolution"] == pytest.approx(0.9)
    assert by["optimizer"] == pytest.approx(0.1)
    assert by["matmul"] == pytest.approx(0.4)
    assert by["other ops"] == pytest.approx(0.2)
    assert by["batch norm"] == by["casts"] == by["input pipeline"] == 0
    assert s["op_s"] == pytest.approx(1.6)
    # Busy: [0.1, 0.7) in the first call, [2.0, 2.6) in the second.
    assert s["busy_s"] == pytest.approx(1.2)
    assert s["idle_s"] == pytest.approx(0.8)
    assert s["input_wait_s"] == pytest.approx(0.2)
    assert s["pipeline_thread_s"] == pytest.approx(0.3)
    assert list(s["by_type"]) == ["_MklNativeConv2D", "_MklMatMul", "Relu", "Mul"]
