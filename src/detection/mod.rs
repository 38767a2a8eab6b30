//! The detection metadata contract shared by every rsvision element.
//!
//! One `GstVideoRegionOfInterestMeta` per detected object (REFERENCE.md section 1, the
//! DL Streamer layout):
//!
//! * `x, y, w, h`: the pixel rectangle in the coordinates of the buffer it is attached to,
//! * `roi_type`: the class label,
//! * `id`: numbers the objects of a frame from 0, `parent_id`: -1 (for an object a detector
//!   found inside another, `rsinfer inference-region=objects`, the other's `id`),
//! * a `detection` param structure with `x_min, y_min, x_max, y_max` (double, normalised to
//!   the frame), `confidence` (double), `label_id` (int) and `label` (string), and from
//!   rsinfer `model_name` (DL Streamer's field: the model's file stem or server name) and
//!   `element` (the rsinfer element's name) ([`Source`]),
//! * when a tracker kept it, a `tracking` structure and DL Streamer's `object_id` structure
//!   ([`tracking`]),
//! * one structure per classification attribute, gvaclassify's fields ([`attribute`]).
//!
//! Frame-level facts are custom metas: [`frame`] (did a detector run on this frame),
//! [`tracking`] (a tracker's events on this frame) and [`analytics`] (zone and line counts;
//! also the per-object `analytics` structure). Field names of buffer metadata use
//! underscores (DL Streamer's style); those of bus messages and their structures use
//! hyphens (GStreamer's).
//!
//! [`attach`] writes detections, [`read`] reads them back, also when another element (e.g.
//! DL Streamer's `gvadetect` or `gvatrack`) wrote them.
//!
//! Stream-level facts travel as serialized custom downstream events: a tracker's stream-end
//! exits ([`tracking::events_event`]) and rssmartrecord's finished clips ([`clip`]).

pub mod analytics;
pub mod attribute;
pub mod clip;
pub mod frame;
pub mod tracking;

pub use attribute::Attribute;
pub use clip::ClipDone;
pub use frame::{has_fresh_detections, Inference, Marker};
pub use tracking::{TrackEvent, TrackInfo, TrackerFrame};

use gst_video::VideoRegionOfInterestMeta;

/// Name of the param structure that carries a detection.
pub const DETECTION_STRUCTURE: &str = "detection";
/// Name of the param structure that carries a track id.
pub const TRACKING_STRUCTURE: &str = tracking::TRACKING_STRUCTURE;
/// DL Streamer's track id structure.
pub const OBJECT_ID_STRUCTURE: &str = tracking::OBJECT_ID_STRUCTURE;

/// One detected object, in pixel coordinates of its frame (floating point, not rounded).
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Left edge in frame pixels.
    pub x: f64,
    /// Top edge in frame pixels.
    pub y: f64,
    /// Width in frame pixels.
    pub width: f64,
    /// Height in frame pixels.
    pub height: f64,
    /// Confidence in 0..1.
    pub confidence: f64,
    /// Class index of the model.
    pub label_id: i32,
    /// Class name.
    pub label: String,
    /// Track id, when a tracker assigned one (ours, or DL Streamer's `object_id`).
    pub track_id: Option<u64>,
    /// What our tracker says about the object beyond its id.
    pub tracking: Option<TrackInfo>,
    /// Classification results on the object (secondary classifiers), in param order.
    pub attributes: Vec<Attribute>,
}

impl Detection {
    /// Right edge in frame pixels.
    pub fn x_max(&self) -> f64 {
        self.x + self.width
    }

    /// Bottom edge in frame pixels.
    pub fn y_max(&self) -> f64 {
        self.y + self.height
    }

    /// The integer pixel rectangle `(x, y, w, h)` covering this detection, clipped to a frame
    /// of `frame_width` x `frame_height` pixels.
    pub fn pixel_rect(&self, frame_width: u32, frame_height: u32) -> (u32, u32, u32, u32) {
        let fw = f64::from(frame_width);
        let fh = f64::from(frame_height);
        let x0 = self.x.round().clamp(0.0, fw);
        let y0 = self.y.round().clamp(0.0, fh);
        let x1 = self.x_max().round().clamp(x0, fw);
        let y1 = self.y_max().round().clamp(y0, fh);
        (x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32)
    }
}

