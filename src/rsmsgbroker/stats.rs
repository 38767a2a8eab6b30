//! The element's counters (the `stats` property, structure `rsmsgbroker-stats`), shared
//! lock-free between the streaming thread and librdkafka's delivery callbacks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters shared with librdkafka's delivery callbacks (lock-free).
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) frames: AtomicU64,
    pub(super) published_frames: AtomicU64,
    pub(super) enqueued: AtomicU64,
    /// Messages accepted and neither delivered nor failed yet.
    pub(super) queued: AtomicU64,
    pub(super) queued_bytes: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) dropped: AtomicU64,
    /// All brokers are unreachable (set by the error callback, cleared by a delivery).
    pub(super) outage: AtomicBool,
    /// A drop warning was posted and no delivery succeeded since.
    pub(super) drop_warned: AtomicBool,
    /// A delivery-failure warning was posted and no delivery succeeded since.
    pub(super) failure_warned: AtomicBool,
    /// The element is stopping: purged messages are reported once, not one by one.
    pub(super) stopping: AtomicBool,
    /// An authentication failure was posted and no delivery succeeded since.
    pub(super) auth_warned: AtomicBool,
}

impl Counters {
    pub(super) fn reset(&self) {
        for c in [
            &self.frames,
            &self.published_frames,
            &self.enqueued,
            &self.queued,
            &self.queued_bytes,
            &self.delivered,
            &self.failed,
            &self.dropped,
        ] {
            c.store(0, Ordering::SeqCst);
        }
        for f in [
            &self.outage,
            &self.drop_warned,
            &self.failure_warned,
            &self.stopping,
            &self.auth_warned,
        ] {
            f.store(false, Ordering::SeqCst);
        }
    }

    pub(super) fn release(&self, bytes: u64) {
        self.queued.fetch_sub(1, Ordering::SeqCst);
        self.queued_bytes.fetch_sub(bytes, Ordering::SeqCst);
    }

    pub(super) fn structure(&self) -> gst::Structure {
        let g = |c: &AtomicU64| c.load(Ordering::SeqCst);
        gst::Structure::builder("rsmsgbroker-stats")
            .field("frames", g(&self.frames))
            .field("published-frames", g(&self.published_frames))
            .field("enqueued", g(&self.enqueued))
            .field("queued", g(&self.queued))
            .field("queued-bytes", g(&self.queued_bytes))
            .field("delivered", g(&self.delivered))
            .field("failed", g(&self.failed))
            .field("dropped", g(&self.dropped))
            .build()
    }
}
