//! The project's automation, as a library so that the end-to-end tests drive exactly
//! what `cargo xtask` runs: the virtualenv, the wasm build, httpbin and Envoy on loopback,
//! derived Envoy configs, and the loop that ties them to the smoke checks.

pub mod bench;
pub mod compose;
pub mod envoy_versions;
pub mod hostile;
pub mod hostile_suite;
pub mod image;
pub mod istio;
pub mod load;
pub mod manifests;
pub mod matrix;
pub mod paths;
pub mod ports;
pub mod procs;
pub mod progress;
pub mod run;
pub mod setup;
pub mod smoke_program;
pub mod soak;
pub mod stack;
pub mod tools;
pub mod wasm;
