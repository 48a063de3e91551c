//! Envoy's log: finds the wasm log lines, classifies the filter's messages and groups them into
//! streams; reads Envoy's own lines; follows the log file; says why Envoy failed.
//!
//! In four parts: the wasm log lines ([`WasmLine`]) and Envoy's own and access log lines
//! ([`EnvoyLine`]) in `lines`; what the filter's messages mean ([`Event`]) and how they form
//! HTTP streams ([`Stream`]) in `streams`; the log file followed as it grows ([`LogFollower`])
//! in `follow`; why Envoy failed ([`cause`], [`explain_start_failure`]) in `startup`.

mod follow;
mod lines;
mod startup;
mod streams;

pub use follow::*;
pub use lines::*;
pub use startup::*;
pub use streams::*;

#[cfg(test)]
mod istio_tests;
#[cfg(test)]
mod streams_tests;
#[cfg(test)]
mod tests;
