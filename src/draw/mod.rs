//! Drawing detections on video frames, in place, in the formats rsinfer reads (rsoverlay's
//! logic, with no GStreamer types).
//!
//! - [`canvas`]: clipped primitives (rectangles, shapes, glyph masks, pixelation) on I420,
//!   NV12 and packed RGB frames, with colours converted once to the frame's Y'CbCr.
//! - [`shape`]: pixel sets as spans: unions of rectangles, thick polylines.
//! - [`text`]: the embedded font and a per-size glyph cache.
//! - [`style`]: palette, user colours, class filters, predicted-box style, label text.
//! - [`trails`]: the recent box centres per track id.
//!
//! - [`analytics`]: zones, lines and dwell timers of `rsanalytics`.
//!
//! [`Renderer::draw_scene`] lays out one frame: pixelation of `blur-classes` first, then the
//! zones and lines, then the trails, then every box outline, then the zone and line labels,
//! then every object label (so labels are never covered by another object's box), then the
//! dwell timers, then the statistics line.
//!
//! Geometry: a detection's box covers pixels `[round(x), round(x + width))` by
//! `[round(y), round(y + height))`; the outline is drawn inside that rectangle. The label's
//! background sits on top of the box (its bottom row is the row above the box), starting at
//! the box's left edge and shifted left to stay inside the frame; when there is no room
//! above, it goes inside the box at its top. Boxes with no area draw nothing.
//!
//! A dashed outline ([`dashed_outline_rects`]) is the solid one with gaps: along each side,
//! measured from the nearer end of that side (its corner), offsets `k` with
//! `k mod (dash + gap) < dash` are drawn ([`dash_pattern`]), so every corner is drawn and the
//! pattern meets itself in the middle of the side.

pub mod analytics;
pub mod canvas;
pub mod shape;
pub mod style;
pub mod text;
pub mod trails;

use std::collections::HashMap;
use std::sync::Arc;

pub use analytics::{AnalyticsStyle, AnalyticsView};
pub use canvas::{Canvas, Paint, Rect};
pub use shape::{Shape, Span};
pub use style::{is_predicted, ClassSet, ColorMap, PredictedStyle, Style, PALETTE};
pub use text::{embedded_font, load_font, Font, GlyphCache};
pub use trails::{Trail, TrailStore};

use crate::detection::Detection;
use crate::preprocess::Colorimetry;

/// Colour of the statistics line's background.
const STATS_BACKGROUND: [u8; 3] = [0x20, 0x20, 0x20];

/// Pixel rectangle of a detection (see the module doc), saturated far outside any frame.
pub fn box_rect(det: &Detection) -> Rect {
    const LIMIT: f64 = 1.0e7;
    let p = |v: f64| {
        if v.is_nan() {
            0
        } else {
            v.round().clamp(-LIMIT, LIMIT) as i32
        }
    };
    Rect::new(
        p(det.x),
        p(det.y),
        p(det.x + det.width),
        p(det.y + det.height),
    )
}

/// The four outline rectangles of `b` with thickness `lw`, not overlapping each other.
pub fn outline_rects(b: Rect, lw: i32) -> [Rect; 4] {
    let top = Rect::new(b.x0, b.y0, b.x1, (b.y0 + lw).min(b.y1));
    let bottom = Rect::new(b.x0, (b.y1 - lw).max(top.y1), b.x1, b.y1);
    let left = Rect::new(b.x0, top.y1, (b.x0 + lw).min(b.x1), bottom.y0);
    let right = Rect::new((b.x1 - lw).max(left.x1), top.y1, b.x1, bottom.y0);
    [top, bottom, left, right]
}

/// Dash and gap lengths of a dashed outline of width `lw`: `(max(4, 3 lw), max(3, 2 lw))`.
pub fn dash_pattern(lw: i32) -> (i32, i32) {
    let lw = lw.clamp(0, 1 << 16);
    ((3 * lw).max(4), (2 * lw).max(3))
}

