# Shared by the pipelines/*.sh scripts (sourced, not run).
#
# Sets ROOT (the repository root), points GST_PLUGIN_PATH at the freshly built plugin
# (target/release, else target/debug, unless RSVISION_PLUGIN_DIR names the directory; a
# GST_PLUGIN_PATH set by the user comes after it) and
# defines `require_rsinfer`, `require_file`, `format_detections` and `format_events`.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

DEFAULT_MODEL="$ROOT/models/rsvision-shapes.onnx"
DEFAULT_VIDEO="$ROOT/data/sample-shapes.mp4"

# rsinfer properties the model needs: the shipped model is used at its operating point,
# conf-threshold=0.5 (training/README.md); other models get the element's defaults.
# Arguments given on the command line come later and win.
model_properties() {
    if [[ "$(realpath "$1")" == "$(realpath "$DEFAULT_MODEL")" ]]; then
        echo "conf-threshold=0.5"
    fi
}

# RSVISION_PLUGIN_DIR (a directory holding libgstrsvision.so) overrides the search.
if [[ -n "${RSVISION_PLUGIN_DIR:-}" ]]; then
    export GST_PLUGIN_PATH="$RSVISION_PLUGIN_DIR${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
for build in release debug; do
    if [[ -z "${RSVISION_PLUGIN_DIR:-}" && -f "$ROOT/target/$build/libgstrsvision.so" ]]; then
        export GST_PLUGIN_PATH="$ROOT/target/$build${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
        break
    fi
done

die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

require_rsinfer() {
    if ! gst-inspect-1.0 rsinfer >/dev/null 2>&1; then
        die "the rsinfer element is not found: build the plugin with 'cargo build --release' (GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-unset})"
    fi
}

require_file() {
    [[ -f "$1" ]] || die "$2 '$1' does not exist"
}

# An awk function: the value of field `key` (e.g. ", label=") in a serialized structure.
AWK_VALUE='
    function value(s, key,    i, r, j) {
        i = index(s, key)
        if (i == 0) return ""
        r = substr(s, i + length(key))
        sub(/^\([a-z0-9]+\)/, "", r)
        if (substr(r, 1, 1) == "\"") {
            r = substr(r, 2)
            j = index(r, "\"")
            return substr(r, 1, j - 1)
        }
        match(r, /^[^,;"} ]*/)
        return substr(r, 1, RLENGTH)
    }
'

# Reads `gst-launch-1.0 -m` output and prints one line per rsinfer-detections message:
#   frame 12  pts 0.467 s  2 detections: circle 0.91 [447,329 158x150]  square 0.34 [...]
# Lines about errors, warnings and the end of the stream pass through; a summary ends it.
# FORMAT=raw passes the messages as gst-launch prints them. The filter ignores Ctrl-C
# (SIGINT, sent to the whole foreground process group): gst-launch-1.0 -e then ends the
# stream cleanly, and the filter prints what is left and the summary.
format_detections() (
    trap '' INT
    if [[ "${FORMAT:-brief}" == raw ]]; then
        exec cat
    fi
    exec awk "$AWK_VALUE"'
    /rsinfer-detections/ {
        line = $0
        gsub(/\\/, "", line)
        n = split(line, parts, /"?detection, /)
        out = ""
        for (i = 2; i <= n; i++) {
            p = ", " parts[i]
            out = out sprintf("  %s %.2f [%d,%d %dx%d]", value(p, ", label="),
                value(p, ", confidence="), value(p, ", x="), value(p, ", y="),
                value(p, ", width="), value(p, ", height="))
        }
        printf "frame %s  pts %.3f s  %d detection%s%s%s\n", value(parts[1], "frame-number="),
            value(parts[1], "pts=") / 1e9, n - 1, (n == 2 ? "" : "s"), (n > 1 ? ":" : ""), out
        fflush()
        frames++
        detections += n - 1
        next
    }
    /ERROR|WARNING|Got EOS|Execution ended|Interrupt/ { print; fflush() }
    END { printf "%d inferred frames, %d detections\n", frames, detections }
    '
)

# Reads `gst-launch-1.0 -m` output and prints one line per rstracker-event message:
#   0.467 s  track #3 entry   circle [447,329 158x150]
# and a count of the events at the end; FORMAT=raw passes the messages through.
format_events() (
    trap '' INT
    if [[ "${FORMAT:-brief}" == raw ]]; then
        exec cat
    fi
    exec awk "$AWK_VALUE"'
    /rstracker-event/ {
        pts = value($0, " pts=")
        reason = value($0, " reason=")
        printf "%8.3f s  track #%s %-7s %s [%d,%d %dx%d]%s\n", (pts == "18446744073709551615" ? -1 : pts / 1e9),
            value($0, "track-id="), value($0, " event="), value($0, " label="), value($0, " x="),
            value($0, " y="), value($0, " width="), value($0, " height="), (reason != "" ? " (" reason ")" : "")
        fflush()
        n[value($0, " event=")]++
        next
    }
    /ERROR|WARNING|Got EOS|Execution ended|Interrupt/ { print; fflush() }
    END { printf "%d entries, %d exits, %d moving, %d stopped\n", n["entry"], n["exit"], n["moving"], n["stopped"] }
    '
)
