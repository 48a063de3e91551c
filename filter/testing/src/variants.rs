//! What the benchmark compares: the wasm modules (the filter and two baselines built from
//! `filter/examples/`), and the Envoy set-ups that load them.

use std::path::{Path, PathBuf};

use Module::{Empty, Filter, Naive};

/// Which wasm module an Envoy loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    /// No wasm filter at all.
    None,
    /// `filter/examples/bench_empty.rs`: a proxy-wasm filter that does nothing.
    Empty,
    /// This project's filter.
    Filter,
    /// `filter/examples/bench_naive.rs`: the same lines logged the simplest way.
    Naive,
}

/// One Envoy set-up the benchmark measures.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// A short name for files and tables.
    pub key: &'static str,
    /// What a reader sees in the table.
    pub label: &'static str,
    /// The module Envoy loads.
    pub module: Module,
    /// The level of Envoy's `wasm` logger.
    pub wasm_log_level: &'static str,
}

/// A set-up whose Envoy logs `wasm` at level info.
const fn info(key: &'static str, label: &'static str, module: Module) -> Variant {
    Variant {
        key,
        label,
        module,
        wasm_log_level: "info",
    }
}

/// A set-up whose Envoy logs `wasm` at level warning.
const fn warning(key: &'static str, label: &'static str, module: Module) -> Variant {
    Variant {
        wasm_log_level: "warning",
        ..info(key, label, module)
    }
}

/// The measured set-ups, in table order. The empty filter is the reference of the ratios.
pub const VARIANTS: [Variant; 6] = [
    info("none", "no wasm filter", Module::None),
    info("empty", "empty wasm filter", Empty),
    info("filter-info", "this filter, wasm:info", Filter),
    warning("filter-warning", "this filter, wasm:warning", Filter),
    info("naive-info", "naive filter, wasm:info", Naive),
    warning("naive-warning", "naive filter, wasm:warning", Naive),
];

/// The variant named `key` (panics on a typo: keys are constants of this file).
pub fn variant(key: &str) -> Variant {
    let found = VARIANTS.iter().find(|v| v.key == key);
    *found.unwrap_or_else(|| unreachable!("no benchmark variant `{key}`"))
}

/// The built modules: the filter and the two baselines (release, wasm32-wasip1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modules {
    /// The filter, as shipped (`filter.wasm`).
    pub filter: PathBuf,
    /// The empty baseline.
    pub empty: PathBuf,
    /// The naive baseline.
    pub naive: PathBuf,
}

impl Modules {
    /// The command that builds them, into [`Modules::in_release_dir`] of cargo's target
    /// directory `wasm32-wasip1/release`.
    pub const BUILD: &str = "cargo build --release --target wasm32-wasip1 --package filter \
                             --lib --example bench_empty --example bench_naive";

    /// Where [`Modules::BUILD`] puts them, `release` being `<target>/wasm32-wasip1/release`.
    pub fn in_release_dir(release: &Path) -> Modules {
        Modules {
            filter: release.join("filter.wasm"),
            empty: release.join("examples/bench_empty.wasm"),
            naive: release.join("examples/bench_naive.wasm"),
        }
    }

    /// The file of `module` (`None` for no wasm filter).
    pub fn path(&self, module: Module) -> Option<&Path> {
        match module {
            Module::None => None,
            Module::Empty => Some(&self.empty),
            Module::Filter => Some(&self.filter),
            Module::Naive => Some(&self.naive),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_the_goals_variants_exist() {
        let mut keys: Vec<&str> = VARIANTS.iter().map(|v| v.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), VARIANTS.len());
        for key in ["empty", "filter-info", "filter-warning", "naive-info"] {
            assert_eq!(variant(key).key, key);
        }
    }
}
