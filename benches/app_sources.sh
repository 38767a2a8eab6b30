#!/usr/bin/env bash
# Sources per core: how many 640x480 10 fps cameras `rsvision run` keeps live on this machine
# (inference-interval=3, the shipped shapes model shared by every source, tracker on),
# against the same streams run as separate gst-launch-1.0 processes (one model copy each).
# For each source count N it prints frames/s, the live share, CPU cores and resident memory
# of both, and their ratios (the machine is shared and noisy: quote the ratios).
#
#   benches/app_sources.sh [SECONDS_PER_RUN (default 30)] [COUNTS (default "1 2 4 8")]
#   BENCH_SKIP_APP=1 benches/app_sources.sh ...    only the separate processes
#
# A benchmark, not a test: about 6 min at the defaults besides the builds (2 runs of
# SECONDS per count, plus start-up and drain).
# 1. builds `rsvision` and the plugin (release; gst-launch-1.0 loads target/release),
# 2. makes, once, a 640x480 10 fps H.264 "camera" file from data/sample-shapes.mp4 (the
#    shipped detector's domain), repeated so that it outlasts a run by >= 10 s (the app loops
#    it anyway; gst-launch-1.0 cannot), cached in ~/.cache/rsvision/bench/,
# 3. runs benches/app_sources.py, which measures (its docstring says how) and prints the table.
# Every child is stopped on exit, on Ctrl-C and on SIGTERM.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

seconds="${1:-30}"
counts="${2:-1 2 4 8}"
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_RUN] [COUNTS]" >&2; exit 2 ;; esac

# Each step runs in the background and is waited for, so that a signal reaches the trap at
# once and the trap can stop the step (a foreground child would delay the trap until it ends).
child=""
stop_child() {
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  child=""
}
trap stop_child EXIT
trap 'stop_child; exit 130' INT
trap 'stop_child; exit 143' TERM
step() {
  "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=""
  return "$status"
}

for tool in gst-launch-1.0 python3 cargo; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is not installed" >&2; exit 1; }
done

echo "== build (release)"
step cargo build --release --lib --locked
if [ -z "${BENCH_SKIP_APP:-}" ]; then
  step cargo build --release -p rsvision --locked
fi

# The sample is 10 s at 30 fps; each copy becomes 100 frames at 10 fps, joined by concat
# with one continuous timeline (identity single-segment=true), a keyframe every second.
sample="$root/data/sample-shapes.mp4"
sample_seconds=10
copies=$(( (seconds + 10 + sample_seconds - 1) / sample_seconds ))
cache="${XDG_CACHE_HOME:-$HOME/.cache}/rsvision/bench"
cam="$cache/cam-640x480-10fps-$(( copies * sample_seconds ))s.mp4"
frames_in() {
  # Encoded frames in an MP4: one fakesink chain line per buffer (no decoding).
  gst-launch-1.0 -v filesrc location="$1" ! qtdemux ! fakesink silent=false 2>/dev/null \
    | grep -c "last-message = chain" || true
}
if [ ! -s "$cam" ]; then
  echo "== make $cam ($copies copies of the sample at 10 fps)"
  mkdir -p "$cache"
  branches=()
  for _ in $(seq "$copies"); do
    branches+=(filesrc location="$sample" ! decodebin ! videoconvert ! videoscale ! videorate
      ! video/x-raw,format=I420,width=640,height=480,framerate=10/1 ! c.)
  done
  step gst-launch-1.0 -q concat name=c ! identity single-segment=true \
    ! x264enc speed-preset=ultrafast tune=zerolatency key-int-max=10 ! h264parse \
    ! mp4mux ! filesink location="$cam.part" "${branches[@]}"
  mv "$cam.part" "$cam"
fi
have=$(frames_in "$cam")
need=$(( (seconds + 10) * 10 ))
if [ "$have" -lt "$need" ]; then
  echo "$0: $cam has $have frames, a run needs $need; delete it to make it again" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/rsvision-app-sources.XXXXXX")"
args=(--app "$root/target/release/rsvision" --plugin-dir "$root/target/release"
  --model "$root/models/rsvision-shapes.onnx" --cam "$cam" --seconds "$seconds"
  --counts "$counts" --work "$work" --cores "$(nproc)")
if [ -n "${BENCH_SKIP_APP:-}" ]; then
  args+=(--skip-app)
else
  echo "== the app's pipeline for one source (rsvision check)"
  printf '[models.shapes]\nlocation = "%s"\nconf-threshold = 0.25\ninference-interval = 3\n\n[tracker]\n\n[[sources]]\nid = "cam-1"\nuri = "file://%s"\nmode = "live"\nmodel = "shapes"\n' \
    "$root/models/rsvision-shapes.onnx" "$cam" > "$work/check.toml"
  step "$root/target/release/rsvision" check "$work/check.toml" | sed 's/^/  /'
fi
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
step python3 -u "$root/benches/app_sources.py" "${args[@]}"
