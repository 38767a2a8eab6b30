//! Drawing zone and line analytics (what `rsanalytics` put on the frame): zones as outlines,
//! filled translucently while occupied, lines with their `in` side and counts, and dwell
//! timers beside the objects inside zones.
//!
//! - A zone's outline (and its holes') is drawn `line-width` thick in the zone's colour:
//!   `colors` may name the zone (`door:#00ff00`), otherwise the palette colour of a hash of
//!   its name (stable across runs). While it holds objects, its inside (the outside of its
//!   outline for an inverse zone) is blended with that colour at `zone-alpha`; an
//!   overcrowded zone is filled and outlined in red. Its label `door 3` (the count) hangs
//!   from its topmost point, `door 6 overcrowded` on red.
//! - A line is drawn `line-width + 1` thick in its colour, with a short arrow from its
//!   middle towards its `in` side; its label `entrance in 5 out 2` sits by the arrow's tail
//!   on the `out` side.
//! - A dwell timer (`door 3.4s`, `door 12s`, `hall 1:05`, `2:03:09` past an hour) goes under each
//!   object's box for each zone it is in with a known dwell (tracked objects), on dark grey,
//!   on red while loitering.
//!
//! Zones and lines are drawn under the boxes, their labels under the object labels, the
//! dwell timers last, so object labels stay readable.

use super::canvas::{Canvas, Rect};
use super::shape::Shape;
use super::style::Style;
use super::{Renderer, STATS_BACKGROUND};
use crate::detection::analytics::{AnalyticsFrame, ObjectAnalytics};

/// Fill and outline of an overcrowded zone, and background of a loitering timer.
const ALARM: [u8; 3] = [0xe0, 0x10, 0x10];
/// Length of a line's `in` arrow, in font sizes.
const ARROW_FONT_SIZES: f64 = 1.5;

/// What of the analytics is drawn (rsoverlay's `show-zones`, `show-lines`, `show-dwell`,
/// `zone-alpha`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyticsStyle {
    pub zones: bool,
    pub lines: bool,
    pub dwell: bool,
    /// Opacity of an occupied zone's fill, 0..=255.
    pub zone_alpha: u8,
}

impl Default for AnalyticsStyle {
    fn default() -> Self {
        AnalyticsStyle {
            zones: true,
            lines: true,
            dwell: true,
            zone_alpha: 64,
        }
    }
}

/// A zone to draw, in frame pixels.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneView {
    pub name: String,
    pub outline: Vec<(f64, f64)>,
    pub holes: Vec<Vec<(f64, f64)>>,
    pub inverse: bool,
    pub count: u64,
    pub overcrowded: bool,
}

/// A line to draw, in frame pixels.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineView {
    pub name: String,
    pub a: (f64, f64),
    pub b: (f64, f64),
    /// Unit vector to the `in` side.
    pub in_normal: (f64, f64),
    pub in_count: u64,
    pub out_count: u64,
}

/// A dwell timer under an object's box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DwellView {
    pub rect: Rect,
    pub text: String,
    pub loitering: bool,
}

/// Everything of the analytics drawn on one frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalyticsView {
    pub zones: Vec<ZoneView>,
    pub lines: Vec<LineView>,
    pub dwell: Vec<DwellView>,
}

