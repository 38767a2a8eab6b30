//! Synthetic tracking scenes with exact ground-truth identities, and a simulated detector
//! that sees them the way real ones do (misses, noise, confidence dips under occlusion,
//! false positives, label flicker), run every Nth frame.
//!
//! Self-contained (no project types), deterministic for a seed, so the same detections go
//! to rstracker and to the Python trackers it is compared with. MOTChallenge text files are
//! what both sides read and write (`write_gt`, `write_detections`).

use std::fmt::Write as _;
use std::path::Path;

/// xorshift64*: small, fast, reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f()
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.f().max(1e-12);
        let v = self.f();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
}

/// One ground-truth object on one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub id: u32,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// Visible fraction (occluders and frame edges).
    pub visibility: f64,
    pub label: &'static str,
    /// Drawing order: higher is nearer the camera.
    pub depth: f64,
}

/// A scene: per frame, the objects in it.
#[derive(Debug, Clone)]
pub struct Scene {
    pub name: &'static str,
    pub width: f64,
    pub height: f64,
    pub fps: u32,
    pub frames: Vec<Vec<Truth>>,
    /// Detector behaviour in this scene.
    pub miss_rate: f64,
    pub false_positives: f64,
    pub flicker: f64,
}

/// One simulated detection.
#[derive(Debug, Clone, PartialEq)]
pub struct Det {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub confidence: f64,
    pub label: &'static str,
}

/// Class ids of the labels used (for the `label_id` of detections).
pub fn label_id(label: &str) -> i32 {
    match label {
        "person" => 0,
        "car" => 2,
        "truck" => 7,
        _ => 99,
    }
}

fn overlap(a: &Truth, b: (f64, f64, f64, f64)) -> f64 {
    let w = ((a.x + a.w).min(b.0 + b.2) - a.x.max(b.0)).max(0.0);
    let h = ((a.y + a.h).min(b.1 + b.3) - a.y.max(b.1)).max(0.0);
    w * h
}

/// Visible fraction of each object: area not covered by nearer objects or `occluders`, and
/// inside the frame (covers are summed, so overlapping covers count twice: a slight
/// under-estimate of visibility, the same for every tracker).
fn finish_frame(
    objs: &mut Vec<Truth>,
    occluders: &[(f64, f64, f64, f64)],
    width: f64,
    height: f64,
) {
    let snapshot = objs.clone();
    for o in objs.iter_mut() {
        let area = (o.w * o.h).max(1e-9);
        let inside = overlap(o, (0.0, 0.0, width, height));
        let mut covered = area - inside;
        for p in &snapshot {
            if p.id != o.id && p.depth > o.depth {
                covered += overlap(o, (p.x, p.y, p.w, p.h));
            }
        }
        for &r in occluders {
            covered += overlap(o, r);
        }
        o.visibility = (1.0 - covered / area).clamp(0.0, 1.0);
    }
    objs.retain(|o| overlap(o, (0.0, 0.0, width, height)) > 0.0);
}

fn scene(name: &'static str, frames: Vec<Vec<Truth>>) -> Scene {
    Scene {
        name,
        width: 1280.0,
        height: 720.0,
        fps: 30,
        frames,
        miss_rate: 0.05,
        false_positives: 0.1,
        flicker: 0.0,
    }
}

/// Head-on and same-direction crossings of people on shared lanes: at every crossing the
/// rear one is hidden by the front one.
pub fn crossings(seed: u64, n_frames: usize) -> Scene {
    let mut rng = Rng::new(seed);
    struct Walker {
        id: u32,
        x: f64,
        y: f64,
        vx: f64,
        vy: f64,
        w: f64,
        h: f64,
        depth: f64,
        start: usize,
    }
    let mut walkers = vec![];
    let mut id = 1;
    for lane in 0..5 {
        let y = 80.0 + 120.0 * f64::from(lane);
        for k in 0..3 {
            let dir = if (lane + k) % 2 == 0 { 1.0 } else { -1.0 };
            let speed = rng.range(2.0, 5.0);
            let h = rng.range(90.0, 120.0);
            walkers.push(Walker {
                id,
                x: if dir > 0.0 { -60.0 } else { 1300.0 },
                y: y + rng.range(-8.0, 8.0),
                vx: dir * speed,
                vy: rng.range(-0.2, 0.2),
                w: h * 0.4,
                h,
                depth: rng.f(),
                start: (rng.f() * n_frames as f64 * 0.6) as usize,
            });
            id += 1;
        }
    }
    let mut frames = vec![];
    for f in 0..n_frames {
        let mut objs = vec![];
        for w in &walkers {
            if f < w.start {
                continue;
            }
            let t = (f - w.start) as f64;
            objs.push(Truth {
                id: w.id,
                x: w.x + w.vx * t,
                y: w.y + w.vy * t,
                w: w.w,
                h: w.h,
                visibility: 1.0,
                label: "person",
                depth: w.depth,
            });
        }
        finish_frame(&mut objs, &[], 1280.0, 720.0);
        frames.push(objs);
    }
    scene("crossings", frames)
}

