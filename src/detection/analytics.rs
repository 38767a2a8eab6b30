//! Zone and line analytics in the metadata contract (what `rsanalytics` writes).
//!
//! **On each object** (top-level region meta) it analysed, one param structure `analytics`
//! (arrays are `GstValueArray`s; entries of the arrays marked *parallel* belong together):
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `zones` | array of strings | zones the object is in on this frame (geometry order) |
//! | `dwell_ms` | array of guint64, parallel to `zones` | time in that zone in ms (`G_MAXUINT64`: unknown, an untracked object) |
//! | `loitering` | array of booleans, parallel to `zones` | the dwell exceeded the zone's loitering time |
//! | `lines_crossed` | array of strings | lines the object crossed on this frame |
//! | `directions_crossed` | array of strings, parallel to `lines_crossed` | `in` or `out` |
//! | `directions` | array of strings | named directions the object moves in |
//!
//! An object without an `analytics` structure was not analysed. On a buffer passing two
//! analytics elements, the second appends its results to the arrays of the first (each
//! element's frame meta says which zones and lines are its own).
//!
//! **On each frame**, a custom meta `RsvisionAnalyticsMeta` (Python:
//! `buffer.get_custom_meta("RsvisionAnalyticsMeta").get_structure()`), one per analytics
//! element:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `element` | string | the analytics element's name |
//! | `objects` | guint64 | objects on the frame (every class, tracked or not) |
//! | `overcrowded` | boolean | the whole frame holds more than its `max-objects` |
//! | `zones` | array of strings | every zone of the geometry |
//! | `zone_counts` | array of guint64, parallel to `zones` | objects in the zone now |
//! | `zone_entries` | array of guint64, parallel to `zones` | entries since the start (or reset) |
//! | `zone_overcrowded` | array of booleans, parallel to `zones` | more than the zone's `max-objects` |
//! | `lines` | array of strings | every line of the geometry |
//! | `line_in`, `line_out` | arrays of guint64, parallel to `lines` | cumulative crossings in / out |
//! | `events` | list of structures | this frame's events: the element messages below |
//! | `width`, `height` | guint | the frame size the shapes below are in |
//! | `zone_outlines` | array (per zone) of arrays of gdouble | the zone's outline `x0, y0, x1, y1, ...` in frame pixels |
//! | `zone_holes` | array (per zone) of arrays (per hole) of arrays of gdouble | its holes, the same way |
//! | `zone_inverse` | array of booleans, parallel to `zones` | the zone is the outside of its outline |
//! | `line_points` | array (per line) of arrays of 4 gdouble | the segment `ax, ay, bx, by` in frame pixels |
//! | `line_in_normals` | array (per line) of arrays of 2 gdouble | unit vector pointing to the line's `in` side |
//!
//! **Element messages** (and the items of `events`), every one with `pts` and
//! `running-time` (guint64 ns, `G_MAXUINT64` when unknown):
//! - `rsanalytics-crossing`: `line` (string), `track-id` (guint64), `direction` (`in` or
//!   `out`), `label` (string), `in-count`, `out-count` (guint64, the line's counts with
//!   this crossing);
//! - `rsanalytics-zone`: `zone`, `track-id`, `event` (`entry` or `exit`), `label`,
//!   `dwell-ms` (guint64; 0 at the entry);
//! - `rsanalytics-loitering`: `zone`, `track-id`, `event` (`start` or `end`), `label`,
//!   `dwell-ms`;
//! - `rsanalytics-overcrowding`: `zone` (empty: the whole frame), `event` (`start` or
//!   `end`), `count` (guint64).

use gst::meta::CustomMeta;
use gst_video::VideoRegionOfInterestMeta;

/// Name of the per-object structure.
pub const ANALYTICS_STRUCTURE: &str = "analytics";
/// The per-frame custom meta.
pub const ANALYTICS_META: &str = "RsvisionAnalyticsMeta";
/// Message (and event) structure names.
pub const CROSSING_MESSAGE: &str = "rsanalytics-crossing";
pub const ZONE_MESSAGE: &str = "rsanalytics-zone";
pub const LOITERING_MESSAGE: &str = "rsanalytics-loitering";
pub const OVERCROWDING_MESSAGE: &str = "rsanalytics-overcrowding";

/// What one object did on a frame (its `analytics` structure).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectAnalytics {
    pub zones: Vec<String>,
    /// Parallel to `zones`; `None`: untracked.
    pub dwell_ms: Vec<Option<u64>>,
    /// Parallel to `zones`.
    pub loitering: Vec<bool>,
    pub lines_crossed: Vec<String>,
    /// Parallel to `lines_crossed`: `in` or `out`.
    pub directions_crossed: Vec<String>,
    pub directions: Vec<String>,
}

