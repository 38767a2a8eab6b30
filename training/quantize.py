#!/usr/bin/env python3
"""Quantize models/rsvision-shapes.onnx to INT8 (QDQ) with ONNX Runtime.

  python3 training/quantize.py [--model models/rsvision-shapes.onnx] \
      [--out models/rsvision-shapes-int8.onnx] [--seed 500000] [--count 256]

Static post-training quantization (`onnxruntime.quantization.quantize_static`,
QDQ format, so ONNX Runtime and OpenVINO both run it).  Default recipe (the
most faithful to FP32 of those tried, see training/README.md): weights int8
per output channel (symmetric), activations uint8 (asymmetric), ranges from
the 0.001 / 99.999 percentiles of each tensor over the calibration frames.
The convolutions, the neck's adds and upsamplings are quantized (a Conv's
output is quantized with its Relu's range, and runtimes fuse the pair); each level's last 1x1 head conv (raw box distances and class
logits), the box decoding and the class sigmoid stay float32, so the output
is unchanged: float32 [1, 10, 2100].

Calibration frames: render.scene(seed, i, w, h) for i < count, cycling through
the training frame sizes, preprocessed exactly as the rsinfer element does
(evaluate.letterbox: bilinear, aspect kept, centred, padding 114; RGB / 255;
NCHW float32).  The default seed 500000 is neither a training seed (those are
1000000 .. 1000000 + 2^20) nor one the evaluations or tests use (9001, 4242,
424242, 424243, 777, 42).  The output is deterministic given the arguments.

Needs numpy, Pillow, onnxruntime and onnx (onnxruntime.quantization imports
it).  The ONNX metadata (names, imgsz, stride, task, ...) is kept and a
`quantization` entry describing the recipe is added.
"""

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import evaluate  # noqa: E402
import render  # noqa: E402

# Training frame sizes (train.py), cycled through by the calibration frames.
CALIB_SIZES = [(640, 480), (1280, 720), (480, 480), (320, 240),
               (640, 360), (480, 640), (800, 600), (352, 288)]
DEFAULT_SEED = 500_000
DEFAULT_COUNT = 256
TRAIN_SEEDS = range(1_000_000, 1_000_000 + (1 << 20))
TEST_SEEDS = (424242, 424243)
# Operator types quantized by default: all of those before the head concat but
# Relu (the quantizer gives a Conv's output its Relu's range; runtimes fuse them).
DEFAULT_OPS = ("Conv", "Add", "Resize")


def calibration_tensors(seed, count, sizes=CALIB_SIZES):
    """`count` letterboxed renderer frames as [1, 3, 320, 320] float32 tensors."""
    out = []
    for i in range(count):
        w, h = sizes[i % len(sizes)]
        frame, _ = render.scene(seed, i, w, h)
        lb, _ = evaluate.letterbox(frame)
        out.append(evaluate.to_tensor(lb))
    return out


class Reader:
    """An onnxruntime.quantization.CalibrationDataReader over precomputed tensors."""

    def __init__(self, tensors, input_name="images"):
        self.tensors = tensors
        self.input_name = input_name
        self.pos = 0

    def get_next(self):
        if self.pos >= len(self.tensors):
            return None
        self.pos += 1
        return {self.input_name: self.tensors[self.pos - 1]}

    def rewind(self):
        self.pos = 0


def decode_nodes(model):
    """Names of the nodes between the head concat (the Concat of the three
    levels' reshaped head outputs, raw [1, 10, 2100]) and the graph output:
    box decoding and class sigmoid.  The head concat itself is included."""
    producers = {o: n for n in model.graph.node for o in n.output}
    names, todo = set(), [producers[model.graph.output[0].name]]
    while todo:
        n = todo.pop()
        if n.name in names:
            continue
        names.add(n.name)
        if n.op_type == "Concat" and n.input and all(
                i in producers and producers[i].op_type == "Reshape" for i in n.input):
            continue  # the head concat: stop here
        todo += [producers[i] for i in n.input if i in producers]
    return sorted(names)


def head_output_convs(model):
    """The last 1x1 conv of each level's head (raw box and class outputs)."""
    producers = {o: n for n in model.graph.node for o in n.output}
    out = []
    for n in model.graph.node:
        if n.op_type == "Reshape" and n.input[0] in producers \
                and producers[n.input[0]].op_type == "Conv":
            out.append(producers[n.input[0]].name)
    return sorted(out)


