//! What the host holds for one module instance: Envoy's log level, the plugin configuration,
//! the current stream's header maps, and the record of what the module did (log lines, host
//! calls by name), plus the host calls a test makes fail.

use std::collections::BTreeMap;

use crate::abi::{self, Headers, LogLevel};

/// One `proxy_log` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The level the module gave (`None`: a number that is not a level).
    pub level: Option<LogLevel>,
    /// The message, byte for byte.
    pub message: Vec<u8>,
}

impl LogLine {
    /// The message as text (lossy: a module's lines are meant to be UTF-8, and tests say so).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.message).into_owned()
    }
}

/// The host side of one instance. Tests read and change it through `Vm::state`.
#[derive(Debug, Clone, Default)]
pub struct HostState {
    /// What `proxy_get_log_level` answers: Envoy's level for the `wasm` logger.
    pub log_level: LogLevel,
    /// The `PLUGIN_CONFIGURATION` buffer: `configuration` in envoy.yaml.
    pub plugin_configuration: Vec<u8>,
    /// The request header map of the stream being run (after it: as the filter left it).
    pub request_headers: Headers,
    /// The response header map of the stream being run (after it: as the filter left it).
    pub response_headers: Headers,
    /// Every `proxy_log` call, whatever its level (Envoy prints those at `log_level` or above).
    pub log: Vec<LogLine>,
    /// How many times the module called each import (`proxy_log`, `fd_write`, ...) since the
    /// current stream began (before the first: since the instance was created).
    pub calls: BTreeMap<String, u64>,
    /// Imports the host has no implementation for that the module called anyway.
    pub unexpected: Vec<String>,
    /// Host calls that fail: the import's name and the status it returns, doing nothing.
    pub failing: BTreeMap<String, u32>,
    /// When `Some`, every host call and callback is appended with the fuel left at its start:
    /// the instructions between two entries are the difference (a profile by host call).
    pub trace: Option<Vec<(String, u64)>>,
}

impl HostState {
    /// A host at `log_level` with `plugin_configuration`, no maps, nothing recorded.
    pub fn new(log_level: LogLevel, plugin_configuration: &[u8]) -> HostState {
        HostState {
            log_level,
            plugin_configuration: plugin_configuration.to_vec(),
            ..HostState::default()
        }
    }

    /// Appends `what` to the trace, if there is one.
    pub(crate) fn traced(&mut self, what: &str, fuel_left: u64) {
        if let Some(trace) = &mut self.trace {
            trace.push((what.to_string(), fuel_left));
        }
    }

    /// The header map `map_type` names, if it is one this host has.
    pub(crate) fn map_mut(&mut self, map_type: u32) -> Option<&mut Headers> {
        match map_type {
            abi::HTTP_REQUEST_HEADERS => Some(&mut self.request_headers),
            abi::HTTP_RESPONSE_HEADERS => Some(&mut self.response_headers),
            _ => None,
        }
    }
}
