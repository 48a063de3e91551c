//! One model of Envoy, shared by the smoke checks and the automation (`xtask`): its bootstrap
//! ([`bootstrap`]: read it, find the wasm filter and its configuration, derive copies), its
//! log ([`log`]: the filter's lines, Envoy's own lines, why a start failed) and the wasm
//! module it loads ([`module`]).
//!
//! Dependencies point one way: `xtask` → `smoke` → `envoy_model` → `filter_core`; nothing here starts
//! a process or sends a request.

pub mod bootstrap;
pub mod log;
pub mod module;

/// The release in Envoy's build version (`<commit>/1.40.0/Clean/RELEASE/BoringSSL` → `1.40.0`),
/// as `envoy --version` and the admin's `/server_info` give it.
pub fn release_of(build_version: &str) -> Option<String> {
    let release = build_version.split('/').nth(1)?;
    release
        .starts_with(|c: char| c.is_ascii_digit())
        .then(|| release.to_string())
}
