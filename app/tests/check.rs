//! `rsvision check CONFIG`: a valid deployment prints one launchable pipeline per source
//! (credentials redacted) and exits 0; invalid ones exit 2 with `FILE:LINE:COLUMN: KEY:
//! MESSAGE` and a suggestion for a misspelt name. `run` never prints credentials either.

mod common;

use std::path::Path;
use std::time::Duration;

use common::app::{self, Rsvision};
use common::camera::Camera;
use common::config::{file_uri, quote, quote_path, Deployment, Timing};
use common::{init, media, TempDir};

const SECRET: &str = "s3cret-pw";
const SECRET2: &str = "hunter2-pw";

/// The pipelines in `check`'s output, each joined into one line: a line with ` ! ` links
/// or ending in `!` (or `\`) starts one, and the lines after a trailing `!` (or `\`), or
/// starting with `!`, continue it.
fn pipeline_blocks(stdout: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    let (mut in_block, mut open_link) = (false, false);
    for line in stdout.lines() {
        let continued = line.trim_end().ends_with('\\');
        let t = line.trim().trim_end_matches('\\').trim();
        let links = t.contains(" ! ") || t.ends_with('!') || t.starts_with('!');
        if in_block && !t.is_empty() && (open_link || t.starts_with('!')) {
            let b = blocks.last_mut().unwrap();
            b.push(' ');
            b.push_str(t);
        } else if links {
            blocks.push(t.to_string());
            in_block = true;
        } else {
            in_block = false;
        }
        open_link = in_block && (t.ends_with('!') || continued);
    }
    blocks
}

