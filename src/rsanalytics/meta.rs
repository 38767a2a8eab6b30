//! Between a buffer's metadata and the counting engine ([`crate::analytics::count`]): which
//! region metas are the objects, and how the results go back onto the buffer (the layout is
//! [`crate::detection::analytics`]).
//!
//! Objects are the top-level region metas (a meta whose `parent_id` names another meta on
//! the buffer is a secondary result of that object, e.g. a face inside a person); their
//! track ids are those of the `tracking` (or DL Streamer's `object_id`) structure.

use std::collections::HashSet;

use gst_video::VideoRegionOfInterestMeta;

use crate::analytics::count::{CrossDirection, Event, FrameResult, Object};
use crate::analytics::{geometry, Geometry, Point};
use crate::detection::analytics::{
    self as contract, AnalyticsFrame, FrameShapes, LineCounts, LineShape, ObjectAnalytics,
    ZoneCounts, ZoneShape,
};
use crate::detection::{self, Detection};

/// The objects of one frame, in meta order.
#[derive(Debug, Default)]
pub struct Objects {
    pub detections: Vec<Detection>,
    /// Index among the buffer's region metas of each detection.
    meta_index: Vec<usize>,
}

impl Objects {
    /// The engine's view of the objects.
    pub fn engine_objects(&self) -> Vec<Object<'_>> {
        self.detections
            .iter()
            .map(|d| Object {
                track_id: d.track_id,
                label: &d.label,
                label_id: d.label_id,
                x: d.x,
                y: d.y,
                width: d.width,
                height: d.height,
            })
            .collect()
    }

    /// Whether some object has no track id.
    pub fn any_untracked(&self) -> bool {
        self.detections.iter().any(|d| d.track_id.is_none())
    }
}

/// Reads the top-level region metas of `buffer` (a `width` x `height` frame).
pub fn read(buffer: &gst::BufferRef, width: u32, height: u32) -> Objects {
    let metas: Vec<_> = buffer.iter_meta::<VideoRegionOfInterestMeta>().collect();
    let ids: HashSet<i32> = metas.iter().map(|m| m.id()).collect();
    let mut objects = Objects::default();
    for (i, m) in metas.iter().enumerate() {
        let pid = m.parent_id();
        if pid >= 0 && pid != m.id() && ids.contains(&pid) {
            continue;
        }
        objects
            .detections
            .push(detection::from_meta(m, width, height));
        objects.meta_index.push(i);
    }
    objects
}

fn direction_name(d: CrossDirection) -> &'static str {
    match d {
        CrossDirection::In => "in",
        CrossDirection::Out => "out",
    }
}

/// The `analytics` structure of each object of `result`.
pub fn object_analytics(geometry: &Geometry, result: &FrameResult) -> Vec<ObjectAnalytics> {
    result
        .objects
        .iter()
        .map(|o| ObjectAnalytics {
            zones: o
                .zones
                .iter()
                .map(|z| geometry.zones[z.zone].name.clone())
                .collect(),
            dwell_ms: o.zones.iter().map(|z| z.dwell_ms).collect(),
            loitering: o.zones.iter().map(|z| z.loitering).collect(),
            lines_crossed: o
                .crossings
                .iter()
                .map(|c| geometry.lines[c.line].name.clone())
                .collect(),
            directions_crossed: o
                .crossings
                .iter()
                .map(|c| direction_name(c.direction).to_string())
                .collect(),
            directions: o
                .directions
                .iter()
                .map(|&d| geometry.directions[d].name.clone())
                .collect(),
        })
        .collect()
}

