//! rsmsgbroker without a real broker: pass-through behaviour (Harness), payloads through the
//! file transport (frames, rstracker's track events, rssmartrecord's clips), one file shared
//! by two elements, configuration errors, secrets,
//! and fault injection with librdkafka's mock cluster (broker down at start, queue bound and
//! drops, flush on stop, request errors). The end-to-end and outage tests with a real broker are in
//! tests/rsmsgbroker_kafka.rs.

mod common;

use std::time::{Duration, Instant};

use gst::prelude::*;
use gstrsvision::detection::tracking::{self, TrackerFrame};
use gstrsvision::detection::{self, Attribute, Detection, TrackEvent};
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use serde_json::Value;

use common::{broker, init, TempDir};

#[path = "msgbroker/clips.rs"]
mod clips;
#[path = "msgbroker/files.rs"]
mod files;
#[path = "msgbroker/schema.rs"]
mod schema;
#[path = "msgbroker/tracks.rs"]
mod tracks;
use schema::{check_full_schema, check_minimal_schema};

const W: u32 = 640;
const H: u32 = 480;
const CAPS: &str = "video/x-raw,format=GRAY8,width=640,height=480,framerate=30/1";

fn det(i: usize, label: &str, track: Option<u64>) -> Detection {
    Detection {
        x: 10.4 + 50.0 * i as f64,
        y: 20.6 + 10.0 * i as f64,
        width: 40.2,
        height: 30.0,
        confidence: 0.75,
        label_id: i as i32,
        label: label.to_string(),
        track_id: track,
        tracking: None,
        attributes: Vec::new(),
    }
}

/// A GRAY8 frame `n` (pts n/30 s) carrying `dets`.
fn frame(n: u64, dets: &[Detection]) -> gst::Buffer {
    let mut buf = gst::Buffer::with_size((W * H) as usize).unwrap();
    {
        let b = buf.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_nseconds(n * 1_000_000_000 / 30));
        b.set_duration(gst::ClockTime::from_nseconds(1_000_000_000 / 30));
        detection::attach(b, dets, W, H, 0);
    }
    buf
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

fn stats(e: &gst::Element) -> gst::Structure {
    e.property::<gst::Structure>("stats")
}

fn stat(e: &gst::Element, name: &str) -> u64 {
    stats(e).get::<u64>(name).unwrap()
}

/// An appsrc pipeline feeding an rsmsgbroker, collecting its bus messages.
struct Run {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    broker: gst::Element,
}

impl Run {
    fn new(props: &str) -> Run {
        init();
        let pipeline = common::launch(&format!(
            "appsrc name=src format=time caps={CAPS} ! rsmsgbroker name=b {props} ! fakesink name=sink sync=false"
        ));
        let src = common::element::<gst_app::AppSrc>(&pipeline, "src");
        let broker = common::element::<gst::Element>(&pipeline, "b");
        Run {
            pipeline,
            src,
            broker,
        }
    }

    fn play(&self) {
        self.pipeline.set_state(gst::State::Playing).unwrap();
    }

    fn push(&self, n: u64, dets: &[Detection]) {
        self.src.push_buffer(frame(n, dets)).unwrap();
    }

    /// Sends EOS, waits for it (or `timeout`), returns every warning/error text seen.
    fn finish(&self, timeout: Duration) -> Vec<String> {
        self.src.end_of_stream().unwrap();
        let bus = self.pipeline.bus().unwrap();
        let mut texts = Vec::new();
        let mut eos = false;
        for msg in bus.iter_timed(gst::ClockTime::from_nseconds(timeout.as_nanos() as u64)) {
            match msg.view() {
                gst::MessageView::Eos(_) => {
                    eos = true;
                    break;
                }
                gst::MessageView::Warning(w) => texts.push(format!("warning: {}", w.error())),
                gst::MessageView::Error(e) => texts.push(format!("error: {}", e.error())),
                _ => {}
            }
        }
        assert!(eos, "no EOS within {timeout:?}: {texts:?}");
        texts
    }

