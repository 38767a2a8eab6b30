#!/usr/bin/env python3
"""Compare detectors (e.g. FP32 vs INT8) on the same fresh scenes: accuracy and speed.

  python3 training/compare.py models/rsvision-shapes.onnx models/rsvision-shapes-int8.onnx \
      [--seed 4242] [--count 60] [--sizes 640x480,1280x720] [--backend ort|openvino|both]

For each model and backend: precision / recall at conf 0.25 and 0.5 (evaluate.py's
pre/post-processing and matching: IoU 0.5, labels equal), mAP@0.5 (all-point
interpolated AP per class, averaged), agreement with the first model (share of frames
where both find the same objects at conf 0.5: one-to-one, same label, IoU >= 0.7) and
speed: model-only inference on one letterboxed frame, images/s (median of the rounds,
interleaved between the models).

ONNX Runtime: CPU provider, all graph optimisations, no spinning threads (as the
rsinfer element), intra-op threads default (--threads to set). OpenVINO (if
importable): CPU, PERFORMANCE_HINT LATENCY (--ov-precision f32 to keep an FP32 model in
f32: the CPU plugin's default is bf16 where the CPU has it).
"""

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import evaluate  # noqa: E402
import render  # noqa: E402

AP_CONF = 0.01


class OrtRunner:
    name = "onnxruntime"

    def __init__(self, path, threads=0, precision=None):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
        if threads:
            so.intra_op_num_threads = threads
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.version = ort.__version__

    def __call__(self, x):
        return self.sess.run(["output0"], {"images": x})[0]


class OvRunner:
    name = "openvino"

    def __init__(self, path, threads=0, precision=None):
        import openvino as ov
        core = ov.Core()
        cfg = {"PERFORMANCE_HINT": "LATENCY"}
        if precision:
            cfg["INFERENCE_PRECISION_HINT"] = precision
        if threads:
            cfg["INFERENCE_NUM_THREADS"] = threads
        self.compiled = core.compile_model(path, "CPU", cfg)
        self.req = self.compiled.create_infer_request()
        self.out = self.compiled.output(0)
        self.version = ov.__version__

    def __call__(self, x):
        return self.req.infer({0: x})[self.out].copy()


def frames(seed, count, sizes):
    """[(tensor, geometry, w, h, truth)] for `count` scenes of each size."""
    out = []
    for w, h in sizes:
        for i in range(count):
            frame, truth = render.scene(seed, i, w, h)
            lb, geom = evaluate.letterbox(frame)
            out.append((evaluate.to_tensor(lb), geom, w, h, truth))
    return out