/// The message structures of the frame's events (`pts`, `running_time` in ns).
pub fn event_structures(
    geometry: &Geometry,
    result: &FrameResult,
    pts: Option<u64>,
    running_time: Option<u64>,
) -> Vec<gst::Structure> {
    let t = |v: Option<u64>| v.unwrap_or(u64::MAX);
    // The lines' counts before this frame's crossings, counted up crossing by crossing.
    let mut counts: Vec<(u64, u64)> = result
        .lines
        .iter()
        .map(|c| (c.in_count, c.out_count))
        .collect();
    for e in &result.events {
        if let Event::Crossing {
            line, direction, ..
        } = e
        {
            let c = &mut counts[*line];
            match direction {
                CrossDirection::In => c.0 = c.0.saturating_sub(1),
                CrossDirection::Out => c.1 = c.1.saturating_sub(1),
            }
        }
    }
    let zone = |z: usize| geometry.zones[z].name.as_str();
    let visit = |name: &str, zone_name: &str, track: u64, event: &str, label: &str, dwell: u64| {
        gst::Structure::builder(name)
            .field("zone", zone_name)
            .field("track-id", track)
            .field("event", event)
            .field("label", label)
            .field("dwell-ms", dwell)
    };
    result
        .events
        .iter()
        .map(|e| {
            let b = match e {
                Event::Crossing {
                    line,
                    track,
                    direction,
                    label,
                } => {
                    let c = &mut counts[*line];
                    match direction {
                        CrossDirection::In => c.0 += 1,
                        CrossDirection::Out => c.1 += 1,
                    }
                    gst::Structure::builder(contract::CROSSING_MESSAGE)
                        .field("line", geometry.lines[*line].name.as_str())
                        .field("track-id", *track)
                        .field("direction", direction_name(*direction))
                        .field("label", label.as_str())
                        .field("in-count", c.0)
                        .field("out-count", c.1)
                }
                Event::ZoneEntry {
                    zone: z,
                    track,
                    label,
                } => visit(contract::ZONE_MESSAGE, zone(*z), *track, "entry", label, 0),
                Event::ZoneExit {
                    zone: z,
                    track,
                    label,
                    dwell_ms,
                } => visit(
                    contract::ZONE_MESSAGE,
                    zone(*z),
                    *track,
                    "exit",
                    label,
                    *dwell_ms,
                ),
                Event::LoiteringStart {
                    zone: z,
                    track,
                    label,
                    dwell_ms,
                } => visit(
                    contract::LOITERING_MESSAGE,
                    zone(*z),
                    *track,
                    "start",
                    label,
                    *dwell_ms,
                ),
                Event::LoiteringEnd {
                    zone: z,
                    track,
                    label,
                    dwell_ms,
                } => visit(
                    contract::LOITERING_MESSAGE,
                    zone(*z),
                    *track,
                    "end",
                    label,
                    *dwell_ms,
                ),
                Event::OvercrowdingStart { zone: z, count }
                | Event::OvercrowdingEnd { zone: z, count } => {
                    let start = matches!(e, Event::OvercrowdingStart { .. });
                    gst::Structure::builder(contract::OVERCROWDING_MESSAGE)
                        .field("zone", z.map_or("", zone))
                        .field("event", if start { "start" } else { "end" })
                        .field("count", *count)
                }
            };
            b.field("pts", t(pts))
                .field("running-time", t(running_time))
                .build()
        })
        .collect()
}

/// The shapes of `geometry` (in pixels of a `width` x `height` frame) for the frame meta.
pub fn shapes(geometry: &Geometry, width: u32, height: u32) -> FrameShapes {
    let pts = |v: &[Point]| v.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>();
    FrameShapes {
        width,
        height,
        zones: geometry
            .zones
            .iter()
            .map(|z| ZoneShape {
                outline: pts(&z.outline),
                holes: z.holes.iter().map(|h| pts(h)).collect(),
                inverse: z.inverse,
            })
            .collect(),
        lines: geometry
            .lines
            .iter()
            .map(|l| {
                let n = geometry::in_normal(l);
                LineShape {
                    a: (l.a.x, l.a.y),
                    b: (l.b.x, l.b.y),
                    in_normal: (n.x, n.y),
                }
            })
            .collect(),
    }
}

/// The frame meta of `result` (`shapes` from [`shapes`] for the same geometry).
pub fn frame(
    element: &str,
    geometry: &Geometry,
    result: &FrameResult,
    events: Vec<gst::Structure>,
    shapes: FrameShapes,
) -> AnalyticsFrame {
    AnalyticsFrame {
        shapes,
        element: element.to_string(),
        objects: result.frame_count,
        overcrowded: result.frame_overcrowded,
        zones: geometry
            .zones
            .iter()
            .zip(&result.zones)
            .map(|(z, c)| ZoneCounts {
                name: z.name.clone(),
                count: c.count,
                entries: c.entries,
                overcrowded: c.overcrowded,
            })
            .collect(),
        lines: geometry
            .lines
            .iter()
            .zip(&result.lines)
            .map(|(l, c)| LineCounts {
                name: l.name.clone(),
                in_count: c.in_count,
                out_count: c.out_count,
            })
            .collect(),
        events,
    }
}

/// Writes each object's `analytics` structure (`per_object` in the order of `objects`)
/// and the frame meta onto `buffer`.
pub fn write(
    buffer: &mut gst::BufferRef,
    objects: &Objects,
    per_object: &[ObjectAnalytics],
    frame: &AnalyticsFrame,
) {
    let mut next = objects.meta_index.iter().zip(per_object).peekable();
    for (i, mut roi) in buffer
        .iter_meta_mut::<VideoRegionOfInterestMeta>()
        .enumerate()
    {
        let Some(&(&m, a)) = next.peek() else {
            break;
        };
        if m != i {
            continue;
        }
        next.next();
        contract::add_to_roi(&mut roi, a);
    }
    contract::mark_frame(buffer, frame);
}
