#!/usr/bin/env bash
# Tracks objects: rsinfer detects every Nth frame, rstracker gives them ids and moves their
# boxes on the frames in between, rsoverlay draws them (`label #id conf`, predicted boxes
# dashed, trails), from a video file or an RTSP camera, to an MP4 file or the screen, while
# the track events (entry, moving, stopped, exit) are printed as they happen.
#
# Usage:
#   pipelines/track.sh [SOURCE [MODEL]] [PROPERTY=VALUE...]
#
#   SOURCE  a video file (any format decodebin reads) or an rtsp:// URL (default: $SOURCE,
#           else data/sample-shapes.mp4 in the repository)
#   MODEL   YOLO .onnx model (default: $MODEL, else models/rsvision-shapes.onnx)
#   further arguments are rstracker properties, e.g. lost-track-time=2000 class-mode=agnostic
#
# Environment: INTERVAL = rsinfer inference-interval (default 3); CONF = rsinfer
# conf-threshold (default 0.1: rstracker uses the weak detections to keep tracks, only
# those above its new-track-threshold start one); OUTPUT = an .mp4 file (default
# out/tracked.mp4), or `screen`; OVERLAY = rsoverlay properties (default
# "show-trails=true show-stats=true"); LATENCY (rtspsrc jitter buffer, ms, default 200);
# FORMAT=raw prints the rstracker-event messages as gst-launch does.
#
# The pipeline:
#   gst-launch-1.0 -e -m filesrc location=SOURCE ! decodebin ! \
#       rsinfer model-location=MODEL conf-threshold=0.1 inference-interval=3 ! rstracker ! \
#       rsoverlay show-trails=true ! x264enc ! mp4mux ! filesink location=OUTPUT
#
# Examples:
#   cargo build --release && pipelines/track.sh          # writes out/tracked.mp4
#   OUTPUT=screen INTERVAL=5 pipelines/track.sh rtsp://127.0.0.1:8554/test
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

source_="${SOURCE:-$DEFAULT_VIDEO}"
model="${MODEL:-$DEFAULT_MODEL}"
if [[ $# -gt 0 && "$1" != *=* ]]; then source_="$1"; shift; fi
if [[ $# -gt 0 && "$1" != *=* ]]; then model="$1"; shift; fi
output="${OUTPUT:-$ROOT/out/tracked.mp4}"
read -r -a overlay <<<"${OVERLAY:-show-trails=true show-stats=true}"

require_file "$model" "model"
require_rsinfer

if [[ "$source_" == rtsp://* || "$source_" == rtsps://* || "$source_" == rtspt://* ]]; then
    src=(rtspsrc location="$source_" latency="${LATENCY:-200}")
    enc=(x264enc tune=zerolatency speed-preset=veryfast)
else
    require_file "$source_" "video file"
    src=(filesrc location="$source_")
    enc=(x264enc speed-preset=faster)
fi
if [[ "$output" == screen ]]; then
    sink=(videoconvert ! autovideosink sync=true)
else
    [[ "$output" == *.mp4 ]] || die "OUTPUT '$output' is not an .mp4 file or 'screen'"
    mkdir -p "$(dirname "$output")"
    sink=("${enc[@]}" ! mp4mux ! filesink location="$output")
fi

gst-launch-1.0 -e -m \
    "${src[@]}" ! decodebin ! \
    rsinfer model-location="$model" conf-threshold="${CONF:-0.1}" inference-interval="${INTERVAL:-3}" ! \
    rstracker "$@" ! \
    rsoverlay "${overlay[@]}" ! \
    "${sink[@]}" | format_events
if [[ "$output" != screen ]]; then
    echo "tracked video: $output"
fi
