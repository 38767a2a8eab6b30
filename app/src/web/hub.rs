//! What the supervisor and the web server share: per source the latest annotated JPEG and
//! how many want it, the recent events, the finished clips and the latest status document.
//! The supervisor writes, the server reads; nothing here blocks a streaming thread (the
//! JPEG goes into a `watch` channel: a viewer that reads slowly just skips frames).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{broadcast, watch};

/// One encoded frame of a source.
#[derive(Debug, Clone)]
pub struct Jpeg {
    pub data: bytes::Bytes,
    /// Increases with every frame of the source (across reconnects).
    pub seq: u64,
    pub at: Instant,
}

/// One source as the web console sees it.
#[derive(Debug)]
pub struct SourceHub {
    pub id: String,
    /// MJPEG viewers and pending snapshot requests: the pipeline encodes only while it is
    /// above 0.
    pub viewers: AtomicUsize,
    /// The latest JPEG (`None` before the first one).
    pub frame: watch::Sender<Option<Jpeg>>,
    seq: AtomicU64,
}

impl SourceHub {
    pub fn new(id: &str) -> SourceHub {
        SourceHub {
            id: id.to_string(),
            viewers: AtomicUsize::new(0),
            frame: watch::channel(None).0,
            seq: AtomicU64::new(0),
        }
    }

    /// Whether anyone wants frames now.
    pub fn wanted(&self) -> bool {
        self.viewers.load(Ordering::Relaxed) > 0
    }

    /// A new JPEG from the pipeline (any thread; never blocks).
    pub fn publish(&self, data: bytes::Bytes) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        self.frame.send_replace(Some(Jpeg {
            data,
            seq,
            at: Instant::now(),
        }));
    }

    /// Counts a viewer until the guard is dropped.
    pub fn watch(self: &Arc<Self>) -> ViewerGuard {
        self.viewers.fetch_add(1, Ordering::SeqCst);
        ViewerGuard(self.clone())
    }
}

/// A viewer (or a snapshot request) of a source, counted until dropped.
#[derive(Debug)]
pub struct ViewerGuard(Arc<SourceHub>);

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        self.0.viewers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Something that happened, for `/api/events` and the page's live list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    pub seq: u64,
    /// Unix time, ms.
    pub time_ms: i64,
    pub source: String,
    /// `track-entry`, `track-exit`, `track-moving`, `track-stopped`, `rule`, `clip`,
    /// `state`, `analytics-crossing`, `analytics-zone`, `analytics-loitering`,
    /// `analytics-overcrowding`.
    pub kind: String,
    /// One line for people.
    pub text: String,
    /// The details (track id, label, clip name, ...).
    pub data: serde_json::Value,
}

/// The recent events: a bounded ring (newest last) and a broadcast for live listeners.
#[derive(Debug)]
pub struct Events {
    ring: Mutex<VecDeque<Event>>,
    capacity: usize,
    next: AtomicU64,
    live: broadcast::Sender<Event>,
}

impl Events {
    pub fn new(capacity: usize) -> Events {
        Events {
            ring: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            capacity: capacity.max(1),
            next: AtomicU64::new(1),
            live: broadcast::channel(256).0,
        }
    }

    /// Adds an event (its `seq` is set here), dropping the oldest beyond the capacity.
    pub fn push(&self, mut event: Event) {
        event.seq = self.next.fetch_add(1, Ordering::SeqCst);
        {
            let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
            if ring.len() == self.capacity {
                ring.pop_front();
            }
            ring.push_back(event.clone());
        }
        // No listener is not an error.
        let _ = self.live.send(event);
    }

    /// At most `limit` events, newest first.
    pub fn recent(&self, limit: usize) -> Vec<Event> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.iter().rev().take(limit).cloned().collect()
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.live.subscribe()
    }

    pub fn len(&self) -> usize {
        self.ring.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A finished clip.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClipInfo {
    /// File name inside the clip directory.
    pub name: String,
    pub source: String,
    /// Unix ms of its first and last frame (0 when unknown).
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: u64,
    /// The rule that asked for it, or `command`.
    pub reason: String,
    pub size: u64,
}

/// Everything the web server reads.
#[derive(Debug)]
pub struct Hub {
    pub started: Instant,
    /// In config order.
    pub sources: Vec<Arc<SourceHub>>,
    pub events: Events,
    /// `[record] location`, when the deployment records.
    pub clips_dir: Option<PathBuf>,
    /// Clips the app saw finish, oldest first.
    pub clips: Mutex<Vec<ClipInfo>>,
    /// The latest `/api/status` document, rebuilt by the supervisor.
    pub status: Mutex<serde_json::Value>,
}

impl Hub {
    pub fn new(source_ids: &[String], events: usize, clips_dir: Option<PathBuf>) -> Hub {
        Hub {
            started: Instant::now(),
            sources: source_ids
                .iter()
                .map(|id| Arc::new(SourceHub::new(id)))
                .collect(),
            events: Events::new(events),
            clips_dir,
            clips: Mutex::new(Vec::new()),
            status: Mutex::new(serde_json::Value::Null),
        }
    }

    pub fn source(&self, id: &str) -> Option<&Arc<SourceHub>> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// Records a finished clip (and its event is the caller's).
    pub fn clip_finished(&self, clip: ClipInfo) {
        self.clips
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(clip);
    }

    pub fn set_status(&self, status: serde_json::Value) {
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = status;
    }

    pub fn status(&self) -> serde_json::Value {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &str) -> Event {
        Event {
            seq: 0,
            time_ms: 0,
            source: "cam".into(),
            kind: "rule".into(),
            text: text.into(),
            data: serde_json::Value::Null,
        }
    }

    #[test]
    fn events_are_bounded_and_newest_first() {
        let events = Events::new(3);
        let mut live = events.subscribe();
        for i in 0..5 {
            events.push(event(&format!("e{i}")));
        }
        let recent: Vec<String> = events.recent(10).into_iter().map(|e| e.text).collect();
        assert_eq!(recent, ["e4", "e3", "e2"]);
        assert_eq!(events.recent(1)[0].seq, 5);
        assert_eq!(
            live.try_recv().unwrap().text,
            "e0",
            "live listeners get every event"
        );
    }

    #[test]
    fn viewers_are_counted_while_their_guard_lives() {
        let hub = Hub::new(&["a".into(), "b".into()], 10, None);
        let a = hub.source("a").unwrap().clone();
        assert!(!a.wanted());
        let g1 = a.watch();
        let g2 = a.watch();
        assert!(a.wanted());
        drop(g1);
        assert!(a.wanted());
        drop(g2);
        assert!(!a.wanted());
        assert!(hub.source("c").is_none());
    }

    #[test]
    fn frames_replace_each_other() {
        let s = Arc::new(SourceHub::new("a"));
        let rx = s.frame.subscribe();
        s.publish(bytes::Bytes::from_static(b"one"));
        s.publish(bytes::Bytes::from_static(b"two"));
        let latest = rx.borrow().clone().unwrap();
        assert_eq!((&latest.data[..], latest.seq), (&b"two"[..], 2));
    }
}
