#!/usr/bin/env python3
"""Makes the tiny ONNX models the rsinfer tests use (committed next to this script).

Each detector model outputs a constant tensor (plus 0 x the mean of the input, so the graph
depends on its input) holding known boxes, which lets the tests check decoding, NMS,
thresholds and the mapping back to frame pixels exactly.

    python3 -m venv /tmp/onnxgen && /tmp/onnxgen/bin/pip install onnx numpy
    /tmp/onnxgen/bin/python tests/data/make_test_models.py

Boxes, in pixels of the 64x64 model input (cx, cy, w, h, class, score):
    (32, 32, 16,  8, 0, 0.9)   alpha
    (10, 20,  8,  8, 1, 0.6)   beta
    (11, 20,  8,  8, 1, 0.5)   beta, IoU 0.78 with the one above: removed by NMS at 0.45
    (11, 20,  8,  8, 2, 0.3)   gamma, same place, other class: kept
    (60, 60, 10, 10, 0, 0.2)   below the default confidence threshold
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
BOXES = [
    (32, 32, 16, 8, 0, 0.9),
    (10, 20, 8, 8, 1, 0.6),
    (11, 20, 8, 8, 1, 0.5),
    (11, 20, 8, 8, 2, 0.3),
    (60, 60, 10, 10, 0, 0.2),
]
C = 3
NAMES = "{0: 'alpha', 1: 'beta', 2: 'gamma'}"


def anchors(w, h):
    return sum((w // s) * (h // s) for s in (8, 16, 32))


def constant_model(name, out_value, input_shape=(1, 3, 64, 64), metadata=None, input_name="images",
                   protos=None):
    inp = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(input_shape))
    outs = [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(out_value.shape))]
    nodes = [
        helper.make_node("ReduceMean", [input_name], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["zeroed"]),
        helper.make_node("Add", ["const", "zeroed"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(out_value.astype(np.float32), "const"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
    ]
    if protos is not None:
        # A second output shaped like YOLOv8-seg's mask prototypes.
        outs.append(helper.make_tensor_value_info("output1", TensorProto.FLOAT, list(protos.shape)))
        nodes.append(helper.make_node("Add", ["protos", "zeroed"], ["output1"]))
        inits.append(numpy_helper.from_array(protos.astype(np.float32), "protos"))
    graph = helper.make_graph(nodes, name, [inp], outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        p = model.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name + ".onnx"))


def v8(w=64, h=64):
    n = anchors(w, h)
    t = np.zeros((1, 4 + C, n), dtype=np.float32)
    for i, (cx, cy, bw, bh, c, s) in enumerate(BOXES):
        t[0, 0:4, i] = (cx, cy, bw, bh)
        t[0, 4 + c, i] = s
    return t


def v5(w=64, h=64):
    n = 3 * anchors(w, h)
    t = np.zeros((1, n, 5 + C), dtype=np.float32)
    for i, (cx, cy, bw, bh, c, s) in enumerate(BOXES):
        # objectness 1, class score s: score = s
        t[0, i, 0:5] = (cx, cy, bw, bh, 1.0)
        t[0, i, 5 + c] = s
    # A row with high class score but low objectness: 0.2 x 1.0 stays below 0.25.
    t[0, len(BOXES), 0:5] = (40, 40, 4, 4, 0.2)
    t[0, len(BOXES), 5] = 1.0
    return t


def e2e(k=8):
    t = np.zeros((1, k, 6), dtype=np.float32)
    # End-to-end exports did NMS already: only the three survivors and the weak one.
    for i, (cx, cy, bw, bh, c, s) in enumerate(b for j, b in enumerate(BOXES) if j != 2):
        t[0, i] = (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, s, c)
    return t


meta = {"names": NAMES, "imgsz": "[64, 64]", "stride": "32", "task": "detect"}
constant_model("const_v8", v8(), metadata=meta)
constant_model("const_v5", v5(), metadata=meta)
constant_model("const_e2e", e2e(), metadata=meta)
constant_model("const_v8_nolabels", v8())
# Dynamic spatial input: the size comes from the imgsz metadata.
constant_model("const_v8_dynamic", v8(), input_shape=(1, 3, "height", "width"), metadata=meta)
# Not detectors.
constant_model("const_v8_pose", v8(), metadata=dict(meta, task="pose"))
constant_model("const_v8_seg", v8(), protos=np.zeros((1, 32, 16, 16), np.float32))
constant_model("no_image_input", np.zeros((1, 10), np.float32), input_shape=(1, 10), input_name="x")
constant_model("classifier", np.zeros((1, 1000), np.float32))


def colour_classifier(name, size=32, scale=20.0, softmaxed=False, metadata=None, batch=1):
    """A classifier of the dominant colour: logits = scale x the mean of each input channel
    ([1, 3]: red, green, blue), softmaxed inside the graph as Ultralytics exports are when
    `softmaxed`. A pure red crop gives red with probability ~1, so the tests can check which
    pixels each crop took. `batch="N"` makes the batch axis dynamic."""
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, size, size])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, 3])
    nodes = [
        helper.make_node("ReduceMean", ["images", "axes"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "scale"], ["logits" if softmaxed else "output0"]),
    ]
    if softmaxed:
        nodes.append(helper.make_node("Softmax", ["logits"], ["output0"], axis=1))
    inits = [
        numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes"),
        numpy_helper.from_array(np.array(scale, dtype=np.float32), "scale"),
    ]
    graph = helper.make_graph(nodes, name, [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        p = model.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name + ".onnx"))


def pool_probe(name, size=224, cells=8, scale=10.0):
    """A "classifier" whose 3 x cells x cells logits are 10 x the mean of each cell of the
    input, per channel: its top class and probability move with any change in which pixels
    a crop took or how they were resampled (tests/parity_classify.rs)."""
    k = size // cells
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 3 * cells * cells])
    nodes = [
        helper.make_node("AveragePool", ["images"], ["pooled"], kernel_shape=[k, k], strides=[k, k]),
        helper.make_node("Reshape", ["pooled", "shape"], ["flat"]),
        helper.make_node("Mul", ["flat", "scale"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([1, 3 * cells * cells], dtype=np.int64), "shape"),
        numpy_helper.from_array(np.array(scale, dtype=np.float32), "scale"),
    ]
    graph = helper.make_graph(nodes, name, [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name + ".onnx"))


def batch_probe(name, size=32, scale=20.0):
    """A dynamic-batch "colour classifier" whose every row is the logits of the mean colour of
    the whole batch: the crops given together get one label, so a test sees how rsinfer
    grouped them (one by one, every crop its own colour)."""
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, size, size])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["N", 3])
    nodes = [
        helper.make_node("ReduceMean", ["images", "axes"], ["rows"], keepdims=0),
        helper.make_node("ReduceMean", ["rows", "batch_axis"], ["batch_mean"], keepdims=1),
        helper.make_node("Mul", ["rows", "zero"], ["zeroed"]),
        helper.make_node("Add", ["zeroed", "batch_mean"], ["mean"]),
        helper.make_node("Mul", ["mean", "scale"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "batch_axis"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array(scale, dtype=np.float32), "scale"),
    ]
    graph = helper.make_graph(nodes, name, [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    p = model.metadata_props.add()
    p.key, p.value = "names", COLOURS
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name + ".onnx"))


pool_probe("pool_probe_224")

COLOURS = "{0: 'red', 1: 'green', 2: 'blue'}"
colour_classifier("colour_logits", metadata={"names": COLOURS})
colour_classifier("colour_logits_dyn", metadata={"names": COLOURS}, batch="N")
batch_probe("batch_probe")
colour_classifier("colour_cls", softmaxed=True,
                  metadata={"names": COLOURS, "task": "classify", "imgsz": "[32, 32]"})
print("written to", HERE)
