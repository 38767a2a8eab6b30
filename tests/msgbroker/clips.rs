//! rsmsgbroker and rssmartrecord's `rssmartrecord-done` downstream event: one full-schema
//! message per finished clip, in either `publish` mode (part of the `rsmsgbroker` test
//! binary; the real `rssmartrecord ! … ! rsmsgbroker` pipeline is in
//! tests/rssmartrecord_events.rs).

use super::schema::check_clip_schema;
use super::tracks::{broker_harness, harness_warnings};
use super::*;
use gstrsvision::detection::clip::{self as clips, ClipDone};

fn finished_clip(id: u32, reason: &str) -> ClipDone {
    ClipDone {
        session_id: id,
        sensor_id: "cam1".into(),
        filename: format!("clip_cam1_{id:05}_20210728-175314.mp4"),
        dirpath: "/var/clips".into(),
        container: "mp4".into(),
        // 2021-07-28T17:53:14.299Z to 17:53:19.339Z (date -u -d @1627494794.299).
        start_ms: Some(1_627_494_794_299),
        end_ms: Some(1_627_494_799_339),
        requested_start_ms: 1_627_494_794_500,
        start_truncated: true,
        duration_ms: 5040,
        width: 640,
        height: 480,
        codec: "h264".into(),
        contains_video: true,
        contains_audio: false,
        frames: 151,
        bytes: 1_234_567,
        reason: reason.into(),
        complete: true,
        file_kept: true,
        error: None,
    }
}

/// Pushes frames with objects around two clip events; returns the harness.
fn run_clips(out: &std::path::Path, props: &[(&str, &str)]) -> gst_check::Harness {
    let mut h = broker_harness(out, props);
    h.push(frame(0, &[det(0, "person", Some(1))])).unwrap();
    assert!(h.push_event(clips::clip_done_event(&finished_clip(1, "end"))));
    h.push(frame(1, &[det(0, "person", Some(1))])).unwrap();
    assert!(h.push_event(clips::clip_done_event(&finished_clip(2, "eos"))));
    assert!(h.push_event(gst::event::Eos::new()));
    h
}

/// The clips' messages, every field typed; the event goes on downstream.
#[test]
fn clips_one_message_each_in_both_publish_modes() {
    for publish in ["frames", "tracks"] {
        let dir = TempDir::new("mb-clips");
        let out = dir.path().join("events.jsonl");
        let mut h = run_clips(
            &out,
            &[
                ("publish", publish),
                ("sensor-id", "broker-cam"),
                ("frame-interval", "1"),
                // Neither applies to clips.
                ("event-type", "parked"),
                ("include-confidence", "true"),
            ],
        );
        let msgs = lines(&out);
        let clips: Vec<&Value> = msgs
            .iter()
            .filter(|m| m["event"]["type"] == "custom")
            .collect();
        assert_eq!(clips.len(), 2, "{publish}: {msgs:?}");
        // frames: the two frames' objects (event-type parked); tracks: no tracker events.
        let others = msgs.len() - clips.len();
        assert_eq!(others, if publish == "frames" { 2 } else { 0 }, "{publish}");
        for (m, (id, reason)) in clips.iter().zip([(1, "end"), (2, "eos")]) {
            check_clip_schema(m);
            assert_eq!(m["@timestamp"], "2021-07-28T17:53:19.339Z");
            // The broker's sensor, as in its other messages (same key, same partition).
            assert_eq!(m["sensor"]["id"], "broker-cam");
            assert_eq!(
                m["videoPath"],
                format!("/var/clips/clip_cam1_{id:05}_20210728-175314.mp4")
            );
            let o = &m["object"];
            assert_eq!(o["id"], "-1");
            assert!(o.get("confidence").is_none(), "{o}");
            let c = &o["Clip"];
            assert_eq!(c["sessionId"], id);
            assert_eq!(c["sensorId"], "cam1");
            assert_eq!(c["reason"], reason);
            assert_eq!(c["start"], "2021-07-28T17:53:14.299Z");
            assert_eq!(c["end"], "2021-07-28T17:53:19.339Z");
            assert_eq!(c["requestedStart"], "2021-07-28T17:53:14.500Z");
            assert_eq!(c["startTruncated"], true);
            assert_eq!(c["duration"], 5040);
            assert_eq!(c["frames"], 151);
            assert_eq!(c["bytes"], 1_234_567);
            assert_eq!(
                (c["width"].as_i64(), c["height"].as_i64()),
                (Some(640), Some(480))
            );
            assert_eq!(c["fileKept"], true);
            assert_eq!(c["complete"], true);
        }
        let forwarded: Vec<u32> = std::iter::from_fn(|| h.try_pull_event())
            .filter_map(|e| clips::clip_done_from_event(&e))
            .map(|c| c.session_id)
            .collect();
        assert_eq!(
            forwarded,
            vec![1, 2],
            "{publish}: the events go on downstream"
        );
        let st = stats(&h.element().unwrap());
        assert_eq!(st.get::<u64>("delivered").unwrap(), msgs.len() as u64);
        assert!(harness_warnings(&h).is_empty());
    }
}

/// The minimal schema has no event type or video path: clips are not published, the
/// frames are, and the event still goes on downstream.
#[test]
fn clips_are_not_published_in_the_minimal_schema() {
    let dir = TempDir::new("mb-clips-min");
    let out = dir.path().join("events.jsonl");
    let mut h = run_clips(
        &out,
        &[
            ("payload-type", "deepstream-minimal"),
            ("frame-interval", "1"),
        ],
    );
    let msgs = lines(&out);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    for m in &msgs {
        check_minimal_schema(m);
    }
    let forwarded = std::iter::from_fn(|| h.try_pull_event())
        .filter(|e| clips::clip_done_from_event(e).is_some())
        .count();
    assert_eq!(forwarded, 2);
}
