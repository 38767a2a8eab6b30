//! Kafka configuration shared by the rsvision elements that talk to a broker (`rsmsgbroker`
//! publishes, `rssmartrecord` consumes commands). Plain Rust, no GStreamer types.
//!
//! * [`parse_conn_str`]: DeepStream's `conn-str` (`host;port`, `host;port;topic`), also
//!   `host:port[,host:port...]` and `file:///path` for the file transport,
//! * [`parse_proto_cfg`]: DeepStream's `proto-cfg` (`;`-separated librdkafka `key=value`),
//! * [`BrokerConfig`]: the `[message-broker]` group of a DeepStream broker config file,
//! * [`client_config`]: the rdkafka [`ClientConfig`] from all of these,
//! * [`is_secret`] / [`redact`]: what must never reach a log.

use std::fmt;
use std::path::PathBuf;

use rdkafka::ClientConfig;

use crate::keyfile;

/// Where messages go, from a `conn-str`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Kafka cluster: librdkafka `bootstrap.servers` and the topic given in the
    /// `conn-str`, if any.
    Kafka {
        bootstrap_servers: String,
        topic: Option<String>,
    },
    /// Append one JSON document per line to this file (`file:///path`).
    File(PathBuf),
}

/// A configuration error, with a message fit for users (never containing a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn valid_port(port: &str) -> bool {
    port.parse::<u16>().is_ok_and(|p| p > 0)
}

/// Parses a `conn-str`: DeepStream's `host;port` or `host;port;topic`, a librdkafka
/// `host:port[,host:port...]` list, or `file:///absolute/path`.
pub fn parse_conn_str(conn_str: &str) -> Result<Endpoint, ConfigError> {
    let s = conn_str.trim();
    if let Some(path) = s.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(ConfigError(format!(
                "conn-str {s:?}: a file URI needs an absolute path (file:///path/events.jsonl)"
            )));
        }
        return Ok(Endpoint::File(PathBuf::from(path)));
    }
    if s.is_empty() {
        return Err(ConfigError(
            "conn-str is empty: expected host;port[;topic] or file:///path".into(),
        ));
    }
    let parts: Vec<&str> = s.split(';').map(str::trim).collect();
    match parts.as_slice() {
        [list] => {
            for server in list.split(',') {
                match server.trim().rsplit_once(':') {
                    Some((host, port)) if !host.is_empty() && valid_port(port) => {}
                    _ => {
                        return Err(ConfigError(format!(
                            "conn-str {s:?}: expected host;port[;topic] or host:port[,host:port]"
                        )))
                    }
                }
            }
            Ok(Endpoint::Kafka {
                bootstrap_servers: list.to_string(),
                topic: None,
            })
        }
        [host, port] | [host, port, _] => {
            if host.is_empty() || !valid_port(port) {
                return Err(ConfigError(format!(
                    "conn-str {s:?}: expected host;port[;topic] with a port in 1..65535"
                )));
            }
            let topic = match parts.get(2) {
                Some(t) if !t.is_empty() => Some(t.to_string()),
                _ => None,
            };
            Ok(Endpoint::Kafka {
                bootstrap_servers: format!("{host}:{port}"),
                topic,
            })
        }
        _ => Err(ConfigError(format!(
            "conn-str {s:?}: expected host;port[;topic] or file:///path"
        ))),
    }
}

/// Parses DeepStream's `proto-cfg`: `;`-separated librdkafka `key=value` settings (empty
/// items are ignored; surrounding quotes of the whole string, as DeepStream config files
/// have them, are removed).
pub fn parse_proto_cfg(proto_cfg: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let s = proto_cfg.trim();
    let s = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s);
    let mut out = Vec::new();
    for item in s.split(';') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((k, v)) = item.split_once('=') else {
            // Never echo the item: it might be a secret missing its key.
            return Err(ConfigError(format!(
                "proto-cfg: item {} is not key=value",
                out.len() + 1
            )));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(ConfigError(format!(
                "proto-cfg: item {} has an empty key",
                out.len() + 1
            )));
        }
        out.push((k.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

/// Whether the value of librdkafka setting `key` is a secret (passwords, private keys,
/// OAuth/OIDC secrets) that must never be logged.
pub fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("secret")
        || k == "ssl.key.pem"
        || k == "ssl_key"
        || k == "sasl.oauthbearer.config"
        || k == "sasl.oauthbearer.client.secret"
        || k.ends_with(".jwt")
}

/// The value to log for `key`: `[redacted]` for secrets, else the value.
pub fn redact<'a>(key: &str, value: &'a str) -> &'a str {
    if is_secret(key) {
        "[redacted]"
    } else {
        value
    }
}

