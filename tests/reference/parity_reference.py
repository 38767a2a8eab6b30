#!/usr/bin/env python3
"""Independent reference for tests/parity.rs: YOLO detection with ONNX Runtime's Python API.

Reads a JSON manifest (argv[1]) naming a model, its output layout and raw RGB frames, and
prints one JSON document on stdout with the detections of every frame, in frame pixels.
Nothing here comes from rsvision's Rust code: only the documented conventions are shared.

  * Letterbox (Ultralytics geometry): r = min(W/w, H/h), content round(w*r) x round(h*r),
    left = (W-cw)//2, top = (H-ch)//2, padding value 114 (the odd pixel goes right/bottom).
  * Resampling: bilinear with half-pixel centres (OpenCV INTER_LINEAR): the source
    coordinate of output sample d is (d + 0.5) * src_size / content_size - 0.5, clamped to
    [0, size - 1]; neighbours floor(s) and min(floor(s) + 1, size - 1).
  * Input: RGB / 255, NCHW float32.
  * Decode: YOLOv8 [1, 4+C, N] (planar, no objectness) or YOLOv5 [1, N, 5+C]
    (score = objectness x class score); the best class per anchor; score >= conf.
  * NMS: greedy per class by descending score, IoU > iou suppresses, at most max_det kept.
  * Boxes are mapped back through the letterbox ((x - left) * w / cw), clipped to the frame,
    and empty boxes are dropped.

Manifest:
  {"model": PATH, "layout": "v8" | "v5", "conf": 0.25, "iou": 0.45, "max_det": 300,
   "pad": 114, "frames": [{"path": PATH, "width": W, "height": H}, ...]}
Raw frames are tightly packed RGB (H rows of W*3 bytes).

Output:
  {"input": [H, W], "names": {id: name}, "frames": [{"letterbox": [cw, ch, left, top],
   "candidates": n, "detections": [[label_id, confidence, x1, y1, x2, y2], ...]}, ...]}
"""

import ast
import json
import sys

import numpy as np
import onnxruntime as ort


def letterbox_geometry(w, h, in_w, in_h):
    r = min(in_w / w, in_h / h)
    cw = min(max(int(round(w * r)), 1), in_w)
    ch = min(max(int(round(h * r)), 1), in_h)
    return cw, ch, (in_w - cw) // 2, (in_h - ch) // 2


def bilinear_axis(n_out, n_in):
    """Neighbour indices and weights of each output sample along one axis."""
    d = np.arange(n_out, dtype=np.float64)
    s = (d + 0.5) * (n_in / n_out) - 0.5
    s = np.clip(s, 0.0, n_in - 1)
    i0 = np.floor(s).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, s - i0


def resize_bilinear(img, cw, ch):
    """img: HxWx3 uint8 -> ch x cw x 3 float64, bilinear with half-pixel centres."""
    h, w, _ = img.shape
    src = img.astype(np.float64)
    x0, x1, wx = bilinear_axis(cw, w)
    y0, y1, wy = bilinear_axis(ch, h)
    wx = wx[None, :, None]
    wy = wy[:, None, None]
    top = src[y0][:, x0] * (1.0 - wx) + src[y0][:, x1] * wx
    bottom = src[y1][:, x0] * (1.0 - wx) + src[y1][:, x1] * wx
    return top * (1.0 - wy) + bottom * wy


def preprocess(img, in_w, in_h, pad):
    h, w, _ = img.shape
    cw, ch, left, top = letterbox_geometry(w, h, in_w, in_h)
    canvas = np.full((in_h, in_w, 3), float(pad), dtype=np.float64)
    canvas[top : top + ch, left : left + cw] = resize_bilinear(img, cw, ch)
    tensor = (canvas / 255.0).astype(np.float32).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(tensor), (cw, ch, left, top)


