//! The motion model: a constant-velocity Kalman filter on the box centre and size, stepped
//! by real time (seconds between buffers' timestamps), not by a frame counter.
//!
//! The state is `(cx, cy, w, h)` and their velocities, in frame pixels and pixels per second
//! (BoT-SORT's `xywh` state; ByteTrack's aspect ratio does not follow boxes whose width and
//! height change separately). The noise is diagonal and proportional to the box size, as in
//! ByteTrack and BoT-SORT (`std_weight_position = 1/20`, `std_weight_velocity = 1/160` per
//! reference frame), so the four coordinates evolve independently: the 8-dimensional filter
//! is exactly four 2-state filters (position, velocity), each with a 2x2 covariance. That is
//! the same filter with none of the 8x8 matrix work.
//!
//! Process noise is given per reference frame period `t0` and scales with the elapsed time
//! (`dt / t0`): two frames' gap adds twice one frame's uncertainty, so a detector that skips
//! frames, or a stream that drops some, predicts correctly instead of assuming one frame
//! passed.

use super::BBox;

/// Position noise per reference frame, relative to the box size (ByteTrack, BoT-SORT).
const STD_WEIGHT_POSITION: f64 = 1.0 / 20.0;
/// Velocity noise per reference frame, relative to the box size (ByteTrack, BoT-SORT).
const STD_WEIGHT_VELOCITY: f64 = 1.0 / 160.0;
/// Smallest size used to scale the noise (a degenerate box must not freeze the filter).
const MIN_SCALE: f64 = 1.0;

/// One coordinate: position `p` and velocity `v` with covariance `[[a, b], [b, c]]`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    p: f64,
    v: f64,
    a: f64,
    b: f64,
    c: f64,
}

impl Axis {
    fn new(p: f64, scale: f64, t0: f64) -> Self {
        let sp = 2.0 * STD_WEIGHT_POSITION * scale;
        let sv = 10.0 * STD_WEIGHT_VELOCITY * scale / t0;
        Axis {
            p,
            v: 0.0,
            a: sp * sp,
            b: 0.0,
            c: sv * sv,
        }
    }

    fn predict(&mut self, dt: f64, scale: f64, t0: f64) {
        let k = dt / t0;
        let qp = (STD_WEIGHT_POSITION * scale).powi(2) * k;
        let qv = (STD_WEIGHT_VELOCITY * scale / t0).powi(2) * k;
        self.p += self.v * dt;
        self.a += 2.0 * self.b * dt + self.c * dt * dt + qp;
        self.b += self.c * dt;
        self.c += qv;
    }

    fn update(&mut self, z: f64, scale: f64) {
        let r = (STD_WEIGHT_POSITION * scale).powi(2);
        let s = self.a + r;
        if s <= 0.0 || !s.is_finite() {
            return;
        }
        let k0 = self.a / s;
        let k1 = self.b / s;
        let innovation = z - self.p;
        self.p += k0 * innovation;
        self.v += k1 * innovation;
        let (a, b, c) = (self.a, self.b, self.c);
        self.a = (1.0 - k0) * a;
        self.b = (1.0 - k0) * b;
        self.c = c - k1 * b;
    }
}

/// The filter of one track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kalman {
    axes: [Axis; 4],
    /// Reference frame period in seconds: the unit of the noise weights.
    t0: f64,
}

impl Kalman {
    /// A filter at `bbox` with no velocity. `t0` is the reference frame period in seconds.
    pub fn new(bbox: &BBox, t0: f64) -> Self {
        let (cx, cy, w, h) = bbox.cxcywh();
        let (sw, sh) = (w.max(MIN_SCALE), h.max(MIN_SCALE));
        Kalman {
            axes: [
                Axis::new(cx, sw, t0),
                Axis::new(cy, sh, t0),
                Axis::new(w, sw, t0),
                Axis::new(h, sh, t0),
            ],
            t0,
        }
    }

    fn scales(&self) -> (f64, f64) {
        (
            self.axes[2].p.abs().max(MIN_SCALE),
            self.axes[3].p.abs().max(MIN_SCALE),
        )
    }

    /// Advances the state by `dt` seconds (nothing for `dt <= 0`).
    pub fn predict(&mut self, dt: f64) {
        if dt <= 0.0 || !dt.is_finite() {
            return;
        }
        let (sw, sh) = self.scales();
        let t0 = self.t0;
        self.axes[0].predict(dt, sw, t0);
        self.axes[1].predict(dt, sh, t0);
        self.axes[2].predict(dt, sw, t0);
        self.axes[3].predict(dt, sh, t0);
        // A box never shrinks below nothing.
        for axis in &mut self.axes[2..] {
            if axis.p < 0.0 {
                axis.p = 0.0;
                axis.v = axis.v.max(0.0);
            }
        }
    }

    /// Corrects the state with an observed box.
    pub fn update(&mut self, bbox: &BBox) {
        let (cx, cy, w, h) = bbox.cxcywh();
        let (sw, sh) = self.scales();
        self.axes[0].update(cx, sw);
        self.axes[1].update(cy, sh);
        self.axes[2].update(w, sw);
        self.axes[3].update(h, sh);
    }

