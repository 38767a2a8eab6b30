use super::*;

fn rect(x: f64, y: f64, width: f64, height: f64) -> CropRect {
    CropRect {
        x,
        y,
        width,
        height,
    }
}

fn geometry(r: CropRect, padding: f64, iw: usize, ih: usize, fit: CropFit) -> CropGeometry {
    CropGeometry::new(&r, padding, 1280, 720, iw, ih, fit).expect("a region")
}

#[test]
fn centre_crop_follows_torchvision() {
    // (resized_width, resized_height, offset_x, offset_y)
    let sizes = |g: CropGeometry| (g.resized_width, g.resized_height, g.offset_x, g.offset_y);
    let g = geometry(
        rect(100.0, 50.0, 300.0, 200.0),
        0.0,
        224,
        224,
        CropFit::CentreCrop,
    );
    assert_eq!(
        (g.region_x, g.region_y, g.region_width, g.region_height),
        (100, 50, 300, 200)
    );
    assert_eq!(sizes(g), (336, 224, 56, 0));
    assert_eq!(
        (g.left, g.top, g.content_width, g.content_height),
        (0, 0, 224, 224)
    );
    let g = geometry(
        rect(0.0, 0.0, 200.0, 300.0),
        0.0,
        224,
        224,
        CropFit::CentreCrop,
    );
    assert_eq!(sizes(g), (224, 336, 0, 56));
    // 301 * 224 / 200 = 337.12 -> 337; (337 - 224) / 2 = 56.5 -> 56 (ties to even).
    let g = geometry(
        rect(0.0, 0.0, 301.0, 200.0),
        0.0,
        224,
        224,
        CropFit::CentreCrop,
    );
    assert_eq!(sizes(g), (337, 224, 56, 0));
    // 303 * 224 / 200 = 339.36 -> 339; 57.5 -> 58.
    let g = geometry(
        rect(0.0, 0.0, 303.0, 200.0),
        0.0,
        224,
        224,
        CropFit::CentreCrop,
    );
    assert_eq!(sizes(g), (339, 224, 58, 0));
    let g = geometry(
        rect(0.0, 0.0, 50.0, 50.0),
        0.0,
        224,
        224,
        CropFit::CentreCrop,
    );
    assert_eq!(sizes(g), (224, 224, 0, 0));
    // Not square: scale max(320/300, 224/200) = 1.12 -> 336 x 224, centre 320 wide.
    let g = geometry(
        rect(0.0, 0.0, 300.0, 200.0),
        0.0,
        320,
        224,
        CropFit::CentreCrop,
    );
    assert_eq!(sizes(g), (336, 224, 8, 0));
    // max(224/300, 320/200) = 1.6 -> 480 x 320.
    let g = geometry(
        rect(0.0, 0.0, 300.0, 200.0),
        0.0,
        224,
        320,
        CropFit::CentreCrop,
    );
    assert_eq!(sizes(g), (480, 320, 128, 0));
}

#[test]
fn letterbox_and_stretch_geometry() {
    let content = |g: CropGeometry| (g.left, g.top, g.content_width, g.content_height);
    let g = geometry(
        rect(100.0, 50.0, 300.0, 200.0),
        0.0,
        224,
        224,
        CropFit::Letterbox,
    );
    // r = 224/300; 200 * r = 149.33 -> 149; (224 - 149) / 2 = 37.
    assert_eq!(content(g), (0, 37, 224, 149));
    assert_eq!(
        (g.resized_width, g.resized_height, g.offset_x),
        (224, 149, 0)
    );
    let g = geometry(rect(0.0, 0.0, 29.0, 41.0), 0.0, 64, 64, CropFit::Letterbox);
    // r = 64/41; 29 * r = 45.27 -> 45; (64 - 45) / 2 = 9.
    assert_eq!(content(g), (9, 0, 45, 64));
    let g = geometry(
        rect(100.0, 50.0, 300.0, 200.0),
        0.0,
        224,
        224,
        CropFit::Stretch,
    );
    assert_eq!(content(g), (0, 0, 224, 224));
    assert_eq!((g.resized_width, g.resized_height), (224, 224));
}

