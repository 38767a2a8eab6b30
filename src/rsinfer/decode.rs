//! From a model's output to detections, the same for every backend: the labels, the
//! `classes` filter, decoding (`crate::yolo`), NMS and the mapping back to frame pixels.

use gst::subclass::prelude::*;

use super::imp::{RsInfer, State, CAT};
use super::settings::Settings;
use crate::detection::Detection;
use crate::preprocess::Letterbox;
use crate::yolo;

/// The `classes` filter resolved against the labels: `None` keeps every class.
#[derive(Debug, Default)]
pub(super) struct ClassFilter {
    pub(super) source: Option<String>,
    pub(super) keep: Option<Vec<bool>>,
}

/// Resolves a comma-separated list of labels (or class ids) to a keep-mask. Returns the
/// names that match no label as the error.
pub(super) fn resolve_classes(
    spec: &str,
    labels: &[String],
) -> Result<Option<Vec<bool>>, Vec<String>> {
    let names: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(None);
    }
    let mut keep = vec![false; labels.len()];
    let mut unknown = Vec::new();
    for name in names {
        if let Some(i) = labels.iter().position(|l| l == name) {
            keep[i] = true;
        } else if let Some(i) = name.parse::<usize>().ok().filter(|i| *i < labels.len()) {
            keep[i] = true;
        } else {
            unknown.push(name.to_string());
        }
    }
    if unknown.is_empty() {
        Ok(Some(keep))
    } else {
        Err(unknown)
    }
}

impl RsInfer {
    pub(super) fn load_labels(
        &self,
        settings: &Settings,
        names_metadata: Option<&str>,
        classes: Option<usize>,
    ) -> Result<Vec<String>, gst::ErrorMessage> {
        let mut labels = if let Some(path) = settings.labels_location.as_deref() {
            let text = std::fs::read_to_string(path).map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::OpenRead,
                    ("Cannot read labels file '{}': {}", path, e)
                )
            })?;
            let labels = yolo::parse_labels_file(&text);
            if labels.is_empty() {
                return Err(gst::error_msg!(
                    gst::ResourceError::Read,
                    ("Labels file '{}' holds no label", path)
                ));
            }
            labels
        } else if let Some(names) = names_metadata.and_then(yolo::parse_ultralytics_names) {
            gst::debug!(CAT, imp = self, "Labels from the model's names metadata");
            names
        } else {
            Vec::new()
        };
        if let Some(c) = classes {
            if !labels.is_empty() && labels.len() != c {
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Format,
                    (
                        "The model has {} classes but {} labels were given; missing ones are named class<N>",
                        c,
                        labels.len()
                    )
                );
            }
            while labels.len() < c {
                labels.push(format!("class{}", labels.len()));
            }
        }
        Ok(labels)
    }

    fn label(labels: &[String], class: usize) -> String {
        labels
            .get(class)
            .cloned()
            .unwrap_or_else(|| format!("class{class}"))
    }

    /// Re-resolves the class filter when the `classes` property changed.
    pub(super) fn update_filter(
        state: &mut State,
        settings: &Settings,
        warnings: &mut Vec<String>,
    ) {
        if state.filter.source == settings.classes {
            return;
        }
        state.filter.source = settings.classes.clone();
        state.filter.keep = match settings.classes.as_deref() {
            None => None,
            Some(spec) => match resolve_classes(spec, &state.labels) {
                Ok(k) => k,
                Err(unknown) => {
                    warnings.push(format!(
                        "classes names unknown labels {unknown:?}; they are ignored"
                    ));
                    let known: Vec<String> = spec
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !unknown.iter().any(|u| u == s))
                        .map(String::from)
                        .collect();
                    resolve_classes(&known.join(","), &state.labels)
                        .unwrap_or(None)
                        .or(Some(vec![false; state.labels.len()]))
                }
            },
        };
    }

    /// Decodes one output tensor into `state.scratch.candidates` (the same for both
    /// backends).
    pub(super) fn decode_output(
        state: &mut State,
        settings: &Settings,
        shape: &[i64],
        data: &[f32],
    ) -> Result<(), String> {
        let Some(layout) = state.layout else {
            return Err("the model is not a detector".into());
        };
        if shape.len() == 3 && (shape[1] as usize * shape[2] as usize) < layout.len() {
            return Err(format!("output shape {shape:?} changed, {layout} expected"));
        }
        let keep = state.filter.keep.as_deref();
        let keep_class = |c: usize| keep.is_none_or(|k| k.get(c).copied().unwrap_or(false));
        yolo::decode(
            layout,
            data,
            settings.conf_threshold,
            &keep_class,
            &mut state.scratch,
        )
    }

    /// NMS on the decoded candidates and the mapping back to frame pixels through `lb`.
    pub(super) fn detections(
        state: &mut State,
        settings: &Settings,
        lb: &Letterbox,
    ) -> Vec<Detection> {
        let bounds = (0.0, 0.0, lb.frame_width as f64, lb.frame_height as f64);
        Self::detections_mapped(state, settings, &|x, y| lb.to_frame(x, y), bounds)
    }

    /// NMS on the decoded candidates and the mapping back to frame pixels through `map`
    /// (model-input pixels to frame pixels), boxes clipped to `bounds` (x0, y0, x1, y1).
    pub(super) fn detections_mapped(
        state: &mut State,
        settings: &Settings,
        map: &dyn Fn(f32, f32) -> (f64, f64),
        bounds: (f64, f64, f64, f64),
    ) -> Vec<Detection> {
        // End-to-end models did their own NMS; per-class NMS is still harmless and applies
        // max-detections.
        yolo::nms_per_class(
            &mut state.scratch.candidates,
            settings.iou_threshold,
            settings.max_detections as usize,
        );
        let (bx0, by0, bx1, by1) = bounds;
        state
            .scratch
            .candidates
            .iter()
            .filter_map(|b| {
                let (x1, y1) = map(b.x1, b.y1);
                let (x2, y2) = map(b.x2, b.y2);
                let (x1, y1) = (x1.clamp(bx0, bx1), y1.clamp(by0, by1));
                let (x2, y2) = (x2.clamp(bx0, bx1), y2.clamp(by0, by1));
                (x2 > x1 && y2 > y1).then(|| Detection {
                    x: x1,
                    y: y1,
                    width: x2 - x1,
                    height: y2 - y1,
                    confidence: f64::from(b.score),
                    label_id: b.class as i32,
                    label: Self::label(&state.labels, b.class),
                    track_id: None,
                    tracking: None,
                    attributes: Vec::new(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_classes;

    #[test]
    fn classes_resolve_by_label_or_id() {
        let labels: Vec<String> = ["circle", "square", "star"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(resolve_classes("", &labels), Ok(None));
        assert_eq!(
            resolve_classes("star, circle", &labels),
            Ok(Some(vec![true, false, true]))
        );
        assert_eq!(
            resolve_classes("1", &labels),
            Ok(Some(vec![false, true, false]))
        );
        assert_eq!(
            resolve_classes("star,dog,7", &labels),
            Err(vec!["dog".to_string(), "7".to_string()])
        );
    }
}