/// `key=value;key=value` with every secret redacted, for logs.
pub fn redacted(settings: &[(String, String)]) -> String {
    settings
        .iter()
        .map(|(k, v)| format!("{k}={}", redact(k, v)))
        .collect::<Vec<_>>()
        .join(";")
}

/// The `[message-broker]` group of a DeepStream broker configuration file (`cfg_kafka.txt`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerConfig {
    /// `proto-cfg`: settings for every client.
    pub proto_cfg: Vec<(String, String)>,
    /// `producer-proto-cfg`: settings for producers (applied after `proto-cfg`).
    pub producer_proto_cfg: Vec<(String, String)>,
    /// `consumer-proto-cfg`: settings for consumers (applied after `proto-cfg`).
    pub consumer_proto_cfg: Vec<(String, String)>,
    /// `partition-key`: dotted JSON path of the message key.
    pub partition_key: Option<String>,
    /// `consumer-group-id`.
    pub consumer_group_id: Option<String>,
    /// `share-connection` (accepted, no effect: every element has its own client).
    pub share_connection: Option<bool>,
}

impl BrokerConfig {
    /// Parses the text of a broker config file. Other groups are ignored (DeepStream files
    /// often hold several); a missing `[message-broker]` group gives the defaults.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let groups = keyfile::parse(text).map_err(|e| ConfigError(e.to_string()))?;
        let mut cfg = BrokerConfig::default();
        let Some(g) = groups.iter().find(|g| g.name == "message-broker") else {
            return Ok(cfg);
        };
        for (key, value, line) in &g.entries {
            let at = |e: ConfigError| ConfigError(format!("line {line}: {}", e.0));
            match key.as_str() {
                "proto-cfg" => cfg.proto_cfg = parse_proto_cfg(value).map_err(at)?,
                "producer-proto-cfg" => {
                    cfg.producer_proto_cfg = parse_proto_cfg(value).map_err(at)?
                }
                "consumer-proto-cfg" => {
                    cfg.consumer_proto_cfg = parse_proto_cfg(value).map_err(at)?
                }
                "partition-key" => {
                    cfg.partition_key = Some(value.trim_matches('"').to_string()).filter(|s| !s.is_empty())
                }
                "consumer-group-id" => {
                    cfg.consumer_group_id = Some(value.trim_matches('"').to_string()).filter(|s| !s.is_empty())
                }
                "share-connection" => {
                    cfg.share_connection = Some(match value.as_str() {
                        "1" | "true" => true,
                        "0" | "false" => false,
                        _ => {
                            return Err(ConfigError(format!(
                                "line {line}: share-connection must be 0 or 1, not {value:?}"
                            )))
                        }
                    })
                }
                other => {
                    return Err(ConfigError(format!(
                        "line {line}: unknown key {other:?} in [message-broker] (known: proto-cfg, producer-proto-cfg, consumer-proto-cfg, partition-key, consumer-group-id, share-connection)"
                    )))
                }
            }
        }
        Ok(cfg)
    }

    /// Reads and parses a broker config file.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    /// [`BrokerConfig::load`] for an element's `broker-config` property: unset or empty
    /// gives the defaults.
    pub fn load_if_set(path: Option<&str>) -> Result<Self, ConfigError> {
        match path.filter(|p| !p.is_empty()) {
            Some(p) => Self::load(std::path::Path::new(p)),
            None => Ok(Self::default()),
        }
    }
}

/// Builds an rdkafka client configuration: `bootstrap.servers`, then `defaults`, then each
/// list of `layers` in order (later settings win). Nothing is validated here: librdkafka
/// refuses unknown keys or bad values when the client is created.
pub fn client_config(
    bootstrap_servers: &str,
    defaults: &[(&str, String)],
    layers: &[&[(String, String)]],
) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap_servers);
    for (k, v) in defaults {
        cfg.set(*k, v.as_str());
    }
    for layer in layers {
        for (k, v) in layer.iter() {
            cfg.set(k.as_str(), v.as_str());
        }
    }
    cfg
}

