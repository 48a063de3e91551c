//! The pure core of the http-headers filter: every decision the wasm module makes, with no host
//! calls, so that it is unit-tested natively and shared with the tools that check the module.
//!
//! - [`config`]: the plugin configuration, its defaults and its errors ([`PluginConfig::parse`]).
//! - [`escape`]: how header bytes are written into a log line (reversible, unforgeable).
//! - [`logline`]: the exact lines the filter logs, and the lines for every header of a map the
//!   host serialized ([`logline::header_lines`]).
//! - [`redaction`]: what is never logged in clear: the marker, the always-redacted lists, the name
//!   check, the request-target headers and their query redaction. Imported one way: `logline` →
//!   `redaction` → `escape`.
//!
//! Internal: `json` (the small JSON reader behind the configuration), `text` (numbers and
//! messages without `core::fmt`), `repeats` (duplicate checks in n log n) and `header_map`
//! (zero-copy reading of the host's serialized header map). The `filter` crate (the wasm module) holds only the host glue around this.
//!
//! # Size rules
//!
//! This crate compiles into the wasm module, whose size is measured (see `filter/src/lib.rs`):
//! it has no dependencies and uses no `core::fmt` outside `Display` impls the module never calls.
//! The configuration is parsed by the hand-written `json` reader rather than serde + serde_json:
//! serde_json costs about 18 kB of module, and its errors don't name the field path.

pub mod config;
pub mod escape;
mod header_map;
mod json;
pub mod logline;
pub mod redaction;
mod repeats;
mod text;

pub use config::PluginConfig;
pub use header_map::MapError;
