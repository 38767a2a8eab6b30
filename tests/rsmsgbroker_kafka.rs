//! rsmsgbroker against a real Kafka-compatible broker (tansu, started by the tests on a free
//! 127.0.0.1 port, see tests/common/broker.rs), consumed back with an rdkafka consumer:
//! end to end behind rsinfer (both schemas), the broker killed and restarted mid-stream,
//! and the broker down at start.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstrsvision::detection::{self, Detection};
use serde_json::Value;

use common::broker::{self, Broker, Received};
use common::init;

const SENSOR0: &str = "HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00";

fn parse(r: &Received) -> Value {
    serde_json::from_str(&r.payload).unwrap_or_else(|e| panic!("bad JSON {}: {e}", r.payload))
}

/// (label, left, top, right, bottom) of a full-schema message.
fn full_box(m: &Value) -> (String, i64, i64, i64, i64) {
    let o = &m["object"];
    let label = o
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, v)| v.is_object() && !["bbox", "location", "coordinate"].contains(&k.as_str()))
        .map(|(k, _)| k.clone())
        .expect("object type member");
    let b = &o["bbox"];
    let i = |k: &str| {
        b[k].as_i64()
            .unwrap_or_else(|| panic!("{k} not an integer"))
    };
    (
        label,
        i("topleftx"),
        i("toplefty"),
        i("bottomrightx"),
        i("bottomrighty"),
    )
}

fn expected_box(d: &Detection, label_upper: bool) -> (String, i64, i64, i64, i64) {
    let o = gstrsvision::msgconv::Object::from_detection(d, 640, 480);
    let label = if label_upper {
        gstrsvision::msgconv::payload::type_name(&d.label)
    } else {
        d.label.clone()
    };
    (label, o.left, o.top, o.right, o.bottom)
}

/// The sample video through rsinfer to two rsmsgbrokers (full and minimal schema) and back
/// from the broker: one message per detection (full) / per frame with detections
/// (minimal) on the sampled frames, every field present with its type, the boxes of the
/// metadata, keys from partition-key.
#[test]
fn end_to_end_behind_rsinfer() {
    init();
    let broker = Broker::start();
    broker.create_topic("full", 3);
    broker.create_topic("minimal", 2);
    let cfg = common::root().join("tests/data/msgconv_sample_config.txt");
    let interval = 3u64;
    let pipeline = common::launch(&format!(
        "filesrc location={} ! decodebin ! rsinfer name=infer model-location={} conf-threshold=0.5 \
         ! tee name=t \
         t. ! queue ! rsmsgbroker name=full conn-str={conn};full config={cfg} frame-interval={interval} flush-timeout=20000 ! fakesink \
         t. ! queue ! rsmsgbroker name=minimal conn-str={conn};minimal payload-type=deepstream-minimal partition-key=sensorId sensor-id=cam-min frame-interval={interval} flush-timeout=20000 ! fakesink",
        common::root().join("data/sample-shapes.mp4").display(),
        common::shapes_model().display(),
        conn = broker.conn_str(),
        cfg = cfg.display(),
    ));
    // Ground truth: the detections rsinfer attached, per frame.
    let truth: Arc<Mutex<Vec<Vec<Detection>>>> = Arc::default();
    let t2 = truth.clone();
    let infer = common::element::<gst::Element>(&pipeline, "infer");
    infer
        .static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buf) = info.buffer() {
                t2.lock().unwrap().push(detection::read(buf, 640, 480));
            }
            gst::PadProbeReturn::Ok
        });
    common::run_to_eos(&pipeline, 300);
    let truth = truth.lock().unwrap().clone();
    assert!(truth.len() >= 250, "{} frames", truth.len());

    let sampled: Vec<(usize, &Vec<Detection>)> = truth
        .iter()
        .enumerate()
        .filter(|(n, d)| *n as u64 % interval == 0 && !d.is_empty())
        .collect();
    let n_full: usize = sampled.iter().map(|(_, d)| d.len()).sum();
    assert!(n_full > 50, "only {n_full} detections");

    let full = broker::consume(
        &broker.bootstrap(),
        "full",
        3,
        n_full,
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    assert_eq!(full.len(), n_full, "full-schema messages vs detections");
    let mut want: Vec<_> = sampled
        .iter()
        .flat_map(|(_, d)| d.iter().map(|d| expected_box(d, true)))
        .collect();
    let mut got: Vec<_> = full.iter().map(|r| full_box(&parse(r))).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "boxes differ from the metadata");
    let partitions: std::collections::HashSet<i32> = full.iter().map(|r| r.partition).collect();
    assert_eq!(partitions.len(), 1, "one key, one partition");
    for r in &full {
        let m = parse(r);
        check_full_schema(&m);
        assert_eq!(r.key.as_deref(), Some(SENSOR0), "key = sensor.id");
        assert_eq!(m["sensor"]["id"], SENSOR0);
    }

    let minimal = broker::consume(
        &broker.bootstrap(),
        "minimal",
        2,
        sampled.len(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    assert_eq!(
        minimal.len(),
        sampled.len(),
        "minimal messages vs frames with detections"
    );
    let by_frame: HashMap<usize, &Vec<Detection>> = sampled.iter().cloned().collect();
    for r in &minimal {
        assert_eq!(r.key.as_deref(), Some("cam-min"));
        let m = parse(r);
        assert_eq!(m["sensorId"], "cam-min");
        let n: usize = m["id"].as_str().unwrap().parse().unwrap();
        let dets = by_frame
            .get(&n)
            .unwrap_or_else(|| panic!("frame {n} not sampled"));
        let objs = check_minimal_schema(&m);
        let mut got: Vec<_> = objs
            .iter()
            .map(|p| {
                assert_eq!(p[0], "-1", "untracked");
                (
                    p[5].clone(),
                    p[1].parse().unwrap(),
                    p[2].parse().unwrap(),
                    p[3].parse().unwrap(),
                    p[4].parse().unwrap(),
                )
            })
            .collect::<Vec<(String, i64, i64, i64, i64)>>();
        let mut want: Vec<_> = dets.iter().map(|d| expected_box(d, false)).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "frame {n}");
    }
}