/// Who made a detection: recorded in its `detection` structure (`model_name`, `element`),
/// so a model in object mode can choose the objects of one detector (`source-model`).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub model: &'a str,
    pub element: &'a str,
}

impl Source<'_> {
    /// A `detection` structure holding only the source fields, for [`write_roi`]'s `extra`.
    pub fn structure(&self) -> gst::Structure {
        gst::Structure::builder(DETECTION_STRUCTURE)
            .field("model_name", self.model)
            .field("element", self.element)
            .build()
    }
}

/// Attaches `detections` to `buffer`, one region-of-interest meta each, numbered from
/// `first_id`. The frame is `frame_width` x `frame_height` pixels.
pub fn attach(
    buffer: &mut gst::BufferRef,
    detections: &[Detection],
    frame_width: u32,
    frame_height: u32,
    first_id: i32,
) {
    attach_from(
        buffer,
        detections,
        frame_width,
        frame_height,
        first_id,
        -1,
        None,
    )
}

/// [`attach`] with a `parent_id` (-1: none) and the detections' `source`.
pub fn attach_from(
    buffer: &mut gst::BufferRef,
    detections: &[Detection],
    frame_width: u32,
    frame_height: u32,
    first_id: i32,
    parent_id: i32,
    source: Option<&Source>,
) {
    let source = source.map(Source::structure);
    for (i, det) in detections.iter().enumerate() {
        write_roi(
            buffer,
            det,
            frame_width,
            frame_height,
            first_id + i as i32,
            parent_id,
            source.as_deref(),
        );
    }
}

/// The `detection` structure of `det` in a `frame_width` x `frame_height` frame.
pub fn detection_structure(det: &Detection, frame_width: u32, frame_height: u32) -> gst::Structure {
    let fw = f64::from(frame_width.max(1));
    let fh = f64::from(frame_height.max(1));
    gst::Structure::builder(DETECTION_STRUCTURE)
        .field("x_min", (det.x / fw).clamp(0.0, 1.0))
        .field("y_min", (det.y / fh).clamp(0.0, 1.0))
        .field("x_max", (det.x_max() / fw).clamp(0.0, 1.0))
        .field("y_max", (det.y_max() / fh).clamp(0.0, 1.0))
        .field("confidence", det.confidence)
        .field("label_id", det.label_id)
        .field("label", det.label.as_str())
        .build()
}

/// Adds one region meta for `det` with `id` and `parent_id`: its `detection` structure
/// (with the fields of a `detection` among `extra` that `det` does not set, such as its
/// `model_name`: a rewritten meta keeps its source), then the other `extra` structures (e.g.
/// the params of the meta it replaces; any `tracking` or `object_id` among them is skipped),
/// then `det`'s attributes not among them, then `tracking` and `object_id` when `det` has a
/// track id.
pub fn write_roi<'a>(
    buffer: &mut gst::BufferRef,
    det: &Detection,
    frame_width: u32,
    frame_height: u32,
    id: i32,
    parent_id: i32,
    extra: impl IntoIterator<Item = &'a gst::StructureRef>,
) {
    let rect = det.pixel_rect(frame_width, frame_height);
    let mut detection = detection_structure(det, frame_width, frame_height);
    let mut others = Vec::new();
    for s in extra {
        match s.name().as_str() {
            DETECTION_STRUCTURE => {
                for (field, value) in s.iter() {
                    if !detection.has_field(field) {
                        detection.set_value(field, value.clone());
                    }
                }
            }
            TRACKING_STRUCTURE | OBJECT_ID_STRUCTURE => {}
            _ => others.push(s.to_owned()),
        }
    }
    let mut meta = VideoRegionOfInterestMeta::add(buffer, &det.label, rect);
    meta.set_id(id);
    meta.set_parent_id(parent_id);
    meta.add_param(detection);
    for s in others {
        meta.add_param(s);
    }
    for a in &det.attributes {
        if meta.param(&a.name).is_none() {
            meta.add_param(a.to_structure());
        }
    }
    if let Some(track_id) = det.track_id {
        meta.add_param(tracking::tracking_structure(
            track_id,
            det.tracking.as_ref(),
        ));
        if let Some(o) = tracking::object_id_structure(track_id) {
            meta.add_param(o);
        }
    }
}

