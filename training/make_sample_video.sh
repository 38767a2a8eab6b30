#!/bin/sh
# Regenerates data/sample-shapes.mp4: 10 s, 640x480, 30 fps, H.264 (High) in MP4,
# a continuous scene of 8 bouncing shapes rendered by training/render.py.
#
# Seed 42 (never used for training, which uses seeds >= 1000000).
# Needs python3 with numpy + Pillow, and GStreamer with x264enc (gst-plugins-ugly),
# rawvideoparse (gst-plugins-bad), mp4mux (gst-plugins-good).
#
# Usage: training/make_sample_video.sh [PYTHON]
#   optional env: OUT (default data/sample-shapes.mp4), TRUTH (keep the per-frame
#   ground truth JSON there; default: a temp file that is deleted)
set -eu

PY=${1:-python3}
SEED=42
W=640
H=480
FPS=30
FRAMES=300

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/data/sample-shapes.mp4}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
TRUTH=${TRUTH:-$TMP/truth.json}

"$PY" "$ROOT/training/render.py" video --seed "$SEED" --frames "$FRAMES" \
    --width "$W" --height "$H" --fps "$FPS" --out "$TMP/frames.rgb" --truth "$TRUTH"

mkdir -p "$(dirname "$OUT")"
gst-launch-1.0 -q filesrc location="$TMP/frames.rgb" \
    ! rawvideoparse format=rgb width=$W height=$H framerate=$FPS/1 \
    ! videoconvert ! video/x-raw,format=I420 \
    ! x264enc key-int-max=30 bitrate=1500 speed-preset=medium threads=1 \
    ! video/x-h264,profile=high ! h264parse ! mp4mux ! filesink location="$OUT"

echo "wrote $OUT ($(wc -c < "$OUT") bytes)"
