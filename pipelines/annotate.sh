#!/usr/bin/env bash
# Detects objects with rsinfer and draws them with rsoverlay, from a video file or an RTSP
# camera, to an MP4 file or the screen.
#
# Usage:
#   pipelines/annotate.sh [SOURCE [MODEL]] [PROPERTY=VALUE...]
#
#   SOURCE  a video file (any format decodebin reads) or an rtsp:// URL (default: $SOURCE,
#           else data/sample-shapes.mp4 in the repository)
#   MODEL   YOLO .onnx model (default: $MODEL, else models/rsvision-shapes.onnx)
#   further arguments are rsinfer properties, e.g. conf-threshold=0.5 classes=circle
#
# Environment: OUTPUT = an .mp4 file (default out/annotated.mp4), or `screen` for a window
# (autovideosink); OVERLAY = rsoverlay properties (default "show-stats=true", e.g.
# "line-width=3 font-size=20 blur-classes=person colors=car:#00ff00"); LATENCY (rtspsrc
# jitter buffer, ms, default 200).
#
# The pipeline (no videoconvert between the decoder, rsinfer, rsoverlay and the encoder:
# both elements work in place on the decoder's I420/NV12):
#   gst-launch-1.0 -e filesrc location=SOURCE ! decodebin ! rsinfer model-location=MODEL ! \
#       rsoverlay show-stats=true ! x264enc ! mp4mux ! filesink location=OUTPUT
#
# Examples:
#   cargo build --release && pipelines/annotate.sh            # writes out/annotated.mp4
#   OUTPUT=screen pipelines/annotate.sh rtsp://127.0.0.1:8554/test
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

source_="${SOURCE:-$DEFAULT_VIDEO}"
model="${MODEL:-$DEFAULT_MODEL}"
if [[ $# -gt 0 && "$1" != *=* ]]; then source_="$1"; shift; fi
if [[ $# -gt 0 && "$1" != *=* ]]; then model="$1"; shift; fi
output="${OUTPUT:-$ROOT/out/annotated.mp4}"
read -r -a overlay <<<"${OVERLAY:-show-stats=true}"

require_file "$model" "model"
require_rsinfer

if [[ "$source_" == rtsp://* || "$source_" == rtsps://* || "$source_" == rtspt://* ]]; then
    src=(rtspsrc location="$source_" latency="${LATENCY:-200}")
    live=true
else
    require_file "$source_" "video file"
    src=(filesrc location="$source_")
    live=false
fi

if [[ "$output" == screen ]]; then
    sink=(videoconvert ! autovideosink sync=true)
else
    [[ "$output" == *.mp4 ]] || die "OUTPUT '$output' is not an .mp4 file or 'screen'"
    mkdir -p "$(dirname "$output")"
    # A live source is encoded for low delay; a file as well as time allows.
    if [[ "$live" == true ]]; then
        enc=(x264enc tune=zerolatency speed-preset=veryfast)
    else
        enc=(x264enc speed-preset=faster)
    fi
    sink=("${enc[@]}" ! mp4mux ! filesink location="$output")
fi

gst-launch-1.0 -e \
    "${src[@]}" ! decodebin ! \
    rsinfer model-location="$model" $(model_properties "$model") "$@" ! \
    rsoverlay "${overlay[@]}" ! \
    "${sink[@]}"
if [[ "$output" != screen ]]; then
    echo "annotated video: $output"
fi