impl AnalyticsView {
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty() && self.lines.is_empty() && self.dwell.is_empty()
    }

    /// The zones and lines of the frame metas of `frames` (one per analytics element), in
    /// pixels of a `width` x `height` frame (rescaled when an element saw another size).
    pub fn from_frames(frames: &[AnalyticsFrame], width: u32, height: u32) -> Self {
        let mut view = AnalyticsView::default();
        for f in frames {
            let (sx, sy) = if f.shapes.width > 0 && f.shapes.height > 0 {
                (
                    f64::from(width) / f64::from(f.shapes.width),
                    f64::from(height) / f64::from(f.shapes.height),
                )
            } else {
                (1.0, 1.0)
            };
            let s = |p: &(f64, f64)| (p.0 * sx, p.1 * sy);
            for (z, shape) in f.zones.iter().zip(&f.shapes.zones) {
                view.zones.push(ZoneView {
                    name: z.name.clone(),
                    outline: shape.outline.iter().map(s).collect(),
                    holes: shape
                        .holes
                        .iter()
                        .map(|h| h.iter().map(s).collect())
                        .collect(),
                    inverse: shape.inverse,
                    count: z.count,
                    overcrowded: z.overcrowded,
                });
            }
            for (l, shape) in f.lines.iter().zip(&f.shapes.lines) {
                let (nx, ny) = (shape.in_normal.0 * sx, shape.in_normal.1 * sy);
                let len = nx.hypot(ny);
                view.lines.push(LineView {
                    name: l.name.clone(),
                    a: s(&shape.a),
                    b: s(&shape.b),
                    in_normal: if len > 0.0 {
                        (nx / len, ny / len)
                    } else {
                        (0.0, 0.0)
                    },
                    in_count: l.in_count,
                    out_count: l.out_count,
                });
            }
        }
        view
    }

    /// Adds the dwell timer of an object with box `rect` and analytics `a`, when it is in a
    /// zone with a known dwell.
    pub fn add_dwell(&mut self, rect: Rect, a: &ObjectAnalytics) {
        let mut parts = Vec::new();
        let mut loitering = false;
        for (i, zone) in a.zones.iter().enumerate() {
            let Some(Some(ms)) = a.dwell_ms.get(i) else {
                continue;
            };
            parts.push(format!("{zone} {}", format_dwell(*ms)));
            loitering |= a.loitering.get(i).copied().unwrap_or(false);
        }
        if !parts.is_empty() {
            self.dwell.push(DwellView {
                rect,
                text: parts.join("  "),
                loitering,
            });
        }
    }
}

/// A dwell time as `3.4s` (under 10 s), `12s`, `1:05` (minutes), `2:03:09` (hours).
pub fn format_dwell(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=9 => format!("{}.{}s", s, ms % 1000 / 100),
        10..=59 => format!("{s}s"),
        60..=3599 => format!("{}:{:02}", s / 60, s % 60),
        _ => format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
    }
}

/// The label of a zone.
pub fn zone_text(z: &ZoneView) -> String {
    if z.overcrowded {
        format!("{} {} overcrowded", z.name, z.count)
    } else {
        format!("{} {}", z.name, z.count)
    }
}

/// The label of a line.
pub fn line_text(l: &LineView) -> String {
    format!("{} in {} out {}", l.name, l.in_count, l.out_count)
}

impl Renderer {
    /// Zones and lines: drawn under the boxes.
    pub(super) fn draw_analytics_under(
        &mut self,
        canvas: &mut Canvas<'_>,
        view: &AnalyticsView,
        style: &Style,
    ) {
        let a = style.analytics;
        let frame = Rect::new(0, 0, canvas.width(), canvas.height());
        let width = f64::from(style.line_width.clamp(1, 1 << 16));
        if a.zones {
            for z in &view.zones {
                let color = if z.overcrowded {
                    ALARM
                } else {
                    style.colors.class_color(&z.name, -1)
                };
                let paint = self.paint(color);
                if z.count > 0 && a.zone_alpha > 0 {
                    let border = [
                        (f64::from(frame.x0), f64::from(frame.y0)),
                        (f64::from(frame.x1), f64::from(frame.y0)),
                        (f64::from(frame.x1), f64::from(frame.y1)),
                        (f64::from(frame.x0), f64::from(frame.y1)),
                    ];
                    let mut rings: Vec<&[(f64, f64)]> = vec![&z.outline];
                    rings.extend(z.holes.iter().map(Vec::as_slice));
                    if z.inverse {
                        rings.push(&border);
                    }
                    let fill = Shape::polygon(&rings, frame);
                    canvas.blend_shape(&fill, paint, a.zone_alpha);
                }
                for ring in std::iter::once(&z.outline).chain(&z.holes) {
                    canvas.fill_shape(&Shape::ring(ring, width, frame), paint);
                }
            }
        }
        if a.lines {
            let arrow = ARROW_FONT_SIZES * f64::from(style.font_size);
            for l in &view.lines {
                let paint = self.paint(style.colors.class_color(&l.name, -1));
                canvas.fill_shape(&Shape::polyline(&[l.a, l.b], width + 1.0, frame), paint);
                let (m, tip) = arrow_points(l, arrow);
                // The shaft, and a head of two strokes at +-30 degrees from it.
                let (nx, ny) = l.in_normal;
                let head = arrow / 3.0;
                let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
                let left = (
                    tip.0 - head * (nx * c - ny * s),
                    tip.1 - head * (ny * c + nx * s),
                );
                let right = (
                    tip.0 - head * (nx * c + ny * s),
                    tip.1 - head * (ny * c - nx * s),
                );
                let shape = Shape::polyline(&[m, tip], width, frame);
                canvas.fill_shape(&shape, paint);
                let shape = Shape::polyline(&[left, tip, right], width, frame);
                canvas.fill_shape(&shape, paint);
            }
        }
    }

