#!/usr/bin/env bash
# The demo, on a fresh Debian 12 machine: installs what running needs (scripts/setup.sh:
# no broker, no model server), builds the `rsvision` program (release) and runs the shipped
# deployment configs/demo.toml for a fixed time:
#   - the sample video (data/sample-shapes.mp4) played as two looping live cameras,
#   - the shipped detector (models/rsvision-shapes.onnx), loaded once and shared by both,
#   - tracking (rstracker), the shipped colour classifier (models/rsvision-colours.onnx) on
#     every tracked shape,
#   - track events (entry, moving, stopped, exit) in DeepStream's
#     schema to out/demo/events.jsonl,
#   - a local rule that records a clip (2 s before to 2 s after) when a star has been in
#     view for 1 s, into out/demo/clips/,
# then stops cleanly (EOS: clips finalised, events flushed) and prints where everything went.
#
#   scripts/demo.sh [DURATION]     (default 20s; any rsvision duration: 45s, 2m)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh

duration="${1:-20s}"
cargo build --locked --release -p rsvision
rm -rf out/demo
mkdir -p out/demo/clips
echo "== rsvision run configs/demo.toml --duration $duration"
status=0
target/release/rsvision run configs/demo.toml --duration "$duration" | tee out/demo/rsvision.log || status=$?
echo "== outputs"
echo "log:    out/demo/rsvision.log"
if [ -f out/demo/events.jsonl ]; then
  echo "events: out/demo/events.jsonl ($(wc -l < out/demo/events.jsonl) DeepStream-schema messages)"
fi
echo "clips:  out/demo/clips/"
ls -l out/demo/clips | tail -n +2 | sed 's/^/        /'
echo "== run your own deployment: target/release/rsvision check configs/two-cameras.toml; target/release/rsvision --help"
exit "$status"