    /// Squared Mahalanobis distance of an observed box from the predicted state (4 degrees
    /// of freedom: centre and size).
    pub fn mahalanobis(&self, bbox: &BBox) -> f64 {
        let (cx, cy, w, h) = bbox.cxcywh();
        let (sw, sh) = self.scales();
        let z = [cx, cy, w, h];
        let scale = [sw, sh, sw, sh];
        let mut d2 = 0.0;
        for i in 0..4 {
            let r = (STD_WEIGHT_POSITION * scale[i]).powi(2);
            let s = self.axes[i].a + r;
            if s > 0.0 && s.is_finite() {
                d2 += (z[i] - self.axes[i].p).powi(2) / s;
            } else {
                return f64::INFINITY;
            }
        }
        d2
    }

    /// The box of the current state.
    pub fn bbox(&self) -> BBox {
        BBox::from_cxcywh(
            self.axes[0].p,
            self.axes[1].p,
            self.axes[2].p.max(0.0),
            self.axes[3].p.max(0.0),
        )
    }

    /// Velocity of the box centre in pixels per second.
    pub fn velocity(&self) -> (f64, f64) {
        (self.axes[0].v, self.axes[1].v)
    }

    /// Scales the state by `sx` horizontally and `sy` vertically (the frame size changed).
    pub fn scale_all(&mut self, sx: f64, sy: f64) {
        for (i, axis) in self.axes.iter_mut().enumerate() {
            let s = if i % 2 == 0 { sx } else { sy };
            axis.p *= s;
            axis.v *= s;
            axis.a *= s * s;
            axis.b *= s * s;
            axis.c *= s * s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(cx: f64, cy: f64, w: f64, h: f64) -> BBox {
        BBox::from_cxcywh(cx, cy, w, h)
    }

    #[test]
    fn learns_a_constant_velocity_in_pixels_per_second() {
        let t0 = 1.0 / 30.0;
        let mut kf = Kalman::new(&bx(100.0, 100.0, 40.0, 80.0), t0);
        // 60 px/s to the right, observed every frame for 2 s.
        for i in 1..=60 {
            kf.predict(t0);
            kf.update(&bx(100.0 + 2.0 * f64::from(i), 100.0, 40.0, 80.0));
        }
        let (vx, vy) = kf.velocity();
        assert!((vx - 60.0).abs() < 3.0, "vx {vx}");
        assert!(vy.abs() < 1.0, "vy {vy}");
        // Half a second without observations: the box moves 30 px on.
        kf.predict(0.5);
        let b = kf.bbox();
        assert!((b.cxcywh().0 - 250.0).abs() < 3.0, "{:?}", b);
    }

    #[test]
    fn the_time_step_not_the_frame_count_drives_prediction() {
        // The same motion observed at 30 fps and at 10 fps (every third frame): after the
        // same time both filters agree on the velocity and the predicted position.
        let mut fast = Kalman::new(&bx(0.0, 0.0, 50.0, 50.0), 1.0 / 30.0);
        let mut slow = Kalman::new(&bx(0.0, 0.0, 50.0, 50.0), 1.0 / 30.0);
        for i in 1..=90 {
            let t = f64::from(i) / 30.0;
            fast.predict(1.0 / 30.0);
            fast.update(&bx(90.0 * t, 0.0, 50.0, 50.0));
            if i % 3 == 0 {
                slow.predict(0.1);
                slow.update(&bx(90.0 * t, 0.0, 50.0, 50.0));
            }
        }
        let (vf, vs) = (fast.velocity().0, slow.velocity().0);
        assert!(
            (vf - 90.0).abs() < 5.0 && (vs - 90.0).abs() < 8.0,
            "{vf} {vs}"
        );
        fast.predict(0.2);
        slow.predict(0.2);
        let (pf, ps) = (fast.bbox().cxcywh().0, slow.bbox().cxcywh().0);
        assert!((pf - ps).abs() < 3.0, "{pf} {ps}");
    }

    #[test]
    fn degenerate_steps_change_nothing() {
        let mut kf = Kalman::new(&bx(10.0, 10.0, 0.0, 0.0), 1.0 / 30.0);
        let before = kf;
        kf.predict(0.0);
        kf.predict(-1.0);
        kf.predict(f64::NAN);
        assert_eq!(kf, before);
        kf.update(&bx(11.0, 10.0, 0.0, 0.0));
        assert!(kf.bbox().cxcywh().0.is_finite());
    }

    #[test]
    fn rescaling_moves_the_state() {
        let mut kf = Kalman::new(&bx(100.0, 50.0, 20.0, 10.0), 1.0 / 30.0);
        kf.scale_all(2.0, 0.5);
        let (cx, cy, w, h) = kf.bbox().cxcywh();
        assert!((cx - 200.0).abs() < 1e-9 && (cy - 25.0).abs() < 1e-9);
        assert!((w - 40.0).abs() < 1e-9 && (h - 5.0).abs() < 1e-9);
    }
}