    /// Zone and line labels: drawn before the object labels (which stay on top).
    pub(super) fn draw_analytics_names(
        &mut self,
        canvas: &mut Canvas<'_>,
        view: &AnalyticsView,
        style: &Style,
    ) {
        let a = style.analytics;
        let (fw, fh) = (canvas.width(), canvas.height());
        let fs = style.font_size;
        if a.zones {
            for z in &view.zones {
                let Some(&(x, y)) = z.outline.iter().min_by(|p, q| p.1.total_cmp(&q.1)) else {
                    continue;
                };
                let text = zone_text(z);
                let size = self.label_size(&text, fs);
                // Inside the zone, hanging from its topmost point (clear of the lines'
                // labels, which sit beside their middles), kept inside the frame.
                let rect = Rect::with_size(
                    (x.round() as i32).min(fw - size.0).max(0),
                    (y.round() as i32).min(fh - size.1).max(0),
                    size.0,
                    size.1,
                );
                let color = if z.overcrowded {
                    ALARM
                } else {
                    style.colors.class_color(&z.name, -1)
                };
                self.draw_label(canvas, rect, &text, color, fs);
            }
        }
        if a.lines {
            let arrow = ARROW_FONT_SIZES * f64::from(fs);
            for l in &view.lines {
                let text = line_text(l);
                let size = self.label_size(&text, fs);
                let (m, _) = arrow_points(l, arrow);
                // On the `out` side of the middle, clear of the line.
                let (nx, ny) = l.in_normal;
                let (w, h) = (f64::from(size.0), f64::from(size.1));
                let away =
                    f64::from(style.line_width) + 2.0 + nx.abs() * w / 2.0 + ny.abs() * h / 2.0;
                let (cx, cy) = (m.0 - nx * away, m.1 - ny * away);
                let x = (cx - f64::from(size.0) / 2.0).round() as i32;
                let y = (cy - f64::from(size.1) / 2.0).round() as i32;
                let rect = Rect::with_size(
                    x.clamp(0, (fw - size.0).max(0)),
                    y.clamp(0, (fh - size.1).max(0)),
                    size.0,
                    size.1,
                );
                let color = style.colors.class_color(&l.name, -1);
                self.draw_label(canvas, rect, &text, color, fs);
            }
        }
    }

    /// Dwell timers: drawn after the object labels.
    pub(super) fn draw_dwell(
        &mut self,
        canvas: &mut Canvas<'_>,
        view: &AnalyticsView,
        style: &Style,
    ) {
        let (fw, fh) = (canvas.width(), canvas.height());
        let fs = style.font_size;
        if style.analytics.dwell {
            for d in &view.dwell {
                let size = self.label_size(&d.text, fs);
                let below = d.rect.y1 + size.1 <= fh;
                let y = if below {
                    d.rect.y1
                } else {
                    (d.rect.y1 - size.1).max(0)
                };
                let x = d.rect.x0.min(fw - size.0).max(0);
                let rect = Rect::with_size(x, y, size.0, size.1);
                let bg = if d.loitering { ALARM } else { STATS_BACKGROUND };
                self.draw_label(canvas, rect, &d.text, bg, fs);
            }
        }
    }
}

/// The middle of a line and the tip of its `in` arrow of length `len`.
fn arrow_points(l: &LineView, len: f64) -> ((f64, f64), (f64, f64)) {
    let m = ((l.a.0 + l.b.0) / 2.0, (l.a.1 + l.b.1) / 2.0);
    (m, (m.0 + l.in_normal.0 * len, m.1 + l.in_normal.1 * len))
}

#[cfg(test)]
#[path = "analytics_tests.rs"]
mod tests;
