//! Line counting on synthetic tracks whose truth is known by construction (issue 15):
//! `gstrsvision::analytics::count` must count exactly the truth; the same tracks go to
//! supervision's `LineZone` (tests/reference/linezone_compare.py, in the venv
//! scripts/setup.sh --test makes) for the comparison table in README ("Counting compared
//! with supervision's LineZone"). supervision's numbers are recorded, never asserted.
//!
//! The line runs from (100, 200) to (500, 200) on a 640x480 frame, balanced mode (4.8 px
//! minimum distance); below it (y > 200) is `in`. Objects are 20x40 boxes placed by their
//! bottom centre, one frame every 40 ms. Without the supervision venv the comparison is
//! skipped (with a message), unless RSVISION_REQUIRE_PEERS=1, which makes it a failure.

mod common;

use std::path::PathBuf;
use std::process::Command;

use gstrsvision::analytics::count::{Analytics, CrossDirection, Event, Object};
use gstrsvision::analytics::{Anchor, Coordinates, CrossingMode, Geometry, Line, Point};
use serde_json::{json, Value};

const LINE: [f64; 4] = [100.0, 200.0, 500.0, 200.0];
const W: f64 = 20.0;
const H: f64 = 40.0;
const FRAME_MS: u64 = 40;

/// One object on a frame: its track id and the bottom centre of its box.
#[derive(Clone, Copy)]
struct Obj {
    id: u64,
    x: f64,
    y: f64,
}

struct Scenario {
    name: &'static str,
    what: &'static str,
    /// (in, out) by construction.
    truth: (u64, u64),
    frames: Vec<Vec<Obj>>,
}

/// Positions from `from` to `to` (both included) in `n` steps.
fn path(from: (f64, f64), to: (f64, f64), n: usize) -> Vec<(f64, f64)> {
    (0..=n)
        .map(|i| {
            let f = i as f64 / n as f64;
            (from.0 + f * (to.0 - from.0), from.1 + f * (to.1 - from.1))
        })
        .collect()
}

fn walk(id: u64, from: (f64, f64), to: (f64, f64), n: usize) -> Vec<Vec<Obj>> {
    path(from, to, n)
        .into_iter()
        .map(|(x, y)| vec![Obj { id, x, y }])
        .collect()
}

fn scenarios() -> Vec<Scenario> {
    let mut v = Vec::new();
    v.push(Scenario {
        name: "crossing_in",
        what: "straight down through the line, 5 px/frame",
        truth: (1, 0),
        frames: walk(1, (300.0, 150.0), (300.0, 260.0), 22),
    });
    v.push(Scenario {
        name: "crossing_out",
        what: "straight up through the line",
        truth: (0, 1),
        frames: walk(1, (300.0, 260.0), (300.0, 150.0), 22),
    });
    let mut f = walk(1, (300.0, 150.0), (300.0, 260.0), 22);
    f.extend(
        walk(1, (300.0, 260.0), (300.0, 150.0), 22)
            .into_iter()
            .skip(1),
    );
    v.push(Scenario {
        name: "in_then_out",
        what: "down through the line and back up",
        truth: (1, 1),
        frames: f,
    });
    // Stops with its feet on the line, jitters +-3 px for 100 frames, then goes on down.
    let mut f = walk(1, (300.0, 150.0), (300.0, 200.0), 10);
    for k in 0..100 {
        let y = if k % 2 == 0 { 197.0 } else { 203.0 };
        f.push(vec![Obj { id: 1, x: 300.0, y }]);
    }
    f.extend(
        walk(1, (300.0, 200.0), (300.0, 260.0), 12)
            .into_iter()
            .skip(1),
    );
    v.push(Scenario {
        name: "stop_jitter",
        what: "stops on the line, jitters +-3 px for 100 frames, goes on through",
        truth: (1, 0),
        frames: f,
    });
    let mut f = walk(1, (300.0, 150.0), (300.0, 197.0), 10);
    f.extend(
        walk(1, (300.0, 197.0), (300.0, 150.0), 10)
            .into_iter()
            .skip(1),
    );
    v.push(Scenario {
        name: "u_turn",
        what: "turns back 3 px before the line",
        truth: (0, 0),
        frames: f,
    });
    v.push(Scenario {
        name: "grazing",
        what: "crosses at 3 degrees (20 px down over 360 px)",
        truth: (1, 0),
        frames: walk(1, (120.0, 190.0), (480.0, 210.0), 90),
    });
    let a = walk(1, (280.0, 150.0), (280.0, 260.0), 22);
    let b = walk(2, (320.0, 150.0), (320.0, 260.0), 22);
    v.push(Scenario {
        name: "two_at_once",
        what: "two objects side by side cross on the same frames",
        truth: (2, 0),
        frames: a
            .into_iter()
            .zip(b)
            .map(|(mut a, b)| {
                a.extend(b);
                a
            })
            .collect(),
    });
    // Seen down to 10 px above the line, lost for 10 frames (while it crosses), found
    // again 45 px below with the same id.
    let mut f = walk(1, (300.0, 150.0), (300.0, 190.0), 8);
    f.extend((0..10).map(|_| vec![]));
    f.extend(walk(1, (300.0, 245.0), (300.0, 260.0), 3));
    v.push(Scenario {
        name: "lost_found",
        what: "lost for 10 frames while crossing, found with the same id",
        truth: (1, 0),
        frames: f,
    });
    // Comes down to the line, walks along it (feet jittering +-3 px about it) while the
    // tracker changes its id 3 times (30, 31, 32, 33), turns back up.
    let mut f = walk(30, (150.0, 150.0), (150.0, 200.0), 10);
    for (k, (x, _)) in path((150.0, 200.0), (450.0, 200.0), 119)
        .into_iter()
        .enumerate()
    {
        let y = if k % 2 == 0 { 197.0 } else { 203.0 };
        f.push(vec![Obj {
            id: 30 + (k as u64 / 30),
            x,
            y,
        }]);
    }
    f.extend(
        walk(33, (450.0, 200.0), (450.0, 150.0), 10)
            .into_iter()
            .skip(1),
    );
    v.push(Scenario {
        name: "id_flicker",
        what: "walks along the line (+-3 px), 120 frames, id changes 3 times, turns back",
        truth: (0, 0),
        frames: f,
    });
    v
}

