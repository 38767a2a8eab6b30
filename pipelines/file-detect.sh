#!/usr/bin/env bash
# Detects objects in a video file with rsinfer and prints the detections of every frame.
#
# Usage:
#   pipelines/file-detect.sh [VIDEO [MODEL]] [RSINFER-PROPERTY=VALUE...]
#
#   VIDEO   video file, any format decodebin reads (default: $VIDEO, else
#           data/sample-shapes.mp4 in the repository)
#   MODEL   YOLO .onnx model (default: $MODEL, else models/rsvision-shapes.onnx)
#   further arguments are rsinfer properties, e.g. conf-threshold=0.5 classes=circle
#
# Environment: VIDEO, MODEL as above; SYNC=true to play at the file's frame rate (default
# false: as fast as possible); FORMAT=raw to print the rsinfer-detections messages as
# gst-launch-1.0 -m shows them instead of one line per frame.
#
# Runs the plugin built in target/release (else target/debug) of this repository:
#   gst-launch-1.0 -m filesrc location=VIDEO ! decodebin ! \
#       rsinfer model-location=MODEL post-messages=true ! fakesink
#
# Example:
#   cargo build --release && pipelines/file-detect.sh data/sample-shapes.mp4 conf-threshold=0.5
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

video="${VIDEO:-$DEFAULT_VIDEO}"
model="${MODEL:-$DEFAULT_MODEL}"
if [[ $# -gt 0 && "$1" != *=* ]]; then video="$1"; shift; fi
if [[ $# -gt 0 && "$1" != *=* ]]; then model="$1"; shift; fi

require_file "$video" "video file"
require_file "$model" "model"
require_rsinfer

gst-launch-1.0 -m \
    filesrc location="$video" ! decodebin ! \
    rsinfer model-location="$model" post-messages=true $(model_properties "$model") "$@" ! \
    fakesink sync="${SYNC:-false}" \
    | format_detections