/// Curved paths, sharp turns, stop-and-go and varying speed.
pub fn turns(seed: u64, n_frames: usize) -> Scene {
    let mut rng = Rng::new(seed);
    let mut params = vec![];
    for id in 1..=12u32 {
        params.push((
            id,
            rng.range(200.0, 1080.0),
            rng.range(150.0, 570.0),
            rng.range(60.0, 200.0),
            rng.range(0.5, 2.0) * if rng.chance(0.5) { 1.0 } else { -1.0 },
            rng.range(0.0, std::f64::consts::TAU),
            rng.range(40.0, 110.0),
            (id % 3) as u8,
            rng.f(),
        ));
    }
    let mut frames = vec![];
    for f in 0..n_frames {
        let t = f as f64 / 30.0;
        let mut objs = vec![];
        for &(id, cx, cy, r, omega, phase, size, kind, depth) in &params {
            // kind 0: circle; 1: figure of eight with stop-and-go; 2: square path (sharp turns).
            let (x, y) = match kind {
                0 => (
                    cx + r * (omega * t + phase).cos(),
                    cy + r * (omega * t + phase).sin(),
                ),
                1 => {
                    // Time runs in bursts: moves for 1.5 s, stands for 1 s.
                    let cycle = t % 2.5;
                    let moving = (t / 2.5).floor() * 1.5 + cycle.min(1.5);
                    let a = omega * moving + phase;
                    (cx + r * a.sin(), cy + 0.6 * r * (2.0 * a).sin())
                }
                _ => {
                    let side = 2.0 * r;
                    let s = (t * omega.abs() * 60.0 + phase * 100.0) % (4.0 * side);
                    let (px, py) = match (s / side) as u32 {
                        0 => (s, 0.0),
                        1 => (side, s - side),
                        2 => (3.0 * side - s, side),
                        _ => (0.0, 4.0 * side - s),
                    };
                    (cx - r + px, cy - r + py)
                }
            };
            objs.push(Truth {
                id,
                x: x - size / 2.0,
                y: y - size / 2.0,
                w: size,
                h: size * 0.8,
                visibility: 1.0,
                label: "car",
                depth,
            });
        }
        finish_frame(&mut objs, &[], 1280.0, 720.0);
        frames.push(objs);
    }
    let mut s = scene("turns", frames);
    s.miss_rate = 0.08;
    s
}

/// People walking behind pillars (hidden for 5 to 30 frames) and behind each other.
pub fn occlusions(seed: u64, n_frames: usize) -> Scene {
    let mut rng = Rng::new(seed);
    let pillars = [
        (300.0, 0.0, 90.0, 720.0),
        (700.0, 0.0, 60.0, 720.0),
        (1000.0, 0.0, 110.0, 720.0),
    ];
    let mut walkers = vec![];
    for id in 1..=16u32 {
        let dir = if id % 2 == 0 { 1.0 } else { -1.0 };
        let speed = rng.range(3.0, 9.0);
        let h = rng.range(80.0, 160.0);
        walkers.push((
            id,
            if dir > 0.0 { -80.0 } else { 1300.0 },
            rng.range(60.0, 560.0),
            dir * speed,
            h,
            rng.f(),
            (rng.f() * n_frames as f64 * 0.7) as usize,
        ));
    }
    let mut frames = vec![];
    for f in 0..n_frames {
        let mut objs = vec![];
        for &(id, x0, y, vx, h, depth, start) in &walkers {
            if f < start {
                continue;
            }
            let t = (f - start) as f64;
            objs.push(Truth {
                id,
                x: x0 + vx * t,
                y: y + 10.0 * (t / 15.0).sin(),
                w: 0.4 * h,
                h,
                visibility: 1.0,
                label: "person",
                depth,
            });
        }
        finish_frame(&mut objs, &pillars, 1280.0, 720.0);
        frames.push(objs);
    }
    let mut s = scene("occlusions", frames);
    s.miss_rate = 0.1;
    s
}