def ap50(scored, n_truth):
    """scored: [(confidence, is_tp)]; all-point interpolated AP."""
    if n_truth == 0:
        return float("nan")
    if not scored:
        return 0.0
    scored = sorted(scored, key=lambda s: -s[0])
    tp = np.cumsum([s[1] for s in scored])
    fp = np.cumsum([not s[1] for s in scored])
    rec = tp / n_truth
    prec = tp / np.maximum(tp + fp, 1)
    mrec = np.concatenate([[0.0], rec, [rec[-1]]])
    mpre = np.concatenate([[1.0], prec, [0.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def same_objects(a, b, iou_thr=0.7):
    """True if detection lists a and b pair up one-to-one (same label, IoU >= iou_thr)."""
    if len(a) != len(b):
        return False
    if not a:
        return True
    ba = np.array([d[:4] for d in a], np.float32)
    bb = np.array([d[:4] for d in b], np.float32)
    ious = evaluate.iou_matrix(ba, bb)
    used = [False] * len(b)
    for i, d in enumerate(a):
        best, bj = iou_thr, -1
        for j, e in enumerate(b):
            if not used[j] and e[5] == d[5] and ious[i, j] >= best:
                best, bj = ious[i, j], j
        if bj < 0:
            return False
        used[bj] = True
    return True


def covered(a, b, iou_thr=0.7):
    """True if every detection of a has one in b (same label, IoU >= iou_thr), one-to-one."""
    if not a:
        return True
    if len(b) < len(a):
        return False
    ious = evaluate.iou_matrix(np.array([d[:4] for d in a], np.float32),
                               np.array([d[:4] for d in b], np.float32))
    used = [False] * len(b)
    for i, d in enumerate(a):
        best, bj = iou_thr, -1
        for j, e in enumerate(b):
            if not used[j] and e[5] == d[5] and ious[i, j] >= best:
                best, bj = ious[i, j], j
        if bj < 0:
            return False
        used[bj] = True
    return True


def agreement(ref, kept):
    """(strict, tolerant) shares of frames where the two models find the same objects.
    strict: the conf-0.5 detections pair up one-to-one; tolerant: each model's conf-0.5
    detections are among the other's conf-0.25 ones (a score crossing 0.5 is no miss)."""
    strict = sum(same_objects(x[0], y[0]) for x, y in zip(ref, kept)) / len(kept)
    tol = sum(covered(x[0], y[1]) and covered(y[0], x[1]) for x, y in zip(ref, kept)) / len(kept)
    return strict, tol


def evaluate_model(run, data):
    """Accuracy figures and the conf-0.5 detections of every frame."""
    c25, c50 = evaluate.Counter(), evaluate.Counter()
    per_class = {k: [] for k in range(len(render.LABELS))}
    n_class = {k: 0 for k in range(len(render.LABELS))}
    kept = []
    for x, geom, w, h, truth in data:
        out = run(x)
        dets = evaluate.decode(out, geom, w, h, conf=AP_CONF)
        for t in truth:
            n_class[t["label_id"]] += 1
        # AP: match all detections >= AP_CONF, per class, greedy by confidence
        for k in per_class:
            dk = [d for d in dets if d[5] == k]
            tk = [t for t in truth if t["label_id"] == k]
            tp, fp, fn, fps, _ = evaluate.match(dk, tk)
            fp_ids = {id(d) for d in fps}
            per_class[k] += [(d[4], id(d) not in fp_ids) for d in dk]
        d25 = [d for d in dets if d[4] >= 0.25]
        d50 = [d for d in dets if d[4] >= 0.5]
        c25.add(d25, truth)
        c50.add(d50, truth)
        kept.append((d50, d25))
    aps = [ap50(per_class[k], n_class[k]) for k in per_class if n_class[k]]
    return {"p25": c25.precision, "r25": c25.recall, "p50": c50.precision,
            "r50": c50.recall, "map50": float(np.mean(aps)), "objects": c50.tp + c50.fn}, kept


def speed(runners, x, rounds=5, n=100):
    """images/s of each runner (median of `rounds` rounds of `n`, interleaved)."""
    for r in runners:
        for _ in range(10):
            r(x)
    rates = [[] for _ in runners]
    for _ in range(rounds):
        for k, r in enumerate(runners):
            t0 = time.perf_counter()
            for _ in range(n):
                r(x)
            rates[k].append(n / (time.perf_counter() - t0))
    return [float(np.median(v)) for v in rates]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="ONNX models; the first is the reference")
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--count", type=int, default=60, help="scenes per frame size")
    ap.add_argument("--sizes", default="640x480,1280x720")
    ap.add_argument("--backend", choices=["ort", "openvino", "both"], default="ort")
    ap.add_argument("--threads", type=int, default=0, help="0: the runtime's default")
    ap.add_argument("--ov-precision", choices=["f32", "bf16"],
                    help="OpenVINO INFERENCE_PRECISION_HINT (default: the plugin's; bf16 on CPUs "
                         "with AMX or AVX512-BF16, so FP32 models run their convolutions in bf16)")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--speed-runs", type=int, default=100, help="inferences per round")
    ap.add_argument("--speed-rounds", type=int, default=5, help="rounds (median reported)")
    a = ap.parse_args(argv)

    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
    data = frames(a.seed, a.count, sizes)
    backends = {"ort": [OrtRunner], "openvino": [OvRunner],
                "both": [OrtRunner, OvRunner]}[a.backend]
    print(f"seed {a.seed}, {a.count} scenes of each of {a.sizes}; threads "
          f"{a.threads or 'default'}; {os.cpu_count()} CPUs")
    for cls in backends:
        runners = [cls(m, a.threads, a.ov_precision) for m in a.models]
        print(f"\n{cls.name} {runners[0].version}")
        ref = None
        results = []
        for m, r in zip(a.models, runners):
            res, kept = evaluate_model(r, data)
            if ref is None:
                ref = kept
            res["agree"], res["agree_tol"] = agreement(ref, kept)
            results.append(res)
        rates = (speed(runners, data[0][0], rounds=a.speed_rounds, n=a.speed_runs) if not a.no_speed
                 else [float("nan")] * len(runners))
        for m, res, rate in zip(a.models, results, rates):
            print(f"{os.path.basename(m):>36}: conf 0.5 P {res['p50']:.3f} R {res['r50']:.3f} | "
                  f"conf 0.25 P {res['p25']:.3f} R {res['r25']:.3f} | mAP50 {res['map50']:.3f} | "
                  f"same objects as first {res['agree'] * 100:.1f} % "
                  f"(tolerant {res['agree_tol'] * 100:.1f} %) | {rate:.1f} images/s "
                  f"({os.path.getsize(m) / 1e6:.2f} MB, {res['objects']} objects)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
