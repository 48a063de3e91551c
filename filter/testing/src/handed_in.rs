//! What the automation hands to the in-process host's tests and cost program, through their
//! environment: where the built modules are and envoy.yaml's plugin configuration.
//! `cargo xtask test` and `cargo xtask bench --instructions` build the modules, read the
//! configuration out of envoy.yaml (with the one bootstrap parser) and set both; the host
//! only loads what it is given, so it never runs cargo nor parses a bootstrap.

use std::path::PathBuf;

use crate::variants::Modules;

/// The directory the modules were built into (`<target>/wasm32-wasip1/release`).
pub const MODULES_ENV: &str = "FILTER_MODULES_DIR";
/// envoy.yaml's plugin configuration, as Envoy hands it to the filter.
pub const PLUGIN_CONFIG_ENV: &str = "FILTER_PLUGIN_CONFIG";

/// The built modules and the plugin configuration to run them with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandedIn {
    /// The directory [`Modules::BUILD`] built into.
    pub modules_dir: PathBuf,
    /// envoy.yaml's plugin configuration.
    pub plugin_config: String,
}

impl HandedIn {
    /// The environment variables that hand `self` to a child process.
    pub fn env(&self) -> [(&'static str, std::ffi::OsString); 2] {
        [
            (MODULES_ENV, self.modules_dir.clone().into_os_string()),
            (PLUGIN_CONFIG_ENV, self.plugin_config.clone().into()),
        ]
    }

    /// What the environment hands in; the error names the missing variable and the command
    /// that sets it.
    pub fn from_env() -> Result<HandedIn, String> {
        let var = |name: &str| {
            std::env::var_os(name).ok_or_else(|| {
                format!(
                    "{name} is not set: the built modules and envoy.yaml's plugin configuration are \
                     handed in by `cargo xtask test` (the tests) and `cargo xtask bench \
                     --instructions` (the cost table); run one of those"
                )
            })
        };
        let modules_dir = var(MODULES_ENV)?.into();
        let plugin_config = var(PLUGIN_CONFIG_ENV)?.into_string();
        let not_utf8 = |_| format!("{PLUGIN_CONFIG_ENV} is not UTF-8");
        Ok(HandedIn {
            modules_dir,
            plugin_config: plugin_config.map_err(not_utf8)?,
        })
    }

    /// The modules in [`HandedIn::modules_dir`].
    pub fn modules(&self) -> Modules {
        Modules::in_release_dir(&self.modules_dir)
    }
}
