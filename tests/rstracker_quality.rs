//! Tracking quality, measured: synthetic scenes with exact ground-truth identities
//! (`tracking/scenes.rs`: crossings, turns, occlusions, a crowd with label flicker, parked
//! cars), the same simulated detections fed to rstracker (through a real pipeline, with
//! rsinfer-style frame markers and stale copies on the frames the detector skips) and to
//! the Python trackers users run today (roboflow `trackers` ByteTrack, norfair), scored by
//! TrackEval (HOTA, MOTA, IDF1, ID switches) at detector intervals 1, 2, 3 and 5.
//!
//! rstracker must be ahead of both on HOTA and IDF1, with no more ID switches than the
//! better of them, at every interval. The table is printed
//! and written to `target/rstracker-quality.json` (README's table comes from it).

mod common;
#[path = "tracking/scenes.rs"]
mod scenes;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use common::init;
use gst::prelude::*;
use gstrsvision::detection::{self, Detection, Inference, Marker};

const INTERVALS: [usize; 4] = [1, 2, 3, 5];
const FRAMES: usize = 450;
const DETECTION_SEED: u64 = 7;

fn to_detection(d: &scenes::Det) -> Detection {
    Detection {
        x: d.x,
        y: d.y,
        width: d.w,
        height: d.h,
        confidence: d.confidence,
        label_id: scenes::label_id(d.label),
        label: d.label.to_string(),
        track_id: None,
        tracking: None,
        attributes: Vec::new(),
    }
}