/// The drawn offsets of a side of `n` pixels (see the module doc), as runs `[a, b)`, only
/// those meeting `[lo, hi)`.
pub fn dash_runs(n: i32, dash: i32, gap: i32, lo: i32, hi: i32) -> Vec<(i32, i32)> {
    let (lo, hi) = (lo.max(0), hi.min(n));
    let period = i64::from(dash.max(1)) + i64::from(gap.max(0));
    let dash = i64::from(dash.max(1));
    let mut runs = Vec::new();
    if lo >= hi {
        return runs;
    }
    let (n, lo, hi) = (i64::from(n), i64::from(lo), i64::from(hi));
    // Offsets below `half` are measured from the start, the others from the end.
    let half = (n + 1) / 2;
    let mut push = |a: i64, b: i64| {
        let (a, b) = (a.max(lo), b.min(hi));
        if a < b {
            runs.push((a as i32, b as i32));
        }
    };
    // From the start: runs [m p, m p + dash) within [0, half) that can meet [lo, hi).
    let mut m = (lo - dash).max(0) / period;
    while m * period < half.min(hi) {
        push(m * period, (m * period + dash).min(half));
        m += 1;
    }
    // From the end: distance d = n - 1 - k; runs of d [m p, m p + dash) within [0, n - half),
    // visible when d meets (n - 1 - hi, n - 1 - lo].
    let (dlo, dhi) = (n - hi, n - lo);
    let mut m = (dlo - dash).max(0) / period;
    let mut from_end = Vec::new();
    while m * period < (n - half).min(dhi) {
        let (d0, d1) = (m * period, (m * period + dash).min(n - half));
        from_end.push((n - d1, n - d0));
        m += 1;
    }
    for (a, b) in from_end.into_iter().rev() {
        push(a, b);
    }
    runs
}

/// The rectangles of a dashed outline of `b` with thickness `lw`, not overlapping each
/// other, only those meeting `visible` (the frame): a subset of [`outline_rects`].
pub fn dashed_outline_rects(b: Rect, lw: i32, visible: Rect) -> Vec<Rect> {
    let (dash, gap) = dash_pattern(lw);
    let [top, bottom, left, right] = outline_rects(b, lw);
    let mut out = Vec::new();
    for r in [top, bottom] {
        let v = r.intersect(&visible);
        if v.is_empty() {
            continue;
        }
        for (a, e) in dash_runs(b.width(), dash, gap, v.x0 - b.x0, v.x1 - b.x0) {
            out.push(Rect::new(b.x0 + a, r.y0, b.x0 + e, r.y1));
        }
    }
    for r in [left, right] {
        let v = r.intersect(&visible);
        if v.is_empty() {
            continue;
        }
        for (a, e) in dash_runs(b.height(), dash, gap, v.y0 - b.y0, v.y1 - b.y0) {
            out.push(Rect::new(r.x0, b.y0 + a, r.x1, b.y0 + e));
        }
    }
    out
}

/// What [`Renderer::draw_scene`] draws on one frame.
pub struct Scene<'a> {
    pub detections: &'a [Detection],
    /// Trails to draw (`show-trails`).
    pub trails: Option<&'a TrailStore>,
    /// One line of text for the top-left corner.
    pub stats: Option<&'a str>,
    /// Zones, lines and dwell timers ([`analytics`]).
    pub analytics: Option<&'a AnalyticsView>,
}

/// Padding around label text: (horizontal, vertical) pixels.
fn label_padding(font_size: u32) -> (i32, i32) {
    let s = font_size as i32;
    ((s / 4).max(2), (s / 8).max(1))
}

/// Where a label of `size` (w, h) goes for box `b` in a `frame_w` x `frame_h` frame.
pub fn label_rect(b: Rect, size: (i32, i32), frame_w: i32, frame_h: i32) -> Rect {
    let (w, h) = size;
    let x = b.x0.min(frame_w - w).max(0);
    let y = if b.y0 - h >= 0 {
        b.y0 - h
    } else {
        b.y0.clamp(0, (frame_h - h).max(0))
    };
    Rect::with_size(x, y, w, h)
}

/// Draws detections on frames; keeps the glyph cache and the colours converted to the
/// frame's colorimetry between frames.
pub struct Renderer {
    glyphs: GlyphCache,
    colorimetry: Colorimetry,
    paints: HashMap<[u8; 3], Paint>,
}

impl Renderer {
    pub fn new(font: Arc<Font>, font_size: u32) -> Self {
        Renderer {
            glyphs: GlyphCache::new(font, font_size as f32),
            colorimetry: Colorimetry::default(),
            paints: HashMap::new(),
        }
    }

    /// `rgb` converted for the current colorimetry (once per colour and caps).
    fn paint(&mut self, rgb: [u8; 3]) -> Paint {
        let colorimetry = self.colorimetry;
        *self
            .paints
            .entry(rgb)
            .or_insert_with(|| Paint::new(rgb, colorimetry))
    }

    /// The glyph cache (for tests and statistics).
    pub fn glyphs(&self) -> &GlyphCache {
        &self.glyphs
    }

    fn ensure_size(&mut self, font_size: u32) {
        if self.glyphs.size() != font_size.max(1) as f32 {
            self.glyphs = GlyphCache::new(self.glyphs.font().clone(), font_size as f32);
        }
    }

