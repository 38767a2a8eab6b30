//! Memory of rsmsgbroker (DeepStream users report growth with the broker enabled): resident
//! memory stays flat over 100 000 delivered messages, and during an outage it is bounded by
//! `max-queued-messages` however many messages arrive (here 100 000, about 100 MB of JSON
//! if they were all kept, against a bound of 5 000).
//!
//! Own test binary: resident memory is per process.

mod common;

use std::time::{Duration, Instant};

use gst::prelude::*;
use gstrsvision::detection::{self, Detection};
use rdkafka::mocking::MockCluster;

/// Resident set size of this process in kB (`VmRSS` of /proc/self/status).
fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn dets(n: u64) -> Vec<Detection> {
    (0..10)
        .map(|i| Detection {
            x: 10.0 * i as f64,
            y: 5.0,
            width: 20.0,
            height: 30.0,
            confidence: 0.5,
            label_id: i,
            label: "person".into(),
            track_id: Some(n * 10 + i as u64),
            tracking: None,
            attributes: Vec::new(),
        })
        .collect()
}

fn stat(e: &gst::Element, name: &str) -> u64 {
    e.property::<gst::Structure>("stats")
        .get::<u64>(name)
        .unwrap()
}

fn push_frames(h: &mut gst_check::Harness, first: u64, count: u64) {
    for n in first..first + count {
        let mut buf = gst::Buffer::new();
        {
            let b = buf.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_nseconds(n * 33_333_333));
            detection::attach(b, &dets(n), 640, 480, 0);
        }
        h.push(buf).unwrap();
        drop(h.pull().unwrap());
    }
}

fn harness(bootstrap: &str, max_queued: u32) -> (gst_check::Harness, gst::Element) {
    let e = gst::ElementFactory::make("rsmsgbroker")
        .property("conn-str", bootstrap)
        .property("topic", "mem")
        .property("frame-interval", 1u32)
        .property("max-queued-messages", max_queued)
        .property("flush-timeout", 0u32)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&e, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=GRAY8,width=640,height=480,framerate=30/1");
    h.play();
    (h, e)
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn memory_stays_bounded() {
    common::init();
    let m = MockCluster::new(1).unwrap();
    m.create_topic("mem", 1, 1).unwrap();

    // Steady delivery: flat after warm-up.
    let (mut h, e) = harness(&m.bootstrap_servers(), 100_000);
    push_frames(&mut h, 0, 1000);
    wait_for("warm-up delivery", Duration::from_secs(60), || {
        stat(&e, "delivered") == 10_000
    });
    let before = rss_kb();
    push_frames(&mut h, 1000, 10_000);
    wait_for("delivery", Duration::from_secs(120), || {
        stat(&e, "delivered") == 110_000
    });
    let after = rss_kb();
    eprintln!("delivering 100000 messages: RSS {before} kB -> {after} kB");
    assert!(
        after < before + 20 * 1024,
        "RSS grew by {} kB over 100000 delivered messages",
        after - before
    );
    drop(h);

    // Outage: bounded by max-queued-messages.
    m.broker_down(1).unwrap();
    let (mut h, e) = harness(&m.bootstrap_servers(), 5000);
    push_frames(&mut h, 0, 200);
    let before = rss_kb();
    push_frames(&mut h, 200, 10_000);
    let after = rss_kb();
    eprintln!(
        "outage, 102000 messages offered, {} queued, {} dropped: RSS {before} kB -> {after} kB",
        stat(&e, "queued"),
        stat(&e, "dropped")
    );
    assert_eq!(stat(&e, "queued"), 5000);
    assert_eq!(stat(&e, "dropped"), 97_000);
    assert!(
        after < before + 30 * 1024,
        "RSS grew by {} kB during the outage",
        after - before
    );
    drop(h);
}
