#!/usr/bin/env python3
"""Read rsanalytics' zones, line crossings and counts from a Python (PyGObject) application.

Runs ``filesrc ! decodebin ! rsinfer ! rstracker ! rsanalytics lines=... zones=... ! fakesink``
on a video file and reads, per frame, everything the metadata contract carries about
analytics:

1. Each analysed object's ``analytics`` structure on its ``GstVideoRegionOfInterestMeta``
   (next to ``detection`` and ``tracking``): ``zones`` (the zones it is in), ``dwell_ms``
   (its time in each, ``G_MAXUINT64`` when untracked), ``loitering``, ``lines_crossed`` and
   ``directions_crossed`` (``in``/``out``: the lines it crossed on this frame), ``directions``.
   Arrays are ``Gst.ValueArray``s: ``list(s.get_value("zones"))``.
2. The frame meta, ``buffer.get_custom_meta("RsvisionAnalyticsMeta").get_structure()``:
   ``objects``, ``zones`` with ``zone_counts``, ``zone_entries``, ``zone_overcrowded``;
   ``lines`` with ``line_in``, ``line_out`` (cumulative); ``events`` (this frame's messages);
   and the geometry in frame pixels (``zone_outlines``, ``line_points``, ...).
3. The same events as element messages on the bus: ``rsanalytics-crossing`` (``line``,
   ``track-id``, ``direction``, ``in-count``, ``out-count``), ``rsanalytics-zone``
   (``zone``, ``track-id``, ``event`` entry/exit, ``dwell-ms``), ``rsanalytics-loitering``,
   ``rsanalytics-overcrowding``; and the running counts in the element's ``stats`` property.

Usage (from the repository root, after ``cargo build``)::

    GST_PLUGIN_PATH=target/debug /usr/bin/python3 examples/read_analytics.py \\
        [VIDEO [MODEL]] [--lines L] [--zones Z] [--frames N] [--json]

``--lines`` / ``--zones`` take rsanalytics' property syntax in pixels of a 640x480 frame
(defaults: a vertical line through the middle and a zone in the lower left, for the
shipped sample video); ``--json`` prints one JSON object per line (for scripts and tests).

Needs the system Python with PyGObject and Debian's ``python3-gst-1.0`` (its overrides turn
arrays and lists into Python values); GStreamer 1.20 or newer for custom metas.
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

G_MAXUINT64 = 2**64 - 1


def structure_dict(s):
    """A Gst.Structure's fields as a dict (numbers, strings, booleans, arrays of them)."""
    out = {}
    for i in range(s.n_fields()):
        name = s.nth_field_name(i)
        value = s.get_value(name)
        if isinstance(value, (bool, int, float, str)):
            out[name] = value
        elif isinstance(value, Gst.ValueArray):
            out[name] = [list(v) if isinstance(v, Gst.ValueArray) else v for v in value]
    return out


def read_frame_meta(buffer):
    """Every analytics frame meta on the buffer (one per rsanalytics element)."""
    metas = []
    # get_custom_meta returns the first one; with several elements, name them apart.
    meta = buffer.get_custom_meta("RsvisionAnalyticsMeta")
    if meta is not None:
        s = meta.get_structure()
        record = structure_dict(s)
        record["events"] = [structure_dict(e) for e in s.get_value("events")]
        metas.append(record)
    return metas


def read_objects(buffer):
    objects = []
    meta_id = 0
    while True:
        meta = GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, meta_id)
        if meta is None:
            break
        meta_id += 1
        obj = {"label": GLib.quark_to_string(meta.roi_type)}
        t = meta.get_param("tracking")
        if t is not None:
            obj["id"] = t.get_value("id")
        a = meta.get_param("analytics")
        if a is not None:
            d = structure_dict(a)
            d["dwell_ms"] = [None if v == G_MAXUINT64 else v for v in d.get("dwell_ms", [])]
            obj["analytics"] = d
        objects.append(obj)
    return objects


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", nargs="?", default="data/sample-shapes.mp4")
    parser.add_argument("model", nargs="?", default="models/rsvision-shapes.onnx")
    parser.add_argument("--lines", default="middle:320;40;320;440")
    parser.add_argument("--zones", default="bay:40;260;280;260;280;460;40;460")
    parser.add_argument("--frames", type=int, default=0, help="stop after N frames (0: all)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    args = parser.parse_args()

    Gst.init(None)
    for name in ("rsinfer", "rstracker", "rsanalytics"):
        if Gst.ElementFactory.find(name) is None:
            sys.exit(f"{name} not found: set GST_PLUGIN_PATH to the directory of libgstrsvision.so "
                     "(target/debug or target/release after cargo build)")
    for path in (args.video, args.model):
        if not os.path.isfile(path):
            sys.exit(f"{path}: no such file")

    pipeline = Gst.parse_launch(
        "filesrc name=src ! decodebin ! rsinfer name=infer threads=1 conf-threshold=0.5 ! "
        "rstracker ! rsanalytics name=analytics reference-width=640 reference-height=480 ! "
        "fakesink name=sink sync=false"
    )
    pipeline.get_by_name("src").set_property("location", args.video)
    pipeline.get_by_name("infer").set_property("model-location", args.model)
    analytics = pipeline.get_by_name("analytics")
    analytics.set_property("lines", args.lines)
    analytics.set_property("zones", args.zones)

    loop = GLib.MainLoop()
    state = {"frame": 0, "stopping": False, "error": None}
    lock = threading.Lock()

    def emit(record):
        with lock:
            write(record)

    def write(record):
        if args.json:
            print(json.dumps(record), flush=True)
        elif record["source"] == "message":
            print(f"message  {record['name']} {record['message']}")
        elif record["source"] == "frame":
            for m in record["analytics"]:
                counts = ", ".join(f"{n} in {i} out {o}"
                                   for n, i, o in zip(m["lines"], m["line_in"], m["line_out"]))
                zones = ", ".join(f"{n} {c}" for n, c in zip(m["zones"], m["zone_counts"]))
                print(f"frame {record['frame']:5} {counts}; {zones}")
        else:
            print(f"stats {record['stats']}")

    def on_buffer(pad, info):
        if state["stopping"]:
            return Gst.PadProbeReturn.DROP
        buffer = info.get_buffer()
        emit({"source": "frame", "frame": state["frame"], "analytics": read_frame_meta(buffer),
              "objects": read_objects(buffer)})
        state["frame"] += 1
        if args.frames and state["frame"] >= args.frames:
            state["stopping"] = True
            GLib.idle_add(loop.quit)
        return Gst.PadProbeReturn.OK

    pipeline.get_by_name("sink").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_buffer)

    def handle(msg):
        if msg.type == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            if s is not None and s.get_name().startswith("rsanalytics-"):
                emit({"source": "message", "name": s.get_name(), "message": structure_dict(s)})
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
    stats = structure_dict(analytics.get_property("stats"))
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    if state["error"]:
        sys.exit(f"error: {state['error']}")
    emit({"source": "stats", "stats": stats})


if __name__ == "__main__":
    main()
