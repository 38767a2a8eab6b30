//! Between a buffer's region metas and the tracker: which metas are the objects to track,
//! and how the tracker's output goes back onto the buffer.
//!
//! Objects are the top-level region metas (a meta whose `parent_id` names another meta on
//! the buffer is a secondary result of that object, e.g. a face inside a person, and follows
//! its parent). On a frame where the detector did not run (see
//! [`crate::detection::frame`]), the top-level metas with a `detection` structure are the
//! detector's stale copies: they are replaced by the tracks' predicted boxes.
//!
//! Writing back keeps each tracked object's meta in place (its params untouched, `tracking`
//! and `object_id` added) unless its label must change (the track's voted label) or it
//! already carries tracking structures; then it is rewritten with its params copied. Metas
//! not kept (detections that are not, or not yet, a confirmed track, unless
//! `keep_untracked`) are removed with their children. Every meta is then numbered from 0 in
//! buffer order (`id`), children's `parent_id` following.

use std::collections::HashMap;
use std::ops::ControlFlow::Continue;

use gst::buffer::BufferMetaForeachAction;
use gst_video::VideoRegionOfInterestMeta;

use crate::detection::{self, Detection, TrackInfo};
use crate::tracker::{Output, TrackedObject};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A top-level object given to the tracker (index into `Rois::detections`).
    Object(usize),
    /// A top-level detector copy on a frame without fresh detections.
    Stale,
    /// Something the tracker leaves alone (a bare region on a frame of a detector that
    /// did not run).
    Other,
    /// A child of the meta with this id.
    Child(i32),
}

/// The region metas of one frame, as read before tracking.
#[derive(Debug, Default)]
pub struct Rois {
    /// The objects to track, in meta order.
    pub detections: Vec<Detection>,
    kinds: Vec<Kind>,
    ids: Vec<i32>,
    /// Whether an object's meta already carries `tracking` or `object_id`.
    has_tracking: Vec<bool>,
}

/// Reads `buffer`'s region metas; `fresh` says whether a detector ran on this frame.
pub fn read(buffer: &gst::BufferRef, width: u32, height: u32, fresh: bool) -> Rois {
    let metas: Vec<_> = buffer.iter_meta::<VideoRegionOfInterestMeta>().collect();
    let ids: Vec<i32> = metas.iter().map(|m| m.id()).collect();
    let id_set: std::collections::HashSet<i32> = ids.iter().copied().collect();
    let mut rois = Rois {
        ids: ids.clone(),
        ..Rois::default()
    };
    for m in &metas {
        let pid = m.parent_id();
        let is_child = pid >= 0 && pid != m.id() && id_set.contains(&pid);
        let kind = if is_child {
            Kind::Child(pid)
        } else if fresh {
            let mut det = detection::from_meta(m, width, height);
            if m.param(detection::DETECTION_STRUCTURE).is_none() {
                // A bare region (e.g. facedetect's) has no score: its detector is sure.
                det.confidence = 1.0;
            }
            rois.detections.push(det);
            rois.has_tracking.push(
                m.param(detection::TRACKING_STRUCTURE).is_some()
                    || m.param(detection::OBJECT_ID_STRUCTURE).is_some(),
            );
            Kind::Object(rois.detections.len() - 1)
        } else if m.param(detection::DETECTION_STRUCTURE).is_some() {
            Kind::Stale
        } else {
            Kind::Other
        };
        rois.kinds.push(kind);
    }
    rois
}

/// What the tracker says about a tracked object, for its `tracking` structure.
fn track_info(o: &TrackedObject) -> TrackInfo {
    TrackInfo {
        predicted: o.predicted,
        frames_ago: o.frames_ago,
        lost: o.lost,
        hits: o.hits,
        first_seen: Some(o.first_seen),
        velocity: o.velocity,
        centre: Some((
            (o.filtered.x1 + o.filtered.x2) / 2.0,
            (o.filtered.y1 + o.filtered.y2) / 2.0,
        )),
    }
}

/// The detection of a tracked object as it goes on the buffer.
pub fn tracked_detection(o: &TrackedObject) -> Detection {
    Detection {
        x: o.bbox.x1,
        y: o.bbox.y1,
        width: o.bbox.width(),
        height: o.bbox.height(),
        confidence: o.confidence,
        label_id: o.label_id,
        label: o.label.to_string(),
        track_id: Some(o.id),
        tracking: Some(track_info(o)),
        attributes: Vec::new(),
    }
}

