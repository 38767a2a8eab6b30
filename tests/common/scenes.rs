//! Rendered test scenes with their ground truth (training/render.py), encoded to H.264,
//! and scoring detections against the truth: shared by the accuracy tests.

use std::path::{Path, PathBuf};

use gstrsvision::detection::Detection;

use super::{python, root};

#[derive(Debug, Clone)]
pub struct Truth {
    pub label: String,
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

pub fn render(dir: &Path, seed: u64, w: u32, h: u32, count: usize) -> Vec<Vec<Truth>> {
    let status = std::process::Command::new(python())
        .arg(root().join("training/render.py"))
        .args(["scenes", "--seed", &seed.to_string()])
        .args(["--count", &count.to_string()])
        .args(["--width", &w.to_string(), "--height", &h.to_string()])
        .arg("--out")
        .arg(dir)
        .status()
        .expect("run training/render.py");
    assert!(status.success(), "render.py failed");
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
    truth["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| Truth {
                    label: o["label"].as_str().unwrap().to_string(),
                    x0: o["x_min"].as_f64().unwrap(),
                    y0: o["y_min"].as_f64().unwrap(),
                    x1: o["x_max"].as_f64().unwrap(),
                    y1: o["y_max"].as_f64().unwrap(),
                })
                .collect()
        })
        .collect()
}

pub fn encode(dir: &Path, w: u32, h: u32) -> PathBuf {
    let mp4 = dir.join("scenes.mp4");
    let pipeline = super::launch(&format!(
        "filesrc location={} blocksize={} ! rawvideoparse format=rgb width={w} height={h} framerate=30/1 \
         ! videoconvert ! video/x-raw,format=I420 ! x264enc pass=quant quantizer=18 key-int-max=30 \
         ! h264parse ! mp4mux ! filesink location={}",
        dir.join("frames.rgb").display(),
        w * h * 3,
        mp4.display()
    ));
    super::run_to_eos(&pipeline, 300);
    mp4
}

fn iou(ax0: f64, ay0: f64, ax1: f64, ay1: f64, b: &Detection) -> f64 {
    let iw = (ax1.min(b.x_max()) - ax0.max(b.x)).max(0.0);
    let ih = (ay1.min(b.y_max()) - ay0.max(b.y)).max(0.0);
    let inter = iw * ih;
    let union = (ax1 - ax0) * (ay1 - ay0) + b.width * b.height - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

pub fn iou_truth(t: &Truth, d: &Detection) -> f64 {
    iou(t.x0, t.y0, t.x1, t.y1, d)
}

pub fn iou_det(a: &Detection, b: &Detection) -> f64 {
    iou(a.x, a.y, a.x_max(), a.y_max(), b)
}

/// Greedy matching by descending confidence: (true positives, detections, truths).
pub fn score(dets: &[Vec<Detection>], truth: &[Vec<Truth>]) -> (usize, usize, usize) {
    let (mut tp, mut nd, mut nt) = (0, 0, 0);
    for (d, t) in dets.iter().zip(truth) {
        let mut d: Vec<&Detection> = d.iter().collect();
        d.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        let mut used = vec![false; t.len()];
        for det in &d {
            let best = t
                .iter()
                .enumerate()
                .filter(|(i, tr)| !used[*i] && tr.label == det.label)
                .map(|(i, tr)| (i, iou_truth(tr, det)))
                .filter(|(_, v)| *v >= 0.5)
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, _)) = best {
                used[i] = true;
                tp += 1;
            }
        }
        nd += d.len();
        nt += t.len();
    }
    (tp, nd, nt)
}
