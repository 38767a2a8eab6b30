//! The file transport shared: several rsmsgbroker elements appending to one JSON-lines file
//! at once (`rsvision run`'s events file) never mix their lines (part of the `rsmsgbroker`
//! test binary).

use super::*;

/// Two pipelines on their own threads, each with an rsmsgbroker publishing every frame's 10
/// objects (lines of about 1 KB, so a frame's messages are larger than a user-space write
/// buffer) to the same file: every line is one whole JSON document, and the file holds
/// exactly what both elements counted as delivered.
#[test]
fn two_elements_append_to_one_file_without_mixing_lines() {
    const FRAMES: u64 = 1500;
    const OBJECTS: usize = 10;
    init();
    let dir = TempDir::new("mb-shared");
    let out = dir.path().join("events.jsonl");
    let workers: Vec<_> = ["cam-a", "cam-b"]
        .into_iter()
        .map(|sensor| {
            let props = format!(
                "conn-str=file://{} sensor-id={sensor} publish=frames frame-interval=1",
                out.display()
            );
            std::thread::spawn(move || {
                let r = Run::new(&props);
                r.play();
                // A long label makes each line bigger.
                let label = format!("{sensor}-object-with-a-rather-long-label");
                let dets: Vec<Detection> = (0..OBJECTS)
                    .map(|i| det(i, &label, Some(i as u64)))
                    .collect();
                for n in 0..FRAMES {
                    r.push(n, &dets);
                }
                let texts = r.finish(Duration::from_secs(120));
                assert!(texts.is_empty(), "{sensor}: {texts:?}");
                let st = stats(&r.broker);
                r.stop();
                (sensor, st)
            })
        })
        .collect();
    let mut delivered = 0;
    let mut expected = std::collections::HashMap::new();
    for w in workers {
        let (sensor, st) = w.join().expect("pipeline thread");
        assert_eq!(st.get::<u64>("failed").unwrap(), 0, "{sensor}: {st}");
        let d = st.get::<u64>("delivered").unwrap();
        assert_eq!(d, FRAMES * OBJECTS as u64, "{sensor}: {st}");
        delivered += d;
        expected.insert(sensor.to_string(), d);
    }

    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'), "the file ends with a whole line");
    let mut per_sensor = std::collections::HashMap::<String, u64>::new();
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        let m: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {} is not one JSON document ({e}): {line}", i + 1));
        check_full_schema(&m);
        let sensor = m["sensor"]["id"].as_str().unwrap().to_string();
        // A line holds one element's message: its sensor and its label.
        let label = format!("{sensor}-object-with-a-rather-long-label");
        assert!(
            m["object"][gstrsvision::msgconv::payload::type_name(&label)].is_object(),
            "line {}: {line}",
            i + 1
        );
        *per_sensor.entry(sensor).or_default() += 1;
        count += 1;
    }
    assert_eq!(
        count, delivered,
        "lines = messages delivered by both elements"
    );
    assert_eq!(per_sensor, expected);
}
