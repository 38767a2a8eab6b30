#!/usr/bin/env bash
# Real-time stream analysis on a model server: the GStreamer equivalent of OpenVINO Model
# Server's "Real Time Stream Analysis" demo (rtsp_client.py --grpc_address ...
# --input_stream rtsp://... --output_stream ...). An RTSP stream is decoded, every frame is
# sent to a KServe v2 server (OVMS, Triton, KServe; gRPC or REST) by rsinfer backend=ovms,
# the detections are drawn by rsoverlay, and the annotated video is written out.
#
# Usage:
#   pipelines/ovms-rtsp-detect.sh [INPUT [SERVER [MODEL-NAME]]] [RSINFER-PROPERTY=VALUE...]
#
#   INPUT       rtsp://... (default: $RTSP_URL, else rtsp://127.0.0.1:8554/test, where
#               pipelines/rtsp-serve-file.sh listens by default)
#   SERVER      grpc://host:port or http://host:port (default: $SERVER_URL, else
#               grpc://127.0.0.1:9000, where OVMS and pipelines/kserve-serve.sh listen)
#   MODEL-NAME  the model's name on the server (default: $MODEL_NAME, else shapes)
#   further arguments are rsinfer properties, e.g. max-in-flight=8 inference-interval=2
#
# Environment:
#   OUTPUT  where the annotated video goes (default: output.mp4):
#             FILE.mp4 / FILE.mkv   H.264 in a file (finished cleanly on Ctrl-C)
#             rtsp://...            published to an RTSP server that accepts RECORD
#                                   (e.g. mediamtx: the seed's --output_stream)
#             display               a window
#             none                  no video: print the detections only (no rsoverlay needed)
#   LABELS  labels file (default: models/rsvision-shapes.txt for the model name 'shapes')
#   LATENCY rtspsrc jitter buffer in ms (default 200); FORMAT=raw as in rtsp-detect.sh.
#
# The launch line, for OUTPUT=out.mp4:
#   gst-launch-1.0 -m -e rtspsrc location=INPUT latency=200 ! decodebin ! \
#       rsinfer backend=ovms server-url=SERVER model-name=NAME post-messages=true ! \
#       rsoverlay ! videoconvert ! x264enc tune=zerolatency ! mp4mux ! \
#       filesink location=out.mp4
#
# Example, without a camera or OVMS:
#   pipelines/rtsp-serve-file.sh &
#   pipelines/kserve-serve.sh &
#   pipelines/ovms-rtsp-detect.sh
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

input="${RTSP_URL:-rtsp://127.0.0.1:8554/test}"
server="${SERVER_URL:-grpc://127.0.0.1:9000}"
name="${MODEL_NAME:-shapes}"
if [[ $# -gt 0 && "$1" != *=* ]]; then input="$1"; shift; fi
if [[ $# -gt 0 && "$1" != *=* ]]; then server="$1"; shift; fi
if [[ $# -gt 0 && "$1" != *=* ]]; then name="$1"; shift; fi
output="${OUTPUT:-output.mp4}"

[[ "$input" == rtsp://* || "$input" == rtsps://* || "$input" == rtspt://* ]] ||
    die "'$input' is not an rtsp:// URL"
[[ "$server" =~ ^(grpc|grpcs|grpc\+tls|http|https):// ]] ||
    die "'$server' is not a grpc:// or http:// URL"
require_rsinfer

labels="${LABELS:-}"
if [[ -z "$labels" && "$name" == shapes ]]; then labels="$ROOT/models/rsvision-shapes.txt"; fi
infer=(rsinfer backend=ovms server-url="$server" model-name="$name" post-messages=true)
if [[ -n "$labels" ]]; then
    require_file "$labels" "labels file"
    infer+=(labels-location="$labels")
fi
if [[ "$name" == shapes ]]; then infer+=(conf-threshold=0.5); fi

# No h264parse after x264enc: with a camera whose H.264 carries SEI user data (x264 streams
# do), GStreamer 1.22's h264parse then emits a buffer without PTS and mp4mux fails.
encode=(videoconvert ! x264enc tune=zerolatency speed-preset=veryfast key-int-max=30)
case "$output" in
    none) out=(fakesink sync=true) ;;
    display) out=(rsoverlay ! videoconvert ! autovideosink) ;;
    rtsp://* | rtsps://*) out=(rsoverlay ! "${encode[@]}" ! rtspclientsink location="$output") ;;
    *.mkv) out=(rsoverlay ! "${encode[@]}" ! matroskamux ! filesink location="$output") ;;
    *) out=(rsoverlay ! "${encode[@]}" ! mp4mux ! filesink location="$output") ;;
esac
if [[ "$output" != none ]] && ! gst-inspect-1.0 rsoverlay >/dev/null 2>&1; then
    die "the rsoverlay element is not found (GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-unset}); OUTPUT=none prints the detections without drawing"
fi

protocols=()
if [[ -n "${PROTOCOLS:-}" ]]; then protocols=(protocols="$PROTOCOLS"); fi

gst-launch-1.0 -m -e \
    rtspsrc location="$input" latency="${LATENCY:-200}" "${protocols[@]}" ! decodebin ! \
    "${infer[@]}" "$@" ! "${out[@]}" \
    | format_detections