/// Removes secrets from a librdkafka error text that might quote a setting's value.
pub fn scrub(text: &str, settings: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (k, v) in settings {
        if is_secret(k) && !v.is_empty() {
            out = out.replace(v.as_str(), "[redacted]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deepstream_conn_str() {
        assert_eq!(
            parse_conn_str("localhost;9092").unwrap(),
            Endpoint::Kafka {
                bootstrap_servers: "localhost:9092".into(),
                topic: None
            }
        );
        assert_eq!(
            parse_conn_str(" 10.0.0.1 ; 9092 ; events ").unwrap(),
            Endpoint::Kafka {
                bootstrap_servers: "10.0.0.1:9092".into(),
                topic: Some("events".into())
            }
        );
        assert_eq!(
            parse_conn_str("a:1,b:2").unwrap(),
            Endpoint::Kafka {
                bootstrap_servers: "a:1,b:2".into(),
                topic: None
            }
        );
        assert_eq!(
            parse_conn_str("file:///tmp/x.jsonl").unwrap(),
            Endpoint::File("/tmp/x.jsonl".into())
        );
        for bad in [
            "",
            "localhost",
            "localhost;http",
            "localhost;0",
            "localhost;70000",
            ";9092",
            "a;1;t;x",
            "file://relative",
            "a:1,b",
        ] {
            assert!(parse_conn_str(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn proto_cfg() {
        let p =
            parse_proto_cfg("\"queue.buffering.max.messages=200000; message.send.max.retries=3;\"")
                .unwrap();
        assert_eq!(
            p,
            vec![
                ("queue.buffering.max.messages".into(), "200000".into()),
                ("message.send.max.retries".into(), "3".into())
            ]
        );
        assert!(parse_proto_cfg("").unwrap().is_empty());
        let e = parse_proto_cfg("a=1;hunter2").unwrap_err();
        assert!(!e.0.contains("hunter2"), "{e}");
        assert!(parse_proto_cfg("=x").is_err());
    }

    #[test]
    fn secrets_are_redacted() {
        let p = parse_proto_cfg(
            "security.protocol=SASL_SSL;sasl.mechanisms=PLAIN;sasl.username=u;sasl.password=hunter2;ssl.key.password=k3y;ssl.key.pem=PEMDATA;ssl.keystore.password=ks",
        )
        .unwrap();
        let r = redacted(&p);
        for s in ["hunter2", "k3y", "PEMDATA", "=ks"] {
            assert!(!r.contains(s), "{s} leaked in {r}");
        }
        assert!(r.contains("sasl.username=u"));
        assert!(r.contains("sasl.password=[redacted]"));
        assert_eq!(
            scrub("bad value hunter2 for sasl.password", &p),
            "bad value [redacted] for sasl.password"
        );
    }

    #[test]
    fn broker_config_file() {
        // DeepStream's cfg_kafka.txt layout.
        let text = "[message-broker]\n#partition-key = sensor.id\nproto-cfg = \"message.timeout.ms=2000;retries=5\"\nconsumer-group-id = mygrp\nproducer-proto-cfg = \"queue.buffering.max.messages=200000\"\npartition-key = sensorId\nshare-connection = 1\n";
        let c = BrokerConfig::parse(text).unwrap();
        assert_eq!(c.proto_cfg.len(), 2);
        assert_eq!(c.producer_proto_cfg[0].1, "200000");
        assert_eq!(c.partition_key.as_deref(), Some("sensorId"));
        assert_eq!(c.consumer_group_id.as_deref(), Some("mygrp"));
        assert_eq!(c.share_connection, Some(true));
        assert_eq!(
            BrokerConfig::parse("[other]\nx=1\n").unwrap(),
            BrokerConfig::default()
        );
        let e = BrokerConfig::parse("[message-broker]\nproto-cfgg=a=1\n").unwrap_err();
        assert!(e.0.contains("line 2"), "{e}");
        assert_eq!(
            BrokerConfig::load_if_set(None).unwrap(),
            BrokerConfig::default()
        );
        assert_eq!(
            BrokerConfig::load_if_set(Some("")).unwrap(),
            BrokerConfig::default()
        );
        let e = BrokerConfig::load_if_set(Some("/nonexistent/cfg_kafka.txt")).unwrap_err();
        assert!(e.0.contains("/nonexistent/cfg_kafka.txt"), "{e}");
    }

    #[test]
    fn layered_client_config() {
        let user = vec![("message.timeout.ms".to_string(), "5".to_string())];
        let c = client_config(
            "h:1",
            &[
                ("message.timeout.ms", "0".to_string()),
                ("acks", "all".to_string()),
            ],
            &[&user],
        );
        assert_eq!(c.get("bootstrap.servers"), Some("h:1"));
        assert_eq!(c.get("message.timeout.ms"), Some("5"));
        assert_eq!(c.get("acks"), Some("all"));
    }
}
