//! Unit tests of `geometry.rs`; expected values are worked out by hand from the figures in
//! the comments, not from the code.

use super::*;
use crate::analytics::CrossingMode;

fn pt(x: f64, y: f64) -> Point {
    Point { x, y }
}

fn pts(v: &[(f64, f64)]) -> Vec<Point> {
    v.iter().map(|&(x, y)| pt(x, y)).collect()
}

fn zone(outline: &[(f64, f64)]) -> Zone {
    Zone {
        name: "z".into(),
        outline: pts(outline),
        holes: Vec::new(),
        inverse: false,
        classes: Vec::new(),
        anchor: Anchor::BottomCentre,
        inertia: 3,
        loiter_ms: None,
        max_objects: None,
    }
}

fn line(a: (f64, f64), b: (f64, f64)) -> Line {
    Line {
        name: "l".into(),
        a: pt(a.0, a.1),
        b: pt(b.0, b.1),
        in_direction: None,
        extended: false,
        mode: CrossingMode::Balanced,
        min_distance: None,
        classes: Vec::new(),
        anchor: Anchor::BottomCentre,
    }
}

fn geometry(zones: Vec<Zone>, lines: Vec<Line>) -> Geometry {
    Geometry {
        coordinates: Coordinates::Pixels {
            width: 100.0,
            height: 100.0,
        },
        zones,
        lines,
        directions: Vec::new(),
        frame_max_objects: None,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn anchors_of_a_box() {
    // Box at (10, 20), 40 wide, 60 high.
    let a = |k| anchor_point(k, 10.0, 20.0, 40.0, 60.0);
    assert_eq!(a(Anchor::BottomCentre), pt(30.0, 80.0));
    assert_eq!(a(Anchor::Centre), pt(30.0, 50.0));
    assert_eq!(a(Anchor::TopLeft), pt(10.0, 20.0));
    assert_eq!(a(Anchor::TopRight), pt(50.0, 20.0));
    assert_eq!(a(Anchor::BottomLeft), pt(10.0, 80.0));
    assert_eq!(a(Anchor::BottomRight), pt(50.0, 80.0));
    assert_eq!(a(Anchor::TopCentre), pt(30.0, 20.0));
}

#[test]
fn square_inside_outside_and_boundary() {
    let z = zone(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]);
    assert!(contains(&z, pt(5.0, 5.0)));
    assert!(!contains(&z, pt(15.0, 5.0)));
    assert!(!contains(&z, pt(-0.001, 5.0)));
    // Edges and corners count as inside.
    assert!(contains(&z, pt(0.0, 5.0)));
    assert!(contains(&z, pt(10.0, 10.0)));
    assert!(contains(&z, pt(5.0, 0.0)));
    // A point level with a vertex but outside (ray through the vertex).
    assert!(!contains(&z, pt(-5.0, 0.0)));
    assert!(!contains(&z, pt(-5.0, 10.0)));
}

#[test]
fn winding_does_not_matter() {
    let cw = zone(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]);
    let ccw = zone(&[(0.0, 10.0), (10.0, 10.0), (10.0, 0.0), (0.0, 0.0)]);
    for p in [pt(5.0, 5.0), pt(11.0, 5.0), pt(0.0, 3.0), pt(-1.0, -1.0)] {
        assert_eq!(contains(&cw, p), contains(&ccw, p));
    }
    assert!(polygon_area(&cw.outline) > 0.0);
    assert!(close(polygon_area(&ccw.outline), -100.0));
}

#[test]
fn concave_u_shape() {
    // A U: 0..30 wide, 0..30 high, with the notch x 10..20, y 0..20 cut from the top.
    //  (0,0)  (10,0)   (20,0)  (30,0)
    //    +------+        +------+
    //    |      |        |      |
    //    |      +--------+      |   y = 20
    //    +----------------------+   y = 30
    let z = zone(&[
        (0.0, 0.0),
        (10.0, 0.0),
        (10.0, 20.0),
        (20.0, 20.0),
        (20.0, 0.0),
        (30.0, 0.0),
        (30.0, 30.0),
        (0.0, 30.0),
    ]);
    assert!(contains(&z, pt(5.0, 5.0)), "left arm");
    assert!(contains(&z, pt(25.0, 5.0)), "right arm");
    assert!(contains(&z, pt(15.0, 25.0)), "bottom bar");
    assert!(!contains(&z, pt(15.0, 10.0)), "in the notch");
    assert!(
        !contains(&z, pt(15.0, 19.999)),
        "just above the notch floor"
    );
    assert!(contains(&z, pt(15.0, 20.0)), "on the notch floor");
    assert!(contains(&z, pt(10.0, 10.0)), "on the notch wall");
    // Ray from the notch passes two vertices level with it (y = 0 and y = 20).
    assert!(!contains(&z, pt(15.0, 0.0 - 1.0)));
    assert!(!contains(&z, pt(-1.0, 20.0)));
    assert!(contains(&z, pt(5.0, 20.0)));
}

