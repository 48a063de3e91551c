//! Running the benchmark's variants (`filter_testing::variants`): the checks that an Envoy
//! set-up answers and logs as its variant should.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

pub use filter_testing::variants::{Module, Modules, VARIANTS, Variant, variant};

use envoy_model::envoy_log::read_from;
use envoy_model::http;

/// Sends one request and checks the answer is the one `variant` should give: 200 with
/// the direct body, and `x-wasm-header` exactly when a header-setting filter runs.
pub fn check_answer(variant: &Variant, listener: std::net::SocketAddr) -> Result<()> {
    let response = http::get(listener, "/bench", Duration::from_secs(5))
        .with_context(|| format!("{}: GET /bench", variant.label))?;
    let added = response.header("x-wasm-header");
    let expected = matches!(variant.module, Module::Filter | Module::Naive);
    if response.status != 200 || added.is_some() != expected {
        bail!(
            "{}: EXPECTED 200 with{} x-wasm-header; GOT {} with x-wasm-header {:?}",
            variant.label,
            if expected { "" } else { "out" },
            response.status,
            added
        );
    }
    Ok(())
}

/// Whether the tail of an Envoy log shows the filter's header lines, as it must at
/// `wasm:info` and must not at `wasm:warning`.
pub fn check_log_tail(variant: &Variant, log: &Path) -> Result<()> {
    if variant.module == Module::None || variant.module == Module::Empty {
        return Ok(());
    }
    let len = std::fs::metadata(log).map_or(0, |m| m.len());
    let tail = read_from(log, len.saturating_sub(64 * 1024))
        .with_context(|| format!("opening {}", log.display()))?;
    let logged = memchr::memmem::find(&tail, b"request header --> ").is_some();
    let expected = variant.wasm_log_level == "info";
    if logged != expected {
        bail!(
            "{}: EXPECTED {} `request header -->` lines in {}; GOT {}",
            variant.label,
            if expected { "" } else { "no" },
            log.display(),
            if logged { "some" } else { "none" }
        );
    }
    Ok(())
}