/// Byte offset of the first occurrence of element `name` as a word in `pipeline`.
fn element_at(pipeline: &str, name: &str) -> Option<usize> {
    let bytes = pipeline.as_bytes();
    let mut from = 0;
    while let Some(i) = pipeline[from..].find(name) {
        let i = from + i;
        let before = i == 0 || matches!(bytes[i - 1], b' ' | b'!' | b'(');
        let end = i + name.len();
        let after = end == bytes.len() || matches!(bytes[end], b' ' | b'!');
        if before && after {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

/// The deployment `check` is run on: two RTSP cameras (one with credentials) and an
/// offline file, all with the model, tracker, events and clips.
fn valid_config(dir: &Path, clip: &Path) -> (std::path::PathBuf, Vec<&'static str>) {
    let mut d = Deployment::new(dir, &Timing::default());
    d.events_file();
    d.record("");
    d.rule("circle", "1s", "2s", "2s");
    d.source(
        "cam1",
        &format!("rtsp://admin:{SECRET}@127.0.0.1:8554/test"),
        "",
    );
    d.source("cam2", "rtsp://127.0.0.1:8555/other", "");
    d.source("file1", &file_uri(clip), "mode = \"offline\"");
    (d.write("deployment.toml"), vec!["cam1", "cam2", "file1"])
}

#[test]
fn check_prints_one_pipeline_per_source() {
    init();
    let dir = TempDir::new("check-valid");
    let clip = media::shapes();
    let (config, ids) = valid_config(dir.path(), &clip);
    let out = app::check(&config);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let all = format!("--- stdout ---\n{stdout}--- stderr ---\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{all}");

    let blocks = pipeline_blocks(&stdout);
    assert_eq!(blocks.len(), ids.len(), "one pipeline per source:\n{all}");
    let model = common::shapes_model();
    for (id, p) in ids.iter().zip(&blocks) {
        // The contract's chain, in this order (an offline file need not record).
        let rtsp = *id != "file1";
        let order: &[&str] = if rtsp {
            &[
                "rtspsrc",
                "parsebin",
                "rssmartrecord",
                "decodebin",
                "rsinfer",
                "rstracker",
                "rsmsgbroker",
            ]
        } else {
            &["decodebin", "rsinfer", "rstracker", "rsmsgbroker"]
        };
        let mut last = 0;
        for e in order {
            let at = element_at(p, e).unwrap_or_else(|| panic!("{id}: no {e} in `{p}`"));
            assert!(at >= last, "{id}: {e} out of order in `{p}`");
            last = at;
        }
        // The web console's JPEG branch (on by default) comes off a tee after the analysis.
        for e in [
            "tee",
            "fakesink",
            "queue",
            "valve",
            "rsoverlay",
            "videoscale",
            "jpegenc",
            "appsink",
        ] {
            let at = element_at(&p[last..], e)
                .unwrap_or_else(|| panic!("{id}: no {e} after the analysis in `{p}`"));
            last += at;
        }
        assert!(p.contains("valve name=webvalve drop=true"), "{id}: `{p}`");
        let rsinfer = &p[element_at(p, "rsinfer").unwrap()..];
        let rsinfer = &rsinfer[..rsinfer.find('!').unwrap_or(rsinfer.len())];
        assert!(
            rsinfer.contains(&format!("model-location={}", model.display()))
                || rsinfer.contains(&format!("model-location=\"{}\"", model.display())),
            "{id}: rsinfer without model-location={}: `{rsinfer}`",
            model.display()
        );
        assert!(rsinfer.contains("conf-threshold=0.25"), "{id}: `{rsinfer}`");
        assert!(
            rsinfer.contains("inference-interval=3"),
            "{id}: `{rsinfer}`"
        );
        let broker = &p[element_at(p, "rsmsgbroker").unwrap()..];
        let broker = &broker[..broker.find('!').unwrap_or(broker.len())];
        assert!(
            broker.contains(&format!("sensor-id={id}"))
                || broker.contains(&format!("sensor-id=\"{id}\"")),
            "{id}: rsmsgbroker without sensor-id={id}: `{broker}`"
        );
        // It is gst-launch syntax: GStreamer itself parses it (from its first element, in
        // case the line starts with a label such as `cam1:`).
        let first = ["rtspsrc", "filesrc", "urisourcebin", "uridecodebin"]
            .iter()
            .filter_map(|e| element_at(p, e))
            .min()
            .unwrap_or(0);
        if let Err(e) = gst::parse::launch(&p[first..]) {
            panic!("{id}: GStreamer cannot parse `{}`: {e}", &p[first..]);
        }
    }
    assert!(
        blocks[0].contains("rtsp://***@127.0.0.1:8554/test"),
        "cam1's URI not redacted as rtsp://***@...: `{}`",
        blocks[0]
    );
    assert!(
        !all.contains(SECRET) && !all.contains("admin:"),
        "credentials printed:\n{all}"
    );
    assert!(
        blocks[2].contains(clip.file_name().unwrap().to_str().unwrap()),
        "file1's pipeline does not name its file: `{}`",
        blocks[2]
    );
}

/// `run` with credentials in two URIs, one camera up and one absent (errors and
/// reconnects print the URI): neither password ever reaches stdout or stderr.
#[test]
fn run_never_prints_credentials() {
    init();
    let dir = TempDir::new("check-secrets");
    let cam = Camera::start(&media::shapes(), dir.path());
    let absent = common::free_port();
    let mut d = Deployment::new(dir.path(), &Timing::default());
    d.events_file();
    d.source(
        "cam1",
        &cam.url()
            .replace("rtsp://", &format!("rtsp://admin:{SECRET}@")),
        "",
    );
    d.source(
        "cam2",
        &format!("rtsp://bob:{SECRET2}@127.0.0.1:{absent}/test"),
        "",
    );
    let config = d.write("deployment.toml");
    // GST_DEBUG would print rtspsrc's own debug lines, URLs included: not the program's.
    let mut rsv = Rsvision::run_with(&config, &["--duration", "8s"], &["GST_DEBUG"]);
    rsv.wait_for(0, "source cam1: live", Duration::from_secs(30), |t| {
        t == "source cam1: live"
    });
    rsv.wait_for(0, "source cam2: lost", Duration::from_secs(30), |t| {
        t.starts_with("source cam2: lost (")
    });
    rsv.wait_for(
        0,
        "source cam2: reconnecting",
        Duration::from_secs(30),
        |t| t.starts_with("source cam2: reconnecting in "),
    );
    let status = rsv.wait_exit(Duration::from_secs(30));
    let all = rsv.output();
    assert_eq!(status.code(), Some(0), "--duration ends cleanly\n{all}");
    for secret in [SECRET, SECRET2, "admin:", "bob:"] {
        assert!(!all.contains(secret), "`{secret}` printed:\n{all}");
    }
    assert!(
        rsv.find(0, |t| t.starts_with("shutdown: duration reached"))
            .len()
            == 1,
        "no `shutdown: duration reached`\n{}",
        rsv.transcript()
    );
}

/// One invalid config: the text, the line (1-based) of the mistake, the columns a
/// message may point at (the key's or the value's), what the message must name, and the
/// suggestion it must make.
struct Bad {
    name: &'static str,
    toml: String,
    line: usize,
    columns: Vec<usize>,
    needle: &'static str,
    suggestion: Option<&'static str>,
}

/// `text` with the line holding `marker` located: (line, key column, value column).
fn locate(text: &str, marker: &str) -> (usize, usize, usize) {
    let (i, l) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(marker))
        .unwrap_or_else(|| panic!("{marker} not in the config"));
    let key = l.len() - l.trim_start().len() + 1;
    let value = l
        .find('=')
        .map(|e| e + 2 + l[e + 1..].len() - l[e + 1..].trim_start().len())
        .unwrap_or(key);
    (i + 1, key, value)
}

fn bad_configs(dir: &Path) -> Vec<Bad> {
    let base = |extra_model: &str, extra_reconnect: &str, rule_label: &str, sources: &str| {
        format!(
            "[app]\nstats-interval = \"1s\"\n\n[reconnect]\ninitial-delay = \"500ms\"\n{extra_reconnect}\n[models.shapes]\nlocation = {}\n{extra_model}inference-interval = 3\n\n[tracker]\n\n[events]\nconn-str = {}\npublish = \"tracks\"\n\n[record]\nlocation = {}\n\n[[record.rules]]\nlabel = \"{rule_label}\"\n\n{sources}",
            quote_path(&common::shapes_model()),
            quote(&format!("file://{}", dir.join("events.jsonl").display())),
            quote_path(&dir.join("clips")),
        )
    };
    let one_source =
        "[[sources]]\nid = \"cam1\"\nuri = \"rtsp://127.0.0.1:8554/test\"\nmodel = \"shapes\"\n";
    let mut out = Vec::new();
    let mut add = |name, toml: String, marker: &str, needle, suggestion| {
        let (line, key, value) = locate(&toml, marker);
        out.push(Bad {
            name,
            toml,
            line,
            // The key's column, or the value's (its opening quote or first character).
            columns: vec![key, value, value + 1],
            needle,
            suggestion,
        });
    };
    add(
        "misspelt rsinfer property",
        base("conf-treshold = 0.25\n", "", "circle", one_source),
        "conf-treshold",
        "conf-treshold",
        Some("conf-threshold"),
    );
    add(
        "unknown model",
        base(
            "",
            "",
            "circle",
            "[[sources]]\nid = \"cam1\"\nuri = \"rtsp://127.0.0.1:8554/test\"\nmodel = \"shapez\"\n",
        ),
        "shapez",
        "shapez",
        Some("shapes"),
    );
    add(
        "label the model does not have",
        base("", "", "circel", one_source),
        "circel",
        "circel",
        Some("circle"),
    );
    add(
        "misspelt reconnect key",
        base("", "stall-timout = \"3s\"\n", "circle", one_source),
        "stall-timout",
        "stall-timout",
        Some("stall-timeout"),
    );
    add(
        "bad duration",
        base("", "max-delay = \"4 parsecs\"\n", "circle", one_source),
        "4 parsecs",
        "max-delay",
        None,
    );
    add(
        "duplicate source id",
        base(
            "",
            "",
            "circle",
            "[[sources]]\nid = \"cam1\"\nuri = \"rtsp://127.0.0.1:8554/a\"\nmodel = \"shapes\"\n\n[[sources]]\nid = \"cam1\" # again\nuri = \"rtsp://127.0.0.1:8554/b\"\nmodel = \"shapes\"\n",
        ),
        "# again",
        "cam1",
        None,
    );
    out
}

/// `FILE:LINE:COLUMN: ` at the start of `line`, for `file`: (line, column).
fn position(line: &str, file: &Path) -> Option<(usize, usize)> {
    let name = file.file_name()?.to_str()?;
    let at = line.find(name)?;
    let rest = &line[at + name.len()..];
    let mut parts = rest.strip_prefix(':')?.splitn(3, ':');
    let l = parts.next()?.parse().ok()?;
    let c = parts.next()?.parse().ok()?;
    parts.next()?.strip_prefix(' ')?;
    // The file is first on the line (as written on the command line or absolute).
    let prefix = &line[..at];
    (prefix.is_empty() || file.to_str()?.ends_with(&format!("{prefix}{name}"))).then_some((l, c))
}

#[test]
fn bad_configs_exit_2_with_position_and_suggestion() {
    init();
    let dir = TempDir::new("check-bad");
    let mut failures = Vec::new();
    for bad in bad_configs(dir.path()) {
        let path = dir
            .path()
            .join(format!("{}.toml", bad.name.replace(' ', "-")));
        std::fs::write(&path, &bad.toml).unwrap();
        let out = app::check(&path);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut why = Vec::new();
        if out.status.code() != Some(2) {
            why.push(format!("exit status {:?}, not 2", out.status));
        }
        let hit = text.lines().find(|l| {
            position(l, &path)
                .is_some_and(|(line, col)| line == bad.line && bad.columns.contains(&col))
                && l.contains(bad.needle)
        });
        if hit.is_none() {
            why.push(format!(
                "no `{}:{}:{{{:?}}}: ...{}...` line",
                path.display(),
                bad.line,
                bad.columns,
                bad.needle
            ));
        }
        if let Some(s) = bad.suggestion {
            if !text.contains(&format!("did you mean `{s}`?")) {
                why.push(format!("no \"did you mean `{s}`?\""));
            }
        }
        if !why.is_empty() {
            failures.push(format!(
                "{}: {}\n--- config ---\n{}\n--- output ---\n{text}",
                bad.name,
                why.join("; "),
                bad.toml
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `run` validates too: the misspelt property stops it before anything starts.
#[test]
fn run_refuses_an_invalid_config_with_2() {
    init();
    let dir = TempDir::new("check-run-bad");
    let bad = bad_configs(dir.path()).remove(0);
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, &bad.toml).unwrap();
    let mut rsv = Rsvision::run(&path, &[]);
    let status = rsv.wait_exit(Duration::from_secs(30));
    let all = rsv.output();
    assert_eq!(status.code(), Some(2), "{all}");
    assert!(
        all.lines()
            .any(|l| position(l, &path).is_some_and(|(line, _)| line == bad.line)),
        "no {}:{}:COLUMN in:\n{all}",
        path.display(),
        bad.line
    );
    assert!(all.contains("did you mean `conf-threshold`?"), "{all}");
    assert!(
        rsv.find(0, |t| t.starts_with("source ")).is_empty(),
        "sources started:\n{all}"
    );
}

/// Every configuration the repository ships (the demo, the commented two-camera example,
/// the scaling-out pair) is valid as it is, from any working directory.
#[test]
fn shipped_configs_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut configs = Vec::new();
    for dir in ["configs", "configs/scale-out"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                configs.push(path);
            }
        }
    }
    assert!(configs.len() >= 4, "{configs:?}");
    for config in configs {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rsvision"))
            .arg("check")
            .arg(&config)
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}{}",
            config.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