#[test]
fn holes_are_outside_and_their_edges_inside() {
    let mut z = zone(&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]);
    z.holes = vec![pts(&[
        (40.0, 40.0),
        (60.0, 40.0),
        (60.0, 60.0),
        (40.0, 60.0),
    ])];
    assert!(contains(&z, pt(10.0, 10.0)));
    assert!(!contains(&z, pt(50.0, 50.0)), "in the hole");
    assert!(contains(&z, pt(40.0, 50.0)), "on the hole's edge");
    assert!(contains(&z, pt(70.0, 50.0)));
    assert!(!contains(&z, pt(150.0, 50.0)));
}

#[test]
fn inverse_zone() {
    let mut z = zone(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]);
    z.inverse = true;
    assert!(!contains(&z, pt(5.0, 5.0)));
    assert!(contains(&z, pt(50.0, 5.0)));
    assert!(
        contains(&z, pt(10.0, 5.0)),
        "boundary is inside, inverse too"
    );
    z.holes = vec![pts(&[(4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0)])];
    assert!(
        contains(&z, pt(5.0, 5.0)),
        "a hole of an inverse zone is in it"
    );
    assert!(!contains(&z, pt(2.0, 2.0)));
}

#[test]
fn side_default_is_right_of_a_to_b_on_screen() {
    // a -> b points right (east); on screen (y down) its right is below it.
    let l = line((0.0, 0.0), (10.0, 0.0));
    assert!(close(side(&l, pt(5.0, 3.0)), 3.0));
    assert!(close(side(&l, pt(5.0, -2.0)), -2.0));
    assert!(close(side(&l, pt(50.0, 0.0)), 0.0));
    // a -> b pointing down: its right on screen is to the left (smaller x).
    let l = line((0.0, 0.0), (0.0, 10.0));
    assert!(side(&l, pt(-4.0, 5.0)) > 0.0);
    assert!(close(side(&l, pt(-4.0, 5.0)), 4.0));
    // Diagonal: distance is Euclidean.
    let l = line((0.0, 0.0), (10.0, 10.0));
    assert!(close(side(&l, pt(0.0, 2.0)), 2.0_f64.sqrt()));
}

#[test]
fn side_with_in_direction() {
    let mut l = line((0.0, 0.0), (10.0, 0.0));
    // Pointing up: above the line is in.
    l.in_direction = Some(pt(0.0, -5.0));
    assert!(close(side(&l, pt(5.0, -3.0)), 3.0));
    assert!(close(side(&l, pt(5.0, 3.0)), -3.0));
    // A slanted vector only counts for which side it points to.
    l.in_direction = Some(pt(7.0, 1.0));
    assert!(close(side(&l, pt(5.0, 3.0)), 3.0));
    assert_eq!(in_normal(&l), pt(0.0, 1.0));
}

#[test]
fn within_segment_and_extended() {
    let mut l = line((0.0, 0.0), (10.0, 0.0));
    assert!(within(&l, pt(0.0, 5.0)));
    assert!(within(&l, pt(10.0, -5.0)));
    assert!(within(&l, pt(3.0, 100.0)));
    assert!(!within(&l, pt(10.1, 0.0)));
    assert!(!within(&l, pt(-0.1, 1.0)));
    l.extended = true;
    assert!(within(&l, pt(-1000.0, 1.0)));
}

#[test]
fn crossing_both_ways_and_missing_the_segment() {
    let mut l = line((0.0, 0.0), (10.0, 0.0));
    assert!(crosses(&l, pt(5.0, -2.0), pt(5.0, 2.0)));
    assert!(crosses(&l, pt(5.0, 2.0), pt(5.0, -2.0)));
    assert!(!crosses(&l, pt(5.0, -2.0), pt(5.0, -1.0)), "same side");
    assert!(!crosses(&l, pt(15.0, -2.0), pt(15.0, 2.0)), "beyond b");
    // Diagonal path whose ends project on the segment but that meets the line beyond b.
    assert!(!crosses(&l, pt(9.0, -10.0), pt(13.0, 10.0)));
    // Diagonal path whose ends project outside but that meets the line on it.
    assert!(crosses(&l, pt(-5.0, -5.0), pt(15.0, 5.0)));
    // Through the end point exactly.
    assert!(crosses(&l, pt(10.0, -1.0), pt(10.0, 1.0)));
    l.extended = true;
    assert!(crosses(&l, pt(15.0, -2.0), pt(15.0, 2.0)));
    assert!(crosses(&l, pt(9.0, -10.0), pt(13.0, 10.0)));
}

