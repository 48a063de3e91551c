//! The plugin configuration the filter runs with, every default filled in, as data: what
//! `smoke --print-config` prints and the automation reads. filter-core parses and checks the
//! configuration (its defaults live there); `smoke::settings_of` turns its `PluginConfig` into
//! this, field by field, so a new field there does not compile until it is here too.

use serde::{Deserialize, Serialize};

/// One field per field of filter-core's `PluginConfig`, with the same meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginSettings {
    /// Set (replaced) on every request, in order.
    pub set_request_headers: Vec<(String, String)>,
    /// Added to every response, in order.
    pub add_response_headers: Vec<(String, String)>,
    /// Lower-case names whose values are logged as `[redacted]`, the defaults first.
    pub redact_headers: Vec<String>,
    /// Query parameter names whose values are logged as `[redacted]`, the defaults first.
    pub redact_query_params: Vec<String>,
    /// Lower-case names kept in clear although the default name rule matches them.
    pub unredacted_headers: Vec<String>,
    /// Lower-case names of the headers whose value is a URL.
    pub url_headers: Vec<String>,
    /// Longest value (in bytes of the raw value) logged before it is cut.
    pub max_logged_value_bytes: usize,
    /// false: the filter logs nothing per request.
    pub log_headers: bool,
}
