//! `[analytics]` and a source's `analytics`: defaults and overrides, `config-file` relative
//! to the config, where rsanalytics sits in the pipeline, the geometry checked at load, and
//! the warning for analytics without a tracker.

use super::{load_text, temp_dir, Props, SRC};
use crate::config::keys_help;
use crate::pipeline::describe;

const MIDDLE: &str = "\"middle:320;40;320;440\"";

fn props(pairs: &[(&str, &str)]) -> Props {
    Props(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[test]
fn analytics_is_every_sources_default_and_a_table_goes_on_top() {
    let dir = temp_dir("analytics-defaults");
    let text = format!(
        "\
[models.shapes]
location = \"@MODEL@\"

[models.colours]
location = \"@ROOT@/models/rsvision-colours.onnx\"
inference-region = \"objects\"

[events]
conn-str = \"file:events.jsonl\"

[analytics]
lines = {MIDDLE}
reference-width = 640
reference-height = 480

[[sources]]
id = \"a\"
uri = \"rtsp://h/a\"
models = [\"colours\", \"shapes\"]

[[sources]]
id = \"b\"
uri = \"rtsp://h/b\"
[sources.analytics]
zones = \"bay:40;260;280;260;280;460;40;460\"
lines = \"door:0;10;640;10\"

[[sources]]
id = \"c\"
uri = \"rtsp://h/c\"
analytics = false
"
    );
    let (_, result) = load_text(&dir, &text);
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let global = props(&[
        ("lines", MIDDLE),
        ("reference-width", "640"),
        ("reference-height", "480"),
    ]);
    assert_eq!(c.sources[0].analytics, Some(global));
    assert_eq!(
        c.sources[1].analytics,
        Some(props(&[
            ("lines", "\"door:0;10;640;10\""),
            ("reference-width", "640"),
            ("reference-height", "480"),
            ("zones", "\"bay:40;260;280;260;280;460;40;460\""),
        ]))
    );
    assert_eq!(c.sources[2].analytics, None);

    // After the tracker and the classifier on objects, before the broker and the web tap
    // (whose rsoverlay draws the zones and lines).
    let d = describe(&c, &c.sources[0], true);
    let at = |s: &str| d.find(s).unwrap_or_else(|| panic!("no {s} in {d}"));
    let analytics = at("rsanalytics name=analytics lines=\"middle:320;40;320;440\"");
    assert!(at("rstracker name=tracker") < analytics, "{d}");
    assert!(at("rsinfer name=infer1") < analytics, "{d}");
    assert!(analytics < at("rsmsgbroker name=sink-events"), "{d}");
    assert!(analytics < at("tee name=webtee"), "{d}");
    assert!(analytics < at("rsoverlay"), "{d}");
    assert!(!describe(&c, &c.sources[2], true).contains("rsanalytics"));
}

#[test]
fn without_analytics_no_source_runs_it() {
    let dir = temp_dir("analytics-none");
    let (_, result) = load_text(&dir, SRC);
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.sources[0].analytics, None);
    assert!(!describe(&c, &c.sources[0], true).contains("rsanalytics"));
}

#[test]
fn config_files_are_relative_to_the_config() {
    let dir = temp_dir("analytics-file");
    std::fs::create_dir_all(dir.join("geometry")).unwrap();
    std::fs::write(
        dir.join("geometry/door.txt"),
        "[geometry]\nwidth=640\nheight=480\n\n[line.door]\npoints=0;240;640;240\n",
    )
    .unwrap();
    let text = format!(
        "{SRC}[sources.analytics]\nconfig-file = \"geometry/door.txt\"\n\n\
         [[sources]]\nid = \"ds\"\nuri = \"rtsp://h/ds\"\n\
         analytics = {{ config-file = \"@ROOT@/data/rsanalytics-nvdsanalytics.txt\", stream-id = 0 }}\n"
    );
    let (_, result) = load_text(&dir, &text);
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    let file = |i: usize| {
        c.sources[i]
            .analytics
            .as_ref()
            .and_then(|p| p.get("config-file"))
            .map(str::to_string)
    };
    let door = dir.join("geometry/door.txt");
    assert_eq!(file(0), Some(format!("\"{}\"", door.display())));
    let ds = super::root().join("data/rsanalytics-nvdsanalytics.txt");
    assert_eq!(file(1), Some(format!("\"{}\"", ds.display())));
}

#[test]
fn analytics_without_a_tracker_is_valid_with_a_warning() {
    let dir = temp_dir("analytics-untracked");
    let text = format!("{SRC}tracker = false\nanalytics = {{ zones = \"z:0;0;1;0;1;1\" }}\n");
    let (path, result) = load_text(&dir, &text);
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    let w = &c.warnings[0];
    assert_eq!(
        (w.file.as_path(), w.line, w.column, w.key.as_str()),
        (path.as_path(), 5, 13, "sources[0].analytics")
    );
    assert!(w.message.contains("need track ids"), "{}", w.message);
    let d = describe(&c, &c.sources[0], true);
    assert!(d.contains("rsanalytics name=analytics") && !d.contains("rstracker"));

    let tracked = format!("{SRC}analytics = {{ zones = \"z:0;0;1;0;1;1\" }}\n");
    let (_, result) = load_text(&dir, &tracked);
    assert!(result.unwrap().warnings.is_empty());
}

/// One bad config: the one error it must give.
struct Bad {
    name: &'static str,
    toml: String,
    at: (usize, usize),
    key: &'static str,
    message: &'static str,
    suggestion: Option<&'static str>,
}

fn bad(
    name: &'static str,
    toml: impl Into<String>,
    at: (usize, usize),
    key: &'static str,
    message: &'static str,
    suggestion: Option<&'static str>,
) -> Bad {
    Bad {
        name,
        toml: toml.into(),
        at,
        key,
        message,
        suggestion,
    }
}

#[test]
fn each_analytics_mistake_gives_one_error_at_its_place() {
    let dir = temp_dir("analytics-bad");
    let zones = "zones = \"z:0;0;1;0;1;1\"\n";
    let cases = vec![
        bad(
            "misspelt key",
            format!("[analytics]\n{zones}line = {MIDDLE}\n{SRC}"),
            (3, 1),
            "analytics.line",
            "unknown key \"line\" in [analytics]: not a key of the section nor a property of \
             rsanalytics",
            Some("lines"),
        ),
        bad(
            "misspelt key in a source's table",
            format!("{SRC}[sources.analytics]\n{zones}refrence-width = 640\n"),
            (6, 1),
            "sources[0].analytics.refrence-width",
            "unknown key \"refrence-width\" in sources[0].analytics",
            Some("reference-width"),
        ),
        bad(
            "malformed lines",
            format!("{SRC}analytics = {{ lines = \"middle:320;40;320\" }}\n"),
            (4, 23),
            "sources[0].analytics.lines",
            "lines item 1 (middle): 3 numbers, 4 or 8 expected",
            None,
        ),
        bad(
            "malformed zones in [analytics]",
            format!("[analytics]\nzones = \"bay:40;260;280;260\"\n{SRC}"),
            (2, 9),
            "analytics.zones",
            "zones item 1 (bay)",
            None,
        ),
        bad(
            "directions without a name",
            format!("[analytics]\ndirections = \"0;0;1;1\"\n{SRC}"),
            (2, 14),
            "analytics.directions",
            "has no \"NAME:\" before its numbers",
            None,
        ),
        bad(
            "missing config-file",
            "[[sources]]\nid = \"cam1\"\nuri = \"rtsp://h/s\"\n[sources.analytics]\n\
             config-file = \"zones.txt\"\n",
            (5, 15),
            "sources[0].analytics.config-file",
            "source \"cam1\": analytics config-file not found: ",
            None,
        ),
        bad(
            "invalid config-file",
            format!("[analytics]\nconfig-file = \"bad.txt\"\n{SRC}"),
            (2, 15),
            "analytics.config-file",
            "[analytics] config-file is not valid: ",
            None,
        ),
        bad(
            "post-messages is the program's",
            format!("[analytics]\n{zones}post-messages = false\n{SRC}"),
            (3, 1),
            "analytics.post-messages",
            "\"post-messages\" cannot be set in [analytics]",
            None,
        ),
        bad(
            "no geometry",
            format!("{SRC}analytics = true\n"),
            (4, 13),
            "sources[0].analytics",
            "source \"a\": analytics has no geometry: give config-file, zones, lines or directions",
            None,
        ),
        bad(
            "half a reference size",
            format!("{SRC}analytics = {{ lines = {MIDDLE}, reference-width = 640 }}\n"),
            (4, 13),
            "sources[0].analytics",
            "reference-width 640 and reference-height 0: give both",
            None,
        ),
        bad(
            "not a table",
            format!("{SRC}analytics = \"yes\"\n"),
            (4, 13),
            "sources[0].analytics",
            "expected a boolean or a table of rsanalytics properties, found the string \"yes\"",
            None,
        ),
        bad(
            "reference-width out of range",
            format!("[analytics]\n{zones}reference-width = -1\n{SRC}"),
            (3, 19),
            "analytics.reference-width",
            "expected an integer from 0 to 65535, found the integer -1",
            None,
        ),
    ];
    let mut failures = Vec::new();
    for b in cases {
        let case = dir.join(b.name.replace(' ', "-"));
        std::fs::create_dir_all(&case).unwrap();
        // A zone of two points.
        std::fs::write(case.join("bad.txt"), "[zone.x]\npoints=0;0;10;10\n").unwrap();
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
                && (e.line, e.column) == b.at
                && e.key == b.key
                && e.message.contains(b.message)
                && e.suggestion.as_deref() == b.suggestion
        };
        if !ok {
            failures.push(format!(
                "{}: expected {}:{}: {}: ...{}... (suggestion {:?}), got:\n{errors}",
                b.name, b.at.0, b.at.1, b.key, b.message, b.suggestion
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_lists_the_analytics_section_and_its_properties() {
    super::init();
    let help = keys_help();
    let section = help
        .split("\n[analytics]\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no [analytics] in\n{help}"));
    let section = section.split("\n[").next().unwrap();
    for key in [
        "config-file",
        "stream-id",
        "zones",
        "lines",
        "directions",
        "reference-width",
        "reference-height",
    ] {
        assert!(
            section.contains(&format!("    {key} ")),
            "{key} not in\n{section}"
        );
    }
    assert!(!section.contains("post-messages"), "{section}");
    assert!(help.contains("  analytics "), "the source key: {help}");
}
