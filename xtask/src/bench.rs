//! `cargo xtask bench`: (being written).

use anyhow::{Result, bail};

/// The command's options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {}

/// Runs the command; the exit code.
pub fn run(_args: &Args) -> Result<i32> {
    bail!("cargo xtask bench is not written yet")
}
