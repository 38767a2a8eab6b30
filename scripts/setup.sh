#!/usr/bin/env bash
# Installs what rsvision needs on Debian 12 and is missing.
#
#   scripts/setup.sh          what running needs (the demo): GStreamer (dev files, plugins,
#                             tools, RTSP server, Python bindings), the C libraries rdkafka
#                             builds librdkafka with (TLS, SASL, zlib), and a Python venv
#                             with the PyPI onnxruntime wheel, whose shared library rsinfer
#                             loads (copied to ~/.local/share/rsvision/lib/libonnxruntime.so),
#                             and the PyPI openvino wheel, whose C library and plugins the
#                             OpenVINO engine loads (copied to ~/.local/share/rsvision/lib/openvino/).
#   scripts/setup.sh --test   that, plus the test and benchmark peers: numpy, pillow,
#                             kafka-python and opencv-python-headless in the same venv, a venv
#                             with the KServe v2 server (kserve), venvs with the Python
#                             trackers rstracker is compared with (roboflow trackers and
#                             TrackEval; norfair, which needs numpy < 2, in its own), a venv
#                             with supervision (its LineZone, the line counter compared), and the
#                             Kafka-compatible broker tansu (cargo install, once); Debian's
#                             chromium for the web console's browser test.
#
# Idempotent: a second run installs nothing. Prints what is where at the end.
set -euo pipefail

with_tests=false
case "${1:-}" in
  --test) with_tests=true ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${RSVISION_VENV:-$HOME/.cache/rsvision/venv}"
libdir="${XDG_DATA_HOME:-$HOME/.local/share}/rsvision/lib"

apt_packages=(
  pkg-config build-essential
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp
  python3-gst-1.0 python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-rtsp-server-1.0
  python3-venv meson ninja-build
  # rdkafka's bundled librdkafka: TLS, SASL (GSSAPI), compression.
  libssl-dev libsasl2-dev zlib1g-dev
)
if $with_tests; then
  # openssl makes the private CA of the backend=ovms HTTPS test; chromium (headless, over
  # the DevTools protocol) loads the web console in app/tests/web_page.rs.
  apt_packages+=(openssl chromium)
fi

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi

# The project's venv: onnxruntime (its shared library feeds rsinfer; its Python API is the
# tests' reference); for the tests also numpy and pillow (scene renderer and reference
# checks), kafka-python (the DeepStream guide's consumer reads rsmsgbroker's events in a
# test; 2.0.2, which the guide pins, cannot join a consumer group on tansu) and
# opencv-python-headless (the baseline of benches/overlay.rs). openvino (pinned: its C
# library and plugins feed src/openvino; the copy below follows the wheel).
openvino_version=2026.4.0
py_packages=(onnxruntime "openvino==$openvino_version")
py_check="import importlib.metadata as m, onnxruntime, openvino; assert m.version('openvino') == '$openvino_version'"
if $with_tests; then
  py_packages+=(numpy pillow "kafka-python==3.0.12" opencv-python-headless)
  py_check="$py_check; import numpy, PIL, kafka, cv2"
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating Python venv $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "$py_check" >/dev/null 2>&1; then
  echo "setup: installing ${py_packages[*]} into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${py_packages[@]}"
fi

ort_lib="$("$venv/bin/python" - <<'PY'
import glob, os, onnxruntime
libs = sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so.1*")))
print(libs[-1] if libs else "")
PY
)"
if [ -z "$ort_lib" ]; then
  echo "setup: the onnxruntime wheel has no libonnxruntime.so.1.*" >&2
  exit 1
fi
mkdir -p "$libdir"
if ! cmp -s "$ort_lib" "$libdir/libonnxruntime.so"; then
  cp "$ort_lib" "$libdir/libonnxruntime.so"
  echo "setup: ONNX Runtime library installed to $libdir/libonnxruntime.so (from $ort_lib)"
fi

# OpenVINO Runtime from the wheel's openvino/libs/: the C API (as libopenvino_c.so, the name
# src/openvino looks for), the core (keeps its versioned name: the C API needs it), the
# device plugins (CPU; GPU, NPU and the AUTO/HETERO/BATCH ones for device=...), the ONNX
# and IR frontends, TBB with hwloc, and cache.json (the GPU plugin's tuning cache).
# OpenVINO finds plugins and frontends beside libopenvino.so, so the copy works on its own
# (no plugins.xml in the wheel). Files no longer in the wheel are removed.
ov_src="$("$venv/bin/python" -c 'import os, openvino; print(os.path.join(os.path.dirname(openvino.__file__), "libs"))')"
ov_dir="$libdir/openvino"
shopt -s nullglob
ov_c=("$ov_src"/libopenvino_c.so.*)
ov_files=("$ov_src"/libopenvino.so.* "$ov_src"/libopenvino_*_plugin.so
  "$ov_src"/libopenvino_onnx_frontend.so.* "$ov_src"/libopenvino_ir_frontend.so.*
  "$ov_src"/libtbb.so.* "$ov_src"/libtbbbind*.so.* "$ov_src"/libtbbmalloc.so.* "$ov_src"/libhwloc.so.*
  "$ov_src"/plugins.xml "$ov_src"/cache.json)