/// A live source at 30 fps with two synthetic detections per frame; the broker is killed
/// (SIGKILL) mid-stream and restarted. The stream never stalls and every message arrives
/// once, exactly as sent.
#[test]
fn broker_killed_and_restarted_mid_stream() {
    let mut broker = Broker::start();
    broker.create_topic("outage", 3);
    let run = LiveRun::new(&format!(
        "conn-str={};outage frame-interval=1 sensor-id=cam-outage flush-timeout=60000",
        broker.conn_str()
    ));
    run.push_for(0, Duration::from_secs(2));
    // Killed while messages are still flowing (some delivered, the latest maybe in flight).
    assert!(
        stat(&run.broker, "delivered") > 0,
        "nothing delivered before the kill"
    );
    broker.kill();
    let t = Instant::now();
    run.push_for(60, Duration::from_secs(4));
    let during = stat(&run.broker, "delivered");
    broker.restart();
    eprintln!("broker down for {:?}", t.elapsed());
    run.push_for(180, Duration::from_secs(2));
    let texts = run.finish(Duration::from_secs(90));
    let frames = 240u64;
    run.check_no_stall(frames as usize);
    check_outage_delivery(&broker, ("outage", 3), &run, frames, "cam-outage");
    assert!(during < 480, "the broker was not down?");
    assert!(
        texts.iter().any(|t| t.contains("unreachable")),
        "no outage warning: {texts:?}"
    );
    let outage_warnings = texts.iter().filter(|t| t.contains("unreachable")).count();
    assert_eq!(outage_warnings, 1, "{texts:?}");
}

/// The broker is down when the pipeline starts: it starts, runs, and every message arrives
/// when the broker comes up.
#[test]
fn broker_down_at_start_then_up() {
    let mut broker = Broker::start();
    broker.create_topic("late", 1);
    broker.kill();
    let run = LiveRun::new(&format!(
        "conn-str={};late frame-interval=1 sensor-id=cam-late flush-timeout=60000",
        broker.conn_str()
    ));
    run.push_for(0, Duration::from_secs(2));
    assert_eq!(stat(&run.broker, "delivered"), 0);
    broker.restart();
    run.push_for(60, Duration::from_secs(1));
    run.finish(Duration::from_secs(90));
    run.check_no_stall(90);
    check_outage_delivery(&broker, ("late", 1), &run, 90, "cam-late");
}