    /// Size (w, h) of the label background for `text`.
    pub fn label_size(&mut self, text: &str, font_size: u32) -> (i32, i32) {
        self.ensure_size(font_size);
        let (px, py) = label_padding(font_size);
        (
            self.glyphs.measure(text) + 2 * px,
            self.glyphs.line_height() + 2 * py,
        )
    }

    /// Draws a filled label with `text` at `rect` (from [`label_rect`]).
    fn draw_label(
        &mut self,
        canvas: &mut Canvas<'_>,
        rect: Rect,
        text: &str,
        background: [u8; 3],
        font_size: u32,
    ) {
        let (px, py) = label_padding(font_size);
        let bg = self.paint(background);
        canvas.fill_rect(rect, bg);
        let fg = self.paint(style::text_color(background));
        let baseline = rect.y0 + py + self.glyphs.ascent();
        self.glyphs.draw(canvas, rect.x0 + px, baseline, text, fg);
    }

    /// Draws `detections` on `canvas` (a frame of `colorimetry`) in `style`, and `stats`
    /// (one line of text) in the top-left corner when given. Returns how many detections
    /// were drawn.
    pub fn draw(
        &mut self,
        canvas: &mut Canvas<'_>,
        colorimetry: Colorimetry,
        detections: &[Detection],
        style: &Style,
        stats: Option<&str>,
    ) -> usize {
        let scene = Scene {
            detections,
            trails: None,
            stats,
            analytics: None,
        };
        self.draw_scene(canvas, colorimetry, &scene, style)
    }

    /// Draws `scene` on `canvas` (a frame of `colorimetry`) in `style`. Returns how many
    /// detections were drawn.
    pub fn draw_scene(
        &mut self,
        canvas: &mut Canvas<'_>,
        colorimetry: Colorimetry,
        scene: &Scene<'_>,
        style: &Style,
    ) -> usize {
        self.ensure_size(style.font_size);
        if colorimetry != self.colorimetry {
            self.colorimetry = colorimetry;
            self.paints.clear();
        }
        let (fw, fh) = (canvas.width(), canvas.height());
        let frame = Rect::new(0, 0, fw, fh);
        let detections = scene.detections;

        for det in detections.iter().filter(|d| style.blurs(d)) {
            let b = box_rect(det);
            let block = (b.width().min(b.height()) / 6).max(4);
            canvas.pixelate(b, block as u32);
        }

        if let Some(view) = scene.analytics {
            self.draw_analytics_under(canvas, view, style);
        }

        if let Some(trails) = scene.trails {
            let width = f64::from(style.trail_width());
            for (_, trail) in trails.trails() {
                let path = trail.path(style);
                if path.len() < 2 {
                    continue;
                }
                let shape = Shape::polyline(&path, width, frame);
                if !shape.is_empty() {
                    let paint = self.paint(style.colors.class_color(&trail.label, trail.label_id));
                    canvas.fill_shape(&shape, paint);
                }
            }
        }

        let mut drawn = 0;
        for det in detections.iter().filter(|d| style.draws(d)) {
            let b = box_rect(det);
            if b.is_empty() || b.intersect(&frame).is_empty() {
                continue;
            }
            drawn += 1;
            let (lw, dashed) = style.outline(det);
            let lw = lw.min(1 << 16) as i32;
            if lw == 0 {
                continue;
            }
            let paint = self.paint(style.colors.color(det));
            if dashed {
                let shape = Shape::from_rects(dashed_outline_rects(b, lw, frame), frame);
                canvas.fill_shape(&shape, paint);
            } else {
                for r in outline_rects(b, lw) {
                    canvas.fill_rect(r, paint);
                }
            }
        }

        if let Some(view) = scene.analytics {
            self.draw_analytics_names(canvas, view, style);
        }

        for det in detections.iter().filter(|d| style.draws(d)) {
            let b = box_rect(det);
            if b.is_empty() || b.intersect(&frame).is_empty() {
                continue;
            }
            let Some(text) = style.label_text(det) else {
                continue;
            };
            let size = self.label_size(&text, style.font_size);
            let rect = label_rect(b, size, fw, fh);
            let color = style.colors.color(det);
            self.draw_label(canvas, rect, &text, color, style.font_size);
        }

        if let Some(view) = scene.analytics {
            self.draw_dwell(canvas, view, style);
        }

        if let Some(stats) = scene.stats {
            let size = self.label_size(stats, style.font_size);
            let rect = Rect::with_size(0, 0, size.0, size.1);
            self.draw_label(canvas, rect, stats, STATS_BACKGROUND, style.font_size);
        }
        drawn
    }
}

#[cfg(test)]
mod tests;