/// Number of region-of-interest metas on `buffer`.
pub fn count(buffer: &gst::BufferRef) -> usize {
    buffer.iter_meta::<VideoRegionOfInterestMeta>().count()
}

/// Removes every region-of-interest meta that carries a `detection` structure.
pub fn remove_all(buffer: &mut gst::BufferRef) {
    buffer.foreach_meta_mut(|mut meta| {
        use std::ops::ControlFlow::*;
        match meta.downcast_mut::<VideoRegionOfInterestMeta>() {
            Some(roi) if roi.param(DETECTION_STRUCTURE).is_some() => {
                Continue(gst::buffer::BufferMetaForeachAction::Remove)
            }
            _ => Continue(gst::buffer::BufferMetaForeachAction::Keep),
        }
    });
}

fn get_f64(s: &gst::StructureRef, name: &str) -> Option<f64> {
    s.get::<f64>(name)
        .ok()
        .or_else(|| s.get::<f32>(name).ok().map(f64::from))
}

fn get_int(s: &gst::StructureRef, name: &str) -> Option<i64> {
    s.get::<i32>(name)
        .ok()
        .map(i64::from)
        .or_else(|| s.get::<u32>(name).ok().map(i64::from))
        .or_else(|| s.get::<i64>(name).ok())
        .or_else(|| s.get::<u64>(name).ok().and_then(|v| i64::try_from(v).ok()))
}

/// Reads one region-of-interest meta as a detection. `frame_width` x `frame_height` is the
/// size of the frame it is attached to (used to scale the normalised `detection` box).
pub fn from_meta(
    roi: &VideoRegionOfInterestMeta,
    frame_width: u32,
    frame_height: u32,
) -> Detection {
    let (rx, ry, rw, rh) = roi.rect();
    let mut det = Detection {
        x: f64::from(rx),
        y: f64::from(ry),
        width: f64::from(rw),
        height: f64::from(rh),
        confidence: 0.0,
        label_id: -1,
        label: roi.roi_type().to_string(),
        track_id: None,
        tracking: None,
        attributes: attribute::of_roi(roi),
    };
    if let Some(s) = roi.param(DETECTION_STRUCTURE) {
        let fw = f64::from(frame_width);
        let fh = f64::from(frame_height);
        if let (Some(x0), Some(y0), Some(x1), Some(y1)) = (
            get_f64(s, "x_min"),
            get_f64(s, "y_min"),
            get_f64(s, "x_max"),
            get_f64(s, "y_max"),
        ) {
            // The meta rectangle may have been transformed (e.g. by videoscale) while the
            // normalised box stays valid: trust the normalised box when it is sane.
            if frame_width > 0 && frame_height > 0 && x1 >= x0 && y1 >= y0 {
                det.x = x0 * fw;
                det.y = y0 * fh;
                det.width = (x1 - x0) * fw;
                det.height = (y1 - y0) * fh;
            }
        }
        if let Some(c) = get_f64(s, "confidence") {
            det.confidence = c;
        }
        if let Some(id) = get_int(s, "label_id") {
            det.label_id = id as i32;
        }
        if let Ok(label) = s.get::<&str>("label") {
            if !label.is_empty() {
                det.label = label.to_string();
            }
        }
        // Some older DL Streamer code kept the id as a field of `detection`.
        if let Some(id) = get_int(s, "object_id") {
            det.track_id = u64::try_from(id).ok();
        }
    }
    // gvatrack writes a separate `object_id` structure with `id`.
    if let Some(o) = roi.param(OBJECT_ID_STRUCTURE) {
        if let Some(id) = get_int(o, "id") {
            det.track_id = u64::try_from(id).ok();
        }
    }
    // Ours wins: it has the full 64-bit id.
    if let Some(t) = roi.param(TRACKING_STRUCTURE) {
        let id = t
            .get::<u64>("id")
            .ok()
            .or_else(|| get_int(t, "id").and_then(|v| u64::try_from(v).ok()));
        if let Some(id) = id {
            det.track_id = Some(id);
            det.tracking = Some(TrackInfo {
                predicted: t.get::<bool>("predicted").unwrap_or(false),
                frames_ago: t.get::<u32>("frames_ago").unwrap_or(0),
                lost: t.get::<bool>("lost").unwrap_or(false),
                hits: t.get::<u32>("hits").unwrap_or(0),
                first_seen: t.get::<u64>("first_seen").ok().filter(|v| *v != u64::MAX),
                velocity: (
                    get_f64(t, "velocity_x").unwrap_or(0.0),
                    get_f64(t, "velocity_y").unwrap_or(0.0),
                ),
                centre: get_f64(t, "centre_x").zip(get_f64(t, "centre_y")),
            });
        }
    }
    det
}

