//! Plane geometry of zones, lines and directions: point in polygon, the side of a line, path
//! crossings, box anchors, rescaling to the frame and validation.
//!
//! Conventions (all tested in `geometry_tests.rs`):
//! - Image coordinates: x to the right, y **down**.
//! - [`contains`]: even-odd rule over the outline and its holes, so concave outlines and any
//!   winding work. Points **on** an edge of the outline or of a hole (within [`EPS`]) count as
//!   inside the zone, also for an inverse zone (the boundary belongs to both sides).
//! - [`side`]: signed distance to the infinite line through `a` and `b`, positive on the
//!   `in` side. Without `in_direction`, `in` is the right of `a -> b` as seen on screen
//!   (y down): for `a = (0,0)`, `b = (10,0)`, the point `(5,3)` (below the line) is in. With
//!   `in_direction`, `in` is the side that vector points to.
//! - [`crosses`]: half-open sides: a point exactly on the line counts as the out side, so a
//!   path that touches the line and goes back does not cross, and one that stops on the line
//!   and goes on crosses exactly once (on the step that leaves the line).

use super::{Anchor, Coordinates, Direction, Geometry, Line, Point, Zone};

/// Distance under which a point is on an edge or a line (in the geometry's units).
pub const EPS: f64 = 1e-9;

fn sub(a: Point, b: Point) -> Point {
    Point {
        x: a.x - b.x,
        y: a.y - b.y,
    }
}

fn dot(a: Point, b: Point) -> f64 {
    a.x * b.x + a.y * b.y
}

/// `a.x * b.y - a.y * b.x`: positive when `b` points to the right of `a` on screen (y down).
fn cross(a: Point, b: Point) -> f64 {
    a.x * b.y - a.y * b.x
}

fn norm(a: Point) -> f64 {
    a.x.hypot(a.y)
}

/// The point of a box `(x, y, w, h)` (top-left corner and size) that `anchor` names.
pub fn anchor_point(anchor: Anchor, x: f64, y: f64, w: f64, h: f64) -> Point {
    let (fx, fy) = match anchor {
        Anchor::BottomCentre => (0.5, 1.0),
        Anchor::Centre => (0.5, 0.5),
        Anchor::TopLeft => (0.0, 0.0),
        Anchor::TopRight => (1.0, 0.0),
        Anchor::BottomLeft => (0.0, 1.0),
        Anchor::BottomRight => (1.0, 1.0),
        Anchor::TopCentre => (0.5, 0.0),
    };
    Point {
        x: x + fx * w,
        y: y + fy * h,
    }
}

