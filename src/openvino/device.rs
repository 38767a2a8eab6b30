//! Devices: setting the options' properties on the right devices, and telling a device
//! OpenVINO does not have here from other failures.
//!
//! A hardware device (`CPU`, `GPU.1`, `NPU`) takes every property. The virtual devices
//! (`AUTO`, `MULTI`, `HETERO`, `BATCH`) take few: OpenVINO refuses properties on `AUTO:GPU,CPU`
//! (only on `AUTO` itself), `AUTO` and `MULTI` take `PERFORMANCE_HINT` but not
//! `INFERENCE_NUM_THREADS`, `HETERO` and `BATCH` take neither (measured with 2026.4). So
//! the hint goes to `AUTO`/`MULTI` and every property to the hardware devices behind them,
//! configured on the core before the virtual device compiles on them.

use openvino::{Core, DeviceType, PropertyKey, RwPropertyKey};

use super::{LoadError, Options};

/// Devices that dispatch to others.
const VIRTUAL_DEVICES: &[&str] = &["AUTO", "MULTI", "HETERO", "BATCH"];

/// A virtual device's name and the hardware devices listed after it (`AUTO:GPU,CPU` ->
/// `("AUTO", ["GPU", "CPU"])`, `BATCH:GPU(4)` -> `("BATCH", ["GPU"])`); `None` for a
/// hardware device.
fn split_virtual(device: &str) -> Option<(&str, Vec<String>)> {
    let (base, list) = device.split_once(':').unwrap_or((device, ""));
    if !VIRTUAL_DEVICES.contains(&base) {
        return None;
    }
    let targets = list
        .split(',')
        .map(|t| t.split('(').next().unwrap_or(t).trim())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    Some((base, targets))
}

/// A device name without its index or options (`GPU.1` -> `GPU`).
fn base(device: &str) -> &str {
    device
        .split(['.', ':', '('])
        .next()
        .unwrap_or(device)
        .trim()
}

/// The devices of `device` that are not among `available`.
fn missing(device: &str, available: &[String]) -> Vec<String> {
    let wanted = match split_virtual(device) {
        Some((_, targets)) => targets,
        None => vec![device.to_string()],
    };
    wanted
        .into_iter()
        .filter(|w| !available.iter().any(|a| base(a) == base(w)))
        .collect()
}

fn available(core: &Core) -> Vec<String> {
    core.available_devices()
        .map(|v| v.iter().map(|d| d.to_string()).collect())
        .unwrap_or_default()
}

fn set(core: &mut Core, device: &str, key: &str, value: &str) -> Result<(), String> {
    core.set_property(
        &DeviceType::from(device),
        &RwPropertyKey::Other(key.to_string().into()),
        value,
    )
    .map_err(|e| super::model::message(&e))
}

/// Sets the properties of `options` for compiling on `device`. Returns warnings: a
/// hardware device behind a virtual one that refuses a property is left to its default.
pub(super) fn configure(
    core: &mut Core,
    device: &str,
    options: &Options,
) -> Result<Vec<String>, LoadError> {
    let Some((virtual_device, listed)) = split_virtual(device) else {
        for (key, value) in &options.properties_for(device) {
            set(core, device, key, value).map_err(|e| {
                unavailable(core, device, &e).unwrap_or_else(|| {
                    LoadError::Runtime(format!(
                        "OpenVINO device {device} does not take {key}={value}: {e}"
                    ))
                })
            })?;
        }
        return Ok(Vec::new());
    };
    if matches!(virtual_device, "AUTO" | "MULTI") {
        let hint = options.hint.value();
        set(core, virtual_device, "PERFORMANCE_HINT", hint).map_err(|e| {
            LoadError::Runtime(format!(
                "OpenVINO device {virtual_device} does not take PERFORMANCE_HINT={hint}: {e}"
            ))
        })?;
    }
    let targets = if listed.is_empty() {
        available(core)
    } else {
        listed
    };
    let mut warnings = Vec::new();
    for target in &targets {
        for (key, value) in &options.properties_for(target) {
            if let Err(e) = set(core, target, key, value) {
                warnings.push(format!(
                    "{target} behind {device} does not take {key}={value}: {e}"
                ));
            }
        }
    }
    Ok(warnings)
}

/// When `device` (or a device behind it) is not one OpenVINO has here, the error for a
/// failure to configure or compile on it: [`LoadError::Runtime`] with OpenVINO's message
/// and the available devices.
pub(super) fn unavailable(core: &Core, device: &str, message: &str) -> Option<LoadError> {
    let available = available(core);
    let missing = missing(device, &available);
    if missing.is_empty() {
        return None;
    }
    let listed = if available.is_empty() {
        "none".to_string()
    } else {
        available.join(", ")
    };
    Some(LoadError::Runtime(format!(
        "OpenVINO device '{}' is not available ({message}); available devices: {listed}",
        missing.join("', '")
    )))
}

/// The precision a virtual device computes in, which its compiled model does not report:
/// that of its only execution device, as configured on the core.
pub(super) fn execution_precision(core: &Core, execution_devices: Option<&str>) -> Option<String> {
    let d = execution_devices?.trim();
    if d.is_empty() || d.contains([',', ' ']) || split_virtual(d).is_some() {
        return None;
    }
    let key = PropertyKey::Rw(RwPropertyKey::HintInferencePrecision);
    core.get_property(&DeviceType::from(d), &key).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_devices_and_their_targets() {
        assert_eq!(split_virtual("CPU"), None);
        assert_eq!(split_virtual("GPU.1"), None);
        assert_eq!(split_virtual("AUTO"), Some(("AUTO", vec![])));
        assert_eq!(
            split_virtual("AUTO:GPU.1, CPU"),
            Some(("AUTO", vec!["GPU.1".into(), "CPU".into()]))
        );
        assert_eq!(
            split_virtual("BATCH:GPU(4)"),
            Some(("BATCH", vec!["GPU".into()]))
        );
        assert_eq!(split_virtual("HETERO:GPU,CPU").unwrap().1.len(), 2);
    }

    #[test]
    fn missing_devices() {
        let available = vec!["CPU".to_string(), "GPU.0".to_string()];
        assert!(missing("CPU", &available).is_empty());
        assert!(missing("GPU", &available).is_empty());
        assert!(
            missing("GPU.1", &available).is_empty(),
            "indices are OpenVINO's to check"
        );
        assert_eq!(missing("NPU", &available), vec!["NPU"]);
        assert!(missing("AUTO", &available).is_empty());
        assert_eq!(missing("AUTO:NPU,CPU", &available), vec!["NPU"]);
        assert_eq!(missing("NOPE", &[]), vec!["NOPE"]);
    }
}