/// SASL SCRAM-SHA-512 against the real broker with authentication on: the right password
/// delivers everything (consumed back with the same credentials); a wrong one is a bus
/// warning, the stream runs on, messages are kept (undelivered at EOS) and the password
/// appears nowhere. (tansu 0.6 cannot serve TLS from its command line: `--cert` and `--key`
/// exclude each other, so TLS is covered by the settings test in tests/rsmsgbroker.rs.)
#[test]
fn sasl_scram_authentication() {
    let mut broker = Broker::start();
    broker.create_topic("secure", 1);
    broker.create_user("alice", "s3cret-pw");
    broker.restart_with_authentication();
    let sasl = |pw: &str| {
        format!(
            "proto-cfg=\"security.protocol=SASL_PLAINTEXT;sasl.mechanisms=SCRAM-SHA-512;sasl.username=alice;sasl.password={pw}\""
        )
    };
    let run = LiveRun::new(&format!(
        "conn-str={};secure frame-interval=1 sensor-id=cam-sasl flush-timeout=20000 {}",
        broker.conn_str(),
        sasl("s3cret-pw")
    ));
    run.push_for(0, Duration::from_secs(1));
    let texts = run.finish(Duration::from_secs(60));
    assert!(texts.is_empty(), "{texts:?}");
    assert_eq!(stat(&run.broker, "delivered"), 60);
    drop(run);
    let got = broker::consume_with(
        &broker.bootstrap(),
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "alice"),
            ("sasl.password", "s3cret-pw"),
        ],
        "secure",
        1,
        60,
        Duration::from_secs(30),
        Duration::from_millis(500),
    );
    assert_eq!(got.len(), 60);

    let run = LiveRun::new(&format!(
        "conn-str={};secure frame-interval=1 flush-timeout=1000 {}",
        broker.conn_str(),
        sasl("wrong-pw")
    ));
    run.push_for(0, Duration::from_secs(1));
    let texts = run.finish(Duration::from_secs(30));
    run.check_no_stall(30);
    assert!(
        texts.iter().any(|t| t.contains("refused our credentials")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("60 Kafka messages still undelivered")),
        "{texts:?}"
    );
    assert!(!texts.iter().any(|t| t.contains("wrong-pw")), "{texts:?}");
    assert_eq!(stat(&run.broker, "delivered"), 0);
}

/// A back-end written for DeepStream switches without a line changed: the `consumer.py` of
/// DeepStream's smart-record guide (seeds/003; kafka-python 3.0.12: the 2.0.2 the guide pins cannot join a consumer group on tansu, a broker-side difference) reads
/// our full-schema messages from the broker and prints them as it printed DeepStream's.
#[test]
fn deepstream_python_consumer_reads_our_events() {
    use std::io::{BufRead, BufReader};
    init();
    let broker = Broker::start();
    broker.create_topic("ds-events", 1);
    let mut consumer = std::process::Command::new(common::python())
        .arg(common::root().join("tests/data/deepstream_consumer.py"))
        .arg(broker.bootstrap())
        .arg("ds-events")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run the DeepStream consumer (kafka-python, scripts/setup.sh --test)");
    let mut out = BufReader::new(consumer.stdout.take().unwrap()).lines();
    // Kill it if the test fails.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut consumer = Kill(consumer);
    let first = out.next().expect("consumer output").unwrap();
    assert_eq!(first, "ready");

    let run = LiveRun::new(&format!(
        "conn-str={};ds-events frame-interval=1 config={} flush-timeout=20000",
        broker.conn_str(),
        common::root()
            .join("tests/data/msgconv_sample_config.txt")
            .display()
    ));
    run.push_for(0, Duration::from_millis(500));
    run.finish(Duration::from_secs(30));
    let lines: Vec<String> = out.map_while(Result::ok).collect();
    let _ = consumer.0.wait();
    assert_eq!(lines.len(), 30, "{lines:?}");
    for (i, l) in lines.iter().enumerate() {
        // Python's repr of the decoded JSON, as in the guide's output.
        assert!(l.starts_with("{'messageid': '"), "{l}");
        assert!(l.contains("'mdsversion': '1.0', '@timestamp': '"), "{l}");
        assert!(
            l.contains(&format!("'sensor': {{'id': '{SENSOR0}', 'type': 'Camera'")),
            "{l}"
        );
        assert!(
            l.contains("'entrance': {'name': 'C_127_158', 'lane': 'Lane 1', 'level': 'P1'"),
            "{l}"
        );
        assert!(
            l.contains("'speed': 0.0, 'direction': 0.0, 'orientation': 0.0"),
            "{l}"
        );
        let n = i as u64 / 2;
        let d = &synthetic(n)[i % 2];
        let (label, l0, t0, r0, b0) = expected_box(d, true);
        assert!(
            l.contains(&format!(
                "'{label}': {{}}, 'bbox': {{'topleftx': {l0}, 'toplefty': {t0}, 'bottomrightx': {r0}, 'bottomrighty': {b0}}}"
            )),
            "{l}"
        );
        assert!(l.ends_with("'type': 'entry'}, 'videoPath': ''}"), "{l}");
    }
}

fn stat(e: &gst::Element, name: &str) -> u64 {
    e.property::<gst::Structure>("stats")
        .get::<u64>(name)
        .unwrap()
}

