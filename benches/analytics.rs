//! Cost of the analytics engine (`gstrsvision::analytics::count`) per frame: 10 zones
//! (concave, one with a hole), 10 lines and 100 tracked objects moving across a 1920x1080
//! frame, against the issue's target of 0.1 ms and against a stateless pass over the same
//! geometry (each object's anchor tested against every zone and line with
//! `analytics::geometry`, no tracks, no hysteresis: the least any engine does).
//!
//! ```text
//! cargo bench --bench analytics
//! BENCH_FRAMES=10000 cargo bench --bench analytics
//! ```

use std::hint::black_box;
use std::time::Instant;

use gstrsvision::analytics::count::{Analytics, FrameResult, Object};
use gstrsvision::analytics::{config, geometry, Anchor};

const W: f64 = 1920.0;
const H: f64 = 1080.0;

fn geometry_text() -> String {
    let mut t = String::from("[geometry]\nwidth=1920\nheight=1080\n\n");
    for i in 0..10 {
        let (x, y) = (60.0 + 180.0 * i as f64, 100.0 + 80.0 * (i % 4) as f64);
        // A U-shaped (concave) zone 160 px wide.
        let p = [
            (x, y),
            (x + 160.0, y),
            (x + 160.0, y + 500.0),
            (x + 110.0, y + 500.0),
            (x + 110.0, y + 150.0),
            (x + 50.0, y + 150.0),
            (x + 50.0, y + 500.0),
            (x, y + 500.0),
        ];
        let points: Vec<String> = p.iter().map(|(a, b)| format!("{a};{b}")).collect();
        t.push_str(&format!(
            "[zone.z{i}]\npoints={}\nloiter=5s\nmax-objects=8\n",
            points.join(";")
        ));
        if i == 0 {
            t.push_str(&format!(
                "holes={};{};{};{};{};{}\n",
                x + 10.0,
                y + 10.0,
                x + 40.0,
                y + 10.0,
                x + 25.0,
                y + 40.0
            ));
        }
        t.push('\n');
    }
    for i in 0..10 {
        let y = 80.0 + 100.0 * i as f64;
        t.push_str(&format!(
            "[line.l{i}]\npoints=100;{y};1820;{}\n\n",
            y + 40.0
        ));
    }
    t
}

/// 100 objects bouncing around the frame at different speeds, frame `n`.
fn objects(n: u64, out: &mut Vec<Object<'static>>) {
    out.clear();
    for i in 0..100u64 {
        let t = n as f64;
        let (vx, vy) = (1.0 + (i % 7) as f64, 0.5 + (i % 5) as f64);
        let bounce = |p: f64, span: f64| {
            let m = p.rem_euclid(2.0 * span);
            if m > span {
                2.0 * span - m
            } else {
                m
            }
        };
        out.push(Object {
            track_id: Some(i + 1),
            label: if i % 3 == 0 { "car" } else { "person" },
            label_id: (i % 3 == 0) as i32,
            x: bounce(37.0 * i as f64 + vx * t, W - 60.0),
            y: bounce(23.0 * i as f64 + vy * t, H - 120.0),
            width: 60.0,
            height: 120.0,
        });
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let frames: u64 = std::env::var("BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let g = config::parse_file(&geometry_text(), "bench").expect("the bench geometry parses");
    let mut engine = Analytics::for_frame(&g, W, H);
    let frame_geometry = engine.geometry().clone();
    let mut objs = Vec::with_capacity(100);
    let mut result = FrameResult::default();

    // Warm-up, then timed frames (in batches of 10 so the clock's resolution does not count).
    for n in 0..300 {
        objects(n, &mut objs);
        engine.update_into(n * 33, &objs, &mut result);
    }
    let mut per_frame = Vec::new();
    let mut events = 0usize;
    let mut n = 300;
    while n < 300 + frames {
        let started = Instant::now();
        for _ in 0..10 {
            objects(n, &mut objs);
            engine.update_into(n * 33, &objs, &mut result);
            events += result.events.len();
            n += 1;
        }
        per_frame.push(started.elapsed().as_secs_f64() * 1e6 / 10.0);
    }
    let engine_us = median(per_frame);

    // The stateless pass over the same objects and geometry.
    let mut per_frame = Vec::new();
    let mut n = 300;
    let mut hits = 0usize;
    while n < 300 + frames {
        let started = Instant::now();
        for _ in 0..10 {
            objects(n, &mut objs);
            for o in &objs {
                let p = geometry::anchor_point(Anchor::BottomCentre, o.x, o.y, o.width, o.height);
                for z in &frame_geometry.zones {
                    hits += geometry::contains(z, p) as usize;
                }
                for l in &frame_geometry.lines {
                    hits += (geometry::side(l, p) > 0.0 && geometry::within(l, p)) as usize;
                }
            }
            n += 1;
        }
        per_frame.push(started.elapsed().as_secs_f64() * 1e6 / 10.0);
    }
    black_box(hits);
    let naive_us = median(per_frame);

    // The object generation alone (included in both figures above).
    let mut per_frame = Vec::new();
    for k in 0..frames / 10 {
        let started = Instant::now();
        for j in 0..10 {
            objects(k * 10 + j, &mut objs);
            black_box(&objs);
        }
        per_frame.push(started.elapsed().as_secs_f64() * 1e6 / 10.0);
    }
    let gen_us = median(per_frame);

    let stats = engine.stats();
    let crossings: u64 = stats.lines.iter().map(|l| l.in_count + l.out_count).sum();
    println!(
        "analytics: 10 zones (concave, one hole), 10 lines, 100 tracked objects, 1920x1080, {frames} frames"
    );
    println!(
        "engine: {:.1} us/frame ({:.3} of the 0.1 ms target); stateless pass {:.1} us/frame; engine / stateless {:.2}x; object generation {:.1} us/frame (in both)",
        engine_us,
        engine_us / 100.0,
        naive_us,
        engine_us / naive_us.max(1e-9),
        gen_us
    );
    println!("{crossings} crossings counted, {events} events");
}