def decode(out, layout, conf):
    """Returns (boxes Nx4 x1y1x2y2 float32, scores N float32, classes N int) above conf."""
    out = out[0]
    if layout == "v8":
        # [4 + C, N]: all cx, all cy, all w, all h, then one row of scores per class.
        xywh = out[:4].T
        cls_scores = out[4:]
        classes = np.argmax(cls_scores, axis=0)
        scores = cls_scores[classes, np.arange(cls_scores.shape[1])]
    elif layout == "v5":
        # [N, 5 + C]: cx, cy, w, h, objectness, class scores.
        xywh = out[:, :4]
        obj = out[:, 4]
        cls_scores = out[:, 5:] * obj[:, None]
        classes = np.argmax(cls_scores, axis=1)
        scores = cls_scores[np.arange(cls_scores.shape[0]), classes]
        scores = np.where(obj >= conf, scores, np.float32(-1.0))
    else:
        raise SystemExit(f"unknown layout {layout!r}")
    keep = scores >= conf
    xywh, scores, classes = xywh[keep], scores[keep], classes[keep]
    boxes = np.empty_like(xywh)
    boxes[:, 0] = xywh[:, 0] - xywh[:, 2] / 2
    boxes[:, 1] = xywh[:, 1] - xywh[:, 3] / 2
    boxes[:, 2] = xywh[:, 0] + xywh[:, 2] / 2
    boxes[:, 3] = xywh[:, 1] + xywh[:, 3] / 2
    return boxes, scores, classes


def iou_one_to_many(b, others):
    iw = np.maximum(np.minimum(b[2], others[:, 2]) - np.maximum(b[0], others[:, 0]), 0.0)
    ih = np.maximum(np.minimum(b[3], others[:, 3]) - np.maximum(b[1], others[:, 1]), 0.0)
    inter = iw * ih
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area_b + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms_per_class(boxes, scores, classes, iou_thr, max_det):
    # Descending score; ties by class then x1 then y1 (any fixed order would do).
    order = np.lexsort((boxes[:, 1], boxes[:, 0], classes, -scores.astype(np.float64)))
    kept = []
    for i in order:
        if len(kept) >= max_det:
            break
        same = [k for k in kept if classes[k] == classes[i]]
        if same and np.any(iou_one_to_many(boxes[i].astype(np.float64), boxes[same].astype(np.float64)) > iou_thr):
            continue
        kept.append(i)
    return kept


def main():
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(manifest["model"], opts, providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    in_h, in_w = inp.shape[2], inp.shape[3]
    names_meta = session.get_modelmeta().custom_metadata_map.get("names")
    names = ast.literal_eval(names_meta) if names_meta else {}

    conf = float(manifest.get("conf", 0.25))
    iou_thr = float(manifest.get("iou", 0.45))
    max_det = int(manifest.get("max_det", 300))
    pad = int(manifest.get("pad", 114))
    frames_out = []
    for fr in manifest["frames"]:
        w, h = fr["width"], fr["height"]
        img = np.fromfile(fr["path"], dtype=np.uint8)
        if img.size != w * h * 3:
            raise SystemExit(f"{fr['path']}: {img.size} bytes, {w}x{h} RGB needs {w * h * 3}")
        img = img.reshape(h, w, 3)
        tensor, (cw, ch, left, top) = preprocess(img, in_w, in_h, pad)
        (out,) = session.run(None, {inp.name: tensor})
        boxes, scores, classes = decode(out, manifest["layout"], conf)
        kept = nms_per_class(boxes, scores, classes, iou_thr, max_det)
        dets = []
        for k in kept:
            x1, y1, x2, y2 = (float(v) for v in boxes[k])
            x1 = min(max((x1 - left) * w / cw, 0.0), w)
            x2 = min(max((x2 - left) * w / cw, 0.0), w)
            y1 = min(max((y1 - top) * h / ch, 0.0), h)
            y2 = min(max((y2 - top) * h / ch, 0.0), h)
            if x2 > x1 and y2 > y1:
                dets.append([int(classes[k]), float(scores[k]), x1, y1, x2, y2])
        frames_out.append(
            {"letterbox": [cw, ch, left, top], "candidates": int(len(scores)), "detections": dets}
        )
    json.dump(
        {"input": [in_h, in_w], "names": {str(k): v for k, v in names.items()}, "frames": frames_out},
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
