#!/usr/bin/env python3
"""Independent reference for rsinfer's object classification (tests/parity_classify.rs).

For each frame (raw RGB24) and box, crops and preprocesses as Ultralytics'
`classify_transforms` does for an exported classifier (the box grown by the padding,
rounded outwards and clipped; shortest side resized to the input with OpenCV's bilinear
`INTER_LINEAR` on float pixels, the other side truncated as torchvision's Resize; centre
crop with offsets rounded half to even as torchvision's CenterCrop; RGB / 255), runs
ONNX Runtime's own Python API on it and prints, as JSON, the top-1 class and its
probability per box (softmax applied when the output is not a distribution).

    classify_reference.py spec.json  ->  {"frames": [[[label_id, confidence], ...], ...]}
"""
import json
import math
import sys

import cv2
import numpy as np
import onnxruntime as ort


def main():
    spec = json.load(open(sys.argv[1]))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(spec["model"], so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    s_h, s_w = inp.shape[2], inp.shape[3]
    pad = spec["padding"]
    frames = []
    for f in spec["frames"]:
        w, h = f["width"], f["height"]
        img = np.fromfile(f["path"], np.uint8).reshape(h, w, 3).astype(np.float32)
        out = []
        for x, y, bw, bh in f["boxes"]:
            x0 = max(0, math.floor(x - pad * bw))
            y0 = max(0, math.floor(y - pad * bh))
            x1 = min(w, math.ceil(x + bw + pad * bw))
            y1 = min(h, math.ceil(y + bh + pad * bh))
            crop = img[y0:y1, x0:x1]
            ch, cw = crop.shape[:2]
            scale = max(s_w / cw, s_h / ch)
            if s_w / cw >= s_h / ch:
                rw, rh = s_w, int(ch * scale)
            else:
                rw, rh = int(cw * scale), s_h
            rw, rh = max(rw, s_w), max(rh, s_h)
            resized = cv2.resize(crop, (rw, rh), interpolation=cv2.INTER_LINEAR)
            top = int(round((rh - s_h) / 2.0))
            left = int(round((rw - s_w) / 2.0))
            t = resized[top:top + s_h, left:left + s_w] / 255.0
            t = np.ascontiguousarray(t.transpose(2, 0, 1)[None], dtype=np.float32)
            p = sess.run(None, {inp.name: t})[0][0].astype(np.float64)
            if not (np.all(p >= 0) and np.all(p <= 1) and abs(p.sum() - 1) < 1e-3):
                e = np.exp(p - p.max())
                p = e / e.sum()
            out.append([int(p.argmax()), float(p.max()), float(np.sort(p)[-2])])
        frames.append(out)
    print(json.dumps({"frames": frames}))


if __name__ == "__main__":
    main()
