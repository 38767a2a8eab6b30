#!/usr/bin/env bash
# Installs what rsvision needs on Debian 12 and is missing: GStreamer (dev files, plugins,
# tools, RTSP server, Python bindings), the C libraries rdkafka builds librdkafka with (TLS,
# SASL, zlib), a Python venv with onnxruntime/numpy/pillow (the ONNX Runtime shared library
# comes from the PyPI onnxruntime wheel) and the test and benchmark peers (kafka-python,
# opencv-python-headless), a copy of that library where rsinfer looks for it
# (~/.local/share/rsvision/lib/libonnxruntime.so), a second venv with the KServe v2 server
# (kserve) and the Kafka-compatible broker tansu (cargo install, ~15 minutes, once).
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
  # rdkafka's bundled librdkafka: TLS, SASL (GSSAPI), compression.
  libssl-dev libsasl2-dev zlib1g-dev
  # openssl makes the private CA of the backend=ovms HTTPS test.
  openssl
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
# reference), numpy and pillow (scene renderer and reference checks), kafka-python (the
# DeepStream guide's consumer reads rsmsgbroker's events in a test; 2.0.2, which the guide
# pins, cannot join a consumer group on tansu), opencv-python-headless (the baseline of
# benches/overlay.rs).
py_packages=(onnxruntime numpy pillow "kafka-python==3.0.12" opencv-python-headless)
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating Python venv $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import onnxruntime, numpy, PIL, kafka, cv2" >/dev/null 2>&1; then
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

# A real KServe v2 server for tests/ovms.rs, benches/ovms.rs and pipelines/ovms-*.sh: the
# `kserve` PyPI package (pinned; its fastapi/grpcio stack stays out of the main venv) with
# onnxruntime, in its own venv. pipelines/kserve-serve-onnx.py runs it.
kserve_venv="${RSVISION_KSERVE_VENV:-$HOME/.cache/rsvision/kserve-venv}"
kserve_packages=("kserve==0.21.0" onnxruntime numpy)
if [ ! -x "$kserve_venv/bin/python" ]; then
  echo "setup: creating Python venv $kserve_venv"
  python3 -m venv "$kserve_venv"
fi
if ! "$kserve_venv/bin/python" -c "import importlib.metadata as m, onnxruntime, numpy, kserve; assert m.version('kserve') == '0.21.0'" >/dev/null 2>&1; then
  echo "setup: installing ${kserve_packages[*]} into $kserve_venv"
  "$kserve_venv/bin/pip" install --quiet --disable-pip-version-check "${kserve_packages[@]}"
fi

# tansu 0.6, the Kafka-compatible broker the rsmsgbroker and rssmartrecord tests start on
# 127.0.0.1 (REFERENCE.md section 7): built once (~15 minutes on 2 cores) into ~/.cargo/bin.
if ! command -v tansu >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tansu" ]; then
  echo "setup: building the tansu broker (cargo install tansu 0.6.0, ~15 min, once)"
  cargo install tansu --version 0.6.0 --features dynostore,libsql
fi

echo "setup: ready (venv $venv, ONNX Runtime $libdir/libonnxruntime.so, KServe venv $kserve_venv, broker $(command -v tansu || echo "$HOME/.cargo/bin/tansu"))"
