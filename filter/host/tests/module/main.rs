//! The built module (target/wasm32-wasip1/release/filter.wasm, the file Envoy loads) under test
//! in the in-process host: its lines, its configuration errors, its host calls at each log
//! level, host calls that fail, the hostile corpus against the native core, and its cost.
//! Each test takes milliseconds once the modules are built and compiled (once per run).

mod config_errors;
mod cost;
mod differential;
mod failures;
mod levels;
mod lines;
mod util;