shopt -u nullglob
if ((${#ov_c[@]} == 0)); then
  echo "setup: the openvino wheel has no libopenvino_c.so.* in $ov_src" >&2
  exit 1
fi
# The C API, under the name src/openvino looks for (the newest if the wheel had several).
ov_files=("${ov_c[-1]}" "${ov_files[@]}")
mkdir -p "$ov_dir"
ov_changed=()
ov_wanted=" "
for src in "${ov_files[@]}"; do
  [ -e "$src" ] || continue
  name="$(basename "$src")"
  case "$name" in libopenvino_c.so.*) name=libopenvino_c.so ;; esac
  ov_wanted+="$name "
  if ! cmp -s "$src" "$ov_dir/$name"; then
    cp "$src" "$ov_dir/.$name.tmp" && mv -f "$ov_dir/.$name.tmp" "$ov_dir/$name"
    ov_changed+=("$name")
  fi
done
for f in "$ov_dir"/* "$ov_dir"/.*.tmp; do
  [ -e "$f" ] || continue
  case "$ov_wanted" in *" $(basename "$f") "*) ;; *) rm -f "$f"; ov_changed+=("-$(basename "$f")") ;; esac
done
if ((${#ov_changed[@]})); then
  echo "setup: OpenVINO $openvino_version runtime installed to $ov_dir (from $ov_src; ${#ov_changed[@]} files changed)"
fi

if ! $with_tests; then
  echo "setup: ready to run (venv $venv, ONNX Runtime $libdir/libonnxruntime.so, OpenVINO $ov_dir)"
  exit 0
fi

# A Python venv with exactly these packages (pinned), made once.
peer_venv() {
  local dir="$1" check="$2"
  shift 2
  if [ ! -x "$dir/bin/python" ]; then
    echo "setup: creating Python venv $dir"
    python3 -m venv "$dir"
  fi
  if ! "$dir/bin/python" -c "$check" >/dev/null 2>&1; then
    echo "setup: installing $* into $dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  fi
}

# A real KServe v2 server for tests/ovms.rs, benches/ovms.rs and pipelines/ovms-*.sh: the
# `kserve` PyPI package (pinned; its fastapi/grpcio stack stays out of the main venv) with
# onnxruntime, in its own venv. pipelines/kserve-serve-onnx.py runs it.
kserve_venv="${RSVISION_KSERVE_VENV:-$HOME/.cache/rsvision/kserve-venv}"
peer_venv "$kserve_venv" \
  "import importlib.metadata as m, onnxruntime, numpy, kserve; assert m.version('kserve') == '0.21.0'" \
  "kserve==0.21.0" onnxruntime numpy

# The trackers rstracker's quality and speed are compared with (tests/rstracker_quality.rs,
# benches/tracker.rs): roboflow `trackers` (ByteTrack) with TrackEval, the official HOTA
# scorer; norfair pins numpy < 2, so it has a venv of its own.
track_venv="${RSVISION_TRACK_VENV:-$HOME/.cache/rsvision/track-venv}"
peer_venv "$track_venv" \
  "import importlib.metadata as m, trackers, trackeval; assert m.version('trackers') == '2.6.1' and m.version('trackeval') == '1.3.0'" \
  "trackers==2.6.1" "trackeval==1.3.0"
norfair_venv="${RSVISION_NORFAIR_VENV:-$HOME/.cache/rsvision/norfair-venv}"
peer_venv "$norfair_venv" \
  "import importlib.metadata as m, norfair; assert m.version('norfair') == '2.3.0'" \
  "norfair==2.3.0" "numpy<2"
# supervision's LineZone, the line counter rsanalytics' counting engine is compared with
# (tests/analytics_linezone.rs runs tests/reference/linezone_compare.py in it).
supervision_venv="${RSVISION_SUPERVISION_VENV:-$HOME/.cache/rsvision/supervision-venv}"
peer_venv "$supervision_venv" \
  "import importlib.metadata as m, supervision; assert m.version('supervision') == '0.31.2'" \
  "supervision==0.31.2"

# tansu 0.6, the Kafka-compatible broker the rsmsgbroker and rssmartrecord tests start on
# 127.0.0.1 (REFERENCE.md section 7): built once into ~/.cargo/bin.
if ! command -v tansu >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tansu" ]; then
  echo "setup: building the tansu broker (cargo install tansu 0.6.0, ~15 min, once)"
  cargo install tansu --version 0.6.0 --features dynostore,libsql
fi

echo "setup: ready to test (venv $venv, ONNX Runtime $libdir/libonnxruntime.so, OpenVINO $ov_dir, KServe venv $kserve_venv, tracker venvs $track_venv $norfair_venv, supervision venv $supervision_venv, broker $(command -v tansu || echo "$HOME/.cargo/bin/tansu"))"
