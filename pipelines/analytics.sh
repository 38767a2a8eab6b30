#!/usr/bin/env bash
# Counts line crossings and zone entries: rsinfer detects, rstracker gives the objects ids,
# rsanalytics counts them against lines and zones, rsoverlay draws the boxes, the lines
# (with their in direction and in/out counts) and the zones (occupied ones filled, with
# their counts), from a video file or an RTSP camera, to an MP4 file or the screen, while
# the crossings and zone entries/exits are printed as they happen and the counts at the end.
#
# Usage:
#   pipelines/analytics.sh [SOURCE [MODEL]] [PROPERTY=VALUE...]
#
#   SOURCE  a video file (any format decodebin reads) or an rtsp:// URL (default: $SOURCE,
#           else data/sample-shapes.mp4 in the repository)
#   MODEL   YOLO .onnx model (default: $MODEL, else models/rsvision-shapes.onnx)
#   further arguments are rsanalytics properties, e.g. config-file=data/rsanalytics-nvdsanalytics.txt
#
# Environment: LINES and ZONES = rsanalytics' lines and zones, in pixels of a 640x480 frame
# (rescaled to the video's size; default: the geometry tests/analytics_video.rs checks
# against the renderer's truth on the sample video: lines middle (x = 335, in = right),
# floor (y = 430, in = down), slope ((200,480)-(640,150), in = up-left) and zone pen
# (220..440 x 260..400)); INTERVAL = rsinfer inference-interval (default 1); CONF = rsinfer
# conf-threshold (default 0.1: rstracker keeps its tracks with the weak detections);
# OUTPUT = an .mp4 file (default out/analytics.mp4), or `screen`; OVERLAY = rsoverlay
# properties (default "show-lines=true show-zones=true show-dwell=true show-trails=true");
# LATENCY (rtspsrc jitter buffer, ms, default 200); FORMAT=raw prints the rsanalytics
# messages as gst-launch does.
#
# The pipeline:
#   gst-launch-1.0 -e -m filesrc location=SOURCE ! decodebin ! \
#       rsinfer model-location=MODEL conf-threshold=0.1 ! rstracker ! \
#       rsanalytics lines=LINES zones=ZONES reference-width=640 reference-height=480 ! \
#       rsoverlay show-lines=true show-zones=true ! x264enc ! mp4mux ! filesink location=OUTPUT
#
# Examples:
#   cargo build --release && pipelines/analytics.sh     # writes out/analytics.mp4
#   OUTPUT=screen LINES="door:0;240;640;240;0;0;0;1" ZONES= pipelines/analytics.sh
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

source_="${SOURCE:-$DEFAULT_VIDEO}"
model="${MODEL:-$DEFAULT_MODEL}"
if [[ $# -gt 0 && "$1" != *=* ]]; then source_="$1"; shift; fi
if [[ $# -gt 0 && "$1" != *=* ]]; then model="$1"; shift; fi
output="${OUTPUT:-$ROOT/out/analytics.mp4}"
lines="${LINES-middle:335;0;335;480;0;0;1;0|floor:0;430;640;430;0;0;0;1|slope:200;480;640;150;0;0;-1;-1}"
zones="${ZONES-pen:220;260;440;260;440;400;220;400}"
read -r -a overlay <<<"${OVERLAY:-show-lines=true show-zones=true show-dwell=true show-trails=true}"

require_file "$model" "model"
require_rsinfer
gst-inspect-1.0 rsanalytics >/dev/null 2>&1 || die "the rsanalytics element is not found: build the plugin with 'cargo build --release'"

if [[ "$source_" == rtsp://* || "$source_" == rtsps://* || "$source_" == rtspt://* ]]; then
    src=(rtspsrc location="$source_" latency="${LATENCY:-200}")
    enc=(x264enc tune=zerolatency speed-preset=veryfast)
else
    require_file "$source_" "video file"
    src=(filesrc location="$source_")
    enc=(x264enc speed-preset=faster)
fi
if [[ "$output" == screen ]]; then
    sink=(videoconvert ! autovideosink sync=true)
else
    [[ "$output" == *.mp4 ]] || die "OUTPUT '$output' is not an .mp4 file or 'screen'"
    mkdir -p "$(dirname "$output")"
    sink=("${enc[@]}" ! mp4mux ! filesink location="$output")
fi
geometry=(reference-width=640 reference-height=480)
[[ -n "$lines" ]] && geometry+=(lines="$lines")
[[ -n "$zones" ]] && geometry+=(zones="$zones")

# Reads `gst-launch-1.0 -m` output and prints one line per rsanalytics-crossing and
# rsanalytics-zone message:
#   1.233 s  track #4 circle   crossed middle   in   (in 2, out 1)
#   2.100 s  track #6 cross    entry   pen
# and each line's in/out counts and each zone's entries at the end.
format_analytics() (
    trap '' INT
    if [[ "${FORMAT:-brief}" == raw ]]; then
        exec cat
    fi
    exec awk "$AWK_VALUE"'
    function secs(pts) { return (pts == "18446744073709551615" ? -1 : pts / 1e9) }
    /rsanalytics-crossing/ {
        line = value($0, " line=")
        printf "%8.3f s  track #%s %-8s crossed %-8s %-4s (in %s, out %s)\n", secs(value($0, " pts=")),
            value($0, " track-id="), value($0, " label="), line, value($0, " direction="),
            value($0, " in-count="), value($0, " out-count=")
        fflush()
        if (!(line in ins)) order[++nlines] = line
        ins[line] = value($0, " in-count=")
        outs[line] = value($0, " out-count=")
        next
    }
    /rsanalytics-zone/ {
        zone = value($0, " zone=")
        event = value($0, " event=")
        printf "%8.3f s  track #%s %-8s %-7s %s%s\n", secs(value($0, " pts=")), value($0, " track-id="),
            value($0, " label="), event, zone, (event == "exit" ? sprintf(" after %.1f s", value($0, " dwell-ms=") / 1000) : "")
        fflush()
        if (!(zone in entries)) zorder[++nzones] = zone
        if (event == "entry") entries[zone]++
        else entries[zone] += 0
        next
    }
    /ERROR|WARNING|Got EOS|Execution ended|Interrupt/ { print; fflush() }
    END {
        for (i = 1; i <= nlines; i++) printf "line %s: %d in, %d out\n", order[i], ins[order[i]], outs[order[i]]
        for (i = 1; i <= nzones; i++) printf "zone %s: %d entries\n", zorder[i], entries[zorder[i]]
    }
    '
)

gst-launch-1.0 -e -m \
    "${src[@]}" ! decodebin ! \
    rsinfer model-location="$model" conf-threshold="${CONF:-0.1}" inference-interval="${INTERVAL:-1}" ! \
    rstracker ! \
    rsanalytics "${geometry[@]}" "$@" ! \
    rsoverlay "${overlay[@]}" ! \
    "${sink[@]}" | format_analytics
if [[ "$output" != screen ]]; then
    echo "annotated video: $output"
fi