fn geometry() -> Geometry {
    Geometry {
        coordinates: Coordinates::Pixels {
            width: 640.0,
            height: 480.0,
        },
        zones: vec![],
        lines: vec![Line {
            name: "door".into(),
            a: Point {
                x: LINE[0],
                y: LINE[1],
            },
            b: Point {
                x: LINE[2],
                y: LINE[3],
            },
            in_direction: None,
            extended: false,
            mode: CrossingMode::Balanced,
            min_distance: None,
            classes: vec![],
            anchor: Anchor::BottomCentre,
        }],
        directions: vec![],
        frame_max_objects: None,
    }
}

/// Our (in, out): from the crossing events, checked against the running stats.
fn ours(s: &Scenario) -> (u64, u64) {
    let mut a = Analytics::new(geometry());
    let mut c = (0, 0);
    for (i, frame) in s.frames.iter().enumerate() {
        let objects: Vec<Object> = frame
            .iter()
            .map(|o| Object {
                track_id: Some(o.id),
                label: "person",
                label_id: 0,
                x: o.x - W / 2.0,
                y: o.y - H,
                width: W,
                height: H,
            })
            .collect();
        for e in a.update(i as u64 * FRAME_MS, &objects).events {
            if let Event::Crossing { direction, .. } = e {
                match direction {
                    CrossDirection::In => c.0 += 1,
                    CrossDirection::Out => c.1 += 1,
                }
            }
        }
    }
    let st = a.stats();
    assert_eq!(
        (st.lines[0].in_count, st.lines[0].out_count),
        c,
        "{}: stats disagree with the events",
        s.name
    );
    c
}

fn tracks_json(all: &[Scenario]) -> Value {
    json!({
        "line": LINE,
        "scenarios": all.iter().map(|s| json!({
            "name": s.name,
            "frames": s.frames.iter().map(|f| f.iter().map(|o| json!([
                o.id, o.x - W / 2.0, o.y - H, o.x + W / 2.0, o.y, 0
            ])).collect::<Vec<_>>()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// The supervision venv's Python, if it exists.
fn supervision_python() -> Option<PathBuf> {
    let venv = std::env::var_os("RSVISION_SUPERVISION_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/rsvision/supervision-venv")
        });
    let p = venv.join("bin/python");
    p.exists().then_some(p)
}

/// (in, out) of `LineZone` at its defaults and with the bottom-centre anchor.
type SvCounts = ((u64, u64), (u64, u64));

/// supervision's version and its counts per scenario.
fn supervision(all: &[Scenario]) -> Option<(String, Vec<SvCounts>)> {
    let Some(py) = supervision_python() else {
        let msg = "supervision venv missing (~/.cache/rsvision/supervision-venv, or \
                   RSVISION_SUPERVISION_VENV): run scripts/setup.sh --test to compare with \
                   supervision's LineZone";
        if std::env::var("RSVISION_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("{msg} (RSVISION_REQUIRE_PEERS=1)");
        }
        eprintln!("skipped the comparison: {msg}");
        return None;
    };
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("linezone_tracks.json");
    std::fs::write(&file, tracks_json(all).to_string()).unwrap();
    let script = common::root().join("tests/reference/linezone_compare.py");
    let out = Command::new(&py)
        .arg(&script)
        .arg(&file)
        .output()
        .expect("run the supervision venv's python");
    assert!(
        out.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("the script's JSON");
    let pair = |r: &Value| (r["in"].as_u64().unwrap(), r["out"].as_u64().unwrap());
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), all.len());
    let counts = results
        .iter()
        .zip(all)
        .map(|(r, s)| {
            assert_eq!(r["name"], s.name);
            (pair(&r["default"]), pair(&r["bottom_center"]))
        })
        .collect();
    Some((v["supervision"].as_str().unwrap().to_string(), counts))
}

#[test]
fn line_counts_equal_truth_and_compare_with_supervision() {
    let all = scenarios();
    let ours: Vec<(u64, u64)> = all.iter().map(ours).collect();
    let sv = supervision(&all);
    let fmt = |c: (u64, u64)| format!("{} / {}", c.0, c.1);
    println!(
        "\nline counts (in / out); supervision {}",
        sv.as_ref().map_or("not run", |s| s.0.as_str())
    );
    println!(
        "| {:<13} | {:<72} | {:>7} | {:>7} | {:>22} | {:>22} |",
        "scenario", "tracks", "truth", "ours", "LineZone defaults", "LineZone bottom centre"
    );
    for (i, s) in all.iter().enumerate() {
        let (d, b) = sv
            .as_ref()
            .map_or(("-".to_string(), "-".to_string()), |(_, c)| {
                (fmt(c[i].0), fmt(c[i].1))
            });
        println!(
            "| {:<13} | {:<72} | {:>7} | {:>7} | {:>22} | {:>22} |",
            s.name,
            s.what,
            fmt(s.truth),
            fmt(ours[i]),
            d,
            b
        );
    }
    for (s, o) in all.iter().zip(&ours) {
        assert_eq!(*o, s.truth, "{}: ours (in, out) != truth", s.name);
    }
}