fn strings(v: &[String]) -> gst::Array {
    gst::Array::new(v.iter().map(|s| s.as_str()))
}

fn read_strings(s: &gst::StructureRef, field: &str) -> Vec<String> {
    s.get::<gst::Array>(field)
        .map(|a| a.iter().filter_map(|v| v.get::<String>().ok()).collect())
        .unwrap_or_default()
}

fn read_u64s(s: &gst::StructureRef, field: &str) -> Vec<u64> {
    s.get::<gst::Array>(field)
        .map(|a| a.iter().filter_map(|v| v.get::<u64>().ok()).collect())
        .unwrap_or_default()
}

fn read_bools(s: &gst::StructureRef, field: &str) -> Vec<bool> {
    s.get::<gst::Array>(field)
        .map(|a| a.iter().filter_map(|v| v.get::<bool>().ok()).collect())
        .unwrap_or_default()
}

impl ObjectAnalytics {
    pub fn to_structure(&self) -> gst::Structure {
        gst::Structure::builder(ANALYTICS_STRUCTURE)
            .field("zones", strings(&self.zones))
            .field(
                "dwell_ms",
                gst::Array::new(self.dwell_ms.iter().map(|d| d.unwrap_or(u64::MAX))),
            )
            .field("loitering", gst::Array::new(self.loitering.iter().copied()))
            .field("lines_crossed", strings(&self.lines_crossed))
            .field("directions_crossed", strings(&self.directions_crossed))
            .field("directions", strings(&self.directions))
            .build()
    }

    /// Reads an `analytics` structure; `None` for any other structure.
    pub fn from_structure(s: &gst::StructureRef) -> Option<Self> {
        if s.name() != ANALYTICS_STRUCTURE {
            return None;
        }
        Some(ObjectAnalytics {
            zones: read_strings(s, "zones"),
            dwell_ms: read_u64s(s, "dwell_ms")
                .into_iter()
                .map(|d| (d != u64::MAX).then_some(d))
                .collect(),
            loitering: read_bools(s, "loitering"),
            lines_crossed: read_strings(s, "lines_crossed"),
            directions_crossed: read_strings(s, "directions_crossed"),
            directions: read_strings(s, "directions"),
        })
    }
}

impl ObjectAnalytics {
    /// Appends `other`'s results (a second analytics element on the same object).
    pub fn append(&mut self, other: &ObjectAnalytics) {
        self.zones.extend(other.zones.iter().cloned());
        self.dwell_ms.extend(&other.dwell_ms);
        self.loitering.extend(&other.loitering);
        self.lines_crossed
            .extend(other.lines_crossed.iter().cloned());
        self.directions_crossed
            .extend(other.directions_crossed.iter().cloned());
        self.directions.extend(other.directions.iter().cloned());
    }
}

/// Adds `analytics` to a region meta: as its `analytics` structure, or appended to the one
/// an earlier analytics element wrote (so the object has every element's results).
pub fn add_to_roi<U>(
    roi: &mut gst::MetaRefMut<'_, VideoRegionOfInterestMeta, U>,
    analytics: &ObjectAnalytics,
) {
    // SAFETY: `roi` is borrowed mutably, so its params (a GList of GstStructures it owns) may
    // be changed in place; the structures are only looked up and written, never freed.
    unsafe {
        let mut l = (*roi.as_mut_ptr()).params;
        while !l.is_null() {
            let ptr = (*l).data as *mut gst::ffi::GstStructure;
            let s = gst::StructureRef::from_glib_borrow_mut(ptr);
            if s.name() == ANALYTICS_STRUCTURE {
                let mut merged = ObjectAnalytics::from_structure(s).unwrap_or_default();
                merged.append(analytics);
                for (field, value) in merged.to_structure().iter() {
                    s.set_value(field, value.clone());
                }
                return;
            }
            l = (*l).next;
        }
    }
    roi.add_param(analytics.to_structure());
}

/// The `analytics` structure of a region meta, if it has one.
pub fn of_roi(roi: &VideoRegionOfInterestMeta) -> Option<ObjectAnalytics> {
    roi.param(ANALYTICS_STRUCTURE)
        .and_then(ObjectAnalytics::from_structure)
}

/// A zone's counts on a frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ZoneCounts {
    pub name: String,
    pub count: u64,
    pub entries: u64,
    pub overcrowded: bool,
}

/// A line's cumulative counts on a frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineCounts {
    pub name: String,
    pub in_count: u64,
    pub out_count: u64,
}

