#!/usr/bin/env python3
"""The Python trackers rstracker is compared with, and the scorer.

Subcommands (each reads and writes MOTChallenge text files; with --batch ROOT --scenes a,b
--intervals 1,2 the tracker runs over ROOT/<scene>/det_i<K>.txt and ran_i<K>.txt and writes
ROOT/<scene>/<tracker>_i<K>.txt for every scene and interval, in one process):

  peers.py bytetrack DETS RAN OUT --interval K --fps F
      roboflow `trackers` 2.6 ByteTrackTracker at its defaults, given each detector run
      with its timestamp (its variable-time mode); it outputs boxes only on the frames it
      is updated on (it has no prediction output).
  peers.py norfair DETS RAN OUT --interval K --frames N
      norfair 2.3 (needs numpy < 2, its own venv): IoU distance, `update(dets, period=K)`
      on detector frames and `update()` on the others, its estimates output every frame.
  peers.py score ROOT --scenes a,b --intervals 1,2 --trackers x,y
      TrackEval 1.3 (HOTA, CLEAR, Identity) on ROOT/<scene>/gt.txt against
      ROOT/<scene>/<tracker>_i<K>.txt; prints one JSON object.

DETS rows: frame,-1,x,y,w,h,conf,label_id (1-based frames); RAN: the frames the detector ran
on, one per line.
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np


def load_dets(path):
    by_frame = {}
    if os.path.getsize(path) > 0:
        rows = np.loadtxt(path, delimiter=",", ndmin=2)
        for r in rows:
            by_frame.setdefault(int(r[0]), []).append(r)
    return by_frame


def load_ran(path):
    with open(path) as f:
        return [int(line) for line in f if line.strip()]


def write_rows(out, rows):
    with open(out, "w") as f:
        for frame, tid, x1, y1, x2, y2, conf in rows:
            f.write(f"{frame},{tid},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{conf:.3f},-1,-1,-1\n")


def run_bytetrack(a):
    import supervision as sv
    from trackers import ByteTrackTracker

    dets = load_dets(a.dets)
    tracker = ByteTrackTracker(lost_track_buffer=30, frame_rate=a.fps)
    rows = []
    for frame in load_ran(a.ran):
        d = dets.get(frame, [])
        if d:
            arr = np.array(d)
            xyxy = np.stack([arr[:, 2], arr[:, 3], arr[:, 2] + arr[:, 4], arr[:, 3] + arr[:, 5]], axis=1)
            det = sv.Detections(xyxy=xyxy.astype(np.float32), confidence=arr[:, 6].astype(np.float32),
                                class_id=arr[:, 7].astype(int))
        else:
            det = sv.Detections.empty()
        out = tracker.update(det, timestamp=(frame - 1) / a.fps)
        for box, tid, conf in zip(out.xyxy, out.tracker_id, out.confidence if out.confidence is not None else [1.0] * len(out)):
            if tid >= 0:
                rows.append((frame, int(tid), *map(float, box), float(conf)))
    write_rows(a.out, rows)


def run_norfair(a):
    from norfair import Detection, Tracker

    dets = load_dets(a.dets)
    ran = set(load_ran(a.ran))
    # One second without detections ends an object (hit_counter_max counts update calls,
    # one per frame here); it is output once it was hit a few times.
    tracker = Tracker(distance_function="iou", distance_threshold=0.7, hit_counter_max=30,
                      initialization_delay=3)
    rows = []
    for frame in range(1, a.frames + 1):
        if frame in ran:
            d = [Detection(points=np.array([[r[2], r[3]], [r[2] + r[4], r[3] + r[5]]]),
                           scores=np.array([r[6], r[6]]))
                 for r in dets.get(frame, [])]
            objs = tracker.update(detections=d, period=a.interval)
        else:
            objs = tracker.update()
        for o in objs:
            (x1, y1), (x2, y2) = o.estimate
            rows.append((frame, int(o.id), float(x1), float(y1), float(x2), float(y2), 1.0))
    write_rows(a.out, rows)


def score(a):
    # TrackEval prints its configuration and progress: keep stdout for the JSON.
    out = sys.stdout
    sys.stdout = open(os.devnull, "w")
    import trackeval

    scenes = a.scenes.split(",")
    intervals = [int(k) for k in a.intervals.split(",")]
    trackers = a.trackers.split(",")
    work = os.path.join(a.root, "trackeval")
    shutil.rmtree(work, ignore_errors=True)
    results = {}
    for k in intervals:
        split = f"i{k}"
        gt_fol = os.path.join(work, "gt")
        tr_fol = os.path.join(work, "trackers")
        seq_dir = os.path.join(gt_fol, f"SYN-{split}")
        os.makedirs(os.path.join(gt_fol, "seqmaps"), exist_ok=True)
        with open(os.path.join(gt_fol, "seqmaps", f"SYN-{split}.txt"), "w") as f:
            f.write("name\n" + "".join(s + "\n" for s in scenes))
        for s in scenes:
            os.makedirs(os.path.join(seq_dir, s, "gt"), exist_ok=True)
            shutil.copy(os.path.join(a.root, s, "gt.txt"), os.path.join(seq_dir, s, "gt", "gt.txt"))
            shutil.copy(os.path.join(a.root, s, "seqinfo.ini"), os.path.join(seq_dir, s, "seqinfo.ini"))
            for t in trackers:
                d = os.path.join(tr_fol, f"SYN-{split}", t, "data")
                os.makedirs(d, exist_ok=True)
                shutil.copy(os.path.join(a.root, s, f"{t}_i{k}.txt"), os.path.join(d, f"{s}.txt"))
        eval_config = trackeval.Evaluator.get_default_eval_config()
        eval_config.update(USE_PARALLEL=False, PRINT_RESULTS=False, PRINT_CONFIG=False,
                           TIME_PROGRESS=False, OUTPUT_SUMMARY=False, OUTPUT_DETAILED=False,
                           PLOT_CURVES=False, PRINT_ONLY_COMBINED=True, DISPLAY_LESS_PROGRESS=True)
        ds_config = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
        ds_config.update(GT_FOLDER=gt_fol, TRACKERS_FOLDER=tr_fol, BENCHMARK="SYN", SPLIT_TO_EVAL=split,
                         TRACKERS_TO_EVAL=trackers, PRINT_CONFIG=False, DO_PREPROC=True,
                         OUTPUT_FOLDER=os.path.join(work, "out"))
        evaluator = trackeval.Evaluator(eval_config)
        metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(), trackeval.metrics.Identity()]
        res, _ = evaluator.evaluate([trackeval.datasets.MotChallenge2DBox(ds_config)], metrics)
        res = res["MotChallenge2DBox"]
        results[split] = {}
        for t in trackers:
            results[split][t] = {}
            for seq in scenes + ["COMBINED_SEQ"]:
                r = res[t][seq]["pedestrian"]
                results[split][t][seq] = {
                    "HOTA": round(100 * float(np.mean(r["HOTA"]["HOTA"])), 2),
                    "DetA": round(100 * float(np.mean(r["HOTA"]["DetA"])), 2),
                    "AssA": round(100 * float(np.mean(r["HOTA"]["AssA"])), 2),
                    "MOTA": round(100 * float(r["CLEAR"]["MOTA"]), 2),
                    "IDF1": round(100 * float(r["Identity"]["IDF1"]), 2),
                    "IDSW": int(r["CLEAR"]["IDSW"]),
                    "FP": int(r["CLEAR"]["CLR_FP"]),
                    "FN": int(r["CLEAR"]["CLR_FN"]),
                }
    json.dump(results, out)
    out.write("\n")


def seq_length(seqinfo):
    with open(seqinfo) as f:
        for line in f:
            if line.startswith("seqLength="):
                return int(line.split("=", 1)[1])
    raise ValueError(f"no seqLength in {seqinfo}")


def run_batch(a, run):
    for scene in a.scenes.split(","):
        d = os.path.join(a.batch, scene)
        for k in a.intervals.split(","):
            one = argparse.Namespace(
                dets=os.path.join(d, f"det_i{k}.txt"), ran=os.path.join(d, f"ran_i{k}.txt"),
                out=os.path.join(d, f"{a.cmd}_i{k}.txt"), interval=int(k), fps=a.fps,
                frames=seq_length(os.path.join(d, "seqinfo.ini")))
            run(one)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("bytetrack", "norfair"):
        p = sub.add_parser(name)
        p.add_argument("dets", nargs="?")
        p.add_argument("ran", nargs="?")
        p.add_argument("out", nargs="?")
        p.add_argument("--interval", type=int, default=1)
        p.add_argument("--fps", type=float, default=30.0)
        p.add_argument("--frames", type=int, default=0)
        p.add_argument("--batch")
        p.add_argument("--scenes")
        p.add_argument("--intervals")
    s = sub.add_parser("score")
    s.add_argument("root")
    s.add_argument("--scenes", required=True)
    s.add_argument("--intervals", required=True)
    s.add_argument("--trackers", required=True)
    a = ap.parse_args()
    run = {"bytetrack": run_bytetrack, "norfair": run_norfair, "score": score}[a.cmd]
    if getattr(a, "batch", None):
        run_batch(a, run)
    else:
        run(a)


if __name__ == "__main__":
    main()
