//! An Envoy HTTP filter (proxy-wasm, `wasm32-wasip1`) that logs and sets headers: the Rust
//! counterpart of the Istio tutorial's Go `http_headers` filter.
//!
//! Per request it sets the configured request headers (default `test: best`), adds the configured
//! response headers, logs every request header as `request header --> name: value` and every
//! response header as `response header <-- name: value`, and logs `<context id> finished` once per
//! stream. Every decision (configuration, escaping, redaction, cutting, the lines themselves) is
//! made by the pure `filter_core` crate; this crate is the host glue: `host` (the few host calls,
//! which never panic) and the proxy-wasm contexts, which fetch, call the core and apply.
//!
//! Build: `cargo build --release --target wasm32-wasip1 -p filter` →
//! `target/wasm32-wasip1/release/filter.wasm`. Natively this crate is empty.
//!
//! # Logging
//!
//! The filter logs through `host::log`, not the `log` crate with the SDK's logger: that logger
//! installs a panic hook and unwraps, and `log`'s macros bring `core::fmt` into the module.
//!
//! # Module size
//!
//! About 109 kB (release, LTO, opt-level "z", stripped). What each part costs and how the size
//! moved with each change: BENCHMARKS.md, "Module size".

#[cfg(target_arch = "wasm32")]
mod host;

/// The proxy-wasm contexts: fetch from the host, call the pure core, apply. Never panics; a failed
/// host call is logged (if logging works) and the stream continues.
#[cfg(target_arch = "wasm32")]
mod contexts {
    use crate::host::{self, HostError};
    use filter_core::PluginConfig;
    use filter_core::logline::{self, Direction};
    use filter_core::redaction::NameGate;
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, ContextType, LogLevel, MapType};
    use std::rc::Rc;

    proxy_wasm::main! {{
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
            let config = PluginConfig::default();
            Box::new(HttpHeadersRoot {
                gate: config.name_gate(),
                config: Rc::new(config),
            })
        });
    }}

    /// Whether Envoy currently prints info lines from wasm; asked for every stream because the
    /// level can change at runtime (Envoy's admin `/logging`). If the host can't say, assume it does.
    fn info_enabled() -> bool {
        host::log_level().map_or(true, |level| level <= LogLevel::Info as u32)
    }

    /// Room for a typical line: header names and values of most requests fit.
    const LINE_CAPACITY: usize = 256;

    /// Logs a failed host call at `level` (best effort).
    fn log_failure(level: LogLevel, what: &str, subject: &str, error: HostError) {
        let mut message = String::new();
        logline::host_failure(&mut message, what, subject, error.0);
        host::log(level, &message);
    }

    /// Holds the parsed plugin configuration and hands it to every stream.
    struct HttpHeadersRoot {
        config: Rc<PluginConfig>,
        /// `config`'s filter over header names, built once.
        gate: NameGate,
    }

    impl Context for HttpHeadersRoot {}

    impl RootContext for HttpHeadersRoot {
        fn on_configure(&mut self, plugin_configuration_size: usize) -> bool {
            let bytes = match host::plugin_configuration(plugin_configuration_size) {
                Ok(bytes) => bytes,
                Err(e) => {
                    let what = "can't read the plugin configuration";
                    log_failure(LogLevel::Critical, what, "", e);
                    return false;
                }
            };
            match PluginConfig::parse(&bytes) {
                Ok(config) => {
                    self.gate = config.name_gate();
                    self.config = Rc::new(config);
                    true
                }
                Err(e) => {
                    host::log(LogLevel::Critical, &e.message());
                    false
                }
            }
        }

        fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(HttpHeaders {
                context_id,
                config: Rc::clone(&self.config),
                gate: self.gate,
                line: String::new(),
                logging: None,
                finished: false,
            }))
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
    }

    /// One HTTP stream.
    struct HttpHeaders {
        context_id: u32,
        config: Rc<PluginConfig>,
        gate: NameGate,
        /// Reused for every log line of the stream.
        line: String,
        /// Whether this stream logs, decided at its first callback (one host call a stream).
        logging: Option<bool>,
        /// `finished` was logged (or skipped): `on_log` acts once.
        finished: bool,
    }

    impl HttpHeaders {
        /// Whether this stream logs: the configuration allows it and Envoy prints info lines
        /// from wasm. Asked of the host once per stream, so that a sidecar at warning pays
        /// one host call per request for the logging part.
        fn logging(&mut self) -> bool {
            let config = &self.config;
            *self
                .logging
                .get_or_insert_with(|| config.log_headers && info_enabled())
        }

        /// Logs every header of `map`, one `proxy_log` per line.
        fn log_map(&mut self, map: MapType, direction: Direction) {
            // One allocation for the stream's lines instead of growing at each longer one: about
            // 850 wasm instructions less per request (`cargo xtask bench --instructions`).
            self.line.clear();
            self.line.reserve(LINE_CAPACITY);
            let serialized = match host::header_map_pairs(map) {
                Ok(serialized) => serialized,
                Err(e) => return log_failure(LogLevel::Warn, "can't read the headers", "", e),
            };
            let logged = logline::header_lines_with_gate(
                &serialized,
                direction,
                &self.config,
                self.gate,
                &mut self.line,
                &mut |line| {
                    host::log(LogLevel::Info, line);
                },
            );
            if let Err(e) = logged {
                self.line.clear();
                logline::malformed_map(&mut self.line, &e);
                host::log(LogLevel::Warn, &self.line);
            }
        }
    }

    impl Context for HttpHeaders {}

    impl HttpContext for HttpHeaders {
        fn on_http_request_headers(&mut self, _num_headers: usize, _eos: bool) -> Action {
            for (name, value) in &self.config.set_request_headers {
                if let Err(e) = host::replace_header(MapType::HttpRequestHeaders, name, value) {
                    log_failure(LogLevel::Warn, "can't set request header", name, e);
                }
            }
            if self.logging() {
                self.log_map(MapType::HttpRequestHeaders, Direction::Request);
            }
            Action::Continue
        }

        fn on_http_response_headers(&mut self, _num_headers: usize, _eos: bool) -> Action {
            for (name, value) in &self.config.add_response_headers {
                if let Err(e) = host::add_header(MapType::HttpResponseHeaders, name, value) {
                    log_failure(LogLevel::Warn, "can't add response header", name, e);
                }
            }
            if self.logging() {
                self.log_map(MapType::HttpResponseHeaders, Direction::Response);
            }
            Action::Continue
        }

        fn on_log(&mut self) {
            if std::mem::replace(&mut self.finished, true) || !self.logging() {
                return;
            }
            self.line.clear();
            logline::finished(&mut self.line, self.context_id);
            host::log(LogLevel::Info, &self.line);
        }
    }
}
