//! The table of bad configs: each gives exactly one error, at an exact place, with an
//! exact key path, message fragment and suggestion.

use super::{load_text, temp_dir, SRC};

/// One bad config and the one error it must give.
struct Bad {
    name: &'static str,
    toml: String,
    line: usize,
    column: usize,
    key: &'static str,
    message: &'static str,
    suggestion: Option<&'static str>,
}

fn bad(
    name: &'static str,
    toml: impl Into<String>,
    (line, column): (usize, usize),
    key: &'static str,
    message: &'static str,
    suggestion: Option<&'static str>,
) -> Bad {
    Bad {
        name,
        toml: toml.into(),
        line,
        column,
        key,
        message,
        suggestion,
    }
}

fn bad_configs() -> Vec<Bad> {
    let shapes = "[models.shapes]\nlocation = \"@MODEL@\"\n";
    let record = "[record]\nlocation = \"clips\"\n";
    vec![
        bad(
            "typo in a section key",
            format!("[app]\nstats-intervall = \"5s\"\n{SRC}"),
            (2, 1),
            "app.stats-intervall",
            "unknown key \"stats-intervall\" in [app]",
            Some("stats-interval"),
        ),
        bad(
            "typo in an element property",
            format!("{shapes}conf-treshold = 0.3\n{SRC}"),
            (3, 1),
            "models.shapes.conf-treshold",
            "unknown key \"conf-treshold\" in [models.shapes]",
            Some("conf-threshold"),
        ),
        bad(
            "unknown top-level key",
            format!("stats-interval = \"1s\"\n{SRC}"),
            (1, 1),
            "stats-interval",
            "unknown key \"stats-interval\" at the top level",
            None,
        ),
        bad(
            "wrong type",
            "[[sources]]\nid = 5\nuri = \"rtsp://h/s\"\n",
            (2, 6),
            "sources[0].id",
            "expected a string, found the integer 5",
            None,
        ),
        bad(
            "negative duration",
            format!("[reconnect]\ninitial-delay = -3\n{SRC}"),
            (2, 17),
            "reconnect.initial-delay",
            "expected a duration like \"5s\" or \"500ms\", found the integer -3",
            None,
        ),
        bad(
            "duration with an unknown unit",
            format!("[app]\nshutdown-timeout = \"5 sec\"\n{SRC}"),
            (2, 20),
            "app.shutdown-timeout",
            "expected a duration like \"5s\" or \"500ms\", found the string \"5 sec\"",
            None,
        ),
        bad(
            "number out of range",
            format!("[reconnect]\njitter = 1.5\n{SRC}"),
            (2, 10),
            "reconnect.jitter",
            "expected a number from 0 to 1, found the float 1.5",
            None,
        ),
        bad(
            "max-delay below initial-delay",
            format!("[reconnect]\ninitial-delay = \"10s\"\nmax-delay = \"5s\"\n{SRC}"),
            (3, 13),
            "reconnect.max-delay",
            "max-delay (5s) must be at least initial-delay (10s)",
            None,
        ),
        bad(
            "element property out of range",
            format!("{shapes}conf-threshold = 2\n{SRC}"),
            (3, 18),
            "models.shapes.conf-threshold",
            "expected a number from 0 to 1, found the integer 2",
            None,
        ),
        bad(
            "negative integer property",
            format!("[tracker]\nmin-hits = -1\n{SRC}"),
            (2, 12),
            "tracker.min-hits",
            "expected an integer from 1 to 1000, found the integer -1",
            None,
        ),
        bad(
            "unknown enum nick",
            format!("[events]\nconn-str = \"file:///tmp/x.jsonl\"\npublish = \"track\"\n{SRC}"),
            (3, 11),
            "events.publish",
            "expected one of frames, tracks, found the string \"track\"",
            Some("tracks"),
        ),
        bad(
            "read-only property",
            format!("[events]\nconn-str = \"file:///tmp/x.jsonl\"\nstats = \"x\"\n{SRC}"),
            (3, 1),
            "events.stats",
            "property \"stats\" of rsmsgbroker is read-only",
            None,
        ),
        bad(
            "model-location instead of location",
            format!("[models.m]\nmodel-location = \"@MODEL@\"\n{SRC}"),
            (2, 1),
            "models.m.model-location",
            "\"model-location\" cannot be set in [models.m]: use `location`",
            Some("location"),
        ),
        bad(
            "sensor-id in a sink",
            format!("[events]\nconn-str = \"file:///tmp/x.jsonl\"\nsensor-id = \"x\"\n{SRC}"),
            (3, 1),
            "events.sensor-id",
            "\"sensor-id\" cannot be set in [events]: each source's id is its sensor id",
            None,
        ),
        bad(
            "sink without conn-str",
            format!("[events]\npublish = \"tracks\"\n{SRC}"),
            (1, 1),
            "events.conn-str",
            "missing required key \"conn-str\" in [events]",
            None,
        ),
        bad(
            "relative path in a file conn-str",
            format!("[events]\nconn-str = \"file://events.jsonl\"\n{SRC}"),
            (2, 12),
            "events.conn-str",
            "a file URI needs an absolute path",
            None,
        ),
        bad(
            "file conn-str naming a directory",
            format!("[sinks.jsonl]\nconn-str = \"file:///tmp\"\n{SRC}"),
            (2, 12),
            "sinks.jsonl.conn-str",
            "is a directory, not a file: /tmp",
            None,
        ),
        bad(
            "the sink name events is reserved",
            format!("[sinks.events]\nconn-str = \"file:///tmp/x.jsonl\"\n{SRC}"),
            (1, 1),
            "sinks.events",
            "the sink name \"events\" is reserved for the [events] section",
            None,
        ),
        bad(
            "unknown section",
            format!("[recrod]\nlocation = \"clips\"\n{SRC}"),
            (1, 2),
            "recrod",
            "unknown section [recrod]",
            Some("record"),
        ),
        bad(
            "missing model file",
            format!("[models.m]\nlocation = \"nope.onnx\"\n{SRC}"),
            (2, 12),
            "models.m.location",
            "model file not found: ",
            None,
        ),
        bad(
            "TOML syntax error",
            format!("[app]\nstats-interval = \"10s\n{SRC}"),
            (2, 22),
            "",
            "TOML syntax error: invalid basic string",
            None,
        ),
        bad(
            "missing id",
            "[[sources]]\nuri = \"rtsp://h/s\"\n",
            (1, 1),
            "sources[0].id",
            "missing required key \"id\" in sources[0]",
            None,
        ),
        bad(
            "missing uri",
            "[[sources]]\nid = \"a\"\n",
            (1, 1),
            "sources[0].uri",
            "missing required key \"uri\" in sources[0]",
            None,
        ),
        bad(
            "no sources",
            "[app]\n",
            (1, 1),
            "sources",
            "no [[sources]]",
            None,
        ),
        bad(
            "invalid source id",
            "[[sources]]\nid = \"cam 1\"\nuri = \"rtsp://h/s\"\n",
            (2, 6),
            "sources[0].id",
            "invalid source id \"cam 1\"",
            None,
        ),
        bad(
            "duplicate source id",
            format!("{SRC}[[sources]]\nid = \"a\"\nuri = \"rtsp://h/t\"\n"),
            (5, 6),
            "sources[1].id",
            "duplicate source id \"a\" (already the id of sources[0])",
            None,
        ),
        bad(
            "unknown URI scheme, credentials redacted",
            "[[sources]]\nid = \"a\"\nuri = \"http://user:pw@h/s\"\n",
            (3, 7),
            "sources[0].uri",
            "expected a URI rtsp://, rtsps://, file:///absolute/path, file:relative/path or \
             v4l2:///dev/videoN, found \"http://***@h/s\"",
            None,
        ),
        bad(
            "missing video file",
            "[[sources]]\nid = \"a\"\nuri = \"file:nope.mp4\"\n",
            (3, 7),
            "sources[0].uri",
            "file not found: ",
            None,
        ),
        bad(
            "unknown model with suggestion",
            format!("{shapes}{SRC}model = \"shape\"\n"),
            (6, 9),
            "sources[0].model",
            "unknown model \"shape\": expected one of the [models.NAME] sections (shapes)",
            Some("shapes"),
        ),
        bad(
            "both model and models",
            format!("{shapes}{SRC}model = \"shapes\"\nmodels = [\"shapes\"]\n"),
            (7, 1),
            "sources[0].models",
            "give either model or models, not both",
            None,
        ),
        bad(
            "missing sink with suggestion",
            format!(
                "[events]\nconn-str = \"file:///tmp/x.jsonl\"\n{SRC}events = [\"events\", \"evnts\"]\n"
            ),
            (6, 21),
            "sources[0].events",
            "unknown sink \"evnts\": expected one of events",
            Some("events"),
        ),
        bad(
            "track events without the tracker",
            format!(
                "[events]\nconn-str = \"file:///tmp/x.jsonl\"\npublish = \"tracks\"\n{SRC}tracker = false\n"
            ),
            (7, 11),
            "sources[0].tracker",
            "tracker = false, but sink \"events\" publishes tracks",
            None,
        ),
        bad(
            "unknown transport with suggestion",
            format!("{SRC}transport = \"tpc\"\n"),
            (4, 13),
            "sources[0].transport",
            "expected one of tcp, udp, found the string \"tpc\"",
            Some("tcp"),
        ),
        bad(
            "transport on a file source",
            "[[sources]]\nid = \"a\"\nuri = \"file://@VIDEO@\"\ntransport = \"tcp\"\n",
            (4, 1),
            "sources[0].transport",
            "\"transport\" is only for rtsp:// sources; this is a file source",
            None,
        ),
        bad(
            "offline file with loop",
            "[[sources]]\nid = \"a\"\nuri = \"file://@VIDEO@\"\nmode = \"offline\"\nloop = true\n",
            (5, 8),
            "sources[0].loop",
            "loop = true is not possible with mode = \"offline\"",
            None,
        ),
        bad(
            "record on v4l2",
            format!("{record}[[sources]]\nid = \"a\"\nuri = \"v4l2:///dev/video0\"\nrecord = true\n"),
            (6, 10),
            "sources[0].record",
            "record = true, but this source cannot be recorded: a v4l2 camera gives raw video",
            None,
        ),
        bad(
            "record without [record]",
            format!("{SRC}record = true\n"),
            (4, 10),
            "sources[0].record",
            "record = true needs a [record] section",
            None,
        ),
        bad(
            "rule label not in the model",
            format!("{shapes}{record}[[record.rules]]\nlabel = \"circel\"\n{SRC}model = \"shapes\"\n"),
            (6, 9),
            "record.rules[0].label",
            "label \"circel\" is not a label of model \"shapes\" (used by source \"a\"); its \
             labels: circle, square, triangle, star, cross, ring",
            Some("circle"),
        ),
        bad(
            "rule without label",
            format!("{shapes}{record}[[record.rules]]\nname = \"x\"\n{SRC}model = \"shapes\"\n"),
            (5, 1),
            "record.rules[0].label",
            "missing required key \"label\" in record.rules[0]",
            None,
        ),
        bad(
            "duplicate rule names",
            format!(
                "{shapes}{record}[[record.rules]]\nlabel = \"circle\"\n[[record.rules]]\nname = \"circle\"\nlabel = \"star\"\n{SRC}model = \"shapes\"\n"
            ),
            (8, 8),
            "record.rules[1].name",
            "duplicate rule name \"circle\" (already the name of record.rules[0])",
            None,
        ),
        bad(
            "rule for an unknown source",
            format!(
                "{shapes}{record}[[record.rules]]\nlabel = \"circle\"\nsources = [\"cam\"]\n[[sources]]\nid = \"cam1\"\nuri = \"rtsp://h/s\"\nmodel = \"shapes\"\n"
            ),
            (7, 12),
            "record.rules[0].sources",
            "unknown source \"cam\"",
            Some("cam1"),
        ),
        bad(
            "rule for a source that does not record",
            format!(
                "{shapes}{record}[[record.rules]]\nlabel = \"circle\"\nsources = [\"a\"]\n{SRC}model = \"shapes\"\nrecord = false\n"
            ),
            (7, 12),
            "record.rules[0].sources",
            "source \"a\" does not record clips: record = false",
            None,
        ),
        bad(
            "rule for a source without a model",
            format!("{record}[[record.rules]]\nlabel = \"circle\"\n{SRC}"),
            (3, 1),
            "record.rules[0]",
            "rule \"circle\" applies to source \"a\", which has no model to detect \"circle\"",
            None,
        ),
    ]
}

#[test]
fn each_bad_config_gives_its_one_error() {
    let dir = temp_dir("bad");
    let mut failures = Vec::new();
    for b in bad_configs() {
        let case = dir.join(b.name.replace(' ', "-"));
        std::fs::create_dir_all(&case).expect("case dir");
        let (path, result) = load_text(&case, &b.toml);
        let errors = match result {
            Ok(_) => {
                failures.push(format!("{}: loaded", b.name));
                continue;
            }
            Err(e) => e,
        };
        let ok = errors.0.len() == 1 && {
            let e = &errors.0[0];
            e.file == path
                && (e.line, e.column) == (b.line, b.column)
                && e.key == b.key
                && e.message.contains(b.message)
                && e.suggestion.as_deref() == b.suggestion
        };
        if !ok {
            failures.push(format!(
                "{}: expected {}:{}: {}: ...{}... (suggestion {:?}), got:\n{errors}",
                b.name, b.line, b.column, b.key, b.message, b.suggestion
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let _ = std::fs::remove_dir_all(&dir);
}
