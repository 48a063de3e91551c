//! What a stack starts: the bootstrap, the module, the ports and Envoy's options
//! ([`StackSpec`], [`EnvoyOptions`]), and how long a start may take.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

/// How long Envoy and httpbin may take to become ready.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What to start: the bootstrap to derive from, the module, the ports.
#[derive(Debug, Clone)]
pub struct StackSpec {
    /// The scratch directory for configs and logs (`target/xtask/<name>` by default).
    pub dir: PathBuf,
    /// The bootstrap (usually `envoy.yaml`, perhaps a derived variant) before the native
    /// derivation is applied.
    pub bootstrap: Value,
    /// The wasm module; `None` for a bootstrap without a wasm filter.
    pub wasm: Option<PathBuf>,
    /// The listener's port (0: a free one).
    pub listener_port: u16,
    /// The admin port (0: a free one).
    pub admin_port: u16,
    /// Envoy's options.
    pub envoy: EnvoyOptions,
}

impl StackSpec {
    /// `bootstrap` with the module `wasm` (or none) on free ports, named `name`.
    pub fn new(name: &str, bootstrap: Value, wasm: impl Into<Option<PathBuf>>) -> StackSpec {
        StackSpec {
            dir: crate::paths::work_dir(name),
            bootstrap,
            wasm: wasm.into(),
            listener_port: 0,
            admin_port: 0,
            envoy: EnvoyOptions::default(),
        }
    }
}

/// Options for one Envoy process.
#[derive(Debug, Clone)]
pub struct EnvoyOptions {
    /// The level of Envoy's `wasm` logger: `info` shows the header lines, `warning` hides them.
    pub wasm_log_level: String,
    /// Worker threads.
    pub concurrency: u32,
    /// Envoy's `--log-format` (None: Envoy's default format).
    pub log_format: Option<String>,
}

impl Default for EnvoyOptions {
    fn default() -> Self {
        EnvoyOptions {
            wasm_log_level: "info".into(),
            concurrency: 1,
            log_format: None,
        }
    }
}
