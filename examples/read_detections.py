#!/usr/bin/env python3
"""Read rsinfer's detections from a Python (PyGObject) application.

Runs ``filesrc ! decodebin ! rsinfer ! fakesink`` on a video file and reads every frame's
detections in the two ways rsinfer offers:

1. From the buffer metadata, in a pad probe: one ``GstVideoRegionOfInterestMeta`` per object,
   numbered from 0 per frame, fetched with
   ``GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, id)`` for id = 0, 1, 2...
   until it returns None; the ``detection`` param structure (normalised box, confidence,
   label id, label) with ``meta.get_param('detection')``.
2. From the ``rsinfer-detections`` element messages on the bus (``post-messages=true``):
   fields ``pts``, ``running-time``, ``frame-number`` and ``detections``, a list of
   ``detection`` structures (``label``, ``label-id``, ``confidence``, ``x``, ``y``,
   ``width``, ``height`` in frame pixels).

Usage (from the repository root, after ``cargo build``)::

    GST_PLUGIN_PATH=target/debug /usr/bin/python3 examples/read_detections.py \\
        [VIDEO [MODEL]] [--frames N] [--threads N] [--json]

VIDEO defaults to data/sample-shapes.mp4 and MODEL to models/rsvision-shapes.onnx.
``--frames N`` stops after N frames, ``--json`` prints one JSON object per line (for
scripts and tests) instead of text.

Requirements, and what works with GStreamer 1.22 / PyGObject (Debian 12), checked:

* The system Python with PyGObject and Debian's ``python3-gst-1.0`` package (the Gst
  overrides): without them ``get_value('detections')`` cannot convert the list of
  structures in the message. With them it is a ``Gst.ValueList`` that iterates as
  ``Gst.Structure`` objects.
* PyGObject cannot iterate a buffer's metas generically on 1.22 (``Gst.Buffer.iterate_meta``
  takes an opaque state pointer), hence the numbering by ``id``.
* ``meta.roi_type`` is a GQuark (an int) in Python: ``GLib.quark_to_string()`` gives the
  label. ``meta.x, y, w, h`` are the integer pixel rectangle; the ``detection`` structure
  keeps the exact (sub-pixel) box, normalised to the frame.
* The frame size for de-normalising comes from the pad's caps
  (``GstVideo.VideoInfo.new_from_caps`` exists only from 1.20's bindings on; 1.22 has it).
* The sink runs with ``sync=false``: a file is processed as fast as inference allows and
  every frame is inferred. In live pipelines (or with a clock-synced sink that reports
  lateness) rsinfer lets frames that are already late through without inference, carrying
  the previous frame's detections, and posts no message for them (``qos=false`` disables
  this).
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


def read_metas(buffer, width, height):
    """Every rsinfer detection on `buffer`, read from its region-of-interest metas."""
    detections = []
    meta_id = 0
    while True:
        meta = GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, meta_id)
        if meta is None:
            break
        meta_id += 1
        det = {
            "id": meta.id,
            "label": GLib.quark_to_string(meta.roi_type),
            "rect": [meta.x, meta.y, meta.w, meta.h],
        }
        s = meta.get_param("detection")
        if s is not None:
            ok, label_id = s.get_int("label_id")
            det["label_id"] = label_id if ok else -1
            det["confidence"] = s.get_value("confidence")
            x_min, y_min = s.get_value("x_min"), s.get_value("y_min")
            x_max, y_max = s.get_value("x_max"), s.get_value("y_max")
            det["box"] = [x_min * width, y_min * height, x_max * width, y_max * height]
            label = s.get_value("label")
            if label:
                det["label"] = label
        detections.append(det)
    return detections


def read_message(structure):
    """The detections of an `rsinfer-detections` message."""
    detections = []
    for d in structure.get_value("detections"):
        x, y = d.get_value("x"), d.get_value("y")
        detections.append(
            {
                "label": d.get_value("label"),
                "label_id": d.get_value("label-id"),
                "confidence": d.get_value("confidence"),
                "box": [x, y, x + d.get_value("width"), y + d.get_value("height")],
            }
        )
    return detections


def format_time(ns):
    if ns is None or ns == Gst.CLOCK_TIME_NONE or ns >= 2**64 - 1:
        return "none"
    return "%d:%02d:%02d.%03d" % (ns // 3600_000_000_000, ns // 60_000_000_000 % 60,
                                  ns // 1_000_000_000 % 60, ns // 1_000_000 % 1000)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", nargs="?", default="data/sample-shapes.mp4")
    parser.add_argument("model", nargs="?", default="models/rsvision-shapes.onnx")
    parser.add_argument("--frames", type=int, default=0, help="stop after N frames (0: all)")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0: default)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    args = parser.parse_args()

    Gst.init(None)
    if Gst.ElementFactory.find("rsinfer") is None:
        sys.exit("rsinfer not found: set GST_PLUGIN_PATH to the directory of libgstrsvision.so "
                 "(target/debug or target/release after cargo build)")
    for path in (args.video, args.model):
        if not os.path.isfile(path):
            sys.exit(f"{path}: no such file")

    pipeline = Gst.parse_launch(
        "filesrc name=src ! decodebin ! rsinfer name=infer post-messages=true ! "
        "fakesink name=sink sync=false"
    )
    pipeline.get_by_name("src").set_property("location", args.video)
    infer = pipeline.get_by_name("infer")
    infer.set_property("model-location", args.model)
    infer.set_property("threads", args.threads)

    loop = GLib.MainLoop()
    frames = {"meta": 0, "message": 0}
    objects = {"meta": 0, "message": 0}
    result = {"error": None}
    state = {"frame": 0, "stopping": False, "stdout_closed": False}

    # The pad probe runs in the streaming thread, the bus handler in the main loop's thread.
    output_lock = threading.Lock()

    def emit(source, frame, pts, detections):
        if args.json:
            text = json.dumps({"source": source, "frame": frame, "pts": pts,
                               "detections": detections})
        else:
            lines = [f"{source:7} frame {frame:5} pts {format_time(pts)}: "
                     f"{len(detections)} objects"]
            for d in detections:
                x1, y1, x2, y2 = d.get("box", (0, 0, 0, 0))
                lines.append(f"          {d['label']:>12} {d.get('confidence', 0.0):.3f} "
                             f"[{x1:.1f}, {y1:.1f}, {x2:.1f}, {y2:.1f}]")
            text = "\n".join(lines)
        with output_lock:
            frames[source] += 1
            objects[source] += len(detections)
            if state["stdout_closed"]:
                return
            try:
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
            except BrokenPipeError:
                # E.g. piped into `head`: stop quietly.
                state["stdout_closed"] = state["stopping"] = True
                GLib.idle_add(loop.quit)

    # Buffers leave rsinfer in order: count them here, and stop after --frames.

    def on_buffer(pad, info):
        if state["stopping"]:
            return Gst.PadProbeReturn.DROP
        buffer = info.get_buffer()
        caps = pad.get_current_caps()
        vinfo = GstVideo.VideoInfo.new_from_caps(caps)
        pts = buffer.pts if buffer.pts != Gst.CLOCK_TIME_NONE else None
        emit("meta", state["frame"], pts, read_metas(buffer, vinfo.width, vinfo.height))
        state["frame"] += 1
        if args.frames and state["frame"] >= args.frames:
            state["stopping"] = True
            GLib.idle_add(loop.quit)
        return Gst.PadProbeReturn.OK

    pipeline.get_by_name("sink").get_static_pad("sink").add_probe(
        Gst.PadProbeType.BUFFER, on_buffer
    )

    def handle(msg):
        if msg.type == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            if s is not None and s.get_name() == "rsinfer-detections":
                frame = s.get_value("frame-number")
                if not args.frames or frame < args.frames:
                    emit("message", frame, s.get_value("pts"), read_message(s))
        elif msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            # rsinfer puts the details (which file, which shape...) in the debug string.
            result["error"] = f"{msg.src.get_name()}: {err.message} {debug or ''}".strip()
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", lambda _bus, msg: handle(msg))

    # A failure to start (e.g. a model rsinfer cannot load) also posts an error message,
    # which the main loop handles.
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    # Messages posted before the stop but not yet dispatched.
    while True:
        msg = bus.pop()
        if msg is None:
            break
        handle(msg)

    if result["error"]:
        sys.exit(f"error: {result['error']}")
    if state["stdout_closed"]:
        return
    summary = {"frames": frames, "objects": objects}
    if args.json:
        print(json.dumps({"summary": summary}))
    else:
        print(f"{frames['meta']} frames, {objects['meta']} objects from metadata; "
              f"{frames['message']} messages with {objects['message']} objects")


if __name__ == "__main__":
    main()