def describe(o):
    act = f"{o.activation_type} {'symmetric' if o.symmetric_activations else 'asymmetric'}"
    method = o.method + (f" {o.percentile}" if o.method == "percentile" else "")
    fl = {"decode": "box decoding and class sigmoid after the head concat in float",
          "head": "the heads' last 1x1 convs and the decoding in float",
          "none": "everything quantized"}[o.keep_float]
    return (f"ONNX Runtime {ort_version()} quantize_static, QDQ; weights {o.weight_type} "
            f"per-channel symmetric; activations {act}, {method} calibration on {o.count} "
            f"render.py scenes (seed {o.seed}, training frame sizes, letterboxed to "
            f"320x320); {'/'.join(o.ops) if o.keep_float != 'none' else 'all'} ops "
            f"quantized, {fl}; training/quantize.py")


def ort_version():
    import onnxruntime
    return onnxruntime.__version__


def quantize(o, tensors=None):
    """Quantizes o.model into o.out following the options `o` (see parser())."""
    import onnx
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = onnx.load(o.model)
    meta = [(p.key, p.value) for p in model.metadata_props if p.key != "quantization"]
    exclude = {"decode": decode_nodes(model),
               "head": decode_nodes(model) + head_output_convs(model),
               "none": []}[o.keep_float]
    if tensors is None:
        tensors = calibration_tensors(o.seed, o.count)
    qtype = {"qint8": QuantType.QInt8, "quint8": QuantType.QUInt8}
    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "percentile": CalibrationMethod.Percentile}[o.method]
    extra = {"ActivationSymmetric": o.symmetric_activations, "WeightSymmetric": True,
             # the percentile calibrator makes ranges symmetric unless told otherwise
             "CalibTensorRangeSymmetric": o.symmetric_activations}
    if o.method == "percentile":
        extra["CalibPercentile"] = o.percentile
    with tempfile.TemporaryDirectory() as tmp:
        src = o.model
        if o.preprocess:
            src = os.path.join(tmp, "pre.onnx")
            quant_pre_process(o.model, src, skip_symbolic_shape=True)
        out = os.path.join(tmp, "q.onnx")
        quantize_static(src, out, Reader(tensors),
                        quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=list(o.ops) if o.keep_float != "none" else None,
                        per_channel=True,
                        activation_type=qtype[o.activation_type],
                        weight_type=qtype[o.weight_type],
                        calibrate_method=method,
                        nodes_to_exclude=exclude,
                        extra_options=extra)
        q = onnx.load(out)
    # quantize_static copies metadata_props in current versions: set them in any case
    del q.metadata_props[:]
    for k, v in meta:
        q.metadata_props.add(key=k, value=v)
    q.metadata_props.add(key="quantization", value=describe(o))
    q.producer_name = "gst-plugin-rsvision training/quantize.py"
    q.producer_version = ort_version()
    onnx.checker.check_model(q)
    onnx.save(q, o.out)
    return o.out


def parser():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(HERE, "..", "models", "rsvision-shapes.onnx"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models", "rsvision-shapes-int8.onnx"))
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED,
                    help="calibration render seed (not a training or test seed)")
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT, help="calibration frames")
    ap.add_argument("--method", choices=["minmax", "entropy", "percentile"], default="percentile")
    ap.add_argument("--percentile", type=float, default=99.999)
    ap.add_argument("--activation-type", choices=["qint8", "quint8"], default="quint8",
                    help="quint8: OpenVINO 2026.4's CPU plugin cannot compile qint8 activations, "
                         "and ONNX Runtime's x86 kernels are U8S8")
    ap.add_argument("--weight-type", choices=["qint8", "quint8"], default="qint8")
    ap.add_argument("--symmetric-activations", action="store_true")
    ap.add_argument("--ops", default=",".join(DEFAULT_OPS),
                    help="operator types to quantize, comma-separated (not with --keep-float none)")
    ap.add_argument("--keep-float", choices=["decode", "head", "none"], default="head",
                    help="decode: the decoding after the head concat stays float; head: also "
                         "the heads' last 1x1 convs; none: quantize every op type")
    ap.add_argument("--preprocess", action="store_true",
                    help="run onnxruntime's quant_pre_process (shape inference, optimisation) first")
    return ap


def parse(argv=None):
    o = parser().parse_args(argv)
    o.ops = tuple(x for x in o.ops.split(",") if x)
    return o


def main(argv=None):
    o = parse(argv)
    if o.seed in TRAIN_SEEDS or o.seed in TEST_SEEDS:
        print(f"seed {o.seed} is a training or test seed", file=sys.stderr)
        return 2
    out = quantize(o)
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.2f} MB): {describe(o)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
