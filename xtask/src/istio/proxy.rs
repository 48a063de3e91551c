//! Envoy started the way Istio's pilot-agent starts a sidecar's Envoy: its log format and two
//! worker threads, so that the smoke checks read the same line form as
//! `kubectl logs deploy/httpbin -c istio-proxy` prints.

use crate::stack::EnvoyOptions;

/// pilot-agent's `--log-format` for Envoy (istio/istio `pkg/envoy/proxy.go`): lines like
/// `2026-11-23T20:38:42.932817Z<TAB>info<TAB>envoy wasm <file>:<line><TAB>wasm log …<TAB>thread=24`.
pub const ISTIO_LOG_FORMAT: &str = "%Y-%m-%dT%T.%fZ\t%l\tenvoy %n %g:%#\t%v\tthread=%t";
/// Sidecars run two workers unless told otherwise.
pub const SIDECAR_CONCURRENCY: u32 = 2;

/// Envoy's options as a sidecar runs it, with the `wasm` logger at info (the pod annotation
/// `sidecar.istio.io/componentLogLevel: wasm:info` of istio/httpbin.yaml).
pub fn sidecar_options() -> EnvoyOptions {
    EnvoyOptions {
        wasm_log_level: "info".into(),
        concurrency: SIDECAR_CONCURRENCY,
        log_format: Some(ISTIO_LOG_FORMAT.into()),
    }
}