#[test]
fn grazing_and_colinear_paths() {
    let l = line((0.0, 0.0), (10.0, 0.0));
    // Along the line: no crossing.
    assert!(!crosses(&l, pt(1.0, 0.0), pt(9.0, 0.0)));
    // From above, touching the line and back: no crossing at either step.
    assert!(!crosses(&l, pt(5.0, -1.0), pt(5.0, 0.0)));
    assert!(!crosses(&l, pt(5.0, 0.0), pt(5.0, -1.0)));
    // Stopping on the line then going on below (the in side): exactly one crossing.
    let steps = [pt(5.0, -1.0), pt(5.0, 0.0), pt(5.0, 0.0), pt(5.0, 1.0)];
    let n = steps.windows(2).filter(|w| crosses(&l, w[0], w[1])).count();
    assert_eq!(n, 1);
    // Back up again through the line at a grazing angle: one crossing.
    assert!(crosses(&l, pt(0.5, 0.001), pt(9.5, -0.001)));
    assert!(!segments_intersect(
        pt(0.0, 1.0),
        pt(10.0, 1.0),
        pt(0.0, 0.0),
        pt(10.0, 0.0)
    ));
    assert!(segments_intersect(
        pt(0.0, 0.0),
        pt(5.0, 0.0),
        pt(5.0, 0.0),
        pt(5.0, 5.0)
    ));
    assert!(segments_intersect(
        pt(0.0, 0.0),
        pt(6.0, 0.0),
        pt(4.0, 0.0),
        pt(9.0, 0.0)
    ));
}

#[test]
fn direction_angles() {
    let d = Direction {
        name: "east".into(),
        from: pt(0.0, 0.0),
        to: pt(10.0, 0.0),
        tolerance_deg: 30.0,
        classes: Vec::new(),
    };
    assert!(close(
        direction_angle_deg(&d, pt(0.0, 0.0), pt(1.0, 1.0)).unwrap(),
        45.0
    ));
    assert!(close(
        direction_angle_deg(&d, pt(5.0, 5.0), pt(0.0, 5.0)).unwrap(),
        180.0
    ));
    assert_eq!(direction_angle_deg(&d, pt(1.0, 1.0), pt(1.0, 1.0)), None);
    assert!(moves_along(&d, pt(0.0, 0.0), pt(10.0, 5.0)));
    assert!(!moves_along(&d, pt(0.0, 0.0), pt(10.0, 10.0)));
    assert!(!moves_along(&d, pt(0.0, 0.0), pt(0.0, 0.0)));
}

#[test]
fn rescale_reference_pixels_and_round_trip() {
    let mut l = line((100.0, 50.0), (300.0, 50.0));
    l.in_direction = Some(pt(0.0, -10.0));
    l.min_distance = Some(8.0);
    let mut z = zone(&[(0.0, 0.0), (960.0, 0.0), (960.0, 540.0)]);
    z.holes = vec![pts(&[(400.0, 100.0), (500.0, 100.0), (500.0, 200.0)])];
    let mut g = geometry(vec![z], vec![l]);
    g.coordinates = Coordinates::Pixels {
        width: 1920.0,
        height: 1080.0,
    };
    let f = to_frame(&g, 640.0, 360.0);
    assert_eq!(
        f.coordinates,
        Coordinates::Pixels {
            width: 640.0,
            height: 360.0
        }
    );
    let fl = &f.lines[0];
    assert!(close(fl.a.x, 100.0 / 3.0) && close(fl.a.y, 50.0 / 3.0));
    assert!(close(fl.min_distance.unwrap(), 8.0 / 3.0));
    assert!(close(fl.in_direction.unwrap().y, -10.0 / 3.0));
    assert!(close(f.zones[0].outline[2].x, 320.0));
    assert!(close(f.zones[0].holes[0][1].y, 100.0 / 3.0));
    // Back to 1920x1080: the same geometry.
    let back = to_frame(&f, 1920.0, 1080.0);
    assert_eq!(back.coordinates, g.coordinates);
    for (p, q) in back.zones[0].outline.iter().zip(&g.zones[0].outline) {
        assert!(close(p.x, q.x) && close(p.y, q.y));
    }
    assert!(close(back.lines[0].b.x, 300.0));
    assert!(close(back.lines[0].min_distance.unwrap(), 8.0));
}

