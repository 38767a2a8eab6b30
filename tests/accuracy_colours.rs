//! Accuracy of the shipped colour classifier (models/rsvision-colours.onnx) as a secondary
//! model behind the shapes detector and the tracker, through the elements in a real
//! pipeline:
//! `filesrc ! decodebin ! rsinfer (shapes, conf 0.5) ! rstracker ! rsinfer
//! inference-region=objects (colours) ! appsink` on an H.264 MP4 of freshly rendered palette
//! scenes (`render.py --palette`: every object in one of its named colours), compared with
//! the renderer's truth.
//!
//! Each scene is held for [`HOLD`] frames (a static shot): the tracker confirms an object on
//! its second frame, the classifier classifies the new track at once, then again every 10
//! frames (`reclassify-interval`), and serves the track's result in between
//! (`frames_ago` > 0). Each detection is matched to the truth by IoU >= 0.5 (greedy by
//! confidence; the shape label is not compared) and its `colour` attribute compared with the
//! truth's colour. Bars, with the elements' defaults: colour accuracy >= 0.9 over the matched
//! objects that carry a colour, and at least 90 % of the matched objects carry one.
//!
//! For diagnosis the same video also runs with `reclassify-interval=1` (every frame of a
//! track votes) and without the tracker (untracked objects are classified on every frame:
//! the classifier alone, no cache nor vote; held to the same bars); each run prints its
//! figures and per-colour confusion counts.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use common::scenes::{encode, hold, iou_truth, render_palette, Truth};
use common::{init, root, shapes_model, TempDir};
use gstrsvision::detection::{self, Detection};

/// Seeds no training script uses (the detector's are >= 1000000, the classifier's >= 2000000)
/// nor another test: (seed, width, height, scenes).
const SEEDS: [(u64, u32, u32, usize); 2] = [(525_252, 640, 480, 30), (525_253, 1280, 720, 15)];
/// Frames each scene is shown for: half a second at 30 fps, so each track is classified on
/// its first frame and once more 10 frames later.
const HOLD: usize = 15;
/// The detector's operating point (training/README.md).
const CONF_THRESHOLD: f64 = 0.5;
const ATTRIBUTE: &str = "colour";

fn colours_model() -> PathBuf {
    root().join("models/rsvision-colours.onnx")
}

