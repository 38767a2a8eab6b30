#!/usr/bin/python3
"""A tiny RTSP server that streams a local H.264 MP4 file, to try the RTSP pipelines
without a camera.

Usage:
    pipelines/rtsp-serve-file.py [FILE] [--address ADDR] [--port PORT] [--mount PATH]
                                 [--reencode]

Defaults: FILE = data/sample-shapes.mp4 (relative to the repository root), address
127.0.0.1, port 8554, mount /test, so the stream is rtsp://127.0.0.1:8554/test. Environment
variables RTSP_FILE, RTSP_ADDRESS, RTSP_PORT and RTSP_MOUNT give the same defaults.

The file's H.264 stream is sent as it is (no re-encoding), paced by the clock like a live
camera; every client gets its own stream from the start of the file. --reencode decodes
and re-encodes with x264enc tune=zerolatency (any input format, short key-frame interval,
costs CPU). --loop restarts the file at its end instead of ending the stream.

Needs python3-gi with GStreamer's introspection data (Debian: gir1.2-gst-rtsp-server-1.0).
Try it with:
    pipelines/rtsp-serve-file.py &
    pipelines/rtsp-detect.sh rtsp://127.0.0.1:8554/test
Stop with Ctrl-C.
"""

import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def loop_media(_factory, media):
    """--loop: the file is played with segment seeks. Its end is a SEGMENT_DONE (never an
    EOS, which would end the stream) answered by a non-flushing segment seek back to the
    start, so running time and the RTP timestamps go on growing. The stream looks live to
    clients: no duration (no end in the PLAY range) and not seekable."""
    pad = media.get_element().get_by_name("pay0").get_static_pad("sink")

    def seek(flags):
        pad.push_event(Gst.Event.new_seek(1.0, Gst.Format.TIME, flags | Gst.SeekFlags.SEGMENT,
                                          Gst.SeekType.SET, 0, Gst.SeekType.SET, -1))
        return GLib.SOURCE_REMOVE

    last = {"duration": 0}

    def on_buffer(_pad, info):
        duration = info.get_buffer().duration
        if duration != Gst.CLOCK_TIME_NONE:
            last["duration"] = duration
        return Gst.PadProbeReturn.OK

    def on_event(_pad, info):
        if info.get_event().type == Gst.EventType.SEGMENT_DONE:
            # The next segment starts at the running time where the demuxer's position
            # stopped: the start of the last frame. Move it past that frame so the first
            # frame of the next round does not share the last one's timestamp.
            pad.set_offset(pad.get_offset() + last["duration"])
            # From the main loop, not from the streaming thread that delivers the event.
            GLib.idle_add(seek, Gst.SeekFlags.NONE)
        return Gst.PadProbeReturn.OK

    def on_query(_pad, info):
        if info.get_query().type in (Gst.QueryType.DURATION, Gst.QueryType.SEEKING,
                                     Gst.QueryType.SEGMENT):
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    pad.add_probe(Gst.PadProbeType.BUFFER, on_buffer)
    pad.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_event)
    pad.add_probe(Gst.PadProbeType.QUERY_UPSTREAM, on_query)
    # Prerolled, not playing yet: the first (flushing) segment seek.
    media.connect("prepared", lambda _media: seek(Gst.SeekFlags.FLUSH))


def main():
    parser = argparse.ArgumentParser(
        description="Serve a local H.264 MP4 file over RTSP.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "file",
        nargs="?",
        default=os.environ.get("RTSP_FILE", os.path.join(ROOT, "data/sample-shapes.mp4")),
        help="video file (H.264 in MP4 unless --reencode)",
    )
    parser.add_argument("--address", default=os.environ.get("RTSP_ADDRESS", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("RTSP_PORT", "8554"),
                        help="TCP port; 0 picks a free one")
    parser.add_argument("--mount", default=os.environ.get("RTSP_MOUNT", "/test"))
    parser.add_argument("--reencode", action="store_true",
                        help="decode and re-encode with x264enc tune=zerolatency")
    parser.add_argument("--loop", action="store_true",
                        help="restart the file at its end instead of ending the stream")
    args = parser.parse_args()

    path = os.path.abspath(args.file)
    if not os.path.isfile(path):
        sys.exit(f"rtsp-serve-file: {path} does not exist")
    if not args.mount.startswith("/"):
        args.mount = "/" + args.mount

    Gst.init(None)
    location = path.replace("\\", "\\\\").replace('"', '\\"')
    if args.reencode:
        body = (
            f'filesrc location="{location}" ! decodebin ! videoconvert ! '
            "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
            "rtph264pay name=pay0 pt=96 config-interval=-1"
        )
    else:
        body = (
            f'filesrc location="{location}" ! qtdemux ! h264parse ! '
            "rtph264pay name=pay0 pt=96 config-interval=-1"
        )
    launch = f"( {body} )"

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(False)
    if args.loop:
        factory.connect("media-configure", loop_media)

    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        sys.exit(f"rtsp-serve-file: cannot listen on {args.address}:{args.port}")

    host = f"[{args.address}]" if ":" in args.address else args.address
    print(f"rtsp://{host}:{server.get_bound_port()}{args.mount}  <-  {path}", flush=True)

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