/// A crowd: 30 objects on smooth random paths, approaching and receding (size changes),
/// camera jitter, 10 % misses, false positives and car/truck label flicker.
pub fn crowd(seed: u64, n_frames: usize) -> Scene {
    let mut rng = Rng::new(seed);
    struct Body {
        id: u32,
        x: f64,
        y: f64,
        vx: f64,
        vy: f64,
        size: f64,
        growth: f64,
        depth: f64,
        label: &'static str,
    }
    let mut bodies: Vec<Body> = (1..=30u32)
        .map(|id| Body {
            id,
            x: rng.range(50.0, 1150.0),
            y: rng.range(50.0, 600.0),
            vx: rng.range(-4.0, 4.0),
            vy: rng.range(-3.0, 3.0),
            size: rng.range(40.0, 110.0),
            growth: rng.range(-0.004, 0.004),
            depth: rng.f(),
            label: if id % 3 == 0 { "person" } else { "car" },
        })
        .collect();
    let (mut jx, mut jy) = (0.0, 0.0);
    let mut frames = vec![];
    for _ in 0..n_frames {
        jx = (jx + rng.normal() * 1.5) * 0.9;
        jy = (jy + rng.normal() * 1.5) * 0.9;
        let mut objs = vec![];
        for b in &mut bodies {
            // Ornstein-Uhlenbeck velocity: smooth turns.
            b.vx = 0.97 * b.vx + 0.25 * rng.normal();
            b.vy = 0.97 * b.vy + 0.25 * rng.normal();
            b.x += b.vx;
            b.y += b.vy;
            if b.x < 0.0 || b.x > 1200.0 {
                b.vx = -b.vx;
            }
            if b.y < 0.0 || b.y > 640.0 {
                b.vy = -b.vy;
            }
            b.size = (b.size * (1.0 + b.growth)).clamp(30.0, 160.0);
            if b.size <= 30.0 || b.size >= 160.0 {
                b.growth = -b.growth;
            }
            let (w, h) = if b.label == "person" {
                (0.45 * b.size, b.size)
            } else {
                (b.size, 0.7 * b.size)
            };
            objs.push(Truth {
                id: b.id,
                x: b.x + jx,
                y: b.y + jy,
                w,
                h,
                visibility: 1.0,
                label: b.label,
                depth: b.depth,
            });
        }
        finish_frame(&mut objs, &[], 1280.0, 720.0);
        frames.push(objs);
    }
    let mut s = scene("crowd", frames);
    s.miss_rate = 0.1;
    s.false_positives = 0.3;
    s.flicker = 0.1;
    s
}

/// Parked cars for the whole sequence, people walking past and in front of them.
pub fn parking(seed: u64, n_frames: usize) -> Scene {
    let mut rng = Rng::new(seed);
    let mut frames = vec![];
    let cars: Vec<(u32, f64, f64)> = (1..=8u32)
        .map(|id| {
            (
                id,
                60.0 + 150.0 * f64::from(id - 1),
                rng.range(380.0, 420.0),
            )
        })
        .collect();
    let walkers: Vec<(u32, f64, f64, f64, usize)> = (9..=20u32)
        .map(|id| {
            (
                id,
                if id % 2 == 0 { -50.0 } else { 1300.0 },
                rng.range(300.0, 420.0),
                if id % 2 == 0 { 1.0 } else { -1.0 } * rng.range(2.0, 4.0),
                (rng.f() * n_frames as f64 * 0.7) as usize,
            )
        })
        .collect();
    for f in 0..n_frames {
        let mut objs = vec![];
        for &(id, x, y) in &cars {
            objs.push(Truth {
                id,
                x,
                y,
                w: 130.0,
                h: 80.0,
                visibility: 1.0,
                label: "car",
                depth: 0.2,
            });
        }
        for &(id, x0, y, vx, start) in &walkers {
            if f < start {
                continue;
            }
            let t = (f - start) as f64;
            objs.push(Truth {
                id,
                x: x0 + vx * t,
                y,
                w: 50.0,
                h: 130.0,
                visibility: 1.0,
                label: "person",
                depth: 0.8,
            });
        }
        finish_frame(&mut objs, &[], 1280.0, 720.0);
        frames.push(objs);
    }
    let mut s = scene("parking", frames);
    s.miss_rate = 0.05;
    s
}

/// Every scene of the quality suite.
pub fn suite(n_frames: usize) -> Vec<Scene> {
    vec![
        crossings(11, n_frames),
        turns(12, n_frames),
        occlusions(13, n_frames),
        crowd(14, n_frames),
        parking(15, n_frames),
    ]
}

