//! An in-process proxy-wasm host on wasmtime, for the tests: it loads the built module (the
//! same `filter.wasm` Envoy loads), drives it through the lifecycle Envoy 1.40.0 uses, answers
//! its host calls as Envoy does, records every log line and host call, can make a host call
//! fail, and counts the wasm instructions the module executes (wasmtime's fuel).
//!
//! - [`abi`]: the proxy-wasm ABI 0.2.1 numbers and the serialized header map.
//! - `imports`: the host functions (proxy-wasm, the four WASI imports, stubs for the rest).
//! - [`vm`]: [`Wasm`] (a compiled module), [`Vm`] (an instance, its lifecycle, [`Stream`]) and
//!   the host's side of an instance ([`HostState`]): maps, log, calls, failures.
//! - [`cost`]: the built modules handed in by `cargo xtask`, compiled ([`Compiled`]), and the
//!   deterministic cost figure: instructions per request of the filter and of the
//!   benchmark's baselines for each measured request, and the recorded baseline.
//!
//! Test-only: nothing that ships depends on it, and it depends on nothing but wasmtime and
//! `filter-testing` (the corpus, the variants, what is handed in). `cargo xtask test` runs the
//! module's tests (`tests/module/`); `cargo xtask bench --instructions` runs the cost program
//! (`examples/cost.rs`).

pub mod abi;
pub mod cost;
mod imports;
pub mod state;
pub mod vm;

pub use abi::{Headers, LogLevel, headers};
pub use cost::Compiled;
pub use state::{HostState, LogLine};
pub use vm::{Stream, Vm, Wasm};
