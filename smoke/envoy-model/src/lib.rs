//! One model of Envoy, shared by the smoke checks and the automation (`xtask`): its bootstrap
//! ([`bootstrap`]: read it, find the wasm filter and its configuration, derive copies), its
//! log ([`envoy_log`]: the filter's lines, Envoy's own lines, why it failed, the file followed
//! as it grows), its admin's `/ready` ([`ready`]), the wasm module it loads ([`module`]), the
//! filter's configuration as data ([`plugin_settings`]) and a raw HTTP/1.1 client to talk to
//! it ([`http`]); and the duration format every report shares ([`figures`]).
//!
//! Dependencies point one way: `smoke` → `envoy_model` and `xtask` → `envoy_model` (xtask
//! runs smoke as a program); nothing here starts a process.

pub mod bootstrap;
pub mod envoy_log;
pub mod figures;
pub mod http;
pub mod module;
pub mod plugin_settings;
pub mod ready;

/// The release in Envoy's build version (`<commit>/1.40.0/Clean/RELEASE/BoringSSL` → `1.40.0`),
/// as `envoy --version` and the admin's `/server_info` give it.
pub fn release_of(build_version: &str) -> Option<String> {
    let release = build_version.split('/').nth(1)?;
    let numbered = release.starts_with(|c: char| c.is_ascii_digit());
    numbered.then(|| release.to_string())
}
