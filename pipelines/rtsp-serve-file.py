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
