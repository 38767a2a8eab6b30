"""The OpenCV baseline of benches/overlay.rs: the same boxes and labels drawn on a BGR frame
with cv2.rectangle + cv2.putText (the way Python detection loops and Ultralytics' annotator
draw: outline, filled label background, text), one thread. Prints one JSON line.

usage: overlay_opencv.py WIDTH HEIGHT FRAMES BOXES_JSON
BOXES_JSON: [[x, y, w, h, label, confidence, [r, g, b]], ...]
"""

import json
import sys
import time

import cv2
import numpy as np


def main():
    width, height, frames = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    boxes = json.loads(sys.argv[4])
    cv2.setNumThreads(1)
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    font, scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1
    labels = [
        (int(x), int(y), int(x + w), int(y + h), f"{label} {conf:.2f}", (b, g, r))
        for x, y, w, h, label, conf, (r, g, b) in boxes
    ]

    def draw():
        for x0, y0, x1, y1, text, color in labels:
            cv2.rectangle(frame, (x0, y0), (x1 - 1, y1 - 1), color, 2)
            (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
            top = y0 - th - base - 4 if y0 - th - base - 4 >= 0 else y0
            cv2.rectangle(frame, (x0, top), (x0 + tw + 4, top + th + base + 4), color, -1)
            cv2.putText(frame, text, (x0 + 2, top + th + 2), font, scale, (255, 255, 255),
                        thickness, cv2.LINE_AA)

    for _ in range(10):
        draw()
    times = []
    for _ in range(frames):
        t = time.perf_counter()
        draw()
        times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({"opencv": cv2.__version__, "median_ms": times[len(times) // 2] * 1e3,
                      "mean_ms": sum(times) / len(times) * 1e3}))


if __name__ == "__main__":
    main()