    /// Stops (READY, where the element's stop() runs, then NULL, which flushes the bus) and
    /// returns the warnings posted while stopping.
    fn stop(&self) -> Vec<String> {
        self.pipeline.set_state(gst::State::Ready).unwrap();
        let texts = self.drain();
        self.pipeline.set_state(gst::State::Null).unwrap();
        texts
    }

    fn drain(&self) -> Vec<String> {
        let bus = self.pipeline.bus().unwrap();
        let mut texts = Vec::new();
        while let Some(msg) = bus.pop() {
            match msg.view() {
                gst::MessageView::Warning(w) => texts.push(format!("warning: {}", w.error())),
                gst::MessageView::Error(e) => texts.push(format!("error: {}", e.error())),
                _ => {}
            }
        }
        texts
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// The start error of an rsmsgbroker with `props`, as posted on the bus.
fn start_error(props: &str) -> String {
    init();
    let pipeline = common::launch(&format!(
        "fakesrc num-buffers=1 ! rsmsgbroker {props} ! fakesink"
    ));
    let res = pipeline.set_state(gst::State::Paused);
    let bus = pipeline.bus().unwrap();
    let mut text = None;
    while let Some(msg) = bus.timed_pop(gst::ClockTime::from_seconds(5)) {
        if let gst::MessageView::Error(e) = msg.view() {
            text = Some(format!("{} | {:?}", e.error(), e.debug()));
            break;
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(res.is_err(), "{props}: started");
    text.unwrap_or_else(|| panic!("{props}: no error message"))
}

#[test]
fn harness_passes_buffers_through_untouched() {
    init();
    let dir = TempDir::new("msgbroker-harness");
    let out = dir.path().join("events.jsonl");
    let e = gst::ElementFactory::make("rsmsgbroker")
        .property("conn-str", format!("file://{}", out.display()))
        .property("frame-interval", 1u32)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&e, Some("sink"), Some("src"));
    h.set_src_caps_str(CAPS);
    h.play();
    let dets = [det(0, "person", Some(7)), det(1, "car", None)];
    for n in 0..5 {
        let input = frame(n, &dets);
        let ptr = input.as_ptr();
        let output = h.push_and_pull(input).unwrap();
        assert_eq!(output.as_ptr(), ptr, "buffer copied or replaced");
        assert_eq!(
            output.pts(),
            Some(gst::ClockTime::from_nseconds(n * 1_000_000_000 / 30))
        );
        assert_eq!(detection::read(&output, W, H).len(), 2, "metadata changed");
    }
    drop(h);
    let msgs = lines(&out);
    assert_eq!(msgs.len(), 10);
    let st = stats(&e);
    assert_eq!(st.get::<u64>("frames").unwrap(), 5);
    assert_eq!(st.get::<u64>("delivered").unwrap(), 10);
}

/// Every field of the full schema with its JSON type, and the values from the metadata.
#[test]
fn full_schema_fields_from_metadata() {
    let dir = TempDir::new("msgbroker-full");
    let out = dir.path().join("events.jsonl");
    let cfg = common::root().join("tests/data/msgconv_sample_config.txt");
    let run = Run::new(&format!(
        "conn-str=file://{} config={} frame-interval=1 event-type=moving",
        out.display(),
        cfg.display()
    ));
    run.play();
    let dets = [det(0, "person", Some(13103)), det(1, "car", None)];
    run.push(0, &dets);
    assert!(run.finish(Duration::from_secs(10)).is_empty());
    run.stop();
    let msgs = lines(&out);
    assert_eq!(msgs.len(), 2);
    check_full_schema(&msgs[0]);
    check_full_schema(&msgs[1]);
    let m = &msgs[0];
    assert_eq!(
        m["sensor"]["id"],
        "HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00"
    );
    assert_eq!(m["sensor"]["location"]["lat"], 45.293701447);
    assert_eq!(m["place"]["entrance"]["lane"], "Lane 1");
    assert_eq!(m["analyticsModule"]["id"], "XYZ_1");
    assert_eq!(m["event"]["type"], "moving");
    assert_eq!(m["object"]["id"], "13103");
    assert!(m["object"]["Person"].is_object());
    // Box 10.4,20.6 40.2x30 -> rounded edges.
    assert_eq!(m["object"]["bbox"]["topleftx"], 10);
    assert_eq!(m["object"]["bbox"]["toplefty"], 21);
    assert_eq!(m["object"]["bbox"]["bottomrightx"], 51);
    assert_eq!(m["object"]["bbox"]["bottomrighty"], 51);
    assert_eq!(msgs[1]["object"]["id"], "-1");
    assert!(msgs[1]["object"]["Car"].is_object());
    assert_ne!(msgs[0]["messageid"], msgs[1]["messageid"]);
}

#[test]
fn minimal_schema_and_frame_interval() {
    let dir = TempDir::new("msgbroker-minimal");
    let out = dir.path().join("events.jsonl");
    let run = Run::new(&format!(
        "conn-str=file://{} payload-type=deepstream-minimal frame-interval=3 sensor-id=cam-7",
        out.display()
    ));
    run.play();
    for n in 0..10 {
        // Frame 6 has no objects: no message.
        let dets: Vec<Detection> = if n == 6 {
            vec![]
        } else {
            vec![det(0, "person", Some(n)), det(1, "car", Some(100 + n))]
        };
        run.push(n, &dets);
    }
    assert!(run.finish(Duration::from_secs(10)).is_empty());
    let msgs = lines(&out);
    let ids: Vec<&str> = msgs.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["0", "3", "9"]);
    for m in &msgs {
        assert_eq!(m["sensorId"], "cam-7");
        let objs = check_minimal_schema(m);
        let n: u64 = m["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            objs[0],
            ["{n}", "10", "21", "51", "51", "person"].map(|s| s.replace("{n}", &n.to_string()))
        );
        assert_eq!(objs[1][0], (100 + n).to_string());
        assert_eq!(objs[1][5], "car");
    }
    assert_eq!(stat(&run.broker, "published-frames"), 3);
    assert_eq!(stat(&run.broker, "frames"), 10);
}

/// `@timestamp` from a reference timestamp meta (NTP as rtspsrc writes it, or Unix),
/// else from the pipeline clock (near the wall-clock time of the run).
#[test]
fn capture_timestamps() {
    let dir = TempDir::new("msgbroker-ts");
    let out = dir.path().join("events.jsonl");
    let run = Run::new(&format!(
        "conn-str=file://{} frame-interval=1",
        out.display()
    ));
    run.play();
    let ntp = gst::Caps::builder("timestamp/x-ntp").build();
    let unix = gst::Caps::builder("timestamp/x-unix").build();
    // 2021-07-28T17:53:19.339Z
    let unix_ns = 1_627_494_799_339_000_000u64 + 400_000;
    let ntp_ns = unix_ns + 2_208_988_800 * 1_000_000_000;
    let d = [det(0, "person", None)];
    let mut b = frame(0, &d);
    gst::ReferenceTimestampMeta::add(
        b.get_mut().unwrap(),
        &ntp,
        gst::ClockTime::from_nseconds(ntp_ns),
        None,
    );
    run.src.push_buffer(b).unwrap();
    let mut b = frame(1, &d);
    gst::ReferenceTimestampMeta::add(
        b.get_mut().unwrap(),
        &unix,
        gst::ClockTime::from_nseconds(unix_ns + 1_000_000_000),
        None,
    );
    run.src.push_buffer(b).unwrap();
    let before = std::time::SystemTime::now();
    run.push(2, &d);
    assert!(run.finish(Duration::from_secs(10)).is_empty());
    let msgs = lines(&out);
    assert_eq!(msgs[0]["@timestamp"], "2021-07-28T17:53:19.339Z");
    assert_eq!(msgs[1]["@timestamp"], "2021-07-28T17:53:20.339Z");
    let ts = msgs[2]["@timestamp"].as_str().unwrap();
    let now = gstrsvision::msgconv::format_timestamp(
        before
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    // Same minute as the run (the clock mapping is near wall-clock time).
    assert_eq!(&ts[..16], &now[..16], "{ts} vs {now}");
}

#[test]
fn configuration_errors_at_start() {
    let dir = TempDir::new("msgbroker-cfg");
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "[sensor0]\nenable=1\nid=cam\nlocation=45.2;-75.8\n").unwrap();
    for (props, needle) in [
        ("", "conn-str is empty"),
        ("conn-str=localhost", "Invalid conn-str"),
        ("conn-str=localhost;9092", "No Kafka topic"),
        (
            &format!("conn-str=localhost;9092;t config={}", bad.display()),
            "line 4: location",
        ),
        (
            "conn-str=localhost;9092;t config=/nonexistent/msgconv.txt",
            "cannot read /nonexistent/msgconv.txt",
        ),
        (
            "conn-str=localhost;9092;t broker-config=/nonexistent/kafka.txt",
            "cannot read",
        ),
        (
            "conn-str=localhost;9092;t proto-cfg=\"no.such.property=1\"",
            "no.such.property",
        ),
        (
            "conn-str=file:///nonexistent-dir/x.jsonl",
            "Could not open /nonexistent-dir/x.jsonl",
        ),
    ] {
        let e = start_error(props);
        assert!(e.contains(needle), "{props}: {e}");
    }
}

/// The DeepStream sample msgconv file parses to the values it holds.
#[test]
fn deepstream_sample_msgconv_file() {
    let c = gstrsvision::msgconv::MsgConvConfig::load(
        &common::root().join("tests/data/msgconv_sample_config.txt"),
    )
    .unwrap();
    assert_eq!(c.sensors.len(), 2);
    assert_eq!(
        c.sensors[&1].id,
        "HWY_20_AND_LOCUST__WBA__4_11_2018_4_59_59_379_AM_UTC-07_00"
    );
    assert_eq!(c.places[&0].sub_fields[1], "Lane 1");
    assert_eq!(c.analytics[&0].source, "OpenALR");
}

/// TLS and SASL settings are accepted (rdkafka built with ssl and sasl), the element starts
/// with the broker unreachable, and the password appears in no log line or message.
#[test]
fn sasl_ssl_settings_and_secrets_never_logged() {
    init();
    let capture = common::LogCapture::start("rsmsgbroker", gst::DebugLevel::Log);
    let port = broker::free_port();
    let run = Run::new(&format!(
        "conn-str=127.0.0.1;{port};t frame-interval=1 flush-timeout=200 proto-cfg=\"security.protocol=SASL_SSL;sasl.mechanisms=SCRAM-SHA-512;sasl.username=alice;sasl.password=hunter2secret;ssl.key.password=k3ypass\""
    ));
    run.play();
    run.push(0, &[det(0, "person", None)]);
    let mut texts = run.finish(Duration::from_secs(10));
    texts.extend(run.stop());
    let log = capture.finish();
    assert!(
        log.contains("sasl.password=[redacted]"),
        "settings not logged:\n{log}"
    );
    assert!(log.contains("sasl.username=alice"));
    for secret in ["hunter2secret", "k3ypass"] {
        assert!(!log.contains(secret), "{secret} logged");
        assert!(
            !texts.iter().any(|t| t.contains(secret)),
            "{secret} in {texts:?}"
        );
    }
    // Broker unreachable: the message could not be delivered, reported at EOS.
    assert!(
        texts.iter().any(|t| t.contains("undelivered at EOS")),
        "{texts:?}"
    );
}

fn mock_cluster(topic: &str) -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let m = MockCluster::new(1).expect("mock cluster");
    m.create_topic(topic, 1, 1).unwrap();
    m
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Broker down at start: the pipeline starts and runs at full rate, messages queue and are
/// all delivered when the broker comes up.
#[test]
fn mock_broker_down_at_start_then_up() {
    let topic = "down-at-start";
    let m = mock_cluster(topic);
    m.broker_down(1).unwrap();
    let run = Run::new(&format!(
        "conn-str={} topic={topic} frame-interval=1 sensor-id=cam",
        m.bootstrap_servers()
    ));
    run.play();
    let t = Instant::now();
    for n in 0..50 {
        run.push(n, &[det(0, "person", Some(n)), det(1, "car", None)]);
    }
    wait_for("frames through", Duration::from_secs(5), || {
        stat(&run.broker, "frames") == 50
    });
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "streaming thread blocked"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(stat(&run.broker, "delivered"), 0);
    assert_eq!(stat(&run.broker, "queued"), 100);
    m.broker_up(1).unwrap();
    wait_for("delivery", Duration::from_secs(30), || {
        stat(&run.broker, "delivered") == 100
    });
    let texts = run.finish(Duration::from_secs(10));
    assert!(!texts.iter().any(|t| t.starts_with("error")), "{texts:?}");
    run.stop();
    let got = broker::consume(
        &m.bootstrap_servers(),
        topic,
        1,
        100,
        Duration::from_secs(20),
        Duration::from_millis(500),
    );
    assert_eq!(got.len(), 100);
    for r in &got {
        assert_eq!(r.key.as_deref(), Some("cam"));
        check_full_schema(&serde_json::from_str(&r.payload).unwrap());
    }
    let st = stats(&run.broker);
    assert_eq!(st.get::<u64>("failed").unwrap(), 0, "{st}");
    assert_eq!(st.get::<u64>("dropped").unwrap(), 0, "{st}");
}

/// Beyond max-queued-messages, messages are dropped and counted with a single warning;
/// the ones kept are delivered once the broker returns.
#[test]
fn mock_queue_bound_drops_with_one_warning() {
    let topic = "bound";
    let m = mock_cluster(topic);
    m.broker_down(1).unwrap();
    let run = Run::new(&format!(
        "conn-str={} topic={topic} frame-interval=1 max-queued-messages=10",
        m.bootstrap_servers()
    ));
    run.play();
    for n in 0..30 {
        run.push(n, &[det(0, "person", Some(n))]);
    }
    wait_for("frames through", Duration::from_secs(5), || {
        stat(&run.broker, "frames") == 30
    });
    assert_eq!(stat(&run.broker, "queued"), 10);
    assert_eq!(stat(&run.broker, "dropped"), 20);
    m.broker_up(1).unwrap();
    wait_for("delivery", Duration::from_secs(30), || {
        stat(&run.broker, "delivered") == 10
    });
    let texts = run.finish(Duration::from_secs(10));
    let drops = texts.iter().filter(|t| t.contains("queue full")).count();
    assert_eq!(drops, 1, "{texts:?}");
    run.stop();
    let got = broker::consume(
        &m.bootstrap_servers(),
        topic,
        1,
        10,
        Duration::from_secs(20),
        Duration::from_millis(500),
    );
    // The first 10 frames were kept.
    let mut ids: Vec<String> = got
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.payload).unwrap()["object"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.sort_by_key(|s| s.parse::<u64>().unwrap());
    assert_eq!(ids, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
}

/// Stop with the broker away: waits flush-timeout, then reports what was not delivered.
#[test]
fn mock_flush_on_stop_reports_undelivered() {
    let topic = "flush";
    let m = mock_cluster(topic);
    let run = Run::new(&format!(
        "conn-str={} topic={topic} frame-interval=1 flush-timeout=700",
        m.bootstrap_servers()
    ));
    run.play();
    for n in 0..5 {
        run.push(n, &[det(0, "person", None)]);
    }
    wait_for("delivery", Duration::from_secs(20), || {
        stat(&run.broker, "delivered") == 5
    });
    m.broker_down(1).unwrap();
    for n in 5..12 {
        run.push(n, &[det(0, "person", None)]);
    }
    wait_for("frames", Duration::from_secs(5), || {
        stat(&run.broker, "frames") == 12
    });
    let t = Instant::now();
    let texts = run.stop();
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("7 Kafka messages could not be delivered")),
        "{texts:?}"
    );
    let st = stats(&run.broker);
    assert_eq!(st.get::<u64>("delivered").unwrap(), 5, "{st}");
    assert_eq!(st.get::<u64>("failed").unwrap(), 7, "{st}");
    assert_eq!(st.get::<u64>("queued").unwrap(), 0, "{st}");
}

/// Retriable produce errors are retried (all delivered once); a permanent error is counted
/// with one warning and the stream goes on.
#[test]
fn mock_request_errors() {
    let topic = "errors";
    let m = mock_cluster(topic);
    m.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 3],
    );
    let run = Run::new(&format!(
        "conn-str={} topic={topic} frame-interval=1",
        m.bootstrap_servers()
    ));
    run.play();
    for n in 0..5 {
        run.push(n, &[det(0, "person", Some(n))]);
    }
    wait_for("delivery", Duration::from_secs(30), || {
        stat(&run.broker, "delivered") == 5
    });
    m.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED; 2],
    );
    for n in 5..10 {
        run.push(n, &[det(0, "person", Some(n))]);
    }
    wait_for("outcome", Duration::from_secs(30), || {
        stat(&run.broker, "delivered") + stat(&run.broker, "failed") == 10
    });
    let texts = run.finish(Duration::from_secs(10));
    run.stop();
    let failed = stat(&run.broker, "failed");
    assert!(failed >= 1, "permanent error not counted");
    let warnings = texts
        .iter()
        .filter(|t| t.contains("delivery failed"))
        .count();
    assert_eq!(warnings, 1, "{texts:?}");
    let got = broker::consume(
        &m.bootstrap_servers(),
        topic,
        1,
        10,
        Duration::from_secs(10),
        Duration::from_millis(500),
    );
    assert_eq!(got.len() as u64, 10 - failed);
    let mut ids: Vec<String> = got
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.payload).unwrap()["messageid"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len(), "duplicates");
}