#[test]
fn rescale_normalised_and_anisotropic_keeps_sides() {
    let mut g = geometry(vec![], vec![line((0.0, 0.5), (1.0, 0.5))]);
    g.coordinates = Coordinates::Normalised;
    g.lines[0].in_direction = Some(pt(0.3, -0.1));
    let f = to_frame(&g, 1920.0, 1080.0);
    assert_eq!(f.lines[0].a, pt(0.0, 540.0));
    assert_eq!(f.lines[0].b, pt(1920.0, 540.0));
    // Above is in, before and after the (non-uniform) scaling.
    assert!(side(&g.lines[0], pt(0.5, 0.4)) > 0.0);
    assert!(side(&f.lines[0], pt(960.0, 432.0)) > 0.0);
    assert!(close(side(&f.lines[0], pt(960.0, 432.0)), 108.0));
}

#[test]
fn validation_messages() {
    let sq = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)];
    assert_eq!(validate(&geometry(vec![zone(&sq)], vec![])), Ok(()));
    let err = |g: Geometry| validate(&g).unwrap_err();

    let e = err(geometry(vec![zone(&[(0.0, 0.0), (1.0, 1.0)])], vec![]));
    assert_eq!(e, "zone z: 2 point(s), a polygon needs at least 3");
    let e = err(geometry(
        vec![zone(&[(0.0, 0.0), (5.0, 5.0), (10.0, 10.0)])],
        vec![],
    ));
    assert_eq!(e, "zone z: zero area (all points on one line)");
    let e = err(geometry(
        vec![zone(&[(0.0, 0.0), (f64::NAN, 5.0), (10.0, 10.0)])],
        vec![],
    ));
    assert!(e.contains("not a finite number"), "{e}");
    let e = err(geometry(vec![zone(&sq), zone(&sq)], vec![]));
    assert_eq!(e, "zone \"z\" is defined twice");
    let mut bad = zone(&sq);
    bad.name = "a:b".into();
    assert!(err(geometry(vec![bad], vec![])).contains("letters, digits"));
    let mut holed = zone(&sq);
    holed.holes = vec![pts(&[(5.0, 5.0), (15.0, 5.0), (5.0, 8.0)])];
    assert_eq!(
        err(geometry(vec![holed], vec![])),
        "zone z, hole 1: point (15, 5) is outside the outline"
    );

    let e = err(geometry(vec![], vec![line((3.0, 3.0), (3.0, 3.0))]));
    assert_eq!(e, "line l: zero length (both ends at (3, 3))");
    let e = err(geometry(
        vec![],
        vec![line((0.0, 0.0), (f64::INFINITY, 3.0))],
    ));
    assert!(
        e.starts_with("line l: coordinate is not a finite number"),
        "{e}"
    );
    let mut l = line((0.0, 0.0), (10.0, 0.0));
    l.in_direction = Some(pt(-4.0, 0.0));
    assert!(err(geometry(vec![], vec![l.clone()])).contains("parallel to the line"));
    l.in_direction = Some(pt(0.0, 0.0));
    assert!(err(geometry(vec![], vec![l.clone()])).contains("zero length"));
    l.in_direction = None;
    l.min_distance = Some(-1.0);
    assert!(err(geometry(vec![], vec![l])).contains("min-distance -1"));
    let l = line((0.0, 0.0), (10.0, 0.0));
    assert!(err(geometry(vec![], vec![l.clone(), l])).contains("defined twice"));

    let mut g = geometry(vec![], vec![]);
    g.coordinates = Coordinates::Pixels {
        width: 0.0,
        height: 1080.0,
    };
    assert!(err(g).starts_with("reference size 0x1080"));

    let mut g = geometry(vec![], vec![]);
    g.directions.push(Direction {
        name: "n".into(),
        from: pt(1.0, 1.0),
        to: pt(1.0, 1.0),
        tolerance_deg: 30.0,
        classes: vec![],
    });
    assert_eq!(err(g.clone()), "direction n: zero length");
    g.directions[0].to = pt(1.0, 0.0);
    g.directions[0].tolerance_deg = 0.0;
    assert!(err(g).contains("tolerance 0"));
}