/// A zone's shape in frame pixels (for drawing).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneShape {
    pub outline: Vec<(f64, f64)>,
    pub holes: Vec<Vec<(f64, f64)>>,
    pub inverse: bool,
}

/// A line's segment in frame pixels and the unit vector to its `in` side (for drawing).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LineShape {
    pub a: (f64, f64),
    pub b: (f64, f64),
    pub in_normal: (f64, f64),
}

/// The geometry an analytics element counted with, in pixels of a `width` x `height` frame
/// (zones and lines parallel to the frame's counts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameShapes {
    pub width: u32,
    pub height: u32,
    pub zones: Vec<ZoneShape>,
    pub lines: Vec<LineShape>,
}

/// What an analytics element writes on a frame (its `RsvisionAnalyticsMeta`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalyticsFrame {
    pub element: String,
    pub objects: u64,
    pub overcrowded: bool,
    pub zones: Vec<ZoneCounts>,
    pub lines: Vec<LineCounts>,
    /// The frame's events (the element messages' structures).
    pub events: Vec<gst::Structure>,
    pub shapes: FrameShapes,
}

fn flat(points: &[(f64, f64)]) -> gst::Array {
    gst::Array::new(points.iter().flat_map(|&(x, y)| [x, y]))
}

fn read_points(a: &gst::Array) -> Vec<(f64, f64)> {
    let xs: Vec<f64> = a.iter().filter_map(|v| v.get::<f64>().ok()).collect();
    xs.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

fn read_nested(s: &gst::StructureRef, field: &str) -> Vec<gst::Array> {
    s.get::<gst::Array>(field)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.get::<gst::Array>().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn write_shapes(s: &mut gst::StructureRef, shapes: &FrameShapes) {
    s.set("width", shapes.width);
    s.set("height", shapes.height);
    let zones = &shapes.zones;
    s.set(
        "zone_outlines",
        gst::Array::new(zones.iter().map(|z| flat(&z.outline))),
    );
    s.set(
        "zone_holes",
        gst::Array::new(
            zones
                .iter()
                .map(|z| gst::Array::new(z.holes.iter().map(|h| flat(h)))),
        ),
    );
    s.set(
        "zone_inverse",
        gst::Array::new(zones.iter().map(|z| z.inverse)),
    );
    let lines = &shapes.lines;
    s.set(
        "line_points",
        gst::Array::new(lines.iter().map(|l| flat(&[l.a, l.b]))),
    );
    s.set(
        "line_in_normals",
        gst::Array::new(lines.iter().map(|l| flat(&[l.in_normal]))),
    );
}

fn read_shapes(s: &gst::StructureRef) -> FrameShapes {
    let inverse = read_bools(s, "zone_inverse");
    let holes = read_nested(s, "zone_holes");
    let zones = read_nested(s, "zone_outlines")
        .iter()
        .enumerate()
        .map(|(i, outline)| ZoneShape {
            outline: read_points(outline),
            holes: holes
                .get(i)
                .map(|h| {
                    h.iter()
                        .filter_map(|v| v.get::<gst::Array>().ok())
                        .map(|a| read_points(&a))
                        .collect()
                })
                .unwrap_or_default(),
            inverse: inverse.get(i).copied().unwrap_or(false),
        })
        .collect();
    let normals = read_nested(s, "line_in_normals");
    let lines = read_nested(s, "line_points")
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let p = read_points(p);
            let n = normals.get(i).map(read_points).unwrap_or_default();
            (p.len() == 2).then(|| LineShape {
                a: p[0],
                b: p[1],
                in_normal: n.first().copied().unwrap_or_default(),
            })
        })
        .collect();
    FrameShapes {
        width: s.get::<u32>("width").unwrap_or(0),
        height: s.get::<u32>("height").unwrap_or(0),
        zones,
        lines,
    }
}

/// Adds the analytics frame meta.
pub fn mark_frame(buffer: &mut gst::BufferRef, frame: &AnalyticsFrame) {
    register();
    let Ok(mut meta) = CustomMeta::add(buffer, ANALYTICS_META) else {
        return;
    };
    let s = meta.mut_structure();
    let zones = &frame.zones;
    let lines = &frame.lines;
    s.set("element", frame.element.as_str());
    s.set("objects", frame.objects);
    s.set("overcrowded", frame.overcrowded);
    s.set(
        "zones",
        gst::Array::new(zones.iter().map(|z| z.name.as_str())),
    );
    s.set(
        "zone_counts",
        gst::Array::new(zones.iter().map(|z| z.count)),
    );
    s.set(
        "zone_entries",
        gst::Array::new(zones.iter().map(|z| z.entries)),
    );
    s.set(
        "zone_overcrowded",
        gst::Array::new(zones.iter().map(|z| z.overcrowded)),
    );
    s.set(
        "lines",
        gst::Array::new(lines.iter().map(|l| l.name.as_str())),
    );
    s.set("line_in", gst::Array::new(lines.iter().map(|l| l.in_count)));
    s.set(
        "line_out",
        gst::Array::new(lines.iter().map(|l| l.out_count)),
    );
    s.set("events", gst::List::new(frame.events.iter().cloned()));
    write_shapes(s, &frame.shapes);
}

