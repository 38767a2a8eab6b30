//! DeepStream's cloud-to-device Smart Record command:
//!
//! ```text
//! { "command": "start-recording" | "stop-recording",
//!   "start": "2020-05-18T20:02:00.051Z", "end": "2020-05-18T20:02:02.851Z",
//!   "sensor": { "id": "..." } }
//! ```
//!
//! A missing `command` means start; a missing `end` means the default duration;
//! `sensor.id` is required. Times are UTC milliseconds ([`super::time`]).

use std::fmt;

use serde_json::Value;

use crate::utc::parse_iso8601;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Start,
    Stop,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub kind: Kind,
    /// Requested start (UTC ms); `None` means now.
    pub start_ms: Option<i64>,
    /// Requested end (UTC ms); `None` means the default duration.
    pub end_ms: Option<i64>,
    pub sensor_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    Json(String),
    NotAnObject,
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    UnknownCommand(String),
    MissingSensor,
    BadTime {
        field: &'static str,
        value: String,
    },
    EndBeforeStart,
    FarFuture {
        field: &'static str,
        value: String,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Json(e) => write!(f, "not valid JSON: {e}"),
            CommandError::NotAnObject => write!(f, "not a JSON object"),
            CommandError::WrongType { field, expected } => {
                write!(f, "`{field}` must be {expected}")
            }
            CommandError::UnknownCommand(c) => write!(
                f,
                "unknown command {c:?} (expected \"start-recording\" or \"stop-recording\")"
            ),
            CommandError::MissingSensor => write!(f, "`sensor.id` is missing"),
            CommandError::BadTime { field, value } => write!(
                f,
                "`{field}` {value:?} is not an ISO-8601 UTC time like 2020-05-18T20:02:00.051Z"
            ),
            CommandError::EndBeforeStart => write!(f, "`end` is before `start`"),
            CommandError::FarFuture { field, value } => {
                write!(f, "`{field}` {value:?} is too far in the future")
            }
        }
    }
}

impl std::error::Error for CommandError {}

fn time_field(
    obj: &serde_json::Map<String, Value>,
    field: &'static str,
) -> Result<Option<i64>, CommandError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_iso8601(s).map(Some).ok_or(CommandError::BadTime {
            field,
            value: s.clone(),
        }),
        Some(_) => Err(CommandError::WrongType {
            field,
            expected: "an ISO-8601 string",
        }),
    }
}

/// Parses one command (the Kafka message payload).
pub fn parse(payload: &[u8]) -> Result<Command, CommandError> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| CommandError::Json(e.to_string()))?;
    let obj = v.as_object().ok_or(CommandError::NotAnObject)?;
    let kind = match obj.get("command") {
        None | Some(Value::Null) => Kind::Start,
        Some(Value::String(s)) => match s.as_str() {
            "start-recording" => Kind::Start,
            "stop-recording" => Kind::Stop,
            _ => return Err(CommandError::UnknownCommand(s.clone())),
        },
        Some(_) => {
            return Err(CommandError::WrongType {
                field: "command",
                expected: "a string",
            })
        }
    };
    let sensor_id = match obj.get("sensor") {
        None | Some(Value::Null) => return Err(CommandError::MissingSensor),
        Some(Value::Object(s)) => match s.get("id") {
            None | Some(Value::Null) => return Err(CommandError::MissingSensor),
            Some(Value::String(id)) => id.clone(),
            // DeepStream also accepts numeric sensor ids (source indices).
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => {
                return Err(CommandError::WrongType {
                    field: "sensor.id",
                    expected: "a string",
                })
            }
        },
        Some(_) => {
            return Err(CommandError::WrongType {
                field: "sensor",
                expected: "an object",
            })
        }
    };
    let start_ms = time_field(obj, "start")?;
    let end_ms = time_field(obj, "end")?;
    if let (Some(s), Some(e)) = (start_ms, end_ms) {
        if e < s {
            return Err(CommandError::EndBeforeStart);
        }
    }
    Ok(Command {
        kind,
        start_ms,
        end_ms,
        sensor_id,
    })
}

/// How far in the future a `start` may be (clock skew between producer and camera host);
/// a start in this margin is clamped to now, as DeepStream does.
pub const START_FUTURE_TOLERANCE_MS: i64 = 10_000;

