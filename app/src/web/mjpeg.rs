//! `/api/sources/{id}/stream.mjpeg`: the annotated frames of a source as
//! `multipart/x-mixed-replace`, one part per JPEG.
//!
//! Each viewer is counted (the pipeline encodes only while someone watches) until its
//! response body is dropped, which hyper does when the client goes away. The body makes its
//! next part only when hyper polls it, i.e. once the previous one is written out: the part
//! is then the latest frame of the source's `watch` channel, at most `fps` per second. A
//! viewer that reads slowly (or not at all) therefore holds no queue of frames and never
//! slows the pipeline or another viewer; it just sees fewer frames.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::watch;
use tokio::time::Instant;

use super::{Jpeg, SourceHub, ViewerGuard};

pub const BOUNDARY: &str = "rsvisionframe";
pub const CONTENT_TYPE: &str = "multipart/x-mixed-replace; boundary=rsvisionframe";

/// One part: the boundary line, its headers, the JPEG, CRLF.
pub fn part(jpeg: &[u8]) -> Bytes {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        jpeg.len()
    );
    let mut out = BytesMut::with_capacity(head.len() + jpeg.len() + 2);
    out.put_slice(head.as_bytes());
    out.put_slice(jpeg);
    out.put_slice(b"\r\n");
    out.freeze()
}

/// The shortest time between two parts for a viewer at `fps` frames per second.
pub fn frame_interval(fps: u32) -> Duration {
    Duration::from_secs_f64(1.0 / f64::from(fps.max(1)))
}

/// One viewer's state, moved through the body stream.
struct Viewer {
    _counted: ViewerGuard,
    frames: watch::Receiver<Option<Jpeg>>,
    stop: watch::Receiver<bool>,
    interval: Duration,
    /// No part before this (the fps cap).
    next: Instant,
    /// The `seq` of the last frame sent (0: none yet; frames start at 1).
    sent: u64,
}

impl Viewer {
    /// The next part, `None` when the server stops.
    async fn next_part(&mut self) -> Option<Bytes> {
        tokio::select! {
            _ = tokio::time::sleep_until(self.next) => {}
            _ = self.stop.wait_for(|s| *s) => return None,
        }
        let jpeg = loop {
            let latest = self
                .frames
                .borrow_and_update()
                .as_ref()
                .filter(|j| j.seq != self.sent)
                .cloned();
            if let Some(jpeg) = latest {
                break jpeg;
            }
            tokio::select! {
                changed = self.frames.changed() => changed.ok()?,
                _ = self.stop.wait_for(|s| *s) => return None,
            }
        };
        self.sent = jpeg.seq;
        self.next = Instant::now() + self.interval;
        Some(part(&jpeg.data))
    }
}

/// The streaming response for `source`, at most `fps` parts per second, ended when `stop`
/// turns true.
pub fn response(source: &Arc<SourceHub>, fps: u32, stop: watch::Receiver<bool>) -> Response {
    let viewer = Viewer {
        _counted: source.watch(),
        frames: source.frame.subscribe(),
        stop,
        interval: frame_interval(fps),
        next: Instant::now(),
        sent: 0,
    };
    let parts = futures_util::stream::unfold(viewer, |mut viewer| async move {
        let part = viewer.next_part().await?;
        Some((Ok::<_, Infallible>(part), viewer))
    });
    let mut response = Response::new(Body::from_stream(parts));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_boundary_headers_jpeg_crlf() {
        let p = part(b"\xff\xd8abc\xff\xd9");
        assert_eq!(
            &p[..],
            &b"--rsvisionframe\r\nContent-Type: image/jpeg\r\nContent-Length: 7\r\n\r\n\xff\xd8abc\xff\xd9\r\n"[..]
        );
        assert!(CONTENT_TYPE.ends_with(&format!("boundary={BOUNDARY}")));
    }

    #[test]
    fn the_interval_caps_the_rate() {
        assert_eq!(frame_interval(5), Duration::from_millis(200));
        assert_eq!(frame_interval(0), Duration::from_secs(1));
    }

    #[test]
    fn a_viewer_gets_only_the_latest_frame_and_no_frame_twice() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let source = Arc::new(SourceHub::new("a"));
            let (_stop_tx, stop) = watch::channel(false);
            let mut viewer = Viewer {
                _counted: source.watch(),
                frames: source.frame.subscribe(),
                stop,
                interval: Duration::ZERO,
                next: Instant::now(),
                sent: 0,
            };
            assert_eq!(source.viewers.load(std::sync::atomic::Ordering::SeqCst), 1);
            for i in 1..=3u8 {
                source.publish(Bytes::from(vec![i]));
            }
            assert_eq!(viewer.next_part().await.unwrap(), part(&[3]));
            // Nothing new: the viewer waits rather than repeating frame 3.
            let again = tokio::time::timeout(Duration::from_millis(100), viewer.next_part());
            assert!(again.await.is_err());
            source.publish(Bytes::from_static(&[4]));
            assert_eq!(viewer.next_part().await.unwrap(), part(&[4]));
            drop(viewer);
            assert_eq!(source.viewers.load(std::sync::atomic::Ordering::SeqCst), 0);
        });
    }
}
