#!/usr/bin/env bash
# `rsvision run` on two RTSP cameras, without cameras: starts two local RTSP servers
# (pipelines/rtsp-serve-file.py --loop, the sample video looped like a live camera) on
# 127.0.0.1, writes a deployment for them (shared model, tracker, events to a JSON-lines
# file, a clip rule) and runs it. Kill a server meanwhile (the script prints their PIDs)
# to watch the source reconnect with backoff while the other goes on:
#
#   pipelines/rsvision-rtsp.sh [DURATION] [VIDEO]     (default 60s, data/sample-shapes.mp4)
#   kill -STOP <pid>   # freeze a camera: the watchdog declares it stalled in 5 s
#   kill <pid>         # or kill it: lost (end of stream), reconnecting in 1 s, 2 s, 4 s ...
#
# Outputs go to out/rsvision-rtsp/ (events.jsonl, clips/, rsvision.log).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration="${1:-60s}"
video="$(realpath "${2:-data/sample-shapes.mp4}")"
out="$PWD/out/rsvision-rtsp"
mkdir -p "$out"
cargo build --locked --release -p rsvision

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
ports=()
for i in 1 2; do
  port="$(free_port)"
  /usr/bin/python3 pipelines/rtsp-serve-file.py "$video" --port "$port" --loop > "$out/camera$i.log" 2>&1 &
  pids+=("$!")
  ports+=("$port")
  echo "camera $i: rtsp://127.0.0.1:$port/test (server pid $!)"
done

cat > "$out/deployment.toml" <<TOML
[app]
stats-interval = "5s"

[models.shapes]
location = "$PWD/models/rsvision-shapes.onnx"
conf-threshold = 0.1
inference-interval = 3

[tracker]

[events]
conn-str = "file://$out/events.jsonl"
publish = "tracks"

[record]
location = "$out/clips"
max-duration = 10

[[record.rules]]
label = "star"
min-duration = "1s"
pre = "2s"
post = "2s"
cooldown = "10s"

[[sources]]
id = "cam1"
uri = "rtsp://127.0.0.1:${ports[0]}/test"
model = "shapes"

[[sources]]
id = "cam2"
uri = "rtsp://127.0.0.1:${ports[1]}/test"
model = "shapes"
TOML

target/release/rsvision check "$out/deployment.toml"
target/release/rsvision run "$out/deployment.toml" --duration "$duration" | tee "$out/rsvision.log"
echo "== events: $out/events.jsonl, clips: $out/clips/, log: $out/rsvision.log"