/// Checks the times against `now_ms`: a `start` more than
/// [`START_FUTURE_TOLERANCE_MS`] ahead, or an `end` more than `max_duration_ms` after
/// now, is refused.
pub fn validate(cmd: &Command, now_ms: i64, max_duration_ms: i64) -> Result<(), CommandError> {
    if let Some(s) = cmd.start_ms {
        if s > now_ms + START_FUTURE_TOLERANCE_MS {
            return Err(CommandError::FarFuture {
                field: "start",
                value: crate::utc::format_iso8601(s),
            });
        }
    }
    if let Some(e) = cmd.end_ms {
        if e > now_ms + max_duration_ms.max(0) + START_FUTURE_TOLERANCE_MS {
            return Err(CommandError::FarFuture {
                field: "end",
                value: crate::utc::format_iso8601(e),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENSOR: &str = "HWY_20_AND_LOCUST__EBA__4_11_2018_4_59_59_508_AM_UTC-07_00";

    #[test]
    fn parses_the_deepstream_example() {
        let json = format!(
            r#"{{"command": "start-recording", "start": "2021-07-28T17:53:18.805Z", "end": "2021-07-28T17:53:21.805Z", "sensor": {{"id": "{SENSOR}"}}}}"#
        );
        let c = parse(json.as_bytes()).unwrap();
        assert_eq!(c.kind, Kind::Start);
        assert_eq!(c.sensor_id, SENSOR);
        assert_eq!(c.end_ms.unwrap() - c.start_ms.unwrap(), 3000);
        assert_eq!(c.start_ms, Some(1_627_494_798_805));
    }

    #[test]
    fn defaults() {
        let c = parse(br#"{"sensor": {"id": "cam1"}}"#).unwrap();
        assert_eq!(
            c,
            Command {
                kind: Kind::Start,
                start_ms: None,
                end_ms: None,
                sensor_id: "cam1".into()
            }
        );
        let c = parse(br#"{"command": "stop-recording", "sensor": {"id": 3}}"#).unwrap();
        assert_eq!(c.kind, Kind::Stop);
        assert_eq!(c.sensor_id, "3");
    }

    #[test]
    fn bad_commands() {
        type Check = fn(&CommandError) -> bool;
        let cases: &[(&[u8], Check)] = &[
            (b"{not json", |e| matches!(e, CommandError::Json(_))),
            (b"[1,2]", |e| matches!(e, CommandError::NotAnObject)),
            (br#"{"command": 5, "sensor": {"id": "a"}}"#, |e| {
                matches!(e, CommandError::WrongType { field: "command", .. })
            }),
            (br#"{"command": "record", "sensor": {"id": "a"}}"#, |e| {
                matches!(e, CommandError::UnknownCommand(_))
            }),
            (br#"{"command": "start-recording"}"#, |e| {
                matches!(e, CommandError::MissingSensor)
            }),
            (br#"{"sensor": "a"}"#, |e| {
                matches!(e, CommandError::WrongType { field: "sensor", .. })
            }),
            (br#"{"sensor": {"id": ["a"]}}"#, |e| {
                matches!(e, CommandError::WrongType { field: "sensor.id", .. })
            }),
            (br#"{"start": 12, "sensor": {"id": "a"}}"#, |e| {
                matches!(e, CommandError::WrongType { field: "start", .. })
            }),
            (br#"{"start": "noon", "sensor": {"id": "a"}}"#, |e| {
                matches!(e, CommandError::BadTime { field: "start", .. })
            }),
            (
                br#"{"start": "2021-07-28T17:53:21.805Z", "end": "2021-07-28T17:53:18.805Z", "sensor": {"id": "a"}}"#,
                |e| matches!(e, CommandError::EndBeforeStart),
            ),
        ];
        for (payload, check) in cases {
            let e = parse(payload).unwrap_err();
            assert!(check(&e), "{}: {e:?}", String::from_utf8_lossy(payload));
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn future_times() {
        let now = 1_627_494_798_805;
        let mut c = Command {
            kind: Kind::Start,
            start_ms: Some(now + 5_000),
            end_ms: Some(now + 30_000),
            sensor_id: "a".into(),
        };
        assert!(validate(&c, now, 600_000).is_ok());
        c.start_ms = Some(now + 3_600_000);
        assert!(matches!(
            validate(&c, now, 600_000),
            Err(CommandError::FarFuture { field: "start", .. })
        ));
        c.start_ms = Some(now);
        c.end_ms = Some(now + 86_400_000);
        assert!(matches!(
            validate(&c, now, 600_000),
            Err(CommandError::FarFuture { field: "end", .. })
        ));
    }
}
