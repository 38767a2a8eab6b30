#!/usr/bin/env bash
# The demo, on a fresh Debian 12 machine: installs what is missing (scripts/setup.sh),
# builds the plugin (release), runs the shipped detector (models/rsvision-shapes.onnx) over
# the shipped sample video (data/sample-shapes.mp4) with all four elements:
#   filesrc ! parsebin ! rssmartrecord ! decodebin ! rsinfer ! rsmsgbroker ! rsoverlay ! tee
# prints the detections per class and the frame rate, and writes out/annotated.mp4 (the
# video annotated by rsoverlay), out/annotated.png (its frame at 3 s), out/events.jsonl
# (rsmsgbroker's DeepStream-schema events, file transport), out/clips/*.mp4 (an event clip
# rssmartrecord recorded from 2 s before to 3 s after the 5 s mark) and
# out/detections.jsonl (the detections of every frame, read by the application).
#
# Override with: scripts/demo.sh [VIDEO [MODEL]] (VIDEO in H.264 or H.265, for the clip)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh

video="${1:-data/sample-shapes.mp4}"
model="${2:-models/rsvision-shapes.onnx}"
# The shipped model's operating point (training/README.md); the element's default is 0.25.
conf="${CONF:-0.5}"
mkdir -p out

cargo build --locked --release --lib --example detect
echo "== rsinfer on $video with $model"
target/release/examples/detect "$video" "$model" --conf "$conf" --quiet \
    --jsonl out/detections.jsonl --annotate out/annotated.mp4 --snapshot out/annotated.png \
    --events out/events.jsonl --clips out/clips
echo "== outputs: out/annotated.mp4 out/annotated.png out/events.jsonl out/clips/ out/detections.jsonl"
echo "== use it in your own pipelines with: export GST_PLUGIN_PATH=$PWD/target/release"