/// Runs `appsrc ! rstracker ! appsink` over the detections of one scene, as rsinfer would
/// deliver them (fresh boxes and an `inferred` marker on detector frames, the latest boxes
/// copied with an `interval` marker on the others), and writes the tracks in MOTChallenge
/// format.
fn run_rstracker(scene: &scenes::Scene, dets: &[Option<Vec<scenes::Det>>], out: &Path) {
    let (w, h) = (scene.width as u32, scene.height as u32);
    let pipeline = common::launch(&format!(
        "appsrc name=src format=time caps=video/x-raw,format=I420,width={w},height={h},framerate={}/1 \
         ! rstracker ! appsink name=sink sync=false",
        scene.fps
    ));
    let src = common::element::<gst_app::AppSrc>(&pipeline, "src");
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let period = 1_000_000_000 / u64::from(scene.fps);
    let mut latest: Vec<Detection> = vec![];
    for (f, d) in dets.iter().enumerate() {
        // The tracker reads metadata only: a one-byte buffer stands for the frame.
        let mut b = gst::Buffer::with_size(1).unwrap();
        {
            let b = b.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_nseconds(f as u64 * period));
            b.set_duration(gst::ClockTime::from_nseconds(period));
            if let Some(d) = d {
                latest = d.iter().map(to_detection).collect();
            }
            detection::attach(b, &latest, w, h, 0);
            detection::frame::mark(
                b,
                &Marker {
                    inference: if d.is_some() {
                        Inference::Inferred
                    } else {
                        Inference::Interval
                    },
                    element: "rsinfer0".into(),
                    model: "simulated".into(),
                    frame_number: f as u64,
                    objects: latest.len() as u32,
                },
            );
        }
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
    let mut text = String::new();
    let mut f = 0;
    while let Ok(sample) = sink.pull_sample() {
        f += 1;
        for d in detection::read(sample.buffer().unwrap(), w, h) {
            let id = d.track_id.expect("only tracked objects leave rstracker");
            let _ = writeln!(
                text,
                "{f},{id},{:.2},{:.2},{:.2},{:.2},{:.3},-1,-1,-1",
                d.x, d.y, d.width, d.height, d.confidence
            );
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(f, dets.len(), "every frame came out");
    std::fs::write(out, text).unwrap();
}

fn python(py: &Path, args: &[&str]) -> String {
    let out = Command::new(py)
        .arg(common::root().join("tests/tracking/peers.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", py.display()));
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        py.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn rstracker_is_ahead_of_bytetrack_and_norfair_at_every_detector_interval() {
    init();
    let track_py = common::peer_python("RSVISION_TRACK_VENV", "track-venv");
    let norfair_py = common::peer_python("RSVISION_NORFAIR_VENV", "norfair-venv");
    let dir = common::TempDir::new("rstracker-quality");
    let root = dir.path();
    let suite = scenes::suite(FRAMES);
    for scene in &suite {
        let d = root.join(scene.name);
        std::fs::create_dir_all(&d).unwrap();
        scenes::write_gt(scene, &d.join("gt.txt")).unwrap();
        scenes::write_seqinfo(scene, &d.join("seqinfo.ini")).unwrap();
        for k in INTERVALS {
            let dets = scenes::detections(scene, k, DETECTION_SEED);
            scenes::write_detections(
                &dets,
                &d.join(format!("det_i{k}.txt")),
                &d.join(format!("ran_i{k}.txt")),
            )
            .unwrap();
            run_rstracker(scene, &dets, &d.join(format!("rstracker_i{k}.txt")));
        }
    }
    let names: Vec<&str> = suite.iter().map(|s| s.name).collect();
    let scenes_arg = names.join(",");
    let intervals_arg = INTERVALS.map(|k| k.to_string()).join(",");
    let root_arg = root.to_str().unwrap();
    let batch = [
        "--batch",
        root_arg,
        "--scenes",
        &scenes_arg,
        "--intervals",
        &intervals_arg,
    ];
    python(&track_py, &[&["bytetrack"][..], &batch].concat());
    python(&norfair_py, &[&["norfair"][..], &batch].concat());
    let json = python(
        &track_py,
        &[
            "score",
            root_arg,
            "--scenes",
            &scenes_arg,
            "--intervals",
            &intervals_arg,
            "--trackers",
            "rstracker,bytetrack,norfair",
        ],
    );
    std::fs::write(common::root().join("target/rstracker-quality.json"), &json).unwrap();
    let results: serde_json::Value = serde_json::from_str(&json).unwrap();

    let mut table = String::from(
        "| interval | tracker | HOTA | MOTA | IDF1 | ID switches |\n|---|---|---|---|---|---|\n",
    );
    for k in INTERVALS {
        for t in ["rstracker", "bytetrack", "norfair"] {
            let r = &results[format!("i{k}")][t]["COMBINED_SEQ"];
            let _ = writeln!(
                table,
                "| {k} | {t} | {} | {} | {} | {} |",
                r["HOTA"], r["MOTA"], r["IDF1"], r["IDSW"]
            );
        }
    }
    println!("{table}");
    for k in INTERVALS {
        let r = &results[format!("i{k}")];
        for metric in ["HOTA", "IDF1"] {
            let ours = r["rstracker"]["COMBINED_SEQ"][metric].as_f64().unwrap();
            for peer in ["bytetrack", "norfair"] {
                let theirs = r[peer]["COMBINED_SEQ"][metric].as_f64().unwrap();
                assert!(
                    ours > theirs,
                    "interval {k}: rstracker {metric} {ours} is not ahead of {peer} {theirs}\n{table}"
                );
            }
        }
        let switches = |t: &str| r[t]["COMBINED_SEQ"]["IDSW"].as_u64().unwrap();
        assert!(
            switches("rstracker") <= switches("bytetrack").min(switches("norfair")),
            "interval {k}: more ID switches than a peer\n{table}"
        );
        // And it does not collapse when the detector skips frames (the Python ByteTrack
        // falls to about a third at interval 3).
        let hota = |k: usize| {
            results[format!("i{k}")]["rstracker"]["COMBINED_SEQ"]["HOTA"]
                .as_f64()
                .unwrap()
        };
        assert!(hota(3) > 0.85 * hota(1), "{table}");
    }
}
