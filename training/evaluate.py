#!/usr/bin/env python3
"""Evaluate models/rsvision-shapes.onnx on freshly rendered scenes.

numpy + Pillow (via render.py) + onnxruntime only; no torch.

  python3 training/evaluate.py [--model models/rsvision-shapes.onnx] \
      [--seed 9001] [--count 200] [--sizes 640x480,1280x720,...]
  python3 training/evaluate.py --raw FILE.rgb --truth FILE.json   # e.g. demo video

Pipeline (mirrors what the rsinfer element does): letterbox the RGB frame to
320x320 (aspect kept, centred, bilinear, padding 114), /255, NCHW float32;
run; output0 is [1, 4+C, N] = cx, cy, w, h (input pixels) + C sigmoid scores;
confidence threshold 0.25, per-class NMS at IoU 0.45, map back to frame
pixels; greedy matching by confidence at IoU >= 0.5 with equal labels.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import render  # noqa: E402

INPUT = 320
PAD_VALUE = 114


# --------------------------------------------------------------------------
# Pre/post-processing (numpy)
# --------------------------------------------------------------------------

def letterbox_geometry(w, h, size=INPUT):
    """Scale and padding used for a w x h frame: returns (r, nw, nh, left, top)."""
    r = min(size / w, size / h)
    nw, nh = int(round(w * r)), int(round(h * r))
    left, top = (size - nw) // 2, (size - nh) // 2
    return r, nw, nh, left, top


def resize_bilinear(img, nw, nh):
    """Plain bilinear resize (half-pixel centres, no antialiasing), numpy."""
    h, w = img.shape[:2]
    if (w, h) == (nw, nh):
        return img.copy()
    xs = (np.arange(nw, dtype=np.float32) + 0.5) * (w / nw) - 0.5
    ys = (np.arange(nh, dtype=np.float32) + 0.5) * (h / nh) - 0.5
    xs = np.clip(xs, 0, w - 1)
    ys = np.clip(ys, 0, h - 1)
    x0 = np.floor(xs).astype(np.int64)
    y0 = np.floor(ys).astype(np.int64)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (xs - x0)[None, :, None]
    fy = (ys - y0)[:, None, None]
    f = img.astype(np.float32)
    top = f[y0][:, x0] * (1 - fx) + f[y0][:, x1] * fx
    bot = f[y1][:, x0] * (1 - fx) + f[y1][:, x1] * fx
    out = top * (1 - fy) + bot * fy
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def letterbox(img, size=INPUT, resized=None):
    """uint8 HxWx3 -> uint8 size x size x 3 letterboxed, plus geometry."""
    h, w = img.shape[:2]
    r, nw, nh, left, top = letterbox_geometry(w, h, size)
    if resized is None:
        resized = resize_bilinear(img, nw, nh)
    out = np.full((size, size, 3), PAD_VALUE, np.uint8)
    out[top:top + nh, left:left + nw] = resized
    return out, (r, left, top)


def to_tensor(lb):
    return np.ascontiguousarray(lb.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)


def iou_matrix(a, b):
    """a: (n,4), b: (m,4) xyxy -> (n,m)"""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(aa[:, None] + ab[None, :] - inter, 1e-9)


def nms(boxes, scores, iou_thr):
    order = np.argsort(-scores)
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        if len(order) == 1:
            break
        ious = iou_matrix(boxes[i:i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_thr]
    return np.array(keep, dtype=np.int64)


def decode(output, geom, frame_w, frame_h, conf=0.25, iou=0.45):
    """output: [1, 4+C, N] -> list of (x0, y0, x1, y1, score, label_id) in frame px."""
    out = output[0]
    cls = out[4:]
    label = cls.argmax(axis=0)
    score = cls.max(axis=0)
    m = score >= conf
    if not m.any():
        return []
    cx, cy, w, h = out[0, m], out[1, m], out[2, m], out[3, m]
    label, score = label[m], score[m]
    r, left, top = geom
    x0 = np.clip((cx - w / 2 - left) / r, 0, frame_w)
    y0 = np.clip((cy - h / 2 - top) / r, 0, frame_h)
    x1 = np.clip((cx + w / 2 - left) / r, 0, frame_w)
    y1 = np.clip((cy + h / 2 - top) / r, 0, frame_h)
    boxes = np.stack([x0, y0, x1, y1], axis=1)
    dets = []
    for c in np.unique(label):
        idx = np.where(label == c)[0]
        k = nms(boxes[idx], score[idx], iou)
        for j in idx[k]:
            dets.append((*boxes[j].tolist(), float(score[j]), int(c)))
    dets.sort(key=lambda d: -d[4])
    return dets


def match(dets, truth, iou_thr=0.5):
    """Greedy matching by confidence. Returns (tp, fp, fn, list of fp dets, list of fn truths)."""
    gt = np.array([[o["x_min"], o["y_min"], o["x_max"], o["y_max"]] for o in truth],
                  np.float32).reshape(-1, 4)
    gl = [o["label_id"] for o in truth]
    used = [False] * len(truth)
    tp = fp = 0
    fps = []
    for d in dets:
        best, bi = iou_thr, -1
        if len(gt):
            ious = iou_matrix(np.array([d[:4]], np.float32), gt)[0]
            for j in range(len(truth)):
                if not used[j] and gl[j] == d[5] and ious[j] >= best:
                    best, bi = ious[j], j
        if bi >= 0:
            used[bi] = True
            tp += 1
        else:
            fp += 1
            fps.append(d)
    fns = [truth[j] for j in range(len(truth)) if not used[j]]
    return tp, fp, len(fns), fps, fns


class Counter:
    def __init__(self):
        self.tp = self.fp = self.fn = 0
        self.fp_list, self.fn_list = [], []

    def add(self, dets, truth, frame=None):
        tp, fp, fn, fps, fns = match(dets, truth)
        self.tp += tp
        self.fp += fp
        self.fn += fn
        self.fp_list += [(frame, d) for d in fps]
        self.fn_list += [(frame, t) for t in fns]

    @property
    def precision(self):
        return self.tp / max(1, self.tp + self.fp)

    @property
    def recall(self):
        return self.tp / max(1, self.tp + self.fn)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def run_model(sess, frame):
    lb, geom = letterbox(frame)
    out = sess.run(["output0"], {"images": to_tensor(lb)})[0]
    return decode(out, geom, frame.shape[1], frame.shape[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(HERE, "..", "models", "rsvision-shapes.onnx"))
    ap.add_argument("--seed", type=int, default=9001, help="render seed (training never uses seeds < 1000000)")
    ap.add_argument("--count", type=int, default=200, help="scenes per frame size")
    ap.add_argument("--sizes", default="640x480,1280x720,480x480,320x240")
    ap.add_argument("--raw", help="evaluate a raw RGB24 file (e.g. from render.py video) instead")
    ap.add_argument("--truth", help="truth JSON for --raw")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)

    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    print("model:", a.model)
    print("metadata names:", meta.get("names"))

    results = []
    if a.raw:
        t = json.load(open(a.truth))
        w, h = t["width"], t["height"]
        raw = np.memmap(a.raw, np.uint8, "r").reshape(-1, h, w, 3)
        c = Counter()
        t0 = time.time()
        for i, fr in enumerate(t["frames"]):
            c.add(run_model(sess, np.asarray(raw[i])), fr["objects"], i)
        dt = (time.time() - t0) / max(1, len(t["frames"]))
        results.append((f"{os.path.basename(a.raw)} {w}x{h}", c, dt))
    else:
        for s in a.sizes.split(","):
            w, h = (int(v) for v in s.split("x"))
            c = Counter()
            t0 = time.time()
            for i in range(a.count):
                frame, truth = render.scene(a.seed, i, w, h)
                c.add(run_model(sess, frame), truth, i)
            dt = (time.time() - t0) / a.count
            results.append((f"{w}x{h}", c, dt))
    tot = Counter()
    for name, c, dt in results:
        print(f"{name:>24}: precision {c.precision:.4f} recall {c.recall:.4f} "
              f"(tp {c.tp} fp {c.fp} fn {c.fn}; {dt * 1000:.0f} ms/frame incl. render)")
        if a.verbose:
            for f, d in c.fp_list[:20]:
                print("   FP frame", f, render.LABELS[d[5]], [round(v) for v in d[:4]], round(d[4], 3))
            for f, t in c.fn_list[:20]:
                print("   FN frame", f, t["label"], t["x_min"], t["y_min"], t["x_max"], t["y_max"])
        tot.tp += c.tp
        tot.fp += c.fp
        tot.fn += c.fn
    print(f"{'overall':>24}: precision {tot.precision:.4f} recall {tot.recall:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