/// The analytics frame metas on `buffer` (one per analytics element it went through).
pub fn analytics_frames(buffer: &gst::BufferRef) -> Vec<AnalyticsFrame> {
    let mut out = Vec::new();
    for meta in buffer.iter_meta::<gst::Meta>() {
        let Some(custom) = meta.try_as_custom_meta() else {
            continue;
        };
        if !custom.has_name(ANALYTICS_META) {
            continue;
        }
        let s = custom.structure();
        let names = read_strings(s, "zones");
        let (counts, entries) = (read_u64s(s, "zone_counts"), read_u64s(s, "zone_entries"));
        let crowded = read_bools(s, "zone_overcrowded");
        let zones = names
            .into_iter()
            .enumerate()
            .map(|(i, name)| ZoneCounts {
                name,
                count: counts.get(i).copied().unwrap_or(0),
                entries: entries.get(i).copied().unwrap_or(0),
                overcrowded: crowded.get(i).copied().unwrap_or(false),
            })
            .collect();
        let (ins, outs) = (read_u64s(s, "line_in"), read_u64s(s, "line_out"));
        let lines = read_strings(s, "lines")
            .into_iter()
            .enumerate()
            .map(|(i, name)| LineCounts {
                name,
                in_count: ins.get(i).copied().unwrap_or(0),
                out_count: outs.get(i).copied().unwrap_or(0),
            })
            .collect();
        out.push(AnalyticsFrame {
            element: s.get::<&str>("element").unwrap_or("").to_string(),
            objects: s.get::<u64>("objects").unwrap_or(0),
            overcrowded: s.get::<bool>("overcrowded").unwrap_or(false),
            zones,
            lines,
            events: s
                .get::<gst::List>("events")
                .map(|l| {
                    l.iter()
                        .filter_map(|v| v.get::<gst::Structure>().ok())
                        .collect()
                })
                .unwrap_or_default(),
            shapes: read_shapes(s),
        });
    }
    out
}

/// Registers the frame-level meta (the plugin does it when it loads).
pub fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if !CustomMeta::is_registered(ANALYTICS_META) {
            CustomMeta::register(ANALYTICS_META, &[]);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_and_frame_analytics_round_trip() {
        gst::init().unwrap();
        let o = ObjectAnalytics {
            zones: vec!["door".into(), "hall".into()],
            dwell_ms: vec![Some(1500), None],
            loitering: vec![true, false],
            lines_crossed: vec!["entrance".into()],
            directions_crossed: vec!["in".into()],
            directions: vec!["north".into()],
        };
        let s = o.to_structure();
        assert_eq!(ObjectAnalytics::from_structure(&s), Some(o));
        let other = gst::Structure::new_empty("detection");
        assert_eq!(ObjectAnalytics::from_structure(&other), None);

        let frame = AnalyticsFrame {
            element: "rsanalytics0".into(),
            objects: 3,
            overcrowded: true,
            zones: vec![ZoneCounts {
                name: "door".into(),
                count: 2,
                entries: 5,
                overcrowded: true,
            }],
            lines: vec![LineCounts {
                name: "entrance".into(),
                in_count: 4,
                out_count: 1,
            }],
            events: vec![gst::Structure::builder(CROSSING_MESSAGE)
                .field("line", "entrance")
                .build()],
            shapes: FrameShapes {
                width: 640,
                height: 480,
                zones: vec![ZoneShape {
                    outline: vec![(1.0, 2.0), (30.5, 2.0), (30.5, 40.0)],
                    holes: vec![vec![(10.0, 10.0), (12.0, 10.0), (12.0, 12.0)]],
                    inverse: true,
                }],
                lines: vec![LineShape {
                    a: (0.0, 240.0),
                    b: (640.0, 240.0),
                    in_normal: (0.0, 1.0),
                }],
            },
        };
        let mut b = gst::Buffer::new();
        mark_frame(b.get_mut().unwrap(), &frame);
        assert_eq!(analytics_frames(&b), vec![frame]);
    }
}
