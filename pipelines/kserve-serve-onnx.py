#!/usr/bin/env python3
"""A KServe v2 server (the `kserve` PyPI package) serving ONNX models with onnxruntime.

The real server rsinfer's `backend=ovms` is tested against (REFERENCE.md section 7): REST
(JSON and the binary tensor extension) and gRPC (`inference.GRPCInferenceService`), the
protocol OpenVINO Model Server, Triton and KServe speak.

    pipelines/kserve-serve-onnx.py --http_port 18000 --grpc_port 19000 --model shapes=models/rsvision-shapes.onnx

`--model NAME=PATH` may repeat. Metadata comes from the ONNX graph (symbolic dimensions are
-1). Runs until SIGTERM/SIGINT. Needs the venv made by scripts/setup.sh --test
(${RSVISION_KSERVE_VENV:-~/.cache/rsvision/kserve-venv}).
"""
import argparse
import sys

# kserve parses sys.argv when imported; a 640x640 FP32 frame (4.9 MB) needs more than gRPC's
# default 4 MB message limit, unless the caller set one.
if not any(a.startswith("--grpc_max_receive_message_length") for a in sys.argv):
    sys.argv += ["--grpc_max_receive_message_length", str(256 << 20)]

import numpy as np
import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer
from kserve import model_server

ONNX_TO_V2 = {
    "tensor(float)": "FP32",
    "tensor(float16)": "FP16",
    "tensor(double)": "FP64",
    "tensor(uint8)": "UINT8",
    "tensor(int8)": "INT8",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(bool)": "BOOL",
}
NP_TO_V2 = {
    np.dtype("float32"): "FP32",
    np.dtype("float16"): "FP16",
    np.dtype("float64"): "FP64",
    np.dtype("uint8"): "UINT8",
    np.dtype("int32"): "INT32",
    np.dtype("int64"): "INT64",
}


def describe(arg):
    shape = [d if isinstance(d, int) else -1 for d in arg.shape]
    return {"name": arg.name, "datatype": ONNX_TO_V2.get(arg.type, "BYTES"), "shape": shape}


class OnnxModel(Model):
    def __init__(self, name, path):
        super().__init__(name)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.ready = True

    def get_input_types(self):
        return [describe(i) for i in self.session.get_inputs()]

    def get_output_types(self):
        return [describe(o) for o in self.session.get_outputs()]

    async def predict(self, payload: InferRequest, headers=None, response_headers=None):
        feeds = {}
        for inp, meta in zip(payload.inputs, self.session.get_inputs()):
            feeds[inp.name or meta.name] = inp.as_numpy()
        names = [o.name for o in self.session.get_outputs()]
        results = self.session.run(names, feeds)
        outputs = []
        for name, value in zip(names, results):
            value = np.ascontiguousarray(value)
            out = InferOutput(name=name, shape=list(value.shape), datatype=NP_TO_V2[value.dtype])
            out.set_data_from_numpy(value, binary_data=True)
            outputs.append(out)
        return InferResponse(
            response_id=payload.id,
            model_name=self.name,
            infer_outputs=outputs,
            use_binary_outputs=payload.use_binary_outputs,
            requested_outputs=payload.request_outputs,
        )


def main():
    parser = argparse.ArgumentParser(parents=[model_server.parser], conflict_handler="resolve")
    parser.add_argument("--model", action="append", required=True, help="NAME=PATH of an ONNX model")
    args, _ = parser.parse_known_args()
    models = []
    for spec in args.model:
        name, path = spec.split("=", 1)
        models.append(OnnxModel(name, path))
    ModelServer(
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        enable_docs_url=False,
        enable_latency_logging=False,
        grace_period=1,
    ).start(models)


if __name__ == "__main__":
    main()
