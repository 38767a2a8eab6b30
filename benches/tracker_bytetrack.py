"""The Python baseline of benches/tracker.rs: roboflow `trackers` 2.6 ByteTrackTracker (at
its defaults) on the same detections, timing only its update() calls. Prints one JSON line.

usage: tracker_bytetrack.py DETS FRAMES
DETS rows: frame,-1,x,y,w,h,conf,label_id (1-based frames)
"""

import json
import sys
import time

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker


def main():
    path, frames = sys.argv[1], int(sys.argv[2])
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    per_frame = []
    for f in range(1, frames + 1):
        r = rows[rows[:, 0] == f]
        xyxy = np.stack([r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]], axis=1).astype(np.float32)
        per_frame.append(sv.Detections(xyxy=xyxy, confidence=r[:, 6].astype(np.float32),
                                       class_id=r[:, 7].astype(int)))
    tracker = ByteTrackTracker()
    times = []
    for d in per_frame:
        t0 = time.perf_counter()
        tracker.update(d)
        times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({"median_ms": 1e3 * times[len(times) // 2], "mean_ms": 1e3 * sum(times) / len(times)}))


if __name__ == "__main__":
    main()
