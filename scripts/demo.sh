#!/usr/bin/env bash
# The demo, on a fresh Debian 12 machine: installs what running needs (scripts/setup.sh),
# builds the plugin (release), runs the shipped detector (models/rsvision-shapes.onnx) over
# the shipped sample video (data/sample-shapes.mp4) with all five elements:
#   filesrc ! parsebin ! rssmartrecord ! decodebin ! rsinfer inference-interval=3
#     ! rstracker ! rsmsgbroker publish=tracks ! rsoverlay show-trails=true ! tee
# prints the objects per class, the tracks and their events and the frame rate, and writes
# out/annotated.mp4 (the video annotated by rsoverlay: ids, predicted boxes dashed,
# trails), out/annotated.png (its frame at 3 s), out/events.jsonl (rsmsgbroker's
# DeepStream-schema track events: entry, moving, stopped, exit; file transport),
# out/clips/*.mp4 (an event clip rssmartrecord recorded from 2 s before to 3 s after the
# 5 s mark) and out/detections.jsonl (every frame's objects, read by the application).
#
# Override with: scripts/demo.sh [VIDEO [MODEL]] (VIDEO in H.264 or H.265, for the clip)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh

video="${1:-data/sample-shapes.mp4}"
model="${2:-models/rsvision-shapes.onnx}"
# rstracker takes the weak detections too (they extend tracks; only those above its
# new-track-threshold, 0.6, start one), so rsinfer reports from 0.1 up.
conf="${CONF:-0.1}"
interval="${INTERVAL:-3}"
mkdir -p out

cargo build --locked --release --lib --example detect
echo "== rsinfer on $video with $model"
target/release/examples/detect "$video" "$model" --conf "$conf" --interval "$interval" --track --quiet \
    --jsonl out/detections.jsonl --annotate out/annotated.mp4 --snapshot out/annotated.png \
    --events out/events.jsonl --clips out/clips
echo "== outputs: out/annotated.mp4 out/annotated.png out/events.jsonl out/clips/ out/detections.jsonl"
echo "== use it in your own pipelines with: export GST_PLUGIN_PATH=$PWD/target/release"