/// librdkafka was built with Cyrus SASL (GSSAPI/Kerberos) and OpenSSL: a client with these
/// settings is created (it would be refused with "No provider for SASL mechanism GSSAPI"
/// or "OpenSSL not available at build time" otherwise).
#[test]
fn gssapi_and_ssl_available() {
    init();
    let port = broker::free_port();
    let pipeline = common::launch(&format!(
        "fakesrc num-buffers=0 ! rsmsgbroker conn-str=127.0.0.1;{port};t flush-timeout=0 proto-cfg=\"security.protocol=SASL_SSL;sasl.mechanisms=GSSAPI;sasl.kerberos.service.name=kafka;sasl.kerberos.min.time.before.relogin=0\" ! fakesink"
    ));
    let res = pipeline.set_state(gst::State::Paused);
    let bus = pipeline.bus().unwrap();
    let mut err = None;
    while let Some(msg) = bus.pop() {
        if let gst::MessageView::Error(e) = msg.view() {
            err = Some(e.error().to_string());
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(res.is_ok() && err.is_none(), "{err:?}");
}

/// A DeepStream broker config file (`[message-broker]`): its partition-key and
/// producer-proto-cfg are used; a path missing from the messages sends them without a key
/// and warns once.
#[test]
fn mock_broker_config_file() {
    let topic = "brokercfg";
    let m = mock_cluster(topic);
    let dir = TempDir::new("msgbroker-brokercfg");
    let cfg = dir.path().join("cfg_kafka.txt");
    std::fs::write(
        &cfg,
        "[message-broker]\n#comment\nproto-cfg = \"message.send.max.retries=3\"\nproducer-proto-cfg = \"linger.ms=1\"\npartition-key = object.id\nconsumer-group-id = unused\n",
    )
    .unwrap();
    let run = Run::new(&format!(
        "conn-str={} topic={topic} frame-interval=1 broker-config={}",
        m.bootstrap_servers(),
        cfg.display()
    ));
    run.play();
    for n in 0..4 {
        run.push(n, &[det(0, "person", Some(10 + n))]);
    }
    wait_for("delivery", Duration::from_secs(20), || {
        stat(&run.broker, "delivered") == 4
    });
    assert!(run.finish(Duration::from_secs(10)).is_empty());
    run.stop();
    let got = broker::consume(
        &m.bootstrap_servers(),
        topic,
        1,
        4,
        Duration::from_secs(10),
        Duration::from_millis(300),
    );
    let mut keys: Vec<String> = got.iter().map(|r| r.key.clone().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["10", "11", "12", "13"]);

    // A path that is not in the payload: no key, one warning.
    let run = Run::new(&format!(
        "conn-str={} topic={topic} frame-interval=1 partition-key=object.nothing",
        m.bootstrap_servers()
    ));
    run.play();
    for n in 0..3 {
        run.push(n, &[det(0, "person", None)]);
    }
    let texts = run.finish(Duration::from_secs(20));
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("\"object.nothing\" is not in the messages"))
            .count(),
        1,
        "{texts:?}"
    );
}

