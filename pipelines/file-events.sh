#!/usr/bin/env bash
# Detects objects in a video file with rsinfer and publishes them as DeepStream-schema JSON
# with rsmsgbroker: to Kafka when CONN_STR is a broker, else to a JSON-lines file.
#
# Usage:
#   pipelines/file-events.sh [VIDEO [MODEL]] [RSMSGBROKER-PROPERTY=VALUE...]
#
#   VIDEO   video file, any format decodebin reads (default: $VIDEO, else
#           data/sample-shapes.mp4 in the repository)
#   MODEL   YOLO .onnx model (default: $MODEL, else models/rsvision-shapes.onnx)
#   further arguments are rsmsgbroker properties, e.g. payload-type=deepstream-minimal
#   frame-interval=1 config=tests/data/msgconv_sample_config.txt proto-cfg="acks=all"
#
# Environment: VIDEO, MODEL as above; CONN_STR (default
# file://${TMPDIR:-/tmp}/rsvision-events.jsonl; a Kafka broker is `host;port;topic`, e.g.
# "localhost;9092;detections"); SENSOR_ID (default cam0); SYNC=true to play at the file's
# frame rate (default false: as fast as possible).
#
# Runs the plugin built in target/release (else target/debug) of this repository:
#   gst-launch-1.0 -e filesrc location=VIDEO ! decodebin ! rsinfer model-location=MODEL ! \
#       rsmsgbroker conn-str=CONN_STR sensor-id=cam0 frame-interval=1 ! fakesink
#
# Example:
#   cargo build --release && pipelines/file-events.sh && head -c 600 /tmp/rsvision-events.jsonl
#   CONN_STR="localhost;9092;detections" pipelines/file-events.sh payload-type=deepstream-minimal
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

video="${VIDEO:-$DEFAULT_VIDEO}"
model="${MODEL:-$DEFAULT_MODEL}"
if [[ $# -gt 0 && "$1" != *=* ]]; then video="$1"; shift; fi
if [[ $# -gt 0 && "$1" != *=* ]]; then model="$1"; shift; fi
events="${TMPDIR:-/tmp}/rsvision-events.jsonl"
conn_str="${CONN_STR:-file://$events}"

require_file "$video" "video file"
require_file "$model" "model"
require_rsinfer
gst-inspect-1.0 rsmsgbroker >/dev/null 2>&1 || die "the rsmsgbroker element is not found: build the plugin with 'cargo build --release'"

if [[ "$conn_str" == "file://$events" ]]; then
    rm -f "$events"
fi

gst-launch-1.0 -e \
    filesrc location="$video" ! decodebin ! \
    rsinfer model-location="$model" $(model_properties "$model") ! \
    rsmsgbroker name=broker conn-str="$conn_str" sensor-id="${SENSOR_ID:-cam0}" frame-interval=1 "$@" ! \
    fakesink sync="${SYNC:-false}"

if [[ "$conn_str" == file://* ]]; then
    file="${conn_str#file://}"
    echo "$(wc -l <"$file") events in $file; the first one:"
    head -n 1 "$file"
fi
