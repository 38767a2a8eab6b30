//! The TOML configuration: schema, validation with line:column and suggestions.
//!
//! [`load`] reads one file and returns the validated [`Config`] or every problem at once.
//! The document is parsed with toml_edit (which keeps each key's and value's place) and
//! walked section by section against explicit key tables ([`schema`]); element-property
//! sections are checked against the registered elements themselves ([`elements`]); the
//! cross-field checks ([`checks`]) run last, on everything that parsed.
//!
//! Files: `walk.rs` (places, key paths, typed reads), `parse.rs` (the top level),
//! `sections.rs` (`[app]`, `[reconnect]`, sinks, `[record]` and its rules), `web.rs`
//! (`[web]`), `models.rs`,
//! `sources.rs`, `analytics.rs` (`[analytics]` and a source's `analytics`), `elements.rs`, `checks.rs`, `schema.rs` (key tables and [`keys_help`]),
//! `errors.rs`, `types.rs` (what the runtime consumes).

mod analytics;
mod checks;
mod elements;
mod errors;
mod models;
mod parse;
mod schema;
mod sections;
mod sources;
pub mod types;
mod walk;
mod web;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use errors::{ConfigError, ConfigErrors};
pub use schema::keys_help;
pub use types::*;

/// Reads and validates the config file at `path`: the [`Config`], or every error found.
/// Needs `gst::init()` and `gstrsvision::plugin_register_static()` first (element
/// properties are checked against the registered elements).
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: 1,
            column: 1,
            key: String::new(),
            message: format!("cannot read the config file: {e}"),
            suggestion: None,
        }])
    })?;
    let mut ctx = walk::Ctx::new(path, text);
    let config = match toml_edit::ImDocument::parse(ctx.text().to_string()) {
        Ok(doc) => Some(parse::document(&mut ctx, doc.as_table())),
        Err(e) => {
            let at = e.span().map_or(0, |s| s.start);
            let message = format!(
                "TOML syntax error: {}",
                e.message().trim().replace('\n', "; ")
            );
            ctx.error(at, "", message);
            None
        }
    };
    let mut errors = ctx.errors;
    match config {
        Some(config) if errors.is_empty() => Ok(config),
        _ => {
            errors.sort_by_key(|e| (e.line, e.column));
            errors.dedup();
            Err(ConfigErrors(errors))
        }
    }
}
