//! Runs the PyGObject example `examples/read_analytics.py` with the system Python against the
//! plugin built by cargo, and checks that what it reads (each object's `analytics`
//! structure, the `RsvisionAnalyticsMeta` counts and events, the `rsanalytics-*` messages
//! and `stats`) is what the Rust side reads with `gstrsvision::detection::analytics` from the
//! same pipeline.

mod common;

use std::path::Path;
use std::process::Command;

use gst::prelude::*;
use gst_video::VideoRegionOfInterestMeta;
use gstrsvision::detection::analytics as contract;
use serde_json::Value;

/// The whole clip, to EOS (so `stats` at the end covers exactly the frames read).
const FRAMES: usize = 300;
const SYSTEM_PYTHON: &str = "/usr/bin/python3";
const LINES: &str = "middle:320;40;320;440";
const ZONES: &str = "bay:40;260;280;260;280;460;40;460";

fn run_python(plugin_dir: &Path) -> Vec<Value> {
    let script = common::root().join("examples/read_analytics.py");
    let out = Command::new(SYSTEM_PYTHON)
        .arg(&script)
        .arg(common::root().join("data/sample-shapes.mp4"))
        .arg(common::shapes_model())
        .args(["--lines", LINES, "--zones", ZONES])
        .arg("--json")
        .env("GST_PLUGIN_PATH", plugin_dir)
        .env("GST_REGISTRY", plugin_dir.join("registry-analytics.bin"))
        .output()
        .expect("run /usr/bin/python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} failed:\n{stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Per frame: (line in, line out, zone count, zone entries, [(track id, zones, crossed)]).
type Frame = (u64, u64, u64, u64, Vec<(u64, Vec<String>, Vec<String>)>);

fn run_rust() -> Vec<Frame> {
    let pipeline = common::launch(&format!(
        "filesrc location={} ! decodebin ! rsinfer threads=1 conf-threshold=0.5 model-location={} \
         ! rstracker ! rsanalytics lines={LINES} zones={ZONES} reference-width=640 \
         reference-height=480 ! appsink name=sink sync=false",
        common::root().join("data/sample-shapes.mp4").display(),
        common::shapes_model().display()
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut out = vec![];
    while out.len() < FRAMES {
        let sample = sink
            .try_pull_sample(gst::ClockTime::from_seconds(60))
            .expect("a frame");
        let b = sample.buffer().unwrap();
        let f = &contract::analytics_frames(b)[0];
        let objects = b
            .iter_meta::<VideoRegionOfInterestMeta>()
            .filter_map(|m| {
                let track = gstrsvision::detection::from_meta(&m, 640, 480).track_id?;
                let a = contract::of_roi(&m)?;
                Some((track, a.zones, a.lines_crossed))
            })
            .collect();
        out.push((
            f.lines[0].in_count,
            f.lines[0].out_count,
            f.zones[0].count,
            f.zones[0].entries,
            objects,
        ));
    }
    pipeline.set_state(gst::State::Null).unwrap();
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn python_reads_the_same_analytics_as_rust() {
    common::init();
    let lib = common::plugin_library();
    let records = run_python(lib.parent().unwrap());
    let rust = run_rust();
    let frames: Vec<&Value> = records.iter().filter(|r| r["source"] == "frame").collect();
    assert_eq!(frames.len(), FRAMES);
    let mut crossings_in_metas = 0;
    for (i, (f, (lin, lout, zc, ze, objects))) in frames.iter().zip(&rust).enumerate() {
        let m = &f["analytics"][0];
        assert_eq!(strings(&m["lines"]), ["middle"]);
        assert_eq!(strings(&m["zones"]), ["bay"]);
        let n = |k: &str| m[k][0].as_u64().unwrap();
        assert_eq!(
            (
                n("line_in"),
                n("line_out"),
                n("zone_counts"),
                n("zone_entries")
            ),
            (*lin, *lout, *zc, *ze),
            "frame {i}"
        );
        // The geometry in frame pixels, for drawing.
        assert_eq!(
            m["line_points"][0],
            serde_json::json!([320.0, 40.0, 320.0, 440.0])
        );
        let py: Vec<(u64, Vec<String>, Vec<String>)> = f["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o.get("id").is_some() && o.get("analytics").is_some())
            .map(|o| {
                let a = &o["analytics"];
                (
                    o["id"].as_u64().unwrap(),
                    strings(&a["zones"]),
                    strings(&a["lines_crossed"]),
                )
            })
            .collect();
        assert_eq!(&py, objects, "frame {i}");
        crossings_in_metas += m["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e.get("line").is_some())
            .count();
    }
    let (lin, lout, _, ze, _) = rust.last().unwrap();
    assert!(
        lin + lout >= 2 && *ze >= 3,
        "the clip has crossings and zone entries"
    );
    // Every crossing is a message too, and the stats at the end add them up.
    let messages: Vec<&Value> = records
        .iter()
        .filter(|r| r["source"] == "message" && r["name"] == "rsanalytics-crossing")
        .collect();
    assert_eq!(messages.len(), crossings_in_metas);
    assert_eq!(messages.len() as u64, lin + lout);
    let stats = &records.last().unwrap()["stats"];
    assert_eq!(stats["line-middle-in"].as_u64(), Some(*lin));
    assert_eq!(stats["zone-bay-entries"].as_u64(), Some(*ze));
}
