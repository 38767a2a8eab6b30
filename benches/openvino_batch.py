"""Cross-stream batching against OpenVINO's throughput streams, on this machine.

Images per second of one model compiled (a) with the LATENCY hint, one request at a time;
(b) with the THROUGHPUT hint, its optimal number of requests in flight (one frame each:
what N rsinfer elements sharing one model do); (c) reshaped to batch B (B = 2, 4) with the
LATENCY hint, one request of B frames at a time (what DL Streamer's batch-size across
elements does). Used to decide whether rsinfer batches frames of several streams.

    ~/.cache/rsvision/venv/bin/python benches/openvino_batch.py [MODEL.onnx ...]
"""
import sys
import time

import numpy as np
import openvino as ov

SECONDS = 6.0


def rate(fn, images_per_call):
    fn()  # warm up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        fn()
        n += 1
    return n * images_per_call / (time.perf_counter() - start)


def main():
    models = sys.argv[1:] or [
        "../shared/models/yolov8n_320_random.onnx",
        "../shared/models/yolov8n_640_random.onnx",
    ]
    core = ov.Core()
    for path in models:
        model = core.read_model(path)
        _, c, h, w = model.inputs[0].shape
        one = np.random.rand(1, c, h, w).astype(np.float32)
        lat = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": "LATENCY"})
        req = lat.create_infer_request()
        base = rate(lambda: req.infer({0: one}), 1)
        print(f"{path}: latency hint, 1 request: {base:.1f} images/s")

        thr = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
        nreq = thr.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
        queue = ov.AsyncInferQueue(thr, nreq)

        def streams():
            for _ in range(nreq * 4):
                queue.start_async({0: one})
            queue.wait_all()

        r = rate(streams, nreq * 4)
        print(f"  throughput hint, {nreq} requests in flight: {r:.1f} images/s ({r / base:.2f}x)")

        for b in (2, 4):
            m = core.read_model(path)
            try:
                m.reshape([b, c, h, w])
            except RuntimeError as e:
                first = str(e).strip().splitlines()[0][:80]
                print(f"  batch {b}: the graph fixes batch 1 (Ultralytics' static export): {first}")
                break
            batched = core.compile_model(m, "CPU", {"PERFORMANCE_HINT": "LATENCY"})
            breq = batched.create_infer_request()
            x = np.random.rand(b, c, h, w).astype(np.float32)
            r = rate(lambda: breq.infer({0: x}), b)
            print(f"  batch {b}, latency hint: {r:.1f} images/s ({r / base:.2f}x)")


if __name__ == "__main__":
    main()