/// Distance from `p` to the segment `a`-`b`.
pub fn distance_to_segment(a: Point, b: Point, p: Point) -> f64 {
    let d = sub(b, a);
    let len2 = dot(d, d);
    let t = if len2 > 0.0 {
        (dot(sub(p, a), d) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    norm(sub(
        p,
        Point {
            x: a.x + t * d.x,
            y: a.y + t * d.y,
        },
    ))
}

/// Whether `p` lies on an edge of the closed `polygon` (within [`EPS`]).
pub fn on_polygon_boundary(polygon: &[Point], p: Point) -> bool {
    let n = polygon.len();
    (0..n).any(|i| distance_to_segment(polygon[i], polygon[(i + 1) % n], p) <= EPS)
}

/// Even-odd point in polygon, strict: `false` on the boundary is not guaranteed, test
/// [`on_polygon_boundary`] first where it matters. Concave polygons and any winding work.
pub fn in_polygon(polygon: &[Point], p: Point) -> bool {
    let n = polygon.len();
    let mut inside = false;
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let (pi, pj) = (polygon[i], polygon[j]);
        // Half-open rule on y: an edge counts when it straddles the horizontal through p,
        // so a vertex exactly at p.y is counted once.
        if (pi.y > p.y) != (pj.y > p.y) {
            let x_at = pj.x + (p.y - pj.y) * (pi.x - pj.x) / (pi.y - pj.y);
            if p.x < x_at {
                inside = !inside;
            }
        }
        j = i;
    }
    inside
}

/// Signed area of a closed polygon (shoelace): positive when clockwise on screen (y down).
pub fn polygon_area(polygon: &[Point]) -> f64 {
    let n = polygon.len();
    (0..n)
        .map(|i| cross(polygon[i], polygon[(i + 1) % n]))
        .sum::<f64>()
        / 2.0
}

/// Whether `p` is in the zone: inside the outline and not inside a hole, negated for an
/// inverse zone. Points on the outline or a hole's edge are inside (inverse or not).
pub fn contains(zone: &Zone, p: Point) -> bool {
    if on_polygon_boundary(&zone.outline, p) || zone.holes.iter().any(|h| on_polygon_boundary(h, p))
    {
        return true;
    }
    let inside = in_polygon(&zone.outline, p) && !zone.holes.iter().any(|h| in_polygon(h, p));
    inside != zone.inverse
}

/// The unit normal of the line pointing to its `in` side (see the module doc).
pub fn in_normal(line: &Line) -> Point {
    let d = sub(line.b, line.a);
    let len = norm(d);
    if len == 0.0 {
        return Point::default();
    }
    // The right of a -> b on screen (y down) is (-dy, dx).
    let right = Point {
        x: -d.y / len,
        y: d.x / len,
    };
    match line.in_direction {
        Some(v) if cross(d, v) < 0.0 => Point {
            x: -right.x,
            y: -right.y,
        },
        _ => right,
    }
}

/// Signed distance from `p` to the infinite line through `a` and `b`, positive on the `in`
/// side (the right of `a -> b` on screen, or where `in_direction` points). An
/// `in_direction` parallel to the line (refused by [`validate`]) falls back to the right.
pub fn side(line: &Line, p: Point) -> f64 {
    dot(sub(p, line.a), in_normal(line))
}

/// Whether the projection of `p` on the line falls on the segment `a`-`b` (ends included);
/// always true for an extended line.
pub fn within(line: &Line, p: Point) -> bool {
    if line.extended {
        return true;
    }
    let d = sub(line.b, line.a);
    let len2 = dot(d, d);
    if len2 == 0.0 {
        return false;
    }
    let t = dot(sub(p, line.a), d) / len2;
    let slack = EPS / len2.sqrt();
    (-slack..=1.0 + slack).contains(&t)
}

/// Whether the straight path `from -> to` crosses the segment (the infinite line when
/// extended): the two ends are on different half-open sides (on the line is out, see the
/// module doc) and the point where the path meets the line is [`within`] it. Colinear and
/// touching paths do not cross.
pub fn crosses(line: &Line, from: Point, to: Point) -> bool {
    let (s0, s1) = (side(line, from), side(line, to));
    if (s0 > 0.0) == (s1 > 0.0) {
        return false;
    }
    let u = s0 / (s0 - s1);
    let meet = Point {
        x: from.x + u * (to.x - from.x),
        y: from.y + u * (to.y - from.y),
    };
    within(line, meet)
}

/// Whether the segments `p1`-`p2` and `q1`-`q2` intersect (touching and colinear overlap
/// included).
pub fn segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool {
    let d1 = cross(sub(q2, q1), sub(p1, q1));
    let d2 = cross(sub(q2, q1), sub(p2, q1));
    let d3 = cross(sub(p2, p1), sub(q1, p1));
    let d4 = cross(sub(p2, p1), sub(q2, p1));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    distance_to_segment(q1, q2, p1) <= EPS
        || distance_to_segment(q1, q2, p2) <= EPS
        || distance_to_segment(p1, p2, q1) <= EPS
        || distance_to_segment(p1, p2, q2) <= EPS
}

/// Angle in degrees (0..=180) between a motion `from -> to` and the direction's vector;
/// `None` when the motion has zero length.
pub fn direction_angle_deg(direction: &Direction, from: Point, to: Point) -> Option<f64> {
    let m = sub(to, from);
    let d = sub(direction.to, direction.from);
    let (nm, nd) = (norm(m), norm(d));
    if nm == 0.0 || nd == 0.0 {
        return None;
    }
    Some((dot(m, d) / (nm * nd)).clamp(-1.0, 1.0).acos().to_degrees())
}

/// Whether the motion `from -> to` is within `tolerance_deg` of the direction (inclusive).
pub fn moves_along(direction: &Direction, from: Point, to: Point) -> bool {
    direction_angle_deg(direction, from, to).is_some_and(|a| a <= direction.tolerance_deg)
}

/// The geometry rescaled to frame pixels of a `width` x `height` frame
/// (`Coordinates::Pixels { width, height }`). Points and `in_direction` vectors scale by
/// `width / reference width` and `height / reference height` (for normalised coordinates:
/// by `width` and `height`); `min_distance` scales by the geometric mean of the two factors;
/// direction tolerances are kept as they are.
pub fn to_frame(geometry: &Geometry, width: f64, height: f64) -> Geometry {
    let (sx, sy) = match geometry.coordinates {
        Coordinates::Pixels {
            width: rw,
            height: rh,
        } => (width / rw, height / rh),
        Coordinates::Normalised => (width, height),
    };
    let s = |p: Point| Point {
        x: p.x * sx,
        y: p.y * sy,
    };
    let sd = (sx * sy).sqrt();
    let mut out = geometry.clone();
    out.coordinates = Coordinates::Pixels { width, height };
    for z in &mut out.zones {
        z.outline.iter_mut().for_each(|p| *p = s(*p));
        for h in &mut z.holes {
            h.iter_mut().for_each(|p| *p = s(*p));
        }
    }
    for l in &mut out.lines {
        l.a = s(l.a);
        l.b = s(l.b);
        l.in_direction = l.in_direction.map(s);
        l.min_distance = l.min_distance.map(|d| d * sd);
    }
    for d in &mut out.directions {
        d.from = s(d.from);
        d.to = s(d.to);
    }
    out
}

/// Whether `name` is usable as a zone, line or direction name: not empty, letters, digits,
/// `-` and `_` only (names end up in structure field names like `line-<name>-in` and in
/// the property syntax, whose separators are `:`, `;` and `|`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

fn check_name(kind: &str, name: &str, seen: &mut Vec<String>) -> Result<(), String> {
    if !valid_name(name) {
        return Err(format!(
            "{kind} name {name:?}: use letters, digits, '-' and '_' only (and not empty)"
        ));
    }
    if seen.iter().any(|n| n == name) {
        return Err(format!("{kind} {name:?} is defined twice"));
    }
    seen.push(name.to_string());
    Ok(())
}

fn check_point(what: &str, p: Point) -> Result<(), String> {
    if p.x.is_finite() && p.y.is_finite() {
        Ok(())
    } else {
        Err(format!(
            "{what}: coordinate is not a finite number ({}, {})",
            p.x, p.y
        ))
    }
}

fn check_polygon(what: &str, polygon: &[Point]) -> Result<(), String> {
    if polygon.len() < 3 {
        return Err(format!(
            "{what}: {} point(s), a polygon needs at least 3",
            polygon.len()
        ));
    }
    for p in polygon {
        check_point(what, *p)?;
    }
    if polygon_area(polygon).abs() <= EPS {
        return Err(format!("{what}: zero area (all points on one line)"));
    }
    Ok(())
}

fn check_classes(what: &str, classes: &[String]) -> Result<(), String> {
    match classes
        .iter()
        .find(|c| c.trim().is_empty() || c.trim() != c.as_str())
    {
        Some(c) => Err(format!("{what}: empty or padded class name {c:?}")),
        None => Ok(()),
    }
}

/// Checks a geometry and says what is wrong with the first problem found: reference size,
/// names (valid, not repeated within zones, lines or directions), polygons (at least 3
/// finite points, non-zero area, holes with every vertex inside or on the outline), lines
/// (finite, non-zero length, `in_direction` non-zero and not parallel to the line,
/// `min_distance` finite and >= 0) and directions (finite, non-zero length, tolerance in
/// 0..=180 degrees).
pub fn validate(geometry: &Geometry) -> Result<(), String> {
    if let Coordinates::Pixels { width, height } = geometry.coordinates {
        if !(width.is_finite() && height.is_finite() && width > 0.0 && height > 0.0) {
            return Err(format!(
                "reference size {width}x{height}: width and height must be positive"
            ));
        }
    }
    let mut seen = Vec::new();
    for z in &geometry.zones {
        check_name("zone", &z.name, &mut seen)?;
        let what = format!("zone {}", z.name);
        check_polygon(&what, &z.outline)?;
        for (i, h) in z.holes.iter().enumerate() {
            let hw = format!("{what}, hole {}", i + 1);
            check_polygon(&hw, h)?;
            if let Some(p) = h
                .iter()
                .find(|p| !in_polygon(&z.outline, **p) && !on_polygon_boundary(&z.outline, **p))
            {
                return Err(format!(
                    "{hw}: point ({}, {}) is outside the outline",
                    p.x, p.y
                ));
            }
        }
        check_classes(&what, &z.classes)?;
    }
    seen.clear();
    for l in &geometry.lines {
        check_name("line", &l.name, &mut seen)?;
        let what = format!("line {}", l.name);
        check_point(&what, l.a)?;
        check_point(&what, l.b)?;
        let d = sub(l.b, l.a);
        if norm(d) <= EPS {
            return Err(format!(
                "{what}: zero length (both ends at ({}, {}))",
                l.a.x, l.a.y
            ));
        }
        if let Some(v) = l.in_direction {
            check_point(&format!("{what}, in direction"), v)?;
            if norm(v) <= EPS {
                return Err(format!("{what}: the in direction has zero length"));
            }
            if cross(d, v).abs() <= EPS * norm(d) * norm(v) {
                return Err(format!(
                    "{what}: the in direction ({}, {}) is parallel to the line, it must point to one side",
                    v.x, v.y
                ));
            }
        }
        if let Some(m) = l.min_distance {
            if !(m.is_finite() && m >= 0.0) {
                return Err(format!("{what}: min-distance {m} must be a number >= 0"));
            }
        }
        check_classes(&what, &l.classes)?;
    }
    seen.clear();
    for d in &geometry.directions {
        check_name("direction", &d.name, &mut seen)?;
        let what = format!("direction {}", d.name);
        check_point(&what, d.from)?;
        check_point(&what, d.to)?;
        if norm(sub(d.to, d.from)) <= EPS {
            return Err(format!("{what}: zero length"));
        }
        if !(d.tolerance_deg.is_finite() && d.tolerance_deg > 0.0 && d.tolerance_deg <= 180.0) {
            return Err(format!(
                "{what}: tolerance {} must be in 0..=180 degrees (and not 0)",
                d.tolerance_deg
            ));
        }
        check_classes(&what, &d.classes)?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "geometry_tests.rs"]
mod tests;