/// Every frame n carries objects with track ids 2n and 2n+1 and boxes derived from n.
fn synthetic(n: u64) -> Vec<Detection> {
    (0..2)
        .map(|i| Detection {
            x: (n % 50) as f64 * 10.0 + 0.3,
            y: 100.0 * i as f64 + 5.0,
            width: 40.0,
            height: 60.0 + i as f64,
            confidence: 0.9,
            label_id: i as i32,
            label: if i == 0 {
                "person".into()
            } else {
                "car".into()
            },
            track_id: Some(2 * n + i),
            tracking: None,
            attributes: Vec::new(),
        })
        .collect()
}

fn check_outage_delivery(
    broker: &Broker,
    (topic, partitions): (&str, i32),
    run: &LiveRun,
    frames: u64,
    sensor: &str,
) {
    let expected = 2 * frames as usize;
    let st = run.broker.property::<gst::Structure>("stats");
    assert_eq!(st.get::<u64>("delivered").unwrap(), expected as u64, "{st}");
    assert_eq!(st.get::<u64>("dropped").unwrap(), 0, "{st}");
    assert_eq!(st.get::<u64>("failed").unwrap(), 0, "{st}");
    let got = broker::consume(
        &broker.bootstrap(),
        topic,
        partitions,
        expected,
        Duration::from_secs(60),
        Duration::from_secs(3),
    );
    let mut by_id: HashMap<u64, Value> = HashMap::new();
    for r in &got {
        assert_eq!(r.key.as_deref(), Some(sensor));
        let m = parse(r);
        check_full_schema(&m);
        let id: u64 = m["object"]["id"].as_str().unwrap().parse().unwrap();
        assert!(by_id.insert(id, m).is_none(), "object {id} delivered twice");
    }
    assert_eq!(got.len(), expected, "messages lost or duplicated");
    for n in 0..frames {
        for d in synthetic(n) {
            let m = by_id
                .get(&d.track_id.unwrap())
                .unwrap_or_else(|| panic!("object {} of frame {n} lost", d.track_id.unwrap()));
            assert_eq!(full_box(m), expected_box(&d, true), "frame {n}");
        }
    }
}

/// A live appsrc at 30 fps into rsmsgbroker, with arrival times at the sink.
struct LiveRun {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    broker: gst::Element,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl LiveRun {
    fn new(props: &str) -> LiveRun {
        init();
        let pipeline = common::launch(&format!(
            "appsrc name=src is-live=true format=time caps=video/x-raw,format=GRAY8,width=640,height=480,framerate=30/1 \
             ! rsmsgbroker name=b {props} ! fakesink name=sink sync=false"
        ));
        let src = common::element::<gst_app::AppSrc>(&pipeline, "src");
        let broker = common::element::<gst::Element>(&pipeline, "b");
        let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let a2 = arrivals.clone();
        common::element::<gst::Element>(&pipeline, "sink")
            .static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                a2.lock().unwrap().push(Instant::now());
                gst::PadProbeReturn::Ok
            });
        pipeline.set_state(gst::State::Playing).unwrap();
        LiveRun {
            pipeline,
            src,
            broker,
            arrivals,
        }
    }

    /// Pushes frames from `first` at 30 fps for `dur`.
    fn push_for(&self, first: u64, dur: Duration) {
        let frames = (dur.as_secs_f64() * 30.0).round() as u64;
        let start = Instant::now();
        for i in 0..frames {
            let n = first + i;
            let due = start + Duration::from_nanos(i * 1_000_000_000 / 30);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let mut buf = gst::Buffer::with_size(640 * 480).unwrap();
            {
                let b = buf.get_mut().unwrap();
                b.set_pts(gst::ClockTime::from_nseconds(n * 1_000_000_000 / 30));
                detection::attach(b, &synthetic(n), 640, 480, 0);
            }
            self.src.push_buffer(buf).unwrap();
        }
    }

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
                gst::MessageView::Error(e) => panic!("error: {} {:?}", e.error(), e.debug()),
                _ => {}
            }
        }
        assert!(eos, "no EOS: {texts:?}");
        eprintln!("bus: {texts:?}");
        texts
    }

    /// Every frame reached the sink and no gap between frames exceeded 1 s (frames are
    /// pushed every 33 ms; the broker was away for seconds).
    fn check_no_stall(&self, frames: usize) {
        let a = self.arrivals.lock().unwrap();
        assert_eq!(a.len(), frames);
        let max_gap = a.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        eprintln!(
            "{} frames, largest gap between frames at the sink {max_gap:?}",
            a.len()
        );
        assert!(
            max_gap < Duration::from_secs(1),
            "stream stalled for {max_gap:?}"
        );
    }
}

impl Drop for LiveRun {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

// The schema checks are shared with tests/rsmsgbroker.rs.
#[path = "msgbroker/schema.rs"]
mod schema;
use schema::{check_full_schema, check_minimal_schema};