#[test]
fn regions_grow_round_outwards_and_clip() {
    let region = |r: CropRect, padding: f64| {
        let g = CropGeometry::new(&r, padding, 100, 100, 8, 8, CropFit::Stretch).unwrap();
        (g.region_x, g.region_y, g.region_width, g.region_height)
    };
    // x: 10.5 - 3.01 = 7.49 -> 7, 40.6 + 3.01 = 43.61 -> 44; y: 16.2 -> 16, 64.2 -> 65.
    assert_eq!(region(rect(10.5, 20.2, 30.1, 40.0), 0.1), (7, 16, 37, 49));
    assert_eq!(region(rect(10.0, 20.0, 30.0, 40.0), 0.0), (10, 20, 30, 40));
    assert_eq!(region(rect(10.0, 20.0, 30.0, 40.0), 0.5), (0, 0, 55, 80));
    assert_eq!(region(rect(-5.0, -5.0, 20.0, 20.0), 0.0), (0, 0, 15, 15));
    assert_eq!(region(rect(90.0, 95.0, 20.0, 20.0), 0.0), (90, 95, 10, 5));
    assert_eq!(
        region(rect(-10.0, -1.0, 200.0, 150.0), 0.0),
        (0, 0, 100, 100)
    );
    assert_eq!(region(rect(3.5, 3.5, 0.2, 0.2), 0.0), (3, 3, 1, 1));
}

#[test]
fn empty_regions_are_none() {
    let none = |r: CropRect, padding: f64, iw: usize| {
        CropGeometry::new(&r, padding, 100, 80, iw, 8, CropFit::Letterbox).is_none()
    };
    assert!(none(rect(100.0, 0.0, 10.0, 10.0), 0.0, 8));
    assert!(none(rect(0.0, 80.0, 10.0, 10.0), 0.0, 8));
    assert!(none(rect(-20.0, 0.0, 10.0, 10.0), 0.0, 8));
    assert!(none(rect(0.0, -10.5, 10.0, 10.0), 0.0, 8));
    assert!(none(rect(5.0, 5.0, 0.0, 10.0), 0.0, 8));
    assert!(none(rect(5.0, 5.0, 10.0, -3.0), 0.0, 8));
    assert!(none(rect(f64::NAN, 5.0, 10.0, 10.0), 0.0, 8));
    assert!(none(rect(5.0, 5.0, 10.0, f64::INFINITY), 0.0, 8));
    assert!(none(rect(5.0, 5.0, 10.0, 10.0), -0.6, 8));
    assert!(none(rect(5.0, 5.0, 10.0, 10.0), 0.0, 0));
    assert!(!none(rect(99.5, 79.5, 3.0, 3.0), 0.0, 8));
}

#[test]
fn content_corners_map_to_the_region() {
    let r = rect(100.0, 50.0, 300.0, 200.0);
    let g = geometry(r, 0.0, 224, 224, CropFit::Letterbox);
    assert_eq!(g.to_frame(0.0, 37.0), (100.0, 50.0));
    assert_eq!(g.to_frame(224.0, 186.0), (400.0, 250.0));
    let g = geometry(r, 0.0, 224, 224, CropFit::Stretch);
    assert_eq!(g.to_frame(0.0, 0.0), (100.0, 50.0));
    assert_eq!(g.to_frame(224.0, 224.0), (400.0, 250.0));
    // The centre crop sees x from 100 + 56 * 300/336 = 150 to 100 + 280 * 300/336 = 350.
    let g = geometry(r, 0.0, 224, 224, CropFit::CentreCrop);
    assert_eq!(g.to_frame(0.0, 0.0), (150.0, 50.0));
    assert_eq!(g.to_frame(224.0, 224.0), (350.0, 250.0));
    for fit in [CropFit::CentreCrop, CropFit::Letterbox, CropFit::Stretch] {
        let g = geometry(rect(10.3, 20.9, 77.7, 33.3), 0.12, 96, 64, fit);
        for k in 0..20 {
            let (x, y) = (k as f32 * 4.9 + 0.3, k as f32 * 3.1 + 0.7);
            let (fx, fy) = g.to_frame(x, y);
            let (bx, by) = g.to_input(fx, fy);
            assert!((bx - f64::from(x)).abs() < 1e-9 && (by - f64::from(y)).abs() < 1e-9);
        }
    }
}
