//! The messages of a frame (`publish=frames`: a full-schema message per object or one
//! minimal-schema message per frame), of track events (`publish=tracks`: a full-schema
//! message per event) and of finished rssmartrecord clips (either mode: a full-schema
//! message per clip), and of rsanalytics' results (`publish-analytics`: a full-schema
//! message per event, or the counts in the frame's minimal-schema message), serialised and
//! handed to the [`Transport`].

use std::collections::HashMap;

use crate::detection::{ClipDone, Detection, TrackEvent};
use crate::msgconv::analytics::{AnalyticsEvent, FrameCounts};
use crate::msgconv::payload::EVENT_TYPES;
use crate::msgconv::{Frame, KeyPath, Object, PayloadBuilder};

use super::analytics::EventObject;
use super::stats::Counters;
use super::transport::Transport;
use super::PayloadType;

/// Serialises messages and enqueues them; one per element, owned by its state.
pub(super) struct Publisher {
    /// The constant part of every payload (sensor, place, analytics module, event type).
    pub(super) builder: PayloadBuilder,
    key: KeyPath,
    /// `partition-key` as the user wrote it (for messages).
    key_path: String,
    /// Reused serialisation buffer.
    payload: String,
    /// The partition key path was not found in a message (warned once).
    key_missing_warned: bool,
    /// `publish=tracks`: the latest classification attributes seen on each live track
    /// (name, label, confidence), for its events; a track's entry goes with its exit.
    track_attributes: HashMap<u64, Vec<(String, String, f64)>>,
}

/// Tracks whose attributes are remembered at most (rstracker's `max-tracks` is 1000): beyond
/// it, tracks whose exit was never seen are forgotten.
const MAX_TRACK_ATTRIBUTES: usize = 4096;

/// Where a message goes and where its trouble is reported.
pub(super) struct Sink<'a> {
    pub(super) transport: &'a mut Transport,
    pub(super) counters: &'a Counters,
    /// Warnings to post once the state lock is released.
    pub(super) warnings: &'a mut Vec<String>,
}

impl Publisher {
    pub(super) fn new(builder: PayloadBuilder, key_path: String) -> Self {
        Publisher {
            builder,
            key: KeyPath::parse(&key_path),
            key_path,
            payload: String::with_capacity(2048),
            key_missing_warned: false,
            track_attributes: HashMap::new(),
        }
    }

    /// `publish=tracks`: remembers the attributes of the tracked objects of a frame, so the
    /// track's events (also its exit, when the object is gone) carry them.
    pub(super) fn remember_attributes(&mut self, detections: &[Detection]) {
        for d in detections {
            let Some(track) = d.track_id.filter(|_| !d.attributes.is_empty()) else {
                continue;
            };
            if self.track_attributes.len() >= MAX_TRACK_ATTRIBUTES
                && !self.track_attributes.contains_key(&track)
            {
                self.track_attributes.clear();
            }
            self.track_attributes.insert(
                track,
                d.attributes
                    .iter()
                    .map(|a| (a.name.clone(), a.label.clone(), a.confidence))
                    .collect(),
            );
        }
    }

    /// `publish=frames`: the messages of one frame's `objects` in `payload_type`, with the
    /// builder's `event.type`.
    pub(super) fn frame(
        &mut self,
        payload_type: PayloadType,
        frame: &Frame,
        objects: &[Object],
        sink: &mut Sink<'_>,
    ) {
        match payload_type {
            PayloadType::DeepStream => {
                for obj in objects {
                    let mut payload = std::mem::take(&mut self.payload);
                    payload.clear();
                    let message_id = uuid::Uuid::new_v4();
                    let event_id = uuid::Uuid::new_v4();
                    self.builder.write_full(
                        &mut payload,
                        frame,
                        obj,
                        &message_id.to_string(),
                        &event_id.to_string(),
                    );
                    self.payload = payload;
                    self.send(Some(obj), sink);
                }
            }
            PayloadType::DeepStreamMinimal => {
                let mut payload = std::mem::take(&mut self.payload);
                payload.clear();
                self.builder.write_minimal(&mut payload, frame, objects);
                self.payload = payload;
                self.send(None, sink);
            }
        }
    }

