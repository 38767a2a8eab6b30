#!/usr/bin/env bash
# Chained models: rsinfer detects, rstracker gives ids, a second rsinfer classifies each
# tracked object (inference-region=objects: crops from the full-resolution frame, each track
# classified every reclassify-interval frames and voted), rsoverlay draws `label #id conf |
# colour conf`, from a video file or an RTSP camera, to an MP4 file or the screen.
#
# Usage:
#   pipelines/classify.sh [SOURCE [CLASSIFIER]] [PROPERTY=VALUE...]
#
#   SOURCE      a video file or an rtsp:// URL (default: $SOURCE, else data/sample-shapes.mp4)
#   CLASSIFIER  a classification .onnx model (default: $CLASSIFIER, else
#               models/rsvision-colours.onnx)
#   further arguments are properties of the classifying rsinfer, e.g. reclassify-interval=5
#   min-object-size=24 object-class=star,circle min-attempts=3 min-agreement=0.6
#
# Environment: MODEL = the detector (default models/rsvision-shapes.onnx); ATTRIBUTE = the
# attribute name (default colour); OUTPUT = an .mp4 file (default out/classified.mp4), or
# `screen`; LATENCY (rtspsrc jitter buffer, ms, default 200).
#
# The pipeline:
#   gst-launch-1.0 -e filesrc location=SOURCE ! decodebin ! \
#       rsinfer model-location=MODEL conf-threshold=0.5 ! rstracker ! \
#       rsinfer inference-region=objects model-location=CLASSIFIER attribute-name=colour ! \
#       rsoverlay ! x264enc ! mp4mux ! filesink location=OUTPUT
#
# Examples:
#   cargo build --release && pipelines/classify.sh        # writes out/classified.mp4
#   OUTPUT=screen pipelines/classify.sh rtsp://127.0.0.1:8554/test
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

source_="${SOURCE:-$DEFAULT_VIDEO}"
classifier="${CLASSIFIER:-$ROOT/models/rsvision-colours.onnx}"
if [[ $# -gt 0 && "$1" != *=* ]]; then source_="$1"; shift; fi
if [[ $# -gt 0 && "$1" != *=* ]]; then classifier="$1"; shift; fi
model="${MODEL:-$DEFAULT_MODEL}"
output="${OUTPUT:-$ROOT/out/classified.mp4}"

require_file "$model" "model"
require_file "$classifier" "classifier"
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

# shellcheck disable=SC2046
gst-launch-1.0 -e \
    "${src[@]}" ! decodebin ! \
    rsinfer model-location="$model" $(model_properties "$model") ! rstracker ! \
    rsinfer inference-region=objects model-location="$classifier" attribute-name="${ATTRIBUTE:-colour}" "$@" ! \
    rsoverlay ! \
    "${sink[@]}"
if [[ "$output" != screen ]]; then
    echo "classified video: $output"
fi
