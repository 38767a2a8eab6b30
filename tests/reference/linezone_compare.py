#!/usr/bin/env python3
"""Counts synthetic tracks with supervision's LineZone, for tests/analytics_linezone.rs.

    linezone_compare.py TRACKS.json

TRACKS.json is either one scenario

    {"line": [x1, y1, x2, y2], "frames": [[[track_id, x1, y1, x2, y2, class], ...], ...]}

or several on the same line

    {"line": [x1, y1, x2, y2], "scenarios": [{"name": "...", "frames": [...]}, ...]}

`frames` has one entry per video frame (an empty list: nothing detected on that frame;
LineZone.trigger is still called, as a pipeline would). The line is given in rsvision's
convention: crossing from the left of (x1, y1) -> (x2, y2) to its right, in image
coordinates (y down), is `in`. supervision counts `in` to the left of its start -> end,
so the line is handed to sv.LineZone reversed (start = (x2, y2), end = (x1, y1)) and its
in/out mean the same as ours.

Prints JSON: {"supervision": version, "results": [{"name", "default": {"in", "out"},
"bottom_center": {"in", "out"}}]}: `default` is sv.LineZone at its defaults (the four box
corners as triggering anchors, minimum_crossing_threshold=1), `bottom_center` the same
with triggering_anchors=[BOTTOM_CENTER] (the anchor rsvision uses by default).

Runs in the supervision venv that scripts/setup.sh --test makes
(~/.cache/rsvision/supervision-venv).
"""

import importlib.metadata
import json
import sys
import warnings

import numpy as np

warnings.filterwarnings("ignore", category=UserWarning)  # no OpenCV: numpy fallback
import supervision as sv  # noqa: E402


def count(line, frames, anchors):
    x1, y1, x2, y2 = line
    kwargs = {}
    if anchors is not None:
        kwargs["triggering_anchors"] = anchors
    zone = sv.LineZone(start=sv.Point(x2, y2), end=sv.Point(x1, y1), **kwargs)
    for objects in frames:
        if objects:
            arr = np.array(objects, dtype=np.float64).reshape(-1, 6)
            det = sv.Detections(
                xyxy=arr[:, 1:5].astype(np.float32),
                tracker_id=arr[:, 0].astype(int),
                class_id=arr[:, 5].astype(int),
            )
        else:
            det = sv.Detections.empty()
        zone.trigger(det)
    return {"in": int(zone.in_count), "out": int(zone.out_count)}


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    line = doc["line"]
    scenarios = doc.get("scenarios") or [{"name": "tracks", "frames": doc["frames"]}]
    results = []
    for s in scenarios:
        results.append(
            {
                "name": s["name"],
                "default": count(line, s["frames"], None),
                "bottom_center": count(line, s["frames"], [sv.Position.BOTTOM_CENTER]),
            }
        )
    print(json.dumps({"supervision": importlib.metadata.version("supervision"), "results": results}))


if __name__ == "__main__":
    main()
