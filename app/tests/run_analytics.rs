//! Analytics in a deployment: an offline file with a line across the middle of the frame
//! and a zone at its bottom left (`[sources.analytics]`, written for 640x480). The shapes
//! of the sample cross the line both ways, so rsanalytics' crossings reach the log
//! (`analytics file1: circle #4 crossed middle in (in 3, out 1)`), one line per crossing,
//! each with the line's counts so far; the zone's entries and exits come the same way.

mod common;

use std::time::Duration;

use common::app::Rsvision;
use common::config::{file_uri, Deployment, Timing};
use common::{init, media, TempDir};

/// `(direction, in, out)` of a crossing line of `middle`.
fn crossing(text: &str) -> Option<(String, u64, u64)> {
    let rest = text.strip_prefix("analytics file1: ")?;
    let (_, rest) = rest.split_once(" crossed middle ")?;
    let (direction, counts) = rest.split_once(" (in ")?;
    let (inc, outc) = counts.strip_suffix(')')?.split_once(", out ")?;
    Some((direction.to_string(), inc.parse().ok()?, outc.parse().ok()?))
}

#[test]
fn crossings_and_zone_visits_are_logged_one_line_each() {
    init();
    let dir = TempDir::new("analytics");
    let video = media::shapes();
    let mut d = Deployment::new(dir.path(), &Timing::default());
    d.source(
        "file1",
        &file_uri(&video),
        "mode = \"offline\"\n\
         [sources.analytics]\n\
         lines = \"middle:320;40;320;440\"\n\
         zones = \"bay:40;260;280;260;280;460;40;460\"\n\
         reference-width = 640\n\
         reference-height = 480",
    );
    let config = d.write("deployment.toml");
    let mut rsv = Rsvision::run(&config, &[]);
    let status = rsv.wait_exit(Duration::from_secs(90));
    assert_eq!(status.code(), Some(0), "{}", rsv.transcript());

    let crossings: Vec<(String, u64, u64)> = rsv
        .find(0, |l| l.contains(" crossed middle "))
        .into_iter()
        .map(|(_, l)| crossing(&l.text).unwrap_or_else(|| panic!("bad line {:?}", l.text)))
        .collect();
    assert!(
        crossings.len() >= 2,
        "shapes cross the middle of the sample\n{}",
        rsv.transcript()
    );
    // Each crossing adds one to its direction's count: the counts it reports are the
    // number of lines of that direction so far.
    let (mut ins, mut outs) = (0, 0);
    for (direction, inc, outc) in &crossings {
        match direction.as_str() {
            "in" => ins += 1,
            "out" => outs += 1,
            other => panic!("direction {other}"),
        }
        assert_eq!((*inc, *outc), (ins, outs), "{}", rsv.transcript());
    }
    assert!(ins > 0 && outs > 0, "both ways: {crossings:?}");

    // Zone visits: every exit follows an entry of the same object.
    let entries = rsv.find(0, |l| {
        l.starts_with("analytics file1: ") && l.ends_with(" entered bay")
    });
    let exits = rsv.find(0, |l| {
        l.starts_with("analytics file1: ") && l.contains(" left bay after ")
    });
    assert!(!entries.is_empty(), "{}", rsv.transcript());
    for (at, exit) in &exits {
        let who = exit.text["analytics file1: ".len()..]
            .split(" left bay")
            .next()
            .unwrap();
        let entered = format!("analytics file1: {who} entered bay");
        assert!(
            entries.iter().any(|(i, e)| i < at && e.text == entered),
            "{} without an entry\n{}",
            exit.text,
            rsv.transcript()
        );
    }
}