    /// `publish=tracks`: one full-schema message per event, `event.type` the event, boxes
    /// clipped to a `frame_width` x `frame_height` frame. Events of a type the schema does
    /// not know are skipped. Returns the number of messages made.
    pub(super) fn track_events(
        &mut self,
        frame: &Frame,
        events: &[TrackEvent],
        frame_width: u32,
        frame_height: u32,
        sink: &mut Sink<'_>,
    ) -> usize {
        let mut made = 0;
        for ev in events {
            if !EVENT_TYPES.contains(&ev.event.as_str()) {
                continue;
            }
            let mut obj = Object::from_track_event(ev, frame_width, frame_height);
            obj.attributes = if ev.event == "exit" {
                self.track_attributes.remove(&ev.track_id)
            } else {
                self.track_attributes.get(&ev.track_id).cloned()
            }
            .unwrap_or_default();
            let mut payload = std::mem::take(&mut self.payload);
            payload.clear();
            let message_id = uuid::Uuid::new_v4();
            let event_id = uuid::Uuid::new_v4();
            self.builder.write_full_with_event(
                &mut payload,
                frame,
                &obj,
                &ev.event,
                &message_id.to_string(),
                &event_id.to_string(),
            );
            self.payload = payload;
            self.send(Some(&obj), sink);
            made += 1;
        }
        made
    }

    /// `publish-analytics`: one full-schema message per analytics event of the frame
    /// ([`crate::msgconv::analytics`]). An event whose track is not on the frame gets its
    /// id and label with an empty box, and the track's remembered attributes
    /// (`publish=tracks`). Returns the number of messages made.
    pub(super) fn analytics_events(
        &mut self,
        frame: &Frame,
        events: &[EventObject],
        sink: &mut Sink<'_>,
    ) -> usize {
        for e in events {
            let obj = match (&e.object, e.event.track_id) {
                (Some(o), _) => o.clone(),
                (None, Some(id)) => {
                    let mut o = e.event.absent_object();
                    o.attributes = self.track_attributes.get(&id).cloned().unwrap_or_default();
                    o
                }
                (None, None) => AnalyticsEvent::crowd_object(),
            };
            let mut payload = std::mem::take(&mut self.payload);
            payload.clear();
            let message_id = uuid::Uuid::new_v4();
            let event_id = uuid::Uuid::new_v4();
            self.builder.write_analytics_event(
                &mut payload,
                frame,
                &e.event,
                &obj,
                e.status.as_ref(),
                &message_id.to_string(),
                &event_id.to_string(),
            );
            self.payload = payload;
            self.send(Some(&obj), sink);
        }
        events.len()
    }

    /// `publish=frames` with the minimal schema and `publish-analytics`: the frame's
    /// message with its analytics `counts`.
    pub(super) fn minimal_with_counts(
        &mut self,
        frame: &Frame,
        objects: &[Object],
        counts: &FrameCounts,
        sink: &mut Sink<'_>,
    ) {
        let mut payload = std::mem::take(&mut self.payload);
        payload.clear();
        self.builder
            .write_minimal_with_counts(&mut payload, frame, objects, counts);
        self.payload = payload;
        self.send(None, sink);
    }

    /// One full-schema message for a finished clip (`now_ms`: the time of a clip without
    /// frames).
    pub(super) fn clip(&mut self, clip: &ClipDone, now_ms: i64, sink: &mut Sink<'_>) {
        let mut payload = std::mem::take(&mut self.payload);
        payload.clear();
        let message_id = uuid::Uuid::new_v4();
        let event_id = uuid::Uuid::new_v4();
        self.builder.write_clip(
            &mut payload,
            clip,
            now_ms,
            &message_id.to_string(),
            &event_id.to_string(),
        );
        self.payload = payload;
        self.send(None, sink);
    }

    /// Enqueues the serialised payload with its key.
    fn send(&mut self, obj: Option<&Object>, sink: &mut Sink<'_>) {
        let key = self.key.key(&self.builder, obj, &self.payload);
        if key.is_none() && self.key != KeyPath::None && !self.key_missing_warned {
            self.key_missing_warned = true;
            sink.warnings.push(format!(
                "partition-key {:?} is not in the messages: they are sent without a key",
                self.key_path
            ));
        }
        if let Some(w) = sink
            .transport
            .enqueue(sink.counters, &self.payload, key.as_deref())
        {
            sink.warnings.push(w);
        }
    }
}
