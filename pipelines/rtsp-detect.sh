#!/usr/bin/env bash
# Detects objects on an RTSP stream (a camera, or pipelines/rtsp-serve-file.py) with
# rsinfer and prints the detections of every inferred frame, until Ctrl-C or the end of
# the stream.
#
# Usage:
#   pipelines/rtsp-detect.sh [URL [MODEL]] [RSINFER-PROPERTY=VALUE...]
#
#   URL     rtsp://... (default: $RTSP_URL, else rtsp://127.0.0.1:8554/test, where
#           pipelines/rtsp-serve-file.py listens by default)
#   MODEL   YOLO .onnx model (default: $MODEL, else models/rsvision-shapes.onnx)
#   further arguments are rsinfer properties, e.g. inference-interval=2 threads=1
#
# Environment: RTSP_URL, MODEL as above; LATENCY (rtspsrc jitter buffer, ms, default 200);
# PROTOCOLS (rtspsrc protocols, e.g. tcp, default: rtspsrc's choice); FORMAT=raw to print
# the rsinfer-detections messages as gst-launch-1.0 -m shows them.
#
# The pipeline is live and synchronised to the clock: when inference is slower than the
# camera, rsinfer lets late frames through without inference (qos=true, its default), so
# the output stays near-live instead of falling behind.
#   gst-launch-1.0 -m -e rtspsrc location=URL latency=200 ! decodebin ! \
#       rsinfer model-location=MODEL post-messages=true ! fakesink sync=true
#
# Example, without a camera:
#   pipelines/rtsp-serve-file.sh &
#   pipelines/rtsp-detect.sh
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

url="${RTSP_URL:-rtsp://127.0.0.1:8554/test}"
model="${MODEL:-$DEFAULT_MODEL}"
if [[ $# -gt 0 && "$1" != *=* ]]; then url="$1"; shift; fi
if [[ $# -gt 0 && "$1" != *=* ]]; then model="$1"; shift; fi

[[ "$url" == rtsp://* || "$url" == rtsps://* || "$url" == rtspt://* ]] ||
    die "'$url' is not an rtsp:// URL"
require_file "$model" "model"
require_rsinfer

protocols=()
if [[ -n "${PROTOCOLS:-}" ]]; then protocols=(protocols="$PROTOCOLS"); fi

gst-launch-1.0 -m -e \
    rtspsrc location="$url" latency="${LATENCY:-200}" "${protocols[@]}" ! decodebin ! \
    rsinfer model-location="$model" post-messages=true $(model_properties "$model") "$@" ! \
    fakesink sync=true \
    | format_detections
