#!/usr/bin/env bash
# Serves a local H.264 MP4 file over RTSP, to try pipelines/rtsp-detect.sh without a
# camera. A wrapper of pipelines/rtsp-serve-file.py (gst-rtsp-server has no command-line
# tool on Debian); see that file for the details.
#
# Usage:
#   pipelines/rtsp-serve-file.sh [FILE] [--address ADDR] [--port PORT] [--mount PATH] [--reencode]
#
# Defaults: data/sample-shapes.mp4, 127.0.0.1, port 8554, mount /test, i.e.
# rtsp://127.0.0.1:8554/test (also from RTSP_FILE, RTSP_ADDRESS, RTSP_PORT, RTSP_MOUNT).
# Needs python3-gi and gir1.2-gst-rtsp-server-1.0. Stop with Ctrl-C.
set -euo pipefail

exec /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/rtsp-serve-file.py" "$@"
