//! `[models.NAME]`: rsinfer properties plus `location`, and the model's labels read the way
//! rsinfer reads them (`labels-location`, else the `names` metadata of the ONNX file). A
//! local model is loaded once through ONNX Runtime with the options the element would
//! use, so that a corrupt or unsuitable file is a config error, then dropped.

use gstrsvision::onnx::{self, ModelOptions, Provider};
use gstrsvision::yolo;

use super::elements::{quote, unquote, Element, Policy};
use super::errors::suggest;
use super::types::{Model, Props};
use super::walk::{valid_name, Ctx, Field, Section};

pub(super) const MODEL: Policy = Policy {
    app_keys: &["location"],
    forbidden: &[(
        "model-location",
        "use `location` (relative to the config file)",
    )],
    paths: &["labels-location", "tls-ca-location"],
};

pub(super) fn model(ctx: &mut Ctx, name: &str, s: &Section, element: &Element) -> Model {
    if !valid_name(name, "_-") {
        let message =
            format!("invalid model name \"{name}\": expected letters, digits, '_' and '-' only");
        ctx.error(s.at, &s.path, message);
    }
    let mut props = Props::default();
    let location = s.get("location");
    let mut model_path = None;
    if let Some(f) = &location {
        if let Some(l) = ctx.string(f) {
            let path = ctx.path(&l);
            if path.is_file() {
                props.set("model-location", quote(&path.to_string_lossy()));
                model_path = Some(path);
            } else {
                let message = format!("model file not found: {}", path.display());
                ctx.error(f.at, &f.path, message);
            }
        }
    }
    element.properties(ctx, s, &MODEL, &mut props);

    let server = s.get("server-url");
    let backend = match (props.get("backend"), &location, &server) {
        (Some(b), _, _) => b.to_string(),
        (None, None, Some(_)) => {
            props.set("backend", "ovms");
            "ovms".into()
        }
        _ => "onnx".into(),
    };
    let wrong = |ctx: &mut Ctx, f: &Field, message: &str| ctx.error(f.at, &f.path, message);
    match backend.as_str() {
        "onnx" | "openvino" => {
            if let (Some(l), Some(_)) = (&location, &server) {
                wrong(
                    ctx,
                    l,
                    "give either location (a local ONNX model) or server-url (a KServe server), \
                     not both",
                );
            } else if location.is_none() && s.get("model-location").is_none() {
                let message = format!(
                    "missing required key \"location\" in {} (a local ONNX model file), or give \
                     server-url and model-name for a KServe server",
                    s.header()
                );
                ctx.error(s.at, &s.child("location"), message);
            }
        }
        _ => {
            if let Some(l) = &location {
                wrong(
                    ctx,
                    l,
                    "location is for backends \"onnx\" and \"openvino\" (a local model)",
                );
            }
            for required in ["server-url", "model-name"] {
                if s.get(required).is_none() {
                    let message = format!(
                        "missing required key \"{required}\" in {} (backend \"ovms\")",
                        s.header()
                    );
                    ctx.error(s.at, &s.child(required), message);
                }
            }
        }
    }

    let mut labels = labels_file(ctx, s, &props);
    if let (true, Some(path), Some(f)) = (backend == "openvino", &model_path, &location) {
        // The names are read from the file itself: compiling the model (and finding the
        // device) is rsinfer's start.
        if !path.is_file() {
            let message = format!("cannot load the model: {} does not exist", path.display());
            ctx.error(f.at, &f.path, message);
        } else if labels.is_none() && path.extension().is_some_and(|e| e == "onnx") {
            match gstrsvision::openvino::metadata::onnx_metadata(path) {
                Ok(meta) => {
                    labels = gstrsvision::openvino::metadata::lookup(&meta, "names")
                        .and_then(yolo::parse_ultralytics_names)
                }
                Err(e) => {
                    let message = format!("cannot load the model: {e}");
                    ctx.error(f.at, &f.path, message);
                }
            }
        }
    }
    let local = (backend == "onnx").then_some(model_path).flatten();
    if let (Some(path), Some(f)) = (local, &location) {
        let options = ModelOptions {
            path,
            threads: props
                .get("threads")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            provider: match props.get("execution-provider") {
                Some("cuda") => Provider::Cuda,
                Some("tensorrt") => Provider::TensorRt,
                Some("openvino") => Provider::OpenVino,
                _ => Provider::Cpu,
            },
            sessions: 1,
        };
        match onnx::load_shared(&options) {
            Ok((loaded, _)) => {
                if labels.is_none() {
                    labels = loaded
                        .info
                        .names_metadata
                        .as_deref()
                        .and_then(yolo::parse_ultralytics_names);
                }
            }
            Err(e) => {
                let message = format!("cannot load the model: {e}");
                ctx.error(f.at, &f.path, message);
            }
        }
    }
    let labels = labels.unwrap_or_default();
    classes(ctx, s, &props, &labels);
    Model {
        name: name.to_string(),
        props,
        labels,
    }
}

/// The labels of `labels-location`, when given and readable.
fn labels_file(ctx: &mut Ctx, s: &Section, props: &Props) -> Option<Vec<String>> {
    let path = unquote(props.get("labels-location")?);
    let f = s.get("labels-location")?;
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let labels = yolo::parse_labels_file(&text);
            if labels.is_empty() {
                let message = format!("labels file {path} holds no label");
                ctx.error(f.at, &f.path, message);
                return None;
            }
            Some(labels)
        }
        Err(e) => {
            let message = format!("cannot read labels file {path}: {e}");
            ctx.error(f.at, &f.path, message);
            None
        }
    }
}

/// `classes` names labels (or class ids) the model has, as rsinfer requires at start.
fn classes(ctx: &mut Ctx, s: &Section, props: &Props, labels: &[String]) {
    let (Some(f), Some(spec)) = (s.get("classes"), props.get("classes")) else {
        return;
    };
    if labels.is_empty() {
        return;
    }
    for name in unquote(spec)
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let known = labels.iter().any(|l| l == name)
            || name.parse::<usize>().is_ok_and(|i| i < labels.len());
        if !known {
            let hint = suggest(name, labels.iter().map(String::as_str));
            let message = format!(
                "classes names \"{name}\", which is not a label of the model (its labels: {})",
                labels.join(", ")
            );
            ctx.error_hint(f.at, &f.path, message, hint);
        }
    }
}
