#!/usr/bin/env bash
# Installs what rsvision needs on Debian 12 and is missing: GStreamer (dev files, plugins,
# tools, RTSP server, Python bindings), a Python venv with onnxruntime/numpy/pillow (the ONNX
# Runtime shared library comes from the PyPI onnxruntime wheel) and a copy of that library
# where rsinfer looks for it: ~/.local/share/rsvision/lib/libonnxruntime.so.
#
# Idempotent: a second run installs nothing. Prints the environment to use at the end.
set -euo pipefail

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
)

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

# Python venv: onnxruntime (its shared library feeds rsinfer; its Python API is the test
# reference), numpy and pillow (scene renderer and reference checks).
py_packages=(onnxruntime numpy pillow)
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating Python venv $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import onnxruntime, numpy, PIL" >/dev/null 2>&1; then
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

# --- rssmartrecord (issue 5): tansu, the Kafka-compatible broker its Kafka tests start on
# 127.0.0.1 (REFERENCE.md section 7). Built only when missing (~15 min on 2 cores).
if ! command -v tansu >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tansu" ]; then
  echo "setup: building tansu 0.6.0 (Kafka-compatible broker for the tests)"
  cargo install tansu --version 0.6.0 --features dynostore,libsql
fi
# --- end rssmartrecord

echo "setup: ready (venv $venv, ONNX Runtime $libdir/libonnxruntime.so)"
