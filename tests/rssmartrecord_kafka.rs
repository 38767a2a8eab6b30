//! rssmartrecord commanded over Kafka: DeepStream cloud-to-device JSON sent by an rdkafka
//! producer through a real broker (tansu), to a live pipeline with a real encoder.

mod common;
mod smartrecord_util;

use std::time::{Duration, Instant};

use common::broker::{produce, Broker};
use common::{init, TempDir};
use gst::prelude::*;
use gstrsvision::utc::{format_iso8601, now_ms, parse_iso8601};
use smartrecord_util::*;

/// The sensor id of DeepStream's walkthrough (seeds/003).
const SENSOR: &str = "HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00";
const GOP_NS: u64 = 10 * FRAME_NS;

/// The command as the walkthrough's `trigger-svr.py` sends it (`json.dumps` of its dict).
fn seed_command(start_ms: i64, end_ms: i64, sensor: &str) -> String {
    format!(
        r#"{{"command": "start-recording", "start": "{}", "end": "{}", "sensor": {{"id": "{}"}}}}"#,
        format_iso8601(start_ms),
        format_iso8601(end_ms),
        sensor
    )
}

/// Sends the walkthrough's command for `sensor` from `before_ms` before now to `after_ms`
/// after (keyed by the sensor id, as DeepStream's producer does); returns that now.
fn command_around_now(
    producer: &rdkafka::producer::BaseProducer,
    topic: &str,
    sensor: &str,
    before_ms: i64,
    after_ms: i64,
) -> i64 {
    let now = now_ms();
    produce(
        producer,
        topic,
        sensor,
        &seed_command(now - before_ms, now + after_ms, sensor),
    );
    now
}

