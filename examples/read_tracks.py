#!/usr/bin/env python3
"""Read rstracker's tracks and events from a Python (PyGObject) application.

Runs ``filesrc ! decodebin ! rsinfer inference-interval=N ! rstracker ! fakesink`` on a
video file and reads, per frame, everything the metadata contract carries about tracking:

1. The frame marker rsinfer adds to every buffer, a custom meta:
   ``buffer.get_custom_meta("RsvisionInferenceMeta").get_structure()`` with ``inferred``
   (did the detector run on this frame), ``reason`` (``inferred``, ``interval``, ``late``,
   ``unavailable``), ``element``, ``model``, ``frame_number``, ``objects``.
2. The tracked objects: one ``GstVideoRegionOfInterestMeta`` each (numbered from 0, fetched
   with ``GstVideo.buffer_get_video_region_of_interest_meta_id``), with the ``detection``
   structure (box, confidence, label), the ``tracking`` structure (``id``, ``predicted``:
   the box is the tracker's prediction on a frame the detector skipped, ``frames_ago``,
   ``lost``, ``hits``, ``first_seen``, ``velocity_x``, ``velocity_y``) and DL Streamer's
   ``object_id`` structure (``id``).
3. The tracker's frame meta, ``buffer.get_custom_meta("RsvisionTrackerMeta")``:
   ``predicted``, ``tracks`` and ``events``, the list of this frame's ``rstracker-event``
   structures (``track-id``, ``event``: entry / moving / stopped / exit, ``reason``,
   ``label``, ``x``, ``y``, ``width``, ``height``, ``first-seen``, ``last-seen``, ...).
4. The same events as ``rstracker-event`` element messages on the bus; the tracks still
   alive at the end of the stream send their ``exit`` there too (and downstream as an
   ``rstracker-events`` custom event).

Usage (from the repository root, after ``cargo build``)::

    GST_PLUGIN_PATH=target/debug /usr/bin/python3 examples/read_tracks.py \\
        [VIDEO [MODEL]] [--interval N] [--conf C] [--frames N] [--json]

VIDEO defaults to data/sample-shapes.mp4 and MODEL to models/rsvision-shapes.onnx;
``--json`` prints one JSON object per line (for scripts and tests).

Needs the system Python with PyGObject and Debian's ``python3-gst-1.0`` (the overrides that
turn the ``events`` list into Python values); GStreamer 1.20 or newer for custom metas
(Debian 12 has 1.22).
"""

import argparse
import json
import os
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstVideo  # noqa: E402


def structure_dict(s):
    """A Gst.Structure's fields as a dict (numbers, strings, booleans)."""
    out = {}
    for i in range(s.n_fields()):
        name = s.nth_field_name(i)
        value = s.get_value(name)
        if isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def read_marker(buffer):
    meta = buffer.get_custom_meta("RsvisionInferenceMeta")
    return structure_dict(meta.get_structure()) if meta is not None else None


def read_tracker(buffer):
    meta = buffer.get_custom_meta("RsvisionTrackerMeta")
    if meta is None:
        return None
    s = meta.get_structure()
    return {
        "predicted": s.get_value("predicted"),
        "tracks": s.get_value("tracks"),
        "events": [structure_dict(e) for e in s.get_value("events")],
    }


