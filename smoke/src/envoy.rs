//! One model of Envoy, shared by the smoke checks and the automation (`xtask`): its bootstrap
//! ([`bootstrap`]: read it, find the wasm filter and its configuration, derive copies), its
//! log ([`log`]: the filter's lines, Envoy's own lines, why a start failed) and the wasm
//! module it loads ([`module`]).
//!
//! Dependencies point one way: `xtask` → `smoke::envoy` → `filter_core`; nothing here starts
//! a process or sends a request.

pub mod bootstrap;
pub mod log;
pub mod module;
