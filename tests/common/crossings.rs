//! Ground truth for line crossings and zone entries, computed from anchor tracks (the
//! renderer's true boxes, or any boxes with an identity) by the counting rules written out
//! here, independently of `src/analytics/` (so a test can compare rsanalytics with them).
//!
//! **Anchor**: the bottom centre of the box, `((x_min + x_max) / 2, y_max)`.
//!
//! **Line** `a -> b` with an `in` vector: `s` is the signed distance of the anchor to the
//! line, positive on the side the `in` vector points to; `d` the band (rsanalytics'
//! balanced mode: the larger of 4 px and 1 % of the frame's shorter side). Per object:
//! - the anchor is *clearly* on side `sign(s)` when `|s| >= d` and its projection falls on
//!   the segment (or the object last went through the segment to that side);
//! - the object goes *through* to a side when two successive anchors off the line (`s != 0`)
//!   are on opposite sides and the path between them meets the segment;
//! - a crossing to side B is counted on the first frame the anchor is clearly on B, when it
//!   was clearly on the other side before and went through the segment to B since it was
//!   last clearly there. Entering the band and going back (a bounce on the line) is no
//!   crossing; neither is the first side an object is seen on.
//!
//! This is what an ideal detector and tracker fed to rsanalytics would give; a naive count
//! of sign changes ([`naive_crossings`]) differs from it only when an object comes back
//! after entering the band.
//!
//! **Zone** (a polygon, boundary inside): an object enters after `inertia` consecutive
//! frames with its anchor inside and leaves after `inertia` consecutive frames outside.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pt {
    pub x: f64,
    pub y: f64,
}

/// A box `x_min, y_min, x_max, y_max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub x_min: f64,
    pub y_min: f64,
    pub x_max: f64,
    pub y_max: f64,
}

impl Bbox {
    pub fn anchor(&self) -> Pt {
        Pt {
            x: (self.x_min + self.x_max) / 2.0,
            y: self.y_max,
        }
    }

    pub fn iou(&self, o: &Bbox) -> f64 {
        let w = (self.x_max.min(o.x_max) - self.x_min.max(o.x_min)).max(0.0);
        let h = (self.y_max.min(o.y_max) - self.y_min.max(o.y_min)).max(0.0);
        let inter = w * h;
        let area = |b: &Bbox| (b.x_max - b.x_min) * (b.y_max - b.y_min);
        inter / (area(self) + area(o) - inter)
    }
}

/// The renderer's truth file: per frame, the boxes of the objects (the index in the
/// list is the object's identity) and their labels.
pub struct TruthVideo {
    pub width: f64,
    pub height: f64,
    pub fps: f64,
    pub labels: Vec<String>,
    /// `frames[f][i]`: object `i` on frame `f`.
    pub frames: Vec<Vec<Bbox>>,
}

pub fn read_truth(path: &Path) -> TruthVideo {
    let text = std::fs::read_to_string(path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let frames: Vec<Vec<Bbox>> = v["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| Bbox {
                    x_min: o["x_min"].as_f64().unwrap(),
                    y_min: o["y_min"].as_f64().unwrap(),
                    x_max: o["x_max"].as_f64().unwrap(),
                    y_max: o["y_max"].as_f64().unwrap(),
                })
                .collect()
        })
        .collect();
    let n = frames[0].len();
    assert!(
        frames.iter().all(|f| f.len() == n),
        "every frame has the same objects"
    );
    let labels = v["frames"][0]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["label"].as_str().unwrap().to_string())
        .collect();
    TruthVideo {
        width: v["width"].as_f64().unwrap(),
        height: v["height"].as_f64().unwrap(),
        fps: v["fps"].as_f64().unwrap(),
        labels,
        frames,
    }
}

impl TruthVideo {
    /// Object `i`'s anchor on every frame.
    pub fn anchors(&self, i: usize) -> Vec<(usize, Pt)> {
        self.frames
            .iter()
            .enumerate()
            .map(|(f, objs)| (f, objs[i].anchor()))
            .collect()
    }
}

/// A line segment `a -> b` whose `in` side is the one `in_vec` points to.
#[derive(Debug, Clone)]
pub struct LineDef {
    pub name: String,
    pub a: Pt,
    pub b: Pt,
    pub in_vec: Pt,
}

impl LineDef {
    /// The unit normal towards the `in` side.
    fn normal(&self) -> Pt {
        let (dx, dy) = (self.b.x - self.a.x, self.b.y - self.a.y);
        let len = (dx * dx + dy * dy).sqrt();
        let n = Pt {
            x: -dy / len,
            y: dx / len,
        };
        if n.x * self.in_vec.x + n.y * self.in_vec.y < 0.0 {
            Pt { x: -n.x, y: -n.y }
        } else {
            n
        }
    }

    /// Signed distance, positive on the `in` side.
    pub fn side(&self, p: Pt) -> f64 {
        let n = self.normal();
        (p.x - self.a.x) * n.x + (p.y - self.a.y) * n.y
    }

    /// Position of `p`'s projection along the segment (0 at `a`, 1 at `b`).
    fn along(&self, p: Pt) -> f64 {
        let (dx, dy) = (self.b.x - self.a.x, self.b.y - self.a.y);
        ((p.x - self.a.x) * dx + (p.y - self.a.y) * dy) / (dx * dx + dy * dy)
    }

    fn projects_on(&self, p: Pt) -> bool {
        (-1e-9..=1.0 + 1e-9).contains(&self.along(p))
    }