/// max-queued-bytes bounds the queue in bytes (payload + key) as well.
#[test]
fn mock_queue_bound_in_bytes() {
    let topic = "bytes";
    let m = mock_cluster(topic);
    m.broker_down(1).unwrap();
    let run = Run::new(&format!(
        "conn-str={} topic={topic} frame-interval=1 max-queued-bytes=3000 flush-timeout=0",
        m.bootstrap_servers()
    ));
    run.play();
    for n in 0..10 {
        run.push(n, &[det(0, "person", Some(n))]);
    }
    wait_for("frames through", Duration::from_secs(5), || {
        stat(&run.broker, "frames") == 10
    });
    let st = stats(&run.broker);
    let queued = st.get::<u64>("queued").unwrap();
    let bytes = st.get::<u64>("queued-bytes").unwrap();
    // One full-schema message with this config is about 800 bytes.
    assert!((2..=3).contains(&queued), "{st}");
    assert!(bytes <= 3000 && bytes > 1500, "{st}");
    assert_eq!(st.get::<u64>("dropped").unwrap(), 10 - queued, "{st}");
    let texts = run.stop();
    assert!(
        texts.iter().any(|t| t.contains("could not be delivered")),
        "{texts:?}"
    );
}

/// At the end of a tee branch (nothing linked after it) rsmsgbroker publishes and consumes
/// the buffers instead of failing the branch with not-linked.
#[test]
fn end_of_tee_branch() {
    init();
    let dir = TempDir::new("msgbroker-tee");
    let out = dir.path().join("events.jsonl");
    let pipeline = common::launch(&format!(
        "appsrc name=src format=time caps={CAPS} ! tee name=t t. ! queue ! fakesink sync=false \
         t. ! queue ! rsmsgbroker name=b frame-interval=1 conn-str=file://{}",
        out.display()
    ));
    let src = common::element::<gst_app::AppSrc>(&pipeline, "src");
    let b = common::element::<gst::Element>(&pipeline, "b");
    pipeline.set_state(gst::State::Playing).unwrap();
    for n in 0..20 {
        src.push_buffer(frame(n, &[det(0, "person", Some(n))]))
            .unwrap();
    }
    wait_for("frames", Duration::from_secs(10), || {
        stat(&b, "frames") == 20
    });
    src.end_of_stream().unwrap();
    let bus = pipeline.bus().unwrap();
    let mut eos = false;
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(10)) {
        match msg.view() {
            gst::MessageView::Eos(_) => {
                eos = true;
                break;
            }
            gst::MessageView::Error(e) => panic!("{} {:?}", e.error(), e.debug()),
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(eos);
    assert_eq!(lines(&out).len(), 20);
}
