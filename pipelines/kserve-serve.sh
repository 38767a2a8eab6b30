#!/usr/bin/env bash
# Serves an ONNX model over the KServe v2 protocol (gRPC and REST), the protocol of OpenVINO
# Model Server, to try rsinfer backend=ovms without OVMS: a stand-in for
#   docker run -p 9000:9000 -p 8000:8000 openvino/model_server --model_name shapes \
#       --model_path /models/shapes --port 9000 --rest_port 8000
# It runs pipelines/kserve-serve-onnx.py (the `kserve` PyPI package + onnxruntime) with the
# venv scripts/setup.sh --test makes.
#
# Usage:
#   pipelines/kserve-serve.sh [MODEL [NAME]]
#
#   MODEL   .onnx model (default: $MODEL, else models/rsvision-shapes.onnx)
#   NAME    model name on the server (default: $MODEL_NAME, else shapes)
#
# Environment: GRPC_PORT (default 9000), HTTP_PORT (default 8000), RSVISION_KSERVE_VENV
# (default ~/.cache/rsvision/kserve-venv). Listens on all interfaces. Stop with Ctrl-C.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

model="${MODEL:-$DEFAULT_MODEL}"
name="${MODEL_NAME:-shapes}"
if [[ $# -gt 0 ]]; then model="$1"; shift; fi
if [[ $# -gt 0 ]]; then name="$1"; shift; fi
require_file "$model" "model"

python="${RSVISION_KSERVE_VENV:-$HOME/.cache/rsvision/kserve-venv}/bin/python"
[[ -x "$python" ]] || die "$python is missing: run scripts/setup.sh --test (it makes the kserve venv)"

echo "Serving '$model' as '$name': grpc://127.0.0.1:${GRPC_PORT:-9000} http://127.0.0.1:${HTTP_PORT:-8000}" >&2
exec "$python" "$ROOT/pipelines/kserve-serve-onnx.py" \
    --http_port "${HTTP_PORT:-8000}" --grpc_port "${GRPC_PORT:-9000}" \
    --model "$name=$model"
