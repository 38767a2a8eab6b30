#!/usr/bin/env bash
# Runs a camera-like stream through rssmartrecord, commanded over Kafka with DeepStream's
# cloud-to-device JSON, and prints each finished clip.
#
# Usage:
#   pipelines/smartrecord.sh [VIDEO|rtsp://URL] [RSSMARTRECORD-PROPERTY=VALUE...]
#
#   VIDEO   an H.264 MP4 file played in real time as if it were a camera (default: $VIDEO,
#           else data/sample-shapes.mp4), or an rtsp:// URL (H.264 camera)
#   further arguments are rssmartrecord properties; the defaults here are
#   location=$CLIPS (default /tmp/rsvision-clips, created) sensor-id=$SENSOR (default cam1)
#   and, when KAFKA is set, conn-str="$KAFKA" topic=$TOPIC (default svr-commands)
#
# Environment: KAFKA=host;port of the broker (unset: no Kafka, the clips come only from
# the element's action signals, i.e. from an application), TOPIC, SENSOR, CLIPS as above;
# FORMAT=raw to print the element messages as gst-launch-1.0 -m shows them.
#
# Then send, with any Kafka producer (e.g. DeepStream's trigger-svr.py), to TOPIC:
#   {"command": "start-recording", "start": "2026-11-21T12:00:00.000Z",
#    "end": "2026-11-21T12:00:05.000Z", "sensor": {"id": "cam1"}}
# (times in UTC, the start up to cache-size seconds in the past).
#
# The pipeline (plugin from target/release, else target/debug):
#   gst-launch-1.0 -m filesrc location=VIDEO ! qtdemux ! h264parse ! \
#       rssmartrecord location=CLIPS sensor-id=cam1 conn-str="127.0.0.1;9092" topic=svr-commands ! \
#       avdec_h264 ! fakesink sync=true
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

source_arg="${VIDEO:-$DEFAULT_VIDEO}"
if [[ $# -gt 0 && "$1" != *=* ]]; then source_arg="$1"; shift; fi
clips="${CLIPS:-/tmp/rsvision-clips}"
mkdir -p "$clips"

gst-inspect-1.0 rssmartrecord >/dev/null 2>&1 ||
    die "the rssmartrecord element is not found: build the plugin with 'cargo build --release' (GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-unset})"

props=(location="$clips" sensor-id="${SENSOR:-cam1}")
if [[ -n "${KAFKA:-}" ]]; then
    props+=(conn-str="$KAFKA" topic="${TOPIC:-svr-commands}")
fi

if [[ "$source_arg" == rtsp://* ]]; then
    src=(rtspsrc location="$source_arg" latency=200 ! rtph264depay)
else
    require_file "$source_arg" "video file"
    src=(filesrc location="$source_arg" ! qtdemux)
fi

echo "clips go to $clips (sensor ${SENSOR:-cam1}${KAFKA:+, commands from Kafka $KAFKA topic ${TOPIC:-svr-commands}})" >&2
gst-launch-1.0 -m -e "${src[@]}" ! h264parse ! rssmartrecord "${props[@]}" "$@" ! \
    avdec_h264 ! fakesink sync=true |
    if [[ "${FORMAT:-brief}" == raw ]]; then cat; else
        grep --line-buffered -E 'rssmartrecord-|ERROR|WARNING|Got EOS'
    fi
