//! What rsoverlay draws of `rsanalytics`' metadata: the zones and lines of every analytics
//! frame meta on the buffer and the dwell timers of the objects' `analytics` structures,
//! as a [`AnalyticsView`] for the renderer.

use gst_video::VideoRegionOfInterestMeta;

use crate::detection::analytics::{self as contract, AnalyticsFrame};
use crate::draw::{AnalyticsStyle, AnalyticsView, Rect};

/// Whether `buffer` has something of the analytics that `style` draws: a zone or line of a
/// frame meta (dwell timers only come with objects, which are drawn anyway).
pub fn has_drawable(buffer: &gst::BufferRef, style: &AnalyticsStyle) -> bool {
    (style.zones || style.lines)
        && contract::analytics_frames(buffer)
            .iter()
            .any(|f| drawable(f, style))
}

fn drawable(f: &AnalyticsFrame, style: &AnalyticsStyle) -> bool {
    (style.zones && !f.shapes.zones.is_empty()) || (style.lines && !f.shapes.lines.is_empty())
}

/// The analytics view of `buffer` (a `width` x `height` frame), or `None` when nothing of
/// it is drawn.
pub fn read(
    buffer: &gst::BufferRef,
    width: u32,
    height: u32,
    style: &AnalyticsStyle,
) -> Option<AnalyticsView> {
    if !(style.zones || style.lines || style.dwell) {
        return None;
    }
    let frames = contract::analytics_frames(buffer);
    let mut view = AnalyticsView::from_frames(&frames, width, height);
    if style.dwell {
        for roi in buffer.iter_meta::<VideoRegionOfInterestMeta>() {
            let Some(a) = contract::of_roi(&roi) else {
                continue;
            };
            let (x, y, w, h) = roi.rect();
            let rect = Rect::new(
                x as i32,
                y as i32,
                x.saturating_add(w) as i32,
                y.saturating_add(h) as i32,
            );
            view.add_dwell(rect, &a);
        }
    }
    (!view.is_empty()).then_some(view)
}