/// The classifier's labels, in class order.
fn colours() -> Vec<String> {
    std::fs::read_to_string(root().join("models/rsvision-colours.txt"))
        .expect("models/rsvision-colours.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The pipelines compared: (name, what follows the detector).
fn chains() -> [(&'static str, String); 3] {
    let classifier = format!(
        "rsinfer inference-region=objects model-location={} attribute-name={ATTRIBUTE}",
        colours_model().display()
    );
    [
        ("defaults", format!("rstracker ! {classifier}")),
        (
            "reclassify-interval=1",
            format!("rstracker ! {classifier} reclassify-interval=1"),
        ),
        ("no tracker", classifier),
    ]
}

/// Runs `chain` behind the detector on `mp4`: the detections of each frame, in order.
fn run(mp4: &Path, w: u32, h: u32, chain: &str) -> Vec<Vec<Detection>> {
    let pipeline = common::launch(&format!(
        "filesrc location={} ! decodebin ! rsinfer model-location={} conf-threshold={CONF_THRESHOLD} \
         ! {chain} ! appsink name=sink sync=false",
        mp4.display(),
        shapes_model().display()
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    let frames = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let f = frames.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buf = sample.buffer().unwrap();
                f.lock()
                    .unwrap()
                    .push((buf.pts(), detection::read(buf, w, h)));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    common::run_to_eos(&pipeline, 900);
    let mut frames = std::mem::take(&mut *frames.lock().unwrap());
    frames.sort_by_key(|(pts, _)| *pts);
    frames.into_iter().map(|(_, d)| d).collect()
}

/// Greedy matching by descending confidence at IoU >= 0.5, labels not compared:
/// (detection, truth) index pairs.
fn matches(dets: &[Detection], truth: &[Truth]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..dets.len()).collect();
    order.sort_by(|&a, &b| dets[b].confidence.total_cmp(&dets[a].confidence));
    let mut used = vec![false; truth.len()];
    let mut pairs = Vec::new();
    for d in order {
        let best = truth
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(i, t)| (i, iou_truth(t, &dets[d])))
            .filter(|(_, v)| *v >= 0.5)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, _)) = best {
            used[i] = true;
            pairs.push((d, i));
        }
    }
    pairs
}

/// Colour figures of one run.
#[derive(Default)]
struct Stats {
    truths: usize,
    detections: usize,
    matched: usize,
    /// Matched objects with a `colour` attribute, and those whose colour is the truth's.
    coloured: usize,
    correct: usize,
    /// Of those, the results served from a track's cache (`frames_ago` > 0).
    served: usize,
    served_correct: usize,
    /// Matched objects with a colour whose track id was already on a frame of an earlier
    /// scene (the tracker gave a new object an old track: its colour comes with it), and
    /// those whose colour is right; matched objects at a track's prediction (no detection).
    carried: usize,
    carried_correct: usize,
    predicted: usize,
    /// Unmatched detections that carry a colour, and those at a track's prediction (e.g. a
    /// track coasting after a scene cut).
    unmatched_coloured: usize,
    unmatched_predicted: usize,
    /// (truth colour, predicted colour or "-" for none) -> count, over matched objects.
    confusion: BTreeMap<(String, String), usize>,
}

impl Stats {
    /// Scores one frame; `earlier` holds the track ids seen on the frames of earlier scenes.
    fn add(&mut self, dets: &[Detection], truth: &[Truth], earlier: &HashSet<u64>) {
        self.truths += truth.len();
        self.detections += dets.len();
        let pairs = matches(dets, truth);
        let mut matched = vec![false; dets.len()];
        for &(d, t) in &pairs {
            matched[d] = true;
            let expected = truth[t].colour.clone().expect("palette truth has colours");
            let attribute = dets[d].attributes.iter().find(|a| a.name == ATTRIBUTE);
            self.matched += 1;
            let det = &dets[d];
            self.predicted += usize::from(det.tracking.as_ref().is_some_and(|t| t.predicted));
            let predicted = match attribute {
                Some(a) => {
                    self.coloured += 1;
                    let ok = a.label == expected;
                    self.correct += usize::from(ok);
                    if a.frames_ago > 0 {
                        self.served += 1;
                        self.served_correct += usize::from(ok);
                    }
                    if det.track_id.is_some_and(|id| earlier.contains(&id)) {
                        self.carried += 1;
                        self.carried_correct += usize::from(ok);
                    }
                    a.label.clone()
                }
                None => "-".to_string(),
            };
            *self.confusion.entry((expected, predicted)).or_default() += 1;
        }
        for (d, _) in dets.iter().zip(&matched).filter(|(_, m)| !**m) {
            if d.attributes.iter().any(|a| a.name == ATTRIBUTE) {
                self.unmatched_coloured += 1;
                self.unmatched_predicted +=
                    usize::from(d.tracking.as_ref().is_some_and(|t| t.predicted));
            }
        }
    }

    fn merge(&mut self, o: &Stats) {
        self.truths += o.truths;
        self.detections += o.detections;
        self.matched += o.matched;
        self.coloured += o.coloured;
        self.correct += o.correct;
        self.served += o.served;
        self.served_correct += o.served_correct;
        self.carried += o.carried;
        self.carried_correct += o.carried_correct;
        self.predicted += o.predicted;
        self.unmatched_coloured += o.unmatched_coloured;
        self.unmatched_predicted += o.unmatched_predicted;
        for (k, v) in &o.confusion {
            *self.confusion.entry(k.clone()).or_default() += v;
        }
    }

    fn accuracy(&self) -> f64 {
        self.correct as f64 / self.coloured.max(1) as f64
    }

    fn coverage(&self) -> f64 {
        self.coloured as f64 / self.matched.max(1) as f64
    }

    fn print(&self, what: &str) {
        println!(
            "{what}: {} truth objects, {} detections, {} matched; colour on {} (coverage {:.3}), \
             {} right: accuracy {:.3}; served from a track's cache {} (accuracy {:.3}); \
             on a track from an earlier scene {} ({} right; accuracy without them {:.3}); \
             at a track's prediction {}; unmatched detections with a colour {} ({} at a track's \
             prediction)",
            self.truths,
            self.detections,
            self.matched,
            self.coloured,
            self.coverage(),
            self.correct,
            self.accuracy(),
            self.served,
            self.served_correct as f64 / self.served.max(1) as f64,
            self.carried,
            self.carried_correct,
            (self.correct - self.carried_correct) as f64
                / (self.coloured - self.carried).max(1) as f64,
            self.predicted,
            self.unmatched_coloured,
            self.unmatched_predicted
        );
    }

    fn print_confusion(&self, labels: &[String]) {
        let mut columns: Vec<String> = labels.to_vec();
        columns.push("-".to_string());
        print!("{:>8} |", "truth");
        for c in &columns {
            print!(" {:>6}", &c[..c.len().min(6)]);
        }
        println!("  (columns: the colour attribute, - for none)");
        for t in labels {
            print!("{t:>8} |");
            for c in &columns {
                let n = self.confusion.get(&(t.clone(), c.clone())).unwrap_or(&0);
                print!(" {n:>6}");
            }
            println!();
        }
    }
}

#[test]
fn colour_classifier_behind_the_detector_and_tracker_is_right_on_0_9_of_objects() {
    init();
    for model in [shapes_model(), colours_model()] {
        assert!(model.exists(), "{} is missing", model.display());
    }
    let labels = colours();
    let chains = chains();
    let mut totals: Vec<Stats> = chains.iter().map(|_| Stats::default()).collect();
    for (seed, w, h, count) in SEEDS {
        let dir = TempDir::new(&format!("accuracy-colours-{w}x{h}"));
        let scenes = render_palette(dir.path(), seed, w, h, count);
        let truth = hold(dir.path(), w, h, &scenes, HOLD);
        let mp4 = encode(dir.path(), w, h);
        for ((name, chain), total) in chains.iter().zip(&mut totals) {
            let all = run(&mp4, w, h, chain);
            assert_eq!(all.len(), truth.len(), "one result per rendered frame");
            let mut stats = Stats::default();
            let (mut earlier, mut this_scene) = (HashSet::new(), HashSet::new());
            for (i, (dets, t)) in all.iter().zip(&truth).enumerate() {
                if i % HOLD == 0 {
                    earlier.extend(this_scene.drain());
                }
                this_scene.extend(dets.iter().filter_map(|d| d.track_id));
                stats.add(dets, t, &earlier);
            }
            stats.print(&format!("{w}x{h} ({count} scenes x {HOLD} frames), {name}"));
            total.merge(&stats);
        }
    }
    for ((name, _), total) in chains.iter().zip(&totals) {
        total.print(&format!("all, {name}"));
        total.print_confusion(&labels);
    }
    for ((name, _), total) in chains.iter().zip(&totals) {
        if *name == "reclassify-interval=1" {
            continue;
        }
        assert!(
            total.matched >= 500,
            "{name}: enough objects to measure: {}",
            total.matched
        );
        assert!(
            total.coverage() >= 0.9,
            "{name}: only {:.3} of the matched objects carry a colour",
            total.coverage()
        );
        assert!(
            total.accuracy() >= 0.9,
            "{name}: colour accuracy {:.3} < 0.9",
            total.accuracy()
        );
    }
}