struct Live {
    pipeline: gst::Pipeline,
    sr: gst::Element,
    bus: gst::Bus,
    done: DoneWatcher,
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn live(props: &str) -> Live {
    let pipeline = common::launch(&format!(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate={FPS}/1 ! x264enc key-int-max=10 speed-preset=ultrafast tune=zerolatency ! h264parse ! rssmartrecord name=sr {props} ! fakesink"
    ));
    let sr = pipeline.by_name("sr").unwrap();
    let done = DoneWatcher::new(&sr);
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    Live {
        pipeline,
        sr,
        bus,
        done,
    }
}

impl Live {
    /// Waits for an element message named `name`, failing on an error message.
    fn wait_element_message(&self, name: &str, timeout: Duration) -> gst::Structure {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(m) = self.bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
                match m.view() {
                    gst::MessageView::Error(e) => panic!("error: {} {:?}", e.error(), e.debug()),
                    gst::MessageView::Element(e) => {
                        if let Some(s) = e.structure() {
                            if s.name() == name {
                                return s.to_owned();
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        panic!("no {name} within {timeout:?}");
    }

    /// Warnings posted while waiting `wait`; fails on an error message.
    fn warnings_within(&self, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while Instant::now() < deadline {
            if let Some(m) = self.bus.timed_pop(gst::ClockTime::from_mseconds(50)) {
                match m.view() {
                    gst::MessageView::Error(e) => panic!("error: {} {:?}", e.error(), e.debug()),
                    gst::MessageView::Warning(w) => out.push(w.error().to_string()),
                    _ => {}
                }
            }
        }
        out
    }
}

#[test]
fn kafka_commands_record_clips() {
    init();
    let broker = Broker::start();
    let topic = "svr-commands";
    broker.create_topic(topic, 1);
    let dir = TempDir::new("sr-kafka");
    let l = live(&format!(
        "sensor-id={SENSOR} conn-str=\"{}\" topic={topic} cache-size=5 default-duration=20 location={}",
        broker.conn_str(),
        dir.path().display()
    ));
    l.wait_element_message("rssmartrecord-consumer-ready", Duration::from_secs(60));
    // Some cache first.
    std::thread::sleep(Duration::from_secs(3));
    let producer = broker.producer();

    // For another sensor: ignored.
    command_around_now(&producer, topic, "another-camera", 1000, 1000);

    // The walkthrough's command for us: 2 s before now to 1.5 s after.
    let now = now_ms();
    let (start, end) = (now - 2000, now + 1500);
    produce(&producer, topic, SENSOR, &seed_command(start, end, SENSOR));
    let d = l.done.next(30);
    assert_eq!(d.get::<u32>("session-id").unwrap(), 1, "{d}");
    assert_eq!(d.get::<&str>("reason").unwrap(), "end");
    assert_eq!(d.get::<&str>("sensor-id").unwrap(), SENSOR);
    assert!(!d.get::<bool>("start-truncated").unwrap());
    assert_eq!(
        parse_iso8601(&d.get::<String>("requested-start").unwrap()).unwrap(),
        start,
        "to the millisecond"
    );
    let clip_start = parse_iso8601(&d.get::<String>("start-time").unwrap()).unwrap();
    assert!(
        clip_start <= start,
        "starts at or before the requested start"
    );
    assert!(
        start - clip_start <= (GOP_NS / 1_000_000) as i64 + 50,
        "within one GOP: {clip_start} vs {start}"
    );
    let path = clip_path(&d);
    let clip = demux(&path);
    assert!(clip[0].keyframe);
    assert_eq!(clip[0].pts, 0);
    let covered = clip.last().unwrap().pts + FRAME_NS;
    let asked = (end - start) as u64 * 1_000_000;
    assert!(
        covered + 2 * FRAME_NS >= asked,
        "covers {covered} of {asked}"
    );
    assert!(
        covered <= asked + GOP_NS + 4 * FRAME_NS,
        "{covered} vs {asked}"
    );
    let (n, err) = decode(&path);
    assert_eq!(err, None);
    assert_eq!(n, clip.len());

    // A start further back than the cache (5 s): from the oldest cached key frame, and the
    // completion message says so.
    let now = command_around_now(&producer, topic, SENSOR, 60_000, 500);
    let d = l.done.next(30);
    assert_eq!(d.get::<u32>("session-id").unwrap(), 2);
    assert!(d.get::<bool>("start-truncated").unwrap());
    let clip_start = parse_iso8601(&d.get::<String>("start-time").unwrap()).unwrap();
    assert!(clip_start - (now - 60_000) > 50_000, "{clip_start}");
    let ms = d.get::<u64>("duration-ms").unwrap();
    assert!((5000..7000).contains(&ms), "{ms} ms: the 5 s cache + 0.5 s");

    // Bad commands: each a warning, nothing recorded, the stream goes on.
    let now = now_ms();
    let bad = [
        "{not json".to_string(),
        format!(r#"{{"command": "record", "sensor": {{"id": "{SENSOR}"}}}}"#),
        format!(r#"{{"command": 1, "sensor": {{"id": "{SENSOR}"}}}}"#),
        format!(r#"{{"start": "noon", "sensor": {{"id": "{SENSOR}"}}}}"#),
        format!(
            r#"{{"start": "{}", "end": "{}", "sensor": {{"id": "{SENSOR}"}}}}"#,
            format_iso8601(now),
            format_iso8601(now - 5000)
        ),
        seed_command(now + 3_600_000, now + 3_700_000, SENSOR),
        r#"{"command": "start-recording"}"#.to_string(),
    ];
    for b in &bad {
        produce(&producer, topic, SENSOR, b);
    }
    // Only the command warnings count (a Kafka client hiccup would be a warning too).
    let ignoring = |w: Vec<String>| -> Vec<String> {
        w.into_iter()
            .filter(|w| w.contains("Ignoring a Smart Record command"))
            .collect()
    };
    let mut w = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while w.len() < bad.len() && Instant::now() < deadline {
        w.extend(ignoring(l.warnings_within(Duration::from_millis(200))));
    }
    assert_eq!(w.len(), bad.len(), "{w:#?}");
    assert!(l.done.try_next(Duration::from_millis(200)).is_none());

    // No `command` means start; no `end` means the default duration (20 s), cut short by a
    // stop-recording command.
    produce(
        &producer,
        topic,
        SENSOR,
        &format!(r#"{{"sensor": {{"id": "{SENSOR}"}}}}"#),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(l.sr.property::<bool>("recording"));
    produce(
        &producer,
        topic,
        SENSOR,
        &format!(r#"{{"command": "stop-recording", "sensor": {{"id": "{SENSOR}"}}}}"#),
    );
    let d = l.done.next(30);
    assert_eq!(d.get::<u32>("session-id").unwrap(), 3);
    assert_eq!(d.get::<&str>("reason").unwrap(), "stop");
    let ms = d.get::<u64>("duration-ms").unwrap();
    assert!((1000..5000).contains(&ms), "{ms}");
    // Exactly the three clips: the other sensor's command recorded nothing.
    assert_eq!(files(dir.path()).len(), 3);
    assert!(ignoring(l.warnings_within(Duration::from_millis(100))).is_empty());
}

#[test]
fn broker_down_at_start_does_not_stop_the_stream() {
    init();
    // A port nobody listens on.
    let port = common::broker::free_port();
    let dir = TempDir::new("sr-nobroker");
    let l = live(&format!(
        "sensor-id=cam conn-str=\"127.0.0.1;{port}\" topic=t location={}",
        dir.path().display()
    ));
    // The stream flows and clips still work through the action signal.
    let _ = l.warnings_within(Duration::from_secs(2));
    assert!(l.sr.property::<u64>("cache-bytes") > 0);
    let id =
        l.sr.emit_by_name::<u32>("start-recording", &[&1.0f64, &0.5f64]);
    assert_eq!(id, 1);
    let d = l.done.next(30);
    assert!(d.get::<bool>("complete").unwrap());
    let (n, err) = decode(&clip_path(&d));
    assert_eq!(err, None);
    assert!(n >= 25, "{n}");
}

/// librdkafka's in-process mock cluster: the same commands, and an outage of the broker in
/// the middle (fault injection). The live stream never waits, and commands sent after the
/// broker is back are acted on.
#[test]
fn mock_cluster_commands_survive_a_broker_outage() {
    init();
    let mock = rdkafka::mocking::MockCluster::new(1).unwrap();
    let topic = "svr-mock";
    mock.create_topic(topic, 1, 1).unwrap();
    let servers = mock.bootstrap_servers();
    let dir = TempDir::new("sr-mock");
    let l = live(&format!(
        "sensor-id={SENSOR} conn-str=\"{servers}\" topic={topic} location={}",
        dir.path().display()
    ));
    l.wait_element_message("rssmartrecord-consumer-ready", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    let producer: rdkafka::producer::BaseProducer = rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", &servers)
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();

    command_around_now(&producer, topic, "someone-else", 500, 500);
    command_around_now(&producer, topic, SENSOR, 1000, 1000);
    let d = l.done.next(30);
    assert_eq!(d.get::<u32>("session-id").unwrap(), 1);
    let clip = demux(&clip_path(&d));
    assert!(
        clip.len() as u64 * FRAME_NS + 2 * FRAME_NS >= 2_000_000_000,
        "{}",
        clip.len()
    );

    // The broker goes away for 3 s; frames keep flowing through the element.
    mock.broker_down(1).unwrap();
    let before = l.sr.property::<u64>("cache-duration");
    std::thread::sleep(Duration::from_secs(3));
    assert!(l.sr.property::<u64>("cache-duration") > before || before > 0);
    mock.broker_up(1).unwrap();
    command_around_now(&producer, topic, SENSOR, 1000, 1000);
    let d = l.done.next(60);
    assert_eq!(d.get::<u32>("session-id").unwrap(), 2);
    assert!(d.get::<bool>("complete").unwrap());
    assert_eq!(files(dir.path()).len(), 2);
}

/// The real broker crashes (SIGKILL) and comes back: the stream never stops, the consumer
/// reconnects by itself and the next command records a clip.
#[test]
fn tansu_crash_and_restart() {
    init();
    let mut broker = Broker::start();
    let topic = "svr-restart";
    broker.create_topic(topic, 1);
    let dir = TempDir::new("sr-restart");
    let l = live(&format!(
        "sensor-id=cam7 conn-str=\"{};{topic}\" location={}",
        broker.conn_str(),
        dir.path().display()
    ));
    l.wait_element_message("rssmartrecord-consumer-ready", Duration::from_secs(60));
    let producer = broker.producer();
    command_around_now(&producer, topic, "cam7", 1000, 500);
    assert_eq!(l.done.next(30).get::<u32>("session-id").unwrap(), 1);

    broker.kill();
    let cached = l.sr.property::<u64>("cache-bytes");
    // Warnings, not errors, while it is away; frames keep flowing.
    let _ = l.warnings_within(Duration::from_secs(2));
    assert!(l.sr.property::<u64>("cache-duration") > 0 && cached > 0);
    broker.restart();

    // The first command after the restart may race the consumer's reconnection: send
    // until one is acted on. Commands sent while it reconnects may all arrive at once and
    // each record a clip of its own (written in parallel, so they may finish in any order):
    // any session after the first one proves the consumer came back.
    let deadline = Instant::now() + Duration::from_secs(60);
    let d = loop {
        command_around_now(&producer, topic, "cam7", 1000, 500);
        if let Some(d) = l.done.try_next(Duration::from_secs(5)) {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "no clip within 60 s of the restart"
        );
    };
    assert!(d.get::<u32>("session-id").unwrap() >= 2, "{d}");
    assert!(d.get::<bool>("complete").unwrap());
    let (n, err) = decode(&clip_path(&d));
    assert_eq!(err, None);
    assert!(n >= 30, "{n}");
}

/// DeepStream's broker file for the consumer (`broker-config`): `consumer-proto-cfg` with
/// SASL SCRAM credentials and `consumer-group-id`, against the real broker with
/// authentication on. The right password gets commands through; a wrong one is a warning,
/// the stream runs on, and neither password appears in a warning or a log line of the
/// element (the settings line says `[redacted]`).
#[test]
fn broker_config_file_with_sasl_credentials() {
    init();
    let capture = common::LogCapture::start("rssmartrecord", gst::DebugLevel::Info);

    let mut broker = Broker::start();
    let topic = "svr-secure";
    broker.create_topic(topic, 1);
    broker.create_user("alice", "s3cret-pw");
    broker.restart_with_authentication();
    let sasl = |pw: &str| {
        format!("security.protocol=SASL_PLAINTEXT;sasl.mechanisms=SCRAM-SHA-512;sasl.username=alice;sasl.password={pw}")
    };
    let dir = TempDir::new("sr-sasl");
    let write_config = |name: &str, pw: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "[message-broker]\nconsumer-proto-cfg = \"{}\"\nconsumer-group-id = svr-group\n",
                sasl(pw)
            ),
        )
        .unwrap();
        path
    };
    let clips = dir.path().join("clips");
    std::fs::create_dir(&clips).unwrap();

    let l = live(&format!(
        "sensor-id=cam-sasl conn-str=\"{};{topic}\" broker-config={} location={}",
        broker.conn_str(),
        write_config("cfg_kafka.txt", "s3cret-pw").display(),
        clips.display()
    ));
    l.wait_element_message("rssmartrecord-consumer-ready", Duration::from_secs(60));
    let producer = broker.producer_with(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanisms", "SCRAM-SHA-512"),
        ("sasl.username", "alice"),
        ("sasl.password", "s3cret-pw"),
    ]);
    command_around_now(&producer, topic, "cam-sasl", 1000, 500);
    let d = l.done.next(30);
    assert!(d.get::<bool>("complete").unwrap());
    let mut texts = l.warnings_within(Duration::from_millis(100));
    drop(l);

    let l = live(&format!(
        "sensor-id=cam-sasl conn-str=\"{};{topic}\" broker-config={} location={}",
        broker.conn_str(),
        write_config("cfg_kafka_bad.txt", "wrong-pw").display(),
        clips.display()
    ));
    let refused = l.warnings_within(Duration::from_secs(5));
    assert!(l.sr.property::<u64>("cache-bytes") > 0, "the stream flows");
    assert!(
        refused.iter().any(|t| t.contains("Kafka command consumer")),
        "{refused:?}"
    );
    texts.extend(refused);
    drop(l);

    let log = capture.finish();
    assert!(
        log.contains("group svr-group, settings: security.protocol=SASL_PLAINTEXT;sasl.mechanisms=SCRAM-SHA-512;sasl.username=alice;sasl.password=[redacted]"),
        "settings not logged:\n{log}"
    );
    for secret in ["s3cret-pw", "wrong-pw"] {
        assert!(!log.contains(secret), "{secret} logged:\n{log}");
        assert!(
            !texts.iter().any(|t| t.contains(secret)),
            "{secret} in {texts:?}"
        );
    }
}