/// Reads every detection on `buffer` (ours or any element's that uses this layout), in meta
/// order. Region-of-interest metas without a `detection` structure are read from their
/// rectangle and type alone, with confidence 0 and label id -1.
pub fn read(buffer: &gst::BufferRef, frame_width: u32, frame_height: u32) -> Vec<Detection> {
    buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .map(|roi| from_meta(&roi, frame_width, frame_height))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        gst::init().unwrap();
    }

    fn det(x: f64, y: f64, w: f64, h: f64, label: &str) -> Detection {
        Detection {
            x,
            y,
            width: w,
            height: h,
            confidence: 0.75,
            label_id: 3,
            label: label.into(),
            track_id: None,
            tracking: None,
            attributes: Vec::new(),
        }
    }

    #[test]
    fn attach_writes_the_dl_streamer_layout() {
        init();
        let mut buffer = gst::Buffer::with_size(16).unwrap();
        let dets = vec![
            det(10.4, 20.6, 100.0, 50.0, "car"),
            det(0.0, 0.0, 5.0, 5.0, "person"),
        ];
        attach(buffer.get_mut().unwrap(), &dets, 640, 480, 0);
        let metas: Vec<_> = buffer.iter_meta::<VideoRegionOfInterestMeta>().collect();
        assert_eq!(metas.len(), 2);
        assert_eq!(metas[0].id(), 0);
        assert_eq!(metas[1].id(), 1);
        assert_eq!(metas[0].parent_id(), -1);
        assert_eq!(metas[0].roi_type(), "car");
        assert_eq!(metas[0].rect(), (10, 21, 100, 50));
        let s = metas[0].param("detection").unwrap();
        assert!((s.get::<f64>("x_min").unwrap() - 10.4 / 640.0).abs() < 1e-12);
        assert!((s.get::<f64>("y_max").unwrap() - 70.6 / 480.0).abs() < 1e-12);
        assert_eq!(s.get::<f64>("confidence").unwrap(), 0.75);
        assert_eq!(s.get::<i32>("label_id").unwrap(), 3);
        assert_eq!(s.get::<&str>("label").unwrap(), "car");
    }

    #[test]
    fn the_source_and_parent_are_written_and_kept_when_a_meta_is_rewritten() {
        init();
        let mut buffer = gst::Buffer::with_size(16).unwrap();
        let source = Source {
            model: "plates",
            element: "infer1",
        };
        let d = det(30.0, 40.0, 60.0, 80.0, "plate");
        attach_from(
            buffer.get_mut().unwrap(),
            std::slice::from_ref(&d),
            320,
            240,
            3,
            7,
            Some(&source),
        );
        let params: Vec<gst::Structure> = {
            let roi = buffer.meta::<VideoRegionOfInterestMeta>().unwrap();
            assert_eq!((roi.id(), roi.parent_id()), (3, 7));
            let s = roi.param(DETECTION_STRUCTURE).unwrap();
            assert_eq!(s.get::<&str>("model_name").unwrap(), "plates");
            assert_eq!(s.get::<&str>("element").unwrap(), "infer1");
            assert_eq!(s.get::<&str>("label").unwrap(), "plate");
            roi.params().map(|p| p.to_owned()).collect()
        };
        // A tracker rewrites it with a new box: the source stays, the box is the new one.
        let mut moved = d;
        moved.x = 100.0;
        moved.track_id = Some(5);
        let mut out = gst::Buffer::with_size(16).unwrap();
        write_roi(
            out.get_mut().unwrap(),
            &moved,
            320,
            240,
            0,
            -1,
            params.iter().map(|p| p.as_ref()),
        );
        let roi = out.meta::<VideoRegionOfInterestMeta>().unwrap();
        let s = roi.param(DETECTION_STRUCTURE).unwrap();
        assert_eq!(s.get::<&str>("model_name").unwrap(), "plates");
        assert!((s.get::<f64>("x_min").unwrap() - 100.0 / 320.0).abs() < 1e-9);
        assert_eq!(
            roi.params()
                .filter(|p| p.name() == DETECTION_STRUCTURE)
                .count(),
            1
        );
    }

    #[test]
    fn read_round_trips_and_reads_foreign_metas() {
        init();
        let mut buffer = gst::Buffer::with_size(16).unwrap();
        let mut d = det(30.0, 40.0, 60.0, 80.0, "dog");
        d.track_id = Some(42);
        attach(buffer.get_mut().unwrap(), &[d.clone()], 320, 240, 0);
        {
            // A foreign ROI without params (e.g. from facedetect).
            let b = buffer.get_mut().unwrap();
            VideoRegionOfInterestMeta::add(b, "face", (1, 2, 3, 4));
        }
        let back = read(&buffer, 320, 240);
        assert_eq!(back.len(), 2);
        assert!((back[0].x - 30.0).abs() < 1e-9 && (back[0].height - 80.0).abs() < 1e-9);
        assert_eq!(back[0].track_id, Some(42));
        assert_eq!(back[0].label, "dog");
        assert_eq!(back[1].label, "face");
        assert_eq!(back[1].label_id, -1);
        assert_eq!((back[1].x, back[1].width), (1.0, 3.0));

        remove_all(buffer.get_mut().unwrap());
        assert_eq!(
            count(&buffer),
            1,
            "only the foreign meta without a detection remains"
        );
    }

    #[test]
    fn reads_dl_streamer_object_id_and_writes_both_id_structures() {
        init();
        let mut buffer = gst::Buffer::with_size(16).unwrap();
        {
            // As gvatrack writes it: `detection` plus a separate `object_id` structure.
            let b = buffer.get_mut().unwrap();
            let mut meta = VideoRegionOfInterestMeta::add(b, "person", (10, 10, 20, 40));
            meta.add_param(detection_structure(
                &det(10.0, 10.0, 20.0, 40.0, "person"),
                100,
                100,
            ));
            meta.add_param(
                gst::Structure::builder("object_id")
                    .field("id", 77i32)
                    .build(),
            );
        }
        assert_eq!(read(&buffer, 100, 100)[0].track_id, Some(77));

        let mut tracked = det(1.0, 2.0, 3.0, 4.0, "car");
        tracked.track_id = Some(5);
        tracked.tracking = Some(TrackInfo {
            predicted: true,
            frames_ago: 2,
            lost: false,
            hits: 9,
            first_seen: Some(1_000),
            velocity: (3.0, -4.0),
            centre: Some((2.5, 4.0)),
        });
        let extra = gst::Structure::builder("color")
            .field("label", "red")
            .build();
        let stale = gst::Structure::builder("tracking")
            .field("id", 1u64)
            .build();
        let mut b2 = gst::Buffer::with_size(16).unwrap();
        write_roi(
            b2.get_mut().unwrap(),
            &tracked,
            100,
            100,
            4,
            -1,
            [extra.as_ref(), stale.as_ref()],
        );
        let metas: Vec<_> = b2.iter_meta::<VideoRegionOfInterestMeta>().collect();
        let names: Vec<String> = metas[0].params().map(|p| p.name().to_string()).collect();
        assert_eq!(names, ["detection", "color", "tracking", "object_id"]);
        assert_eq!(
            metas[0]
                .param("object_id")
                .unwrap()
                .get::<i32>("id")
                .unwrap(),
            5
        );
        assert_eq!(metas[0].id(), 4);
        let back = read(&b2, 100, 100);
        assert_eq!(back[0].track_id, Some(5));
        assert_eq!(back[0].tracking, tracked.tracking);
    }

    #[test]
    fn pixel_rect_is_clipped_to_the_frame() {
        let d = det(-10.0, 470.0, 700.0, 30.0, "x");
        assert_eq!(d.pixel_rect(640, 480), (0, 470, 640, 10));
        let z = det(700.0, 500.0, 10.0, 10.0, "x");
        assert_eq!(z.pixel_rect(640, 480), (640, 480, 0, 0));
    }
}