def read_objects(buffer, width, height):
    objects = []
    meta_id = 0
    while True:
        meta = GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, meta_id)
        if meta is None:
            break
        meta_id += 1
        obj = {"label": GLib.quark_to_string(meta.roi_type)}
        d = meta.get_param("detection")
        if d is not None:
            obj["confidence"] = d.get_value("confidence")
            obj["box"] = [d.get_value("x_min") * width, d.get_value("y_min") * height,
                          d.get_value("x_max") * width, d.get_value("y_max") * height]
        t = meta.get_param("tracking")
        if t is not None:
            obj["id"] = t.get_value("id")
            obj["predicted"] = t.get_value("predicted")
            obj["frames_ago"] = t.get_value("frames_ago")
        o = meta.get_param("object_id")
        if o is not None:
            obj["object_id"] = o.get_value("id")
        objects.append(obj)
    return objects


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", nargs="?", default="data/sample-shapes.mp4")
    parser.add_argument("model", nargs="?", default="models/rsvision-shapes.onnx")
    parser.add_argument("--interval", type=int, default=3, help="rsinfer inference-interval")
    parser.add_argument("--conf", type=float, default=0.1, help="rsinfer conf-threshold")
    parser.add_argument("--frames", type=int, default=0, help="stop after N frames (0: all)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    args = parser.parse_args()

    Gst.init(None)
    for name in ("rsinfer", "rstracker"):
        if Gst.ElementFactory.find(name) is None:
            sys.exit(f"{name} not found: set GST_PLUGIN_PATH to the directory of libgstrsvision.so "
                     "(target/debug or target/release after cargo build)")
    for path in (args.video, args.model):
        if not os.path.isfile(path):
            sys.exit(f"{path}: no such file")

    pipeline = Gst.parse_launch(
        "filesrc name=src ! decodebin ! rsinfer name=infer threads=1 ! rstracker name=tracker ! "
        "fakesink name=sink sync=false"
    )
    pipeline.get_by_name("src").set_property("location", args.video)
    infer = pipeline.get_by_name("infer")
    infer.set_property("model-location", args.model)
    infer.set_property("inference-interval", args.interval)
    infer.set_property("conf-threshold", args.conf)

    loop = GLib.MainLoop()
    lock = threading.Lock()
    state = {"frame": 0, "stopping": False, "error": None, "messages": 0}

    def emit(record):
        with lock:
            if args.json:
                print(json.dumps(record), flush=True)
                return
            if record["source"] == "message":
                e = record["event"]
                print(f"message  track #{e['track-id']} {e['event']:8} {e['label']} "
                      f"{e.get('reason', '')}")
                return
            marker = record["marker"] or {}
            fresh = "detected " if marker.get("inferred", True) else "predicted"
            ids = " ".join(f"#{o['id']}{'*' if o['predicted'] else ''}"
                           for o in record["objects"] if "id" in o)
            print(f"frame {record['frame']:5} {fresh} {ids}")
            for e in (record["tracker"] or {}).get("events", []):
                print(f"          event track #{e['track-id']} {e['event']}")

    def on_buffer(pad, info):
        if state["stopping"]:
            return Gst.PadProbeReturn.DROP
        buffer = info.get_buffer()
        vinfo = GstVideo.VideoInfo.new_from_caps(pad.get_current_caps())
        emit({"source": "frame", "frame": state["frame"], "marker": read_marker(buffer),
              "tracker": read_tracker(buffer),
              "objects": read_objects(buffer, vinfo.width, vinfo.height)})
        state["frame"] += 1
        if args.frames and state["frame"] >= args.frames:
            state["stopping"] = True
            GLib.idle_add(loop.quit)
        return Gst.PadProbeReturn.OK

    pipeline.get_by_name("sink").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_buffer)

    def handle(msg):
        if msg.type == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            if s is not None and s.get_name() == "rstracker-event":
                state["messages"] += 1
                emit({"source": "message", "event": structure_dict(s)})
        elif msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            state["error"] = f"{msg.src.get_name()}: {err.message} {debug or ''}".strip()
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", lambda _bus, msg: handle(msg))
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()
    # Stopping ends the tracks still alive: their exits are posted now.
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    while True:
        msg = bus.pop()
        if msg is None:
            break
        handle(msg)
    if state["error"]:
        sys.exit(f"error: {state['error']}")
    summary = {"frames": state["frame"], "messages": state["messages"]}
    print(json.dumps({"summary": summary}) if args.json else
          f"{summary['frames']} frames, {summary['messages']} track events")


if __name__ == "__main__":
    main()