    /// The path `p -> q` (ends strictly on opposite sides) meets the segment.
    fn path_meets(&self, p: Pt, q: Pt) -> bool {
        let (s0, s1) = (self.side(p), self.side(q));
        let u = s0 / (s0 - s1);
        self.projects_on(Pt {
            x: p.x + u * (q.x - p.x),
            y: p.y + u * (q.y - p.y),
        })
    }
}

/// One counted crossing: the frame it counts on, the line's index, `in` or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crossing {
    pub frame: usize,
    pub line: usize,
    pub inward: bool,
    /// The object (truth index, or track id).
    pub object: u64,
}

fn sign(s: f64) -> i8 {
    if s > 0.0 {
        1
    } else if s < 0.0 {
        -1
    } else {
        0
    }
}

/// The crossings of one object's anchor path (`(frame, anchor)`, frames increasing, gaps
/// allowed) over `line`, by the band rule of the module doc with band `d`.
pub fn band_crossings(
    line: &LineDef,
    li: usize,
    object: u64,
    path: &[(usize, Pt)],
    d: f64,
) -> Vec<Crossing> {
    let mut out = vec![];
    let mut established = 0i8;
    let mut through = 0i8;
    let mut last: Option<(i8, Pt)> = None;
    for &(frame, p) in path {
        let s = line.side(p);
        let sg = sign(s);
        if sg != 0 {
            if let Some((ls, lp)) = last {
                if ls != sg && line.path_meets(lp, p) {
                    through = sg;
                }
            }
            last = Some((sg, p));
        }
        let clear = sg != 0 && s.abs() >= d && (through == sg || line.projects_on(p));
        if !clear {
            continue;
        }
        if sg == established {
            through = 0;
            continue;
        }
        if established != 0 && through == sg {
            out.push(Crossing {
                frame,
                line: li,
                inward: sg > 0,
                object,
            });
        }
        established = sg;
        through = 0;
    }
    out
}

/// Sign changes of the anchor's side with the path meeting the segment (no band): what a
/// rule without hysteresis counts.
pub fn naive_crossings(
    line: &LineDef,
    li: usize,
    object: u64,
    path: &[(usize, Pt)],
) -> Vec<Crossing> {
    let mut out = vec![];
    let mut last: Option<(i8, Pt)> = None;
    for &(frame, p) in path {
        let sg = sign(line.side(p));
        if sg == 0 {
            continue;
        }
        if let Some((ls, lp)) = last {
            if ls != sg && line.path_meets(lp, p) {
                out.push(Crossing {
                    frame,
                    line: li,
                    inward: sg > 0,
                    object,
                });
            }
        }
        last = Some((sg, p));
    }
    out
}

/// A polygon zone.
#[derive(Debug, Clone)]
pub struct ZoneDef {
    pub name: String,
    pub points: Vec<Pt>,
}

impl ZoneDef {
    /// Inside or on the boundary (even-odd rule).
    pub fn contains(&self, p: Pt) -> bool {
        let n = self.points.len();
        let mut inside = false;
        for i in 0..n {
            let (u, v) = (self.points[i], self.points[(i + 1) % n]);
            // On this edge.
            let cross = (v.x - u.x) * (p.y - u.y) - (v.y - u.y) * (p.x - u.x);
            let dot = (p.x - u.x) * (v.x - u.x) + (p.y - u.y) * (v.y - u.y);
            let len2 = (v.x - u.x).powi(2) + (v.y - u.y).powi(2);
            if cross.abs() <= 1e-9 * len2.sqrt().max(1.0) && (0.0..=len2).contains(&dot) {
                return true;
            }
            if (u.y > p.y) != (v.y > p.y) && p.x < u.x + (p.y - u.y) * (v.x - u.x) / (v.y - u.y) {
                inside = !inside;
            }
        }
        inside
    }
}

/// The frames an object enters `zone` on (the frame its `inertia`-th consecutive sighting
/// inside happens), from its anchor path.
pub fn zone_entries(zone: &ZoneDef, path: &[(usize, Pt)], inertia: u32) -> Vec<usize> {
    let mut out = vec![];
    let mut member = false;
    let mut run = 0;
    for &(frame, p) in path {
        let inside = zone.contains(p);
        if inside != member {
            run += 1;
            if run >= inertia {
                member = inside;
                run = 0;
                if member {
                    out.push(frame);
                }
            }
        } else {
            run = 0;
        }
    }
    out
}

impl LineDef {
    /// The same line moved by `by` px towards its `in` side.
    pub fn shifted(&self, by: f64) -> LineDef {
        let n = self.normal();
        let m = |q: Pt| Pt {
            x: q.x + by * n.x,
            y: q.y + by * n.y,
        };
        LineDef {
            a: m(self.a),
            b: m(self.b),
            ..self.clone()
        }
    }
}

impl ZoneDef {
    /// The same zone moved by (`dx`, `dy`).
    pub fn translated(&self, dx: f64, dy: f64) -> ZoneDef {
        ZoneDef {
            name: self.name.clone(),
            points: self
                .points
                .iter()
                .map(|q| Pt {
                    x: q.x + dx,
                    y: q.y + dy,
                })
                .collect(),
        }
    }
}

/// The truth object whose box overlaps `b` most (IoU), if any overlaps.
pub fn best_truth(objects: &[Bbox], b: &Bbox) -> Option<usize> {
    objects
        .iter()
        .enumerate()
        .map(|(i, t)| (i, t.iou(b)))
        .filter(|(_, iou)| *iou > 0.0)
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(i, _)| i)
}