/// What the simulated detector reports on frame `f` of `scene` when it runs.
fn detect(scene: &Scene, f: usize, rng: &mut Rng) -> Vec<Det> {
    let mut out = vec![];
    for o in &scene.frames[f] {
        if o.visibility < 0.3 {
            continue;
        }
        let (p_detect, conf) = if o.visibility < 0.7 {
            (0.7, rng.range(0.3, 0.55))
        } else {
            (1.0 - scene.miss_rate, rng.range(0.6, 0.95))
        };
        if !rng.chance(p_detect) {
            continue;
        }
        let s = 0.02 * o.w.min(o.h).max(10.0);
        let mut x0 = o.x + rng.normal() * s;
        let mut y0 = o.y + rng.normal() * s;
        let mut x1 = o.x + o.w + rng.normal() * s;
        let mut y1 = o.y + o.h + rng.normal() * s;
        // Detectors clip to the frame.
        x0 = x0.clamp(0.0, scene.width);
        y0 = y0.clamp(0.0, scene.height);
        x1 = x1.clamp(0.0, scene.width);
        y1 = y1.clamp(0.0, scene.height);
        if x1 - x0 < 2.0 || y1 - y0 < 2.0 {
            continue;
        }
        let label = if rng.chance(scene.flicker) {
            match o.label {
                "car" => "truck",
                "truck" => "car",
                l => l,
            }
        } else {
            o.label
        };
        out.push(Det {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
            confidence: conf,
            label,
        });
    }
    // False positives: Poisson-ish count per detector run.
    let mut budget = scene.false_positives;
    while budget > 0.0 && rng.chance(budget.min(1.0)) {
        budget -= 1.0;
        let w = rng.range(30.0, 120.0);
        let h = rng.range(30.0, 120.0);
        out.push(Det {
            x: rng.range(0.0, scene.width - w),
            y: rng.range(0.0, scene.height - h),
            w,
            h,
            confidence: rng.range(0.4, 0.8),
            label: if rng.chance(0.5) { "person" } else { "car" },
        });
    }
    out
}

/// The detector run every `interval` frames: `Some(detections)` on frames it ran on,
/// `None` on the others. The same seed gives the same detections for every tracker.
pub fn detections(scene: &Scene, interval: usize, seed: u64) -> Vec<Option<Vec<Det>>> {
    let mut rng = Rng::new(seed ^ (interval as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    (0..scene.frames.len())
        .map(|f| (f % interval.max(1) == 0).then(|| detect(scene, f, &mut rng)))
        .collect()
}

/// Ground truth as MOTChallenge `gt.txt` (1-based frames, visibility in the last column).
/// Objects at least half visible are class 1 (pedestrian: must be tracked); less visible
/// ones, hidden ones included, are class 8 (distractor): TrackEval's preprocessing neither
/// requires them nor penalises a box on them, so a tracker is judged neither for nor
/// against coasting through an occlusion.
pub fn write_gt(scene: &Scene, path: &Path) -> std::io::Result<()> {
    let mut s = String::new();
    for (f, objs) in scene.frames.iter().enumerate() {
        for o in objs {
            let class = if o.visibility >= 0.5 { 1 } else { 8 };
            // Clipped to the frame, as any detector sees it.
            let x0 = o.x.clamp(0.0, scene.width);
            let y0 = o.y.clamp(0.0, scene.height);
            let x1 = (o.x + o.w).clamp(0.0, scene.width);
            let y1 = (o.y + o.h).clamp(0.0, scene.height);
            let _ = writeln!(
                s,
                "{},{},{:.2},{:.2},{:.2},{:.2},1,{},{:.3}",
                f + 1,
                o.id,
                x0,
                y0,
                x1 - x0,
                y1 - y0,
                class,
                o.visibility
            );
        }
    }
    std::fs::write(path, s)
}

/// The detections as `frame,-1,x,y,w,h,conf,label_id` rows (1-based frames), plus a file
/// listing the frames the detector ran on (one frame number per line).
pub fn write_detections(dets: &[Option<Vec<Det>>], path: &Path, ran: &Path) -> std::io::Result<()> {
    let mut s = String::new();
    let mut r = String::new();
    for (f, d) in dets.iter().enumerate() {
        if let Some(d) = d {
            let _ = writeln!(r, "{}", f + 1);
            for d in d {
                let _ = writeln!(
                    s,
                    "{},-1,{:.3},{:.3},{:.3},{:.3},{:.4},{}",
                    f + 1,
                    d.x,
                    d.y,
                    d.w,
                    d.h,
                    d.confidence,
                    label_id(d.label)
                );
            }
        }
    }
    std::fs::write(path, s)?;
    std::fs::write(ran, r)
}

/// `seqinfo.ini` for TrackEval.
pub fn write_seqinfo(scene: &Scene, path: &Path) -> std::io::Result<()> {
    std::fs::write(
        path,
        format!(
            "[Sequence]\nname={}\nimDir=img1\nframeRate={}\nseqLength={}\nimWidth={}\nimHeight={}\nimExt=.jpg\n",
            scene.name,
            scene.fps,
            scene.frames.len(),
            scene.width,
            scene.height
        ),
    )
}