/// Writes the tracker's `output` for this frame onto `buffer` (read into `rois` before).
/// Returns how many tracked objects it carries.
pub fn write(
    buffer: &mut gst::BufferRef,
    rois: &Rois,
    output: &Output,
    width: u32,
    height: u32,
    keep_untracked: bool,
) -> usize {
    // Which track each object (detection index) became.
    let mut track_of: Vec<Option<&TrackedObject>> = vec![None; rois.detections.len()];
    for o in &output.objects {
        if let Some(d) = o.detection {
            if d < track_of.len() {
                track_of[d] = Some(o);
            }
        }
    }
    // Which metas go: objects that are not a confirmed track (unless kept), stale copies,
    // and (transitively) the children of what goes.
    let n = rois.kinds.len();
    let mut removed: Vec<bool> = rois
        .kinds
        .iter()
        .map(|kind| match *kind {
            Kind::Object(d) => track_of[d].is_none() && !keep_untracked,
            Kind::Stale => true,
            _ => false,
        })
        .collect();
    let parent_index = |pid: i32| rois.ids.iter().position(|&id| id == pid);
    loop {
        let mut changed = false;
        for i in 0..n {
            if let Kind::Child(p) = rois.kinds[i] {
                if !removed[i] && parent_index(p).is_some_and(|pi| removed[pi]) {
                    removed[i] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }

    let mut rewrite: Vec<(Detection, Vec<gst::Structure>, i32)> = Vec::new();
    let mut new_id: HashMap<i32, i32> = HashMap::new();
    // Per kept meta, in order: the old parent id of a child.
    let mut children: Vec<Option<i32>> = Vec::new();
    let mut next = 0i32;
    let mut k = 0usize;
    buffer.foreach_meta_mut(|mut meta| {
        let Some(roi) = meta.downcast_mut::<VideoRegionOfInterestMeta>() else {
            return Continue(BufferMetaForeachAction::Keep);
        };
        let i = k;
        k += 1;
        let (Some(kind), Some(&old_id)) = (rois.kinds.get(i), rois.ids.get(i)) else {
            return Continue(BufferMetaForeachAction::Keep);
        };
        if removed[i] {
            return Continue(BufferMetaForeachAction::Remove);
        }
        if let Kind::Object(d) = *kind {
            if let Some(o) = track_of[d] {
                let label_changed = *o.label != *rois.detections[d].label
                    || o.label_id != rois.detections[d].label_id;
                if label_changed || rois.has_tracking[d] {
                    let params: Vec<gst::Structure> = roi.params().map(|p| p.to_owned()).collect();
                    let mut det = tracked_detection(o);
                    // Keep the detector's own box (exactly as it was).
                    det.x = rois.detections[d].x;
                    det.y = rois.detections[d].y;
                    det.width = rois.detections[d].width;
                    det.height = rois.detections[d].height;
                    rewrite.push((det, params, old_id));
                    return Continue(BufferMetaForeachAction::Remove);
                }
                roi.add_param(detection::tracking::tracking_structure(
                    o.id,
                    Some(&track_info(o)),
                ));
                if let Some(oid) = detection::tracking::object_id_structure(o.id) {
                    roi.add_param(oid);
                }
            }
        }
        new_id.entry(old_id).or_insert(next);
        children.push(match *kind {
            Kind::Child(p) => Some(p),
            _ => None,
        });
        roi.set_id(next);
        next += 1;
        Continue(BufferMetaForeachAction::Keep)
    });
    for (det, params, old_id) in &rewrite {
        new_id.entry(*old_id).or_insert(next);
        detection::write_roi(
            buffer,
            det,
            width,
            height,
            next,
            -1,
            params.iter().map(|p| p.as_ref()),
        );
        next += 1;
    }
    // Children follow their parents' new ids (the kept metas come first, in order).
    let mut j = 0usize;
    buffer.foreach_meta_mut(|mut meta| {
        if let Some(roi) = meta.downcast_mut::<VideoRegionOfInterestMeta>() {
            if let Some(Some(pid)) = children.get(j) {
                if let Some(&n) = new_id.get(pid) {
                    roi.set_parent_id(n);
                }
            }
            j += 1;
        }
        Continue(BufferMetaForeachAction::Keep)
    });
    let mut tracked = 0;
    for o in &output.objects {
        if o.detection.is_some() {
            tracked += 1;
            continue;
        }
        let det = tracked_detection(o);
        detection::write_roi(buffer, &det, width, height, next, -1, std::iter::empty());
        next += 1;
        tracked += 1;
    }
    tracked
}
