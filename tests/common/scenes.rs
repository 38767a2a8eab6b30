//! Rendered test scenes with their ground truth (training/render.py), encoded to H.264,
//! and scoring detections against the truth: shared by the accuracy tests.
//! `render_palette` renders `render.py --palette` scenes (named colours, for the colour
//! classifier), and `hold` repeats each frame so that a tracker sees each scene for a while.

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
    /// The object's palette colour (`render.py --palette` only).
    pub colour: Option<String>,
}

/// Renders `count` scenes into `dir/frames.rgb` (RGB24) and returns their truth.
pub fn render(dir: &Path, seed: u64, w: u32, h: u32, count: usize) -> Vec<Vec<Truth>> {
    render_scenes(dir, seed, w, h, count, false)
}

/// [`render`] with `--palette`: every object in one of render.py's named colours, which
/// its truth carries (`colour`).
pub fn render_palette(dir: &Path, seed: u64, w: u32, h: u32, count: usize) -> Vec<Vec<Truth>> {
    render_scenes(dir, seed, w, h, count, true)
}

fn render_scenes(
    dir: &Path,
    seed: u64,
    w: u32,
    h: u32,
    count: usize,
    palette: bool,
) -> Vec<Vec<Truth>> {
    let mut command = std::process::Command::new(python());
    command
        .arg(root().join("training/render.py"))
        .args(["scenes", "--seed", &seed.to_string()])
        .args(["--count", &count.to_string()])
        .args(["--width", &w.to_string(), "--height", &h.to_string()])
        .arg("--out")
        .arg(dir);
    if palette {
        command.arg("--palette");
    }
    let status = command.status().expect("run training/render.py");
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
                    colour: o["colour"].as_str().map(str::to_string),
                })
                .collect()
        })
        .collect()
}

/// Rewrites `dir/frames.rgb` (`w` x `h` RGB24) with each frame repeated `times` times, and
/// returns the truth repeated alike: a static shot of each scene, long enough for a tracker
/// to confirm its objects.
pub fn hold(dir: &Path, w: u32, h: u32, truth: &[Vec<Truth>], times: usize) -> Vec<Vec<Truth>> {
    use std::io::{Read, Write};
    let path = dir.join("frames.rgb");
    let held_path = dir.join("frames-held.rgb");
    let size = (w * h * 3) as usize;
    let len = std::fs::metadata(&path).expect("frames.rgb").len();
    assert_eq!(
        len,
        (size * truth.len()) as u64,
        "one frame per truth entry"
    );
    let mut input = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let mut output = std::io::BufWriter::new(std::fs::File::create(&held_path).unwrap());
    let mut frame = vec![0u8; size];
    for _ in truth {
        input.read_exact(&mut frame).expect("read a frame");
        for _ in 0..times {
            output.write_all(&frame).expect("write a frame");
        }
    }
    output.flush().unwrap();
    drop(output);
    std::fs::rename(&held_path, &path).unwrap();
    truth
        .iter()
        .flat_map(|t| std::iter::repeat_n(t.clone(), times))
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
